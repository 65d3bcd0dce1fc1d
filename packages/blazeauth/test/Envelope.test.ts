import * as Envelope from "@protokernel/blazeauth/Envelope"
import * as Json from "@protokernel/wire/Json"
import * as Uint64 from "@protokernel/wire/Uint64"
import { assert, describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc, Option } from "effect"
import { fuzzParameters } from "../../../test/kit/fuzz.js"
import { decimalLiteral, integerLiteral, jsonParses, jsonText, nearJsonText, show } from "../../../test/kit/json.js"
import { left, right } from "../../../test/kit/unwrap.js"

const faultOf = (text: string): Envelope.Fault => {
  const error = left(Envelope.decode(text))
  assert.instanceOf(error, Envelope.EnvelopeError)
  assert.strictEqual(error._tag, "EnvelopeError")
  assert.strictEqual(error.message, error.detail)
  return error.fault
}

describe("Envelope.decode classifies text frames (§1.5, §1.6 row 4)", () => {
  it("not JSON", () => {
    for (const text of ["", " ", "{", "nope", '{"type":1,"payload":{}', "{'type':1}", '{"type":01,"payload":{}}']) {
      assert.strictEqual(faultOf(text), "not_json", text)
    }
  })

  it("not an object", () => {
    for (const text of ["[]", '[{"type":1,"payload":{}}]', "null", "1", "8.0", '"x"', "true", Uint64.MAX.toString()]) {
      assert.strictEqual(faultOf(text), "not_object", text)
    }
  })

  it("type missing", () => {
    for (const text of ["{}", '{"payload":{"id":1}}', '{"Type":1,"payload":{}}', '{"payload":null}']) {
      assert.strictEqual(faultOf(text), "missing_type", text)
    }
  })

  it('type not a JSON integer: "8", 8.0, 8e0, 1E1, true, null, [8], {}', () => {
    for (const type of ['"8"', "8.0", "8e0", "1E1", "-0.0", "true", "null", "[8]", "{}", '""']) {
      assert.strictEqual(faultOf(`{"type":${type},"payload":{"id":1}}`), "invalid_type", type)
      // The type is checked before the payload.
      assert.strictEqual(faultOf(`{"type":${type}}`), "invalid_type", type)
    }
  })

  it("payload missing or not an object", () => {
    assert.strictEqual(faultOf('{"type":8}'), "missing_payload")
    assert.strictEqual(faultOf(`{"type":${Uint64.MAX}}`), "missing_payload")
    for (const payload of ["null", "[]", '[{"id":1}]', '"x"', "1", "1.5", "true", `${Uint64.MAX}`]) {
      assert.strictEqual(faultOf(`{"type":8,"payload":${payload}}`), "invalid_payload", payload)
      assert.strictEqual(faultOf(`{"type":99999999999999999999,"payload":${payload}}`), "invalid_payload", payload)
    }
  })

  it("accepts any JSON integer type: -0 is 0, and huge ones are outside 0..18", () => {
    const cases: ReadonlyArray<readonly [string, boolean]> = [
      ["0", true],
      ["-0", true],
      ["18", true],
      ["19", false],
      ["-1", false],
      ["2147483648", false],
      ["9007199254740991", false],
      ["9007199254740993", false],
      ["18446744073709551615", false],
      ["18446744073709551633", false],
      ["-18446744073709551616", false],
      ["1" + "0".repeat(40), false]
    ]
    for (const [type, known] of cases) {
      const envelope = right(Envelope.decode(`{"type":${type},"payload":{}}`))
      assert.isTrue(Number.isInteger(envelope.type), type)
      assert.strictEqual(Envelope.isKnownType(envelope.type), known, type)
    }
    assert.isTrue(Object.is(right(Envelope.decode('{"type":-0,"payload":{}}')).type, 0))
    for (let type = 0; type <= 18; type++) {
      assert.strictEqual(right(Envelope.decode(`{"payload":{"id":1},"type":${type}}`)).type, type)
    }
  })

  it("ignores key order, whitespace and other keys; the last of duplicate keys wins", () => {
    const envelope = right(
      Envelope.decode(' {\n"extra":[1.5],"payload" : {"x":1},\t"type":"1","type":8,"payload":{"id":2,"id":3} } ')
    )
    assert.strictEqual(envelope.type, 8)
    assert.deepStrictEqual(envelope.payload, { id: 3 })
    assert.strictEqual(faultOf('{"type":8,"type":8.0,"payload":{}}'), "invalid_type")
    assert.strictEqual(faultOf('{"type":8,"payload":{},"payload":null}'), "invalid_payload")
  })

  it("leaves payload values raw: big ids as bigints, decimals as Decimals", () => {
    const envelope = right(Envelope.decode(`{"type":18,"payload":{"id":${Uint64.MAX},"x":8.0,"y":"007"}}`))
    assert.strictEqual(envelope.payload["id"], Uint64.MAX)
    assert.isTrue(Json.isDecimal(envelope.payload["x"]))
    assert.strictEqual(envelope.payload["y"], "007")
  })
})

