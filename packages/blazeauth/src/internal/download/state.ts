/**
 * A download's state record: the chain of streams (a start, then resumptions after stops or dropped
 * connections) as one count of bytes and one whole-file digest, the stream under way, and how the
 * download concludes. The handlers of the other modules work on it.
 */
import type * as Crypto from "node:crypto"
import * as Deferred from "effect/Deferred"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as Fiber from "effect/Fiber"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as ClientError from "../../ClientError.js"
import type * as Download from "../../Download.js"
import type * as Status from "../../Status.js"
import type * as Transfer from "../../Transfer.js"
import type { Connection, Connections, StreamRequest } from "../download.js"
import * as Payload from "../payload.js"
import * as Delivery from "./delivery.js"
import * as Progress from "./progress.js"

/**
 * `running`: a stream is under way (or being requested); `stopping`: the user's stop waits for the
 * stream's end; `reconnecting`: the connection dropped and the next session is awaited; `concluded`:
 * the outcome is decided.
 */
export type Phase = "running" | "stopping" | "reconnecting" | "concluded"

/** One stream of the download: a start, a resumption, or a restart from an offset. */
export interface Segment {
  readonly connection: Connection
  readonly request: StreamRequest
  readonly usecase: string
  /** A resume token tried again after a dropped connection: a 309 then means "ask from the offset". */
  readonly retry: boolean
  /** The offset the first header must carry. */
  readonly start: number
  /** Hash of this stream's bytes; `undefined` when it is the whole-file digest (a stream from 0). */
  readonly rangeDigest: Crypto.Hash | undefined
  received: number
  transferId: string | undefined
  fileSize: number | undefined
  /** The header whose binary frame is awaited, when it is terminal. */
  terminal: Transfer.Header | undefined
  /** Bytes announced by the last header, still to come. */
  awaited: number
  started: boolean
  /** No header or frame of this stream is handled any more. */
  closed: boolean
}

/** The whole download. */
export interface State {
  readonly filename: string
  readonly connections: Connections
  readonly delivery: Delivery.Delivery
  readonly progress: Progress.Notifier
  readonly outcome: Deferred.Deferred<Download.Outcome, ClientError.TransferError>
  /** Done once the first stream's first header is accepted, or with the download's failure. */
  readonly started: Deferred.Deferred<void, ClientError.TransferError>
  /** The download's scope: the fiber awaiting the next session runs in it. */
  readonly scope: Scope.Scope
  readonly fileDigest: Crypto.Hash | undefined
  /** `Download.Options.maxFileBytes`; infinite when unlimited. */
  readonly maxFileBytes: number
  phase: Phase
  /** Bytes of the file held, counted from offset 0. */
  position: number
  fileSize: number | undefined
  /** The whole file's checksum, once the download completed and was verified. */
  fileChecksum: string | undefined
  transferId: string
  /** A resume token sent but not answered by a stream yet: tried once more if the connection drops. */
  pendingToken: Option.Option<Redacted.Redacted<string>>
  segment: Segment | undefined
  /** Where the stream ended after a stop (its 308 ending, or the connection lost meanwhile). */
  stoppedAt: number | undefined
  stopWaiter: Deferred.Deferred<void> | undefined
  /** The fiber awaiting the next session after a dropped connection. */
  resumer: Fiber.RuntimeFiber<void> | undefined
}

/** Decides the outcome (only the first decision counts): the bytes, the start and the listeners learn it. */
export const conclude = (state: State, exit: Exit.Exit<Download.Outcome, ClientError.TransferError>): void => {
  if (state.phase === "concluded") return
  state.phase = "concluded"
  if (state.segment !== undefined) state.segment.closed = true
  Delivery.unbind(state.delivery)
  const done = Exit.isSuccess(exit) ? Exit.void : Exit.failCause(exit.cause)
  Delivery.close(state.delivery, done)
  Deferred.unsafeDone(state.started, done)
  Deferred.unsafeDone(state.outcome, exit)
  Progress.notify(state.progress)
}

/** The progress now. */
export const progressOf = (state: State): Download.Progress => ({
  filename: state.filename,
  position: state.position,
  fileSize: Option.fromNullable(state.fileSize),
  fileChecksum: Option.fromNullable(state.fileChecksum)
})

/** Whether the progress is final: the download concluded, or its stream ended after a stop. */
export const isFinal = (state: State): boolean => state.phase === "concluded" || state.stoppedAt !== undefined

/** The error of a violation found in `segment`'s stream. */
export const errorOf = (state: State, segment: Segment, violation: Transfer.Violation): ClientError.TransferError => {
  switch (violation._tag) {
    case "Integrity":
      return new ClientError.TransferIntegrityError({ filename: state.filename, detail: violation.detail })
    case "Malformed":
      return new ClientError.MalformedResponse({ usecase: segment.usecase, detail: violation.detail })
    case "Mismatch":
      return new ClientError.FileChecksumMismatch({
        filename: state.filename,
        checksum: violation.checksum,
        expected: violation.expected,
        actual: violation.actual
      })
  }
}

/** A stream's error status; the payload is the header without its id, as for other calls. */
export const statusError = (segment: Segment, status: Status.Status, header: object): ClientError.StatusError =>
  new ClientError.StatusError({ usecase: segment.usecase, status, payload: Payload.without(header, "id") })
