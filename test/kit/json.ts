/**
 * Helpers for the lossless JSON tests: a strict printable form of parsed values, and
 * arbitraries of JSON *texts* (big integers, decimals, duplicate and `__proto__` keys, odd whitespace) and of
 * near-JSON texts (valid texts with a few random edits).
 */
import { FastCheck as fc } from "effect"
import * as Json from "@protokernel/wire/Json"

const isPlainRecord = (value: object): value is { readonly [key: string]: unknown } => !Array.isArray(value)

/**
 * A text that tells parsed JSON values apart exactly: `-0` from `0`, `1` from `1n`, a `Decimal` from a number,
 * key order, own `__proto__` keys, and objects whose prototype is not `Object.prototype`. With `negativeZero`
 * false, `-0` shows as `0` (what printing JSON does to it).
 */
export const show = (value: unknown, negativeZero = true): string => {
  switch (typeof value) {
    case "number":
      return negativeZero && Object.is(value, -0) ? "-0" : String(value)
    case "bigint":
      return `${value}n`
    case "string":
      return JSON.stringify(value)
    case "boolean":
      return String(value)
    case "undefined":
      return "undefined"
    case "object": {
      if (value === null) return "null"
      if (Json.isDecimal(value)) return `Decimal(${value.value})`
      if (Array.isArray(value)) return `[${value.map((item) => show(item, negativeZero)).join(",")}]`
      if (!isPlainRecord(value)) return "?"
      const prototype = Object.getPrototypeOf(value) === Object.prototype ? "" : "!prototype"
      return `${prototype}{${Object.keys(value)
        .map((key) => `${JSON.stringify(key)}:${show(value[key], negativeZero)}`)
        .join(",")}}`
    }
    default:
      return `?${typeof value}`
  }
}

/** What `JSON.parse` would give for a lossless value: bigints and Decimals as (rounded) numbers. */
export const toNumbers = (value: unknown): unknown => {
  if (typeof value === "bigint") return Number(value)
  if (typeof value !== "object" || value === null) return value
  if (Json.isDecimal(value)) return Number(value.value)
  if (Array.isArray(value)) return value.map(toNumbers)
  if (!isPlainRecord(value)) return value
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value)) {
    Object.defineProperty(out, key, { value: toNumbers(value[key]), enumerable: true, writable: true })
  }
  return out
}

/** Whether `JSON.parse` accepts the text. */
export const jsonParses = (text: string): boolean => {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

const whitespace = fc.constantFrom("", "", "", "", " ", "\n", "\t", "\r\n  ")

/** An integer literal `-?(0|[1-9][0-9]*)`: small, around 2^53 and 2^64, or up to 40 digits. */
export const integerLiteral: fc.Arbitrary<string> = fc.oneof(
  fc.integer().map(String),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
  fc.stringMatching(/^-?(0|[1-9][0-9]{0,39})$/),
  fc.constantFrom(
    "0",
    "-0",
    "9007199254740991",
    "9007199254740992",
    "9007199254740993",
    "-9007199254740993",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "123456789012345678901234567890"
  )
)

/** A number literal with a fraction, an exponent or both: `8.0`, `1e1`, `-0.5E-3`, `1E+400`. */
export const decimalLiteral: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(
      fc.stringMatching(/^-?(0|[1-9][0-9]{0,20})$/),
      fc.option(fc.stringMatching(/^[0-9]{1,20}$/), { nil: undefined }),
      fc.option(fc.tuple(fc.constantFrom("e", "E"), fc.constantFrom("", "+", "-"), fc.stringMatching(/^[0-9]{1,3}$/)), {
        nil: undefined
      })
    )
    .filter(([, fraction, exponent]) => fraction !== undefined || exponent !== undefined)
    .map(
      ([whole, fraction, exponent]) =>
        whole + (fraction === undefined ? "" : `.${fraction}`) + (exponent ?? []).join("")
    ),
  fc.constantFrom("8.0", "1e1", "8e0", "1E1", "-0.0", "0.5", "18446744073709551615.0", "1e400", "-1E-400")
)

/** A JSON string literal, sometimes with escapes that `JSON.stringify` would not write. */
const stringLiteral: fc.Arbitrary<string> = fc.oneof(
  fc.string().map((s) => JSON.stringify(s)),
  fc.string16bits({ maxLength: 8 }).map((s) => JSON.stringify(s)),
  fc.fullUnicodeString({ maxLength: 8 }).map((s) => JSON.stringify(s)),
  fc.constantFrom(
    '"id:18446744073709551615,"',
    '"1.5"',
    '"203.0.113.10"',
    '"a: 1.5, [2e3 -0.5"',
    '":12345678901234567890"',
    '"\\":1.5"',
    '"\\u0041\\/\\b\\f\\n\\r\\t"',
    '"\\ud83d\\ude00"',
    '"\\udc00"'
  )
)

/** Object keys: a small set (so duplicates are common), `__proto__` (also spelled with escapes), and any string. */
const keyLiteral: fc.Arbitrary<string> = fc.oneof(
  fc
    .constantFrom("a", "b", "id", "type", "payload", "__proto__", "0", "1", "10", "constructor", "toString")
    .map((k) => JSON.stringify(k)),
  fc.constantFrom('"\\u005f_proto__"', '"\\u0061"'),
  fc.string({ maxLength: 4 }).map((k) => JSON.stringify(k))
)

/** Any JSON text, built as text so that it can hold what `JSON.stringify` never writes. */
export const jsonText: fc.Arbitrary<string> = fc
  .letrec<{ value: string }>((tie) => ({
    value: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.oneof(integerLiteral, decimalLiteral, stringLiteral, fc.constantFrom("true", "false", "null")),
      fc
        .tuple(whitespace, fc.array(fc.tuple(whitespace, tie("value"), whitespace), { maxLength: 5 }))
        .map(([space, items]) => `[${space}${items.map(([before, item, after]) => before + item + after).join(",")}]`),
      fc
        .tuple(
          whitespace,
          fc.array(fc.tuple(whitespace, keyLiteral, whitespace, whitespace, tie("value"), whitespace), { maxLength: 6 })
        )
        .map(
          ([space, entries]) =>
            `{${space}${entries.map(([a, key, b, c, value, d]) => `${a}${key}${b}:${c}${value}${d}`).join(",")}}`
        )
    )
  }))
  .value.chain((text) => whitespace.map((space) => space + text))

/** A valid JSON text with up to three random single-character edits, so about half are no longer JSON. */
export const nearJsonText: fc.Arbitrary<string> = fc
  .tuple(
    jsonText,
    fc.array(
      fc.tuple(
        fc.nat(),
        fc.constantFrom("delete", "insert", "replace"),
        fc.constantFrom(...'{}[]:,"\\0123456789.eE+- tfnrul'.split(""), "\u0000", "\u00a0", "\ufeff", "\u2028")
      ),
      { maxLength: 3 }
    )
  )
  .map(([text, edits]) =>
    edits.reduce((current, [at, edit, char]) => {
      const i = current.length === 0 ? 0 : at % current.length
      if (edit === "delete") return current.slice(0, i) + current.slice(i + 1)
      if (edit === "insert") return current.slice(0, i) + char + current.slice(i)
      return current.slice(0, i) + char + current.slice(i + 1)
    }, text)
  )
