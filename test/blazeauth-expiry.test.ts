/**
 * End to end over real `ws` on 127.0.0.1: what happens when time passes on the server. Each test runs a
 * reference server whose clock it moves forward (`movableClock`: the server's readings jump, its sleeps
 * stay real), so licenses expire (101, 203) and session values lapse without waiting. The client keeps
 * the real clock; the server sends absolute expiries, so the client's readings do not depend on it.
 */
import { Client, Expiry, Model } from "@protokernel/blazeauth"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect, Option } from "effect"
import {
  type AppInput,
  connect,
  failsWith,
  freshClientId,
  movableClock,
  secret,
  startServerWithClock
} from "./support/blazeauth.js"

const KEY = "BA-E2E-TIMELY-00000001"
const PASSWORD = "strong-password"

const timely: AppInput = {
  api_key: KEY,
  name: "Timely",
  licenses: [
    { key: "TIME-LIC-01", levels: ["t1"], comment: "an hour", duration_seconds: 3600 },
    // Activated (bound to another device) when the server starts.
    { key: "TIME-LIC-02", activated: true, client_id: "time-device", duration_seconds: 3600 },
    { key: "TIME-LIC-03", account: "timed_user", levels: ["t3"], duration_seconds: 3600 },
    { key: "TIME-LIC-04", account: "two_user", levels: ["short"], duration_seconds: 3600 },
    { key: "TIME-LIC-05", account: "two_user", levels: ["long"], duration_seconds: 7200 },
    { key: "TIME-LIC-06", account: "mixed_user", levels: ["hour"], duration_seconds: 3600 },
    { key: "TIME-LIC-07", account: "mixed_user", levels: ["life"], duration_seconds: 0 }
  ],
  accounts: [
    { login: "timed_user", password: PASSWORD, license_required: true, levels: ["acct"], comment: "timed" },
    { login: "two_user", password: PASSWORD, license_required: true },
    { login: "mixed_user", password: PASSWORD, license_required: true, levels: ["m"] },
    { login: "plain_user", password: PASSWORD }
  ],
  variables: [{ name: "members_only", content: "still authorized", auth_required: true }]
}

const fixtures = { applications: [timely] }

const nowSeconds = Effect.map(Clock.currentTimeMillis, (millis) => Math.floor(millis / 1000))

const credentials = (login: string, license?: string): Client.Credentials => ({
  login,
  password: secret(PASSWORD),
  ...(license === undefined ? {} : { license: secret(license) })
})

