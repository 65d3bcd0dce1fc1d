/**
 * The programs behind `protokernel rwws serve` and `protokernel rwws connect`, as plain Effects over
 * checked options; `Cli` parses the command line into these options.
 *
 * @since 0.1.0
 */
import * as Client from "@protokernel/rwws/Client"
import type * as ClientError from "@protokernel/rwws/ClientError"
import * as KeyStore from "@protokernel/rwws/KeyStore"
import * as Server from "@protokernel/rwws/Server"
import * as WsTransport from "@protokernel/wire/WsTransport"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as CliError from "./CliError.js"
import * as Input from "./Input.js"

/**
 * Options of `rwws serve`. Deadlines left out take the values of docs/rwws.md (auth 30 s, ping 30 s + 2 s).
 *
 * @since 0.1.0
 * @category models
 */
export interface ServeOptions {
  readonly host: string
  /** 0 picks a free port. */
  readonly port: number
  /** The accept backlog (capped by the OS at `net.core.somaxconn`); none: the transport's default. */
  readonly backlog: Option.Option<number>
  /** Accepted keys (base64); none: one is issued and printed on stderr. */
  readonly keys: ReadonlyArray<Redacted.Redacted<string>>
  readonly authDeadline: Option.Option<Duration.Duration>
  /** The whole window without a Ping before 3003 (no extra grace). */
  readonly pingTimeout: Option.Option<Duration.Duration>
}

/**
 * Options of `rwws connect`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectOptions {
  readonly url: string
  readonly key: Redacted.Redacted<string>
  /** Pongs to print before closing; at least 1. */
  readonly count: number
  /** At most 30 s. */
  readonly pingInterval: Duration.Duration
}

/**
 * The stdout line `serve` prints once it accepts connections.
 *
 * @since 0.1.0
 * @category formatting
 */
export const listeningLine = (url: string): string => `listening ${url}`

/**
 * The stdout line `connect` prints per Pong: the server's clock in Unix milliseconds.
 *
 * @since 0.1.0
 * @category formatting
 */
export const pongLine = (pong: Client.Pong): string => `pong ${pong.serverTime}`

/**
 * The stderr line for a close the server started, e.g. `closed 3001 unauthorized: invalid access key`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const closedLine = (code: number, reason: string): string =>
  reason === "" ? `closed ${code}` : `closed ${code} ${reason}`

/**
 * A client failure as a `CliError`: server closes as `closed <code> <reason>`, the rest by message.
 * Messages of rwws errors never contain the access key.
 *
 * @since 0.1.0
 * @category errors
 */
export const fromClientError = (error: ClientError.RwwsError): CliError.CliError =>
  error._tag === "ConnectionClosed"
    ? CliError.failure(closedLine(error.code, error.reason))
    : CliError.failure(error.message)

/**
 * Serves rwws until interrupted: prints `listening ws://HOST:PORT/api/ws` on stdout when ready, then
 * waits; interruption (SIGINT/SIGTERM through `NodeRuntime.runMain`) closes open sessions with 1001
 * and stops listening.
 *
 * @since 0.1.0
 * @category programs
 */
export const serve = (options: ServeOptions): Effect.Effect<never, CliError.CliError> => {
  const keys = KeyStore.layerMemory(options.keys).pipe(
    Layer.mapError((error) => CliError.usage(`invalid --key: ${error.message}`))
  )
  const server = Server.layerWs({
    host: options.host,
    port: options.port,
    backlog: Option.getOrUndefined(options.backlog),
    authDeadline: Option.getOrUndefined(options.authDeadline),
    ...Option.match(options.pingTimeout, {
      onNone: () => ({}),
      onSome: (window) => ({ pingLimit: window, pingGrace: Duration.zero })
    })
  }).pipe(Layer.mapError((error) => CliError.failure(error.message)))

  return Effect.gen(function* () {
    if (options.keys.length === 0) {
      const store = yield* KeyStore.KeyStore
      const key = yield* Effect.mapError(store.issue, (error) => CliError.failure(error.message))
      yield* Console.error(`no --key given; issued access key: ${Redacted.value(key)}`)
    }
    const rwws = yield* Server.RwwsServer
    yield* Console.log(listeningLine(rwws.url))
    return yield* Effect.never
  }).pipe(Effect.provide(Layer.provideMerge(server, keys)))
}

/**
 * The longest interval the client's own keepalive may use (spec: a Ping at least every 30 s). `connect`
 * sends its Pings by hand, so the keepalive only pings when a run outlasts it.
 */
const keepaliveInterval = Duration.seconds(30)

/**
 * Checks the URL and the key first (a bad one is a usage error), then connects without reconnecting, sends exactly `count` Pings, one every `pingInterval`, prints
 * `pong <unix-millis>` for each of their Pongs, then closes with 1000. Counting Pings rather than Pongs
 * keeps the count exact when a server answers several Pings in one message. A close from the server
 * fails with `closed <code> <reason>`.
 *
 * @since 0.1.0
 * @category programs
 */
export const connect = (options: ConnectOptions): Effect.Effect<void, CliError.CliError> =>
  Effect.gen(function* () {
    const url = yield* Input.serverUrl(options.url)
    const key = yield* Input.accessKey(options.key, "--key")
    const client = yield* Client.make({
      url,
      accessKey: key,
      pingInterval: keepaliveInterval,
      reconnect: false
    })
    yield* client.awaitAuthenticated
    const pinging = Stream.fromSchedule(Schedule.fixed(options.pingInterval)).pipe(
      Stream.take(options.count),
      // Pongs come back in Ping order, so printing in Ping order prints them as they arrive.
      Stream.mapEffect(() => client.ping, { concurrency: "unbounded" }),
      Stream.runForEach((pong) => Console.log(pongLine(pong)))
    )
    // A close from the server ends the run at once, not at the next Ping.
    yield* Effect.raceFirst(pinging, Effect.zipRight(client.awaitEnd, Effect.never))
    yield* client.close
  }).pipe(
    Effect.scoped,
    Effect.provide(WsTransport.layerConnector),
    Effect.mapError((error) => (CliError.isCliError(error) ? error : fromClientError(error)))
  )
