import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Stream from "effect/Stream"
import * as CloseReason from "../CloseReason.js"
import type { CloseError, Frame, Transport } from "../Transport.js"

/** The state of a `receive` handler. */
interface Receiver {
  readonly handle: (frame: Frame) => Effect.Effect<void> | undefined
  /** Frames not handled yet, from `next` on (handled slots are cleared for the collector). */
  queue: Array<Frame | undefined>
  next: number
  /** A wait returned by the handler runs: later frames queue up. */
  busy: boolean
  /** `drain` runs: a frame the handler causes to arrive synchronously queues up. */
  draining: boolean
  readonly wait: (effect: Effect.Effect<void>) => void
  readonly end: (error: CloseError) => void
}

/** @internal What a concrete connection (ws socket, in-memory peer) must do for an endpoint. */
export interface Driver {
  /** Whether data frames may still be written. */
  readonly canWrite: () => boolean
  /** Writes a frame; calls `flushed` when the frame left the process, or at once when it cannot tell. */
  readonly write: (frame: Frame, flushed: (error?: Error | null) => void) => void
  /** Bytes written but not yet flushed. */
  readonly buffered: () => number
  /** Sends a close frame, unless one was sent or received already. */
  readonly startClose: (code: number, reason: string) => void
  /** Drops the connection without a closing handshake. */
  readonly kill: () => void
  readonly pause: () => void
  readonly resume: () => void
}

/** @internal */
export interface EndpointOptions {
  readonly remoteAddress: string
  /** Frames buffered before reading from the connection pauses. */
  readonly receiveHighWaterMark: number
  /** Unflushed bytes above which `send` waits for the frame to leave. */
  readonly sendHighWaterMark: number
  /** Unflushed messages above which `send` waits for the frame to leave. */
  readonly sendHighWaterMessages: number
  /** Whether reading pauses while the unflushed output is above either bound (see `ConnectionOptions`). */
  readonly pauseReadingWhileSendFull: boolean
  readonly makeCloseError: MakeCloseError
}

/** @internal The event side of an endpoint, called by its driver. */
export interface Endpoint {
  readonly transport: Transport
  readonly onFrame: (frame: Frame) => void
  /** The connection is gone; `code` and `reason` are those of the close frame received, if any. */
  readonly onClose: (code: number, reason: string) => void
}

/** @internal */
export type MakeCloseError = (fields: {
  readonly code: number
  readonly reason: string
  readonly initiator: "local" | "remote"
}) => CloseError

/** The receive side of an endpoint, shared by its frame handlers and `receive`. */
interface ReceiveSide {
  readonly mailbox: Mailbox.Mailbox<Frame, CloseError>
  /** The handler of `receive`, once it runs: frames go to it instead of the mailbox. */
  receiver: Receiver | undefined
  closeError: CloseError | undefined
  readonly unpause: () => void
}

/** Hands queued frames to the receiver until one of them returns a wait, or none is left. */
const drain = (side: ReceiveSide, active: Receiver): void => {
  if (active.busy || active.draining) return
  active.draining = true
  try {
    while (active.next < active.queue.length) {
      const frame = active.queue[active.next]!
      active.queue[active.next++] = undefined
      const wait = active.handle(frame)
      if (wait !== undefined) {
        active.busy = true
        active.wait(wait)
        return
      }
    }
    active.queue = []
    active.next = 0
    if (side.closeError !== undefined) active.end(side.closeError)
    else side.unpause()
  } finally {
    active.draining = false
  }
}

/** `Transport.receive`: frames already in the mailbox first, then each frame as it arrives. */
const receiveWith = (
  side: ReceiveSide,
  handle: (frame: Frame) => Effect.Effect<void> | undefined
): Effect.Effect<never, CloseError> =>
  Effect.flatMap(
    Effect.zip(Effect.runtime<never>(), side.mailbox.clear.pipe(Effect.orElseSucceed(Chunk.empty))),
    ([runtime, early]) =>
      Effect.async<never, CloseError>((resume) => {
        const run = Runtime.runFork(runtime)
        let waiting: Fiber.RuntimeFiber<void> | undefined
        const active: Receiver = {
          handle,
          queue: Chunk.toArray(early),
          next: 0,
          busy: false,
          draining: false,
          wait: (effect) => {
            const fiber = run(effect)
            waiting = fiber
            fiber.addObserver((exit) => {
              waiting = undefined
              if (Exit.isFailure(exit)) {
                side.receiver = undefined
                return resume(Effect.failCause(exit.cause))
              }
              active.busy = false
              drain(side, active)
            })
          },
          end: (error) => {
            side.receiver = undefined
            resume(Effect.fail(error))
          }
        }
        side.receiver = active
        drain(side, active)
        return Effect.suspend(() => {
          if (side.receiver === active) side.receiver = undefined
          return waiting === undefined ? Effect.void : Fiber.interrupt(waiting)
        })
      })
  )

