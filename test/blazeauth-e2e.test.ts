/**
 * End to end over real `ws` on 127.0.0.1: every usecase of the Blazeauth client SDK against the reference
 * server, its success and every status the server can send, in the order of the spec's "Checks:" lists
 * (§3.2): where two checks apply, the test asserts that the first one wins.
 *
 * One server for the file (`layer(…, { excludeTestServices: true })`: `it.scoped` runs on the live clock);
 * tests do not interfere because each uses its own client ids, licenses and logins. Closes, panel events,
 * reconnection and secrets: blazeauth-sessions.test.ts; expiry (a server clock moved forward):
 * blazeauth-expiry.test.ts.
 */
import { Client, ClientError, Expiry, Model, Server } from "@protokernel/blazeauth"
import { assert, describe, layer } from "@effect/vitest"
import { Clock, Duration, Effect, Option, Redacted } from "effect"
import { base64, sha256 } from "./kit/bytes.js"
import { eventually } from "./kit/eventually.js"
import {
  type AppInput,
  connect,
  failsWith,
  failure,
  freshClientId,
  raw,
  secret,
  serverLayer,
  startServer
} from "./support/blazeauth.js"

const DEMO_KEY = "BA-E2E-DEMO-0000000001"
const OTHER_KEY = "BA-E2E-OTHER-000000001"
const SLEEPY_KEY = "BA-E2E-SLEEPY-00000001"
const STRICT_KEY = "BA-E2E-STRICT-00000001"
const SEATS_KEY = "BA-E2E-SEATS-000000001"
const CROWDED_KEY = "BA-E2E-CROWDED-0000001"
const COUNTING_KEY = "BA-E2E-COUNTING-000001"
const PASSWORD = "strong-password"
const FILE_TEXT = "0123456789abcdefghij"
const BANNED = "banned-device"

const demo: AppInput = {
  api_key: DEMO_KEY,
  name: "Demo",
  version: "1.0.0",
  blacklisted_client_ids: [BANNED],
  licenses: [
    { key: "DEMO-OK-0001", levels: ["pro", "beta"], comment: "main seat", duration_seconds: 86400 },
    { key: "DEMO-LIFE-01", levels: ["life"], duration_seconds: 0 },
    { key: "DEMO-AGAIN-1", levels: ["first"], duration_seconds: 86400 },
    { key: "DEMO-AGAIN-2", levels: ["second"], duration_seconds: 86400 },
    { key: "DEMO-REBIND-1", duration_seconds: 86400 },
    { key: "DEMO-LOGOUT1", levels: ["out"], duration_seconds: 86400 },
    { key: "DEMO-CURRENT1", levels: ["now"], comment: "current", duration_seconds: 0 },
    { key: "DEMO-LINKTEST", duration_seconds: 0 },
    { key: "DEMO-ACCTTEST", duration_seconds: 0 },
    { key: "DEMO-PAUSED1", paused: true, duration_seconds: 86400 },
    // Blacklisted and paused: 103 comes first.
    { key: "DEMO-BLACK-1", blacklisted: true, paused: true, duration_seconds: 86400 },
    { key: "DEMO-LINKED1", account: "linked_user", levels: ["pro", "gold"], duration_seconds: 0 },
    { key: "DEMO-LINKED2", account: "linked_user", levels: ["vip", "pro"], duration_seconds: 0 },
    // Linked and bound to another client: 104 comes before 501.
    { key: "DEMO-LNKBND1", account: "holder", client_id: "someone-else", duration_seconds: 0 },
    { key: "DEMO-BOUND-1", activated: true, client_id: "someone-else", duration_seconds: 86400 },
    { key: "DEMO-REQ-0001", account: "required_ok", levels: ["req"], duration_seconds: 86400 },
    { key: "DEMO-PLINK-01", account: "paused_lic_user", paused: true, duration_seconds: 0 },
    { key: "DEMO-NEW-001", levels: ["gold"], comment: "created with", duration_seconds: 3600 },
    { key: "DEMO-NEW-002", levels: ["silver", "basic"], duration_seconds: 0 },
    { key: "DEMO-NEW-003", levels: ["bronze"], duration_seconds: 0 },
    // Exists, but longer than 64 characters: 100 by length.
    { key: "L".repeat(65), duration_seconds: 0 }
  ],
  accounts: [
    {
      login: "demo_user",
      password: PASSWORD,
      levels: ["basic"],
      comment: "seeded",
      ip_address: "198.51.100.7"
    },
    { login: "user@example.com", password: PASSWORD, credentials_type: 1 },
    { login: "blocked_user", password: PASSWORD, blacklisted: true },
    { login: "linked_user", password: PASSWORD, levels: ["basic", "pro"], ip_address: "203.0.113.5" },
    { login: "holder", password: PASSWORD },
    { login: "needs_license", password: PASSWORD, license_required: true },
    { login: "paused_lic_user", password: PASSWORD, license_required: true },
    { login: "required_ok", password: PASSWORD, license_required: true },
    { login: "lic_target", password: PASSWORD, levels: ["member"] },
    { login: "linker", password: PASSWORD, levels: ["member"] }
  ],
  variables: [
    { name: "launcher_config", content: '{"featureFlag":true}' },
    { name: "secret_cfg", content: "s3cr3t", auth_required: true },
    { name: "paused_var", content: "x", paused: true },
    { name: "paused_secret", content: "y", paused: true, auth_required: true },
    // Exists, but shorter than 3 characters: 400 by length.
    { name: "ab", content: "too short a name" }
  ],
  files: [{ name: "client.bin", content_base64: base64(FILE_TEXT) }]
}

