import * as Json from "@protokernel/wire/Json"
import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import { fuzzParameters } from "../../../test/kit/fuzz.js"
import {
  decimalLiteral,
  integerLiteral,
  jsonParses,
  jsonText,
  nearJsonText,
  show,
  toNumbers
} from "../../../test/kit/json.js"
import { left, right } from "../../../test/kit/unwrap.js"

const MAX = "18446744073709551615"

/** Both parsers, which must agree on every text. */
const parseBoth = (text: string): Either.Either<unknown, Json.JsonError> => {
  const fast = Json.parse(text)
  const lossless = Json.parseLossless(text)
  assert.strictEqual(fast._tag, lossless._tag, `fast and lossless paths disagree on ${JSON.stringify(text)}`)
  if (Either.isRight(fast) && Either.isRight(lossless)) assert.strictEqual(show(fast.right), show(lossless.right))
  return fast
}

const assertJsonError = (error: Json.JsonError) => {
  assert.instanceOf(error, Json.JsonError)
  assert.strictEqual(error._tag, "JsonError")
  assert.isTrue(error.message.startsWith("invalid JSON: "), error.message)
}

describe("Json.parse", () => {
  it("keeps every digit of integers above 2^53 − 1, as bigints", () => {
    assert.strictEqual(show(right(Json.parse(MAX))), `${MAX}n`)
    assert.strictEqual(
      show(right(Json.parse(`{"type":18,"payload":{"id":${MAX}}}`))),
      `{"type":18,"payload":{"id":${MAX}n}}`
    )
    assert.strictEqual(
      show(right(Json.parse("[9007199254740991,9007199254740992,9007199254740993]"))),
      "[9007199254740991,9007199254740992n,9007199254740993n]"
    )
    assert.strictEqual(show(right(Json.parse("-9223372036854775809"))), "-9223372036854775809n")
    assert.strictEqual(show(right(Json.parse("1".repeat(400)))), `${"1".repeat(400)}n`)
  })

  it("keeps fractions and exponents as Decimals, never numbers", () => {
    for (const literal of ["8.0", "1e1", "8e0", "1E1", "1E+2", "-0.0", "0.5", "-0.5E-3", `${MAX}.0`, "1e400"]) {
      const parsed = right(parseBoth(`[${literal}]`))
      assert.isTrue(Array.isArray(parsed))
      const [value] = parsed as ReadonlyArray<unknown>
      assert.isTrue(Json.isDecimal(value), literal)
      assert.notStrictEqual(typeof value, "number")
      assert.strictEqual(show(value), `Decimal(${literal})`)
      assert.strictEqual(Json.stringifyLossless(parsed), `[${literal}]`)
    }
    assert.isFalse(Json.isDecimal(8))
    assert.isFalse(Json.isDecimal({ value: "8.0" }))
  })

  it("gives -0 for -0, as JSON.parse does", () => {
    assert.strictEqual(show(right(parseBoth("-0"))), "-0")
    assert.strictEqual(show(right(parseBoth("[-0,0]"))), "[-0,0]")
  })

  it("keeps the last of duplicate keys, in the first key's place, on both paths", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ['{"a":1,"b":2,"a":3}', '{"a":3,"b":2}'],
      ['{"a":1,"b":2,"a":1}', '{"a":1,"b":2}'],
      ['{"a":1.5,"a":1.50}', '{"a":Decimal(1.50)}'],
      [`{"id":${MAX},"id":1}`, '{"id":1}'],
      [`{"id":1,"id":${MAX}}`, `{"id":${MAX}n}`],
      ['{"a":{"x":1},"a":[2]}', '{"a":[2]}'],
      ['{"a":1,"\\u0061":2}', '{"a":2}']
    ]
    for (const [text, expected] of cases) {
      assert.strictEqual(show(right(parseBoth(text))), expected, text)
      assert.strictEqual(show(JSON.parse(text)), show(toNumbers(right(Json.parse(text)))), text)
    }
  })

  it("keeps __proto__ as an ordinary key and never changes the prototype", () => {
    for (const text of [
      '{"__proto__":{"polluted":1}}',
      '{"__proto__":1,"a":2}',
      `{"__proto__":{"x":${MAX}}}`,
      '{"\\u005f_proto__":[1.5]}'
    ]) {
      const parsed = right(parseBoth(text))
      assert.isTrue(show(parsed).startsWith('{"__proto__":'), show(parsed))
      assert.strictEqual(Object.getPrototypeOf(parsed), Object.prototype)
      assert.isUndefined(({} as { readonly polluted?: unknown }).polluted)
    }
  })

  it("reports bad JSON as a JsonError that quotes none of the text", () => {
    const secret = "hunter2hunter2"
    for (const text of [
      "",
      " ",
      "{",
      "nul",
      "01",
      "1.",
      ".5",
      "-",
      "+1",
      "[1,]",
      '{"a":1,}',
      "true false",
      "\u00a01",
      "\ufeff1",
      '"\u0001"',
      '"\\x"',
      "NaN",
      "Infinity",
      "undefined",
      `{"password":${secret}}`,
      `{"password":"${secret}" ${secret}}`,
      `{"password":"${secret}",}`,
      `[12345678901234567,${secret}]`,
      `${secret}`
    ]) {
      const error = left(parseBoth(text))
      assertJsonError(error)
      assertJsonError(left(Json.parseLossless(text)))
      assert.isFalse(jsonParses(text), text)
      assert.notInclude(error.message, secret)
      assert.notInclude(error.message, secret.slice(1, 4))
      assert.strictEqual(error.detail, left(Json.parseLossless(text)).detail)
    }
  })

  it("never throws on deep nesting", () => {
    for (const depth of [100, 1000, 20_000]) {
      for (const inner of ["1", "1.5", MAX]) {
        const text = "[".repeat(depth) + inner + "]".repeat(depth)
        const parsed = Json.parse(text)
        assert.isTrue(Either.isEither(parsed))
        if (depth <= 1000) assert.isTrue(Either.isRight(parsed), `depth ${depth}`)
      }
    }
  })

  it.prop(
    "agrees with JSON.parse on JSON.stringify texts of arbitrary JSON values (numbers compared as JSON.parse reads them)",
    [fc.jsonValue()],
    ([value]) => {
      const text = JSON.stringify(value)
      const parsed = right(parseBoth(text))
      assert.strictEqual(show(toNumbers(parsed)), show(JSON.parse(text)))
    },
    { fastCheck: fuzzParameters() }
  )

  it.prop(
    "fast and lossless paths agree on texts with big integers, decimals, duplicate and __proto__ keys",
    [jsonText],
    ([text]) => {
      const parsed = right(parseBoth(text))
      assert.strictEqual(show(toNumbers(parsed)), show(JSON.parse(text)))
    },
    { fastCheck: fuzzParameters() }
  )

  it.prop(
    "integer literals come back exact: a number when safe, else a bigint",
    [integerLiteral],
    ([literal]) => {
      const parsed = right(parseBoth(`{"n":${literal}}`))
      const value = (parsed as { readonly n: unknown }).n
      const exact = BigInt(literal)
      if (typeof value === "number") {
        assert.isTrue(Number.isSafeInteger(value), literal)
        assert.strictEqual(BigInt(value), exact)
        assert.strictEqual(Object.is(value, -0), literal === "-0")
      } else {
        assert.strictEqual(value, exact)
        assert.isFalse(Number.isSafeInteger(Number(exact)), literal)
      }
    },
    { fastCheck: fuzzParameters() }
  )

  it.prop(
    "number literals with a fraction or an exponent come back as Decimals holding their source text",
    [decimalLiteral],
    ([literal]) => {
      const parsed = right(parseBoth(`{"n":${literal}}`))
      assert.strictEqual(show(parsed), `{"n":Decimal(${literal})}`)
    },
    { fastCheck: fuzzParameters() }
  )

  it.prop(
    "never throws on arbitrary strings: a Right exactly when JSON.parse accepts the text",
    [fc.oneof(fc.string(), fc.fullUnicodeString(), fc.string16bits(), nearJsonText)],
    ([text]) => {
      const parsed = parseBoth(text)
      assert.strictEqual(Either.isRight(parsed), jsonParses(text), JSON.stringify(text))
      if (Either.isLeft(parsed)) {
        assertJsonError(parsed.left)
        assert.strictEqual(parsed.left.detail, left(Json.parseLossless(text)).detail)
      } else {
        assert.strictEqual(show(toNumbers(parsed.right)), show(JSON.parse(text)))
      }
    },
    { fastCheck: fuzzParameters() }
  )
})

