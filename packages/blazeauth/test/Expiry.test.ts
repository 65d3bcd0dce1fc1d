import * as Expiry from "@protokernel/blazeauth/Expiry"
import * as Usecase from "@protokernel/blazeauth/Usecase"
import { assert, describe, it } from "@effect/vitest"
import { Duration, FastCheck as fc } from "effect"
import { fuzzParameters } from "../../../test/kit/fuzz.js"
import { right } from "../../../test/kit/unwrap.js"

const receivedAt = 1_767_000_000

describe("Expiry.fromTimeLeft (§7.1)", () => {
  it("follows the table: absent or 0 never, ≥ 10^9 absolute, positive relative, negative already expired", () => {
    const cases: ReadonlyArray<readonly [number | undefined, Expiry.Expiry]> = [
      [undefined, Expiry.never],
      [0, Expiry.never],
      [-0, Expiry.never],
      [1, Expiry.at(receivedAt + 1)],
      [86400, Expiry.at(receivedAt + 86400)],
      [999_999_999, Expiry.at(receivedAt + 999_999_999)],
      [1_000_000_000, Expiry.at(1_000_000_000)],
      [1_767_225_600, Expiry.at(1_767_225_600)],
      [Number.MAX_SAFE_INTEGER, Expiry.at(Number.MAX_SAFE_INTEGER)],
      [-1, Expiry.at(receivedAt)],
      [-1_767_225_600, Expiry.at(receivedAt)],
      [-Number.MAX_SAFE_INTEGER, Expiry.at(receivedAt)]
    ]
    for (const [timeLeft, expected] of cases) {
      assert.deepStrictEqual(Expiry.fromTimeLeft(timeLeft, receivedAt), expected, String(timeLeft))
    }
    assert.strictEqual(Expiry.ABSOLUTE_THRESHOLD, 1_000_000_000)
  })

  it("reads time_left from a decoded response: the example's value is absolute", () => {
    const response = right(
      Usecase.decodeResponse(Usecase.AuthByLicense, {
        id: 3,
        license: "ABCDEF-123456",
        time_left: 1767225600,
        status: 1
      })
    )
    assert.deepStrictEqual(Expiry.fromTimeLeft(response.time_left, receivedAt), Expiry.at(1767225600))
    const relative = right(Usecase.decodeResponse(Usecase.GetCurrentLicense, { id: 16, time_left: "86400", status: 1 }))
    assert.deepStrictEqual(Expiry.fromTimeLeft(relative.time_left, receivedAt), Expiry.at(receivedAt + 86400))
    const absent = right(Usecase.decodeResponse(Usecase.GetCurrentAccount, { id: 17, status: 203 }))
    assert.isTrue(Expiry.isNever(Expiry.fromTimeLeft(absent.time_left, receivedAt)))
  })

  it("toTimeLeft writes the absolute form, or 0", () => {
    assert.strictEqual(Expiry.toTimeLeft(Expiry.never), 0)
    assert.strictEqual(Expiry.toTimeLeft(Expiry.at(1767225600)), 1767225600)
    assert.deepStrictEqual(
      Expiry.fromTimeLeft(Expiry.toTimeLeft(Expiry.at(1767225600)), receivedAt),
      Expiry.at(1767225600)
    )
  })
})

describe("Expiry.remaining", () => {
  it("is max(0, expiresAt − now), and infinite for no expiry", () => {
    assert.isTrue(Duration.equals(Expiry.remaining(Expiry.never, receivedAt), Duration.infinity))
    assert.isTrue(Duration.equals(Expiry.remaining(Expiry.at(receivedAt + 90), receivedAt), Duration.seconds(90)))
    assert.isTrue(Duration.equals(Expiry.remaining(Expiry.at(receivedAt), receivedAt), Duration.zero))
    assert.isTrue(Duration.equals(Expiry.remaining(Expiry.at(receivedAt - 5), receivedAt), Duration.zero))
    // A negative time_left is already expired at the moment it is received.
    assert.isTrue(Duration.equals(Expiry.remaining(Expiry.fromTimeLeft(-30, receivedAt), receivedAt), Duration.zero))
    assert.isTrue(
      Duration.equals(Expiry.remaining(Expiry.fromTimeLeft(30, receivedAt), receivedAt + 10), Duration.seconds(20))
    )
  })

  it.prop(
    "for any i64 time_left and any later now: never negative, and relative values count down from received_at",
    [fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }), fc.nat({ max: 10 ** 9 })],
    ([timeLeft, elapsed]) => {
      const expiry = Expiry.fromTimeLeft(timeLeft, receivedAt)
      const remaining = Expiry.remaining(expiry, receivedAt + elapsed)
      if (timeLeft === 0) return assert.isTrue(Expiry.isNever(expiry))
      assert.isTrue(Expiry.isAt(expiry))
      assert.isAtLeast(Duration.toMillis(remaining), 0)
      const expiresAt = timeLeft >= 1e9 ? timeLeft : timeLeft > 0 ? receivedAt + timeLeft : receivedAt
      assert.strictEqual(Duration.toMillis(remaining), Math.max(0, expiresAt - (receivedAt + elapsed)) * 1000)
    },
    { fastCheck: fuzzParameters() }
  )
})