describe("Blazeauth e2e: time passing on the server", () => {
  it.scopedLive("101: every license check rejects an expired license, before 105 and 501", () =>
    Effect.gen(function* () {
      const time = movableClock()
      const server = yield* startServerWithClock(fixtures, time.clock)
      const clientId = freshClientId()
      const holder = yield* connect(server.url, KEY, { clientId })
      const before = yield* nowSeconds
      const info = yield* holder.authByLicense(secret("TIME-LIC-01"))
      const at = info.expiry._tag === "At" ? info.expiry.expiresAt : 0
      assert.isTrue(at >= before + 3600 && at <= before + 3601, `expires at ${at}`)

      yield* time.advance("2 hours")

      // get_current_license: 101 with the license fields; the session stays authorized.
      const error = yield* failsWith(holder.getCurrentLicense, "get_current_license", "license_expired")
      assert.deepStrictEqual(yield* Client.licenseInfoOf(error), Option.some(info))
      const state = yield* holder.state
      assert.isTrue(state._tag === "Authorized" && state.kind === "license")
      assert.strictEqual(yield* holder.getVariable("members_only"), "still authorized")

      // The same client on a new connection: 101 (the license check comes before the client_id binding).
      const again = yield* connect(server.url, KEY, { clientId })
      yield* failsWith(again.authByLicense(secret("TIME-LIC-01")), "auth_by_license", "license_expired")
      // Activated and bound to another device: 101 comes before 501 and before 105.
      const other = yield* connect(server.url, KEY)
      yield* failsWith(other.authByLicense(secret("TIME-LIC-02")), "auth_by_license", "license_expired")
      yield* failsWith(
        other.createAccount({
          login: "late_user",
          password: secret(PASSWORD),
          credentialsType: 0,
          license: secret("TIME-LIC-02")
        }),
        "create_account",
        "license_expired"
      )
      yield* failsWith(
        other.authByCredentials(credentials("plain_user", "TIME-LIC-02")),
        "auth_by_credentials",
        "license_expired"
      )
      yield* other.authByCredentials(credentials("plain_user"))
      yield* failsWith(other.linkLicense(secret("TIME-LIC-02")), "link_license_to_account", "license_expired")
    })
  )

  it.scopedLive("203 once an account's last valid license expired; time_left is the latest valid expiry", () =>
    Effect.gen(function* () {
      const time = movableClock()
      const start = yield* nowSeconds
      const server = yield* startServerWithClock(fixtures, time.clock)
      const timed = yield* connect(server.url, KEY)
      const info = yield* timed.authByCredentials(credentials("timed_user"))
      assert.deepStrictEqual([info.levels, info.licenseRequired], [["acct", "t3"], true])
      const two = yield* (yield* connect(server.url, KEY)).authByCredentials(credentials("two_user"))
      const twoAt = two.expiry._tag === "At" ? two.expiry.expiresAt : 0
      assert.isTrue(twoAt >= start + 7200 && twoAt <= start + 7201, `expires at ${twoAt}`)
      assert.deepStrictEqual(two.levels, ["short", "long"])
      const mixed = yield* connect(server.url, KEY)
      const mixedInfo = yield* mixed.authByCredentials(credentials("mixed_user"))
      // A valid linked license that never expires: no expiry.
      assert.isTrue(Expiry.isNever(mixedInfo.expiry))
      assert.deepStrictEqual(mixedInfo.levels, ["m", "hour", "life"])

      yield* time.advance("90 minutes")

      // 203 carries the account fields, without time_left (no valid license to take it from).
      const error = yield* failsWith(timed.getCurrentAccount, "get_current_account", "account_has_no_valid_licenses")
      assert.deepStrictEqual(
        yield* Client.accountInfoOf(error),
        Option.some(
          new Model.AccountInfo({
            login: "timed_user",
            levels: ["acct"],
            comment: "timed",
            ipAddress: null,
            expiry: Expiry.never,
            licenseRequired: true
          })
        )
      )
      const state = yield* timed.state
      assert.isTrue(state._tag === "Authorized" && state.kind === "account")
      assert.strictEqual(yield* timed.getVariable("members_only"), "still authorized")
      const fresh = yield* connect(server.url, KEY)
      yield* failsWith(
        fresh.authByCredentials(credentials("timed_user")),
        "auth_by_credentials",
        "account_has_no_valid_licenses"
      )
      // The others keep a valid license; the expired one's levels are gone.
      const stillTwo = yield* fresh.authByCredentials(credentials("two_user"))
      assert.deepStrictEqual([stillTwo.levels, stillTwo.expiry], [["long"], two.expiry])
      const stillMixed = yield* mixed.getCurrentAccount
      assert.deepStrictEqual([stillMixed.levels, Expiry.isNever(stillMixed.expiry)], [["m", "life"], true])
    })
  )

  it.scopedLive("session values lapse at their ttl (rounded up to seconds); reading does not extend it", () =>
    Effect.gen(function* () {
      const time = movableClock()
      const server = yield* startServerWithClock(fixtures, time.clock)
      const client = yield* connect(server.url, KEY)
      yield* client.setSessionValue("short", "10 s", { ttl: "10 seconds" })
      yield* client.setSessionValue("round", "2 s", { ttl: "1500 millis" })
      yield* client.setSessionValue("long", "1 h", { ttl: Duration.hours(1) })
      yield* client.setSessionValue("default", "72 h")
      yield* client.setSessionValue("zero", "72 h too", { ttl: 0 })
      const read = (key: string) => client.getSessionValue(key)
      const gone = (key: string) => failsWith(read(key), "get_session_value", "session_value_not_found")

      yield* time.advance("1900 millis")
      assert.strictEqual(yield* read("round"), "2 s")
      yield* time.advance("200 millis")
      yield* gone("round")
      yield* time.advance("7500 millis")
      assert.strictEqual(yield* read("short"), "10 s")
      yield* time.advance("500 millis")
      yield* gone("short")
      assert.strictEqual(yield* read("long"), "1 h")
      yield* time.advance(Duration.subtract(Duration.hours(72), Duration.minutes(1)))
      yield* gone("long")
      assert.deepStrictEqual([yield* read("default"), yield* read("zero")], ["72 h", "72 h too"])
      yield* time.advance("2 minutes")
      yield* gone("default")
      yield* gone("zero")
      // An expired entry no longer counts against the store.
      yield* client.setSessionValue("big", "b".repeat(16384))
      assert.strictEqual((yield* read("big")).length, 16384)
    })
  )
})
