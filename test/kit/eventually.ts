/**
 * Waiting for a condition that other fibers make true. The wait sleeps on the live clock, so it works
 * the same under the `TestClock` (virtual time does not move) and in live tests.
 */
import { Effect, TestServices } from "effect"

/** Runs `self` with a deadline of 10 s of real time; a miss is a defect naming `what`. */
export const withLiveTimeout = <A>(self: Effect.Effect<A>, what: string): Effect.Effect<A> =>
  TestServices.provideWithLive(self, (effect) =>
    Effect.timeoutFail(effect, { duration: "10 seconds", onTimeout: () => `timed out waiting for ${what}` })
  ).pipe(Effect.catchAll((message) => Effect.dieMessage(message)))

/** Retries `check` (letting other fibers run) until it holds, for up to 10 s of real time. */
export const eventually = (check: Effect.Effect<boolean>): Effect.Effect<void> => {
  const loop: Effect.Effect<void> = Effect.flatMap(check, (done) =>
    done ? Effect.void : Effect.zipRight(TestServices.provideLive(Effect.sleep("2 millis")), loop)
  )
  return withLiveTimeout(loop, "a condition")
}
