import * as Envelope from "@protokernel/blazeauth/Envelope"
import * as Field from "@protokernel/blazeauth/Field"
import * as PanelEvent from "@protokernel/blazeauth/PanelEvent"
import * as Status from "@protokernel/blazeauth/Status"
import * as Usecase from "@protokernel/blazeauth/Usecase"
import * as Json from "@protokernel/wire/Json"
import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck as fc, Option, ParseResult, Schema } from "effect"
import { fuzzParameters } from "../../../test/kit/fuzz.js"
import { jsonText, show } from "../../../test/kit/json.js"
import { left, right } from "../../../test/kit/unwrap.js"
import * as Spec from "./support/spec.js"

type Payload = { readonly [key: string]: unknown }

/**
 * §1.3: each row is a JSON text and what it decodes to as u64 (`offset`, `size`: 0..2^53 − 1), i64 (±(2^53 − 1))
 * and int32; `null` means rejected.
 */
const integerTable: ReadonlyArray<
  readonly [text: string, u53: number | null, i53: number | null, int32: number | null]
> = [
  ["0", 0, 0, 0],
  ["-0", null, 0, 0],
  ["1", 1, 1, 1],
  ["-1", null, -1, -1],
  ["2147483647", 2147483647, 2147483647, 2147483647],
  ["2147483648", 2147483648, 2147483648, null],
  ["-2147483648", null, -2147483648, -2147483648],
  ["-2147483649", null, -2147483649, null],
  ["9007199254740991", 9007199254740991, 9007199254740991, null],
  ["-9007199254740991", null, -9007199254740991, null],
  ["9007199254740992", null, null, null],
  ["-9007199254740992", null, null, null],
  ["18446744073709551615", null, null, null],
  ["8.0", null, null, null],
  ["8e0", null, null, null],
  ["1E1", null, null, null],
  ["0.5", null, null, null],
  ["-0.0", null, null, null],
  ['"8"', 8, 8, null],
  ['"007"', 7, 7, null],
  ['"0"', 0, 0, null],
  ['"-8"', null, -8, null],
  ['"-0"', null, 0, null],
  ['"9007199254740991"', 9007199254740991, 9007199254740991, null],
  ['"-9007199254740991"', null, -9007199254740991, null],
  ['"9007199254740992"', null, null, null],
  ['"18446744073709551615"', null, null, null],
  ['"00000000000000000001"', 1, 1, null],
  ['"000000000000000000001"', null, null, null],
  ['"-000000000000000000001"', null, null, null],
  ['""', null, null, null],
  ['"-"', null, null, null],
  ['" 1"', null, null, null],
  ['"1 "', null, null, null],
  ['"+1"', null, null, null],
  ['"--1"', null, null, null],
  ['"0x10"', null, null, null],
  ['"1.5"', null, null, null],
  ['"1e3"', null, null, null],
  ["null", null, null, null],
  ["true", null, null, null],
  ["[]", null, null, null],
  ["[1]", null, null, null],
  ["{}", null, null, null]
]

const wireTypes = [
  ["u53", Field.u53FromJson, Schema.decodeUnknownEither(Field.U53), 1],
  ["i53", Field.i53FromJson, Schema.decodeUnknownEither(Field.I53), 2],
  ["int32", Field.int32FromJson, Schema.decodeUnknownEither(Field.Int32), 3]
] as const

const parsed = (text: string): unknown => right(Json.parse(text))

