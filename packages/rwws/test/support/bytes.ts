import { assert } from "@effect/vitest"
import { Either } from "effect"

/** Bytes from hex text; spaces are ignored: `bytes("00 ff")`. */
export const bytes = (hex: string): Uint8Array => {
  const clean = hex.replace(/\s+/g, "")
  if (!/^(?:[0-9a-f]{2})*$/i.test(clean)) throw new Error(`bad hex in test: ${hex}`)
  return Uint8Array.from(Buffer.from(clean, "hex"))
}

/** Lowercase hex with no separators, to compare byte arrays as strings. */
export const hex = (data: Uint8Array): string =>
  Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("hex")

/** The Right of an Either, or a test failure that shows the Left. */
export const right = <A, E>(either: Either.Either<A, E>): A => {
  if (Either.isLeft(either)) return assert.fail(`expected Right, got Left: ${String(either.left)}`)
  return either.right
}

/** The Left of an Either, or a test failure that shows the Right. */
export const left = <A, E>(either: Either.Either<A, E>): E => {
  if (Either.isRight(either)) return assert.fail(`expected Left, got Right: ${String(either.right)}`)
  return either.left
}

/** Whether `prefix` is a byte prefix of `whole`. */
export const startsWith = (whole: Uint8Array, prefix: Uint8Array): boolean =>
  prefix.length <= whole.length && prefix.every((byte, i) => whole[i] === byte)
