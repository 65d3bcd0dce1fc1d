import * as Json from "@protokernel/wire/Json"
import * as Uint64 from "@protokernel/wire/Uint64"
import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Either, FastCheck as fc, Option, ParseResult, Schema } from "effect"
import { fuzzParameters } from "../../../test/kit/fuzz.js"
import { jsonText, show } from "../../../test/kit/json.js"
import { left, right } from "../../../test/kit/unwrap.js"

const decode = Schema.decodeUnknownEither(Uint64.Uint64)
const encode = Schema.encodeEither(Uint64.Uint64)

/** JSON text → Json.parse → Uint64 (the path every received id takes). */
const fromText = (text: string): Either.Either<Uint64.Uint64, ParseResult.ParseError> => decode(right(Json.parse(text)))

/** Uint64 → its JSON form → Json.stringify (the path every sent id takes). */
const toText = (value: bigint): string => Json.stringify(right(encode(Uint64.make(value))))

const MAX = "18446744073709551615"

describe("Uint64", () => {
  it("18446744073709551615 survives parse → decode → encode → stringify byte for byte", () => {
    const decoded = right(fromText(MAX))
    assert.strictEqual(decoded, 18446744073709551615n)
    assert.strictEqual(decoded, Uint64.MAX)
    assert.strictEqual(right(encode(decoded)), 18446744073709551615n)
    assert.strictEqual(Json.stringify(right(encode(decoded))), MAX)
  })

  it("survives inside an envelope, byte for byte", () => {
    const Payload = Schema.Struct({ id: Uint64.Uint64, event_type: Schema.Number })
    const Envelope = Schema.Struct({ type: Schema.Number, payload: Payload })
    for (const text of [
      `{"type":18,"payload":{"id":${MAX},"event_type":2}}`,
      '{"type":8,"payload":{"id":9007199254740993,"event_type":0}}',
      '{"type":8,"payload":{"id":9223372036854775808,"event_type":0}}',
      '{"type":8,"payload":{"id":9007199254740991,"event_type":0}}',
      '{"type":8,"payload":{"id":0,"event_type":0}}'
    ]) {
      const decoded = right(Schema.decodeUnknownEither(Envelope)(right(Json.parse(text))))
      assert.strictEqual(typeof decoded.payload.id, "bigint")
      assert.strictEqual(Json.stringify(right(Schema.encodeEither(Envelope)(decoded))), text)
    }
  })

  it("reads integers exactly around 2^53, 2^63 and 2^64 − 1", () => {
    const cases: ReadonlyArray<readonly [string, bigint]> = [
      ["0", 0n],
      ["1", 1n],
      ["9007199254740991", 2n ** 53n - 1n],
      ["9007199254740992", 2n ** 53n],
      ["9007199254740993", 2n ** 53n + 1n],
      ["9223372036854775807", 2n ** 63n - 1n],
      ["9223372036854775808", 2n ** 63n],
      [MAX, 2n ** 64n - 1n]
    ]
    for (const [text, expected] of cases) {
      assert.strictEqual(right(fromText(text)), expected, text)
      assert.strictEqual(toText(expected), text)
    }
  })

  it("reads strings of 1–20 digits: leading zeros allowed", () => {
    const cases: ReadonlyArray<readonly [string, bigint]> = [
      ['"0"', 0n],
      ['"007"', 7n],
      ['"9007199254740993"', 2n ** 53n + 1n],
      [`"${MAX}"`, Uint64.MAX],
      ['"00000000000000000001"', 1n],
      ['"00000000000000000000"', 0n]
    ]
    for (const [text, expected] of cases) {
      assert.strictEqual(right(fromText(text)), expected, text)
      // Encoding always writes the integer form.
      assert.strictEqual(toText(expected), expected.toString())
    }
  })

  it("rejects everything else: above MAX, negative, -0, fractions, exponents, signs, whitespace, hex, 21 digits", () => {
    for (const text of [
      "18446744073709551616",
      "99999999999999999999",
      "123456789012345678901234567890",
      "-1",
      "-0",
      "-9223372036854775808",
      "1.5",
      "1.0",
      "1e3",
      "1E0",
      `${MAX}.0`,
      '""',
      '" 1"',
      '"1 "',
      '"+1"',
      '"-1"',
      '"-0"',
      '"0x10"',
      '"1.5"',
      '"1e3"',
      '"１"',
      '"18446744073709551616"',
      '"000000000000000000001"',
      '"184467440737095516150"',
      "null",
      "true",
      "[]",
      "[1]",
      "{}"
    ]) {
      const error = left(fromText(text))
      assert.instanceOf(error, ParseResult.ParseError)
      assert.isTrue(Option.isNone(Uint64.fromJson(right(Json.parse(text)))), text)
    }
  })

  it("fromJson also refuses numbers that no parser gives: unsafe, fractional, NaN, infinite", () => {
    for (const value of [
      2 ** 53,
      2 ** 64,
      0.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      -0,
      -1,
      undefined,
      Symbol.iterator
    ]) {
      assert.isTrue(Option.isNone(Uint64.fromJson(value)), String(value))
    }
  })

  it("encodes only values within 0..MAX, and make throws outside", () => {
    assert.isTrue(Either.isLeft(Schema.encodeUnknownEither(Uint64.Uint64)(2n ** 64n)))
    assert.isTrue(Either.isLeft(Schema.encodeUnknownEither(Uint64.Uint64)(-1n)))
    assert.throws(() => Uint64.make(2n ** 64n), RangeError)
    assert.throws(() => Uint64.make(-1), RangeError)
    assert.throws(() => Uint64.make(1.5), RangeError)
    assert.strictEqual(Uint64.make(7), 7n)
    assert.strictEqual(Uint64.toJson(2n ** 53n - 1n), 9007199254740991)
    assert.strictEqual(Uint64.toJson(2n ** 53n), 2n ** 53n)
  })

  it.prop(
    "every uint64 round-trips through its JSON text, written with every digit and never quoted",
    [Arbitrary.make(Uint64.Uint64FromSelf)],
    ([value]) => {
      const text = toText(value)
      assert.strictEqual(text, value.toString())
      assert.strictEqual(right(fromText(text)), value)
      assert.strictEqual(right(fromText(`"${value}"`)), value)
      assert.strictEqual(right(fromText(`"${value.toString().padStart(20, "0")}"`)), value)
      const envelope = `{"type":18,"payload":{"id":${text}}}`
      assert.strictEqual(Json.stringify(right(Json.parse(envelope))), envelope)
    },
    { fastCheck: fuzzParameters() }
  )

  it.prop(
    "integers outside 0..MAX are rejected, as literals and as digit strings",
    [fc.oneof(fc.bigInt({ min: Uint64.MAX + 1n, max: 2n ** 80n }), fc.bigInt({ min: -(2n ** 80n), max: -1n }))],
    ([value]) => {
      left(fromText(value.toString()))
      left(fromText(`"${value}"`))
      assert.isTrue(Either.isLeft(Schema.encodeUnknownEither(Uint64.Uint64)(value)))
    },
    { fastCheck: fuzzParameters() }
  )

  it.prop(
    "the Schema and fromJson agree on arbitrary JSON, and never throw",
    [
      fc.oneof(
        jsonText,
        fc.string().map((s) => JSON.stringify(s)),
        fc.stringMatching(/^"[0-9]{0,22}"$/)
      )
    ],
    ([text]) => {
      const value = right(Json.parse(text))
      const bySchema = decode(value)
      const byFunction = Uint64.fromJson(value)
      assert.strictEqual(Either.isRight(bySchema), Option.isSome(byFunction), text)
      if (Either.isRight(bySchema) && Option.isSome(byFunction)) {
        assert.strictEqual(bySchema.right, byFunction.value)
        assert.isTrue(bySchema.right >= 0n && bySchema.right <= Uint64.MAX)
      } else {
        assert.instanceOf(left(bySchema), ParseResult.ParseError)
      }
      // The Schema's verdict matches the rule written out: an integer or a 1–20 digit string within 0..MAX.
      const expected =
        typeof value === "bigint" || (typeof value === "number" && Number.isInteger(value) && !Object.is(value, -0))
          ? BigInt(value) >= 0n && BigInt(value) <= Uint64.MAX
          : typeof value === "string" && /^[0-9]{1,20}$/.test(value) && BigInt(value) <= Uint64.MAX
      assert.strictEqual(Either.isRight(bySchema), expected, show(value))
    },
    { fastCheck: fuzzParameters() }
  )
})
