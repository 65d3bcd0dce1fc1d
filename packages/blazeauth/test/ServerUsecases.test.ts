/**
 * The other usecases of the reference server (docs/blazeauth.md §3.2 #7, #11–#17): blacklist, file metadata,
 * online count, variables, the session store, and the current license and account.
 */
import * as Server from "@protokernel/blazeauth/Server"
import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { eventually } from "../../../test/kit/eventually.js"
import {
  CLIENT_ID,
  connect,
  EMPTY_SHA,
  expectQuiet,
  FILE_SHA,
  fixtures,
  initialized,
  initText,
  msg,
  OTHER_KEY,
  statusOf,
  T0,
  withAccount,
  withLicense,
  withServer
} from "./support/server.js"
import type { RawClient } from "./support/server.js"

const blacklisted = { code: 4203, reason: "session was blacklisted" }

describe("§3.2 #7 blacklist", () => {
  it.scoped(
    "license session: response 1, then close 4203; later the client_id gets 502 + 4204 and the license 103",
    () =>
      Effect.gen(function* () {
        const client = yield* withLicense("ABCDEF-123456")
        yield* client.send(msg(7, { id: 3, comment: "fraud detected" }))
        const { frames, close } = yield* client.rest
        assert.deepStrictEqual(frames, ['{"type":7,"payload":{"id":3,"status":1}}'])
        assert.deepStrictEqual(close, blacklisted)
        const again = yield* connect
        yield* again.send(initText(1))
        const rest = yield* again.rest
        assert.deepStrictEqual(rest.frames, [msg(1, { id: 1, status: 502 })])
        assert.deepStrictEqual(rest.close, { code: 4204, reason: "external ID is blacklisted" })
        // From another device: 103 comes before the 501 of the binding.
        const other = yield* initialized("other-device")
        assert.strictEqual(
          yield* other.call(msg(3, { id: 2, license: "ABCDEF-123456" })),
          msg(3, { id: 2, status: 103 })
        )
        // Accounts and other licenses are not affected.
        assert.strictEqual(statusOf(yield* other.call(msg(3, { id: 3, license: "LIFETIME-0001" }))), 1)
      }).pipe(withServer())
  )

  it.scoped("account session: the account then gets 201", () =>
    Effect.gen(function* () {
      const client = yield* withAccount("demo_user")
      yield* client.send(msg(7, { id: 3 }))
      const { frames, close } = yield* client.rest
      assert.deepStrictEqual(frames, [msg(7, { id: 3, status: 1 })])
      assert.deepStrictEqual(close, blacklisted)
      const other = yield* initialized("other-device")
      assert.strictEqual(
        yield* other.call(msg(4, { id: 2, login: "demo_user", password: "strong-password", credentials_type: 0 })),
        msg(4, { id: 2, status: 201 })
      )
    }).pipe(withServer())
  )

  it.scoped("an unauthorized session blacklists its client_id only", () =>
    Effect.gen(function* () {
      const server = yield* Server.BlazeauthServer
      const client = yield* initialized("cheater-device")
      assert.strictEqual(yield* client.call(msg(7, { id: 2 })), msg(7, { id: 2, status: 1 }))
      assert.deepStrictEqual(yield* client.closed, blacklisted)
      yield* eventually(Effect.map(server.sessions, (all) => all.length === 0))
      const again = yield* connect
      yield* again.send(initText(9, "cheater-device"))
      assert.deepStrictEqual((yield* again.rest).frames, [msg(1, { id: 9, status: 502 })])
      // Only this application's list.
      const other = yield* connect
      assert.strictEqual(statusOf(yield* other.call(initText(1, "cheater-device", OTHER_KEY))), 1)
    }).pipe(withServer())
  )

  it.scoped("11 when the entries needed do not fit the quota: nothing is applied and the session stays open", () =>
    Effect.gen(function* () {
      const client = yield* withLicense("ABCDEF-123456")
      // One entry is used ("banned-device"); the call needs two (client_id and license), the quota is 2.
      assert.strictEqual(yield* client.call(msg(7, { id: 3 })), '{"type":7,"payload":{"id":3,"status":11}}')
      yield* expectQuiet(client)
      assert.strictEqual(statusOf(yield* client.call(msg(16, { id: 4 }))), 1)
      const again = yield* initialized()
      assert.strictEqual(statusOf(yield* again.call(msg(3, { id: 2, license: "ABCDEF-123456" }))), 1)
      // Logged out, the call needs one entry: it fits.
      assert.strictEqual(yield* client.call(msg(6, { id: 5 })), msg(6, { id: 5, status: 1 }))
      yield* client.send(msg(7, { id: 6 }))
      assert.deepStrictEqual((yield* client.rest).frames, [msg(7, { id: 6, status: 1 })])
      // The license was not blacklisted; the client_id was.
      const third = yield* initialized("third-device")
      assert.strictEqual(yield* third.call(msg(3, { id: 2, license: "ABCDEF-123456" })), msg(3, { id: 2, status: 501 }))
      const banned = yield* connect
      yield* banned.send(initText(1))
      assert.deepStrictEqual((yield* banned.rest).close, { code: 4204, reason: "external ID is blacklisted" })
      // The quota is now used up.
      const fourth = yield* initialized("fourth-device")
      assert.strictEqual(yield* fourth.call(msg(7, { id: 2 })), msg(7, { id: 2, status: 11 }))
    }).pipe(
      withServer({
        fixtures: {
          applications: [
            {
              api_key: "BA0123456789ABCDEFGHI",
              name: "Demo",
              quotas: { blacklists: 2 },
              blacklisted_client_ids: ["banned-device"],
              licenses: [{ key: "ABCDEF-123456", duration_seconds: 0 }]
            }
          ]
        }
      })
    )
  )
})

