import { CloseReason } from "@protokernel/wire"
import { assert, describe, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { fuzzParameters } from "../../../test/kit/fuzz.js"

const utf8 = (s: string) => Buffer.byteLength(s, "utf8")

describe("CloseReason.truncate", () => {
  it("keeps short reasons and cuts long ones at a character boundary", () => {
    assert.strictEqual(CloseReason.truncate("access key revoked"), "access key revoked")
    assert.strictEqual(CloseReason.truncate("a".repeat(200)), "a".repeat(123))
    // 3-byte characters: 41 fit exactly, 4-byte ones: 30 fit (120 bytes).
    assert.strictEqual(CloseReason.truncate("€".repeat(50)), "€".repeat(41))
    assert.strictEqual(CloseReason.truncate("😀".repeat(40)), "😀".repeat(30))
  })

  it.prop(
    "the result is a prefix of at most 123 bytes, and as long as possible",
    [FastCheck.string({ unit: "binary", maxLength: 200 })],
    ([reason]) => {
      const cut = CloseReason.truncate(reason)
      const wellFormed = Buffer.from(reason, "utf8").toString("utf8")
      assert.isAtMost(utf8(cut), CloseReason.maxBytes)
      assert.isTrue(wellFormed.startsWith(cut) || reason.startsWith(cut))
      if (utf8(reason) <= CloseReason.maxBytes) assert.strictEqual(cut, reason)
      else assert.isAbove(utf8(cut), CloseReason.maxBytes - 4)
    },
    { fastCheck: fuzzParameters() }
  )

  it("knows which codes can be sent", () => {
    assert.deepStrictEqual([1000, 1002, 1009, 1011, 3004, 4999].map(CloseReason.isSendableCode), [
      true,
      true,
      true,
      true,
      true,
      true
    ])
    assert.deepStrictEqual([999, 1004, 1005, 1006, 1015, 2999, 5000, 3000.5].map(CloseReason.isSendableCode), [
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      false
    ])
  })
})
