/**
 * Accounts and licenses on the reference server (docs/blazeauth.md §3.1 license checks, §3.2 #2–#6): every check in
 * its order, the creation throttle, activation and binding, merged levels and `time_left`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import {
  connect,
  demoApp,
  fixtures,
  initialized,
  initText,
  msg,
  statusOf,
  T0,
  withAccount,
  withLicense,
  withServer
} from "./support/server.js"
import type { RawClient } from "./support/server.js"

const create = (client: RawClient, id: number, fields: object) =>
  client.call(msg(2, { id, password: "strong-password", credentials_type: 0, ...fields }))

const created = (id: number, status: number) => msg(2, { id, status })

const licenseOk = (
  type: 3 | 16,
  id: number,
  fields: { license: string; levels: Array<string>; comment: string | null; ip: string | null; timeLeft: number },
  status = 1
) =>
  msg(type, {
    id,
    license: fields.license,
    levels: fields.levels,
    comment: fields.comment,
    ip_address: fields.ip,
    time_left: fields.timeLeft,
    status
  })

const accountOk = (
  type: 4 | 17,
  id: number,
  fields: {
    login: string
    levels: Array<string>
    comment: string | null
    ip: string | null
    timeLeft?: number
    licenseRequired: boolean
  },
  status = 1
) =>
  msg(type, {
    id,
    login: fields.login,
    levels: fields.levels,
    comment: fields.comment,
    ip_address: fields.ip,
    ...(fields.timeLeft === undefined ? {} : { time_left: fields.timeLeft }),
    license_required: fields.licenseRequired,
    status
  })

const credentials = (id: number, login: string, extra: object = {}, password = "strong-password", type = 0) =>
  msg(4, { id, login, password, ...extra, credentials_type: type })

describe("§3.2 #2 create_account: checks in order", () => {
  it.scoped("216 for credentials_type other than 0/1, or type 1 with a login that is not an e-mail", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      let id = 2
      // 216 is the first check: a short login and password do not matter.
      assert.strictEqual(
        yield* create(client, id, { login: "ab", password: "x", credentials_type: 2 }),
        created(id++, 216)
      )
      assert.strictEqual(yield* create(client, id, { login: "new_user", credentials_type: -1 }), created(id++, 216))
      for (const login of [
        "user",
        "a@b",
        "new_user",
        "user@example",
        "user@.com",
        "user@example.",
        "@example.com",
        "a b@example.com",
        "a\tb@example.com",
        "ab@example.com\n",
        "user@exa mple.com",
        "a@b@example.com",
        "demo_user"
      ]) {
        assert.strictEqual(yield* create(client, id, { login, credentials_type: 1 }), created(id++, 216), login)
      }
      // The shortest e-mail has 5 characters and passes.
      assert.strictEqual(yield* create(client, id, { login: "a@b.c", credentials_type: 1 }), created(id++, 1))
      assert.strictEqual(
        yield* create(client, id, { login: "x@sub.example.org", credentials_type: 1 }),
        created(id++, 1)
      )
    }).pipe(withServer())
  )

  it.scoped("206 login < 4, 205 login > 320 (code points), 207 password < 6, in that order", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(yield* create(client, 2, { login: "abc" }), created(2, 206))
      assert.strictEqual(yield* create(client, 3, { login: "😀😀😀" }), created(3, 206))
      assert.strictEqual(yield* create(client, 4, { login: "abc", password: "123" }), created(4, 206))
      assert.strictEqual(yield* create(client, 5, { login: "x".repeat(321) }), created(5, 205))
      assert.strictEqual(yield* create(client, 6, { login: "😀".repeat(321) }), created(6, 205))
      assert.strictEqual(yield* create(client, 7, { login: "x".repeat(321), password: "123" }), created(7, 205))
      assert.strictEqual(yield* create(client, 8, { login: "new_user", password: "12345" }), created(8, 207))
      // 207 comes before 202.
      assert.strictEqual(yield* create(client, 9, { login: "demo_user", password: "12345" }), created(9, 207))
      // An e-mail login is measured too: 216 passes, then 205.
      assert.strictEqual(
        yield* create(client, 12, { login: "a".repeat(316) + "@b.cd", credentials_type: 1 }),
        created(12, 205)
      )
      assert.strictEqual(yield* create(client, 10, { login: "x".repeat(320) }), created(10, 1))
      assert.strictEqual(yield* create(client, 11, { login: "😀😀😀😀", password: "😀😀😀😀😀😀" }), created(11, 1))
    }).pipe(withServer())
  )

  it.scoped("202 for a taken login (exact, case-sensitive match), before the license checks", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(yield* create(client, 2, { login: "demo_user" }), created(2, 202))
      assert.strictEqual(yield* create(client, 3, { login: "demo_user", license: "NOPE" }), created(3, 202))
      assert.strictEqual(yield* create(client, 4, { login: "Demo_user" }), created(4, 1))
      assert.strictEqual(yield* create(client, 5, { login: "Demo_user" }), created(5, 202))
    }).pipe(withServer())
  )

  it.scoped("204 when the application requires a license and none was given", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(yield* create(client, 2, { login: "new_user" }), created(2, 204))
      assert.strictEqual(yield* create(client, 3, { login: "new_user", license: null }), created(3, 204))
      // 202 comes first.
      assert.strictEqual(yield* create(client, 4, { login: "demo_user" }), created(4, 202))
      assert.strictEqual(yield* create(client, 5, { login: "new_user", license: "FRESH-000001" }), created(5, 1))
      // The new account requires a license, like the application; its license makes it valid.
      assert.strictEqual(
        yield* client.call(credentials(6, "new_user")),
        accountOk(4, 6, {
          login: "new_user",
          levels: ["gold"],
          comment: null,
          ip: "127.0.0.1",
          timeLeft: T0 + 3600,
          licenseRequired: true
        })
      )
    }).pipe(withServer({ fixtures: fixtures({ accounts_require_license: true }) }))
  )

  it.scoped("12 when the accounts quota is used up, after 204 and before the throttle and license checks", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      // Demo has 5 accounts; the quota is 6.
      assert.strictEqual(yield* create(client, 2, { login: "user_six" }), created(2, 1))
      assert.strictEqual(yield* create(client, 3, { login: "user_seven" }), created(3, 12))
      assert.strictEqual(yield* create(client, 4, { login: "user_seven", license: "NOPE" }), created(4, 12))
      assert.strictEqual(yield* create(client, 5, { login: "user_seven", license: "FRESH-000001" }), created(5, 12))
      assert.strictEqual(yield* create(client, 6, { login: "demo_user" }), created(6, 202))
    }).pipe(withServer({ fixtures: fixtures({ quotas: { accounts: 6 } }) }))
  )

  it.scoped("204 comes before 12", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(yield* create(client, 2, { login: "new_user" }), created(2, 204))
      assert.strictEqual(yield* create(client, 3, { login: "new_user", license: "FRESH-000001" }), created(3, 12))
    }).pipe(withServer({ fixtures: fixtures({ accounts_require_license: true, quotas: { accounts: 5 } }) }))
  )

  it.scoped("license given: 100, 103, 102, 101, then 104 and 105, in that order", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      yield* TestClock.adjust("60 seconds")
      const cases: ReadonlyArray<readonly [string, number]> = [
        ["ABCDE", 100],
        ["L".repeat(65), 100],
        ["NOPE-NOPE-NOPE", 100],
        ["abcdef-123456", 100],
        ["BLACK-000001", 103],
        ["PAUSED-00001", 102],
        // Activated and expired: 101 before 105.
        ["EXPIRING-001", 101],
        // Linked (and so activated): 104 before 105.
        ["LINKED-00001", 104],
        ["ACTIVE-00001", 105],
        ["BOUND-000001", 105]
      ]
      let id = 2
      for (const [license, status] of cases) {
        assert.strictEqual(yield* create(client, id, { login: `user_${id}`, license }), created(id++, status), license)
      }
      // None of them created an account.
      assert.strictEqual(yield* client.call(credentials(id, "user_2")), msg(4, { id, status: 200 }))
    }).pipe(withServer())
  )

  it.scoped("ok with a license: the account is created, the license linked, activated and bound to the client", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      yield* TestClock.adjust("100 seconds")
      assert.strictEqual(
        yield* create(client, 2, { login: "new_user", comment: "trial user", license: "FRESH-000001" }),
        created(2, 1)
      )
      // Creating does not authorize.
      assert.strictEqual(yield* client.call(msg(17, { id: 3 })), msg(17, { id: 3, status: 3 }))
      // Linked: auth_by_license refuses it, another creation and a link too.
      assert.strictEqual(yield* client.call(msg(3, { id: 4, license: "FRESH-000001" })), msg(3, { id: 4, status: 104 }))
      assert.strictEqual(yield* create(client, 5, { login: "user_two", license: "FRESH-000001" }), created(5, 104))
      assert.strictEqual(
        yield* client.call(credentials(6, "new_user")),
        accountOk(4, 6, {
          login: "new_user",
          levels: ["gold"],
          comment: "trial user",
          ip: "127.0.0.1",
          timeLeft: 0,
          licenseRequired: false
        })
      )
      // The clock of the license started at creation: get_current_account shows the same levels later.
      yield* TestClock.adjust("3599 seconds")
      assert.strictEqual(
        yield* client.call(msg(17, { id: 7 })),
        accountOk(17, 7, {
          login: "new_user",
          levels: ["gold"],
          comment: "trial user",
          ip: "127.0.0.1",
          timeLeft: 0,
          licenseRequired: false
        })
      )
      yield* TestClock.adjust("1 second")
      assert.strictEqual(
        yield* client.call(msg(17, { id: 8 })),
        accountOk(17, 8, {
          login: "new_user",
          levels: [],
          comment: "trial user",
          ip: "127.0.0.1",
          timeLeft: 0,
          licenseRequired: false
        })
      )
    }).pipe(withServer())
  )

  it.scoped("creating is allowed while authorized and leaves the identity unchanged", () =>
    Effect.gen(function* () {
      const client = yield* withLicense("LIFETIME-0001")
      assert.strictEqual(yield* create(client, 3, { login: "new_user", credentials_type: 0 }), created(3, 1))
      assert.strictEqual(
        yield* client.call(msg(16, { id: 4 })),
        licenseOk(16, 4, { license: "LIFETIME-0001", levels: ["life"], comment: null, ip: "127.0.0.1", timeLeft: 0 })
      )
      assert.strictEqual(yield* client.call(msg(17, { id: 5 })), msg(17, { id: 5, status: 3 }))
    }).pipe(withServer())
  )
})

describe("§3.2 #2 create_account: creation throttle (3 per sliding 24 h per IP)", () => {
  it.scoped("the 4th creation without a license gets 5 + retry_after; the window slides", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(yield* create(client, 2, { login: "user_one" }), created(2, 1))
      yield* TestClock.adjust("1 hour")
      assert.strictEqual(yield* create(client, 3, { login: "user_two" }), created(3, 1))
      yield* TestClock.adjust("1 hour")
      assert.strictEqual(yield* create(client, 4, { login: "user_three" }), created(4, 1))
      yield* TestClock.adjust("1 hour")
      assert.strictEqual(
        yield* create(client, 5, { login: "user_four" }),
        '{"type":2,"payload":{"id":5,"retry_after":75600,"status":5}}'
      )
      // Earlier checks still come first; a creation with a license is neither throttled nor counted.
      assert.strictEqual(yield* create(client, 6, { login: "demo_user" }), created(6, 202))
      assert.strictEqual(yield* create(client, 7, { login: "user_four", license: "FRESH-000001" }), created(7, 1))
      // Another connection from the same address is throttled too.
      const second = yield* initialized("second-device")
      assert.strictEqual(
        yield* create(second, 2, { login: "user_five" }),
        '{"type":2,"payload":{"id":2,"retry_after":75600,"status":5}}'
      )
      // retry_after is rounded up and at least 1.
      yield* TestClock.adjust("75599500 millis")
      assert.strictEqual(
        yield* create(client, 8, { login: "user_five" }),
        '{"type":2,"payload":{"id":8,"retry_after":1,"status":5}}'
      )
      // 24 h after the first creation, it leaves the window.
      yield* TestClock.adjust("500 millis")
      assert.strictEqual(yield* create(client, 9, { login: "user_five" }), created(9, 1))
      yield* TestClock.adjust("1 second")
      assert.strictEqual(
        yield* create(client, 10, { login: "user_six" }),
        '{"type":2,"payload":{"id":10,"retry_after":3599,"status":5}}'
      )
    }).pipe(withServer())
  )

  it.scoped("failed creations are not counted", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      for (let id = 2; id < 8; id++)
        assert.strictEqual(yield* create(client, id, { login: "demo_user" }), created(id, 202))
      for (let id = 8; id < 11; id++)
        assert.strictEqual(yield* create(client, id, { login: `user_${id}` }), created(id, 1))
      assert.strictEqual(statusOf(yield* create(client, 11, { login: "user_11" })), 5)
    }).pipe(withServer())
  )

  it.scoped("0 turns the throttle off; limit and window are configurable", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      for (let id = 2; id < 12; id++)
        assert.strictEqual(yield* create(client, id, { login: `user_${id}` }), created(id, 1))
    }).pipe(withServer({ options: { accountCreationLimit: 0 } }))
  )

  it.scoped("a configured limit of 1 per 10 s", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(yield* create(client, 2, { login: "user_one" }), created(2, 1))
      yield* TestClock.adjust("2500 millis")
      assert.strictEqual(
        yield* create(client, 3, { login: "user_two" }),
        '{"type":2,"payload":{"id":3,"retry_after":8,"status":5}}'
      )
      yield* TestClock.adjust("7500 millis")
      assert.strictEqual(yield* create(client, 4, { login: "user_two" }), created(4, 1))
    }).pipe(withServer({ options: { accountCreationLimit: 1, accountCreationWindow: "10 seconds" } }))
  )
})

describe("§3.2 #3 auth_by_license", () => {
  it.scoped("ok: the license's fields, the activation IP and an absolute time_left; then 8", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(
        yield* client.call(msg(3, { id: 2, license: "ABCDEF-123456" })),
        `{"type":3,"payload":{"id":2,"license":"ABCDEF-123456","levels":["pro"],"comment":"main seat","ip_address":"127.0.0.1","time_left":${T0 + 10 + 86400},"status":1}}`
      )
      // Already authorized: 8 before anything else, and the identity is unchanged.
      assert.strictEqual(yield* client.call(msg(3, { id: 3, license: "NOPE" })), msg(3, { id: 3, status: 8 }))
      assert.strictEqual(yield* client.call(msg(3, { id: 4, license: "LIFETIME-0001" })), msg(3, { id: 4, status: 8 }))
      assert.strictEqual(yield* client.call(credentials(5, "demo_user")), msg(4, { id: 5, status: 8 }))
      assert.strictEqual(
        yield* client.call(msg(16, { id: 6 })),
        licenseOk(16, 6, {
          license: "ABCDEF-123456",
          levels: ["pro"],
          comment: "main seat",
          ip: "127.0.0.1",
          timeLeft: T0 + 10 + 86400
        })
      )
    }).pipe(withServer())
  )

  it.scoped("a lifetime license has time_left 0 and a null comment", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(
        yield* client.call(msg(3, { id: 2, license: "LIFETIME-0001" })),
        '{"type":3,"payload":{"id":2,"license":"LIFETIME-0001","levels":["life"],"comment":null,"ip_address":"127.0.0.1","time_left":0,"status":1}}'
      )
      yield* TestClock.adjust("3650 days")
      assert.strictEqual(statusOf(yield* client.call(msg(16, { id: 3 }))), 1)
    }).pipe(withServer())
  )

  it.scoped("the license checks in order: 100 (length, unknown), 103, 102, 101", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      const cases: ReadonlyArray<readonly [string, number]> = [
        ["", 100],
        ["ABCDE", 100],
        ["L".repeat(65), 100],
        ["UNKNOWN-KEY", 100],
        ["abcdef-123456", 100],
        ["BLACK-000001", 103],
        ["PAUSED-00001", 102]
      ]
      let id = 2
      for (const [license, status] of cases) {
        assert.strictEqual(yield* client.call(msg(3, { id, license })), msg(3, { id: id++, status }), license)
      }
      yield* TestClock.adjust("59999 millis")
      assert.strictEqual(statusOf(yield* (yield* initialized()).call(msg(3, { id: 2, license: "EXPIRING-001" }))), 1)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(
        yield* client.call(msg(3, { id: 20, license: "EXPIRING-001" })),
        msg(3, { id: 20, status: 101 })
      )
    }).pipe(withServer())
  )

  it.scoped("the clock starts at activation: 101 once the duration has passed, for every later session", () =>
    Effect.gen(function* () {
      yield* TestClock.adjust("1000 seconds")
      const first = yield* initialized()
      assert.strictEqual(
        yield* first.call(msg(3, { id: 2, license: "SHORT-000060" })),
        licenseOk(3, 2, {
          license: "SHORT-000060",
          levels: ["short"],
          comment: null,
          ip: "127.0.0.1",
          timeLeft: T0 + 1060
        })
      )
      yield* TestClock.adjust("30 seconds")
      const second = yield* initialized()
      assert.strictEqual(
        yield* second.call(msg(3, { id: 2, license: "SHORT-000060" })),
        licenseOk(3, 2, {
          license: "SHORT-000060",
          levels: ["short"],
          comment: null,
          ip: "127.0.0.1",
          timeLeft: T0 + 1060
        })
      )
      yield* TestClock.adjust("30 seconds")
      const third = yield* initialized()
      assert.strictEqual(yield* third.call(msg(3, { id: 2, license: "SHORT-000060" })), msg(3, { id: 2, status: 101 }))
    }).pipe(withServer())
  )

  it.scoped("104 for a license linked to an account, before 501", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(yield* client.call(msg(3, { id: 2, license: "LINKED-00001" })), msg(3, { id: 2, status: 104 }))
      assert.strictEqual(yield* client.call(msg(3, { id: 3, license: "LINKBOUND-01" })), msg(3, { id: 3, status: 104 }))
    }).pipe(
      withServer({
        fixtures: fixtures({
          licenses: [
            ...(demoApp().licenses ?? []),
            { key: "LINKBOUND-01", account: "linked_user", client_id: "other-device", duration_seconds: 0 }
          ]
        })
      })
    )
  )

  it.scoped("501 for a license bound to another client_id; its own client gets it (seeded: no IP)", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(yield* client.call(msg(3, { id: 2, license: "BOUND-000001" })), msg(3, { id: 2, status: 501 }))
      const owner = yield* initialized("other-device")
      assert.strictEqual(
        yield* owner.call(msg(3, { id: 2, license: "BOUND-000001" })),
        licenseOk(3, 2, { license: "BOUND-000001", levels: [], comment: null, ip: null, timeLeft: T0 + 86400 })
      )
    }).pipe(withServer())
  )

  it.scoped("the first use binds the client_id and records the IP; another client then gets 501", () =>
    Effect.gen(function* () {
      yield* TestClock.adjust("100 seconds")
      const first = yield* initialized()
      const expected = licenseOk(3, 2, {
        license: "FRESH-000002",
        levels: ["silver"],
        comment: null,
        ip: "127.0.0.1",
        timeLeft: T0 + 100 + 7200
      })
      assert.strictEqual(yield* first.call(msg(3, { id: 2, license: "FRESH-000002" })), expected)
      yield* TestClock.adjust("100 seconds")
      const again = yield* initialized()
      assert.strictEqual(yield* again.call(msg(3, { id: 2, license: "FRESH-000002" })), expected)
      const stranger = yield* initialized("other-device")
      assert.strictEqual(
        yield* stranger.call(msg(3, { id: 2, license: "FRESH-000002" })),
        msg(3, { id: 2, status: 501 })
      )
    }).pipe(withServer())
  )

  it.scoped("10 when the authorized-sessions quota is used up, after the license checks and 501", () =>
    Effect.gen(function* () {
      const first = yield* withLicense("ABCDEF-123456")
      const second = yield* initialized()
      assert.strictEqual(yield* second.call(msg(3, { id: 2, license: "NOPE-NOPE" })), msg(3, { id: 2, status: 100 }))
      assert.strictEqual(yield* second.call(msg(3, { id: 3, license: "BOUND-000001" })), msg(3, { id: 3, status: 501 }))
      assert.strictEqual(yield* second.call(msg(3, { id: 4, license: "LIFETIME-0001" })), msg(3, { id: 4, status: 10 }))
      assert.strictEqual(yield* second.call(credentials(5, "demo_user")), msg(4, { id: 5, status: 10 }))
      // The quota counts authorized sessions only: after a logout there is room again.
      assert.strictEqual(yield* first.call(msg(6, { id: 3 })), msg(6, { id: 3, status: 1 }))
      assert.strictEqual(statusOf(yield* second.call(msg(3, { id: 6, license: "LIFETIME-0001" }))), 1)
      assert.strictEqual(yield* first.call(msg(3, { id: 4, license: "ABCDEF-123456" })), msg(3, { id: 4, status: 10 }))
    }).pipe(withServer({ fixtures: fixtures({ quotas: { sessions: 1 } }) }))
  )
})

describe("§3.2 #4 auth_by_credentials", () => {
  it.scoped("ok: the account's fields; time_left 0 when no license is required", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(
        yield* client.call(credentials(2, "demo_user")),
        '{"type":4,"payload":{"id":2,"login":"demo_user","levels":["basic"],"comment":"seeded","ip_address":null,"time_left":0,"license_required":false,"status":1}}'
      )
      assert.strictEqual(yield* client.call(credentials(3, "demo_user")), msg(4, { id: 3, status: 8 }))
      assert.strictEqual(yield* client.call(msg(3, { id: 4, license: "ABCDEF-123456" })), msg(3, { id: 4, status: 8 }))
      const email = yield* initialized()
      assert.strictEqual(
        yield* email.call(credentials(2, "user@example.com", {}, "strong-password", 1)),
        accountOk(4, 2, {
          login: "user@example.com",
          levels: [],
          comment: null,
          ip: null,
          timeLeft: 0,
          licenseRequired: false
        })
      )
    }).pipe(withServer())
  )

  it.scoped("216, then 200 (unknown login, wrong password, other credentials_type), then 201", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(yield* client.call(credentials(2, "nobody", {}, "x", 2)), msg(4, { id: 2, status: 216 }))
      assert.strictEqual(
        yield* client.call(credentials(3, "demo_user", {}, "strong-password", 1)),
        msg(4, { id: 3, status: 216 })
      )
      assert.strictEqual(yield* client.call(credentials(4, "nobody")), msg(4, { id: 4, status: 200 }))
      assert.strictEqual(
        yield* client.call(credentials(5, "demo_user", {}, "wrong-password")),
        msg(4, { id: 5, status: 200 })
      )
      assert.strictEqual(yield* client.call(credentials(6, "Demo_user")), msg(4, { id: 6, status: 200 }))
      assert.strictEqual(
        yield* client.call(credentials(7, "user@example.com", {}, "strong-password", 0)),
        msg(4, { id: 7, status: 200 })
      )
      assert.strictEqual(
        yield* client.call(credentials(8, "blocked_user", {}, "wrong-password")),
        msg(4, { id: 8, status: 200 })
      )
      assert.strictEqual(yield* client.call(credentials(9, "blocked_user")), msg(4, { id: 9, status: 201 }))
      assert.strictEqual(
        yield* client.call(credentials(10, "blocked_user", { license: "NOPE" })),
        msg(4, { id: 10, status: 201 })
      )
      assert.strictEqual(yield* client.call(msg(17, { id: 11 })), msg(17, { id: 11, status: 3 }))
    }).pipe(withServer())
  )

  it.scoped("10 when the sessions quota is used up, before the license checks", () =>
    Effect.gen(function* () {
      yield* withAccount("demo_user")
      const client = yield* initialized()
      assert.strictEqual(yield* client.call(credentials(2, "nobody")), msg(4, { id: 2, status: 200 }))
      assert.strictEqual(
        yield* client.call(credentials(3, "linked_user", { license: "NOPE" })),
        msg(4, { id: 3, status: 10 })
      )
    }).pipe(withServer({ fixtures: fixtures({ quotas: { sessions: 1 } }) }))
  )

  it.scoped("license given: the license checks, 104, 105; a failure does not authorize", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      yield* TestClock.adjust("60 seconds")
      const cases: ReadonlyArray<readonly [string, number]> = [
        ["NOPE", 100],
        ["BLACK-000001", 103],
        ["PAUSED-00001", 102],
        ["EXPIRING-001", 101],
        ["LINKED-00001", 104],
        ["ACTIVE-00001", 105]
      ]
      let id = 2
      for (const [license, status] of cases) {
        assert.strictEqual(yield* client.call(credentials(id, "demo_user", { license })), msg(4, { id: id++, status }))
      }
      assert.strictEqual(yield* client.call(msg(17, { id })), msg(17, { id, status: 3 }))
    }).pipe(withServer())
  )

  it.scoped("license given: it is linked, activated and bound; its levels join the account's", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(
        yield* client.call(credentials(2, "demo_user", { license: "FRESH-000001" })),
        accountOk(4, 2, {
          login: "demo_user",
          levels: ["basic", "gold"],
          comment: "seeded",
          ip: null,
          timeLeft: 0,
          licenseRequired: false
        })
      )
      const other = yield* initialized("other-device")
      assert.strictEqual(yield* other.call(msg(3, { id: 2, license: "FRESH-000001" })), msg(3, { id: 2, status: 104 }))
      assert.strictEqual(
        yield* other.call(
          msg(2, {
            id: 3,
            login: "new_user",
            password: "strong-password",
            license: "FRESH-000001",
            credentials_type: 0
          })
        ),
        msg(2, { id: 3, status: 104 })
      )
    }).pipe(withServer())
  )

  it.scoped("203 when a license is required and none is valid; a license given with the call makes it valid", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(yield* client.call(credentials(2, "needs_license")), msg(4, { id: 2, status: 203 }))
      assert.strictEqual(yield* client.call(msg(17, { id: 3 })), msg(17, { id: 3, status: 3 }))
      assert.strictEqual(
        yield* client.call(credentials(4, "needs_license", { license: "FRESH-000002" })),
        accountOk(4, 4, {
          login: "needs_license",
          levels: ["silver"],
          comment: null,
          ip: "198.51.100.7",
          timeLeft: T0 + 7200,
          licenseRequired: true
        })
      )
    }).pipe(withServer())
  )

  it.scoped(
    "levels: the account's, then those of valid licenses in link order, without duplicates; time_left the latest",
    () =>
      Effect.gen(function* () {
        const client = yield* initialized()
        const merged = (id: number, type: 4 | 17, levels: Array<string>, timeLeft: number) =>
          accountOk(type, id, { login: "merged", levels, comment: null, ip: null, timeLeft, licenseRequired: true })
        // Seeded links share the start time, so the key orders them: MERGE-A before MERGE-B.
        assert.strictEqual(
          yield* client.call(credentials(2, "merged")),
          merged(2, 4, ["basic", "pro", "gold", "vip"], T0 + 100)
        )
        yield* TestClock.adjust("5 seconds")
        assert.strictEqual(yield* client.call(msg(5, { id: 3, license: "MERGE-0000" })), msg(5, { id: 3, status: 1 }))
        // Linked later, so last, although its key sorts first.
        assert.strictEqual(
          yield* client.call(msg(17, { id: 4 })),
          merged(4, 17, ["basic", "pro", "gold", "vip", "zeta"], T0 + 100)
        )
        // MERGE-0000 expires at T0 + 15 and MERGE-A at T0 + 50: their levels go.
        yield* TestClock.adjust("55 seconds")
        assert.strictEqual(yield* client.call(msg(17, { id: 5 })), merged(5, 17, ["basic", "pro", "vip"], T0 + 100))
        // A valid lifetime license makes time_left 0.
        assert.strictEqual(yield* client.call(msg(5, { id: 6, license: "MERGE-LIFE" })), msg(5, { id: 6, status: 1 }))
        assert.strictEqual(yield* client.call(msg(17, { id: 7 })), merged(7, 17, ["basic", "pro", "vip", "forever"], 0))
      }).pipe(
        withServer({
          fixtures: fixtures({
            accounts: [
              { login: "merged", password: "strong-password", levels: ["basic", "pro"], license_required: true }
            ],
            licenses: [
              { key: "MERGE-B", account: "merged", levels: ["vip", "basic"], duration_seconds: 100 },
              { key: "MERGE-A", account: "merged", levels: ["pro", "gold"], duration_seconds: 50 },
              { key: "MERGE-P", account: "merged", levels: ["paused-level"], paused: true, duration_seconds: 500 },
              { key: "MERGE-0000", levels: ["zeta", "gold"], duration_seconds: 10 },
              { key: "MERGE-LIFE", levels: ["forever"], duration_seconds: 0 }
            ]
          })
        })
      )
  )
})

describe("§3.2 #5 link_license_to_account", () => {
  it.scoped("3 without an account authorization (none, or a license)", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(yield* client.call(msg(5, { id: 2, license: "FRESH-000001" })), msg(5, { id: 2, status: 3 }))
      const licensed = yield* withLicense("ABCDEF-123456")
      assert.strictEqual(yield* licensed.call(msg(5, { id: 3, license: "NOPE" })), msg(5, { id: 3, status: 3 }))
    }).pipe(withServer())
  )

  it.scoped("the license checks, 104 (linked to any account) and 105, then ok links, activates and binds", () =>
    Effect.gen(function* () {
      const client = yield* withAccount("demo_user")
      yield* TestClock.adjust("60 seconds")
      const cases: ReadonlyArray<readonly [string, number]> = [
        ["SHORT", 100],
        ["NOPE-NOPE", 100],
        ["BLACK-000001", 103],
        ["PAUSED-00001", 102],
        ["EXPIRING-001", 101],
        ["LINKED-00001", 104],
        ["ACTIVE-00001", 105]
      ]
      let id = 3
      for (const [license, status] of cases) {
        assert.strictEqual(yield* client.call(msg(5, { id, license })), msg(5, { id: id++, status }), license)
      }
      assert.strictEqual(yield* client.call(msg(5, { id, license: "FRESH-000001" })), msg(5, { id: id++, status: 1 }))
      assert.strictEqual(yield* client.call(msg(5, { id, license: "FRESH-000001" })), msg(5, { id: id++, status: 104 }))
      assert.strictEqual(
        yield* client.call(msg(17, { id })),
        accountOk(17, id, {
          login: "demo_user",
          levels: ["basic", "gold"],
          comment: "seeded",
          ip: null,
          timeLeft: 0,
          licenseRequired: false
        })
      )
      const other = yield* initialized()
      assert.strictEqual(yield* other.call(msg(3, { id: 2, license: "FRESH-000001" })), msg(3, { id: 2, status: 104 }))
    }).pipe(withServer())
  )
})

describe("§3.2 #6 logout", () => {
  it.scoped("3 when not authorized", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(yield* client.call(msg(6, { id: 2 })), '{"type":6,"payload":{"id":2,"status":3}}')
    }).pipe(withServer())
  )

  it.scoped("ok: the session is initialized but unauthorized, and keeps its session values", () =>
    Effect.gen(function* () {
      const client = yield* withLicense("ABCDEF-123456")
      assert.strictEqual(
        yield* client.call(msg(14, { id: 3, key: "k", value: "kept", ttl: null })),
        msg(14, { id: 3, status: 1 })
      )
      assert.strictEqual(
        yield* client.call(msg(13, { id: 4, name: "secret_cfg" })),
        msg(13, { id: 4, content: "s3cr3t", status: 1 })
      )
      assert.strictEqual(yield* client.call(msg(6, { id: 5 })), '{"type":6,"payload":{"id":5,"status":1}}')
      assert.strictEqual(yield* client.call(msg(16, { id: 6 })), msg(16, { id: 6, status: 3 }))
      assert.strictEqual(yield* client.call(msg(13, { id: 7, name: "secret_cfg" })), msg(13, { id: 7, status: 3 }))
      assert.strictEqual(yield* client.call(msg(6, { id: 8 })), msg(6, { id: 8, status: 3 }))
      assert.strictEqual(yield* client.call(msg(15, { id: 9, key: "k" })), msg(15, { id: 9, value: "kept", status: 1 }))
      assert.strictEqual(yield* client.call(msg(0, { id: 10 })), msg(0, { id: 10 }))
      // It can authorize again, with another kind of identity.
      assert.strictEqual(statusOf(yield* client.call(credentials(11, "demo_user"))), 1)
      assert.strictEqual(yield* client.call(msg(6, { id: 12 })), msg(6, { id: 12, status: 1 }))
      assert.strictEqual(statusOf(yield* client.call(msg(3, { id: 13, license: "ABCDEF-123456" }))), 1)
    }).pipe(withServer())
  )
})

describe("initialize, create and authorize on one connection", () => {
  it.scoped("the getting-started flow: create, then authorize", () =>
    Effect.gen(function* () {
      const client = yield* connect
      assert.strictEqual(statusOf(yield* client.call(initText(1))), 1)
      assert.strictEqual(
        yield* client.call(
          msg(2, {
            id: 2,
            login: "user@example.org",
            password: "strong-password",
            comment: "trial user",
            credentials_type: 1
          })
        ),
        '{"type":2,"payload":{"id":2,"status":1}}'
      )
      assert.strictEqual(
        yield* client.call(credentials(3, "user@example.org", {}, "strong-password", 1)),
        accountOk(4, 3, {
          login: "user@example.org",
          levels: [],
          comment: "trial user",
          ip: "127.0.0.1",
          timeLeft: 0,
          licenseRequired: false
        })
      )
    }).pipe(withServer())
  )
})
