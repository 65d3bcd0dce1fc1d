/**
 * Reconnection, the same for every protocol's client: the policy (a `Schedule`, exponential with
 * jitter by default), the close-code table shape that says which closes are worth a retry, the
 * "current session or the next one" slot that calls wait on, and the loop that connects, waits and
 * connects again while publishing where it is.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as Intervals from "effect/ScheduleIntervals"
import type * as Scope from "effect/Scope"
import * as Deadline from "./Deadline.js"
import { ClientClosed, InvalidOptions } from "./SessionError.js"

// ---- close-code tables ---------------------------------------------------------------------------

/**
 * What a protocol says about one close code: its name, whether a client may reconnect after it,
 * and how long it must wait at least before it does (e.g. after a rate limit).
 *
 * @since 0.1.0
 * @category models
 */
export interface ClosePolicy {
  readonly name: string
  readonly retry: boolean
  readonly minimumDelay?: Duration.DurationInput
}

/**
 * A protocol's close codes as data (`CloseCode.table` in each protocol).
 *
 * @since 0.1.0
 * @category models
 */
export type CloseTable = { readonly [code: number]: ClosePolicy }

/**
 * The row of `code`, if the table names it.
 *
 * @since 0.1.0
 * @category accessors
 */
export const lookup = (table: CloseTable, code: number): ClosePolicy | undefined =>
  Object.hasOwn(table, code) ? table[code] : undefined

// ---- policy --------------------------------------------------------------------------------------

/**
 * The `reconnect` option of every client (`true`: the protocol's defaults; `false`: the client ends
 * at the first error). `schedule`, when given, replaces the built-in policy; it receives each error
 * and ends the client when it is done.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The first delay. */
  readonly initialDelay?: Duration.DurationInput | undefined
  /** The delay doubles up to this. */
  readonly maxDelay?: Duration.DurationInput | undefined
  /** Each delay is moved by up to ± this fraction, in [0, 1). Default 0.2. */
  readonly jitter?: number | undefined
  /** Connection attempts in a row without a session before the client gives up. Default: unlimited. */
  readonly maxAttempts?: number | undefined
  readonly schedule?: Schedule.Schedule<unknown, unknown> | undefined
}

/**
 * A protocol's defaults for {@link Options}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Defaults {
  readonly initialDelay: Duration.DurationInput
  readonly maxDelay: Duration.DurationInput
  readonly jitter?: number | undefined
}

/**
 * A checked reconnect option.
 *
 * @since 0.1.0
 * @category models
 */
export interface Policy {
  readonly enabled: boolean
  /** Fed with each error; its delays are the waits, and the client gives up when it is done. */
  readonly schedule: Schedule.Schedule<unknown, unknown>
  readonly maxAttempts: number
}

/**
 * The built-in schedule: `initialDelay`, doubling up to `maxDelay`, each delay moved by ±`jitter`
 * (rounded to the millisecond).
 *
 * @since 0.1.0
 * @category constructors
 */
export const exponential = (options: {
  readonly initialDelay: Duration.DurationInput
  readonly maxDelay: Duration.DurationInput
  readonly jitter: number
}): Schedule.Schedule<unknown, unknown> => {
  const max = Duration.toMillis(options.maxDelay)
  return Schedule.exponential(options.initialDelay, 2).pipe(
    Schedule.modifyDelayEffect((_, delay) =>
      Effect.map(Random.next, (random) =>
        Duration.millis(Math.round(Math.min(max, Duration.toMillis(delay)) * (1 + options.jitter * (2 * random - 1))))
      )
    )
  )
}

const positiveDuration = (
  option: string,
  input: Duration.DurationInput | undefined,
  fallback: Duration.DurationInput
): Either.Either<Duration.Duration, InvalidOptions> => {
  const duration = Duration.decodeUnknown(input ?? fallback).pipe(Option.getOrUndefined)
  if (duration === undefined || !Duration.isFinite(duration) || Duration.toMillis(duration) <= 0) {
    return Either.left(new InvalidOptions({ option, detail: "must be a positive duration" }))
  }
  return Either.right(duration)
}

