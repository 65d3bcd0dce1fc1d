/**
 * Unsigned 64-bit integers as `bigint`, read from JSON without loss: a JSON integer of any length (as
 * `Json.parse` gives it: a safe `number` or a `bigint`) or a string of 1–20 ASCII digits. They are
 * written back as JSON integers with every digit.
 *
 * @since 0.1.0
 */
import type * as Brand from "effect/Brand"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/**
 * 2^64 − 1, the largest value.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX = 18446744073709551615n

/**
 * A `bigint` within 0..`MAX`.
 *
 * @since 0.1.0
 * @category models
 */
export type Uint64 = bigint & Brand.Brand<"@protokernel/wire/Uint64">

/**
 * The domain side: a `bigint` within 0..`MAX`, branded.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Uint64FromSelf: Schema.brand<
  Schema.filter<typeof Schema.BigIntFromSelf>,
  "@protokernel/wire/Uint64"
> = Schema.BigIntFromSelf.pipe(Schema.betweenBigInt(0n, MAX), Schema.brand("@protokernel/wire/Uint64"))

const digits = /^[0-9]{1,20}$/

/**
 * Reads a parsed JSON value as a uint64, or `None`. Accepts a non-negative safe integer `number`
 * (not `-0`), a `bigint` within range, or a string of 1–20 digits within range.
 *
 * @since 0.1.0
 * @category decoding
 */
export const fromJson = (value: unknown): Option.Option<Uint64> => {
  switch (typeof value) {
    case "number":
      return Number.isSafeInteger(value) && value >= 0 && !Object.is(value, -0)
        ? Option.some(BigInt(value) as Uint64)
        : Option.none()
    case "bigint":
      return value >= 0n && value <= MAX ? Option.some(value as Uint64) : Option.none()
    case "string": {
      if (!digits.test(value)) return Option.none()
      const parsed = BigInt(value)
      return parsed <= MAX ? Option.some(parsed as Uint64) : Option.none()
    }
    default:
      return Option.none()
  }
}

/**
 * The JSON form of a uint64: a `number` when it is a safe integer, else the `bigint` itself, which
 * `Json.stringify` prints with every digit.
 *
 * @since 0.1.0
 * @category encoding
 */
export const toJson = (value: bigint): number | bigint => (value <= 9007199254740991n ? Number(value) : value)

/**
 * Makes a `Uint64`, or throws a `RangeError` outside 0..`MAX` (for constants and tests).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (value: bigint | number): Uint64 => {
  const parsed = fromJson(value)
  if (Option.isNone(parsed)) throw new RangeError(`not a uint64: ${String(value)}`)
  return parsed.value
}

/**
 * A uint64 in its JSON form (integer of any size or 1–20 digit string) ⇄ `Uint64`. Encodes to an
 * integer with every digit (never quoted).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Uint64: Schema.transformOrFail<
  Schema.Union<[typeof Schema.Number, typeof Schema.BigIntFromSelf, typeof Schema.String]>,
  typeof Uint64FromSelf
> = Schema.transformOrFail(Schema.Union(Schema.Number, Schema.BigIntFromSelf, Schema.String), Uint64FromSelf, {
  strict: true,
  decode: (value, _, ast) =>
    Option.match(fromJson(value), {
      onNone: () => ParseResult.fail(new ParseResult.Type(ast, value, "Expected an integer within 0..2^64-1")),
      onSome: ParseResult.succeed
    }),
  encode: (value) => ParseResult.succeed(toJson(value))
}).annotations({ identifier: "Uint64" })
