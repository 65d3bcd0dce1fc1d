/**
 * Why a Blazeauth client call failed (docs/blazeauth.md §6, client-side errors). None of these messages ever
 * contains a secret: fields holding secrets are `Redacted`, and decoding errors name only the field.
 *
 * @since 0.1.0
 */
import * as SessionError from "@protokernel/wire/SessionError"
import type * as Transport from "@protokernel/wire/Transport"
import * as Schema from "effect/Schema"
import * as CloseCode from "./CloseCode.js"
import * as Status from "./Status.js"

/**
 * The server answered with an error status. `payload` is the decoded response, so fields sent with
 * the error (license fields with 101–103, `retry_after` with 5, …) reach the caller.
 *
 * @since 0.1.0
 * @category errors
 */
export class StatusError extends Schema.TaggedError<StatusError>("@protokernel/blazeauth/StatusError")("StatusError", {
  usecase: Schema.String,
  status: Schema.typeSchema(Status.Status),
  payload: Schema.Unknown
}) {
  /** Whether the status has this name. */
  is(name: Status.Name): boolean {
    return this.status.name === name
  }

  override get message(): string {
    return `${this.usecase} failed: ${this.status.toString()}`
  }
}

/**
 * The server broke the protocol; the client closed with 1002 and every pending call failed. Terminal.
 *
 * @since 0.1.0
 * @category errors
 */
export class ProtocolViolation extends Schema.TaggedError<ProtocolViolation>(
  "@protokernel/blazeauth/ProtocolViolation"
)("ProtocolViolation", { detail: Schema.String }) {
  override get message(): string {
    return `protocol violation: ${this.detail}`
  }
}

/**
 * The server sent a text message larger than `limit` bytes (`Options.maxTextMessageBytes`); the client
 * closed with 1009 and every pending call failed. Terminal, like a protocol violation.
 *
 * @since 0.1.0
 * @category errors
 */
export class MessageTooBig extends Schema.TaggedError<MessageTooBig>("@protokernel/blazeauth/MessageTooBig")(
  "MessageTooBig",
  { bytes: Schema.Number, limit: Schema.Number }
) {
  override get message(): string {
    return `message too big: a text message of ${this.bytes} bytes, the client limit is ${this.limit}`
  }
}

/**
 * A response that matched a call had a field of the wrong type, out of range, or missing although
 * the status requires it. Only that call fails.
 *
 * @since 0.1.0
 * @category errors
 */
export class MalformedResponse extends Schema.TaggedError<MalformedResponse>(
  "@protokernel/blazeauth/MalformedResponse"
)("MalformedResponse", { usecase: Schema.String, detail: Schema.String }) {
  override get message(): string {
    return `malformed ${this.usecase} response: ${this.detail}`
  }
}

/**
 * No response within the request timeout (a late response is dropped), or, with `idle`, a download
 * whose stream sent no data for that long (§4.5; headers without a chunk do not count).
 *
 * @since 0.1.0
 * @category errors
 */
export class Timeout extends Schema.TaggedError<Timeout>("@protokernel/blazeauth/Timeout")("Timeout", {
  usecase: Schema.String,
  millis: Schema.Number,
  idle: Schema.optional(Schema.Boolean)
}) {
  override get message(): string {
    return this.idle === true
      ? `${this.usecase}: the stream sent no data for ${this.millis} ms`
      : `${this.usecase}: no response within ${this.millis} ms`
  }
}

/**
 * A ping got no response within the ping timeout: the connection was dropped as dead. Retryable.
 *
 * @since 0.1.0
 * @category errors
 */
export class PingTimeout extends Schema.TaggedError<PingTimeout>("@protokernel/blazeauth/PingTimeout")("PingTimeout", {
  millis: Schema.Number
}) {
  override get message(): string {
    return `ping_timeout: no ping response within ${this.millis} ms`
  }
}

export {
  /**
   * The connection ended: the server closed it (its close frame came first), it was lost (1006), or
   * the client closed it for a local cause (`initiator` "local"). `isRetryable` judges it by §2.3.
   *
   * @since 0.1.0
   * @category errors
   */
  ConnectionClosed,
  /**
   * What every call fails with once the user closed the client (calls in flight at that moment too).
   *
   * @since 0.1.0
   * @category errors
   */
  ClientClosed,
  /**
   * An option the client refuses (including a `clientId` outside 4–64 characters, docs/blazeauth.md's local
   * pre-check of §3.2 #1), named by its path (e.g. `reconnect.jitter`), with why.
   *
   * @since 0.1.0
   * @category errors
   */
  InvalidOptions
} from "@protokernel/wire/SessionError"

