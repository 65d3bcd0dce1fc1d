import { assert, describe, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { fuzzParameters } from "../../../test/kit/fuzz.js"
import * as CloseCode from "../src/CloseCode.js"

const fatal = [3001, 3002, 3004, 1002, 1003, 1007, 1009]
const retry = [3000, 3003, 3005, 1000, 1001, 1006, 1011]

/** The close frame payload: the code as a big-endian u16, then the UTF-8 reason. */
const closePayload = (close: CloseCode.Close): string => {
  const reason = Buffer.from(close.reason, "utf8")
  const payload = Buffer.alloc(2 + reason.length)
  payload.writeUInt16BE(close.code, 0)
  reason.copy(payload, 2)
  return payload.toString("hex")
}

describe("CloseCode", () => {
  it("classifies the spec §5 table", () => {
    for (const code of fatal) assert.isFalse(CloseCode.isRetryable(code), String(code))
    for (const code of retry) assert.isTrue(CloseCode.isRetryable(code), String(code))
    for (const code of [...fatal, ...retry]) assert.isUndefined(CloseCode.minimumDelayOf(code), String(code))
    assert.sameMembers(
      Object.keys(CloseCode.table).map(Number),
      [...fatal, ...retry],
      "the table names exactly the spec's codes"
    )
  })

  it("names the codes, and treats unnamed ones like 3005", () => {
    assert.strictEqual(CloseCode.nameOf(3004), "AccessKeyRevoked")
    assert.strictEqual(CloseCode.nameOf(3003), "PingTimeout")
    assert.strictEqual(CloseCode.nameOf(1009), "MessageTooBig")
    assert.strictEqual(CloseCode.nameOf(4000), "Unknown")
    assert.isFalse(CloseCode.isKnown(1005))
    assert.isTrue(CloseCode.isKnown(1006))
    for (const code of [1005, 3006, 4000, 4999, 0]) assert.isTrue(CloseCode.isRetryable(code))
  })

  it("#16: the 3004 close payload", () => {
    assert.strictEqual(closePayload(CloseCode.server.keyRevoked), "0bbc616363657373206b6579207265766f6b6564")
    assert.strictEqual(closePayload(CloseCode.server.keyRevoked).length, 40)
  })

  it("the server's closes use the spec's codes and reasons", () => {
    const { server } = CloseCode
    const pairs = (close: CloseCode.Close) => [close.code, close.reason]
    assert.deepStrictEqual(pairs(server.binaryFramesOnlyAtAuth), [3001, "unauthorized: binary frames only"])
    assert.deepStrictEqual(pairs(server.malformedAuth), [3001, "unauthorized: malformed authentication message"])
    assert.deepStrictEqual(pairs(server.invalidKey), [3001, "unauthorized: invalid access key"])
    assert.deepStrictEqual(pairs(server.authTimedOut), [3001, "authentication timed out"])
    assert.deepStrictEqual(pairs(server.versionMismatch(-1)), [
      3002,
      "version mismatch: server supports 0, client sent -1"
    ])
    assert.deepStrictEqual(pairs(server.pingTimeout(32_000)), [3003, "ping timeout: no ping for 32 seconds"])
    assert.deepStrictEqual(pairs(server.pingTimeout(32_001)), [3003, "ping timeout: no ping for 33 seconds"])
    assert.deepStrictEqual(pairs(server.pingTimeout(1)), [3003, "ping timeout: no ping for 1 seconds"])
    assert.deepStrictEqual(pairs(server.keyRevoked), [3004, "access key revoked"])
    assert.deepStrictEqual(pairs(server.serverError), [3005, "server error"])
    assert.deepStrictEqual(pairs(server.shuttingDown), [1001, "server shutting down"])
    assert.deepStrictEqual(pairs(server.binaryFramesOnly), [1003, "binary frames only"])
    assert.deepStrictEqual(pairs(server.protocolError("unknown packet id 0x05")), [1002, "unknown packet id 0x05"])
    assert.deepStrictEqual(pairs(server.messageTooBig), [1009, "message too big"])
  })

  it.prop(
    "isRetryable: false exactly for 3001, 3002, 3004, 1002, 1003, 1007, 1009",
    [FastCheck.oneof(FastCheck.constantFrom(...fatal, ...retry), FastCheck.integer({ min: 0, max: 65535 }))],
    ([code]) => {
      assert.strictEqual(CloseCode.isRetryable(code), !fatal.includes(code))
    },
    { fastCheck: fuzzParameters() }
  )

  it.prop(
    "every reason fits a close frame (at most 123 UTF-8 bytes)",
    [FastCheck.integer({ min: -128, max: 127 }), FastCheck.integer({ min: 1, max: 24 * 3_600_000 })],
    ([version, millis]) => {
      const { server } = CloseCode
      for (const close of [
        server.binaryFramesOnlyAtAuth,
        server.malformedAuth,
        server.invalidKey,
        server.authTimedOut,
        server.versionMismatch(version),
        server.pingTimeout(millis),
        server.keyRevoked,
        server.serverError,
        server.shuttingDown,
        server.binaryFramesOnly,
        server.messageTooBig
      ]) {
        assert.isAtMost(Buffer.byteLength(close.reason, "utf8"), 123)
        assert.isAbove(close.reason.length, 0)
      }
      assert.isTrue(server.pingTimeout(millis).reason.startsWith("ping timeout"))
    },
    { fastCheck: fuzzParameters() }
  )
})
