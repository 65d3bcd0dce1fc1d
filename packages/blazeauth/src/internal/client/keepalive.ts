/**
 * Keepalive (§2.4) on the wire's `Keepalive`: a ping every interval from the moment `initialize`
 * succeeded, the round-trip time of each answer, and a watchdog that drops the connection as dead
 * when a ping stays unanswered for the ping timeout (held while the receive loop waits for a
 * download's consumer).
 */
import * as Keepalive from "@protokernel/wire/Keepalive"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as ClientError from "../../ClientError.js"
import * as Usecase from "../../Usecase.js"
import * as Connection from "./connection.js"
import type { Received } from "./responses.js"

const encodePing: Connection.Encode = (id) => Usecase.encodeRequest(Usecase.Ping, { id })

/** Sends a `ping` now; succeeds with the round-trip time on the monotonic clock (§2.4). */
export const ping = (connection: Connection.Connection): Effect.Effect<Duration.Duration, ClientError.CallError> =>
  Effect.suspend(() => {
    const result = new Connection.Outcome<Received, ClientError.CallError>()
    const handler = new Connection.CallHandler(Usecase.Ping, connection, result, false, undefined)
    let id: bigint | undefined
    return Effect.gen(function* () {
      // A wall-clock step must not show up as latency.
      const sentNanos = yield* Clock.currentTimeNanos
      id = yield* Connection.register(connection, Usecase.Ping, encodePing, handler, Number.POSITIVE_INFINITY)
      if (connection.keepalive !== undefined) yield* connection.keepalive.sent(id)
      yield* result.await(() => Effect.void)
      const elapsed = (yield* Clock.currentTimeNanos) - sentNanos
      const rtt = Duration.nanos(elapsed > 0n ? elapsed : 0n)
      yield* Ref.set(connection.shared.latestRtt, Option.some(rtt))
      return rtt
    }).pipe(
      Effect.ensuring(
        Effect.suspend(() =>
          id === undefined
            ? Effect.void
            : Effect.zipRight(
                Connection.forget(connection, id, handler),
                connection.keepalive === undefined ? Effect.void : connection.keepalive.answered(id)
              )
        )
      )
    )
  })

/** No answer in time: every pending call fails with `PingTimeout`, and the socket is dropped at once. */
const timedOut = (connection: Connection.Connection) =>
  Connection.endWith(
    connection,
    new ClientError.PingTimeout({ millis: connection.config.pingTimeoutMillis }),
    connection.transport.terminate(1000, "ping timeout")
  )

/** Starts the keepalive of `connection` in the current scope, pinging from `from` (unix ms) on. */
export const start = (connection: Connection.Connection, from: number): Effect.Effect<void, never, Scope.Scope> =>
  Effect.map(
    Keepalive.make<bigint>({
      interval: connection.config.pingIntervalMillis,
      timeout: connection.config.pingTimeoutMillis,
      // The answer is awaited on its own fiber: a slow answer never delays the next ping.
      ping: Effect.asVoid(Effect.forkIn(Effect.ignore(ping(connection)), connection.scope)),
      onTimeout: timedOut(connection),
      from
    }),
    (keepalive) => {
      connection.keepalive = keepalive
    }
  )