describe("Integer wire types (§1.3)", () => {
  for (const [name, fromJson, decode, column] of wireTypes) {
    it(`${name}: the accept/reject table, for the reader and the Schema alike`, () => {
      for (const row of integerTable) {
        const [text] = row
        const expected = row[column]
        const read = fromJson(parsed(text))
        const decoded = decode(parsed(text))
        if (expected === null) {
          assert.isTrue(Option.isNone(read), `${name} ${text}`)
          assert.instanceOf(left(decoded), ParseResult.ParseError)
        } else {
          // -0 comes back as 0.
          assert.isTrue(Object.is(Option.getOrThrow(read), expected), `${name} ${text}`)
          assert.isTrue(Object.is(right(decoded), expected), `${name} ${text}`)
        }
      }
    })
  }

  it("encodes integers as themselves (a number, never a string)", () => {
    assert.strictEqual(right(Schema.encodeEither(Field.U53)(9007199254740991)), 9007199254740991)
    assert.strictEqual(right(Schema.encodeEither(Field.I53)(-5)), -5)
    assert.strictEqual(right(Schema.encodeEither(Field.Int32)(-2147483648)), -2147483648)
    assert.isTrue(Either.isLeft(Schema.encodeEither(Field.U53)(-1)))
    assert.isTrue(Either.isLeft(Schema.encodeEither(Field.U53)(1.5)))
    assert.isTrue(Either.isLeft(Schema.encodeEither(Field.I53)(2 ** 53)))
    assert.isTrue(Either.isLeft(Schema.encodeEither(Field.Int32)(2 ** 31)))
  })

  it.prop(
    "the readers are total and agree with the rules written out",
    [fc.oneof(jsonText.map(parsed), fc.integer().map(String), fc.stringMatching(/^-?[0-9]{0,22}$/), fc.double())],
    ([value]) => {
      const integer = (n: unknown): n is number => typeof n === "number" && Number.isInteger(n)
      const digits = (s: unknown, signed: boolean): s is string =>
        typeof s === "string" && (signed ? /^-?[0-9]{1,20}$/ : /^[0-9]{1,20}$/).test(s)
      const within = (n: number, min: number, max: number) => n >= min && n <= max
      const u53 =
        (integer(value) && !Object.is(value, -0) && within(value, 0, Field.MAX_SAFE)) ||
        (digits(value, false) && within(Number(value), 0, Field.MAX_SAFE))
      const i53 =
        (integer(value) && within(value, -Field.MAX_SAFE, Field.MAX_SAFE)) ||
        (digits(value, true) && within(Number(value), -Field.MAX_SAFE, Field.MAX_SAFE))
      const int32 = integer(value) && within(value, -(2 ** 31), 2 ** 31 - 1)
      assert.strictEqual(Option.isSome(Field.u53FromJson(value)), u53, show(value))
      assert.strictEqual(Option.isSome(Field.i53FromJson(value)), i53, show(value))
      assert.strictEqual(Option.isSome(Field.int32FromJson(value)), int32, show(value))
      for (const [, fromJson, decode] of wireTypes) {
        assert.strictEqual(Either.isRight(decode(value)), Option.isSome(fromJson(value)))
      }
    },
    { fastCheck: fuzzParameters() }
  )
})

const payloadOf = (text: string): Payload => right(Envelope.decode(text)).payload

/** Every payload decoder with a valid payload from the spec's examples, for field substitutions. */
const decoders: ReadonlyArray<{
  readonly name: string
  readonly decode: (payload: unknown) => Either.Either<Payload, ParseResult.ParseError>
  readonly fields: ReadonlyArray<string>
  readonly valid: Payload
}> = [
  ...Usecase.all.flatMap((usecase) => {
    const spec = Spec.usecases[usecase.type]!
    const response =
      Spec.exampleOfType("response", usecase.type) ?? Spec.exampleOfType("header", Usecase.TransferFile.type)!
    return [
      {
        name: `${usecase.name} request`,
        decode: (payload: unknown) => Usecase.decodeRequest(usecase, payload),
        fields: spec.request,
        valid: payloadOf(Spec.exampleOfType("request", usecase.type)!)
      },
      {
        name: `${usecase.name} response`,
        decode: (payload: unknown) => Usecase.decodeResponse(usecase, payload),
        fields: spec.response,
        valid: payloadOf(response)
      }
    ]
  }),
  {
    name: "header",
    decode: Usecase.decodeHeader,
    fields: Spec.headerFields,
    valid: payloadOf(Spec.example("header", "§4.10"))
  },
  {
    name: "panel event payload",
    decode: Schema.decodeUnknownEither(PanelEvent.Payload),
    fields: Spec.panelEventFields,
    valid: payloadOf(Spec.example("event", "§5"))
  }
]

