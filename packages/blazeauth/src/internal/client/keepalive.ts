/**
 * Keepalive (§2.4): a ping every interval from the moment `initialize` succeeded, the round-trip time
 * of each answer, and a watch that drops the connection as dead when a ping stays unanswered for the
 * ping timeout. The watch pauses while the receive loop waits for a download's consumer.
 */
import * as Deadline from "@protokernel/wire/Deadline"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as ClientError from "../../ClientError.js"
import * as Usecase from "../../Usecase.js"
import type { Received } from "./responses.js"
import * as Connection from "./connection.js"

const encodePing: Connection.Encode = (id) => Usecase.encodeRequest(Usecase.Ping, { id })

/** Sends a `ping` now; succeeds with the round-trip time on the monotonic clock (§2.4). */
export const ping = (connection: Connection.Connection): Effect.Effect<Duration.Duration, ClientError.CallError> =>
  Effect.suspend(() => {
    const result = new Connection.Outcome<Received, ClientError.CallError>()
    const handler = new Connection.CallHandler(Usecase.Ping, connection, result, false, undefined)
    let id: bigint | undefined
    return Effect.gen(function* () {
      const sentAt = yield* Clock.currentTimeMillis
      // A wall-clock step must not show up as latency.
      const sentNanos = yield* Clock.currentTimeNanos
      id = yield* Connection.register(connection, Usecase.Ping, encodePing, handler)
      yield* Effect.forkIn(
        watch(connection, id, handler, sentAt + connection.config.pingTimeoutMillis),
        connection.scope
      )
      yield* result.await(() => Effect.void)
      const elapsed = (yield* Clock.currentTimeNanos) - sentNanos
      const rtt = Duration.nanos(elapsed > 0n ? elapsed : 0n)
      yield* Ref.set(connection.shared.latestRtt, Option.some(rtt))
      return rtt
    }).pipe(Effect.ensuring(Effect.suspend(() => Connection.forget(connection, id, handler))))
  })

/** No answer in time: every pending call fails with `PingTimeout`, and the socket is dropped at once. */
const timedOut = (connection: Connection.Connection) =>
  Connection.endWith(
    connection,
    new ClientError.PingTimeout({ millis: connection.config.pingTimeoutMillis }),
    connection.transport.terminate(1000, "ping timeout")
  )

/**
 * Times a ping out at `deadline`, unless the receive loop waited for a download's consumer meanwhile:
 * the answer may then sit unread behind the stream's data, so the watch starts over.
 */
const watch = (
  connection: Connection.Connection,
  id: bigint,
  handler: Connection.Handler,
  deadline: number
): Effect.Effect<void> =>
  Effect.zipRight(
    Deadline.sleepUntil(deadline),
    Effect.suspend(() => {
      if (connection.pending.get(id) !== handler) return Effect.void
      const now = connection.clock.unsafeCurrentTimeMillis()
      const timeout = connection.config.pingTimeoutMillis
      if (connection.stalled || connection.stallEndedAt > deadline - timeout) {
        return watch(connection, id, handler, Math.max(now, connection.stallEndedAt) + timeout)
      }
      return timedOut(connection)
    })
  )

/** Pings at `instant`, then every interval, until the connection ends. */
export const run = (connection: Connection.Connection, instant: number): Effect.Effect<void> =>
  Effect.zipRight(
    Deadline.sleepUntil(instant),
    Effect.suspend(() =>
      connection.endError !== undefined
        ? Effect.void
        : Effect.zipRight(
            Effect.forkIn(Effect.ignore(ping(connection)), connection.scope),
            run(connection, instant + connection.config.pingIntervalMillis)
          )
    )
  )
