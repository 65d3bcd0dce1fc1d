/**
 * `protokernel demo` (what `npm start` runs): for each protocol, a reference server and a client in one
 * process on 127.0.0.1. Blazeauth: initialize, license, variable, session value, file metadata, a 4 MiB
 * download with progress, verified against the metadata's checksum, and a panel event pushed by the
 * operator while the download runs. rwws: a few pings, then the server revokes the client's key and the
 * client ends with 3004.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as BlazeauthClient from "@protokernel/blazeauth/Client"
import * as Expiry from "@protokernel/blazeauth/Expiry"
import * as Fixtures from "@protokernel/blazeauth/Fixtures"
import * as BlazeauthServer from "@protokernel/blazeauth/Server"
import * as Client from "@protokernel/rwws/Client"
import * as ClientError from "@protokernel/rwws/ClientError"
import * as CloseCode from "@protokernel/rwws/CloseCode"
import * as KeyStore from "@protokernel/rwws/KeyStore"
import * as Server from "@protokernel/rwws/Server"
import * as WsTransport from "@protokernel/wire/WsTransport"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as NodePath from "node:path"
import * as Blazeauth from "./Blazeauth.js"
import * as CliError from "./CliError.js"
import * as Progress from "./Progress.js"

/**
 * Demo settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** How many Pongs to show before revoking the key. Default 5. */
  readonly pongs?: number | undefined
  /** The client's ping interval. Default 300 ms. */
  readonly pingInterval?: Duration.DurationInput | undefined
}

const formatPong = (index: number, pong: Client.Pong): string => {
  const millis = Number(pong.serverTime)
  const rtt = Option.match(pong.roundTrip, {
    onNone: () => "n/a",
    onSome: (duration) => `${Duration.toMillis(duration)} ms`
  })
  return `  pong #${index}  server time ${new Date(millis).toISOString()} (${millis})  round trip ${rtt}`
}

const apiKey = "BA0123456789ABCDEFGHI"
const licenseKey = "DEMO-LICENSE-0001"

/** Generated fixtures: one application with a 30-day license, a variable and a 4 MiB file. */
const demoFixtures = (file: Uint8Array) => ({
  applications: [
    {
      api_key: apiKey,
      name: "Demo",
      version: "1.0.0",
      licenses: [{ key: licenseKey, levels: ["pro", "beta"], comment: "demo seat", duration_seconds: 30 * 86400 }],
      variables: [{ name: "launcher_config", content: '{"channel":"stable"}', auth_required: true }],
      files: [{ name: "client.bin", content_base64: Buffer.from(file).toString("base64") }]
    }
  ]
})

/** The demo's download: chunks of 64 KiB, 15 ms apart, so 4 MiB take about a second. */
const chunkDelay = Duration.millis(15)

/** Progress lines of the demo's download: one per quarter. */
const progressStepPercent = 25

/**
 * The Blazeauth part: a reference server with generated fixtures and a client that initializes,
 * authorizes with a license, uses the session and downloads a 4 MiB file (verified, then checked
 * against the file's metadata), while the operator pushes a panel event halfway through the download.
 *
 * @since 0.1.0
 * @category programs
 */
