/**
 * One download (spec §4.5): the stream headers and binary frames of one or more streams (a start, then
 * resumptions after stops or dropped connections) checked, hashed and handed to one consumer through
 * a bounded buffer.
 *
 * The receive loop calls `onHeader` and `onBinary` synchronously; `onBinary` returns an Effect only
 * when the buffer is full, and the loop (and so the socket) waits on it: that is the backpressure.
 */
import * as Crypto from "node:crypto"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as ClientError from "../ClientError.js"
import type * as Download from "../Download.js"
import * as Field from "../Field.js"
import * as Status from "../Status.js"
import * as Usecase from "../Usecase.js"
import * as Payload from "./payload.js"

/** What a stream request asks for. */
export type StreamRequest =
  | { readonly _tag: "TransferFile"; readonly filename: string; readonly offset: number }
  | {
      readonly _tag: "ResumeFileTransfer"
      readonly transferId: string
      readonly resumeToken: Redacted.Redacted<string>
    }

/**
 * Whether a handler is done with its stream, decided synchronously; an Effect when something must be
 * sent first (a stop, or a new request).
 */
export type Step = boolean | Effect.Effect<boolean>

/** The receiving end of one stream request, registered under its id on one connection. */
export interface StreamHandler {
  /** A type-8 header for the request; returns whether the stream is over for this handler. */
  readonly onHeader: (payload: { readonly [key: string]: unknown }) => Step
  /** The binary frame bound by the last header; an Effect only when the consumer's buffer is full. */
  readonly onBinary: (bytes: Uint8Array) => Effect.Effect<void> | undefined
  /** The request ended without a terminal header: connection lost, timeout, bad response. */
  readonly fail: (error: ClientError.CallError) => Effect.Effect<void>
}

/** One connection's session, as a download uses it. */
export interface Channel {
  /** Registers `handler` under a fresh id and sends the request. */
  readonly open: (request: StreamRequest, handler: StreamHandler) => Effect.Effect<void, ClientError.CallError>
  /** `stop_file_transfer`: the resume token of a status-1 answer; other statuses fail with `StatusError`. */
  readonly stop: (
    transferId: string,
    issueToken: boolean
  ) => Effect.Effect<Option.Option<Redacted.Redacted<string>>, ClientError.CallError>
  /** Sends `stop_file_transfer` without a token and without waiting for its answer. */
  readonly stopQuietly: (transferId: string) => Effect.Effect<void>
}

/** What the client lends a download. */
export interface Host {
  readonly bufferBytes: number
  /** Whether a dropped connection is followed by the next session (the client reconnects). */
  readonly reconnects: boolean
  /** The current session, or the next one within the request timeout. */
  readonly channel: Effect.Effect<Channel, ClientError.CallError>
  /** The session after `dead` ended; fails once the client gives up. */
  readonly nextChannel: (dead: Channel) => Effect.Effect<Channel, ClientError.CallError>
}

const transferIdLimit = 128
const resumeTokenLimit = 512

/** The §6 pre-checks of a stored resume: identifiers the server could never have issued are refused locally. */
export const checkResume = (stopped: Download.Stopped): Either.Either<void, ClientError.InvalidArgument> => {
  const idLength = Field.length(stopped.transferId)
  if (idLength < 1 || idLength > transferIdLimit) {
    return Either.left(
      new ClientError.InvalidArgument({
        argument: "transferId",
        detail: `must have 1 to ${transferIdLimit} characters, has ${idLength}`
      })
    )
  }
  if (Option.isSome(stopped.resumeToken)) {
    const tokenLength = Field.length(Redacted.value(stopped.resumeToken.value))
    if (tokenLength < 1 || tokenLength > resumeTokenLimit) {
      return Either.left(
        new ClientError.InvalidArgument({
          argument: "resumeToken",
          detail: `must have 1 to ${resumeTokenLimit} characters, has ${tokenLength}`
        })
      )
    }
  }
  if (!Number.isSafeInteger(stopped.offset) || stopped.offset < 0) {
    return Either.left(new ClientError.InvalidArgument({ argument: "offset", detail: "must be an integer ≥ 0" }))
  }
  return Either.void
}

/**
 * Checks the token of a stop's success (§4.6, §4.8): required when one was asked for, and malformed
 * outside 1..512 characters.
 */
