/**
 * The state machine of a download's streams (§4.5): each stream request becomes a `Segment`, and the
 * receive loop hands its headers, binary frames and failure to the handlers below. They judge the
 * stream with the `Transfer` rules, hash and count the bytes, offer them to the consumer, and
 * conclude the download, or hand it to the stop or to the next session.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as ClientError from "../../ClientError.js"
import * as Status from "../../Status.js"
import * as Transfer from "../../Transfer.js"
import * as Usecase from "../../Usecase.js"
import type { Connection, Done, StreamHandler, StreamRequest } from "../download.js"
import * as Payload from "../payload.js"
import * as Continuation from "./continuation.js"
import * as Delivery from "./delivery.js"
import * as Progress from "./progress.js"
import { isConnectionLoss, reconnect, restartRequest } from "./reconnect.js"
import { conclude, errorOf, type Segment, type State, statusError } from "./state.js"
import { onStopped } from "./stop.js"

type Payload = { readonly [key: string]: unknown }

/** Sends `request` on `connection` as the download's current stream. */
export const launch = (
  state: State,
  request: StreamRequest,
  connection: Connection,
  retry = false
): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (state.phase === "concluded") return Effect.void
    const segment: Segment = {
      connection,
      request,
      usecase: request._tag === "TransferFile" ? Usecase.TransferFile.name : Usecase.ResumeFileTransfer.name,
      retry,
      start: state.position,
      // From offset 0 the range is the whole file: one digest serves both checks.
      rangeDigest: state.position === 0 && state.fileDigest !== undefined ? undefined : Continuation.digest(),
      received: 0,
      transferId: undefined,
      fileSize: undefined,
      terminal: undefined,
      awaited: 0,
      started: false,
      closed: false
    }
    state.segment = segment
    const handler: StreamHandler = {
      onHeader: (payload) => segmentOnHeader(state, segment, payload),
      onBinary: (bytes) => segmentOnBinary(state, segment, bytes),
      fail: (error) => segmentOnFail(state, segment, error)
    }
    return Effect.catchAll(connection.open(request, handler), (error) => segmentOnFail(state, segment, error))
  })

/**
 * Concludes the download with an error found in the stream; a stream that may still run on the
 * server is stopped (without a token). The handler is done with its stream.
 */
const segmentFailed = (state: State, segment: Segment, error: ClientError.TransferError): Done => {
  const running = segment.started && !segment.closed && segment.transferId !== undefined
  segment.closed = true
  conclude(state, Exit.fail(error))
  return running && segment.transferId !== undefined
    ? Effect.as(segment.connection.stopQuietly(segment.transferId), true)
    : true
}

const segmentViolated = (state: State, segment: Segment, violation: Transfer.Violation): Done =>
  segmentFailed(state, segment, errorOf(state, segment, violation))

/** A type-8 header for the segment's request. */
export const segmentOnHeader = (state: State, segment: Segment, payload: Payload): Done => {
  if (segment.closed || state.phase === "concluded") return lateHeader(segment, payload)
  const present = Transfer.checkPresent(payload)
  if (Either.isLeft(present)) return segmentViolated(state, segment, present.left)
  // `binary_data` is informational and never checked (§4.3): whatever it holds is left out.
  const binaryData = payload["binary_data"]
  const decoded = Usecase.decodeHeader(
    binaryData === undefined || typeof binaryData === "boolean" ? payload : Payload.without(payload, "binary_data")
  )
  if (Either.isLeft(decoded)) {
    return segmentViolated(state, segment, { _tag: "Malformed", detail: Usecase.describeError(decoded.left) })
  }
  const header = decoded.right
  const received = Transfer.checkReceivedId(header)
  if (Either.isLeft(received)) return segmentViolated(state, segment, received.left)
  const kind = Transfer.kindOf(header.status, !segment.started)
  if (kind._tag === "Rejected") return segmentOnRejection(state, segment, kind.status, header)
  if (!segment.started) {
    const resumed = segment.request._tag === "ResumeFileTransfer" ? segment.request.transferId : undefined
    const identity = Transfer.checkIdentity({ transferId: resumed, first: true }, header)
    if (Either.isLeft(identity)) return segmentViolated(state, segment, identity.left)
    segment.started = true
    segment.transferId = header.transfer_id
    state.transferId = header.transfer_id
    state.pendingToken = Option.none()
    // A file too large fails the start itself, as a rejection would.
    const tooLarge = checkLimit(state, segment, header, header.file_size)
    if (tooLarge !== undefined) return tooLarge
    Deferred.unsafeDone(state.started, Exit.void)
  }
  const checked = Transfer.checkHeader(
    {
      transferId: segment.transferId,
      first: false,
      offset: segment.start + segment.received,
      fileSize: segment.fileSize,
      knownSize: state.fileSize
    },
    header
  )
  if (Either.isLeft(checked)) return segmentViolated(state, segment, checked.left)
  const tooLarge = checkLimit(state, segment, header, checked.right)
  if (tooLarge !== undefined) return tooLarge
  if (header.file_size !== undefined) {
    segment.fileSize = header.file_size
    state.fileSize = header.file_size
  }
  const terminal = kind._tag !== "Intermediate"
  if (header.chunk_size > 0) {
    segment.awaited = header.chunk_size
    segment.terminal = terminal ? header : undefined
    // A terminal header with a chunk is concluded by its binary frame; the handler is done already.
    return terminal
  }
  if (terminal) segmentOnTerminal(state, segment, header)
  return terminal
}

