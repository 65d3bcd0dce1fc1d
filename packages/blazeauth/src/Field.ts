/**
 * The wire types of Blazeauth fields (docs/blazeauth.md §1.3, §7): integers with one spelling each, code-point
 * lengths, levels that tolerate an object, and secrets as `Redacted`.
 *
 * An integer is only the literal `-?(0|[1-9][0-9]*)` (`Json.parse` keeps `8.0` and `1e1` apart as
 * `Decimal`s, so they fail as the wrong type). 64-bit fields also take a decimal string.
 *
 * @since 0.1.0
 */
import * as Json from "@protokernel/wire/Json"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/**
 * 2^53 − 1: the range limit of `offset`, `size` and the i64 fields.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_SAFE = Number.MAX_SAFE_INTEGER

const unsignedDigits = /^[0-9]{1,20}$/
const signedDigits = /^-?[0-9]{1,20}$/

const inRange = (value: number, min: number, max: number): Option.Option<number> =>
  value >= min && value <= max ? Option.some(value === 0 ? 0 : value) : Option.none()

/**
 * Reads a u64 field other than `id` (`offset`, `size`): an integer or a 1–20 digit string within
 * 0..2^53 − 1. `-0` is invalid.
 *
 * @since 0.1.0
 * @category decoding
 */
export const u53FromJson = (value: unknown): Option.Option<number> => {
  if (typeof value === "number") {
    return Number.isInteger(value) && !Object.is(value, -0) ? inRange(value, 0, MAX_SAFE) : Option.none()
  }
  if (typeof value === "string" && unsignedDigits.test(value)) return inRange(Number(value), 0, MAX_SAFE)
  return Option.none()
}

/**
 * Reads an i64 field (`file_size`, `ttl`, `time_left`, `retry_after`, `last_transferred_at`): an
 * integer or a digit string with an optional `-`, within ±(2^53 − 1). `-0` is 0.
 *
 * @since 0.1.0
 * @category decoding
 */
export const i53FromJson = (value: unknown): Option.Option<number> => {
  if (typeof value === "number") return Number.isInteger(value) ? inRange(value, -MAX_SAFE, MAX_SAFE) : Option.none()
  if (typeof value === "string" && signedDigits.test(value)) return inRange(Number(value), -MAX_SAFE, MAX_SAFE)
  return Option.none()
}

/**
 * Reads an int32 field (`type`, `status`, `chunk_size`, …): a plain integer literal only, within
 * −2^31..2^31 − 1. A string has the wrong JSON type. `-0` is 0.
 *
 * @since 0.1.0
 * @category decoding
 */
export const int32FromJson = (value: unknown): Option.Option<number> =>
  typeof value === "number" && Number.isInteger(value) ? inRange(value, -2147483648, 2147483647) : Option.none()

const NumberOrString = Schema.Union(Schema.Number, Schema.String)

const integerSchema = (
  identifier: string,
  read: (value: unknown) => Option.Option<number>,
  min: number,
  max: number
): Schema.Schema<number, number | string> =>
  Schema.transformOrFail(NumberOrString, Schema.Int.pipe(Schema.between(min, max)), {
    strict: true,
    decode: (value, _, ast) =>
      Option.match(read(value), {
        onNone: () => ParseResult.fail(new ParseResult.Type(ast, value, `Expected ${identifier}`)),
        onSome: ParseResult.succeed
      }),
    encode: (value) => ParseResult.succeed(value)
  }).annotations({ identifier })

