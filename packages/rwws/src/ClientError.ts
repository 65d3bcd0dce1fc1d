/**
 * Why an rwws client call or connection failed, and whether reconnecting can help.
 *
 * @since 0.1.0
 */
import { ClientClosed, ConnectionClosed, InvalidOptions } from "@protokernel/wire/SessionError"
import type * as Transport from "@protokernel/wire/Transport"
import * as Schema from "effect/Schema"
import type { InvalidAccessKey } from "./AccessKey.js"
import * as CloseCode from "./CloseCode.js"
import type { PacketError } from "./PacketError.js"

/**
 * The errors every protocol's client shares: a closed connection (`initiator` says which side
 * closed), a client its owner closed, options the client refuses.
 *
 * @since 0.1.0
 * @category errors
 */
export { ClientClosed, ConnectionClosed, InvalidOptions } from "@protokernel/wire/SessionError"

/**
 * The first message was not the `6d 73` hello: the URL is not an rwws endpoint. Fatal.
 *
 * @since 0.1.0
 * @category errors
 */
export class BadHello extends Schema.TaggedError<BadHello>("@protokernel/rwws/BadHello")("BadHello", {
  /** What arrived instead, as hex (binary) or `text(<length>)`, cut to 32 bytes. */
  received: Schema.String
}) {
  override get message(): string {
    return `bad_hello: expected 6d 73, received ${this.received}`
  }
}

/**
 * The server answered the authentication with something other than a Pong. Retried.
 *
 * @since 0.1.0
 * @category errors
 */
export class ProtocolViolation extends Schema.TaggedError<ProtocolViolation>("@protokernel/rwws/ProtocolViolation")(
  "ProtocolViolation",
  { detail: Schema.String }
) {
  override get message(): string {
    return `protocol violation: ${this.detail}`
  }
}

/**
 * No hello, no authentication Pong, or no Pong for a Ping in time. Retried.
 *
 * @since 0.1.0
 * @category errors
 */
export class Timeout extends Schema.TaggedError<Timeout>("@protokernel/rwws/Timeout")("Timeout", {
  phase: Schema.Literal("hello", "auth", "pong"),
  millis: Schema.Number
}) {
  override get message(): string {
    return `${this.phase} timeout after ${this.millis} ms`
  }
}

/**
 * Why a connection ended, or why a call on a running client failed.
 *
 * @since 0.1.0
 * @category errors
 */
export type ConnectionError =
  ConnectionClosed | BadHello | ProtocolViolation | Timeout | ClientClosed | Transport.ConnectError

/**
 * Everything an rwws client can fail with, starting one included.
 *
 * @since 0.1.0
 * @category errors
 */
export type RwwsError = ConnectionError | InvalidOptions | InvalidAccessKey | PacketError

/**
 * Whether reconnecting may help (docs/rwws.md §5 and §6 step 7): server closes by their code, local causes by
 * their kind; a refused connection is treated like a lost one.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryable = (error: ConnectionError): boolean => {
  switch (error._tag) {
    case "ConnectionClosed":
      return CloseCode.isRetryable(error.code)
    case "ProtocolViolation":
    case "Timeout":
    case "ConnectError":
      return true
    default:
      return false
  }
}

/**
 * A close the client received, as an error.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromCloseError = (error: Transport.CloseError): ConnectionClosed =>
  new ConnectionClosed({ code: error.code, reason: error.reason, initiator: error.initiator })