/**
 * `maxFileBytes`, checked on every header before its chunk is read: nothing past the limit reaches
 * the consumer (or the disk). Undefined when the header is within it.
 */
const checkLimit = (
  state: State,
  segment: Segment,
  header: Transfer.Header,
  fileSize: number | undefined
): Done | undefined =>
  (fileSize ?? 0) > state.maxFileBytes || header.offset + header.chunk_size > state.maxFileBytes
    ? segmentFailed(
        state,
        segment,
        new ClientError.FileTooLarge({ filename: state.filename, fileSize, limit: state.maxFileBytes })
      )
    : undefined

/** A first header that is terminal with an error status: a rejection (§4.5). */
const segmentOnRejection = (state: State, segment: Segment, status: Status.Status, header: Transfer.Header): Done => {
  segment.closed = true
  // A token retried after a dropped connection may have been spent by the request that was lost:
  // the rest of the file is asked for instead.
  if (segment.retry && status.code === Status.codes.resume_token_invalid) {
    state.pendingToken = Option.none()
    return Effect.as(launch(state, restartRequest(state), segment.connection), true)
  }
  conclude(state, Exit.fail(statusError(segment, status, header)))
  return true
}

/**
 * A header after the download concluded. A stream that started only after it concluded (its request
 * was already sent) is stopped, so that the server does not send the whole file for nothing.
 */
const lateHeader = (segment: Segment, payload: Payload): Done => {
  const id = payload["transfer_id"]
  const status = payload["status"]
  if (segment.started || typeof id !== "string" || (status !== undefined && status !== 0)) return true
  segment.started = true
  return Effect.as(segment.connection.stopQuietly(id), true)
}

/** The stream's data: hashed, counted and offered to the consumer; an Effect only when the buffer is full. */
export const segmentOnBinary = (state: State, segment: Segment, bytes: Uint8Array): Effect.Effect<void> | undefined => {
  if (segment.awaited === 0 || state.phase === "concluded" || state.stoppedAt !== undefined) return undefined
  segment.awaited = 0
  state.fileDigest?.update(bytes)
  segment.rangeDigest?.update(bytes)
  segment.received += bytes.byteLength
  state.position += bytes.byteLength
  const room = Delivery.offer(state.delivery, bytes)
  Progress.notify(state.progress)
  const terminal = segment.terminal
  segment.terminal = undefined
  if (room === undefined) {
    if (terminal !== undefined) segmentOnTerminal(state, segment, terminal)
    return undefined
  }
  return terminal === undefined
    ? room
    : Effect.zipRight(
        room,
        Effect.sync(() => segmentOnTerminal(state, segment, terminal))
      )
}

/** The segment's terminal header, after its binary frame if it had one: the download concludes (or stopped). */
const segmentOnTerminal = (state: State, segment: Segment, header: Transfer.Header): void => {
  segment.closed = true
  const status = header.status ?? Status.make("none")
  if (status.code !== Status.codes.ok) {
    if (status.code === Status.codes.file_transfer_stopped && state.phase === "stopping") return onStopped(state)
    return conclude(state, Exit.fail(statusError(segment, status, header)))
  }
  const file = state.fileDigest === undefined ? undefined : Continuation.hex(state.fileDigest)
  const range = segment.rangeDigest === undefined ? file : Continuation.hex(segment.rangeDigest)
  const verified = Transfer.checkCompletion(
    { start: segment.start, received: segment.received, fileSize: segment.fileSize, range: range ?? "", file },
    header
  )
  if (Either.isLeft(verified)) return conclude(state, Exit.fail(errorOf(state, segment, verified.left)))
  state.fileChecksum = verified.right.fileChecksum
  conclude(state, Exit.succeed({ _tag: "Completed", filename: state.filename, ...verified.right }))
}

/** The request ended without a terminal header: connection lost, timeout, bad response. */
export const segmentOnFail = (state: State, segment: Segment, error: ClientError.CallError): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (segment.closed || state.phase === "concluded" || state.segment !== segment) return Effect.void
    segment.closed = true
    if (state.phase === "stopping") return Effect.sync(() => onStopped(state))
    if (state.connections.reconnects && isConnectionLoss(error)) {
      state.phase = "reconnecting"
      return reconnect(state, segment.connection, launch)
    }
    conclude(state, Exit.fail(error))
    // An idle timeout (or a bad answer) leaves the stream running on the server: it is stopped (§4.5).
    return segment.started && segment.transferId !== undefined
      ? segment.connection.stopQuietly(segment.transferId)
      : Effect.void
  })