const checkReceivedToken = (
  token: Option.Option<Redacted.Redacted<string>>,
  asked: boolean
): Either.Either<Option.Option<Redacted.Redacted<string>>, ClientError.MalformedResponse> => {
  if (Option.isNone(token)) {
    return asked
      ? Either.left(
          new ClientError.MalformedResponse({
            usecase: Usecase.StopFileTransfer.name,
            detail: `["resume_token"]: is missing`
          })
        )
      : Either.right(token)
  }
  const length = Field.length(Redacted.value(token.value))
  return length >= 1 && length <= resumeTokenLimit
    ? Either.right(token)
    : Either.left(
        new ClientError.MalformedResponse({
          usecase: Usecase.StopFileTransfer.name,
          detail: `["resume_token"]: must have 1 to ${resumeTokenLimit} characters`
        })
      )
}

const isConnectionLoss = (error: ClientError.CallError): boolean =>
  (error._tag === "ConnectionClosed" && error.isRetryable) || error._tag === "PingTimeout"

const hex = (digest: Crypto.Hash): string => digest.digest("hex")

/**
 * The bytes on their way to the consumer: offered by the receive loop, taken all at once by the
 * stream's pull, then the end. It holds `capacity` bytes at most: an offer past it returns the wait
 * for room (at least one offer is always taken in, so a chunk larger than the capacity still passes).
 */
const makeDelivery = (capacity: number) => {
  let items: Array<Uint8Array> = []
  let held = 0
  let limit = capacity
  let ended: Exit.Exit<void, ClientError.TransferError> | undefined
  let consumer: (() => void) | undefined
  let producer: (() => void) | undefined
  const wakeConsumer = () => {
    const resume = consumer
    consumer = undefined
    resume?.()
  }
  const wakeProducer = () => {
    if (producer === undefined || held > limit) return
    const resume = producer
    producer = undefined
    resume()
  }
  const waitFor = (register: (resume: (() => void) | undefined) => void) =>
    Effect.async<void>((resume) => {
      register(() => resume(Effect.void))
      return Effect.sync(() => register(undefined))
    })
  const take: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<ClientError.TransferError>> = Effect.suspend(() => {
    if (items.length > 0) {
      const chunk = items
      items = []
      held = 0
      wakeProducer()
      return Effect.succeed(Chunk.unsafeFromArray(chunk))
    }
    if (ended !== undefined) {
      return Exit.isSuccess(ended) ? Effect.fail(Option.none()) : Effect.failCause(Cause.map(ended.cause, Option.some))
    }
    return Effect.zipRight(
      waitFor((resume) => {
        consumer = resume
      }),
      take
    )
  })
  return {
    /** Offers bytes; an Effect when the consumer must make room first. */
    offer: (bytes: Uint8Array): Effect.Effect<void> | undefined => {
      if (ended !== undefined) return undefined
      items.push(bytes)
      held += bytes.byteLength
      wakeConsumer()
      if (held <= limit || held === bytes.byteLength) return undefined
      return waitFor((resume) => {
        producer = resume
      })
    },
    /** No bound from now on (a stop is under way, or the download ended): a waiting offer goes on. */
    unbound: (): void => {
      limit = Number.POSITIVE_INFINITY
      wakeProducer()
    },
    /** Only the first end counts; the bytes offered before it are still taken. */
    end: (exit: Exit.Exit<void, ClientError.TransferError>): void => {
      if (ended !== undefined) return
      ended = exit
      wakeConsumer()
    },
    take
  }
}

/** One stream of the download: a start, a resumption, or a restart from an offset. */
interface Attempt {
  readonly channel: Channel
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
  terminal: TransferHeader | undefined
  /** Bytes announced by the last header, still to come. */
  awaited: number
  started: boolean
  over: boolean
}

type TransferHeader = typeof Usecase.TransferHeader.Type

type Phase = "running" | "stopping" | "reconnecting" | "ended"

/** Where the hashing and the byte count of the whole chain (start, stops, resumptions) stand. */
export interface Origin {
  readonly filename: string
  readonly offset: number
  readonly fileSize: number | undefined
  readonly fileDigest: Crypto.Hash | undefined
}

/**
 * Starts a download: sends the request, and succeeds once the first header arrived (a rejection
 * fails). The download's scope ends it: a stream still running is stopped.
 */