describe("§3.2 #7 blacklist quota counts the entries already held", () => {
  const app = (extra: object) => ({
    applications: [{ api_key: "BA0123456789ABCDEFGHI", name: "Demo", quotas: { blacklists: 1 }, ...extra }]
  })

  it.scoped("a seeded blacklisted account is an entry", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(yield* client.call(msg(7, { id: 2 })), msg(7, { id: 2, status: 11 }))
    }).pipe(withServer({ fixtures: app({ accounts: [{ login: "blocked", password: "p", blacklisted: true }] }) }))
  )

  it.scoped("a seeded blacklisted license is an entry", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(yield* client.call(msg(7, { id: 2 })), msg(7, { id: 2, status: 11 }))
    }).pipe(withServer({ fixtures: app({ licenses: [{ key: "BLACK-000001", blacklisted: true }] }) }))
  )

  it.scoped("with no entry held, the client_id fits", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(yield* client.call(msg(7, { id: 2 })), msg(7, { id: 2, status: 1 }))
    }).pipe(withServer({ fixtures: app({ accounts: [{ login: "fine", password: "p" }] }) }))
  )
})

describe("§4.9 get_file_metadata (type 11)", () => {
  it.scoped("answers checksum, size, transfer_count and last_transferred_at without authorization", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(
        yield* client.call(msg(11, { id: 19, filename: "client.bin" })),
        `{"type":11,"payload":{"id":19,"checksum":"${FILE_SHA}","size":20,"transfer_count":0,"last_transferred_at":null,"status":1}}`
      )
      assert.strictEqual(
        yield* client.call(msg(11, { id: 20, filename: "empty.bin" })),
        msg(11, { id: 20, checksum: EMPTY_SHA, size: 0, transfer_count: 0, last_transferred_at: null, status: 1 })
      )
    }).pipe(withServer())
  )

  it.scoped("305 for a bad name (checked before 300), 300 for an unknown file", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      let id = 2
      for (const filename of [
        "",
        "abc",
        "😀😀😀",
        "a/bcd.bin",
        "a\\bcd.bin",
        "ab\u0000cd",
        "ab\ncd",
        "ab\u007fcd",
        "x".repeat(256)
      ]) {
        assert.strictEqual(
          yield* client.call(msg(11, { id, filename })),
          msg(11, { id: id++, status: 305 }),
          JSON.stringify(filename)
        )
      }
      for (const filename of ["missing.bin", "abcd", "x".repeat(255), "CLIENT.BIN", "😀😀😀😀"]) {
        assert.strictEqual(yield* client.call(msg(11, { id, filename })), msg(11, { id: id++, status: 300 }), filename)
      }
    }).pipe(withServer())
  )

  it.scoped("files are per application", () =>
    Effect.gen(function* () {
      const client = yield* connect
      yield* client.call(initText(1, CLIENT_ID, OTHER_KEY))
      assert.strictEqual(
        yield* client.call(msg(11, { id: 2, filename: "client.bin" })),
        msg(11, { id: 2, status: 300 })
      )
    }).pipe(withServer())
  )
})

