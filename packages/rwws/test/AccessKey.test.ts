import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck, Redacted } from "effect"
import { fuzzParameters } from "../../../test/kit/fuzz.js"
import * as AccessKey from "../src/AccessKey.js"
import { toHex } from "../../../test/kit/bytes.js"
import { left, right } from "../../../test/kit/unwrap.js"

const base64 = (data: Uint8Array) => Buffer.from(data).toString("base64")
const base64url = (data: Uint8Array) => Buffer.from(data).toString("base64url")
const decodeHex = (text: string) => {
  const bytes = AccessKey.decodeBase64(text)
  return bytes === undefined ? undefined : toHex(bytes)
}
const messageOf = (text: string) => left(AccessKey.decode(text)).message

describe("AccessKey.decodeBase64", () => {
  it("decodes standard base64, with or without padding", () => {
    assert.strictEqual(decodeHex("Kg=="), "2a")
    assert.strictEqual(decodeHex("Kg"), "2a")
    assert.strictEqual(decodeHex("Kgo="), "2a0a")
    assert.strictEqual(decodeHex("Kgo"), "2a0a")
    assert.strictEqual(decodeHex("AQID"), "010203")
    assert.strictEqual(decodeHex(""), "")
  })

  it("trims surrounding whitespace", () => {
    assert.strictEqual(decodeHex("  Kg==\n"), "2a")
    assert.strictEqual(decodeHex("\tKg\r\n"), "2a")
  })

  it("accepts the standard and URL-safe alphabets, mixed", () => {
    assert.strictEqual(decodeHex("+/+/"), "fbffbf")
    assert.strictEqual(decodeHex("-_-_"), "fbffbf")
    assert.strictEqual(decodeHex("+_-/"), "fbffbf")
    assert.strictEqual(decodeHex("AQ-_"), "010fbf")
    assert.strictEqual(decodeHex("AQ+/"), "010fbf")
  })

  it("ignores non-zero pad bits, as Node does: Kh== is 0x2a", () => {
    assert.strictEqual(decodeHex("Kh=="), "2a")
    assert.strictEqual(decodeHex("Kh"), "2a")
    assert.strictEqual(decodeHex("Kgp="), "2a0a")
    assert.strictEqual(toHex(Buffer.from("Kh==", "base64")), "2a")
  })

  it("rejects a length of 1 mod 4", () => {
    for (const text of ["A", "AAAAA", "Kg==A", "A=", "A==", "A==="]) assert.isUndefined(decodeHex(text), text)
  })

  it("rejects wrong or misplaced padding", () => {
    for (const text of [
      "Kg=",
      "Kg===",
      "Kgo==",
      "K===",
      "=Kg=",
      "K=g=",
      "Kg==Kg==",
      "====",
      "==",
      "=",
      "AAAA=",
      "AAAA=="
    ]) {
      assert.isUndefined(decodeHex(text), text)
    }
  })

  it("rejects any other character, including inner whitespace", () => {
    for (const text of ["Kg!=", "K g=", "Kg\n==", "Kg.A", "Kgé=", "Kg\u0000A", "Kg😀"]) {
      assert.isUndefined(decodeHex(text), text)
    }
  })
})

