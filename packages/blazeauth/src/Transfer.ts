/**
 * The file transfer rules both sides agree on (docs/blazeauth.md §4.3–§4.8), as pure total functions: identifier
 * limits, the kinds of stream header, how a stream is cut into chunks, and the checks a receiver makes
 * on each header and on the terminal one. The client's downloads judge what they receive with them;
 * a server builds its headers with them.
 *
 * Nothing here runs an Effect or hashes: checksums come in as hex strings.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Field from "./Field.js"
import * as Status from "./Status.js"
import type * as Usecase from "./Usecase.js"

/**
 * A stream header as decoded (§4.3).
 *
 * @since 0.1.0
 * @category models
 */
export type Header = typeof Usecase.TransferHeader.Type

/**
 * The longest `transfer_id` a client accepts or sends, in characters (§4.4 rule 6).
 *
 * @since 0.1.0
 * @category constants
 */
export const transferIdLimit = 128

/**
 * The longest resume token a client accepts or sends, in characters (§4.8).
 *
 * @since 0.1.0
 * @category constants
 */
export const resumeTokenLimit = 512

/**
 * The chunk size a server sends by default (§4.4 rule 2, §8).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultChunkSize = 64 * 1024

/**
 * The largest `chunk_size` a client accepts by default; above it a header is a protocol violation (§4.5, §8).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultChunkLimit = 16 * 1024 * 1024

/**
 * The SHA-256 of no bytes: the range checksum of a stream with nothing to send (§4.4 rule 2).
 *
 * @since 0.1.0
 * @category constants
 */
export const emptyChecksum = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

const characters = (text: string, limit: number): Either.Either<string, string> => {
  const length = Field.length(text)
  return length >= 1 && length <= limit
    ? Either.right(text)
    : Either.left(`must have 1 to ${limit} characters, has ${length}`)
}

/**
 * A `transfer_id` within 1..128 characters, or why not.
 *
 * @since 0.1.0
 * @category identifiers
 */
export const checkTransferId = (transferId: string): Either.Either<string, string> =>
  characters(transferId, transferIdLimit)

/**
 * A resume token within 1..512 characters, or why not.
 *
 * @since 0.1.0
 * @category identifiers
 */
export const checkResumeToken = (token: string): Either.Either<string, string> => characters(token, resumeTokenLimit)

/**
 * An offset or a byte count: a safe integer ≥ 0, or why not.
 *
 * @since 0.1.0
 * @category identifiers
 */
export const checkOffset = (offset: number): Either.Either<number, string> =>
  Number.isSafeInteger(offset) && offset >= 0 ? Either.right(offset) : Either.left("must be an integer ≥ 0")

// ---- header kinds ------------------------------------------------------------------------------------

/**
 * What a header means for its stream (§4.3, §4.5): more to come, the stream complete, the stream
 * ended early with an error, or a rejection (an error ending that is the stream's first header).
 *
 * @since 0.1.0
 * @category models
 */
export type Kind =
  | { readonly _tag: "Intermediate" }
  | { readonly _tag: "Complete" }
  | { readonly _tag: "Ended"; readonly status: Status.Status }
  | { readonly _tag: "Rejected"; readonly status: Status.Status }

const intermediate: Kind = { _tag: "Intermediate" }
const complete: Kind = { _tag: "Complete" }

/**
 * The kind of a header: `status` absent or 0 is intermediate, 1 complete, anything else an early
 * ending, or a rejection when `first`.
 *
 * @since 0.1.0
 * @category header kinds
 */
export const kindOf = (status: Status.Status | undefined, first: boolean): Kind => {
  if (status === undefined || status.code === Status.codes.none) return intermediate
  if (status.code === Status.codes.ok) return complete
  return first ? { _tag: "Rejected", status } : { _tag: "Ended", status }
}

/**
 * Whether a header ends its stream (`status` present and not 0).
 *
 * @since 0.1.0
 * @category header kinds
 */
export const isTerminal = (header: Pick<Header, "status">): boolean =>
  header.status !== undefined && header.status.code !== Status.codes.none

