/**
 * The `Client` service over a running lifecycle: every call of the table on the current (or next)
 * session, downloads, panel events and the state.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as PubSub from "effect/PubSub"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import type * as Client from "../../Client.js"
import * as ClientError from "../../ClientError.js"
import type * as Download from "../../Download.js"
import * as DownloadFile from "../../DownloadFile.js"
import * as Usecase from "../../Usecase.js"
import * as DownloadImpl from "../download.js"
import * as Calls from "./calls.js"
import * as Keepalive from "./keepalive.js"
import * as Lifecycle from "./lifecycle.js"
import * as Session from "./session.js"

/**
 * A client method from a row of the table: the arguments are checked first (a refusal sends
 * nothing and waits for no session), then the call runs on the current or next session.
 */
const method =
  <U extends Usecase.Any, Args extends ReadonlyArray<unknown>, A>(
    lifecycle: Lifecycle.Lifecycle,
    row: Calls.Call<U, Args, A>
  ) =>
  (...args: Args): Effect.Effect<A, ClientError.CallError> =>
    Effect.suspend(() => {
      const fields = Calls.fieldsOf(row, args)
      if (Either.isLeft(fields)) return Effect.fail(fields.left)
      return Lifecycle.perform(lifecycle, row.usecase, (session, deadline) =>
        Session.call(session, row, fields.right, deadline)
      )
    })

/** What the client lends its downloads. */
const downloadConnections = (lifecycle: Lifecycle.Lifecycle): DownloadImpl.Connections => ({
  bufferBytes: lifecycle.config.downloadBufferBytes,
  reconnects: lifecycle.config.reconnect.enabled,
  current: Lifecycle.perform(lifecycle, Usecase.TransferFile, (session) => Effect.succeed(session.downloads)),
  next: (dead) => Lifecycle.nextConnection(lifecycle, dead)
})

const subscribePanelEvents = (lifecycle: Lifecycle.Lifecycle) =>
  Effect.gen(function* () {
    if (yield* PubSub.isShutdown(lifecycle.events)) return Stream.empty
    const queue = yield* PubSub.subscribe(lifecycle.events)
    return Stream.fromQueue(queue)
  })

/** The client's methods; `close` ends it. */
export const make = (lifecycle: Lifecycle.Lifecycle, close: Effect.Effect<void>): Client.Client => {
  const table = Calls.table
  const connections = downloadConnections(lifecycle)
  const start = (filename: string, options?: Download.Options | undefined) =>
    DownloadImpl.start(connections, filename, options)
  return {
    application: Effect.sync(() => lifecycle.application),
    startDownload: start,
    resume: (stopped) => DownloadImpl.resume(connections, stopped),
    download: (filename, options) =>
      Stream.unwrapScoped(Effect.map(start(filename, options), (download) => download.bytes)),
    downloadToFile: (filename, path, options) => DownloadFile.write(start(filename, options), path),
    ping: Lifecycle.perform(lifecycle, Usecase.Ping, (session) => Keepalive.ping(session.connection)),
    latestRtt: Ref.get(lifecycle.latestRtt),
    createAccount: method(lifecycle, table.createAccount),
    authByLicense: method(lifecycle, table.authByLicense),
    authByCredentials: method(lifecycle, table.authByCredentials),
    linkLicense: method(lifecycle, table.linkLicense),
    logout: method(lifecycle, table.logout)(),
    blacklist: method(lifecycle, table.blacklist),
    getFileMetadata: method(lifecycle, table.getFileMetadata),
    getOnlineUsersCount: method(lifecycle, table.getOnlineUsersCount)(),
    getVariable: method(lifecycle, table.getVariable),
    setSessionValue: method(lifecycle, table.setSessionValue),
    getSessionValue: method(lifecycle, table.getSessionValue),
    getCurrentLicense: method(lifecycle, table.getCurrentLicense)(),
    getCurrentAccount: method(lifecycle, table.getCurrentAccount)(),
    // Resolves locally by default (§3.2 #18), using no id.
    panelEventSubscribe: lifecycle.config.sendPanelEventSubscribe
      ? method(lifecycle, table.panelEventSubscribe)()
      : Lifecycle.ensureRunning(lifecycle),
    panelEvents: Stream.unwrapScoped(subscribePanelEvents(lifecycle)),
    subscribePanelEvents: subscribePanelEvents(lifecycle),
    state: SubscriptionRef.get(lifecycle.state),
    states: lifecycle.state.changes,
    close
  }
}