/**
 * Checks a `reconnect` option against the protocol's defaults; `undefined` means on (`true`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const policy = (
  option: boolean | Options | undefined,
  defaults: Defaults
): Either.Either<Policy, InvalidOptions> =>
  Either.gen(function* () {
    const options = typeof option === "object" ? option : {}
    const jitter = options.jitter ?? defaults.jitter ?? 0.2
    if (!(jitter >= 0 && jitter < 1)) {
      return yield* Either.left(new InvalidOptions({ option: "reconnect.jitter", detail: "must be in [0, 1)" }))
    }
    const maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY
    if (!(maxAttempts === Number.POSITIVE_INFINITY || (Number.isSafeInteger(maxAttempts) && maxAttempts >= 1))) {
      return yield* Either.left(
        new InvalidOptions({ option: "reconnect.maxAttempts", detail: "must be a positive integer" })
      )
    }
    const initialDelay = yield* positiveDuration("reconnect.initialDelay", options.initialDelay, defaults.initialDelay)
    const maxDelay = yield* positiveDuration("reconnect.maxDelay", options.maxDelay, defaults.maxDelay)
    if (Duration.lessThan(maxDelay, initialDelay)) {
      return yield* Either.left(
        new InvalidOptions({ option: "reconnect.maxDelay", detail: "must not be shorter than initialDelay" })
      )
    }
    return {
      enabled: option !== false,
      schedule: options.schedule ?? exponential({ initialDelay, maxDelay, jitter }),
      maxAttempts
    }
  })

/** Where the schedule stands in the current run of failures. */
interface Backoff {
  state: unknown
}

/** The delay before the next attempt after `error`, or none when the schedule is done. */
const nextDelay = (
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

// ---- states --------------------------------------------------------------------------------------

/**
 * Opening connection number `attempt` since the client started or its last session ended.
 *
 * @since 0.1.0
 * @category models
 */
export interface Connecting {
  readonly _tag: "Connecting"
  readonly attempt: number
}

/**
 * The last connection ended with `error`; attempt number `attempt` starts after `delay`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Waiting<E> {
  readonly _tag: "Waiting"
  readonly attempt: number
  readonly delay: Duration.Duration
  readonly error: E
}

/**
 * The client ended with an error it does not retry (or after its last attempt).
 *
 * @since 0.1.0
 * @category models
 */
export interface Failed<E> {
  readonly _tag: "Failed"
  readonly error: E
}

/**
 * The owner closed the client.
 *
 * @since 0.1.0
 * @category models
 */
export interface Closed {
  readonly _tag: "Closed"
}

/**
 * The states the loop publishes; a protocol's `State` adds its ready states.
 *
 * @since 0.1.0
 * @category models
 */
export type LoopState<E> = Connecting | Waiting<E> | Failed<E> | Closed

const connecting = Data.tagged<Connecting>("Connecting")
const closed = Data.tagged<Closed>("Closed")
const waiting = <E>(fields: Omit<Waiting<E>, "_tag">): Waiting<E> => Data.tagged<Waiting<E>>("Waiting")(fields)
const failed = <E>(error: E): Failed<E> => Data.tagged<Failed<E>>("Failed")({ error })

// ---- the slot ------------------------------------------------------------------------------------

/**
 * The current session, or the next one: calls take the session in use, or wait for the next within
 * their own deadline; once the client ended, they fail at once with why.
 *
 * @since 0.1.0
 * @category models
 */
export interface Slot<S, E> {
  /** The session in use, if any: a synchronous read for hot paths. */
  readonly current: () => S | undefined
  /** The current session, or the next one; fails once the client ended. */
  readonly await: Effect.Effect<S, E>
  /** As `await`, failing with `onTimeout()` if no session comes by `instant` (unix ms). */
  readonly awaitUntil: <E2>(instant: number, onTimeout: () => E2) => Effect.Effect<S, E | E2>
  /** A session is ready: waiting calls get it. */
  readonly offer: (session: S) => Effect.Effect<void>
  /** `session` ended: calls from now on wait for the next one (nothing if it is not the current one). */
  readonly retire: (session: S) => Effect.Effect<void>
  /** The client ended: waiting and later calls fail with `error`. The first end wins. */
  readonly end: (error: E) => Effect.Effect<void>
}

interface SlotState<S, E> {
  current: S | undefined
  next: Deferred.Deferred<S, E>
  ended: Option.Option<E>
}

const slotAwait = <S, E>(self: SlotState<S, E>): Effect.Effect<S, E> =>
  Effect.suspend(() =>
    Option.isSome(self.ended)
      ? Effect.fail(self.ended.value)
      : self.current !== undefined
        ? Effect.succeed(self.current)
        : Deferred.await(self.next)
  )

/** A fresh `next` once the old one was completed, so that later callers wait again. */
const renewNext = <S, E>(self: SlotState<S, E>): Effect.Effect<void> =>
  Effect.map(Deferred.isDone(self.next), (done) => {
    if (done && Option.isNone(self.ended)) self.next = Deferred.unsafeMake<S, E>(FiberId.none)
  })

const slotOffer = <S, E>(self: SlotState<S, E>, session: S): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (Option.isSome(self.ended)) return Effect.void
    self.current = session
    return Effect.zipRight(
      renewNext(self),
      Effect.suspend(() => Deferred.succeed(self.next, session))
    )
  })