/**
 * A call's local pre-check failed before anything was sent (a bad `transfer_id`, resume token,
 * offset or ttl).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidArgument extends Schema.TaggedError<InvalidArgument>("@protokernel/blazeauth/InvalidArgument")(
  "InvalidArgument",
  { argument: Schema.String, detail: Schema.String }
) {
  override get message(): string {
    return `invalid ${this.argument}: ${this.detail}`
  }
}

/**
 * A download's stream broke an integrity rule of §4.5 (a required header field missing, a changed
 * `transfer_id` or `file_size`, an offset other than the next expected byte, a byte count that does
 * not add up). Only that transfer fails; the connection stays open.
 *
 * @since 0.1.0
 * @category errors
 */
export class TransferIntegrityError extends Schema.TaggedError<TransferIntegrityError>(
  "@protokernel/blazeauth/TransferIntegrityError"
)("TransferIntegrityError", { filename: Schema.String, detail: Schema.String }) {
  override get message(): string {
    return `transfer_integrity_error: ${this.filename}: ${this.detail}`
  }
}

/**
 * The bytes received do not hash to the checksum the server announced: `range` for the bytes of the
 * last stream, `file` for the whole file (checked when every byte from offset 0 was received).
 *
 * @since 0.1.0
 * @category errors
 */
export class FileChecksumMismatch extends Schema.TaggedError<FileChecksumMismatch>(
  "@protokernel/blazeauth/FileChecksumMismatch"
)("FileChecksumMismatch", {
  filename: Schema.String,
  checksum: Schema.Literal("file", "range"),
  expected: Schema.String,
  actual: Schema.String
}) {
  override get message(): string {
    return `file_checksum_mismatch: ${this.filename}: ${this.checksum} checksum is ${this.actual}, the server announced ${this.expected}`
  }
}

/**
 * A download announced (`file_size`) or sent more bytes than its `maxFileBytes` allows; the stream was
 * stopped before any byte past the limit was delivered. `fileSize` is the size announced, if any.
 *
 * @since 0.1.0
 * @category errors
 */
export class FileTooLarge extends Schema.TaggedError<FileTooLarge>("@protokernel/blazeauth/FileTooLarge")(
  "FileTooLarge",
  { filename: Schema.String, fileSize: Schema.optional(Schema.Number), limit: Schema.Number }
) {
  override get message(): string {
    return this.fileSize === undefined
      ? `file too large: ${this.filename} goes past the limit of ${this.limit} bytes`
      : `file too large: ${this.filename} has ${this.fileSize} bytes, the limit is ${this.limit}`
  }
}

/**
 * Writing a downloaded file failed (temporary file, write, or the final rename). No partial file is
 * left at the destination.
 *
 * @since 0.1.0
 * @category errors
 */
export class DownloadFileError extends Schema.TaggedError<DownloadFileError>(
  "@protokernel/blazeauth/DownloadFileError"
)("DownloadFileError", { path: Schema.String, detail: Schema.String }) {
  override get message(): string {
    return `cannot write ${this.path}: ${this.detail}`
  }
}

/**
 * Any error of a download: a call error (a rejection is a `StatusError`), or a broken or corrupted
 * stream.
 *
 * @since 0.1.0
 * @category errors
 */
export type TransferError = CallError | TransferIntegrityError | FileChecksumMismatch | FileTooLarge

/**
 * Any error of a client call. `ConnectError` is why a client that could not reconnect ended.
 *
 * @since 0.1.0
 * @category errors
 */
export type CallError =
  | StatusError
  | ProtocolViolation
  | MessageTooBig
  | MalformedResponse
  | Timeout
  | PingTimeout
  | SessionError.ConnectionClosed
  | SessionError.ClientClosed
  | InvalidArgument
  | Transport.ConnectError

/**
 * Any error of the client: a call error, or options it refuses.
 *
 * @since 0.1.0
 * @category errors
 */
export type BlazeauthError = CallError | SessionError.InvalidOptions

/**
 * Whether a reconnecting client tries again after this error ended a connection (§2.3): a close
 * the server started with a retryable code, a lost connection, a ping timeout, a failed connect.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryable = (error: BlazeauthError): boolean => {
  switch (error._tag) {
    case "ConnectionClosed":
      return error.initiator === "remote" && CloseCode.isRetryable(error.code)
    case "PingTimeout":
    case "ConnectError":
      return true
    default:
      return false
  }
}