describe("§3.2 #12 get_online_users_count", () => {
  it.scoped("counts the open, initialized sessions of the caller's application, the caller included", () =>
    Effect.gen(function* () {
      const first = yield* initialized()
      assert.strictEqual(
        yield* first.call(msg(12, { id: 12 })),
        '{"type":12,"payload":{"id":12,"online_users_count":1,"status":1}}'
      )
      const second = yield* withLicense("ABCDEF-123456", "second-device")
      yield* connect
      const other = yield* connect
      yield* other.call(initText(1, CLIENT_ID, OTHER_KEY))
      assert.strictEqual(yield* first.call(msg(12, { id: 13 })), msg(12, { id: 13, online_users_count: 2, status: 1 }))
      assert.strictEqual(yield* other.call(msg(12, { id: 2 })), msg(12, { id: 2, online_users_count: 1, status: 1 }))
      yield* second.transport.close(1000)
      yield* eventually(
        Effect.map(
          first.call(msg(12, { id: 14 })),
          (text) => text === msg(12, { id: 14, online_users_count: 1, status: 1 })
        )
      )
    }).pipe(withServer())
  )
})

describe("§3.2 #13 get_variable", () => {
  it.scoped("ok returns the content (escaped as JSON.stringify does)", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(
        yield* client.call(msg(13, { id: 13, name: "launcher_config" })),
        '{"type":13,"payload":{"id":13,"content":"{\\"featureFlag\\":true}","status":1}}'
      )
    }).pipe(withServer())
  )

  it.scoped("404 > 64 characters, 400 < 3 or unknown, 401 paused (before 3), 3 when authorization is needed", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      const cases: ReadonlyArray<readonly [string, number]> = [
        ["x".repeat(65), 404],
        ["😀".repeat(65), 404],
        ["ab", 400],
        ["😀😀", 400],
        ["", 400],
        ["x".repeat(64), 400],
        ["😀".repeat(64), 400],
        ["unknown_var", 400],
        ["LAUNCHER_CONFIG", 400],
        ["paused_var", 401],
        ["paused_secret", 401],
        ["secret_cfg", 3]
      ]
      let id = 2
      for (const [name, status] of cases) {
        assert.strictEqual(yield* client.call(msg(13, { id, name })), msg(13, { id: id++, status }), name)
      }
      assert.strictEqual(statusOf(yield* client.call(msg(3, { id, license: "ABCDEF-123456" }))), 1)
      id++
      assert.strictEqual(
        yield* client.call(msg(13, { id, name: "secret_cfg" })),
        msg(13, { id: id++, content: "s3cr3t", status: 1 })
      )
      assert.strictEqual(yield* client.call(msg(13, { id, name: "paused_secret" })), msg(13, { id: id++, status: 401 }))
      const account = yield* withAccount("demo_user")
      assert.strictEqual(
        yield* account.call(msg(13, { id: 3, name: "secret_cfg" })),
        msg(13, { id: 3, content: "s3cr3t", status: 1 })
      )
    }).pipe(withServer())
  )
})

