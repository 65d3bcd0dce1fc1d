/**
 * The reconnect policy (§2.3): the `reconnect` option checked against the protocol's defaults, and
 * the delay before each attempt from a `Schedule` (exponential with jitter unless the user gives one).
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as Intervals from "effect/ScheduleIntervals"
import type * as Client from "../../Client.js"
import * as ClientError from "../../ClientError.js"

/** A checked `reconnect` option. */
export interface Policy {
  readonly enabled: boolean
  /** Fed with each error; its delays are the waits, and the client gives up when it is done. */
  readonly schedule: Schedule.Schedule<unknown, unknown>
  readonly maxAttempts: number
}

/** `initialDelay`, doubling up to `maxDelay`, each delay moved by ±`jitter` (rounded to the millisecond). */
const exponential = (
  initialDelay: Duration.Duration,
  maxDelay: Duration.Duration,
  jitter: number
): Schedule.Schedule<unknown, unknown> => {
  const max = Duration.toMillis(maxDelay)
  return Schedule.exponential(initialDelay, 2).pipe(
    Schedule.modifyDelayEffect((_, delay) =>
      Effect.map(Random.next, (random) =>
        Duration.millis(Math.round(Math.min(max, Duration.toMillis(delay)) * (1 + jitter * (2 * random - 1))))
      )
    )
  )
}

const positiveDuration = (
  option: string,
  input: Duration.DurationInput | undefined,
  fallback: Duration.DurationInput
): Either.Either<Duration.Duration, ClientError.InvalidOptions> => {
  const duration = Option.getOrUndefined(Duration.decodeUnknown(input ?? fallback))
  if (duration === undefined || !Duration.isFinite(duration) || Duration.toMillis(duration) <= 0) {
    return Either.left(new ClientError.InvalidOptions({ option, detail: "must be a positive duration" }))
  }
  return Either.right(duration)
}

/** Checks a `reconnect` option; `undefined` means on. */
export const policy = (
  option: boolean | Client.ReconnectOptions | undefined,
  defaults: { readonly initialDelay: Duration.DurationInput; readonly maxDelay: Duration.DurationInput }
): Either.Either<Policy, ClientError.InvalidOptions> =>
  Either.gen(function* () {
    const options = typeof option === "object" ? option : {}
    const jitter = options.jitter ?? 0.2
    if (!(jitter >= 0 && jitter < 1)) {
      return yield* Either.left(
        new ClientError.InvalidOptions({ option: "reconnect.jitter", detail: "must be in [0, 1)" })
      )
    }
    const maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY
    if (!(maxAttempts === Number.POSITIVE_INFINITY || (Number.isSafeInteger(maxAttempts) && maxAttempts >= 1))) {
      return yield* Either.left(
        new ClientError.InvalidOptions({ option: "reconnect.maxAttempts", detail: "must be a positive integer" })
      )
    }
    const initialDelay = yield* positiveDuration("reconnect.initialDelay", options.initialDelay, defaults.initialDelay)
    const maxDelay = yield* positiveDuration("reconnect.maxDelay", options.maxDelay, defaults.maxDelay)
    if (Duration.lessThan(maxDelay, initialDelay)) {
      return yield* Either.left(
        new ClientError.InvalidOptions({
          option: "reconnect.maxDelay",
          detail: "must not be shorter than initialDelay"
        })
      )
    }
    return {
      enabled: option !== false,
      schedule: options.schedule ?? exponential(initialDelay, maxDelay, jitter),
      maxAttempts
    }
  })

/** Where the schedule stands in the current run of failures. */
export interface Backoff {
  state: unknown
}

/** A run of failures from the start: after a session, the delays start over. */
export const backoff = (policy: Policy): Backoff => ({ state: policy.schedule.initial })

/** The delay before the next attempt after `error`, or none when the schedule is done. */
export const nextDelay = (
  policy: Policy,
  backoff: Backoff,
  error: unknown,
  now: number
): Effect.Effect<Option.Option<Duration.Duration>> =>
  Effect.map(policy.schedule.step(now, error, backoff.state), ([state, _, decision]) => {
    backoff.state = state
    if (ScheduleDecision.isDone(decision)) return Option.none()
    return Option.some(Duration.millis(Math.max(0, Intervals.start(decision.intervals) - now)))
  })
