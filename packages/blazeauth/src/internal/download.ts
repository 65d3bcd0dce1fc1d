/**
 * Downloads (docs/blazeauth.md §4.5), as the client drives them: the types the client lends a download (its
 * connections, and the handler it registers per stream request) and the constructors `start` and
 * `resume`. The parts live in `download/`: the delivery queue, the progress listeners, the state
 * record, the streams' state machine, the stop, and the continuation on the next session.
 *
 * The receive loop calls a handler's `onHeader` and `onBinary` synchronously; `onBinary` returns an
 * Effect only when the consumer's buffer is full, and the loop (and so the socket) waits on it: that
 * is the backpressure.
 */
import type * as Crypto from "node:crypto"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as ClientError from "../ClientError.js"
import type * as Download from "../Download.js"
import * as Transfer from "../Transfer.js"
import * as Continuation from "./download/continuation.js"
import * as Delivery from "./download/delivery.js"
import * as Progress from "./download/progress.js"
import { conclude, isFinal, progressOf, type State } from "./download/state.js"
import { stop } from "./download/stop.js"
import { launch } from "./download/stream.js"

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
export type Done = boolean | Effect.Effect<boolean>

/** The receiving end of one stream request, registered under its id on one connection. */
export interface StreamHandler {
  /** A type-8 header for the request; returns whether the stream is over for this handler. */
  readonly onHeader: (payload: { readonly [key: string]: unknown }) => Done
  /** The binary frame bound by the last header; an Effect only when the consumer's buffer is full. */
  readonly onBinary: (bytes: Uint8Array) => Effect.Effect<void> | undefined
  /** The request ended without a terminal header: connection lost, timeout, bad response. */
  readonly fail: (error: ClientError.CallError) => Effect.Effect<void>
}