/**
 * The length of the chunk that starts at `next` of a file of `fileSize` bytes cut into `chunkSize`
 * chunks (§4.4 rule 2): 0 once nothing is left.
 *
 * @since 0.1.0
 * @category chunking
 */
export const chunkLength = (chunkSize: number, fileSize: number, next: number): number =>
  Math.max(0, Math.min(chunkSize, fileSize - next))

/**
 * The checksums of a completed stream: the whole file's, and that of the range it carried.
 *
 * @since 0.1.0
 * @category models
 */
export interface Checksums {
  readonly file: string
  readonly range: string
}

/**
 * A chunk header (§4.4 rule 2): `fileSize` on the stream's first header only, `checksums` when it
 * carries the last chunk (status 1), or when it is the separate terminal header of `chunkSize` 0.
 *
 * @since 0.1.0
 * @category headers
 */
export const chunk = (fields: {
  readonly id: Header["id"]
  readonly transferId: string
  readonly offset: number
  readonly chunkSize: number
  readonly fileSize?: number | undefined
  readonly checksums?: Checksums | undefined
}): Header => ({
  id: fields.id,
  transfer_id: fields.transferId,
  binary_data: true,
  chunk_size: fields.chunkSize,
  offset: fields.offset,
  ...(fields.fileSize === undefined ? {} : { file_size: fields.fileSize }),
  ...(fields.checksums === undefined
    ? {}
    : { status: Status.make("ok"), file_checksum: fields.checksums.file, range_checksum: fields.checksums.range })
})

/**
 * An error ending (§4.4 rules 3 and 4): `chunk_size` 0, no `file_size`, no checksums. `offset` is the
 * requested offset for a rejection, the first unsent byte for a stream ended early.
 *
 * @since 0.1.0
 * @category headers
 */
export const ending = (fields: {
  readonly id: Header["id"]
  readonly transferId: string
  readonly offset: number
  readonly status: Status.Status
}): Header => ({
  id: fields.id,
  transfer_id: fields.transferId,
  binary_data: true,
  chunk_size: 0,
  offset: fields.offset,
  status: fields.status
})

// ---- the receiver's checks -----------------------------------------------------------------------------

/**
 * Why a received stream cannot be trusted (§4.5): a broken stream (`Integrity`), a header field of
 * the wrong type or out of range (`Malformed`), or bytes that do not hash to an announced checksum.
 *
 * @since 0.1.0
 * @category models
 */
export type Violation =
  | { readonly _tag: "Integrity"; readonly detail: string }
  | { readonly _tag: "Malformed"; readonly detail: string }
  | {
      readonly _tag: "Mismatch"
      readonly checksum: "file" | "range"
      readonly expected: string
      readonly actual: string
    }

const integrity = (detail: string): Either.Either<never, Violation> => Either.left({ _tag: "Integrity", detail })

/**
 * The required header fields that decoding cannot tell missing from wrong (§4.5 "Header fields"): a
 * missing `transfer_id` or `offset` breaks the stream, whatever else the header holds.
 *
 * @since 0.1.0
 * @category receiving
 */
export const checkPresent = (payload: { readonly [key: string]: unknown }): Either.Either<void, Violation> => {
  if (payload["transfer_id"] === undefined) return integrity("transfer_id is missing")
  if (payload["offset"] === undefined) return integrity("offset is missing")
  return Either.void
}

/**
 * What a receiver knows of one stream before its next header.
 *
 * @since 0.1.0
 * @category models
 */
export interface Expected {
  /** The stream's `transfer_id`: the one resumed before the first header, then the first header's. */
  readonly transferId: string | undefined
  /** Whether no header of the stream has been accepted yet. */
  readonly first: boolean
  /** The offset the header must carry: the stream's start plus the bytes received. */
  readonly offset: number
  /** The size this stream announced. */
  readonly fileSize: number | undefined
  /** The size announced before this stream (by an earlier stream of the same download). */
  readonly knownSize: number | undefined
}

/**
 * A received `transfer_id` outside 1..128 characters makes its header malformed (§4.4 rule 6).
 *
 * @since 0.1.0
 * @category receiving
 */
