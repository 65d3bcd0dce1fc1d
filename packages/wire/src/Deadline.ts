/**
 * Deadlines as instants rather than delays: a timer fiber that starts late (the scheduler, or a
 * `TestClock` adjusted before the fiber ran) still fires at the instant the protocol means. Many
 * deadlines share one sweeper fiber rather than a timer each.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import type * as Scope from "effect/Scope"

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

/**
 * One fiber that times out many deadlines (a request table, say), instead of a timer per entry: it
 * sleeps until the earliest deadline, hands the expired keys to `onExpiry`, and sleeps again. The
 * `unsafe` operations are synchronous, for hot paths that cannot afford an Effect per entry.
 *
 * While paused (the owner waits on something of its own, e.g. a slow consumer), nothing expires, and
 * on resume the paused time does not count: a deadline moves on by the pause, an idle deadline (added
 * with `idle`) starts over.
 *
 * @since 0.1.0
 * @category models
 */
export interface Sweeper<K> {
  /** Watches `key` until `instant` (unix ms), replacing its previous deadline. */
  readonly unsafeAdd: (key: K, instant: number, options?: { readonly idle?: Duration.DurationInput }) => void
  /** Stops watching `key`. */
  readonly unsafeRemove: (key: K) => void
  readonly add: (key: K, instant: number, options?: { readonly idle?: Duration.DurationInput }) => Effect.Effect<void>
  readonly remove: (key: K) => Effect.Effect<void>
  readonly pause: Effect.Effect<void>
  readonly resume: Effect.Effect<void>
  /** How many keys are watched. */
  readonly size: () => number
}

interface Entry {
  instant: number
  readonly idle: number | undefined
}

interface SweeperState<K> {
  readonly entries: Map<K, Entry>
  readonly onExpiry: (key: K) => Effect.Effect<void>
  /** The instant the fiber sleeps until; an earlier deadline wakes it. */
  wakeAt: number
  wake: Deferred.Deferred<void>
  pausedAt: number | undefined
}

const wakeUp = <K>(self: SweeperState<K>): void => {
  Deferred.unsafeDone(self.wake, Exit.void)
}

const sweeperAdd = <K>(
  self: SweeperState<K>,
  key: K,
  instant: number,
  options: { readonly idle?: Duration.DurationInput } | undefined
): void => {
  self.entries.set(key, { instant, idle: options?.idle === undefined ? undefined : Duration.toMillis(options.idle) })
  if (instant < self.wakeAt) wakeUp(self)
}

/** The keys due at `now` (removed from the table), and the earliest deadline left. */
const due = <K>(self: SweeperState<K>, now: number): { readonly expired: Array<K>; readonly next: number } => {
  const expired: Array<K> = []
  let next = Number.POSITIVE_INFINITY
  if (self.pausedAt !== undefined) return { expired, next }
  for (const [key, entry] of self.entries) {
    if (entry.instant <= now) expired.push(key)
    else if (entry.instant < next) next = entry.instant
  }
  for (const key of expired) self.entries.delete(key)
  return { expired, next }
}

const sweep = <K>(self: SweeperState<K>): Effect.Effect<never> =>
  Effect.gen(function* () {
    while (true) {
      // Any deadline added while this pass runs wakes the next wait at once.
      self.wake = Deferred.unsafeMake<void>(FiberId.none)
      self.wakeAt = Number.POSITIVE_INFINITY
      const { expired, next } = due(self, yield* Clock.currentTimeMillis)
      for (const key of expired) yield* self.onExpiry(key)
      if (expired.length > 0) continue
      self.wakeAt = next
      if (next === Number.POSITIVE_INFINITY) yield* Deferred.await(self.wake)
      else yield* Effect.raceFirst(sleepUntil(next), Deferred.await(self.wake))
    }
  })

const sweeperResume = <K>(self: SweeperState<K>, now: number): void => {
  if (self.pausedAt === undefined) return
  const paused = now - self.pausedAt
  self.pausedAt = undefined
  for (const entry of self.entries.values()) {
    entry.instant = entry.idle === undefined ? entry.instant + paused : Math.max(entry.instant, now + entry.idle)
  }
  wakeUp(self)
}

/**
 * Starts a sweeper in the current scope; `onExpiry` runs on the sweeper's fiber for each key whose
 * deadline passed (the key is no longer watched by then).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeSweeper = <K>(
  onExpiry: (key: K) => Effect.Effect<void>
): Effect.Effect<Sweeper<K>, never, Scope.Scope> =>
  Effect.gen(function* () {
    const self: SweeperState<K> = {
      entries: new Map(),
      onExpiry,
      wakeAt: Number.POSITIVE_INFINITY,
      wake: yield* Deferred.make<void>(),
      pausedAt: undefined
    }
    yield* Effect.forkScoped(sweep(self))
    return {
      unsafeAdd: (key, instant, options) => sweeperAdd(self, key, instant, options),
      unsafeRemove: (key) => {
        self.entries.delete(key)
      },
      add: (key, instant, options) => Effect.sync(() => sweeperAdd(self, key, instant, options)),
      remove: (key) => Effect.sync(() => self.entries.delete(key)),
      pause: Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          self.pausedAt ??= now
        })
      ),
      resume: Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => sweeperResume(self, now))),
      size: () => self.entries.size
    }
  })