export const start = (
  host: Host,
  origin: Origin,
  request: StreamRequest
): Effect.Effect<Download.Download, ClientError.TransferError, Scope.Scope> =>
  Effect.gen(function* () {
    const filename = origin.filename
    const delivery = makeDelivery(host.bufferBytes)
    const outcome = yield* Deferred.make<Download.Outcome, ClientError.TransferError>()
    const started = yield* Deferred.make<void, ClientError.TransferError>()
    const scope = yield* Effect.scope

    let phase: Phase = "running"
    let position = origin.offset
    let fileSize = origin.fileSize
    const fileDigest = origin.fileDigest
    /** The whole file's checksum, once the download completed and was verified. */
    let fileChecksum: string | undefined
    let transferId = request._tag === "ResumeFileTransfer" ? request.transferId : ""
    /** A resume token sent but not answered by a stream yet: tried once more if the connection drops. */
    let pendingToken = request._tag === "ResumeFileTransfer" ? Option.some(request.resumeToken) : Option.none()
    let attempt: Attempt | undefined
    /** Where the stream ended after a stop (its 308 ending, or the connection lost meanwhile). */
    let stoppedAt: number | undefined
    let stopWaiter: Deferred.Deferred<void> | undefined
    let resumer: Fiber.RuntimeFiber<void> | undefined

    // Progress listeners wait for the next change; a slow listener sees the latest position only.
    let progressWaiters: Array<() => void> = []
    const notifyProgress = () => {
      if (progressWaiters.length === 0) return
      const waiters = progressWaiters
      progressWaiters = []
      for (const wake of waiters) wake()
    }

    const end = (exit: Exit.Exit<Download.Outcome, ClientError.TransferError>) => {
      if (phase === "ended") return
      phase = "ended"
      if (attempt !== undefined) attempt.over = true
      delivery.unbound()
      const done = Exit.isSuccess(exit) ? Exit.void : Exit.failCause(exit.cause)
      delivery.end(done)
      Deferred.unsafeDone(started, done)
      Deferred.unsafeDone(outcome, exit)
      notifyProgress()
    }

    const progressNow = (): Download.Progress => ({
      filename,
      position,
      fileSize: Option.fromNullable(fileSize),
      fileChecksum: Option.fromNullable(fileChecksum)
    })

    const integrity = (detail: string) => new ClientError.TransferIntegrityError({ filename, detail })

    const malformed = (current: Attempt, detail: string) =>
      new ClientError.MalformedResponse({ usecase: current.usecase, detail })

    /**
     * Ends the download with an error found in the stream; a stream that may still run on the server is
     * stopped (without a token). Returns what the receive loop does with the handler: it is done.
     */
    const failStream = (current: Attempt, error: ClientError.TransferError): Step => {
      const running = current.started && !current.over && current.transferId !== undefined
      current.over = true
      end(Exit.fail(error))
      return running && current.transferId !== undefined
        ? Effect.as(current.channel.stopQuietly(current.transferId), true)
        : true
    }

    /** A stream's error status; the payload is the header without its id, as for other calls. */
    const statusError = (current: Attempt, status: Status.Status, header: object) =>
      new ClientError.StatusError({
        usecase: current.usecase,
        status,
        payload: Payload.without(header, "id")
      })

    const stoppedOutcome = (token: Option.Option<Redacted.Redacted<string>>): Download.Stopped => ({
      _tag: "Stopped",
      filename,
      transferId,
      offset: stoppedAt ?? position,
      fileSize: Option.fromNullable(fileSize),
      resumeToken: token,
      continuation: { fileDigest }
    })

    /** The stream ended after a stop: the bytes end here; `stop` completes the outcome with its token. */
    const markStopped = () => {
      if (stoppedAt !== undefined) return
      stoppedAt = position
      if (attempt !== undefined) attempt.over = true
      delivery.end(Exit.void)
      notifyProgress()
      if (stopWaiter !== undefined) Deferred.unsafeDone(stopWaiter, Exit.void)
    }

    /** The terminal header of `current`, after its binary frame if it had one. */
    const finish = (current: Attempt, header: TransferHeader): void => {
      current.over = true
      const status = header.status ?? Status.make("none")
      if (status.code !== Status.codes.ok) {
        if (status.code === Status.codes.file_transfer_stopped && phase === "stopping") return markStopped()
        return end(Exit.fail(statusError(current, status, header)))
      }
      if (current.fileSize === undefined) return end(Exit.fail(integrity("file_size was never announced")))
      const expected = current.fileSize - current.start
      if (current.received !== expected) {
        return end(
          Exit.fail(integrity(`received ${current.received} bytes from offset ${current.start}, expected ${expected}`))
        )
      }
      if (header.file_checksum === undefined) return end(Exit.fail(integrity("file_checksum is missing")))
      if (header.range_checksum === undefined) return end(Exit.fail(integrity("range_checksum is missing")))
      const fileActual = fileDigest === undefined ? undefined : hex(fileDigest)
      const rangeActual = current.rangeDigest === undefined ? fileActual : hex(current.rangeDigest)
      const mismatch = (checksum: "file" | "range", expected: string, actual: string) =>
        end(Exit.fail(new ClientError.FileChecksumMismatch({ filename, checksum, expected, actual })))
      if (rangeActual !== header.range_checksum.toLowerCase()) {
        return mismatch("range", header.range_checksum, rangeActual ?? "")
      }
      if (fileActual !== undefined && fileActual !== header.file_checksum.toLowerCase()) {
        return mismatch("file", header.file_checksum, fileActual)
      }
      fileChecksum = header.file_checksum.toLowerCase()
      end(
        Exit.succeed({
          _tag: "Completed",
          filename,
          fileSize: current.fileSize,
          fileChecksum: header.file_checksum.toLowerCase(),
          verified: fileActual === undefined ? "range" : "file"
        })
      )
    }

    /** A first header that is terminal with an error status: a rejection (§4.5). */
    const onRejection = (current: Attempt, status: Status.Status, payload: object): Step => {
      current.over = true
      // A token retried after a dropped connection may have been spent by the request that was lost:
      // the rest of the file is asked for instead.
      if (current.retry && status.code === Status.codes.resume_token_invalid) {
        pendingToken = Option.none()
        return Effect.as(launch(restartRequest(), current.channel), true)
      }
      end(Exit.fail(statusError(current, status, payload)))
      return true
    }

    const onHeader = (current: Attempt, payload: { readonly [key: string]: unknown }): Step => {
      if (current.over || phase === "ended") return late(current, payload)
      if (payload["transfer_id"] === undefined) return failStream(current, integrity("transfer_id is missing"))
      if (payload["offset"] === undefined) return failStream(current, integrity("offset is missing"))
      // `binary_data` is informational and never checked (§4.3): whatever it holds is left out.
      const binaryData = payload["binary_data"]
      const decoded = Usecase.decodeHeader(
        binaryData === undefined || typeof binaryData === "boolean" ? payload : Payload.without(payload, "binary_data")
      )
      if (Either.isLeft(decoded)) return failStream(current, malformed(current, Usecase.describeError(decoded.left)))
      const header = decoded.right
      const idLength = Field.length(header.transfer_id)
      if (idLength < 1 || idLength > transferIdLimit) {
        return failStream(current, malformed(current, `["transfer_id"]: must have 1 to ${transferIdLimit} characters`))
      }
      const status = header.status
      const terminal = status !== undefined && status.code !== Status.codes.none
      if (!current.started) {
        if (terminal && status.code !== Status.codes.ok) return onRejection(current, status, header)
        if (current.request._tag === "ResumeFileTransfer" && header.transfer_id !== current.request.transferId) {
          return failStream(current, integrity("the resumed stream has another transfer_id"))
        }
        current.started = true
        current.transferId = header.transfer_id
        transferId = header.transfer_id
        pendingToken = Option.none()
        Deferred.unsafeDone(started, Exit.void)
      } else if (header.transfer_id !== current.transferId) {
        return failStream(current, integrity("transfer_id changed within the stream"))
      }
      const expectedOffset = current.start + current.received
      if (header.offset !== expectedOffset) {
        return failStream(current, integrity(`offset ${header.offset}, expected ${expectedOffset}`))
      }
      if (header.file_size !== undefined) {
        if (header.file_size < 0) return failStream(current, integrity("file_size is negative"))
        if (current.fileSize !== undefined && header.file_size !== current.fileSize) {
          return failStream(current, integrity("file_size changed within the stream"))
        }
        if (fileSize !== undefined && header.file_size !== fileSize) {
          return failStream(current, integrity("file_size differs from the size announced before"))
        }
        current.fileSize = header.file_size
        fileSize = header.file_size
      }
      const size = current.fileSize ?? fileSize
      if (size !== undefined && header.offset + header.chunk_size > size) {
        return failStream(current, integrity("a chunk goes past file_size"))
      }
      if (header.chunk_size > 0) {
        current.awaited = header.chunk_size
        current.terminal = terminal ? header : undefined
        // A terminal header with a chunk is finished by its binary frame; the handler is done already.
        return terminal
      }
      if (terminal) finish(current, header)
      return terminal
    }

    /**
     * A header after the download ended. A stream that started only after it ended (its request was
     * already sent) is stopped, so that the server does not send the whole file for nothing.
     */
    const late = (current: Attempt, payload: { readonly [key: string]: unknown }): Step => {
      const id = payload["transfer_id"]
      const status = payload["status"]
      if (current.started || typeof id !== "string" || (status !== undefined && status !== 0)) return true
      current.started = true
      return Effect.as(current.channel.stopQuietly(id), true)
    }

    /** The stream's data: hashed, counted and offered to the consumer. */
    const onBinary = (current: Attempt, bytes: Uint8Array): Effect.Effect<void> | undefined => {
      if (current.awaited === 0 || phase === "ended" || stoppedAt !== undefined) return undefined
      current.awaited = 0
      fileDigest?.update(bytes)
      current.rangeDigest?.update(bytes)
      current.received += bytes.byteLength
      position += bytes.byteLength
      const room = delivery.offer(bytes)
      notifyProgress()
      const terminal = current.terminal
      current.terminal = undefined
      if (room === undefined) {
        if (terminal !== undefined) finish(current, terminal)
        return undefined
      }
      return terminal === undefined
        ? room
        : Effect.zipRight(
            room,
            Effect.sync(() => finish(current, terminal))
          )
    }

    const onFail = (current: Attempt, error: ClientError.CallError): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (current.over || phase === "ended" || attempt !== current) return Effect.void
        current.over = true
        if (phase === "stopping") return Effect.sync(markStopped)
        if (host.reconnects && isConnectionLoss(error)) {
          phase = "reconnecting"
          return reconnect(current.channel)
        }
        end(Exit.fail(error))
        // An idle timeout (or a bad answer) leaves the stream running on the server: it is stopped (§4.5).
        return current.started && current.transferId !== undefined
          ? current.channel.stopQuietly(current.transferId)
          : Effect.void
      })

    const restartRequest = (): StreamRequest => ({ _tag: "TransferFile", filename, offset: position })

    /** After a dropped connection: the next session continues the download from the bytes held. */
    const reconnect = (dead: Channel): Effect.Effect<void> =>
      Effect.flatMap(
        Effect.forkIn(
          host.nextChannel(dead).pipe(
            Effect.flatMap((channel) =>
              Effect.suspend(() => {
                if (phase !== "reconnecting") return Effect.void
                phase = "running"
                return Option.isSome(pendingToken)
                  ? launch({ _tag: "ResumeFileTransfer", transferId, resumeToken: pendingToken.value }, channel, true)
                  : launch(restartRequest(), channel)
              })
            ),
            Effect.catchAll((error) => Effect.sync(() => end(Exit.fail(error))))
          ),
          scope
        ),
        (fiber) =>
          Effect.sync(() => {
            resumer = fiber
          })
      )

    /** Sends `next` on `channel` as the download's current stream. */
    const launch = (next: StreamRequest, channel: Channel, retry = false): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (phase === "ended") return Effect.void
        const current: Attempt = {
          channel,
          request: next,
          usecase: next._tag === "TransferFile" ? Usecase.TransferFile.name : Usecase.ResumeFileTransfer.name,
          retry,
          start: position,
          // From offset 0 the range is the whole file: one digest serves both checks.
          rangeDigest: position === 0 && fileDigest !== undefined ? undefined : Crypto.createHash("sha256"),
          received: 0,
          transferId: undefined,
          fileSize: undefined,
          terminal: undefined,
          awaited: 0,
          started: false,
          over: false
        }
        attempt = current
        const handler: StreamHandler = {
          onHeader: (payload) => onHeader(current, payload),
          onBinary: (bytes) => onBinary(current, bytes),
          fail: (error) => onFail(current, error)
        }
        return Effect.catchAll(channel.open(next, handler), (error) => onFail(current, error))
      })

    const settled = (ended: Download.Outcome): Option.Option<Download.Stopped> =>
      ended._tag === "Completed" ? Option.none() : Option.some(ended)

    const stop = (options?: { readonly issueToken?: boolean | undefined }) =>
      Effect.suspend((): Effect.Effect<Option.Option<Download.Stopped>, ClientError.TransferError> => {
        if (phase === "ended" || phase === "stopping") return Effect.map(Deferred.await(outcome), settled)
        const current = attempt
        if (phase === "reconnecting" || current === undefined || current.transferId === undefined) {
          // No stream runs on the server: the download stops where it is.
          const interruptResumer = resumer === undefined ? Effect.void : Fiber.interrupt(resumer)
          stoppedAt = position
          const result = stoppedOutcome(Option.none())
          end(Exit.succeed(result))
          return Effect.as(interruptResumer, Option.some(result))
        }
        const running = current.transferId
        // Only the pairs in flight remain: unbounded, so that a consumer stopping from its own fiber
        // cannot block the receive loop that must read the answer.
        phase = "stopping"
        delivery.unbound()
        return Effect.gen(function* () {
          const waiter = yield* Deferred.make<void>()
          stopWaiter = waiter
          if (stoppedAt !== undefined) yield* Deferred.succeed(waiter, undefined)
          const answer = yield* Effect.either(
            Effect.flatMap(current.channel.stop(running, options?.issueToken === true), (token) =>
              checkReceivedToken(token, options?.issueToken === true)
            )
          )
          // The stream's own end decides: its 308 ending (stopped), a completion (the stop lost), a failure.
          yield* Effect.raceFirst(Deferred.await(waiter), Effect.exit(Deferred.await(outcome)))
          if (phase === "ended") return yield* Effect.map(Deferred.await(outcome), settled)
          const result = stoppedOutcome(Either.getOrElse(answer, () => Option.none()))
          end(Exit.succeed(result))
          // The answer's failure matters only when it is not explained by the ending (a 308 answer, a lost connection).
          if (Either.isLeft(answer) && answer.left._tag !== "StatusError" && !isConnectionLoss(answer.left)) {
            return yield* Effect.fail(answer.left)
          }
          return Option.some(result)
        })
      })

    const progress: Stream.Stream<Download.Progress> = Stream.suspend(() => {
      let emitted: Download.Progress | undefined
      let finished = false
      const changed = Effect.async<void>((resume) => {
        const wake = () => resume(Effect.void)
        progressWaiters.push(wake)
        return Effect.sync(() => {
          progressWaiters = progressWaiters.filter((waiter) => waiter !== wake)
        })
      })
      const pull = (): Effect.Effect<Download.Progress, Option.Option<never>> =>
        Effect.suspend(() => {
          if (finished) return Effect.fail(Option.none())
          const over = phase === "ended" || stoppedAt !== undefined
          if (
            emitted === undefined ||
            emitted.position !== position ||
            Option.isNone(emitted.fileSize) !== (fileSize === undefined) ||
            over
          ) {
            finished = over
            emitted = progressNow()
            return Effect.succeed(emitted)
          }
          return Effect.flatMap(changed, pull)
        })
      return Stream.repeatEffectOption(pull())
    })

    // Leaving the scope early stops a stream that still runs on the server.
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        if (phase === "ended") return Effect.void
        const current = attempt
        end(Exit.fail(new ClientError.ConnectionClosed({ code: 1000, reason: "", initiator: "local" })))
        return current !== undefined && current.started && current.transferId !== undefined
          ? current.channel.stopQuietly(current.transferId)
          : Effect.void
      })
    )

    yield* host.channel.pipe(
      Effect.flatMap((channel) => launch(request, channel)),
      Effect.catchAll((error) => Effect.sync(() => end(Exit.fail(error))))
    )
    yield* Deferred.await(started)

    return {
      filename,
      bytes: Stream.repeatEffectChunkOption(delivery.take),
      progress,
      current: Effect.sync(progressNow),
      stop,
      outcome: Deferred.await(outcome)
    }
  })
