/**
 * `protokernel demo` (what `npm start` runs): a reference server and a client in one process, a few
 * pings, then the server revokes the client's key and the client ends with 3004.
 *
 * @since 0.1.0
 */
import * as Client from "@protokernel/rwws/Client"
import * as ClientError from "@protokernel/rwws/ClientError"
import * as CloseCode from "@protokernel/rwws/CloseCode"
import * as KeyStore from "@protokernel/rwws/KeyStore"
import * as Server from "@protokernel/rwws/Server"
import * as Transport from "@protokernel/wire/Transport"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as CliError from "./CliError.js"

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

/**
 * Runs the demo; fails with a `CliError` when something does not go as shown (e.g. the client does
 * not end with 3004).
 *
 * @since 0.1.0
 * @category programs
 */
export const run = (options: Options = {}): Effect.Effect<void, CliError.CliError> =>
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
        Transport.layerWsConnector
      ).pipe(Layer.mapError((error) => CliError.failure(`demo: ${error.message}`)))
    )
  )
