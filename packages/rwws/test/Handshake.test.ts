import { assert, describe, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { fuzzParameters } from "../../../test/kit/fuzz.js"
import * as AccessKey from "../src/AccessKey.js"
import * as CloseCode from "../src/CloseCode.js"
import * as Handshake from "../src/Handshake.js"
import { fromHex, toHex } from "../../../test/kit/bytes.js"
import { left, right } from "../../../test/kit/unwrap.js"

const key32 = Uint8Array.from({ length: 32 }, (_, i) => i + 1)
const vector2 = "b6c40020" + "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"

const malformed = { code: 3001, reason: "unauthorized: malformed authentication message" }
const closeOf = (frame: string | Uint8Array) => {
  const close = left(Handshake.decodeAuth(frame))
  assert.instanceOf(close, CloseCode.Close)
  return { code: close.code, reason: close.reason }
}

describe("Handshake hello", () => {
  it("#1: the hello is 6d 73", () => {
    assert.strictEqual(toHex(Handshake.hello), "6d73")
    assert.isTrue(Handshake.isHello(fromHex("6d 73")))
  })

  it("anything else is not the hello", () => {
    for (const frame of ["", "6d", "73 6d", "6d 73 00", "6d 74", "00 6d 73"]) {
      assert.isFalse(Handshake.isHello(fromHex(frame)), frame)
    }
    assert.isFalse(Handshake.isHello("ms"))
  })
})

describe("Handshake auth", () => {
  it("#2: a 32-byte key, from standard and URL-safe base64", () => {
    assert.strictEqual(toHex(Handshake.encodeAuth(key32)), vector2)
    assert.strictEqual(Handshake.encodeAuth(key32).length, 36)
    for (const text of [
      "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=",
      "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA"
    ]) {
      assert.strictEqual(toHex(Handshake.encodeAuth(right(AccessKey.decode(text)))), vector2)
    }
    assert.strictEqual(toHex(right(Handshake.decodeAuth(fromHex(vector2)))), toHex(key32))
  })

  it("#6: a 1-byte key", () => {
    for (const text of ["Kg==", "Kg"]) {
      assert.strictEqual(toHex(Handshake.encodeAuth(right(AccessKey.decode(text)))), "b6c400012a")
    }
    assert.strictEqual(toHex(right(Handshake.decodeAuth(fromHex("b6 c4 00 01 2a")))), "2a")
  })

  it("a 127-byte key is the longest", () => {
    const key = Uint8Array.from({ length: 127 }, (_, i) => 255 - i)
    const frame = Handshake.encodeAuth(key)
    assert.strictEqual(toHex(frame.subarray(0, 4)), "b6c4007f")
    assert.strictEqual(toHex(right(Handshake.decodeAuth(frame))), toHex(key))
  })

  it("#7: version 1 is a version mismatch (3002)", () => {
    assert.deepStrictEqual(closeOf(fromHex("b6 c4 01 20" + vector2.slice(8))), {
      code: 3002,
      reason: "version mismatch: server supports 0, client sent 1"
    })
  })

  it("the version is reported as a signed byte", () => {
    const reasonFor = (version: number) => closeOf(Uint8Array.of(0xb6, 0xc4, version, 0x01, 0x2a)).reason
    assert.strictEqual(reasonFor(0xff), "version mismatch: server supports 0, client sent -1")
    assert.strictEqual(reasonFor(0x80), "version mismatch: server supports 0, client sent -128")
    assert.strictEqual(reasonFor(0x7f), "version mismatch: server supports 0, client sent 127")
  })

  it("a version mismatch wins over a malformed rest", () => {
    for (const frame of [
      "b6 c4 01",
      "b6 c4 ff",
      "b6 c4 05 00",
      "b6 c4 02 80 01",
      "b6 c4 01 01 2a 00",
      "b6 c4 01 20 01 02"
    ]) {
      assert.strictEqual(closeOf(fromHex(frame)).code, 3002, frame)
    }
  })

  it("but not over bad magic", () => {
    assert.deepStrictEqual(closeOf(fromHex("00 c4 01 01 2a")), malformed)
    assert.deepStrictEqual(closeOf(fromHex("b6 00 01 01 2a")), malformed)
  })

  it("#8: bad magic", () => {
    assert.deepStrictEqual(closeOf(fromHex("00 c4 00 01 2a")), malformed)
    assert.deepStrictEqual(closeOf(fromHex("c4 b6 00 01 2a")), malformed)
  })

  it("#9: a length that does not match, zero, or negative", () => {
    assert.deepStrictEqual(closeOf(fromHex("b6 c4 00 20 01 02")), malformed)
    assert.deepStrictEqual(closeOf(fromHex("b6 c4 00 00")), malformed)
    assert.deepStrictEqual(closeOf(Uint8Array.of(0xb6, 0xc4, 0x00, 0x80, ...new Uint8Array(128))), malformed)
    assert.deepStrictEqual(closeOf(Uint8Array.of(0xb6, 0xc4, 0x00, 0xff, 0x2a)), malformed)
  })

  it("#10: a trailing byte", () => {
    assert.deepStrictEqual(closeOf(fromHex("b6 c4 00 01 2a 00")), malformed)
  })

  it("short and empty messages are malformed", () => {
    for (const frame of ["", "b6", "b6 c4", "b6 c4 00", "b6 c4 00 01"]) {
      assert.deepStrictEqual(closeOf(fromHex(frame)), malformed, frame)
    }
  })

  it("a text message is refused (3001, binary frames only)", () => {
    for (const frame of ["", "hello", "\u00b6\u00c4\u0000\u0001*"]) {
      assert.deepStrictEqual(closeOf(frame), { code: 3001, reason: "unauthorized: binary frames only" })
    }
  })
})

describe("Handshake properties", () => {
  const anyKey = FastCheck.uint8Array({ minLength: 1, maxLength: 127 })

  it.prop(
    "encodeAuth/decodeAuth round-trip any key of 1..127 bytes",
    [anyKey],
    ([key]) => {
      const frame = Handshake.encodeAuth(key)
      assert.strictEqual(frame.length, 4 + key.length)
      assert.strictEqual(toHex(frame.subarray(0, 4)), "b6c400" + key.length.toString(16).padStart(2, "0"))
      assert.strictEqual(toHex(right(Handshake.decodeAuth(frame))), toHex(key))
    },
    { fastCheck: fuzzParameters() }
  )

  // Mostly near-valid frames: right magic, version usually 0, a length byte near the key length.
  const authLike = FastCheck.record({
    magic: FastCheck.oneof(FastCheck.constant([0xb6, 0xc4]), FastCheck.array(FastCheck.nat(255), { maxLength: 2 })),
    version: FastCheck.oneof(FastCheck.constant([0]), FastCheck.array(FastCheck.nat(255), { maxLength: 1 })),
    length: FastCheck.array(FastCheck.nat(255), { maxLength: 1 }),
    key: FastCheck.uint8Array({ maxLength: 130 })
  }).map(({ key, length, magic, version }) => Uint8Array.of(...magic, ...version, ...length, ...key))
  const anyFrame = FastCheck.oneof(FastCheck.uint8Array({ maxLength: 140 }), authLike)

  it.prop(
    "decodeAuth is total over bytes and follows the check order",
    [anyFrame],
    ([frame]) => {
      const result = Handshake.decodeAuth(frame)
      const magicOk = frame.length >= 2 && frame[0] === 0xb6 && frame[1] === 0xc4
      const signed = (byte: number) => (byte > 127 ? byte - 256 : byte)
      if (result._tag === "Right") {
        assert.isTrue(magicOk)
        assert.strictEqual(frame[2], 0)
        assert.strictEqual(signed(frame[3]!), frame.length - 4)
        assert.isAtLeast(result.right.length, 1)
        assert.isAtMost(result.right.length, 127)
        assert.strictEqual(toHex(result.right), toHex(frame.subarray(4)))
      } else {
        const close = result.left
        assert.instanceOf(close, CloseCode.Close)
        assert.isAbove(close.reason.length, 0)
        if (magicOk && frame.length > 2 && frame[2] !== 0) {
          assert.deepStrictEqual(
            { code: close.code, reason: close.reason },
            { code: 3002, reason: `version mismatch: server supports 0, client sent ${signed(frame[2]!)}` }
          )
        } else {
          assert.deepStrictEqual({ code: close.code, reason: close.reason }, malformed)
        }
      }
    },
    { fastCheck: fuzzParameters() }
  )

  it.prop(
    "decodeAuth is total over strings: always 3001 binary frames only",
    [FastCheck.string({ unit: "binary", maxLength: 200 })],
    ([text]) => {
      assert.deepStrictEqual(closeOf(text), { code: 3001, reason: "unauthorized: binary frames only" })
    },
    { fastCheck: fuzzParameters() }
  )
})