describe("Every integer field of every usecase has its §1.3 wire type", () => {
  it("and the table holds for it in place, inside a valid payload", () => {
    let checked = 0
    for (const { name, decode, fields, valid } of decoders) {
      right(decode(valid))
      for (const field of fields) {
        const kind = Spec.kinds[field]
        const column = kind === "u53" ? 1 : kind === "i53" ? 2 : kind === "int32" ? 3 : undefined
        if (column === undefined) continue
        for (const row of integerTable) {
          const [text] = row
          const expected = row[column]
          const decoded = decode({ ...valid, [field]: parsed(text) })
          const where = `${name} ${field} = ${text}`
          if (text === "null" && Spec.isNullable(name, field)) {
            assert.isNull(right(decoded)[field], where)
          } else if (expected === null) {
            assert.strictEqual(
              Usecase.describeError(left(decoded)),
              `["${field}"]: has the wrong type or is out of range`,
              where
            )
          } else {
            const value = right(decoded)[field]
            assert.isTrue(Object.is(value instanceof Status.Status ? value.code : value, expected), where)
          }
          checked++
        }
      }
    }
    // 14 integer fields over 40 decoders: make sure the loop did not silently skip them.
    assert.isAtLeast(checked, 30 * integerTable.length)
  })

  it("ids take the u64 rule with the full range, in every payload", () => {
    for (const { name, decode, valid } of decoders) {
      for (const [text, expected] of [
        ["18446744073709551615", 18446744073709551615n],
        ['"18446744073709551615"', 18446744073709551615n],
        ['"007"', 7n],
        ["9007199254740993", 9007199254740993n]
      ] as const) {
        assert.strictEqual(right(decode({ ...valid, id: parsed(text) }))["id"], expected, `${name} ${text}`)
      }
      for (const text of ["-1", "-0", "1.0", "1e0", "18446744073709551616", '"+1"', '""', "null"]) {
        assert.strictEqual(
          Usecase.describeError(left(decode({ ...valid, id: parsed(text) }))),
          '["id"]: has the wrong type or is out of range'
        )
      }
    }
  })

  it("string, boolean and levels fields reject the other JSON types", () => {
    for (const { name, decode, fields, valid } of decoders) {
      for (const field of fields) {
        const kind = name === "panel event payload" && field === "content" ? "string_map" : Spec.kinds[field]
        const wrong =
          kind === "string"
            ? [1, true, [], {}, parsed("1.5")]
            : kind === "boolean"
              ? [1, 0, "true", null, []]
              : kind === "levels"
                ? [1, "pro", true, parsed("8.0")]
                : []
        for (const value of wrong) {
          assert.strictEqual(
            Usecase.describeError(left(decode({ ...valid, [field]: value }))),
            `["${field}"]: has the wrong type or is out of range`,
            `${name} ${field} = ${show(value)}`
          )
        }
        if (Spec.isNullable(name, field)) assert.isNull(right(decode({ ...valid, [field]: null }))[field])
      }
    }
  })
})