/** @internal Builds an endpoint synchronously, so that no frame can arrive before its listeners. */
export const unsafeMake = (driver: Driver, options: EndpointOptions): Endpoint => {
  const mailbox = Effect.runSync(Mailbox.make<Frame, CloseError>())
  const closed = Deferred.unsafeMake<CloseError>(FiberId.none)
  let localClose: { readonly code: number; readonly reason: string } | undefined
  /** The receive side holds too many frames. */
  let paused = false
  /** The send side holds too much output: the peer does not read what it asks for. */
  let sendFull = false
  /** Whether the driver is paused: while either side is full. */
  let reading = true
  /** Frames written whose flush has not been reported yet. */
  let unflushed = 0
  const maxMessages = options.sendHighWaterMessages
  const maxBytes = options.sendHighWaterMark

  const bufferedFrames = (): number => Option.getOrElse(mailbox.unsafeSize(), () => 0)

  const syncReading = (): void => {
    const wanted = !(paused || sendFull) || localClose !== undefined
    if (wanted === reading) return
    reading = wanted
    if (wanted) driver.resume()
    else driver.pause()
  }

  const pauseReceive = (): void => {
    paused = true
    syncReading()
  }

  const unpause = (): void => {
    if (paused) {
      paused = false
      syncReading()
    }
  }

  const aboveSendBound = (): boolean => unflushed >= maxMessages || driver.buffered() >= maxBytes

  // Reading resumes at half the bounds, so that a peer reading slowly does not toggle it per frame.
  const onFlushed = (): void => {
    unflushed--
    if (sendFull && unflushed <= maxMessages >>> 1 && driver.buffered() <= maxBytes / 2) {
      sendFull = false
      syncReading()
    }
  }

  /** Every frame goes out here, to count it until its flush. */
  const write = (frame: Frame, flushed: (error?: Error | null) => void): void => {
    unflushed++
    driver.write(frame, flushed)
    if (!sendFull && options.pauseReadingWhileSendFull && aboveSendBound()) {
      sendFull = true
      syncReading()
    }
  }

  const resumeIfDrained = <A>(frames: A): A => {
    if (bufferedFrames() === 0) unpause()
    return frames
  }

  const side: ReceiveSide = { mailbox, receiver: undefined, closeError: undefined, unpause }

  const whenClosed = Effect.flatMap(Deferred.await(closed), Effect.fail)

  const send = (frame: Frame): Effect.Effect<void, CloseError> =>
    Effect.suspend(() => {
      if (!driver.canWrite()) return whenClosed
      if (!aboveSendBound()) {
        write(frame, onFlushed)
        return Effect.void
      }
      return waitFlushed(frame)
    })

  const waitFlushed = (frame: Frame): Effect.Effect<void, CloseError> =>
    Effect.async<void, CloseError>((resume) => {
      write(frame, (error) => {
        onFlushed()
        // Node reports a successful write with `null` or `undefined`.
        resume(error == null ? Effect.void : whenClosed)
      })
    })

  const trySend = (frame: Frame): boolean => {
    if (!driver.canWrite() || aboveSendBound()) return false
    write(frame, onFlushed)
    return true
  }

  const sendAll = (frames: ReadonlyArray<Frame>): Effect.Effect<void, CloseError> =>
    Effect.suspend(() => {
      if (!driver.canWrite()) return whenClosed
      const last = frames.length - 1
      for (let i = 0; i < last; i++) write(frames[i]!, onFlushed)
      if (last < 0) return Effect.void
      if (!aboveSendBound()) {
        write(frames[last]!, onFlushed)
        return Effect.void
      }
      return waitFlushed(frames[last]!)
    })

  const close = (code: number, reason = ""): Effect.Effect<CloseError> =>
    Effect.suspend(() => {
      if (side.closeError === undefined && localClose === undefined && driver.canWrite()) {
        if (!CloseReason.isSendableCode(code)) return Effect.dieMessage(`close code ${code} cannot be sent`)
        localClose = { code, reason: CloseReason.truncate(reason) }
        driver.startClose(localClose.code, localClose.reason)
        // A paused reader would never see the peer's close frame.
        syncReading()
      }
      return Deferred.await(closed)
    })

  const terminate = (code?: number, reason = ""): Effect.Effect<CloseError> =>
    Effect.suspend(() => {
      // A close the peer started stays the peer's, even when this side drops the connection early.
      if (side.closeError === undefined && localClose === undefined && driver.canWrite()) {
        localClose = { code: code ?? 1006, reason: CloseReason.truncate(reason) }
        if (code !== undefined && CloseReason.isSendableCode(code)) driver.startClose(code, localClose.reason)
      }
      if (side.closeError === undefined) driver.kill()
      return Deferred.await(closed)
    })

  const transport: Transport = {
    frames: Mailbox.toStream(mailbox).pipe(Stream.mapChunks(resumeIfDrained)),
    receive: (handle) => receiveWith(side, handle),
    send,
    sendAll,
    trySend,
    close,
    terminate,
    closed: Deferred.await(closed),
    isOpen: Effect.sync(() => side.closeError === undefined && localClose === undefined && driver.canWrite()),
    unsent: Effect.sync(() => ({ messages: unflushed, bytes: driver.buffered() })),
    remoteAddress: options.remoteAddress
  }

  return {
    transport,
    onFrame: (frame) => {
      // Once this side closes, what still arrives is dropped: buffering it could pause the reader and
      // keep the peer's close frame from being read.
      if (side.closeError !== undefined || localClose !== undefined) return
      const active = side.receiver
      if (active !== undefined) {
        active.queue.push(frame)
        if (active.busy || active.draining) {
          if (!paused && active.queue.length - active.next >= options.receiveHighWaterMark) pauseReceive()
          return
        }
        return drain(side, active)
      }
      mailbox.unsafeOffer(frame)
      if (!paused && bufferedFrames() >= options.receiveHighWaterMark) pauseReceive()
    },
    onClose: (code, reason) => {
      const makeError = options.makeCloseError
      if (side.closeError !== undefined) return
      side.closeError =
        localClose === undefined
          ? makeError({ code, reason, initiator: "remote" })
          : makeError({ code: localClose.code, reason: localClose.reason, initiator: "local" })
      mailbox.unsafeDone(Exit.fail(side.closeError))
      Deferred.unsafeDone(closed, Effect.succeed(side.closeError))
      if (side.receiver !== undefined) drain(side, side.receiver)
    }
  }
}