export const blazeauth: Effect.Effect<void, CliError.CliError> = Effect.gen(function* () {
  const file = new Uint8Array(Crypto.randomBytes(4 * 1024 * 1024))
  const fixtures = yield* Fixtures.decode(demoFixtures(file))
  const server = yield* Layer.build(BlazeauthServer.layerWs({ fixtures, chunkDelay })).pipe(
    Effect.map(Context.get(BlazeauthServer.BlazeauthServer))
  )
  yield* Console.log(`Blazeauth reference server listening on ${server.url}`)
  const client = yield* BlazeauthClient.make({
    url: server.url,
    apiKey: Redacted.make(apiKey),
    clientId: "demo-desktop"
  })
  const application = yield* client.application
  yield* Console.log(`client initialized: application ${application.name} ${application.version}`)

  const license = yield* client.authByLicense(Redacted.make(licenseKey))
  const now = Math.floor(Date.now() / 1000)
  const expiry = Expiry.match(license.expiry, {
    Never: () => "never",
    At: ({ expiresAt }) =>
      `${new Date(expiresAt * 1000).toISOString()} (in ${Duration.format(Expiry.remaining(license.expiry, now))})`
  })
  yield* Console.log(
    `authorized by license ${String(license.license)}: levels ${license.levels.join(", ")}; expires ${expiry}`
  )

  yield* Console.log(`launcher_config = ${yield* client.getVariable("launcher_config")}`)
  yield* client.setSessionValue("launcher_token", "abc123", { ttl: "1 hour" })
  yield* Console.log(`session value launcher_token = ${yield* client.getSessionValue("launcher_token")}`)
  const metadata = yield* client.getFileMetadata("client.bin")
  yield* Console.log(
    `file client.bin: ${Progress.formatBytes(metadata.size)} (${metadata.size} bytes), sha256 ${metadata.checksum}`
  )

  // Panel events are printed as they arrive, with how far the download was at that moment.
  const latest = yield* Ref.make<Option.Option<Progress.Snapshot>>(Option.none())
  const downloaded = yield* Ref.make(false)
  const events = yield* client.subscribePanelEvents
  const firstEvent = yield* events.pipe(
    Stream.take(1),
    Stream.runForEach((received) =>
      Effect.gen(function* () {
        const percent = Option.flatMap(yield* Ref.get(latest), Progress.percent)
        const when = (yield* Ref.get(downloaded))
          ? " (received after the download)"
          : Option.match(percent, {
              onNone: () => " (received before the download)",
              onSome: (done) => ` (received during the download, at ${done}%)`
            })
        yield* Console.log(`  panel event ${received.eventType} ${JSON.stringify(received.content)}${when}`)
      })
    ),
    Effect.fork
  )

  const fs = yield* FileSystem.FileSystem
  const directory = yield* fs.makeTempDirectoryScoped({ prefix: "protokernel-demo-" })
  const path = NodePath.join(directory, "client.bin")
  yield* Console.log(`downloading client.bin to ${path} …`)
  const started = yield* Clock.currentTimeMillis
  const throttle = yield* Ref.make(Progress.initialThrottle)
  const pushed = yield* Ref.make(false)
  yield* client.downloadToFile("client.bin", path).pipe(
    Stream.runForEach((progress) =>
      Effect.gen(function* () {
        const snapshot: Progress.Snapshot = {
          filename: progress.filename,
          position: progress.position,
          fileSize: progress.fileSize,
          startPosition: 0,
          elapsedMillis: (yield* Clock.currentTimeMillis) - started
        }
        yield* Ref.set(latest, Option.some(snapshot))
        const due = Progress.nextLine(yield* Ref.get(throttle), snapshot, {
          intervalMillis: 0,
          stepPercent: progressStepPercent
        })
        if (Option.isSome(due)) {
          yield* Ref.set(throttle, due.value)
          yield* Console.log(`  ${Progress.renderLine(snapshot)}`)
        }
        if (Option.getOrElse(Progress.percent(snapshot), () => 0) >= 50 && !(yield* Ref.getAndSet(pushed, true))) {
          yield* Console.log("  operator pushes a panel event …")
          yield* server.pushPanelEvent("Demo", { eventType: 2, content: { version: "1.2.3" } })
        }
      })
    )
  )
  yield* Ref.set(downloaded, true)
  const elapsed = (yield* Clock.currentTimeMillis) - started
  const saved = yield* Blazeauth.hashFile(path)
  const identical = Buffer.from(yield* fs.readFile(path)).equals(file)
  if (saved.sha256 !== metadata.checksum || !identical) {
    return yield* CliError.failure("demo: the downloaded file differs from the served one")
  }
  yield* Console.log(
    `downloaded ${Progress.formatBytes(saved.size)} in ${Progress.formatElapsed(elapsed)}, verified: sha256 ${saved.sha256} = the metadata's checksum`
  )

  yield* Fiber.join(firstEvent).pipe(
    Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => CliError.failure("demo: no panel event arrived") })
  )
  yield* Console.log(`round trip of a ping: ${Duration.toMillis(yield* client.ping).toFixed(2)} ms`)
  yield* client.logout
  yield* client.close
  yield* Console.log("client logged out and closed (1000)\n")
}).pipe(
  Effect.scoped,
  Effect.mapError((error) => (CliError.isCliError(error) ? error : CliError.failure(`demo: ${error.message}`))),
  Effect.provide(Layer.merge(WsTransport.layerConnector, NodeFileSystem.layer))
)