const fixtures = {
  applications: [
    demo,
    { api_key: OTHER_KEY, name: "Other", version: "2.0.0", licenses: [{ key: "OTHER-LIC-01" }] },
    { api_key: SLEEPY_KEY, name: "Sleepy", paused: true, blacklisted_client_ids: [BANNED] },
    {
      api_key: STRICT_KEY,
      name: "Strict",
      accounts_require_license: true,
      licenses: [{ key: "STRICT-LIC-1", levels: ["strict"], duration_seconds: 3600 }],
      accounts: [{ login: "strict_user", password: PASSWORD }]
    },
    {
      api_key: SEATS_KEY,
      name: "Seats",
      quotas: { sessions: 1 },
      licenses: [{ key: "SEATS-LIC-01" }, { key: "SEATS-LIC-02" }],
      accounts: [{ login: "seat_user", password: PASSWORD }]
    },
    {
      api_key: CROWDED_KEY,
      name: "Crowded",
      quotas: { accounts: 1 },
      accounts: [{ login: "only_one", password: PASSWORD }]
    },
    { api_key: COUNTING_KEY, name: "Counting" }
  ]
}

const nowSeconds = Effect.map(Clock.currentTimeMillis, (millis) => Math.floor(millis / 1000))

const expiresAt = (expiry: Expiry.Expiry): number =>
  expiry._tag === "At" ? expiry.expiresAt : assert.fail("expected an expiry, got none")

const assertLicense = (
  info: Model.LicenseInfo,
  expected: { readonly license: string; readonly levels: ReadonlyArray<string>; readonly comment: string | null }
) => {
  assert.strictEqual(Redacted.value(info.license), expected.license)
  assert.deepStrictEqual(info.levels, expected.levels)
  assert.strictEqual(info.comment, expected.comment)
  assert.strictEqual(info.ipAddress, "127.0.0.1")
}

const credentials = (
  login: string,
  password = PASSWORD,
  more: Partial<Client.Credentials> = {}
): Client.Credentials => ({
  login,
  password: secret(password),
  ...more
})

