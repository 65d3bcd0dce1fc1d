/**
 * The skeleton of a server connection, the same for every protocol: one scope per connection, so that
 * everything the connection starts (timers, streams, file handles, pending work) ends with it; one
 * phase deadline at a time that closes with the protocol's code and reason; one close, after which
 * queued work is dropped; and any defect closes with the protocol's internal-error code, logged once.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as FiberHandle from "effect/FiberHandle"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Deadline from "./Deadline.js"
import type * as Transport from "./Transport.js"

/**
 * A close the server sends: a code and its reason.
 *
 * @since 0.1.0
 * @category models
 */
export interface Close {
  readonly code: number
  readonly reason: string
}

/**
 * Options of {@link run}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The close after a defect (or an unexpected failure) of the connection's work. */
  readonly internalError: Close
}

/**
 * One connection, as its protocol handler sees it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Session {
  readonly transport: Transport.Transport
  /** The connection's scope: what is acquired or forked in it ends with the connection. */
  readonly scope: Scope.Scope
  /** Starts the close, once (later closes do nothing), and waits for the connection to end. */
  readonly close: (close: Close) => Effect.Effect<void>
  /** Whether the close has started. */
  readonly isClosing: () => boolean
  /** Runs `effect` unless the close has started. */
  readonly whenOpen: <E, R>(effect: Effect.Effect<void, E, R>) => Effect.Effect<void, E, R>
  /**
   * Forks `effect` into the connection's scope; it does not start if the close started meanwhile,
   * and a defect in it closes the connection like one in the handler.
   */
  readonly fork: <E, R>(effect: Effect.Effect<void, E, R>) => Effect.Effect<void, never, R>
  /** Closes with `close` at `instant` (unix ms), replacing the deadline of the previous phase. */
  readonly deadline: (instant: number, close: Close) => Effect.Effect<void>
  /** The current phase has no deadline any more. */
  readonly clearDeadline: Effect.Effect<void>
  /** Hands each frame to `onFrame`, in order, until the connection ends; frames after the close started are dropped. */
  readonly forEachFrame: <E, R>(
    onFrame: (frame: Transport.Frame) => Effect.Effect<void, E, R>
  ) => Effect.Effect<void, E, R>
}

interface State {
  readonly transport: Transport.Transport
  readonly scope: Scope.Scope
  readonly options: Options
  readonly deadline: FiberHandle.FiberHandle
  closing: boolean
  failed: boolean
}

const close = (self: State, close: Close): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (self.closing) return Effect.void
    self.closing = true
    return Effect.zipRight(
      Effect.logDebug(`closing ${close.code} ${close.reason}`),
      Effect.asVoid(self.transport.close(close.code, close.reason))
    )
  })

/** A defect or failure: logged once, then the internal-error close. Interruption is not a failure. */
const onFailure = (self: State, cause: Cause.Cause<unknown>): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (Cause.isInterruptedOnly(cause) || self.failed) return Effect.void
    self.failed = true
    return Effect.zipRight(Effect.logError("session failed", cause), close(self, self.options.internalError))
  })

const whenOpen = <E, R>(self: State, effect: Effect.Effect<void, E, R>): Effect.Effect<void, E, R> =>
  Effect.suspend(() => (self.closing ? Effect.void : effect))

const fork = <E, R>(self: State, effect: Effect.Effect<void, E, R>): Effect.Effect<void, never, R> =>
  Effect.asVoid(
    Effect.forkIn(
      Effect.catchAllCause(whenOpen(self, effect), (cause) => onFailure(self, cause)),
      self.scope
    )
  )

const deadline = (self: State, instant: number, closeWith: Close): Effect.Effect<void> =>
  FiberHandle.run(self.deadline, Effect.zipRight(Deadline.sleepUntil(instant), close(self, closeWith)))

const forEachFrame = <E, R>(
  self: State,
  onFrame: (frame: Transport.Frame) => Effect.Effect<void, E, R>
): Effect.Effect<void, E, R> =>
  self.transport.frames.pipe(
    // The stream's only error is the close that ends it: the end of the connection, not a failure.
    Stream.catchAll(() => Stream.empty),
    Stream.runForEach((frame) => (self.closing ? Effect.void : onFrame(frame)))
  )

const sessionOf = (self: State): Session => ({
  transport: self.transport,
  scope: self.scope,
  close: (closeWith) => close(self, closeWith),
  isClosing: () => self.closing,
  whenOpen: (effect) => whenOpen(self, effect),
  fork: (effect) => fork(self, effect),
  deadline: (instant, closeWith) => deadline(self, instant, closeWith),
  clearDeadline: FiberHandle.clear(self.deadline),
  forEachFrame: (onFrame) => forEachFrame(self, onFrame)
})

/**
 * Runs `handler` for one connection in a scope of its own, closed when the handler ends (usually
 * when the connection does): every fiber forked and every resource acquired in it ends then. A
 * failure or defect of the handler closes with `options.internalError`; interruption (the server
 * shutting down) passes through.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = <E, R>(
  transport: Transport.Transport,
  options: Options,
  handler: (session: Session) => Effect.Effect<void, E, R>
): Effect.Effect<void, never, Exclude<R, Scope.Scope>> =>
  Effect.scoped(
    Effect.gen(function* () {
      const self: State = {
        transport,
        scope: yield* Effect.scope,
        options,
        deadline: yield* FiberHandle.make(),
        closing: false,
        failed: false
      }
      yield* Effect.catchAllCause(handler(sessionOf(self)), (cause) =>
        Cause.isInterruptedOnly(cause) ? Effect.interrupt : onFailure(self, cause)
      )
    })
  )
