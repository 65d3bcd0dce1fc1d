/**
 * Deadlines as instants rather than delays: a timer fiber that starts late (the scheduler, or a
 * `TestClock` adjusted before the fiber ran) still fires at the instant the protocol means.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"

/**
 * Sleeps until the clock reads `instant` (unix milliseconds); returns at once if it has passed.
 *
 * @since 0.1.0
 * @category timing
 */
export const sleepUntil = (instant: number): Effect.Effect<void> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => (now >= instant ? Effect.void : Effect.sleep(instant - now)))

/**
 * The instant `duration` after `from`.
 *
 * @since 0.1.0
 * @category timing
 */
export const after = (from: number, duration: Duration.DurationInput): number => from + Duration.toMillis(duration)