describe("Envelope.id", () => {
  it("reads payload.id as a uint64, or None when missing or invalid", () => {
    const idOf = (id: string) => Envelope.id(right(Envelope.decode(`{"type":0,"payload":{"id":${id}}}`)))
    assert.deepStrictEqual(idOf("7"), Option.some(Uint64.make(7n)))
    assert.deepStrictEqual(idOf('"007"'), Option.some(Uint64.make(7n)))
    assert.deepStrictEqual(idOf(Uint64.MAX.toString()), Option.some(Envelope.PUSH_ID))
    for (const id of ["-1", "-0", "1.5", "1e0", '"x"', '"+1"', "null", "18446744073709551616", "[1]"]) {
      assert.isTrue(Option.isNone(idOf(id)), id)
    }
    assert.isTrue(Option.isNone(Envelope.id(right(Envelope.decode('{"type":0,"payload":{}}')))))
    assert.strictEqual(Envelope.PUSH_ID, 18446744073709551615n)
  })
})

describe("Envelope.encode", () => {
  it("writes type, then payload, compact, ids with every digit", () => {
    assert.strictEqual(Envelope.encode(0, { id: 7 }), '{"type":0,"payload":{"id":7}}')
    assert.strictEqual(
      Envelope.encode(18, { id: Uint64.MAX, event_type: 2, content: {} }),
      '{"type":18,"payload":{"id":18446744073709551615,"event_type":2,"content":{}}}'
    )
    assert.strictEqual(
      Envelope.encode(13, { id: 1, content: '"\u2028</x>' }),
      '{"type":13,"payload":{"id":1,"content":"\\"\u2028</x>"}}'
    )
  })
})

/** How an arbitrary envelope-shaped text is built, so the expected fault follows from the labels. */
type TypeSpelling = "missing" | "integer" | "wrong"
type PayloadSpelling = "missing" | "object" | "wrong"

const typeValue: fc.Arbitrary<readonly [TypeSpelling, string | undefined]> = fc.oneof(
  fc.constant(["missing", undefined] as const),
  integerLiteral.map((literal) => ["integer", literal] as const),
  fc
    .oneof(
      decimalLiteral,
      integerLiteral.map((literal) => JSON.stringify(literal)),
      fc.constantFrom("true", "false", "null", "[]", "[8]", "{}", '{"type":8}')
    )
    .map((text) => ["wrong", text] as const)
)

const objectText = jsonText.filter((text) => text.trimStart().startsWith("{"))

const payloadValue: fc.Arbitrary<readonly [PayloadSpelling, string | undefined]> = fc.oneof(
  fc.constant(["missing", undefined] as const),
  objectText.map((text) => ["object", text] as const),
  jsonText.filter((text) => !text.trimStart().startsWith("{")).map((text) => ["wrong", text] as const)
)

const otherKeys = fc.array(
  fc.tuple(
    fc.constantFrom('"id"', '"Type"', '"payloads"', '"x"', '"__proto__"'),
    jsonText.filter((text) => jsonParses(text))
  ),
  { maxLength: 3 }
)