describe("§3.2 #14–#15 session values", () => {
  const set = (client: RawClient, id: number, key: string, value: string, ttl?: number | null) =>
    client.call(msg(14, { id, key, value, ...(ttl === undefined ? {} : { ttl }) }))
  const get = (client: RawClient, id: number, key: string) => client.call(msg(15, { id, key }))
  const ok = (type: 14, id: number) => msg(type, { id, status: 1 })

  it.scoped("stores and reads a value without authorization; a missing key gets 7", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(
        yield* client.call('{"type":14,"payload":{"id":14,"key":"launcher_token","value":"abc123","ttl":3600}}'),
        '{"type":14,"payload":{"id":14,"status":1}}'
      )
      assert.strictEqual(
        yield* client.call('{"type":15,"payload":{"id":15,"key":"launcher_token"}}'),
        '{"type":15,"payload":{"id":15,"value":"abc123","status":1}}'
      )
      assert.strictEqual(yield* get(client, 16, "other"), '{"type":15,"payload":{"id":16,"status":7}}')
      assert.strictEqual(yield* set(client, 17, "empty", ""), ok(14, 17))
      assert.strictEqual(yield* get(client, 18, "empty"), msg(15, { id: 18, value: "", status: 1 }))
      // The store belongs to the connection.
      const other = yield* initialized()
      assert.strictEqual(yield* get(other, 2, "launcher_token"), msg(15, { id: 2, status: 7 }))
    }).pipe(withServer())
  )

  it.scoped("504 for a key over 64 characters (code points), on set and get", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(yield* set(client, 2, "k".repeat(65), "v"), msg(14, { id: 2, status: 504 }))
      assert.strictEqual(yield* set(client, 3, "😀".repeat(65), "v".repeat(20000)), msg(14, { id: 3, status: 504 }))
      assert.strictEqual(yield* get(client, 4, "k".repeat(65)), msg(15, { id: 4, status: 504 }))
      assert.strictEqual(yield* set(client, 5, "😀".repeat(64), "v"), ok(14, 5))
      assert.strictEqual(yield* get(client, 6, "😀".repeat(64)), msg(15, { id: 6, value: "v", status: 1 }))
    }).pipe(withServer())
  )

  it.scoped("507 for a value over 16384 UTF-8 bytes", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(yield* set(client, 2, "a", "x".repeat(16385)), msg(14, { id: 2, status: 507 }))
      assert.strictEqual(yield* set(client, 3, "a", "é".repeat(8193)), msg(14, { id: 3, status: 507 }))
      assert.strictEqual(yield* get(client, 4, "a"), msg(15, { id: 4, status: 7 }))
      assert.strictEqual(yield* set(client, 5, "a", "é".repeat(8192)), ok(14, 5))
      // A full store can still overwrite its key with a value of the same size.
      assert.strictEqual(yield* set(client, 6, "a", "y".repeat(16384)), ok(14, 6))
      assert.strictEqual(yield* set(client, 7, "b", ""), ok(14, 7))
      assert.strictEqual(yield* set(client, 8, "c", "z"), msg(14, { id: 8, status: 507 }))
    }).pipe(withServer())
  )

  it.scoped("507 when the total would exceed 16384 bytes; a failed set keeps the old value", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(yield* set(client, 2, "one", "1".repeat(8192)), ok(14, 2))
      assert.strictEqual(yield* set(client, 3, "two", "2".repeat(8192)), ok(14, 3))
      assert.strictEqual(yield* set(client, 4, "three", "3"), msg(14, { id: 4, status: 507 }))
      assert.strictEqual(yield* set(client, 5, "one", "1".repeat(8193)), msg(14, { id: 5, status: 507 }))
      assert.strictEqual(yield* get(client, 6, "one"), msg(15, { id: 6, value: "1".repeat(8192), status: 1 }))
      // Overwriting replaces the old value before the limit is computed.
      assert.strictEqual(yield* set(client, 7, "one", "1"), ok(14, 7))
      assert.strictEqual(yield* set(client, 8, "three", "3".repeat(8191)), ok(14, 8))
    }).pipe(withServer())
  )

  it.scoped("507 for a 65th entry; overwriting in a full store is allowed", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      for (let i = 0; i < 64; i++) yield* client.send(msg(14, { id: 100 + i, key: `k${i}`, value: "v", ttl: null }))
      const answers = yield* client.take(64)
      assert.deepStrictEqual(
        answers,
        Array.from({ length: 64 }, (_, i) => ok(14, 100 + i))
      )
      assert.strictEqual(yield* set(client, 2, "k64", "v"), msg(14, { id: 2, status: 507 }))
      assert.strictEqual(yield* set(client, 3, "k0", "changed"), ok(14, 3))
      assert.strictEqual(yield* get(client, 4, "k0"), msg(15, { id: 4, value: "changed", status: 1 }))
    }).pipe(withServer({ options: { rateLimit: 0 } }))
  )

  it.scoped("a value expires after its ttl; reading does not extend it; overwriting replaces it", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(yield* set(client, 2, "short", "s", 10), ok(14, 2))
      assert.strictEqual(yield* set(client, 3, "renewed", "r", 10), ok(14, 3))
      yield* TestClock.adjust("5 seconds")
      assert.strictEqual(yield* get(client, 4, "short"), msg(15, { id: 4, value: "s", status: 1 }))
      assert.strictEqual(yield* set(client, 5, "renewed", "r2", 100), ok(14, 5))
      yield* TestClock.adjust("4999 millis")
      assert.strictEqual(yield* get(client, 6, "short"), msg(15, { id: 6, value: "s", status: 1 }))
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* get(client, 7, "short"), msg(15, { id: 7, status: 7 }))
      assert.strictEqual(yield* get(client, 8, "renewed"), msg(15, { id: 8, value: "r2", status: 1 }))
      // A ttl given as a digit string counts the same.
      assert.strictEqual(
        yield* client.call('{"type":14,"payload":{"id":9,"key":"str","value":"v","ttl":"2"}}'),
        ok(14, 9)
      )
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual(yield* get(client, 10, "str"), msg(15, { id: 10, status: 7 }))
    }).pipe(withServer())
  )

  it.scoped("expired entries are removed before the limits are checked", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      for (let i = 0; i < 64; i++) yield* client.send(msg(14, { id: 100 + i, key: `k${i}`, value: "v", ttl: 1 }))
      assert.lengthOf(yield* client.take(64), 64)
      assert.strictEqual(yield* set(client, 2, "big", "x".repeat(16384)), msg(14, { id: 2, status: 507 }))
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* set(client, 3, "big", "x".repeat(16384)), ok(14, 3))
    }).pipe(withServer({ options: { rateLimit: 0 } }))
  )

  it.scoped("ttl ≤ 0, null or absent means 72 h", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      const ttls: ReadonlyArray<number | null | undefined> = [0, -5, null, undefined]
      let id = 2
      for (const [i, ttl] of ttls.entries()) assert.strictEqual(yield* set(client, id, `k${i}`, "v", ttl), ok(14, id++))
      yield* TestClock.adjust("259199999 millis")
      for (const i of ttls.keys()) {
        assert.strictEqual(yield* get(client, id, `k${i}`), msg(15, { id: id++, value: "v", status: 1 }))
      }
      yield* TestClock.adjust("1 millis")
      for (const i of ttls.keys()) assert.strictEqual(yield* get(client, id, `k${i}`), msg(15, { id: id++, status: 7 }))
    }).pipe(withServer())
  )

  it.scoped("the store survives logout and the authorization kind does not matter", () =>
    Effect.gen(function* () {
      const client = yield* withAccount("demo_user")
      assert.strictEqual(yield* set(client, 3, "k", "v", 60), ok(14, 3))
      assert.strictEqual(yield* client.call(msg(6, { id: 4 })), msg(6, { id: 4, status: 1 }))
      assert.strictEqual(yield* get(client, 5, "k"), msg(15, { id: 5, value: "v", status: 1 }))
    }).pipe(withServer())
  )
})