export const checkReceivedId = (header: Pick<Header, "transfer_id">): Either.Either<void, Violation> =>
  Either.isLeft(checkTransferId(header.transfer_id))
    ? Either.left({ _tag: "Malformed", detail: `["transfer_id"]: must have 1 to ${transferIdLimit} characters` })
    : Either.void

/**
 * Checks that a header belongs to its stream: a resumed stream keeps the resumed `transfer_id`, and
 * no stream changes it.
 *
 * @since 0.1.0
 * @category receiving
 */
export const checkIdentity = (
  expected: Pick<Expected, "transferId" | "first">,
  header: Pick<Header, "transfer_id">
): Either.Either<void, Violation> => {
  if (expected.transferId === undefined || header.transfer_id === expected.transferId) return Either.void
  return integrity(
    expected.first ? "the resumed stream has another transfer_id" : "transfer_id changed within the stream"
  )
}

/**
 * Checks a header that is not a rejection against its stream (§4.5 "Integrity"): the same
 * `transfer_id`, the expected offset, one `file_size`, and no chunk past it. Succeeds with the file
 * size known after it.
 *
 * @since 0.1.0
 * @category receiving
 */
export const checkHeader = (expected: Expected, header: Header): Either.Either<number | undefined, Violation> => {
  const identity = checkIdentity(expected, header)
  if (Either.isLeft(identity)) return Either.left(identity.left)
  if (header.offset !== expected.offset) return integrity(`offset ${header.offset}, expected ${expected.offset}`)
  let size = expected.fileSize ?? expected.knownSize
  if (header.file_size !== undefined) {
    if (header.file_size < 0) return integrity("file_size is negative")
    if (expected.fileSize !== undefined && header.file_size !== expected.fileSize) {
      return integrity("file_size changed within the stream")
    }
    if (expected.knownSize !== undefined && header.file_size !== expected.knownSize) {
      return integrity("file_size differs from the size announced before")
    }
    size = header.file_size
  }
  if (size !== undefined && header.offset + header.chunk_size > size) return integrity("a chunk goes past file_size")
  return Either.right(size)
}

/**
 * A stream whose terminal status-1 header (and its chunk) arrived, as the receiver counted and
 * hashed it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Received {
  readonly start: number
  readonly received: number
  /** The size this stream announced. */
  readonly fileSize: number | undefined
  /** Hex SHA-256 of the bytes from `start`. */
  readonly range: string
  /** Hex SHA-256 of the whole file, when the receiver holds every byte from 0. */
  readonly file: string | undefined
}

/**
 * What a verified completion establishes.
 *
 * @since 0.1.0
 * @category models
 */
export interface Verified {
  readonly fileSize: number
  /** Lowercase hex SHA-256 of the whole file, as announced. */
  readonly fileChecksum: string
  /** `file` when the whole file was hashed, `range` otherwise. */
  readonly verified: "file" | "range"
}

/**
 * Checks a completed stream (§4.5): `file_size` announced, every byte of the range received, both
 * checksums present, and the range (and the whole file, when held from 0) hashing to them. Hex is
 * compared case-insensitively.
 *
 * @since 0.1.0
 * @category receiving
 */
export const checkCompletion = (
  stream: Received,
  header: Pick<Header, "file_checksum" | "range_checksum">
): Either.Either<Verified, Violation> => {
  if (stream.fileSize === undefined) return integrity("file_size was never announced")
  const expected = stream.fileSize - stream.start
  if (stream.received !== expected) {
    return integrity(`received ${stream.received} bytes from offset ${stream.start}, expected ${expected}`)
  }
  if (header.file_checksum === undefined) return integrity("file_checksum is missing")
  if (header.range_checksum === undefined) return integrity("range_checksum is missing")
  if (stream.range !== header.range_checksum.toLowerCase()) {
    return Either.left({ _tag: "Mismatch", checksum: "range", expected: header.range_checksum, actual: stream.range })
  }
  const fileChecksum = header.file_checksum.toLowerCase()
  if (stream.file !== undefined && stream.file !== fileChecksum) {
    return Either.left({ _tag: "Mismatch", checksum: "file", expected: header.file_checksum, actual: stream.file })
  }
  return Either.right({
    fileSize: stream.fileSize,
    fileChecksum,
    verified: stream.file === undefined ? "range" : "file"
  })
}