/**
 * A u64 field other than `id`: integer or digit string within 0..2^53 − 1 ⇄ `number`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const U53: Schema.Schema<number, number | string> = integerSchema("u64 (0..2^53-1)", u53FromJson, 0, MAX_SAFE)

/**
 * An i64 field: integer or signed digit string within ±(2^53 − 1) ⇄ `number`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const I53: Schema.Schema<number, number | string> = integerSchema(
  "i64 (±(2^53-1))",
  i53FromJson,
  -MAX_SAFE,
  MAX_SAFE
)

/**
 * An int32 field: a plain integer literal ⇄ `number`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Int32: Schema.Schema<number, number> = Schema.transformOrFail(
  Schema.Number,
  Schema.Int.pipe(Schema.between(-2147483648, 2147483647)),
  {
    strict: true,
    decode: (value, _, ast) =>
      Option.match(int32FromJson(value), {
        onNone: () => ParseResult.fail(new ParseResult.Type(ast, value, "Expected int32")),
        onSome: ParseResult.succeed
      }),
    encode: (value) => ParseResult.succeed(value)
  }
).annotations({ identifier: "int32" })

/**
 * The length of a string in characters (Unicode code points), as every limit of docs/blazeauth.md counts.
 *
 * @since 0.1.0
 * @category utils
 */
export const length = (text: string): number => {
  let count = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    // A high surrogate followed by a low one is one code point.
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) i++
    }
    count++
  }
  return count
}

/**
 * A string of at least `min` characters (code points); shorter ones fail decoding.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StringMinLength = (min: number): Schema.filter<typeof Schema.String> =>
  Schema.String.pipe(
    Schema.filter((text) => length(text) >= min || `Expected at least ${min} characters`, {
      arbitrary: () => (fc) => fc.string({ minLength: min, maxLength: min + 16 })
    })
  )

/**
 * A secret string on the wire: a JSON string ⇄ `Redacted<string>`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Secret: Schema.Redacted<typeof Schema.String> = Schema.Redacted(Schema.String)

/**
 * Levels (§7): decodes an array (non-string entries dropped), an object (its string values in
 * `Object.values` order), or `null` (empty); always encodes an array of strings.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Levels: Schema.Schema<ReadonlyArray<string>, unknown> = Schema.transformOrFail(
  Schema.Unknown,
  Schema.Array(Schema.String),
  {
    strict: true,
    decode: (value, _, ast) =>
      Option.match(levelsFromJson(value), {
        onNone: () => ParseResult.fail(new ParseResult.Type(ast, value, "Expected an array of strings or an object")),
        onSome: ParseResult.succeed
      }),
    encode: ParseResult.succeed
  }
).annotations({ identifier: "Levels" })

const isString = (value: unknown): value is string => typeof value === "string"

/**
 * Reads levels (§7) as `Levels` decodes them: an array's strings, an object's string values, `null` as
 * none; `None` for anything else.
 *
 * @since 0.1.0
 * @category decoding
 */
export const levelsFromJson = (value: unknown): Option.Option<ReadonlyArray<string>> => {
  if (value === null) return Option.some([])
  if (Array.isArray(value)) return Option.some(value.filter(isString))
  if (Json.isObject(value)) return Option.some(Object.values(value).filter(isString))
  return Option.none()
}

const isStringMap = (value: unknown): value is { readonly [key: string]: string } =>
  Json.isObject(value) && Object.values(value).every(isString)

/**
 * A string-to-string map, checked in place: `Schema.Record` would copy it with assignments, which turn a
 * `"__proto__"` key into a prototype change and lose the entry.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StringMapFromSelf: Schema.Schema<{ readonly [key: string]: string }> = Schema.declare(isStringMap, {
  identifier: "StringMapFromSelf",
  arbitrary: () => (fc) => fc.dictionary(fc.string(), fc.string())
})

/**
 * A string-to-string map that tolerates junk (§5): not an object → `{}`, entries whose values are
 * not strings are dropped.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StringMap: Schema.Schema<{ readonly [key: string]: string }, unknown> = Schema.transform(
  Schema.Unknown,
  StringMapFromSelf,
  {
    strict: true,
    decode: (value) => {
      const out: Record<string, string> = {}
      if (!Json.isObject(value)) return out
      for (const [key, entry] of Object.entries(value)) {
        // defineProperty keeps a "__proto__" key an ordinary entry.
        if (typeof entry === "string")
          Object.defineProperty(out, key, { value: entry, enumerable: true, writable: true })
      }
      return out
    },
    encode: (value) => value
  }
).annotations({ identifier: "StringMap" })