layer(serverLayer(fixtures), { excludeTestServices: true })("Blazeauth e2e: usecases over ws", (it) => {
  describe("initialize (1)", () => {
    it.scoped("1: the session is initialized for the key's application", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const clientId = freshClientId()
        const client = yield* connect(server.url, DEMO_KEY, { clientId })
        assert.deepStrictEqual(yield* client.application, new Model.Application({ name: "Demo", version: "1.0.0" }))
        const state = yield* client.state
        assert.isTrue(Client.State.$is("Initialized")(state))
        const other = yield* connect(server.url, OTHER_KEY)
        assert.deepStrictEqual(yield* other.application, new Model.Application({ name: "Other", version: "2.0.0" }))
        const sessions = yield* server.sessions
        const mine = sessions.find((session) => session.clientId === clientId)
        assert.deepStrictEqual([mine?.application, mine?.identity, mine?.remoteAddress], ["Demo", null, "127.0.0.1"])
      })
    )

    it.scoped("2: an unknown key fails `make` with invalid_api_key", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        yield* failsWith(connect(server.url, "BA-NO-SUCH-KEY-000000"), "initialize", "invalid_api_key")
      })
    )

    it.scoped("a client_id outside 4–64 characters fails locally with InvalidOptions (500 is unreachable)", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        for (const clientId of ["abc", "x".repeat(65)]) {
          const error = yield* failure(connect(server.url, DEMO_KEY, { clientId }))
          assert.strictEqual(error._tag, "InvalidOptions")
          if (error._tag === "InvalidOptions") assert.strictEqual(error.option, "clientId")
        }
        // 64 characters (code points, not UTF-16 units) are fine.
        const client = yield* connect(server.url, DEMO_KEY, { clientId: "é".repeat(32) + "😀".repeat(32) })
        assert.strictEqual((yield* client.application).name, "Demo")
      })
    )

    it.scoped("500 and 4 over a raw socket: client_id > 64 (before the key check), then a second initialize", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const socket = yield* raw(server.url)
        // An unknown key and a long client_id: 500 comes first.
        yield* socket.send(1, { id: 1, socket_api_key: "BA-NO-SUCH-KEY-000000", client_id: "y".repeat(65) })
        assert.deepStrictEqual(yield* socket.next, { type: 1, payload: { id: 1, status: 500 } })
        yield* socket.send(1, { id: 2, socket_api_key: DEMO_KEY, client_id: freshClientId() })
        assert.deepStrictEqual(yield* socket.next, {
          type: 1,
          payload: { id: 2, app_name: "Demo", app_version: "1.0.0", status: 1 }
        })
        // A second initialize (with another application's key) gets 4; the session keeps its application.
        yield* socket.send(1, { id: 3, socket_api_key: OTHER_KEY, client_id: freshClientId() })
        assert.deepStrictEqual(yield* socket.next, { type: 1, payload: { id: 3, status: 4 } })
        yield* socket.send(13, { id: 4, name: "launcher_config" })
        assert.deepStrictEqual(yield* socket.next, {
          type: 13,
          payload: { id: 4, content: '{"featureFlag":true}', status: 1 }
        })
      })
    )

    it.scoped(
      "4205 over a raw socket: the 4th initialize answered with status 2 gets its response, then the close",
      () =>
        Effect.gen(function* () {
          const server = yield* Server.BlazeauthServer
          const socket = yield* raw(server.url)
          for (const id of [1, 2, 3, 4]) {
            yield* socket.send(1, { id, socket_api_key: "BA-NO-SUCH-KEY-000000", client_id: freshClientId() })
            assert.deepStrictEqual(yield* socket.next, { type: 1, payload: { id, status: 2 } })
          }
          const closed = yield* socket.closed
          assert.deepStrictEqual([closed.code, closed.reason], [4205, "failed to initialize session"])
        })
    )

    it.scoped("502 then close 4204 for a blacklisted client_id: `make` fails with the status", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        yield* failsWith(connect(server.url, DEMO_KEY, { clientId: BANNED }), "initialize", "client_id_blacklisted")
        const socket = yield* raw(server.url)
        yield* socket.send(1, { id: 1, socket_api_key: DEMO_KEY, client_id: BANNED })
        assert.deepStrictEqual(yield* socket.next, { type: 1, payload: { id: 1, status: 502 } })
        const closed = yield* socket.closed
        assert.deepStrictEqual([closed.code, closed.reason], [4204, "external ID is blacklisted"])
      })
    )

    it.scoped("4101: a paused application's key is answered with a close, before the client_id check", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        for (const clientId of [freshClientId(), BANNED]) {
          const error = yield* failure(connect(server.url, SLEEPY_KEY, { clientId }))
          assert.strictEqual(error._tag, "ConnectionClosed")
          if (error._tag === "ConnectionClosed") {
            assert.deepStrictEqual([error.code, error.reason, error.initiator], [4101, "application paused", "remote"])
          }
        }
      })
    )
  })

  describe("create_account (2)", () => {
    it.scoped("1: the account exists at once, with no levels, the comment and the creator's IP", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const client = yield* connect(server.url, DEMO_KEY)
        yield* client.createAccount({
          login: "new_player",
          password: secret("new-password"),
          credentialsType: 0,
          comment: "from e2e"
        })
        // Creating does not authorize the session.
        assert.strictEqual((yield* client.state)._tag, "Initialized")
        yield* client.createAccount({
          login: "player@example.org",
          password: secret("mail-password"),
          credentialsType: 1
        })
        // Logins are matched exactly: another case is another login.
        yield* client.createAccount({ login: "DEMO_USER", password: secret("other-password"), credentialsType: 0 })
        // 4 to 320 characters; the shortest e-mail has 5.
        yield* client.createAccount({ login: "z".repeat(320), password: secret("long-login"), credentialsType: 0 })
        yield* client.createAccount({ login: "abcd", password: secret("6chars"), credentialsType: 0 })
        yield* client.createAccount({ login: "a@b.c", password: secret("6chars"), credentialsType: 1 })
        const account = yield* client.authByCredentials(credentials("new_player", "new-password"))
        assert.deepStrictEqual(
          account,
          new Model.AccountInfo({
            login: "new_player",
            levels: [],
            comment: "from e2e",
            ipAddress: "127.0.0.1",
            expiry: Expiry.never,
            licenseRequired: false
          })
        )
        const mail = yield* connect(server.url, DEMO_KEY)
        // The e-mail account needs credentials_type 1.
        yield* failsWith(
          mail.authByCredentials(credentials("player@example.org", "mail-password")),
          "auth_by_credentials",
          "account_not_found"
        )
        const info = yield* mail.authByCredentials(
          credentials("player@example.org", "mail-password", { credentialsType: 1 })
        )
        assert.strictEqual(info.login, "player@example.org")
      })
    )

    it.scoped("216, 206, 205, 207, 202 in check order", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const client = yield* connect(server.url, DEMO_KEY)
        const create = (login: string, password: string, credentialsType: 0 | 1 = 0) =>
          client.createAccount({ login, password: secret(password), credentialsType })
        // A 3-character login with credentials_type 1 is no e-mail: 216, not 206.
        yield* failsWith(create("abc", PASSWORD, 1), "create_account", "account_credentials_type_invalid")
        for (const login of [
          "not-an-email",
          "@example.com",
          "a b@example.com",
          "a@@example.com",
          "a@example",
          "a@.example",
          "a@example."
        ]) {
          yield* failsWith(create(login, PASSWORD, 1), "create_account", "account_credentials_type_invalid")
        }
        yield* failsWith(create("abc", PASSWORD), "create_account", "account_login_too_short")
        yield* failsWith(create("w".repeat(321), PASSWORD), "create_account", "account_login_too_long")
        yield* failsWith(create("fresh_login", "12345"), "create_account", "account_password_too_short")
        // A taken login with a short password: 207 before 202.
        yield* failsWith(create("demo_user", "12345"), "create_account", "account_password_too_short")
        yield* failsWith(create("demo_user", PASSWORD), "create_account", "account_already_exists")
        // None of them created anything.
        yield* failsWith(
          client.authByCredentials(credentials("fresh_login", "12345")),
          "auth_by_credentials",
          "account_not_found"
        )
      })
    )

    it.scoped("with a license: 100 (unknown, 5 or 65 chars), 103 before 102, 102, 104, 105; ok links it", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const client = yield* connect(server.url, DEMO_KEY)
        const create = (login: string, license: string) =>
          client.createAccount({ login, password: secret(PASSWORD), credentialsType: 0, license: secret(license) })
        yield* failsWith(create("lic_a", "NO-SUCH-LICENSE"), "create_account", "license_invalid")
        yield* failsWith(create("lic_a", "ABCDE"), "create_account", "license_invalid")
        yield* failsWith(create("lic_a", "L".repeat(65)), "create_account", "license_invalid")
        yield* failsWith(create("lic_a", "DEMO-BLACK-1"), "create_account", "license_blacklisted")
        yield* failsWith(create("lic_a", "DEMO-PAUSED1"), "create_account", "license_paused")
        yield* failsWith(create("lic_a", "DEMO-LINKED1"), "create_account", "license_already_linked")
        yield* failsWith(create("lic_a", "DEMO-BOUND-1"), "create_account", "license_already_activated")
        // The login check comes before the license checks.
        yield* failsWith(create("demo_user", "NO-SUCH-LICENSE"), "create_account", "account_already_exists")
        yield* create("lic_a", "DEMO-NEW-001")
        const account = yield* client.authByCredentials(credentials("lic_a"))
        assert.deepStrictEqual([account.login, account.levels, account.ipAddress], ["lic_a", ["gold"], "127.0.0.1"])
        // The license is now linked: it must be used through the account.
        const other = yield* connect(server.url, DEMO_KEY)
        yield* failsWith(other.authByLicense(secret("DEMO-NEW-001")), "auth_by_license", "license_already_linked")
      })
    )

    it.scoped("204 when the application requires a license (202 first); with one, the account requires it", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const client = yield* connect(server.url, STRICT_KEY)
        yield* failsWith(
          client.createAccount({ login: "strict_new", password: secret(PASSWORD), credentialsType: 0 }),
          "create_account",
          "account_requires_license"
        )
        yield* failsWith(
          client.createAccount({ login: "strict_user", password: secret(PASSWORD), credentialsType: 0, license: null }),
          "create_account",
          "account_already_exists"
        )
        const before = yield* nowSeconds
        yield* client.createAccount({
          login: "strict_new",
          password: secret(PASSWORD),
          credentialsType: 0,
          license: secret("STRICT-LIC-1")
        })
        const account = yield* client.authByCredentials(credentials("strict_new"))
        const after = yield* nowSeconds
        assert.deepStrictEqual([account.levels, account.licenseRequired], [["strict"], true])
        const at = expiresAt(account.expiry)
        assert.isTrue(at >= before + 3600 && at <= after + 3600, `expires at ${at}`)
      })
    )

    it.scoped("12 when the accounts quota is used up (202 first)", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const client = yield* connect(server.url, CROWDED_KEY)
        const create = (login: string) =>
          client.createAccount({ login, password: secret(PASSWORD), credentialsType: 0 })
        yield* failsWith(create("only_one"), "create_account", "account_already_exists")
        yield* failsWith(create("second_one"), "create_account", "accounts_quota_exceeded")
      })
    )

    it.scoped("5 with retry_after once the creation throttle is hit; creations with a license are not counted", () =>
      Effect.gen(function* () {
        const server = yield* startServer(fixtures, { accountCreationLimit: 2 })
        const client = yield* connect(server.url, DEMO_KEY)
        const create = (login: string, license?: string) =>
          client.createAccount({
            login,
            password: secret(PASSWORD),
            credentialsType: 0,
            ...(license === undefined ? {} : { license: secret(license) })
          })
        yield* create("throttle_1")
        yield* create("throttle_2")
        const error = yield* failsWith(create("throttle_3"), "create_account", "too_many_requests")
        const retryAfter = Client.retryAfter(error)
        assert.isTrue(Option.isSome(retryAfter))
        if (Option.isSome(retryAfter)) {
          const seconds = Duration.toSeconds(retryAfter.value)
          assert.isTrue(seconds > 86390 && seconds <= 86400, `retry after ${seconds} s`)
        }
        // The limit is per remote address, not per connection.
        const again = yield* connect(server.url, DEMO_KEY)
        yield* failsWith(
          again.createAccount({ login: "throttle_4", password: secret(PASSWORD), credentialsType: 0 }),
          "create_account",
          "too_many_requests"
        )
        yield* create("throttle_lic", "DEMO-NEW-002")
        // Other statuses carry no retry_after.
        const taken = yield* failsWith(create("throttle_1"), "create_account", "account_already_exists")
        assert.isTrue(Option.isNone(Client.retryAfter(taken)))
      })
    )
  })

  describe("auth_by_license (3)", () => {
    it.scoped("1: the license's levels, comment, the caller's IP and an absolute expiry; then Authorized", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const clientId = freshClientId()
        const client = yield* connect(server.url, DEMO_KEY, { clientId })
        const before = yield* nowSeconds
        const info = yield* client.authByLicense(secret("DEMO-OK-0001"))
        const after = yield* nowSeconds
        assertLicense(info, { license: "DEMO-OK-0001", levels: ["pro", "beta"], comment: "main seat" })
        const at = expiresAt(info.expiry)
        assert.isTrue(at >= before + 86400 && at <= after + 86400, `expires at ${at}`)
        assert.isTrue(Duration.toSeconds(info.remaining(after)) > 86390)
        const state = yield* client.state
        assert.isTrue(state._tag === "Authorized" && state.kind === "license")
        const session = (yield* server.sessions).find((s) => s.clientId === clientId)
        assert.isTrue(session?.identity?._tag === "License")
        const lifetime = yield* (yield* connect(server.url, DEMO_KEY)).authByLicense(secret("DEMO-LIFE-01"))
        assert.isTrue(Expiry.isNever(lifetime.expiry))
        assert.deepStrictEqual(lifetime.remaining(after), Duration.infinity)
      })
    )

    it.scoped("8 on a second authorization; the identity is unchanged", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const client = yield* connect(server.url, DEMO_KEY)
        yield* client.authByLicense(secret("DEMO-AGAIN-1"))
        yield* failsWith(client.authByLicense(secret("DEMO-AGAIN-2")), "auth_by_license", "already_authorized")
        // Already authorized comes before the license checks.
        yield* failsWith(client.authByLicense(secret("NO-SUCH-LICENSE")), "auth_by_license", "already_authorized")
        yield* failsWith(
          client.authByCredentials(credentials("demo_user")),
          "auth_by_credentials",
          "already_authorized"
        )
        const current = yield* client.getCurrentLicense
        assert.strictEqual(Redacted.value(current.license), "DEMO-AGAIN-1")
      })
    )

    it.scoped("100 (unknown, 5 or 65 chars), 103 before 102, 102, 104 before 501, 501", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const client = yield* connect(server.url, DEMO_KEY)
        const auth = (license: string) => client.authByLicense(secret(license))
        yield* failsWith(auth("NO-SUCH-LICENSE"), "auth_by_license", "license_invalid")
        yield* failsWith(auth("ABCDE"), "auth_by_license", "license_invalid")
        yield* failsWith(auth("L".repeat(65)), "auth_by_license", "license_invalid")
        yield* failsWith(auth("DEMO-BLACK-1"), "auth_by_license", "license_blacklisted")
        yield* failsWith(auth("DEMO-PAUSED1"), "auth_by_license", "license_paused")
        yield* failsWith(auth("DEMO-LINKED1"), "auth_by_license", "license_already_linked")
        yield* failsWith(auth("DEMO-LNKBND1"), "auth_by_license", "license_already_linked")
        yield* failsWith(auth("DEMO-BOUND-1"), "auth_by_license", "client_id_mismatch")
        // None of them authorized the session.
        assert.strictEqual((yield* client.state)._tag, "Initialized")
      })
    )

    it.scoped("activation binds the client_id: the same id authorizes again, another gets 501", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const clientId = freshClientId()
        const first = yield* connect(server.url, DEMO_KEY, { clientId })
        const info = yield* first.authByLicense(secret("DEMO-REBIND-1"))
        yield* first.close
        const again = yield* connect(server.url, DEMO_KEY, { clientId })
        assert.deepStrictEqual(yield* again.authByLicense(secret("DEMO-REBIND-1")), info)
        const stranger = yield* connect(server.url, DEMO_KEY)
        yield* failsWith(stranger.authByLicense(secret("DEMO-REBIND-1")), "auth_by_license", "client_id_mismatch")
      })
    )

    it.scoped("10 when the authorized-sessions quota is used up (license checks and 200 first); logout frees it", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const first = yield* connect(server.url, SEATS_KEY)
        yield* first.authByLicense(secret("SEATS-LIC-01"))
        const second = yield* connect(server.url, SEATS_KEY)
        yield* failsWith(second.authByLicense(secret("NO-SUCH-LICENSE")), "auth_by_license", "license_invalid")
        yield* failsWith(second.authByLicense(secret("SEATS-LIC-02")), "auth_by_license", "sessions_quota_exceeded")
        yield* failsWith(
          second.authByCredentials(credentials("seat_user", "wrong-password")),
          "auth_by_credentials",
          "account_not_found"
        )
        yield* failsWith(
          second.authByCredentials(credentials("seat_user")),
          "auth_by_credentials",
          "sessions_quota_exceeded"
        )
        yield* first.logout
        const info = yield* second.authByLicense(secret("SEATS-LIC-02"))
        assert.strictEqual(Redacted.value(info.license), "SEATS-LIC-02")
      })
    )
  })

  describe("auth_by_credentials (4)", () => {
    it.scoped("1: account levels then those of its valid licenses (link order, no duplicates)", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const client = yield* connect(server.url, DEMO_KEY)
        const account = yield* client.authByCredentials(credentials("linked_user"))
        assert.deepStrictEqual(
          account,
          new Model.AccountInfo({
            login: "linked_user",
            levels: ["basic", "pro", "gold", "vip"],
            comment: null,
            ipAddress: "203.0.113.5",
            expiry: Expiry.never,
            licenseRequired: false
          })
        )
        const state = yield* client.state
        assert.isTrue(state._tag === "Authorized" && state.kind === "account")
        const seeded = yield* (yield* connect(server.url, DEMO_KEY)).authByCredentials(credentials("demo_user"))
        assert.deepStrictEqual(
          [seeded.levels, seeded.comment, seeded.ipAddress, seeded.licenseRequired],
          [["basic"], "seeded", "198.51.100.7", false]
        )
        const mail = yield* (yield* connect(server.url, DEMO_KEY)).authByCredentials(
          credentials("user@example.com", PASSWORD, { credentialsType: 1 })
        )
        assert.strictEqual(mail.login, "user@example.com")
      })
    )

    it.scoped("1 with license_required: time_left is the valid license's absolute expiry", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const client = yield* connect(server.url, DEMO_KEY)
        const now = yield* nowSeconds
        const account = yield* client.authByCredentials(credentials("required_ok"))
        assert.deepStrictEqual([account.levels, account.licenseRequired], [["req"], true])
        // Activated when the server started (seeded as linked), for 86400 s.
        const at = expiresAt(account.expiry)
        assert.isTrue(at > now + 86300 && at <= now + 86400, `expires at ${at}`)
      })
    )

    it.scoped("8, 216 before 200, 200 (login, password, type), 200 before 201, 201, 203", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const client = yield* connect(server.url, DEMO_KEY)
        const auth = (login: string, password = PASSWORD, credentialsType: 0 | 1 = 0) =>
          client.authByCredentials(credentials(login, password, { credentialsType }))
        yield* failsWith(auth("demo_user", PASSWORD, 1), "auth_by_credentials", "account_credentials_type_invalid")
        yield* failsWith(auth("nobody", "wrong", 1), "auth_by_credentials", "account_credentials_type_invalid")
        yield* failsWith(auth("nobody"), "auth_by_credentials", "account_not_found")
        yield* failsWith(auth("demo_user", "wrong-password"), "auth_by_credentials", "account_not_found")
        yield* failsWith(auth("user@example.com", PASSWORD, 0), "auth_by_credentials", "account_not_found")
        yield* failsWith(auth("blocked_user", "wrong-password"), "auth_by_credentials", "account_not_found")
        yield* failsWith(auth("blocked_user"), "auth_by_credentials", "account_blacklisted")
        yield* failsWith(auth("needs_license"), "auth_by_credentials", "account_has_no_valid_licenses")
        // Its only linked license is paused, so it is not valid.
        yield* failsWith(auth("paused_lic_user"), "auth_by_credentials", "account_has_no_valid_licenses")
        assert.strictEqual((yield* client.state)._tag, "Initialized")
        yield* auth("demo_user")
        yield* failsWith(auth("demo_user"), "auth_by_credentials", "already_authorized")
        yield* failsWith(auth("nobody", "x", 1), "auth_by_credentials", "already_authorized")
        yield* failsWith(client.authByLicense(secret("DEMO-LIFE-01")), "auth_by_license", "already_authorized")
      })
    )

    it.scoped("with a license: 201 first, then 100, 103, 102, 104, 105; ok links and activates it", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const client = yield* connect(server.url, DEMO_KEY)
        const auth = (login: string, license: string) =>
          client.authByCredentials(credentials(login, PASSWORD, { license: secret(license) }))
        yield* failsWith(auth("blocked_user", "NO-SUCH-LICENSE"), "auth_by_credentials", "account_blacklisted")
        yield* failsWith(auth("lic_target", "NO-SUCH-LICENSE"), "auth_by_credentials", "license_invalid")
        yield* failsWith(auth("lic_target", "DEMO-BLACK-1"), "auth_by_credentials", "license_blacklisted")
        yield* failsWith(auth("lic_target", "DEMO-PAUSED1"), "auth_by_credentials", "license_paused")
        yield* failsWith(auth("lic_target", "DEMO-LINKED1"), "auth_by_credentials", "license_already_linked")
        yield* failsWith(auth("lic_target", "DEMO-BOUND-1"), "auth_by_credentials", "license_already_activated")
        const account = yield* auth("lic_target", "DEMO-NEW-002")
        assert.deepStrictEqual(account.levels, ["member", "silver", "basic"])
        const current = yield* client.getCurrentAccount
        assert.deepStrictEqual(current.levels, ["member", "silver", "basic"])
      })
    )
  })

  describe("link_license_to_account (5)", () => {
    it.scoped("3 without an account (3 before the license checks); 100, 103, 102, 104, 105; 1 adds its levels", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const initialized = yield* connect(server.url, DEMO_KEY)
        const link = "link_license_to_account"
        yield* failsWith(initialized.linkLicense(secret("NO-SUCH-LICENSE")), link, "not_authorized")
        const licensed = yield* connect(server.url, DEMO_KEY)
        yield* licensed.authByLicense(secret("DEMO-LINKTEST"))
        yield* failsWith(licensed.linkLicense(secret("DEMO-NEW-003")), link, "not_authorized")

        const client = yield* connect(server.url, DEMO_KEY)
        yield* client.authByCredentials(credentials("linker"))
        yield* failsWith(client.linkLicense(secret("NO-SUCH-LICENSE")), link, "license_invalid")
        yield* failsWith(client.linkLicense(secret("DEMO-BLACK-1")), link, "license_blacklisted")
        yield* failsWith(client.linkLicense(secret("DEMO-PAUSED1")), link, "license_paused")
        yield* failsWith(client.linkLicense(secret("DEMO-LINKED1")), link, "license_already_linked")
        yield* failsWith(client.linkLicense(secret("DEMO-BOUND-1")), link, "license_already_activated")
        yield* client.linkLicense(secret("DEMO-NEW-003"))
        assert.deepStrictEqual((yield* client.getCurrentAccount).levels, ["member", "bronze"])
        // Linked now, to this very account: still 104.
        yield* failsWith(client.linkLicense(secret("DEMO-NEW-003")), link, "license_already_linked")
      })
    )
  })

  describe("logout (6)", () => {
    it.scoped("3 when not authorized; 1 leaves the session initialized with its session values", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const clientId = freshClientId()
        const client = yield* connect(server.url, DEMO_KEY, { clientId })
        yield* failsWith(client.logout, "logout", "not_authorized")
        yield* client.authByLicense(secret("DEMO-LOGOUT1"))
        yield* client.setSessionValue("kept", "across logout")
        yield* client.logout
        assert.strictEqual((yield* client.state)._tag, "Initialized")
        const session = (yield* server.sessions).find((s) => s.clientId === clientId)
        assert.deepStrictEqual([session?.application, session?.identity], ["Demo", null])
        yield* failsWith(client.getCurrentLicense, "get_current_license", "not_authorized")
        yield* failsWith(client.getVariable("secret_cfg"), "get_variable", "not_authorized")
        assert.strictEqual(yield* client.getSessionValue("kept"), "across logout")
        yield* failsWith(client.logout, "logout", "not_authorized")
        // The session can authorize again, with another identity.
        const account = yield* client.authByCredentials(credentials("demo_user"))
        assert.strictEqual(account.login, "demo_user")
        yield* client.logout
      })
    )
  })

  describe("get_file_metadata (11)", () => {
    it.scoped("1 with the file's checksum and size, without authorization; 305 before 300; 300", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const client = yield* connect(server.url, DEMO_KEY)
        const metadata = yield* client.getFileMetadata("client.bin")
        assert.deepStrictEqual(
          metadata,
          new Model.FileMetadata({ checksum: sha256(FILE_TEXT), size: 20, transferCount: 0, lastTransferredAt: null })
        )
        assert.isTrue(Option.isNone(metadata.lastTransferred))
        for (const name of ["x", "abc", "dir/client.bin", "back\\slash.bin", "tab\there.bin", "n".repeat(256)]) {
          yield* failsWith(client.getFileMetadata(name), "get_file_metadata", "file_invalid_name")
        }
        yield* failsWith(client.getFileMetadata("missing.bin"), "get_file_metadata", "file_not_found")
        // Another application's files are not visible.
        const other = yield* connect(server.url, OTHER_KEY)
        yield* failsWith(other.getFileMetadata("client.bin"), "get_file_metadata", "file_not_found")
      })
    )
  })

  describe("get_online_users_count (12)", () => {
    it.scoped("counts the open, initialized sessions of the caller's application only", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const first = yield* connect(server.url, COUNTING_KEY)
        assert.strictEqual(yield* first.getOnlineUsersCount, 1)
        const second = yield* connect(server.url, COUNTING_KEY)
        yield* connect(server.url, OTHER_KEY)
        assert.deepStrictEqual([yield* first.getOnlineUsersCount, yield* second.getOnlineUsersCount], [2, 2])
        yield* second.close
        yield* eventually(Effect.map(Effect.orDie(first.getOnlineUsersCount), (count) => count === 1))
      })
    )
  })

  describe("get_variable (13)", () => {
    it.scoped("1; 404 before 400; 400 (unknown or < 3 chars); 401 before 3; 3 until authorized", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const client = yield* connect(server.url, DEMO_KEY)
        assert.strictEqual(yield* client.getVariable("launcher_config"), '{"featureFlag":true}')
        yield* failsWith(client.getVariable("v".repeat(65)), "get_variable", "variable_name_too_long")
        yield* failsWith(client.getVariable("v".repeat(64)), "get_variable", "variable_not_found")
        yield* failsWith(client.getVariable("no_such_variable"), "get_variable", "variable_not_found")
        yield* failsWith(client.getVariable("ab"), "get_variable", "variable_not_found")
        yield* failsWith(client.getVariable("paused_var"), "get_variable", "variable_paused")
        yield* failsWith(client.getVariable("paused_secret"), "get_variable", "variable_paused")
        yield* failsWith(client.getVariable("secret_cfg"), "get_variable", "not_authorized")
        yield* client.authByCredentials(credentials("demo_user"))
        assert.strictEqual(yield* client.getVariable("secret_cfg"), "s3cr3t")
        yield* failsWith(client.getVariable("paused_secret"), "get_variable", "variable_paused")
        // Another application's variables are not visible.
        const other = yield* connect(server.url, OTHER_KEY)
        yield* failsWith(other.getVariable("launcher_config"), "get_variable", "variable_not_found")
      })
    )
  })

  describe("set_session_value (14) and get_session_value (15)", () => {
    it.scoped("1 and read back; overwrite; 7; the store belongs to the connection", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const client = yield* connect(server.url, DEMO_KEY)
        yield* failsWith(client.getSessionValue("launcher_token"), "get_session_value", "session_value_not_found")
        yield* client.setSessionValue("launcher_token", "abc123", { ttl: Duration.hours(1) })
        assert.strictEqual(yield* client.getSessionValue("launcher_token"), "abc123")
        yield* client.setSessionValue("launcher_token", "overwritten")
        assert.strictEqual(yield* client.getSessionValue("launcher_token"), "overwritten")
        yield* client.setSessionValue("k".repeat(64), "", { ttl: 0 })
        assert.strictEqual(yield* client.getSessionValue("k".repeat(64)), "")
        const other = yield* connect(server.url, DEMO_KEY)
        yield* failsWith(other.getSessionValue("launcher_token"), "get_session_value", "session_value_not_found")
      })
    )

    it.scoped(
      "504 for a key over 64 chars (both ways); 507 on bytes, per value and in total; a full store can update",
      () =>
        Effect.gen(function* () {
          const server = yield* Server.BlazeauthServer
          const client = yield* connect(server.url, DEMO_KEY)
          const long = "k".repeat(65)
          yield* failsWith(client.setSessionValue(long, "v"), "set_session_value", "session_key_too_long")
          // 504 comes before "not found".
          yield* failsWith(client.getSessionValue(long), "get_session_value", "session_key_too_long")
          yield* failsWith(
            client.setSessionValue("big", "b".repeat(16385)),
            "set_session_value",
            "session_value_too_long"
          )
          // 8193 characters, 16386 UTF-8 bytes: the limit counts bytes.
          yield* failsWith(
            client.setSessionValue("big", "é".repeat(8193)),
            "set_session_value",
            "session_value_too_long"
          )
          yield* client.setSessionValue("a", "a".repeat(10000))
          yield* failsWith(client.setSessionValue("b", "b".repeat(7000)), "set_session_value", "session_value_too_long")
          yield* failsWith(client.getSessionValue("b"), "get_session_value", "session_value_not_found")
          // Overwriting replaces the old value before the limits are computed.
          yield* client.setSessionValue("a", "c".repeat(16384))
          assert.strictEqual((yield* client.getSessionValue("a")).length, 16384)
        })
    )
  })

  describe("get_current_license (16) and get_current_account (17)", () => {
    it.scoped("get_current_license: 3 unless license-authorized; 1 reads the license as it is now", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const client = yield* connect(server.url, DEMO_KEY)
        yield* failsWith(client.getCurrentLicense, "get_current_license", "not_authorized")
        const account = yield* connect(server.url, DEMO_KEY)
        yield* account.authByCredentials(credentials("demo_user"))
        const error = yield* failsWith(account.getCurrentLicense, "get_current_license", "not_authorized")
        // No license fields come with a 3.
        assert.isTrue(Option.isNone(yield* Client.licenseInfoOf(error)))
        const info = yield* client.authByLicense(secret("DEMO-CURRENT1"))
        const current = yield* client.getCurrentLicense
        assert.deepStrictEqual(current, info)
        assertLicense(current, { license: "DEMO-CURRENT1", levels: ["now"], comment: "current" })
        assert.isTrue(Expiry.isNever(current.expiry))
      })
    )

    it.scoped("get_current_account: 3 unless account-authorized; 1 reads the account as it is now", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const client = yield* connect(server.url, DEMO_KEY)
        const error = yield* failsWith(client.getCurrentAccount, "get_current_account", "not_authorized")
        assert.isTrue(Option.isNone(yield* Client.accountInfoOf(error)))
        const licensed = yield* connect(server.url, DEMO_KEY)
        yield* licensed.authByLicense(secret("DEMO-ACCTTEST"))
        yield* failsWith(licensed.getCurrentAccount, "get_current_account", "not_authorized")
        const info = yield* client.authByCredentials(credentials("required_ok"))
        assert.deepStrictEqual(yield* client.getCurrentAccount, info)
      })
    )
  })

  describe("ping (0) and panel_event_subscribe (18)", () => {
    it.scoped("ping measures a round trip; latestRtt holds the latest; keepalive pings fill it too", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const client = yield* connect(server.url, DEMO_KEY)
        assert.isTrue(Option.isNone(yield* client.latestRtt))
        const rtt = yield* client.ping
        // Millisecond clock on loopback: 0 ms is a valid measurement.
        assert.isTrue(Duration.greaterThanOrEqualTo(rtt, Duration.zero) && Duration.lessThan(rtt, Duration.seconds(5)))
        assert.deepStrictEqual(yield* client.latestRtt, Option.some(rtt))
        const kept = yield* connect(server.url, DEMO_KEY, { pingInterval: "20 millis" })
        yield* eventually(Effect.map(kept.latestRtt, Option.isSome))
        // Pings need no authorization, and they do not change the session.
        assert.strictEqual((yield* kept.state)._tag, "Initialized")
      })
    )

    it.scoped("panel_event_subscribe resolves locally by default, and over the wire with the option", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const local = yield* connect(server.url, DEMO_KEY)
        yield* local.panelEventSubscribe
        const wire = yield* connect(server.url, DEMO_KEY, { sendPanelEventSubscribe: true })
        yield* wire.panelEventSubscribe
        // Over the wire it needs no authorization and changes nothing (the rate-limit test in
        // blazeauth-sessions.test.ts shows which of the two sends a message).
        assert.strictEqual((yield* wire.state)._tag, "Initialized")
        yield* local.close
        // After the client ended, the local variant fails like every call.
        assert.deepStrictEqual(yield* failure(local.panelEventSubscribe), new ClientError.ClientClosed())
      })
    )
  })
})