describe("AccessKey.decode", () => {
  it("accepts keys of 1..127 bytes", () => {
    assert.strictEqual(toHex(right(AccessKey.decode("Kg=="))), "2a")
    assert.strictEqual(toHex(right(AccessKey.decode(Redacted.make(" Kg ")))), "2a")
    const longest = new Uint8Array(127).fill(7)
    assert.strictEqual(toHex(right(AccessKey.decode(base64(longest)))), toHex(longest))
  })

  it("refuses invalid base64, empty and too-long keys with the spec's messages", () => {
    assert.strictEqual(messageOf("not base64!"), "access key is not valid base64")
    assert.strictEqual(messageOf("A"), "access key is not valid base64")
    assert.strictEqual(messageOf(""), "access key is empty")
    assert.strictEqual(messageOf("   \n"), "access key is empty")
    assert.strictEqual(messageOf(base64(new Uint8Array(128))), "access key is 128 bytes; rwws allows at most 127")
    assert.strictEqual(messageOf(base64(new Uint8Array(300))), "access key is 300 bytes; rwws allows at most 127")
    assert.strictEqual(messageOf("=="), "access key is not valid base64")
  })

  it("errors are tagged and never contain the key", () => {
    const key = base64(new Uint8Array(200).fill(0x41))
    const error = left(AccessKey.decode(Redacted.make(key)))
    assert.strictEqual(error._tag, "InvalidAccessKey")
    assert.strictEqual(error.reason, "TooLong")
    assert.strictEqual(error.byteLength, 200)
    assert.notInclude(error.message, key.slice(0, 8))
    assert.deepStrictEqual(
      [left(AccessKey.decode("*")).reason, left(AccessKey.decode("")).reason],
      ["NotBase64", "Empty"]
    )
  })

  it("generated keys are 32 bytes, 44 standard base64 characters", () => {
    const key = Redacted.value(AccessKey.generate())
    assert.strictEqual(key.length, 44)
    assert.match(key, /^[A-Za-z0-9+/]{43}=$/)
    assert.strictEqual(right(AccessKey.decode(key)).length, 32)
    assert.notStrictEqual(Redacted.value(AccessKey.generate()), key)
  })
})

describe("AccessKey properties", () => {
  const key = FastCheck.uint8Array({ minLength: 1, maxLength: 127 })
  // URL-safe or standard per character: both alphabets may be mixed.
  const mixAlphabets = (text: string, choices: ReadonlyArray<boolean>) =>
    [...text]
      .map((c, i) => (choices[i % Math.max(choices.length, 1)] ? c.replace("+", "-").replace("/", "_") : c))
      .join("")

  it.prop(
    "any 1..127-byte key survives base64 in every accepted form",
    [
      key,
      FastCheck.array(FastCheck.boolean(), { minLength: 1, maxLength: 8 }),
      FastCheck.constantFrom("", " ", "\n", "\t ")
    ],
    ([data, choices, space]) => {
      const expected = toHex(data)
      const padded = base64(data)
      for (const text of [padded, padded.replace(/=+$/, ""), base64url(data), mixAlphabets(padded, choices)]) {
        assert.strictEqual(toHex(right(AccessKey.decode(text))), expected, text)
        assert.strictEqual(toHex(right(AccessKey.decode(space + text + space))), expected, text)
      }
    },
    { fastCheck: fuzzParameters() }
  )

  const base64ish = FastCheck.string({
    unit: FastCheck.constantFrom(..."ABCDKghz0189+/-_=", " ", "\n", "!"),
    maxLength: 24
  })

  it.prop(
    "where decodeBase64 accepts, it agrees with Buffer.from(text, 'base64')",
    [FastCheck.oneof(base64ish, FastCheck.string({ maxLength: 24 }))],
    ([text]) => {
      const bytes = AccessKey.decodeBase64(text)
      if (bytes !== undefined) {
        assert.strictEqual(toHex(bytes), toHex(Buffer.from(text, "base64")))
        const body = text.trim().replace(/=+$/, "")
        assert.match(body, /^[A-Za-z0-9+/_-]*$/)
        assert.notStrictEqual(body.length % 4, 1)
        assert.strictEqual(bytes.length, Math.floor((body.length * 6) / 8))
      }
    },
    { fastCheck: fuzzParameters() }
  )

  it.prop(
    "decode is total over arbitrary strings",
    [FastCheck.oneof(FastCheck.string({ unit: "binary", maxLength: 200 }), base64ish)],
    ([text]) => {
      const result = AccessKey.decode(text)
      if (Either.isRight(result)) {
        assert.isAtLeast(result.right.length, 1)
        assert.isAtMost(result.right.length, 127)
      } else {
        assert.match(
          result.left.message,
          /^(access key is not valid base64|access key is empty|access key is \d+ bytes; rwws allows at most 127)$/
        )
      }
    },
    { fastCheck: fuzzParameters() }
  )
})
