/**
 * Status codes (docs/blazeauth.md §6) as data: one table from name to number. Decoding keeps the raw number next
 * to the name, maps the alias 210 to `account_blacklisted`, and turns any other number into the
 * `unknown` status. It never throws.
 *
 * @since 0.1.0
 */
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Field from "./Field.js"

/**
 * Every status the dialect names, by name.
 *
 * @since 0.1.0
 * @category constants
 */
export const codes = {
  none: 0,
  ok: 1,
  invalid_api_key: 2,
  not_authorized: 3,
  already_initialized: 4,
  too_many_requests: 5,
  internal_server_error: 6,
  session_value_not_found: 7,
  already_authorized: 8,
  rate_limited: 9,
  sessions_quota_exceeded: 10,
  blacklists_quota_exceeded: 11,
  accounts_quota_exceeded: 12,
  license_invalid: 100,
  license_expired: 101,
  license_paused: 102,
  license_blacklisted: 103,
  license_already_linked: 104,
  license_already_activated: 105,
  license_activations_limit_reached: 110,
  account_not_found: 200,
  account_blacklisted: 201,
  account_already_exists: 202,
  account_has_no_valid_licenses: 203,
  account_requires_license: 204,
  account_login_too_long: 205,
  account_login_too_short: 206,
  account_password_too_short: 207,
  account_credentials_type_invalid: 216,
  file_not_found: 300,
  file_storage_quota_exceeded: 304,
  file_invalid_name: 305,
  file_transfer_stopped: 308,
  resume_token_invalid: 309,
  file_invalid_offset: 310,
  variable_not_found: 400,
  variable_paused: 401,
  variable_name_too_long: 404,
  client_id_too_long: 500,
  client_id_mismatch: 501,
  client_id_blacklisted: 502,
  session_key_too_long: 504,
  session_value_too_long: 507
} as const

/**
 * The name of a known status.
 *
 * @since 0.1.0
 * @category models
 */
export type KnownName = keyof typeof codes

/**
 * The name of any status: a known one, or `"unknown"`.
 *
 * @since 0.1.0
 * @category models
 */
export type Name = KnownName | "unknown"

/** Numbers decoded under another number's name (Appendix A). */
const aliases: ReadonlyMap<number, KnownName> = new Map([[210, "account_blacklisted"]])

const names: ReadonlyMap<number, KnownName> = new Map([
  ...Object.entries(codes).map(([name, code]) => [code, name as KnownName] as const),
  ...aliases
])

/**
 * A status as received: the raw number and its name (`"unknown"` for numbers the dialect does not name).
 *
 * @since 0.1.0
 * @category models
 */
export class Status extends Schema.Class<Status>("@protokernel/blazeauth/Status")(
  {
    code: Schema.Int,
    name: Schema.String
  },
  {
    arbitrary: () => (fc) =>
      fc
        .oneof(fc.constantFrom(...Object.values(codes), 210), fc.integer({ min: -2147483648, max: 2147483647 }))
        .map(fromCode)
  }
) {
  /** Success: absent, 0 (`none`) or 1 (`ok`), docs/blazeauth.md §1.4. */
  get isSuccess(): boolean {
    return this.code === 0 || this.code === 1
  }

  override toString(): string {
    return this.name === "unknown" ? `unknown status (${this.code})` : `${this.name} (${this.code})`
  }
}

const cache = new Map<number, Status>()

/**
 * The status of a number; known numbers share one instance.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromCode = (code: number): Status => {
  const cached = cache.get(code)
  if (cached !== undefined) return cached
  const status = new Status({ code, name: names.get(code) ?? "unknown" })
  if (names.has(code)) cache.set(code, status)
  return status
}

/**
 * The status of a name.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (name: KnownName): Status => fromCode(codes[name])

/**
 * Whether a status has the given name.
 *
 * @since 0.1.0
 * @category guards
 */
export const is =
  (name: Name) =>
  (status: Status): boolean =>
    status.name === name

/**
 * The `status` field: an int32 ⇄ `Status`. Encoding writes the raw number back.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StatusFromWire: Schema.Schema<Status, number> = Schema.transformOrFail(
  Field.Int32,
  Schema.typeSchema(Status),
  {
    strict: true,
    decode: (code) => ParseResult.succeed(fromCode(code)),
    encode: (status) => ParseResult.succeed(status.code)
  }
).annotations({ identifier: "Status" })