describe("Envelope.decode on arbitrary input", () => {
  it.prop(
    "envelope-shaped objects get exactly the fault their parts call for",
    [typeValue, payloadValue, otherKeys, fc.boolean()],
    ([[typeSpelling, type], [payloadSpelling, payload], others, payloadFirst]) => {
      const members = [
        ...(type === undefined ? [] : [`"type":${type}`]),
        ...(payload === undefined ? [] : [`"payload":${payload}`])
      ]
      if (payloadFirst) members.reverse()
      const text = `{${[...others.map(([key, value]) => `${key}:${value}`), ...members].join(",")}}`
      const decoded = Envelope.decode(text)
      const expected: Envelope.Fault | undefined =
        typeSpelling === "missing"
          ? "missing_type"
          : typeSpelling === "wrong"
            ? "invalid_type"
            : payloadSpelling === "missing"
              ? "missing_payload"
              : payloadSpelling === "wrong"
                ? "invalid_payload"
                : undefined
      if (expected !== undefined) {
        assert.strictEqual(left(decoded).fault, expected, text)
        return
      }
      const envelope = right(decoded)
      const exact = BigInt(type!)
      const known = exact >= 0n && exact <= 18n
      assert.strictEqual(Envelope.isKnownType(envelope.type), known, text)
      if (Number.isSafeInteger(Number(exact))) assert.isTrue(Object.is(envelope.type, Number(exact)), text)
      assert.strictEqual(show(envelope.payload), show(right(Json.parse(payload!))))
    },
    { fastCheck: fuzzParameters() }
  )

  it.prop(
    "never throws: a Right with an integer type and an object payload, or a Left with a fault",
    [fc.oneof(fc.string(), fc.fullUnicodeString(), nearJsonText, jsonText)],
    ([text]) => {
      const decoded = Envelope.decode(text)
      if (Either.isRight(decoded)) {
        assert.isTrue(Number.isSafeInteger(decoded.right.type))
        assert.isTrue(typeof decoded.right.payload === "object" && decoded.right.payload !== null)
        assert.isFalse(Array.isArray(decoded.right.payload))
        assert.isFalse(Json.isDecimal(decoded.right.payload))
      } else {
        assert.instanceOf(decoded.left, Envelope.EnvelopeError)
        assert.strictEqual(decoded.left.fault === "not_json", !jsonParses(text), text)
      }
    },
    { fastCheck: fuzzParameters() }
  )
})

describe("Envelope.decode with a leading 64-bit id", () => {
  /** What the lossless parser alone makes of the text. */
  const lossless = (text: string) =>
    Either.flatMap(
      Either.mapLeft(Json.parseLossless(text), () => "not_json"),
      (value) => Either.mapLeft(Envelope.fromJson(value), (error) => error.fault)
    )
  const decoded = (text: string) => Either.mapLeft(Envelope.decode(text), (error) => error.fault)

  it.each([
    '{"type":18,"payload":{"id":18446744073709551615,"event_type":2,"content":{"version":"1.2.3"}}}',
    '{"type":13,"payload":{"id":9007199254740993,"content":"x","status":1}}',
    '{"type":13,"payload":{"id":1234567890123456,"content":"x","status":1}}',
    '{"type":13,"payload":{"id":18446744073709551615}}',
    '{"type":13,"payload":{"id":18446744073709551615,"id":-1}}',
    '{"type":13,"payload":{"id":18446744073709551615},"payload":{"x":1}}',
    '{"type":13,"payload":{"id":18446744073709551615,"size":18446744073709551614}}',
    '{"type":13,"payload":{"id":18446744073709551615,"ratio":1.5}}',
    '{"type":13,"payload":{"id":18446744073709551615,"text":"\\"id\\": 1"},"type":2}',
    '{"type":13,"payload":{"id":18446744073709551615,}}',
    '{"type":13,"payload":{"id":184467440737095516150}}'
  ])("%s decodes as the lossless parser reads it", (text) => {
    expect(decoded(text)).toEqual(lossless(text))
  })

  it.prop(
    "canonical texts with a long id and arbitrary other fields decode as the lossless parser reads them",
    [
      fc.bigInt({ min: 10n ** 15n, max: 2n ** 64n }),
      fc.dictionary(fc.constantFrom("id", "payload", "content", "n", "type"), fc.jsonValue(), { maxKeys: 3 })
    ],
    ([id, extra]) => {
      const rest = Object.entries(extra)
        .map(([key, value]) => `,${JSON.stringify(key)}:${JSON.stringify(value)}`)
        .join("")
      const text = `{"type":18,"payload":{"id":${id}${rest}}}`
      expect(decoded(text)).toEqual(lossless(text))
    },
    { fastCheck: fuzzParameters(200) }
  )
})
