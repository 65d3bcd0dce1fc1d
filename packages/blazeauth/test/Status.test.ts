import * as Envelope from "@protokernel/blazeauth/Envelope"
import * as Status from "@protokernel/blazeauth/Status"
import * as Usecase from "@protokernel/blazeauth/Usecase"
import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, FastCheck as fc, ParseResult, Schema } from "effect"
import { fuzzParameters } from "../../../test/kit/fuzz.js"
import { left, right } from "../../../test/kit/unwrap.js"

/** §6, the canonical table, verbatim. */
const table: ReadonlyArray<readonly [number, Status.KnownName]> = [
  [0, "none"],
  [1, "ok"],
  [2, "invalid_api_key"],
  [3, "not_authorized"],
  [4, "already_initialized"],
  [5, "too_many_requests"],
  [6, "internal_server_error"],
  [7, "session_value_not_found"],
  [8, "already_authorized"],
  [9, "rate_limited"],
  [10, "sessions_quota_exceeded"],
  [11, "blacklists_quota_exceeded"],
  [12, "accounts_quota_exceeded"],
  [100, "license_invalid"],
  [101, "license_expired"],
  [102, "license_paused"],
  [103, "license_blacklisted"],
  [104, "license_already_linked"],
  [105, "license_already_activated"],
  [110, "license_activations_limit_reached"],
  [200, "account_not_found"],
  [201, "account_blacklisted"],
  [202, "account_already_exists"],
  [203, "account_has_no_valid_licenses"],
  [204, "account_requires_license"],
  [205, "account_login_too_long"],
  [206, "account_login_too_short"],
  [207, "account_password_too_short"],
  [216, "account_credentials_type_invalid"],
  [300, "file_not_found"],
  [304, "file_storage_quota_exceeded"],
  [305, "file_invalid_name"],
  [308, "file_transfer_stopped"],
  [309, "resume_token_invalid"],
  [310, "file_invalid_offset"],
  [400, "variable_not_found"],
  [401, "variable_paused"],
  [404, "variable_name_too_long"],
  [500, "client_id_too_long"],
  [501, "client_id_mismatch"],
  [502, "client_id_blacklisted"],
  [504, "session_key_too_long"],
  [507, "session_value_too_long"]
]

/** Numbers that Appendix A decodes as unknown, and others nobody names. */
const unknownCodes = [
  13, 99, 106, 111, 208, 209, 211, 217, 301, 302, 303, 306, 307, 311, 402, 403, 503, 505, 506, 600, 700, -1, 2147483647,
  -2147483648
]

const decodeStatus = Schema.decodeUnknownEither(Status.StatusFromWire)

/** The status of a type-6 (logout) response whose status is `status` on the wire. */
const statusInResponse = (status: string) =>
  right(
    Usecase.decodeResponse(
      Usecase.Logout,
      right(Envelope.decode(`{"type":6,"payload":{"id":6,"status":${status}}}`)).payload
    )
  ).status

describe("Status (§1.4, §6, §7)", () => {
  it("knows exactly the codes of the table, by name", () => {
    assert.deepStrictEqual(
      Object.entries(Status.codes).map(([name, code]) => `${code} ${name}`),
      table.map(([code, name]) => `${code} ${name}`)
    )
  })

  it("decodes every table code to its name, keeping the code", () => {
    for (const [code, name] of table) {
      const status = right(decodeStatus(code))
      assert.strictEqual(status.code, code)
      assert.strictEqual(status.name, name)
      assert.strictEqual(status.toString(), `${name} (${code})`)
      assert.strictEqual(Status.fromCode(code), status)
      assert.strictEqual(Status.make(name), status)
      assert.isTrue(Status.is(name)(status))
      assert.strictEqual(statusInResponse(String(code))?.name, name)
    }
  })

  it("decodes 210 as account_blacklisted and keeps 210, on the wire too", () => {
    const status = right(decodeStatus(210))
    assert.strictEqual(status.name, "account_blacklisted")
    assert.strictEqual(status.code, 210)
    assert.strictEqual(status.toString(), "account_blacklisted (210)")
    assert.isTrue(Status.is("account_blacklisted")(status))
    assert.notStrictEqual(status, Status.make("account_blacklisted"))
    assert.strictEqual(Status.make("account_blacklisted").code, 201)
    const response = right(Usecase.decodeResponse(Usecase.Logout, { id: 6, status: 210 }))
    assert.strictEqual(
      right(Usecase.encodeResponse(Usecase.Logout, response)),
      '{"type":6,"payload":{"id":6,"status":210}}'
    )
  })

  it('decodes unknown codes to "unknown", shown as "unknown status (n)", and writes the number back', () => {
    for (const code of unknownCodes) {
      const status = right(decodeStatus(code))
      assert.strictEqual(status.name, "unknown")
      assert.strictEqual(status.code, code)
      assert.strictEqual(status.toString(), `unknown status (${code})`)
      assert.isFalse(status.isSuccess)
      assert.isTrue(Status.is("unknown")(status))
      assert.strictEqual(right(Schema.encodeEither(Status.StatusFromWire)(status)), code)
    }
  })

  it("0 and 1 are success, every other code is not", () => {
    assert.isTrue(Status.fromCode(0).isSuccess)
    assert.isTrue(Status.fromCode(1).isSuccess)
    assert.isTrue(Status.make("none").isSuccess)
    assert.isTrue(Status.make("ok").isSuccess)
    for (const [code] of table.filter(([code]) => code > 1))
      assert.isFalse(Status.fromCode(code).isSuccess, String(code))
    assert.isTrue(statusInResponse("-0")!.isSuccess)
    assert.isUndefined(right(Usecase.decodeResponse(Usecase.Logout, { id: 6 })).status)
  })

  it("is an int32 on the wire: strings, decimals, booleans and out-of-range numbers are the wrong type", () => {
    for (const value of ['"1"', "1.0", "1e0", "true", "null", "2147483648", "-2147483649", "18446744073709551615"]) {
      assert.strictEqual(
        Usecase.describeError(
          left(
            Usecase.decodeResponse(
              Usecase.Logout,
              right(Envelope.decode(`{"type":6,"payload":{"id":6,"status":${value}}}`)).payload
            )
          )
        ),
        '["status"]: has the wrong type or is out of range',
        value
      )
    }
    assert.instanceOf(left(decodeStatus("1")), ParseResult.ParseError)
  })

  it.prop(
    "any int32 decodes, never throws, and round-trips with its number",
    [fc.oneof(fc.integer(), fc.constantFrom(...table.map(([code]) => code), 210)), Arbitrary.make(Status.Status)],
    ([code, arbitrary]) => {
      const status = right(decodeStatus(code))
      assert.strictEqual(status.code, code)
      assert.strictEqual(
        status.name,
        Object.entries(Status.codes).find(([, c]) => c === code)?.[0] ??
          (code === 210 ? "account_blacklisted" : "unknown")
      )
      assert.strictEqual(status.isSuccess, code === 0 || code === 1)
      assert.strictEqual(right(Schema.encodeEither(Status.StatusFromWire)(status)), code)
      assert.deepStrictEqual(
        right(decodeStatus(right(Schema.encodeEither(Status.StatusFromWire)(arbitrary)))),
        arbitrary
      )
    },
    { fastCheck: fuzzParameters() }
  )
})