describe("Json.stringify", () => {
  it("prints bigints with every digit, never quoted, anywhere in a value", () => {
    assert.strictEqual(Json.stringify(18446744073709551615n), MAX)
    assert.strictEqual(
      Json.stringify({ type: 18, payload: { id: 18446744073709551615n, list: [2n ** 64n, -(2n ** 63n)] } }),
      `{"type":18,"payload":{"id":${MAX},"list":[18446744073709551616,-9223372036854775808]}}`
    )
    assert.strictEqual(Json.stringify(10n ** 100n), `1${"0".repeat(100)}`)
  })

  it("leaves undefined properties out and writes compact text on both paths", () => {
    assert.strictEqual(Json.stringify({ a: undefined, b: 1, c: [undefined] }), '{"b":1,"c":[null]}')
    assert.strictEqual(Json.stringify({ a: undefined, b: 1n, c: [undefined] }), '{"b":1,"c":[null]}')
    assert.strictEqual(Json.stringifyLossless({ a: undefined, b: 1, c: [undefined] }), '{"b":1,"c":[null]}')
  })

  it.prop(
    "prints bigints of any size with every digit",
    [fc.bigInt({ min: -(2n ** 256n), max: 2n ** 256n }), fc.jsonValue({ maxDepth: 2 })],
    ([n, other]) => {
      assert.strictEqual(Json.stringify({ n, other }), `{"n":${n.toString()},"other":${JSON.stringify(other)}}`)
      assert.strictEqual(Json.stringify([n]), `[${n.toString()}]`)
      assert.strictEqual(
        show(right(Json.parse(Json.stringify([n])))),
        show([Number.isSafeInteger(Number(n)) ? Number(n) : n])
      )
    },
    { fastCheck: fuzzParameters() }
  )

  it.prop(
    "escapes strings and keys exactly as JSON.stringify, on the fast and the bigint path",
    [fc.oneof(fc.string(), fc.fullUnicodeString(), fc.string16bits())],
    ([s]) => {
      const plain = { [s]: s, list: [s] }
      const expected = JSON.stringify(plain)
      assert.strictEqual(Json.stringify(plain), expected)
      assert.strictEqual(Json.stringifyLossless(plain), expected)
      // A bigint sends the whole value through lossless-json, which must escape the same way.
      assert.strictEqual(
        Json.stringify({ ...plain, big: 2n ** 64n }),
        `${expected.slice(0, -1)},"big":18446744073709551616}`
      )
      assert.strictEqual(
        show(right(Json.parse(Json.stringify({ ...plain, big: 2n ** 64n })))),
        show({ ...plain, big: 2n ** 64n })
      )
    },
    { fastCheck: fuzzParameters() }
  )

  it.prop(
    "is JSON.stringify on plain JSON values, and parse(stringify(v)) is v",
    [fc.jsonValue()],
    ([value]) => {
      assert.strictEqual(Json.stringify(value), JSON.stringify(value))
      assert.strictEqual(Json.stringifyLossless(value), JSON.stringify(value))
      assert.strictEqual(
        show(toNumbers(right(Json.parse(Json.stringify(value))))),
        show(JSON.parse(JSON.stringify(value)))
      )
    },
    { fastCheck: fuzzParameters() }
  )

  it.prop(
    "stringifyLossless(parse(text)) keeps every number literal as written",
    [jsonText],
    ([text]) => {
      const once = Json.stringifyLossless(right(Json.parse(text)))
      // Re-parsing the compact text gives the same values: no digit, fraction or exponent changes (-0 prints as 0).
      assert.strictEqual(show(right(Json.parse(once))), show(right(Json.parse(text)), false))
      assert.strictEqual(Json.stringifyLossless(right(Json.parse(once))), once)
    },
    { fastCheck: fuzzParameters() }
  )
})