const slotRetire = <S, E>(self: SlotState<S, E>, session: S): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (self.current !== session) return Effect.void
    self.current = undefined
    return renewNext(self)
  })

const slotEnd = <S, E>(self: SlotState<S, E>, error: E): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (Option.isSome(self.ended)) return Effect.void
    self.ended = Option.some(error)
    self.current = undefined
    return Effect.asVoid(Deferred.fail(self.next, error))
  })

/**
 * An empty slot.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeSlot = <S, E>(): Effect.Effect<Slot<S, E>> =>
  Effect.map(Deferred.make<S, E>(), (next) => {
    const self: SlotState<S, E> = { current: undefined, next, ended: Option.none() }
    const awaitSession = slotAwait(self)
    return {
      current: () => self.current,
      await: awaitSession,
      awaitUntil: (instant, onTimeout) =>
        Effect.suspend(() =>
          self.current !== undefined || Option.isSome(self.ended)
            ? awaitSession
            : Effect.raceFirst(awaitSession, Effect.zipRight(Deadline.sleepUntil(instant), Effect.failSync(onTimeout)))
        ),
      offer: (session) => slotOffer(self, session),
      retire: (session) => slotRetire(self, session),
      end: (error) => slotEnd(self, error)
    }
  })

// ---- the loop ------------------------------------------------------------------------------------

/**
 * What the loop needs from a protocol.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoopOptions<S, E, R> {
  readonly policy: Policy
  readonly slot: Slot<S, E | ClientClosed>
  /**
   * One connection, in its own scope: calls `established` once its session is ready, then fails
   * with why it ended (or with why it never got that far).
   */
  readonly connect: (
    attempt: number,
    established: (session: S) => Effect.Effect<void>
  ) => Effect.Effect<never, E, R | Scope.Scope>
  /** Whether reconnecting may help after `error`; `established` says whether the connection had a session. */
  readonly isRetryable: (error: E, established: boolean) => boolean
  /** The least wait after `error` (e.g. after a rate-limit close), whatever the schedule says. */
  readonly minimumDelay?: ((error: E) => Duration.DurationInput | undefined) | undefined
  /** Receives every state change. */
  readonly publish: (state: LoopState<E>) => Effect.Effect<void>
  /** Whether to retry before a first session was ever established. Default true. */
  readonly retryBeforeFirstSession?: boolean | undefined
}

/**
 * A running loop.
 *
 * @since 0.1.0
 * @category models
 */
export interface Running<E> {
  /** Waits until the loop ends: succeeds when closed, fails with the error that ended it. */
  readonly await: Effect.Effect<void, E>
  /** Stops reconnecting and ends the current connection; publishes `Closed`; the slot fails with `ClientClosed`. */
  readonly close: Effect.Effect<void>
}

