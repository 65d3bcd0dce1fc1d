/**
 * Request timeouts: one fiber per connection sleeps until the earliest deadline of the pending table
 * and fails what expired, instead of a timer per call.
 */
import * as Deadline from "@protokernel/wire/Deadline"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as ClientError from "../../ClientError.js"
import type { Connection, Handler } from "./connection.js"

/** When the sweeper wakes next, and how to wake it earlier. */
export interface Sweeper {
  at: number
  wake: Deferred.Deferred<void>
}

/** A sweeper that sleeps until the first deadline is watched. */
export const make = (): Sweeper => ({ at: Number.POSITIVE_INFINITY, wake: Deferred.unsafeMake(FiberId.none) })

/** A new deadline: wakes the sweeper if it is earlier than the one it sleeps until. */
export const watch = (sweeper: Sweeper, deadline: number): void => {
  if (deadline >= sweeper.at) return
  sweeper.at = deadline
  Deferred.unsafeDone(sweeper.wake, Exit.void)
}

/** Takes the expired handlers out of the table; returns them and the next deadline. */
const collect = (connection: Connection, now: number) => {
  let next = Number.POSITIVE_INFINITY
  const expired: Array<Handler> = []
  for (const [id, handler] of connection.pending) {
    const expiry = handler.expiry
    // While the receive loop waits for a download's consumer, nothing is read: that wait is ours.
    if (expiry === undefined || connection.stalled) continue
    if (expiry.deadline <= now) {
      connection.pending.delete(id)
      expired.push(handler)
    } else if (expiry.deadline < next) next = expiry.deadline
  }
  return { expired, next }
}

const timeoutOf = (handler: Handler) => {
  const millis = handler.expiry?.millis ?? 0
  return new ClientError.Timeout(
    handler.streaming ? { usecase: handler.usecase, millis, idle: true } : { usecase: handler.usecase, millis }
  )
}

/** The sweeper's fiber: runs until the connection's scope ends. */
export const run = (connection: Connection): Effect.Effect<never> =>
  Effect.gen(function* () {
    const sweeper = connection.sweeper
    while (true) {
      const { expired, next } = collect(connection, yield* Clock.currentTimeMillis)
      for (const handler of expired) yield* handler.fail(timeoutOf(handler))
      sweeper.at = next
      sweeper.wake = yield* Deferred.make<void>()
      if (next === Number.POSITIVE_INFINITY) yield* Deferred.await(sweeper.wake)
      else yield* Effect.raceFirst(Deadline.sleepUntil(next), Deferred.await(sweeper.wake))
    }
  })
