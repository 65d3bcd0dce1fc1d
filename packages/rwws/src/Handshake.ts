/**
 * The handshake: the server's two-byte hello, then the client's authentication message
 * `b6 c4 <version> <length> <key>`, checked in the order of docs/rwws.md (§2.3).
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as CloseCode from "./CloseCode.js"

/**
 * The server hello, ASCII "ms".
 *
 * @since 0.1.0
 * @category constants
 */
export const hello: Uint8Array = Uint8Array.of(0x6d, 0x73)

/**
 * The authentication magic.
 *
 * @since 0.1.0
 * @category constants
 */
export const magic = [0xb6, 0xc4] as const

/**
 * The protocol version this side speaks.
 *
 * @since 0.1.0
 * @category constants
 */
export const version = 0

/**
 * Whether a message is exactly the hello.
 *
 * @since 0.1.0
 * @category decoding
 */
export const isHello = (frame: string | Uint8Array): boolean =>
  typeof frame !== "string" && frame.length === 2 && frame[0] === hello[0] && frame[1] === hello[1]

/**
 * The authentication message for a raw key of 1..127 bytes.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeAuth = (key: Uint8Array): Uint8Array => {
  const bytes = new Uint8Array(4 + key.length)
  bytes[0] = magic[0]
  bytes[1] = magic[1]
  bytes[2] = version
  bytes[3] = key.length
  bytes.set(key, 4)
  return bytes
}

/**
 * Checks an authentication message in the server's order and returns the raw key, or the close to send:
 * text → 3001; bad magic → 3001; version ≠ 0 → 3002 (before anything else is looked at); bad length → 3001.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeAuth = (frame: string | Uint8Array): Either.Either<Uint8Array, CloseCode.Close> => {
  if (typeof frame === "string") return Either.left(CloseCode.server.binaryFramesOnlyAtAuth)
  if (frame.length < 2 || frame[0] !== magic[0] || frame[1] !== magic[1]) {
    return Either.left(CloseCode.server.malformedAuth)
  }
  if (frame.length > 2 && frame[2] !== version) {
    return Either.left(CloseCode.server.versionMismatch((frame[2]! << 24) >> 24))
  }
  if (frame.length < 4) return Either.left(CloseCode.server.malformedAuth)
  const length = (frame[3]! << 24) >> 24
  if (length < 1 || frame.length !== 4 + length) return Either.left(CloseCode.server.malformedAuth)
  return Either.right(frame.subarray(4))
}