/** What one pass of the loop knows about the run of failures it is in. */
interface Attempts {
  /** The number of the next connection since the start or the last session. */
  next: number
  everEstablished: boolean
  readonly backoff: Backoff
}

/** One connection; the session it established, if any, and why it ended. */
const attempt = <S, E, R>(options: LoopOptions<S, E, R>, attempts: Attempts) =>
  Effect.gen(function* () {
    let session: Option.Option<S> = Option.none()
    const established = (ready: S) =>
      Effect.suspend(() => {
        session = Option.some(ready)
        attempts.everEstablished = true
        return options.slot.offer(ready)
      })
    const error = yield* Effect.flip(Effect.scoped(options.connect(attempts.next, established)))
    if (Option.isSome(session)) yield* options.slot.retire(session.value)
    return { error, established: Option.isSome(session) }
  })

/** The wait before the next attempt, or none if the client gives up after `error`. */
const decide = <S, E, R>(
  options: LoopOptions<S, E, R>,
  attempts: Attempts,
  error: E,
  established: boolean,
  now: number
): Effect.Effect<Option.Option<Duration.Duration>> => {
  if (established) {
    // A session resets the count and the schedule.
    attempts.next = 0
    attempts.backoff.state = options.policy.schedule.initial
  }
  const retry =
    options.policy.enabled &&
    (attempts.everEstablished || options.retryBeforeFirstSession !== false) &&
    options.isRetryable(error, established) &&
    attempts.next < options.policy.maxAttempts
  if (!retry) return Effect.succeed(Option.none())
  const minimum = options.minimumDelay?.(error)
  return Effect.map(nextDelay(options.policy, attempts.backoff, error, now), (delay) =>
    Option.map(delay, (delay) => (minimum === undefined ? delay : Duration.max(delay, Duration.decode(minimum))))
  )
}

/** Connects, and after each retryable end waits and connects again; fails with the error it gives up on. */
const loop = <S, E extends { readonly message: string }, R>(
  options: LoopOptions<S, E, R>
): Effect.Effect<never, E, Exclude<R, Scope.Scope>> =>
  Effect.gen(function* () {
    const attempts: Attempts = {
      next: 1,
      everEstablished: false,
      backoff: { state: options.policy.schedule.initial }
    }
    while (true) {
      yield* options.publish(connecting({ attempt: attempts.next }))
      const { error, established } = yield* attempt(options, attempts)
      const now = yield* Clock.currentTimeMillis
      const delay = yield* decide(options, attempts, error, established, now)
      if (Option.isNone(delay)) return yield* Effect.fail(error)
      attempts.next++
      yield* Effect.logInfo(`reconnecting in ${Duration.format(delay.value)}: ${error.message}`)
      yield* options.publish(waiting({ attempt: attempts.next, delay: delay.value, error }))
      yield* Deadline.sleepUntil(Deadline.after(now, delay.value))
    }
  })

/**
 * Starts the loop in the current scope; closing the scope closes it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = <S, E extends { readonly message: string }, R>(
  options: LoopOptions<S, E, R>
): Effect.Effect<Running<E>, never, Exclude<R, Scope.Scope> | Scope.Scope> =>
  Effect.gen(function* () {
    const end = yield* Deferred.make<void, E>()
    /** The final state, then every waiter learns why (`error`, or that the client was closed). */
    const finish = (error: Option.Option<E>) =>
      Effect.gen(function* () {
        if (yield* Deferred.isDone(end)) return
        yield* options.publish(Option.isSome(error) ? failed(error.value) : closed())
        yield* Deferred.done(end, Option.isSome(error) ? Exit.fail(error.value) : Exit.void)
        yield* options.slot.end(Option.isSome(error) ? error.value : new ClientClosed())
      })
    const running = yield* Effect.forkScoped(Effect.catchAll(loop(options), (error) => finish(Option.some(error))))
    const close = Effect.zipRight(Fiber.interrupt(running), finish(Option.none()))
    yield* Effect.addFinalizer(() => close)
    return { await: Deferred.await(end), close }
  })