/** One connection's session, as a download uses it. */
export interface Connection {
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

/** The client's connections, as a download uses them. */
export interface Connections {
  readonly bufferBytes: number
  /** Whether a dropped connection is followed by the next session (the client reconnects). */
  readonly reconnects: boolean
  /** The current connection, or the next one within the request timeout. */
  readonly current: Effect.Effect<Connection, ClientError.CallError>
  /** The connection after `dead` dropped; fails once the client gives up. */
  readonly next: (dead: Connection) => Effect.Effect<Connection, ClientError.CallError>
}

const invalid = (argument: string) => (detail: string) => new ClientError.InvalidArgument({ argument, detail })

/** The §6 pre-checks of a stored resume: identifiers the server could never have issued are refused locally. */
const checkResume = (stopped: Download.Stopped): Either.Either<void, ClientError.InvalidArgument> =>
  Transfer.checkTransferId(stopped.transferId).pipe(
    Either.mapLeft(invalid("transferId")),
    Either.flatMap(() =>
      Option.isSome(stopped.resumeToken)
        ? Either.mapLeft(Transfer.checkResumeToken(Redacted.value(stopped.resumeToken.value)), invalid("resumeToken"))
        : Either.right("")
    ),
    Either.flatMap(() => Either.mapLeft(Transfer.checkOffset(stopped.offset), invalid("offset"))),
    Either.map(() => undefined)
  )

/** What a download holds before its first stream: the bytes up to `offset`, the size known, the whole-file digest so far. */
interface Held {
  readonly filename: string
  readonly offset: number
  readonly fileSize: number | undefined
  readonly fileDigest: Crypto.Hash | undefined
  readonly maxFileBytes: number
}

/**
 * Starts a download from `options.offset` (default 0): sends `transfer_file`, and succeeds once the
 * first header arrived (a rejection fails). The download's scope ends it: a stream still running is
 * stopped.
 */
export const start = (
  connections: Connections,
  filename: string,
  options?: Download.Options | undefined
): Effect.Effect<Download.Download, ClientError.TransferError, Scope.Scope> =>
  Effect.suspend(() => {
    const offset = options?.offset ?? 0
    const maxFileBytes = options?.maxFileBytes ?? Number.POSITIVE_INFINITY
    const checked = Either.mapLeft(Transfer.checkOffset(offset), invalid("offset")).pipe(
      Either.flatMap(() =>
        maxFileBytes === Number.POSITIVE_INFINITY
          ? Either.right(maxFileBytes)
          : Either.mapLeft(Transfer.checkOffset(maxFileBytes), invalid("maxFileBytes"))
      )
    )
    return Either.match(checked, {
      onLeft: Effect.fail,
      onRight: () =>
        run(
          connections,
          { filename, offset, fileSize: undefined, fileDigest: Continuation.fresh(offset), maxFileBytes },
          { _tag: "TransferFile", filename, offset }
        )
    })
  })

/** Resumes a stopped download: `resume_file_transfer` with its token, or `transfer_file` from its offset. */
export const resume = (
  connections: Connections,
  stopped: Download.Stopped
): Effect.Effect<Download.Download, ClientError.TransferError, Scope.Scope> =>
  Effect.flatMap(checkResume(stopped), () =>
    run(
      connections,
      {
        filename: stopped.filename,
        offset: stopped.offset,
        fileSize: Option.getOrUndefined(stopped.fileSize),
        fileDigest: Continuation.fileDigest(stopped.continuation),
        maxFileBytes: Number.POSITIVE_INFINITY
      },
      Option.match(stopped.resumeToken, {
        onNone: () => ({ _tag: "TransferFile", filename: stopped.filename, offset: stopped.offset }),
        onSome: (resumeToken) => ({ _tag: "ResumeFileTransfer", transferId: stopped.transferId, resumeToken })
      })
    )
  )

/** Leaving the scope early stops a stream that still runs on the server. */
const release = (state: State): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (state.phase === "concluded") return Effect.void
    const segment = state.segment
    conclude(state, Exit.fail(new ClientError.ConnectionClosed({ code: 1000, reason: "", initiator: "local" })))
    return segment !== undefined && segment.started && segment.transferId !== undefined
      ? segment.connection.stopQuietly(segment.transferId)
      : Effect.void
  })

const run = (
  connections: Connections,
  held: Held,
  request: StreamRequest
): Effect.Effect<Download.Download, ClientError.TransferError, Scope.Scope> =>
  Effect.gen(function* () {
    const state: State = {
      filename: held.filename,
      connections,
      delivery: Delivery.make(connections.bufferBytes),
      progress: Progress.make(),
      outcome: yield* Deferred.make<Download.Outcome, ClientError.TransferError>(),
      started: yield* Deferred.make<void, ClientError.TransferError>(),
      scope: yield* Effect.scope,
      fileDigest: held.fileDigest,
      maxFileBytes: held.maxFileBytes,
      phase: "running",
      position: held.offset,
      fileSize: held.fileSize,
      fileChecksum: undefined,
      transferId: request._tag === "ResumeFileTransfer" ? request.transferId : "",
      pendingToken: request._tag === "ResumeFileTransfer" ? Option.some(request.resumeToken) : Option.none(),
      segment: undefined,
      stoppedAt: undefined,
      stopWaiter: undefined,
      resumer: undefined
    }
    yield* Effect.addFinalizer(() => release(state))
    yield* connections.current.pipe(
      Effect.flatMap((connection) => launch(state, request, connection)),
      Effect.catchAll((error) => Effect.sync(() => conclude(state, Exit.fail(error))))
    )
    yield* Deferred.await(state.started)
    return {
      filename: state.filename,
      bytes: Stream.repeatEffectChunkOption(state.delivery.take),
      progress: Progress.stream(
        state.progress,
        () => progressOf(state),
        () => isFinal(state)
      ),
      current: Effect.sync(() => progressOf(state)),
      stop: (options) => stop(state, options),
      outcome: Deferred.await(state.outcome)
    }
  })