describe("Field.length and minimum lengths count code points", () => {
  it("counts a surrogate pair once and a lone surrogate once", () => {
    assert.strictEqual(Field.length(""), 0)
    assert.strictEqual(Field.length("abcd"), 4)
    assert.strictEqual(Field.length("😀"), 1)
    assert.strictEqual(Field.length("a😀b"), 3)
    assert.strictEqual(Field.length("\ud800"), 1)
    assert.strictEqual(Field.length("\udc00\ud800"), 2)
    assert.strictEqual(Field.length("\ud800a"), 2)
    assert.strictEqual(Field.length("é"), 1)
  })

  it.prop(
    "agrees with the number of code points",
    [fc.oneof(fc.string16bits(), fc.fullUnicodeString())],
    ([text]) => assert.strictEqual(Field.length(text), [...text].length),
    { fastCheck: fuzzParameters() }
  )

  it("client_id needs 4 characters, key needs 1", () => {
    const initialize = (clientId: string) =>
      Usecase.decodeRequest(Usecase.Initialize, { id: 1, socket_api_key: "k", client_id: clientId })
    assert.isTrue(Either.isLeft(initialize("😀😀😀")))
    assert.isTrue(Either.isRight(initialize("😀😀😀😀")))
    assert.isTrue(Either.isLeft(initialize("abc")))
    assert.isTrue(Either.isRight(initialize("abcd")))
    assert.isTrue(Either.isLeft(Usecase.decodeRequest(Usecase.GetSessionValue, { id: 1, key: "" })))
    assert.isTrue(Either.isRight(Usecase.decodeRequest(Usecase.GetSessionValue, { id: 1, key: "😀" })))
    // The encoder refuses too, so a short client_id is never sent.
    const short = right(initialize("abcd"))
    assert.isTrue(Either.isLeft(Usecase.encodeRequest(Usecase.Initialize, { ...short, client_id: "abc" })))
  })
})

describe("Levels (§7)", () => {
  const levels = (text: string) => Schema.decodeUnknownEither(Field.Levels)(parsed(text))

  it("an array keeps its strings, in order, and drops the rest", () => {
    assert.deepStrictEqual(right(levels('["admin","pro","noob"]')), ["admin", "pro", "noob"])
    assert.deepStrictEqual(right(levels('["a",1,null,true,["b"],{"c":"d"},8.0,"e",18446744073709551615]')), ["a", "e"])
    assert.deepStrictEqual(right(levels("[]")), [])
  })

  it("an object gives its string values in Object.values order: integer-like keys first, ascending", () => {
    assert.deepStrictEqual(right(levels('{"tier":"pro"}')), ["pro"])
    assert.deepStrictEqual(right(levels('{"b":"x","2":"two","1":"one","a":5,"c":"y","10":"ten"}')), [
      "one",
      "two",
      "ten",
      "x",
      "y"
    ])
    assert.deepStrictEqual(right(levels('{"__proto__":"p","a":"q"}')), ["p", "q"])
    assert.deepStrictEqual(right(levels('{"a":"x","a":"y"}')), ["y"])
    assert.deepStrictEqual(right(levels("{}")), [])
  })

  it("null is empty; numbers, strings, booleans and decimals are failures", () => {
    assert.deepStrictEqual(right(levels("null")), [])
    for (const text of ["1", "0", '"pro"', "true", "8.0", "18446744073709551615"]) {
      assert.instanceOf(left(levels(text)), ParseResult.ParseError, text)
    }
  })

  it("always encodes an array of strings", () => {
    const response = right(
      Usecase.decodeResponse(
        Usecase.AuthByLicense,
        payloadOf('{"type":3,"payload":{"id":3,"levels":{"z":"pro","0":"a"},"status":1}}')
      )
    )
    assert.deepStrictEqual(response.levels, ["a", "pro"])
    assert.strictEqual(
      right(Usecase.encodeResponse(Usecase.AuthByLicense, response)),
      '{"type":3,"payload":{"id":3,"levels":["a","pro"],"status":1}}'
    )
    assert.deepStrictEqual(right(Schema.encodeEither(Field.Levels)(["a", "b"])), ["a", "b"])
    const mixed = right(
      Usecase.decodeResponse(
        Usecase.GetCurrentAccount,
        payloadOf('{"type":17,"payload":{"id":17,"levels":["a",1,null,"b",{"c":"d"}],"status":1}}')
      )
    )
    assert.deepStrictEqual(mixed.levels, ["a", "b"])
    for (const levels of ["null", "[]", "{}"]) {
      const empty = right(
        Usecase.decodeResponse(
          Usecase.GetCurrentAccount,
          payloadOf(`{"type":17,"payload":{"id":17,"levels":${levels}}}`)
        )
      )
      assert.deepStrictEqual(empty.levels, [])
    }
    assert.isUndefined(right(Usecase.decodeResponse(Usecase.GetCurrentAccount, { id: 17 })).levels)
  })

  it.prop(
    "decodes any JSON value without throwing: arrays and objects to their strings, null to [], the rest fails",
    [jsonText.map(parsed)],
    ([value]) => {
      const decoded = Schema.decodeUnknownEither(Field.Levels)(value)
      if (value === null) assert.deepStrictEqual(right(decoded), [])
      else if (Array.isArray(value))
        assert.deepStrictEqual(
          right(decoded),
          value.filter((v) => typeof v === "string")
        )
      else if (typeof value === "object" && !Json.isDecimal(value)) {
        assert.deepStrictEqual(
          right(decoded),
          Object.values(value).filter((v) => typeof v === "string")
        )
      } else assert.instanceOf(left(decoded), ParseResult.ParseError)
    },
    { fastCheck: fuzzParameters() }
  )
})