describe("§3.2 #16 get_current_license", () => {
  const current = (id: number, status: number, timeLeft = T0 + 86400) =>
    msg(16, {
      id,
      license: "ABCDEF-123456",
      levels: ["pro"],
      comment: "main seat",
      ip_address: "127.0.0.1",
      time_left: timeLeft,
      status
    })

  it.scoped("3 without a license authorization (none, or an account)", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(yield* client.call(msg(16, { id: 2 })), '{"type":16,"payload":{"id":2,"status":3}}')
      const account = yield* withAccount("demo_user")
      assert.strictEqual(yield* account.call(msg(16, { id: 3 })), msg(16, { id: 3, status: 3 }))
    }).pipe(withServer())
  )

  it.scoped("ok with the license's fields; 101 with the fields still present once expired, and still authorized", () =>
    Effect.gen(function* () {
      const client = yield* withLicense("ABCDEF-123456")
      assert.strictEqual(yield* client.call(msg(16, { id: 3 })), current(3, 1))
      yield* TestClock.adjust("86399999 millis")
      assert.strictEqual(yield* client.call(msg(16, { id: 4 })), current(4, 1))
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* client.call(msg(16, { id: 5 })), current(5, 101))
      assert.strictEqual(yield* client.call(msg(3, { id: 6, license: "LIFETIME-0001" })), msg(3, { id: 6, status: 8 }))
      assert.strictEqual(yield* client.call(msg(6, { id: 7 })), msg(6, { id: 7, status: 1 }))
    }).pipe(withServer())
  )

  it.scoped("103 with the fields once another session blacklisted the license", () =>
    Effect.gen(function* () {
      const client = yield* withLicense("ABCDEF-123456")
      const twin = yield* withLicense("ABCDEF-123456")
      yield* twin.send(msg(7, { id: 3 }))
      assert.deepStrictEqual((yield* twin.rest).close, blacklisted)
      yield* TestClock.adjust("1 day")
      // Blacklisted and expired: 103 first.
      assert.strictEqual(yield* client.call(msg(16, { id: 3 })), current(3, 103))
    }).pipe(withServer())
  )
})