/**
 * Runs the demo: the Blazeauth part, then the rwws part. Fails with a `CliError` when something does
 * not go as shown (e.g. the rwws client does not end with 3004).
 *
 * @since 0.1.0
 * @category programs
 */
export const run = (options: Options = {}): Effect.Effect<void, CliError.CliError> =>
  Effect.zipRight(blazeauth, rwws(options))

/**
 * The rwws part: pings, then a revoked key.
 *
 * @since 0.1.0
 * @category programs
 */
export const rwws = (options: Options = {}): Effect.Effect<void, CliError.CliError> =>
  Effect.gen(function* () {
    const count = options.pongs ?? 5
    const pingInterval = Duration.decode(options.pingInterval ?? "300 millis")
    const server = yield* Server.RwwsServer
    const store = yield* KeyStore.KeyStore
    yield* Console.log(`rwws reference server listening on ${server.url}`)

    const key = yield* store.issue
    yield* Console.log(`issued an access key: 32 random bytes, ${String(key)} in every log`)

    const client = yield* Client.make({ url: server.url, accessKey: key, pingInterval })
    yield* client.awaitAuthenticated
    yield* Console.log(`client authenticated; pinging every ${Duration.format(pingInterval)}`)

    yield* client.pongs.pipe(
      Stream.filter((pong) => pong.source === "ping"),
      Stream.take(count),
      Stream.zipWithIndex,
      Stream.runForEach(([pong, index]) => Console.log(formatPong(index + 1, pong)))
    )

    yield* Console.log(`server revokes the key while the client is connected…`)
    const closed = yield* server.revoke(key)
    yield* Console.log(`  ${closed} session${closed === 1 ? "" : "s"} closed, ${yield* server.sessions} left`)

    const ended = yield* Effect.either(client.awaitEnd).pipe(
      Effect.timeoutFail({
        duration: "5 seconds",
        onTimeout: () => CliError.failure("demo: the client did not end after the revocation")
      })
    )
    if (Either.isLeft(ended) && ended.left._tag === "ConnectionClosed") {
      const { code, reason } = ended.left
      const reaction = ClientError.isRetryable(ended.left) ? "it would reconnect" : "fatal, so it does not reconnect"
      yield* Console.log(`client ended: closed ${code} (${CloseCode.nameOf(code)}) '${reason}', ${reaction}`)
      if (code === CloseCode.server.keyRevoked.code) {
        return yield* Console.log("done: a revoked key is refused for good")
      }
    }
    return yield* CliError.failure(`demo: the client did not end with ${CloseCode.server.keyRevoked.code}`)
  }).pipe(
    Effect.scoped,
    Effect.mapError((error) => (CliError.isCliError(error) ? error : CliError.failure(`demo: ${error.message}`))),
    Effect.provide(
      Layer.mergeAll(
        Server.layerWs({ host: "127.0.0.1", port: 0 }).pipe(Layer.provideMerge(KeyStore.layerMemory())),
        WsTransport.layerConnector
      ).pipe(Layer.mapError((error) => CliError.failure(`demo: ${error.message}`)))
    )
  )