describe("Panel event content (§5)", () => {
  const contentOf = (content: string) =>
    right(
      PanelEvent.decode(
        payloadOf(`{"type":18,"payload":{"id":18446744073709551615,"event_type":2,"content":${content}}}`)
      )
    ).content

  it("keeps string entries, drops the others, and is {} when absent or not an object", () => {
    assert.deepStrictEqual(contentOf('{"version":"1.2.3","n":1,"b":true,"x":null,"o":{},"d":8.0}'), {
      version: "1.2.3"
    })
    for (const content of ["null", "[]", '["a"]', '"a"', "1", "8.0", "true", "18446744073709551615"]) {
      assert.deepStrictEqual(contentOf(content), {}, content)
    }
    const absent = right(PanelEvent.decode({ id: 18446744073709551615n, event_type: 2 }))
    assert.deepStrictEqual(absent.content, {})
  })

  it("keeps a __proto__ key as an ordinary entry, and writes it back", () => {
    const content = contentOf('{"__proto__":"x","a":"b"}')
    assert.strictEqual(show(content), '{"__proto__":"x","a":"b"}')
    assert.strictEqual(Object.getPrototypeOf(content), Object.prototype)
    assert.strictEqual(
      PanelEvent.encode(new PanelEvent.PanelEvent({ eventType: 2, content }, { disableValidation: true })),
      '{"type":18,"payload":{"id":18446744073709551615,"event_type":2,"content":{"__proto__":"x","a":"b"}}}'
    )
  })

  it("fails only on a missing or non-int32 event_type; numbers outside 0..14 are delivered as unknown", () => {
    const event = (eventType: string) =>
      PanelEvent.decode(payloadOf(`{"type":18,"payload":{"id":18446744073709551615,"event_type":${eventType}}}`))
    assert.isTrue(right(event("0")).isKnown)
    assert.isTrue(right(event("14")).isKnown)
    assert.isFalse(right(event("15")).isKnown)
    assert.isFalse(right(event("-1")).isKnown)
    assert.strictEqual(right(event("-0")).eventType, 0)
    assert.isTrue(Option.isNone(right(event("2")).name))
    for (const eventType of ['"2"', "2.0", "null", "2147483648", "true"]) {
      assert.instanceOf(left(event(eventType)), ParseResult.ParseError, eventType)
    }
    assert.instanceOf(left(PanelEvent.decode({ id: 18446744073709551615n })), ParseResult.ParseError)
  })
})