describe("§3.2 #17 get_current_account", () => {
  it.scoped("3 without an account authorization (none, or a license)", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(yield* client.call(msg(17, { id: 2 })), '{"type":17,"payload":{"id":2,"status":3}}')
      const licensed = yield* withLicense("ABCDEF-123456")
      assert.strictEqual(yield* licensed.call(msg(17, { id: 3 })), msg(17, { id: 3, status: 3 }))
    }).pipe(withServer())
  )

  it.scoped("ok with the account's fields; 203 without time_left once its licenses lapsed, still authorized", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      const reply = yield* client.call(
        msg(4, {
          id: 2,
          login: "needs_license",
          password: "strong-password",
          license: "SHORT-000060",
          credentials_type: 0
        })
      )
      const fields = { id: 0, login: "needs_license", levels: ["short"], comment: null, ip_address: "198.51.100.7" }
      assert.strictEqual(reply, msg(4, { ...fields, id: 2, time_left: T0 + 60, license_required: true, status: 1 }))
      assert.strictEqual(
        yield* client.call(msg(17, { id: 3 })),
        msg(17, { ...fields, id: 3, time_left: T0 + 60, license_required: true, status: 1 })
      )
      yield* TestClock.adjust("60 seconds")
      assert.strictEqual(
        yield* client.call(msg(17, { id: 4 })),
        '{"type":17,"payload":{"id":4,"login":"needs_license","levels":[],"comment":null,"ip_address":"198.51.100.7","license_required":true,"status":203}}'
      )
      assert.strictEqual(statusOf(yield* client.call(msg(17, { id: 5 }))), 203)
      // Still authorized: linking a new license restores access.
      assert.strictEqual(yield* client.call(msg(5, { id: 6, license: "FRESH-000003" })), msg(5, { id: 6, status: 1 }))
      assert.strictEqual(
        yield* client.call(msg(17, { id: 7 })),
        msg(17, { ...fields, id: 7, levels: [], time_left: 0, license_required: true, status: 1 })
      )
    }).pipe(withServer({ fixtures: fixtures() }))
  )
})
