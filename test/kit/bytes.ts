/**
 * Bytes in tests: hex in both directions (never one name for both), frames as hex for assertions, and
 * the digests and encodings the fixtures use.
 */
import type { Transport } from "@protokernel/wire"
import * as Crypto from "node:crypto"

/** Bytes from hex text; spaces are ignored: `fromHex("00 ff")`. Bad hex is a test bug, so it throws. */
export const fromHex = (hex: string): Uint8Array => {
  const clean = hex.replace(/\s+/g, "")
  if (!/^(?:[0-9a-f]{2})*$/i.test(clean)) throw new Error(`bad hex in test: ${hex}`)
  return Uint8Array.from(Buffer.from(clean, "hex"))
}

/** Lowercase hex with no separators, to compare byte arrays as strings. */
export const toHex = (data: Uint8Array): string =>
  Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("hex")

/** A frame for assertions: binary as hex, text as `text:` + the text. */
export const frameToHex = (frame: Transport.Frame): string =>
  typeof frame === "string" ? `text:${frame}` : toHex(frame)

/** Whether `prefix` is a byte prefix of `whole`. */
export const startsWith = (whole: Uint8Array, prefix: Uint8Array): boolean =>
  prefix.length <= whole.length && prefix.every((byte, i) => whole[i] === byte)

/** SHA-256 as lowercase hex; a string is hashed as UTF-8. */
export const sha256 = (data: Uint8Array | string): string => Crypto.createHash("sha256").update(data).digest("hex")

/** Base64 of a text's UTF-8 bytes. */
export const base64 = (text: string): string => Buffer.from(text, "utf8").toString("base64")

/**
 * Deterministic pseudo-random bytes (xorshift32; seed 0 counts as 1), so that a counterexample prints as
 * a size and a seed.
 */
export const pattern = (size: number, seed: number): Uint8Array => {
  const bytes = new Uint8Array(size)
  let x = seed >>> 0 || 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    bytes[i] = x & 0xff
  }
  return bytes
}
