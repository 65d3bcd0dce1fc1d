/**
 * Downloads (docs/blazeauth.md §4): a protected file streamed by the server as header + binary pairs, verified
 * with SHA-256, stoppable with a resume token, and resumed across dropped connections.
 *
 * A `Download` is started by `BlazeauthClient.startDownload` (or `resume`) once the server's first
 * header has arrived, so a rejection fails the start with its `StatusError`. Its `bytes` flow with
 * backpressure: the client buffers at most `Options.downloadBufferBytes` and stops reading the socket
 * while that buffer is full. `bytes` ends after the last chunk has been verified; until then, bytes
 * already emitted are unverified.
 *
 * The connection is shared: while a download's buffer is full, nothing else is read from it either
 * (responses, events, other streams). Consume `bytes`, or leave the download's scope, which stops the
 * stream. Timeouts (ping, request, idle) do not count the time the client waits for its consumer.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import type * as Stream from "effect/Stream"
import type * as ClientError from "./ClientError.js"

/**
 * Where a download stands.
 *
 * @since 0.1.0
 * @category models
 */
export interface Progress {
  readonly filename: string
  /** Bytes of the file held, counted from offset 0: a download from offset `s` starts at `s`. */
  readonly position: number
  /** The file's size, once a header has announced it. */
  readonly fileSize: Option.Option<number>
  /** Lowercase hex SHA-256 of the whole file, once the download completed and was verified. */
  readonly fileChecksum: Option.Option<string>
}

/**
 * Options of a download.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** First byte to download (default 0). Only a download from 0 can check the whole file's checksum. */
  readonly offset?: number | undefined
  /**
   * The largest file accepted, in bytes. A header announcing a larger `file_size`, or a chunk that
   * would go past the limit, fails the download with `FileTooLarge` before any of its bytes is
   * delivered, and the stream is stopped. Default unlimited: the caller knows what size to expect
   * (`getFileMetadata`), the client does not.
   */
  readonly maxFileBytes?: number | undefined
}

/**
 * A download that ended with every byte received and verified.
 *
 * @since 0.1.0
 * @category models
 */
export interface Completed {
  readonly _tag: "Completed"
  readonly filename: string
  readonly fileSize: number
  /** Lowercase hex SHA-256 of the whole file, as the server announced it. */
  readonly fileChecksum: string
  /** `file` when the client hashed every byte from offset 0; `range` when it started later. */
  readonly verified: "file" | "range"
}

/**
 * The type id of `Continuation`.
 *
 * @since 0.1.0
 * @category type ids
 */
export const ContinuationTypeId: unique symbol = Symbol.for("@protokernel/blazeauth/Download/Continuation")

/**
 * The type id of `Continuation`.
 *
 * @since 0.1.0
 * @category type ids
 */
export type ContinuationTypeId = typeof ContinuationTypeId

/**
 * Where the hashing of a stopped download stands: carried to its resumption, so that the whole file
 * is still verified. Opaque; empty when the stop is rebuilt from stored parts.
 *
 * @since 0.1.0
 * @category models
 */
export interface Continuation {
  readonly [ContinuationTypeId]: ContinuationTypeId
}

const empty: Continuation = { [ContinuationTypeId]: ContinuationTypeId }

/**
 * A download stopped at `offset` (the first byte not received). `resume` continues it: with the
 * token when there is one, otherwise by asking for the file again from `offset`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stopped {
  readonly _tag: "Stopped"
  readonly filename: string
  readonly transferId: string
  readonly offset: number
  readonly fileSize: Option.Option<number>
  readonly resumeToken: Option.Option<Redacted.Redacted<string>>
  readonly continuation: Continuation
}

/**
 * How a download ended.
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome = Completed | Stopped

/**
 * Rebuilds a stopped download from stored parts (for example a token kept across a restart). Its
 * resumption verifies the range it receives, not the whole file.
 *
 * @since 0.1.0
 * @category constructors
 */
export const stopped = (parts: {
  readonly filename: string
  readonly transferId: string
  readonly offset: number
  readonly resumeToken?: Redacted.Redacted<string> | undefined
  readonly fileSize?: number | undefined
}): Stopped => ({
  _tag: "Stopped",
  filename: parts.filename,
  transferId: parts.transferId,
  offset: parts.offset,
  fileSize: Option.fromNullable(parts.fileSize),
  resumeToken: Option.fromNullable(parts.resumeToken),
  continuation: empty
})

/**
 * A running download.
 *
 * @since 0.1.0
 * @category models
 */
export interface Download {
  readonly filename: string
  /**
   * The file's bytes from the start offset, in order. Run it once: it takes the bytes from the buffer,
   * and a second run sees only what the first left. Ends after the last chunk is
   * verified, or after the chunks still in flight when `stop` took effect; fails with the transfer's
   * error.
   */
  readonly bytes: Stream.Stream<Uint8Array, ClientError.TransferError>
  /** The progress now. */
  readonly current: Effect.Effect<Progress>
  /** The current progress, then every change (bytes received, not yet consumed); ends with the download. */
  readonly progress: Stream.Stream<Progress>
  /**
   * Stops the stream (§4.6) and waits for both the stop's response and the stream's ending, in
   * either order. `None`: the stream completed before the stop took effect. Chunks in flight are still
   * delivered by `bytes`.
   */
  readonly stop: (options?: {
    readonly issueToken?: boolean | undefined
  }) => Effect.Effect<Option.Option<Stopped>, ClientError.TransferError>
  /** Waits for the end of the download (it does not consume `bytes`). */
  readonly outcome: Effect.Effect<Outcome, ClientError.TransferError>
}
