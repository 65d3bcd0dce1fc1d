/**
 * Lossless JSON: integers of any size keep every digit (`bigint` above 2^53 − 1), and a number
 * literal that is not a plain integer (`8.0`, `1e3`) stays distinguishable from one. Duplicate keys
 * keep the last value, as `JSON.parse` does. Parsing never throws: it returns an `Either`.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as LJ from "lossless-json"

/**
 * A number literal with a fraction or an exponent, kept as its source text. Protocol integers never
 * take this form, so a schema that expects an integer rejects it as the wrong type.
 *
 * @since 0.1.0
 * @category models
 */
export type Decimal = LJ.LosslessNumber

/**
 * Whether a parsed value is a number literal that is not a plain integer.
 *
 * @since 0.1.0
 * @category guards
 */
export const isDecimal: (value: unknown) => value is Decimal = LJ.isLosslessNumber

/**
 * Whether a parsed value is a JSON object (not `null`, an array or a `Decimal`).
 *
 * @since 0.1.0
 * @category guards
 */
export const isObject = (value: unknown): value is { readonly [key: string]: unknown } =>
  typeof value === "object" && value !== null && !Array.isArray(value) && !isDecimal(value)

/**
 * The text is not JSON.
 *
 * @since 0.1.0
 * @category errors
 */
export class JsonError extends Schema.TaggedError<JsonError>("@protokernel/wire/JsonError")("JsonError", {
  detail: Schema.String
}) {
  override get message(): string {
    return `invalid JSON: ${this.detail}`
  }
}

const parseNumber = (source: string): number | bigint | Decimal => {
  if (LJ.isInteger(source)) {
    const value = Number(source)
    return Number.isSafeInteger(value) ? value : BigInt(source)
  }
  return new LJ.LosslessNumber(source)
}

const losslessOptions = {
  parseNumber,
  onDuplicateKey: ({ newValue }: LJ.DuplicateKeyInfo) => newValue
}

/**
 * A text that `JSON.parse` reads exactly as the lossless parser does has no number literal with 16 or
 * more integer digits (every integer of 15 digits or fewer is safe) or with a fraction or an exponent.
 * A number literal starts the text or follows `:`, `,`, `[` or whitespace, so digits inside strings
 * such as `"203.0.113.10"` or `"1.4.2"` keep the fast path; a match inside a string only costs the slow
 * path.
 */
const needsLosslessParser = /(?:^|[:,[\s])-?(?:\d{16}|\d+[.eE])/

/**
 * Whether `JSON.parse` reads the text exactly as `parse` does (no long integer, fraction or exponent
 * where a number can start). Callers that handle one known long integer themselves use it on the rest.
 *
 * @since 0.1.0
 * @category parsing
 */
export const isPlain = (text: string): boolean => !needsLosslessParser.test(text)

/**
 * Parses JSON text. Integers are `number` when safe and `bigint` otherwise; other number literals are
 * `Decimal`s. Texts without long digit runs or fractions take `JSON.parse`, which gives the same result.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (text: string): Either.Either<unknown, JsonError> =>
  isPlain(text) ? parsePlain(text) : parseLossless(text)

/**
 * Parses a text that `isPlain` accepted with `JSON.parse` (the caller has checked; no second scan).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parsePlain = (text: string): Either.Either<unknown, JsonError> => {
  try {
    return Either.right(JSON.parse(text))
  } catch {
    // V8's message quotes the text around the error, which may hold a secret: the error takes lossless-json's
    // message instead, which names a position and at most one character.
    return Either.left(losslessFailure(text))
  }
}

const losslessFailure = (text: string): JsonError =>
  Either.match(parseLossless(text), {
    onLeft: (error) => error,
    onRight: () => new JsonError({ detail: "not valid JSON" })
  })

/**
 * Parses JSON text with the lossless parser only (no fast path); for measurements and cross-checks.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseLossless = (text: string): Either.Either<unknown, JsonError> => {
  try {
    return Either.right(LJ.parse(text, null, losslessOptions))
  } catch (cause) {
    return Either.left(new JsonError({ detail: cause instanceof Error ? cause.message : String(cause) }))
  }
}

/**
 * Compact JSON text of a value made of objects, arrays, strings, booleans, `null`, numbers and
 * `bigint`s (every digit, never quoted). Strings are escaped as `JSON.stringify` escapes them, keys keep
 * their insertion order, and `undefined` properties are left out. Values holding `Decimal`s need
 * `stringifyLossless`.
 *
 * @since 0.1.0
 * @category printing
 */
export const stringify = (value: unknown): string => {
  try {
    return JSON.stringify(value)
  } catch {
    // On the values above, only a bigint makes JSON.stringify throw; lossless-json prints its digits.
    return stringifyLossless(value)
  }
}

/**
 * Like `stringify`, and also prints `Decimal`s as their source text; slower.
 *
 * @since 0.1.0
 * @category printing
 */
export const stringifyLossless = (value: unknown): string => LJ.stringify(value) ?? "null"
