import { FastCodec } from "@protokernel/wire"
import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Either, FastCheck as fc, ParseResult, Schema, SchemaAST as AST } from "effect"
import { fuzzParameters } from "../../../test/kit/fuzz.js"

/** A transformation the neutral tables do not know: decimal digits ⇄ bigint. */
const decimal = /^-?(0|[1-9][0-9]*)$/
const known = FastCodec.tables({
  readers: [
    [Schema.Number.ast, (value) => (typeof value === "number" ? value : FastCodec.declined)],
    [
      Schema.BigInt.ast,
      (value) => (typeof value === "string" && decimal.test(value) ? BigInt(value) : FastCodec.declined)
    ]
  ],
  writers: [
    [Schema.Number.ast, (value) => (typeof value === "number" ? value : FastCodec.declined)],
    [Schema.BigInt.ast, (value) => (typeof value === "bigint" ? String(value) : FastCodec.declined)]
  ]
})

const Payload = Schema.Struct({
  id: Schema.BigInt,
  name: Schema.String,
  short: Schema.String.pipe(Schema.maxLength(3)),
  count: Schema.Int.pipe(Schema.between(0, 100)),
  note: Schema.NullOr(Schema.String),
  flag: Schema.optionalWith(Schema.Boolean, { exact: true }),
  size: Schema.optionalWith(Schema.NullOr(Schema.BigInt), { exact: true })
})

const codec = FastCodec.compile(Payload, known)
const schemaDecode = Schema.decodeUnknownEither(Payload, { errors: "first" })
const schemaEncode = Schema.encodeUnknownEither(Payload)

/** The same Either: equal values with the same keys in the same order, or errors with the same message. */
const assertSame = (
  actual: Either.Either<object, ParseResult.ParseError>,
  expected: Either.Either<object, ParseResult.ParseError>
) => {
  assert.strictEqual(actual._tag, expected._tag)
  if (Either.isLeft(actual) && Either.isLeft(expected)) assert.strictEqual(actual.left.message, expected.left.message)
  if (Either.isRight(actual) && Either.isRight(expected)) {
    assert.deepStrictEqual(actual.right, expected.right)
    assert.deepStrictEqual(Object.keys(actual.right), Object.keys(expected.right))
  }
}

const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(null, "", "0", "-0", "007", "12", "x", "abcd", 0, -1, 100, 101, 1.5, true, false, [], {}),
  fc.integer(),
  fc.string(),
  fc.bigInt(),
  fc.jsonValue()
)
const fieldNames = ["id", "name", "short", "count", "note", "flag", "size", "other"] as const

/** A valid encoded payload with one field changed, dropped or added. */
const encodedPayloads = fc
  .tuple(
    Arbitrary.make(Schema.encodedSchema(Payload)),
    fc.constantFrom(...fieldNames),
    fc.option(anyValue, { nil: undefined, freq: 3 })
  )
  .map(([valid, field, value]): unknown => {
    if (value === undefined) return Object.fromEntries(Object.entries(valid).filter(([key]) => key !== field))
    return { ...valid, [field]: value }
  })

describe("FastCodec", () => {
  it.prop(
    "decodes exactly as the Schema decodes, valid or not",
    [fc.oneof(encodedPayloads, anyValue)],
    ([payload]) => assertSame(codec.decode(payload), schemaDecode(payload)),
    { fastCheck: fuzzParameters(500) }
  )

  it.prop(
    "encodes exactly as the Schema encodes, valid or not",
    [
      fc.tuple(
        Arbitrary.make(Schema.typeSchema(Payload)),
        fc.constantFrom(...fieldNames),
        fc.option(fc.oneof(anyValue, fc.bigInt()), { nil: undefined, freq: 3 })
      )
    ],
    ([[value, field, change]]) => {
      const changed: object = change === undefined ? value : { ...value, [field]: change }
      assertSame(codec.encode(changed), schemaEncode(changed))
    },
    { fastCheck: fuzzParameters(500) }
  )

  it("takes the fast path for a well-formed payload, and leaves unknown keys out", () => {
    let reads = 0
    const counting = FastCodec.tables({
      readers: [...known.readers].map(([ast, read]) => [ast, (value: unknown) => (reads++, read(value))] as const),
      writers: known.writers
    })
    const decoded = FastCodec.compile(Payload, counting).decode({
      other: 1,
      note: null,
      id: "18446744073709551615",
      name: "n",
      short: "abc",
      count: 7
    })
    assert.deepStrictEqual(
      decoded,
      Either.right({ id: 18446744073709551615n, name: "n", short: "abc", count: 7, note: null })
    )
    // id, name, short and count; a null note needs no reader.
    assert.strictEqual(reads, 4)
  })

  it("declines what it does not know: the Schema alone decides", () => {
    const Unknown = Schema.Struct({ when: Schema.DateFromString })
    const fast = FastCodec.structConverter(Unknown.ast, FastCodec.converterOf(known.readers, "decode"))
    assert.isUndefined(fast)
    const union = FastCodec.compile(Schema.Union(Schema.Struct({ a: Schema.String }), Payload), known)
    assert.deepStrictEqual(union.decode({ a: "x" }), Either.right({ a: "x" }))
    const ast: AST.AST = Schema.Struct({ a: Schema.String }).ast
    assert.isDefined(FastCodec.structConverter(ast, FastCodec.converterOf(FastCodec.neutral.readers, "decode")))
  })
})
