/**
 * Keepalive, the same for every protocol: pings on a fixed grid of instants (a slow ping never
 * delays the next one), and one watchdog for the oldest unanswered ping. The watchdog can be paused
 * while the connection's owner waits on something of its own (a slow download consumer): answers may
 * then sit unread behind other data, so that wait is not the peer's fault.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberHandle from "effect/FiberHandle"
import type * as Scope from "effect/Scope"
import * as Deadline from "./Deadline.js"

/**
 * Keepalive options.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Between automatic pings; zero turns them off (pings sent by hand are still watched). */
  readonly interval: Duration.DurationInput
  /** How long the oldest unanswered ping may wait for its answer. */
  readonly timeout: Duration.DurationInput
  /** Sends one ping; it is expected to call `sent`. */
  readonly ping: Effect.Effect<void>
  /** The peer did not answer in time. Runs once, on the watchdog's fiber; the watch then ends. */
  readonly onTimeout: Effect.Effect<void>
  /** The instant (unix ms) the interval counts from. Default: now. */
  readonly from?: number | undefined
}

/**
 * A running keepalive; its fibers end with the scope it was made in (the connection's).
 *
 * @since 0.1.0
 * @category models
 */
export interface Keepalive<K> {
  /** A ping identified by `key` was sent now. */
  readonly sent: (key: K) => Effect.Effect<void>
  /** The ping `key` was answered (nothing if it is not outstanding). */
  readonly answered: (key: K) => Effect.Effect<void>
  /** The unanswered pings, oldest first. */
  readonly outstanding: () => ReadonlyArray<K>
  /** Holds the watchdog; pings in flight get their whole timeout again from `resume`. */
  readonly pause: Effect.Effect<void>
  readonly resume: Effect.Effect<void>
}

interface State<K> {
  /** Send instants of the unanswered pings, oldest first (a Map keeps insertion order). */
  readonly sentAt: Map<K, number>
  readonly timeout: number
  readonly onTimeout: Effect.Effect<void>
  readonly watchdog: FiberHandle.FiberHandle
  paused: boolean
  /** Pings sent before this instant were in flight during a pause: their timeout starts here. */
  resumedAt: number
  expired: boolean
}

/** Runs one timer for the oldest unanswered ping, or none. */
const watchOldest = <K>(self: State<K>): Effect.Effect<void> =>
  Effect.suspend(() => {
    const oldest = self.sentAt.entries().next()
    if (self.expired) return Effect.void
    if (oldest.done === true || self.paused) return FiberHandle.clear(self.watchdog)
    const [key, sentAt] = oldest.value
    const deadline = Math.max(sentAt, self.resumedAt) + self.timeout
    return FiberHandle.run(self.watchdog, Effect.zipRight(Deadline.sleepUntil(deadline), expire(self, key)))
  })

// The watch ends here: a peer that let a ping expire is gone, and the owner ends the connection.
const expire = <K>(self: State<K>, key: K): Effect.Effect<void> =>
  Effect.suspend(() => {
    self.sentAt.delete(key)
    self.expired = true
    return self.onTimeout
  })

const sent = <K>(self: State<K>, key: K, now: number): Effect.Effect<void> =>
  Effect.suspend(() => {
    self.sentAt.set(key, now)
    return self.sentAt.size === 1 ? watchOldest(self) : Effect.void
  })

const answered = <K>(self: State<K>, key: K): Effect.Effect<void> =>
  Effect.suspend(() => {
    const wasOldest = self.sentAt.keys().next().value === key
    if (!self.sentAt.delete(key)) return Effect.void
    return wasOldest ? watchOldest(self) : Effect.void
  })

/** Pings at `instant`, then at each interval after it: instants, not delays, so nothing drifts. */
const pingFrom = (instant: number, interval: number, ping: Effect.Effect<void>): Effect.Effect<never> =>
  Effect.zipRight(
    Effect.zipRight(Deadline.sleepUntil(instant), ping),
    Effect.suspend(() => pingFrom(instant + interval, interval, ping))
  )

/**
 * Starts the keepalive in the current scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <K>(options: Options): Effect.Effect<Keepalive<K>, never, Scope.Scope> =>
  Effect.gen(function* () {
    const self: State<K> = {
      sentAt: new Map(),
      timeout: Duration.toMillis(options.timeout),
      onTimeout: options.onTimeout,
      watchdog: yield* FiberHandle.make(),
      paused: false,
      resumedAt: Number.NEGATIVE_INFINITY,
      expired: false
    }
    const interval = Duration.toMillis(options.interval)
    if (interval > 0) {
      const from = options.from ?? (yield* Clock.currentTimeMillis)
      yield* Effect.forkScoped(pingFrom(from + interval, interval, options.ping))
    }
    return {
      sent: (key) => Effect.flatMap(Clock.currentTimeMillis, (now) => sent(self, key, now)),
      answered: (key) => answered(self, key),
      outstanding: () => Array.from(self.sentAt.keys()),
      pause: Effect.suspend(() => {
        self.paused = true
        return self.expired ? Effect.void : FiberHandle.clear(self.watchdog)
      }),
      resume: Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.suspend(() => {
          if (!self.paused) return Effect.void
          self.paused = false
          self.resumedAt = now
          return watchOldest(self)
        })
      )
    }
  })
