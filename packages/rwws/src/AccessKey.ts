/**
 * Access keys: base64 text on the outside, 1..127 raw bytes on the wire.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { randomBytes } from "node:crypto"

/**
 * The longest key: its length travels as a signed byte.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxBytes = 127

/**
 * A key the client refuses to send. The message never contains the key.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidAccessKey extends Schema.TaggedError<InvalidAccessKey>("@protokernel/rwws/InvalidAccessKey")(
  "InvalidAccessKey",
  {
    reason: Schema.Literal("NotBase64", "Empty", "TooLong"),
    /** Decoded length in bytes (0 when not base64). */
    byteLength: Schema.Int
  }
) {
  override get message(): string {
    switch (this.reason) {
      case "NotBase64":
        return "access key is not valid base64"
      case "Empty":
        return "access key is empty"
      case "TooLong":
        return `access key is ${this.byteLength} bytes; rwws allows at most ${maxBytes}`
    }
  }
}

const sextets = new Int8Array(128).fill(-1)
for (const [i, c] of [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"].entries()) {
  sextets[c.charCodeAt(0)] = i
}
sextets["+".charCodeAt(0)] = 62
sextets["/".charCodeAt(0)] = 63
sextets["-".charCodeAt(0)] = 62
sextets["_".charCodeAt(0)] = 63

/**
 * Strict base64: standard and URL-safe alphabets in any mix, optional but correct `=` padding at the
 * end only, surrounding whitespace trimmed; non-zero pad bits are ignored, as Node does.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeBase64 = (text: string): Uint8Array | undefined => {
  const trimmed = text.trim()
  let end = trimmed.length
  let padding = 0
  while (end > 0 && trimmed.charCodeAt(end - 1) === 0x3d) {
    end--
    padding++
  }
  if (padding > 0 && (padding > 2 || trimmed.length % 4 !== 0)) return undefined
  if (end % 4 === 1) return undefined
  if (padding > 0 && (end + padding) % 4 !== 0) return undefined
  const bytes = new Uint8Array(Math.floor((end * 6) / 8))
  let bits = 0
  let buffer = 0
  let out = 0
  for (let i = 0; i < end; i++) {
    const code = trimmed.charCodeAt(i)
    const value = code < 128 ? sextets[code]! : -1
    if (value < 0) return undefined
    buffer = ((buffer << 6) | value) & 0xffffff
    bits += 6
    if (bits >= 8) {
      bits -= 8
      bytes[out++] = (buffer >> bits) & 0xff
    }
  }
  return bytes
}

/**
 * Decodes and checks a key before connecting (docs/rwws.md §2.4).
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (key: Redacted.Redacted<string> | string): Either.Either<Uint8Array, InvalidAccessKey> => {
  const bytes = decodeBase64(typeof key === "string" ? key : Redacted.value(key))
  if (bytes === undefined) return Either.left(new InvalidAccessKey({ reason: "NotBase64", byteLength: 0 }))
  if (bytes.length === 0) return Either.left(new InvalidAccessKey({ reason: "Empty", byteLength: 0 }))
  if (bytes.length > maxBytes) {
    return Either.left(new InvalidAccessKey({ reason: "TooLong", byteLength: bytes.length }))
  }
  return Either.right(bytes)
}

/**
 * A new key as the server issues them: 32 random bytes, standard base64 (44 characters).
 *
 * @since 0.1.0
 * @category constructors
 */
export const generate = (): Redacted.Redacted<string> => Redacted.make(randomBytes(32).toString("base64"))
