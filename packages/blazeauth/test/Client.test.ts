/**
 * The Blazeauth client against scripted servers on the in-memory network, under `TestClock`.
 */
import * as Client from "@protokernel/blazeauth/Client"
import * as ClientError from "@protokernel/blazeauth/ClientError"
import * as Expiry from "@protokernel/blazeauth/Expiry"
import * as Model from "@protokernel/blazeauth/Model"
import type * as PanelEvent from "@protokernel/blazeauth/PanelEvent"
import * as Transport from "@protokernel/wire/Transport"
import * as MemoryTransport from "@protokernel/wire/MemoryTransport"
import * as WsTransport from "@protokernel/wire/WsTransport"
import { assert, describe, it } from "@effect/vitest"
import {
  Chunk,
  Duration,
  Effect,
  Exit,
  FastCheck,
  Fiber,
  Layer,
  Logger,
  LogLevel,
  Option,
  Redacted,
  Stream,
  TestClock
} from "effect"
import { fuzzParameters } from "../../../test/kit/fuzz.js"
import { makeServer, type Peer, serve, type Server } from "./support/peer.js"
import { failureOf, succeeded } from "../../../test/kit/unwrap.js"

const API_KEY = "BA0123456789ABCDEFGHI"
const LICENSE = "ABCDEF-123456"
const PASSWORD = "strong-password"

const memory = MemoryTransport.layer()

const baseOptions: Client.Options = {
  url: "memory://blazeauth",
  apiKey: Redacted.make(API_KEY),
  clientId: "desktop-main",
  reconnect: false
}

const initOk = { app_name: "Demo", app_version: "1.0.0", status: 1 }

interface Connected {
  readonly client: Client.Client
  readonly peer: Peer
  readonly server: Server
}

/**
 * Starts a client, answers its `initialize` (and its authorization, with `auth`) as the test says,
 * and returns it with the server side of its connection.
 */
const connect = (overrides: Partial<Client.Options> = {}, answers: { readonly auth?: Record<string, unknown> } = {}) =>
  Effect.gen(function* () {
    const server = yield* makeServer
    const fiber = yield* Effect.fork(Client.make({ ...baseOptions, ...overrides }))
    const peer = yield* server.accept
    const init = yield* peer.request
    yield* peer.reply(init, initOk)
    if (overrides.auth !== undefined) {
      const auth = yield* peer.request
      yield* peer.reply(auth, answers.auth ?? licenseFields)
    }
    const client = yield* Fiber.join(fiber)
    return { client, peer, server } satisfies Connected
  })

const licenseFields = {
  license: LICENSE,
  levels: ["pro"],
  comment: "main seat",
  ip_address: "203.0.113.10",
  time_left: 1767225600,
  status: 1
}

const accountFields = {
  login: "demo_user",
  levels: ["basic"],
  comment: null,
  ip_address: "203.0.113.10",
  time_left: 0,
  license_required: true,
  status: 1
}

/** Runs `call` in a fiber, answers its request with `fields`, and returns the call's exit and request. */
const exchange = <A, E>(peer: Peer, call: Effect.Effect<A, E>, fields: Record<string, unknown>) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.fork(call)
    const request = yield* peer.request
    yield* peer.reply(request, fields)
    return { exit: yield* Fiber.await(fiber), request }
  })

const waitState = (client: Client.Client, tag: Client.State["_tag"]) =>
  client.states.pipe(
    Stream.filter((state) => state._tag === tag),
    Stream.runHead,
    Effect.flatMap(Effect.orDie)
  )

const closeOf = (peer: Peer) => Effect.map(peer.closed, (close) => [close.code, close.reason] as const)

describe("BlazeauthClient: initialize", () => {
  it.scoped("sends initialize first with id 1 in canonical JSON; ids go up by 1 per request sent", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect({ pingInterval: "0 millis" })
      assert.strictEqual(
        peer.received[0],
        `{"type":1,"payload":{"id":1,"socket_api_key":"${API_KEY}","client_id":"desktop-main"}}`
      )
      assert.deepStrictEqual(yield* client.application, new Model.Application({ name: "Demo", version: "1.0.0" }))
      assert.deepStrictEqual(
        yield* client.state,
        Client.State.Initialized({ application: new Model.Application({ name: "Demo", version: "1.0.0" }) })
      )
      // Resolved locally: no id used, nothing sent.
      yield* client.panelEventSubscribe
      const invalid = yield* Effect.flip(client.setSessionValue("", "value"))
      assert.strictEqual(invalid._tag, "InvalidArgument")
      assert.isFalse(yield* peer.hasPending)
      const first = yield* exchange(peer, client.getOnlineUsersCount, { online_users_count: 7, status: 1 })
      assert.strictEqual(first.request.text, `{"type":12,"payload":{"id":2}}`)
      assert.strictEqual(succeeded(first.exit), 7)
      const second = yield* exchange(peer, client.getVariable("launcher_config"), { content: "{}", status: 1 })
      assert.strictEqual(second.request.text, `{"type":13,"payload":{"id":3,"name":"launcher_config"}}`)
      assert.strictEqual(succeeded(second.exit), "{}")
    }).pipe(Effect.provide(memory))
  )

  it.scoped("a failed initialize status fails make with StatusError, and the client closes 1000", () =>
    Effect.gen(function* () {
      for (const code of [2, 4, 500, 502, 6, 999]) {
        yield* Effect.gen(function* () {
          const server = yield* makeServer
          const fiber = yield* Effect.fork(Client.make(baseOptions))
          const peer = yield* server.accept
          yield* peer.reply(yield* peer.request, { status: code })
          const error = yield* Effect.flip(Fiber.join(fiber))
          assert.strictEqual(error._tag, "StatusError")
          if (error._tag === "StatusError") {
            assert.deepStrictEqual([error.usecase, error.status.code], ["initialize", code])
            assert.strictEqual(error.status.name === "unknown", code === 999)
          }
          assert.deepStrictEqual(yield* closeOf(peer), [1000, ""])
        }).pipe(Effect.scoped, Effect.provide(memory))
      }
    })
  )

  it.scoped("a close instead of an answer fails make with ConnectionClosed (4101, 4202, 4204 after 502)", () =>
    Effect.gen(function* () {
      const cases = [
        [undefined, 4101, "application paused"],
        [undefined, 4202, "session wasn't initialized in 15 seconds after connection"]
      ] as const
      for (const [, code, reason] of cases) {
        const error = yield* Effect.gen(function* () {
          const server = yield* makeServer
          const fiber = yield* Effect.fork(Client.make(baseOptions))
          const peer = yield* server.accept
          yield* peer.request
          yield* peer.close(code, reason)
          return yield* Effect.flip(Fiber.join(fiber))
        }).pipe(Effect.scoped, Effect.provide(memory))
        assert.deepStrictEqual(error, new ClientError.ConnectionClosed({ code, reason, initiator: "remote" }))
      }
      // 502 comes as a response first, then the close.
      const error = yield* Effect.gen(function* () {
        const server = yield* makeServer
        const fiber = yield* Effect.fork(Client.make(baseOptions))
        const peer = yield* server.accept
        yield* peer.reply(yield* peer.request, { status: 502 })
        yield* peer.close(4204, "external ID is blacklisted")
        return yield* Effect.flip(Fiber.join(fiber))
      }).pipe(Effect.scoped, Effect.provide(memory))
      assert.isTrue(error._tag === "StatusError" && error.is("client_id_blacklisted"))
    })
  )

  it.scoped("no answer to initialize fails make with Timeout after initializeTimeout (30 s)", () =>
    Effect.gen(function* () {
      const server = yield* makeServer
      const fiber = yield* Effect.fork(Client.make(baseOptions))
      const peer = yield* server.accept
      yield* peer.request
      yield* TestClock.adjust("29999 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust("1 millis")
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.deepStrictEqual(error, new ClientError.Timeout({ usecase: "initialize", millis: 30000 }))
      assert.deepStrictEqual(yield* closeOf(peer), [1000, ""])
    }).pipe(Effect.provide(memory))
  )

  it.scoped("checks client_id (4–64 characters) before connecting: InvalidOptions, nothing sent", () =>
    Effect.gen(function* () {
      const server = yield* makeServer
      for (const clientId of ["abc", "x".repeat(65), ""]) {
        const error = yield* Effect.flip(Client.make({ ...baseOptions, clientId }))
        assert.strictEqual(error._tag, "InvalidOptions")
        assert.strictEqual(error.message.startsWith("invalid option clientId: must have 4 to 64 characters"), true)
      }
      // Characters (code points), not UTF-16 units: three emoji are too short, four are enough.
      const emoji = yield* Effect.flip(Client.make({ ...baseOptions, clientId: "😀😀😀" }))
      assert.strictEqual(emoji._tag, "InvalidOptions")
      assert.strictEqual(yield* server.connections, 0)
      yield* Effect.fork(Client.make({ ...baseOptions, clientId: "😀😀😀😀" }))
      const peer = yield* server.accept
      assert.strictEqual((yield* peer.request).payload["client_id"], "😀😀😀😀")
    }).pipe(Effect.provide(memory))
  )

  it.scoped("a success without app_name is a MalformedResponse; a connect error is a ConnectError", () =>
    Effect.gen(function* () {
      const malformed = yield* Effect.gen(function* () {
        const server = yield* makeServer
        const fiber = yield* Effect.fork(Client.make(baseOptions))
        const peer = yield* server.accept
        yield* peer.reply(yield* peer.request, { app_version: "1.0.0", status: 1 })
        return yield* Effect.flip(Fiber.join(fiber))
      }).pipe(Effect.scoped, Effect.provide(memory))
      assert.deepStrictEqual(
        malformed,
        new ClientError.MalformedResponse({ usecase: "initialize", detail: `["app_name"]: is missing` })
      )
      const refused = Layer.succeed(Transport.Connector, {
        connect: (url) => Effect.fail(new Transport.ConnectError({ url, detail: "connection refused" }))
      })
      const error = yield* Effect.flip(Client.make(baseOptions).pipe(Effect.provide(refused)))
      assert.deepStrictEqual(
        error,
        new Transport.ConnectError({ url: "memory://blazeauth", detail: "connection refused" })
      )
    })
  )
})

describe("BlazeauthClient: authorization", () => {
  it.scoped("authorizes with a license right after initialize (id 2) and maps the license", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect({ auth: Client.Authorization.license(Redacted.make(LICENSE)) })
      assert.strictEqual(peer.received[1], `{"type":3,"payload":{"id":2,"license":"${LICENSE}"}}`)
      const state = yield* client.state
      assert.isTrue(state._tag === "Authorized" && state.kind === "license")
    }).pipe(Effect.provide(memory))
  )

  it.scoped("authorizes with credentials (credentials_type defaults to 0) and maps the account", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect(
        {
          auth: Client.Authorization.credentials({ login: "demo_user", password: Redacted.make(PASSWORD) })
        },
        { auth: accountFields }
      )
      assert.strictEqual(
        peer.received[1],
        `{"type":4,"payload":{"id":2,"login":"demo_user","password":"${PASSWORD}","credentials_type":0}}`
      )
      const state = yield* client.state
      assert.isTrue(state._tag === "Authorized" && state.kind === "account")
      const { exit, request } = yield* exchange(
        peer,
        client.authByCredentials({
          login: "user@example.com",
          password: Redacted.make(PASSWORD),
          credentialsType: 1,
          license: Redacted.make(LICENSE)
        }),
        accountFields
      )
      assert.strictEqual(
        request.text,
        `{"type":4,"payload":{"id":3,"login":"user@example.com","password":"${PASSWORD}","license":"${LICENSE}","credentials_type":1}}`
      )
      assert.deepStrictEqual(
        succeeded(exit),
        new Model.AccountInfo({
          login: "demo_user",
          levels: ["basic"],
          comment: null,
          ipAddress: "203.0.113.10",
          expiry: Expiry.never,
          licenseRequired: true
        })
      )
    }).pipe(Effect.provide(memory))
  )

  it.scoped("a failed authorization fails make with its StatusError and closes the connection", () =>
    Effect.gen(function* () {
      const server = yield* makeServer
      const fiber = yield* Effect.fork(
        Client.make({ ...baseOptions, auth: Client.Authorization.license(Redacted.make(LICENSE)) })
      )
      const peer = yield* server.accept
      yield* peer.reply(yield* peer.request, initOk)
      yield* peer.reply(yield* peer.request, { status: 100 })
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.isTrue(error._tag === "StatusError" && error.is("license_invalid") && error.usecase === "auth_by_license")
      assert.deepStrictEqual(yield* closeOf(peer), [1000, ""])
    }).pipe(Effect.provide(memory))
  )

  it.scoped("license mapping: levels as an object, §1.5 defaults, expiry absolute / relative / never / expired", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(1_700_000_000_400)
      const { client, peer } = yield* connect({ pingInterval: "0 millis" })
      const license = Redacted.make(LICENSE)
      const cases: ReadonlyArray<readonly [Record<string, unknown>, Model.LicenseInfo]> = [
        [
          licenseFields,
          new Model.LicenseInfo({
            license,
            levels: ["pro"],
            comment: "main seat",
            ipAddress: "203.0.113.10",
            expiry: Expiry.at(1767225600)
          })
        ],
        [
          { license: LICENSE, levels: { tier: "pro", "1": "b", "0": "a", n: 5 }, time_left: 3600, status: 1 },
          new Model.LicenseInfo({
            license,
            levels: ["a", "b", "pro"],
            comment: null,
            ipAddress: null,
            expiry: Expiry.at(1_700_000_000 + 3600)
          })
        ],
        [
          { license: LICENSE, levels: null },
          new Model.LicenseInfo({ license, levels: [], comment: null, ipAddress: null, expiry: Expiry.never })
        ],
        [
          { license: LICENSE, levels: ["x", 1, "y"], time_left: 0, status: 0 },
          new Model.LicenseInfo({ license, levels: ["x", "y"], comment: null, ipAddress: null, expiry: Expiry.never })
        ],
        [
          { license: LICENSE, time_left: "-5", status: 1 },
          new Model.LicenseInfo({
            license,
            levels: [],
            comment: null,
            ipAddress: null,
            expiry: Expiry.at(1_700_000_000)
          })
        ]
      ]
      for (const [fields, expected] of cases) {
        const { exit } = yield* exchange(peer, client.getCurrentLicense, fields)
        const info = succeeded(exit)
        assert.deepStrictEqual(info, expected)
        assert.strictEqual(Redacted.value(info.license), LICENSE)
      }
      const { exit, request } = yield* exchange(peer, client.authByLicense(license), licenseFields)
      assert.strictEqual(request.text, `{"type":3,"payload":{"id":7,"license":"${LICENSE}"}}`)
      assert.strictEqual(Duration.toSeconds(succeeded(exit).remaining(1767225600 - 60)), 60)
      const state = yield* client.state
      assert.isTrue(state._tag === "Authorized" && state.kind === "license")
    }).pipe(Effect.provide(memory))
  )
})

describe("BlazeauthClient: usecases", () => {
  it.scoped("each usecase sends its canonical request and maps its success response", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(1_700_000_000_000)
      const { client, peer } = yield* connect({
        pingInterval: "0 millis",
        auth: Client.Authorization.license(Redacted.make(LICENSE))
      })
      const create = yield* exchange(
        peer,
        client.createAccount({
          login: "user@example.com",
          password: Redacted.make(PASSWORD),
          comment: "trial user",
          credentialsType: 1
        }),
        { status: 1 }
      )
      assert.strictEqual(
        create.request.text,
        `{"type":2,"payload":{"id":3,"login":"user@example.com","password":"${PASSWORD}","comment":"trial user","credentials_type":1}}`
      )
      succeeded(create.exit)
      const link = yield* exchange(peer, client.linkLicense(Redacted.make("ABCDEF-654321")), { status: 1 })
      assert.strictEqual(link.request.text, `{"type":5,"payload":{"id":4,"license":"ABCDEF-654321"}}`)
      succeeded(link.exit)
      const metadata = yield* exchange(peer, client.getFileMetadata("client.bin"), {
        checksum: "6bc14bdc4517a7a682c6910de2e2946eb8e1ecd04090728fef6d092a7ceb62c5",
        size: "20",
        transfer_count: 3,
        last_transferred_at: 1700000000,
        status: 1
      })
      assert.strictEqual(metadata.request.text, `{"type":11,"payload":{"id":5,"filename":"client.bin"}}`)
      assert.deepStrictEqual(
        succeeded(metadata.exit),
        new Model.FileMetadata({
          checksum: "6bc14bdc4517a7a682c6910de2e2946eb8e1ecd04090728fef6d092a7ceb62c5",
          size: 20,
          transferCount: 3,
          lastTransferredAt: 1700000000
        })
      )
      const never = yield* exchange(peer, client.getFileMetadata("client.bin"), {
        checksum: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        size: 0,
        transfer_count: 0
      })
      assert.strictEqual(succeeded(never.exit).lastTransferredAt, null)
      const setPlain = yield* exchange(peer, client.setSessionValue("launcher_token", "abc123"), { status: 1 })
      assert.strictEqual(
        setPlain.request.text,
        `{"type":14,"payload":{"id":7,"key":"launcher_token","value":"abc123","ttl":null}}`
      )
      succeeded(setPlain.exit)
      const setTtl = yield* exchange(peer, client.setSessionValue("k", "v", { ttl: "1 hour" }), { status: 1 })
      assert.strictEqual(setTtl.request.text, `{"type":14,"payload":{"id":8,"key":"k","value":"v","ttl":3600}}`)
      const setRounded = yield* exchange(peer, client.setSessionValue("k", "v", { ttl: Duration.millis(1500) }), {})
      assert.strictEqual(setRounded.request.payload["ttl"], 2)
      succeeded(setRounded.exit)
      const get = yield* exchange(peer, client.getSessionValue("launcher_token"), { value: "abc123", status: 1 })
      assert.strictEqual(get.request.text, `{"type":15,"payload":{"id":10,"key":"launcher_token"}}`)
      assert.strictEqual(succeeded(get.exit), "abc123")
      const account = yield* exchange(peer, client.getCurrentAccount, { login: "demo_user", status: 1 })
      assert.strictEqual(account.request.text, `{"type":17,"payload":{"id":11}}`)
      assert.deepStrictEqual(
        succeeded(account.exit),
        new Model.AccountInfo({
          login: "demo_user",
          levels: [],
          comment: null,
          ipAddress: null,
          expiry: Expiry.never,
          licenseRequired: false
        })
      )
      const logout = yield* exchange(peer, client.logout, { status: 1 })
      assert.strictEqual(logout.request.text, `{"type":6,"payload":{"id":12}}`)
      succeeded(logout.exit)
      assert.strictEqual((yield* client.state)._tag, "Initialized")
      const blacklist = yield* exchange(peer, client.blacklist("fraud detected"), { status: 1 })
      assert.strictEqual(blacklist.request.text, `{"type":7,"payload":{"id":13,"comment":"fraud detected"}}`)
      succeeded(blacklist.exit)
    }).pipe(Effect.provide(memory))
  )

  it.scoped("panelEventSubscribe sends its request only with sendPanelEventSubscribe", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect({ pingInterval: "0 millis", sendPanelEventSubscribe: true })
      const { exit, request } = yield* exchange(peer, client.panelEventSubscribe, { status: 1 })
      assert.strictEqual(request.text, `{"type":18,"payload":{"id":2}}`)
      succeeded(exit)
    }).pipe(Effect.provide(memory))
  )

  it.scoped("status errors carry the decoded payload (16 with 101, 17 with 203, 2 with 5 + retry_after)", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(1_700_000_000_000)
      const { client, peer } = yield* connect({ pingInterval: "0 millis" })
      const expired = failureOf(
        (yield* exchange(peer, client.getCurrentLicense, { ...licenseFields, time_left: 1600000000, status: 101 })).exit
      )
      assert.isTrue(expired._tag === "StatusError" && expired.is("license_expired"))
      assert.deepStrictEqual(
        yield* Client.licenseInfoOf(expired),
        Option.some(
          new Model.LicenseInfo({
            license: Redacted.make(LICENSE),
            levels: ["pro"],
            comment: "main seat",
            ipAddress: "203.0.113.10",
            expiry: Expiry.at(1600000000)
          })
        )
      )
      const lapsed = failureOf(
        (yield* exchange(peer, client.getCurrentAccount, { login: "demo_user", license_required: true, status: 203 }))
          .exit
      )
      assert.isTrue(lapsed._tag === "StatusError" && lapsed.is("account_has_no_valid_licenses"))
      const account = yield* Client.accountInfoOf(lapsed)
      assert.isTrue(Option.isSome(account) && account.value.login === "demo_user" && account.value.licenseRequired)
      const throttled = failureOf(
        (yield* exchange(
          peer,
          client.createAccount({ login: "someone", password: Redacted.make(PASSWORD), credentialsType: 0 }),
          { retry_after: 86390, status: 5 }
        )).exit
      )
      assert.isTrue(throttled._tag === "StatusError" && throttled.is("too_many_requests"))
      assert.deepStrictEqual(Client.retryAfter(throttled), Option.some(Duration.seconds(86390)))
      assert.deepStrictEqual(Client.retryAfter(expired), Option.none())
      const unknown = failureOf((yield* exchange(peer, client.getVariable("abc"), { status: 106 })).exit)
      assert.strictEqual(unknown.message, "get_variable failed: unknown status (106)")
    }).pipe(Effect.provide(memory))
  )

  it.scoped("a field the status requires, missing or of the wrong type, is a MalformedResponse", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect({ pingInterval: "0 millis" })
      const cases: ReadonlyArray<
        readonly [Effect.Effect<unknown, ClientError.CallError>, Record<string, unknown>, string]
      > = [
        [client.getCurrentLicense, { status: 101 }, `malformed get_current_license response: ["license"]: is missing`],
        [
          client.createAccount({ login: "someone", password: Redacted.make(PASSWORD), credentialsType: 0 }),
          { status: 5 },
          `malformed create_account response: ["retry_after"]: is missing`
        ],
        [client.getVariable("abc"), { status: 1 }, `malformed get_variable response: ["content"]: is missing`],
        [
          client.getOnlineUsersCount,
          { online_users_count: "3", status: 1 },
          `malformed get_online_users_count response: ["online_users_count"]: has the wrong type or is out of range`
        ],
        [
          client.getVariable("abc"),
          { content: "x", status: "1" },
          `malformed get_variable response: ["status"]: has the wrong type or is out of range`
        ],
        [
          client.getFileMetadata("client.bin"),
          { checksum: "00", size: 1, status: 1 },
          `malformed get_file_metadata response: ["transfer_count"]: is missing`
        ]
      ]
      for (const [call, fields, message] of cases) {
        const error = failureOf((yield* exchange(peer, call, fields)).exit)
        assert.deepStrictEqual([error._tag, error.message], ["MalformedResponse", message])
      }
    }).pipe(Effect.provide(memory))
  )

  it.scoped("a malformed response fails only its call; a concurrent call succeeds and the session goes on", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect({ pingInterval: "0 millis" })
      const first = yield* Effect.fork(client.getVariable("launcher_config"))
      const second = yield* Effect.fork(client.getOnlineUsersCount)
      const third = yield* Effect.fork(client.getSessionValue("k"))
      const requests = [yield* peer.request, yield* peer.request, yield* peer.request]
      assert.deepStrictEqual(
        requests.map((request) => [request.type, request.id]),
        [
          [13, 2n],
          [12, 3n],
          [15, 4n]
        ]
      )
      yield* peer.reply(requests[0]!, { content: 42, status: 1 })
      // A response of another type under the id of the third call.
      yield* peer.send(`{"type":12,"payload":{"id":4,"online_users_count":1,"status":1}}`)
      yield* peer.reply(requests[1]!, { online_users_count: 5, status: 1 })
      const malformed = failureOf(yield* Fiber.await(first))
      assert.deepStrictEqual(
        malformed,
        new ClientError.MalformedResponse({
          usecase: "get_variable",
          detail: `["content"]: has the wrong type or is out of range`
        })
      )
      assert.strictEqual(succeeded(yield* Fiber.await(second)), 5)
      assert.deepStrictEqual(
        failureOf(yield* Fiber.await(third)),
        new ClientError.MalformedResponse({
          usecase: "get_session_value",
          detail: "a response of type 12 answered a type-15 request"
        })
      )
      const after = yield* exchange(peer, client.getOnlineUsersCount, { online_users_count: 6 })
      assert.strictEqual(succeeded(after.exit), 6)
      assert.strictEqual(after.request.id, 5n)
    }).pipe(Effect.provide(memory))
  )
})

/** A frame script that breaks the protocol, and the detail the client must report. */
const violations: ReadonlyArray<readonly [string, ReadonlyArray<string | Uint8Array>, string]> = [
  ["invalid JSON", [`{"type":13,"payload":{"id":2,`], "invalid JSON"],
  ["not an object", [`[1,2]`], "message is not a JSON object"],
  ["missing type", [`{"payload":{"id":2}}`], "'type' is missing"],
  ["type not an integer", [`{"type":"13","payload":{"id":2}}`], "'type' is not an integer"],
  ["type 13.0", [`{"type":13.0,"payload":{"id":2}}`], "'type' is not an integer"],
  ["missing payload", [`{"type":13}`], "'payload' is missing"],
  ["payload not an object", [`{"type":13,"payload":[]}`], "'payload' is not an object"],
  ["binary frame with no header", [Uint8Array.of(1, 2, 3)], "binary frame without a pending header"],
  [
    "text frame while a binary frame is pending",
    [`{"type":8,"payload":{"id":99,"transfer_id":"t","chunk_size":4,"offset":0}}`, `{"type":0,"payload":{"id":5}}`],
    "text frame while a binary frame of 4 bytes is pending"
  ],
  [
    "binary frame of the wrong length",
    [`{"type":8,"payload":{"id":99,"chunk_size":4}}`, Uint8Array.of(1, 2, 3)],
    "binary frame of 3 bytes, expected 4"
  ],
  ["chunk_size as a string", [`{"type":8,"payload":{"id":99,"chunk_size":"4"}}`], "'chunk_size' is not an integer"],
  ["chunk_size missing", [`{"type":8,"payload":{"id":99}}`], "type-8 message without 'chunk_size'"],
  ["chunk_size negative", [`{"type":8,"payload":{"id":99,"chunk_size":-1}}`], "'chunk_size' is negative"],
  [
    "chunk_size above the client limit",
    [`{"type":8,"payload":{"id":99,"chunk_size":16777217}}`],
    "'chunk_size' is above the client limit of 16777216 bytes"
  ]
]

describe("BlazeauthClient: receive rules (§1.5, §4.5)", () => {
  it.scoped("protocol violations close 1002 'protocol violation: …', fail every pending call, never reconnect", () =>
    Effect.gen(function* () {
      for (const [name, frames, detail] of violations) {
        yield* Effect.gen(function* () {
          const { client, peer, server } = yield* connect({ reconnect: true })
          const first = yield* Effect.fork(client.getVariable("launcher_config"))
          const second = yield* Effect.fork(client.getOnlineUsersCount)
          yield* peer.request
          yield* peer.request
          for (const frame of frames) yield* peer.send(frame)
          const expected = new ClientError.ProtocolViolation({ detail })
          assert.deepStrictEqual(failureOf(yield* Fiber.await(first)), expected, name)
          assert.deepStrictEqual(failureOf(yield* Fiber.await(second)), expected, name)
          assert.deepStrictEqual(yield* closeOf(peer), [1002, `protocol violation: ${detail}`], name)
          assert.deepStrictEqual(yield* waitState(client, "Failed"), Client.State.Failed({ error: expected }), name)
          assert.deepStrictEqual(failureOf(yield* Effect.exit(client.ping)), expected, name)
          yield* TestClock.adjust("10 minutes")
          assert.strictEqual(yield* server.connections, 1, name)
        }).pipe(Effect.scoped, Effect.provide(memory))
      }
    })
  )

  it.scoped("unknown types, unknown or invalid ids, and the push id on another type are dropped", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect({ pingInterval: "0 millis" })
      const call = yield* Effect.fork(client.getOnlineUsersCount)
      const request = yield* peer.request
      const ignored = [
        `{"type":19,"payload":{"id":2,"online_users_count":1}}`,
        `{"type":-1,"payload":{"id":2}}`,
        `{"type":99999999999999999999,"payload":{"id":2}}`,
        `{"type":12,"payload":{"id":77,"online_users_count":1,"status":1}}`,
        `{"type":12,"payload":{"online_users_count":1,"status":1}}`,
        `{"type":12,"payload":{"id":"two","online_users_count":1}}`,
        `{"type":12,"payload":{"id":-2,"online_users_count":1}}`,
        `{"type":12,"payload":{"id":2.0,"online_users_count":1}}`,
        `{"type":12,"payload":{"id":18446744073709551616,"online_users_count":1}}`,
        `{"type":12,"payload":{"id":18446744073709551615,"online_users_count":1,"status":1}}`,
        `{"type":12,"payload":{"id":18446744073709551614,"online_users_count":1,"status":1}}`
      ]
      for (const frame of ignored) yield* peer.send(frame)
      assert.isTrue(Option.isNone(yield* Fiber.poll(call)))
      // The id as a digit string is the same id (u64, §1.3).
      yield* peer.send(`{"type":12,"payload":{"id":"2","online_users_count":9,"status":1,"extra":[1]}}`)
      assert.strictEqual(succeeded(yield* Fiber.await(call)), 9)
      assert.strictEqual(request.id, 2n)
      assert.strictEqual((yield* client.state)._tag, "Initialized")
    }).pipe(Effect.provide(memory))
  )

  it.scoped("a type-8 header with an unknown, missing or push id binds and discards the next binary frame", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect({ pingInterval: "0 millis" })
      const call = yield* Effect.fork(client.getVariable("launcher_config"))
      const request = yield* peer.request
      yield* peer.send(`{"type":8,"payload":{"id":42,"transfer_id":"t","binary_data":true,"chunk_size":4,"offset":0}}`)
      yield* peer.send(Uint8Array.of(1, 2, 3, 4))
      yield* peer.send(`{"type":8,"payload":{"chunk_size":2,"offset":"junk"}}`)
      yield* peer.send(Uint8Array.of(5, 6))
      yield* peer.send(`{"type":8,"payload":{"id":18446744073709551615,"chunk_size":1}}`)
      yield* peer.send(Uint8Array.of(7))
      // chunk_size 0 binds nothing.
      yield* peer.send(`{"type":8,"payload":{"id":43,"chunk_size":0,"status":308}}`)
      yield* peer.reply(request, { content: "{}", status: 1 })
      assert.strictEqual(succeeded(yield* Fiber.await(call)), "{}")
      // A type-8 header under a pending call's id fails that call, and still binds.
      const other = yield* Effect.fork(client.getVariable("launcher_config"))
      const second = yield* peer.request
      yield* peer.send(`{"type":8,"payload":{"id":${second.id},"chunk_size":3}}`)
      yield* peer.send(Uint8Array.of(1, 2, 3))
      assert.strictEqual(failureOf(yield* Fiber.await(other))._tag, "MalformedResponse")
      const after = yield* exchange(peer, client.getOnlineUsersCount, { online_users_count: 2, status: 1 })
      assert.strictEqual(succeeded(after.exit), 2)
    }).pipe(Effect.provide(memory))
  )

  it.scoped("panel events reach every subscriber in order, none lost; bad events are dropped", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect({ pingInterval: "0 millis" })
      const first = yield* client.subscribePanelEvents
      const second = yield* client.subscribePanelEvents
      const viaStream = yield* client.panelEvents.pipe(Stream.take(3), Stream.runCollect, Effect.fork)
      // `panelEvents` subscribes when it starts running: let the fiber start.
      yield* Effect.repeatN(Effect.yieldNow(), 5)
      yield* peer.push(2, { version: "1.2.3" })
      yield* peer.push("2", { version: "dropped" })
      yield* peer.push(2.5)
      yield* peer.send(`{"type":12,"payload":{"id":18446744073709551615,"event_type":3}}`)
      yield* peer.push(99, { a: "b", n: 1, nested: { x: "y" } })
      yield* peer.push(0, "not an object")
      const expected = [
        { eventType: 2, content: { version: "1.2.3" }, isKnown: true },
        { eventType: 99, content: { a: "b" }, isKnown: false },
        { eventType: 0, content: {}, isKnown: true }
      ]
      const collect = (stream: Stream.Stream<PanelEvent.PanelEvent>) =>
        Effect.map(Stream.runCollect(Stream.take(stream, 3)), (events) =>
          Chunk.toArray(events).map((event) => ({
            eventType: event.eventType,
            content: event.content,
            isKnown: event.isKnown
          }))
        )
      assert.deepStrictEqual(yield* collect(first), expected)
      assert.deepStrictEqual(yield* collect(second), expected)
      assert.deepStrictEqual(
        Chunk.toArray(yield* Fiber.join(viaStream)).map((event) => event.eventType),
        [2, 99, 0]
      )
    }).pipe(Effect.provide(memory))
  )
})

describe("BlazeauthClient: keepalive and timeouts", () => {
  it.scoped("pings every 20 s after initialize and keeps the latest round-trip time", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect()
      assert.isTrue(Option.isNone(yield* client.latestRtt))
      yield* TestClock.adjust("19999 millis")
      assert.isFalse(yield* peer.hasPending)
      yield* TestClock.adjust("1 millis")
      const first = yield* peer.request
      assert.strictEqual(first.text, `{"type":0,"payload":{"id":2}}`)
      yield* TestClock.adjust("150 millis")
      yield* peer.reply(first)
      yield* TestClock.adjust("19850 millis")
      const second = yield* peer.request
      assert.strictEqual(second.text, `{"type":0,"payload":{"id":3}}`)
      assert.deepStrictEqual(Option.map(yield* client.latestRtt, Duration.toMillis), Option.some(150))
      yield* peer.reply(second)
      const manual = yield* Effect.fork(client.ping)
      const third = yield* peer.request
      assert.strictEqual(third.text, `{"type":0,"payload":{"id":4}}`)
      yield* TestClock.adjust("42 millis")
      yield* peer.reply(third)
      assert.strictEqual(Duration.toMillis(succeeded(yield* Fiber.await(manual))), 42)
      assert.deepStrictEqual(Option.map(yield* client.latestRtt, Duration.toMillis), Option.some(42))
    }).pipe(Effect.provide(memory))
  )

  it.scoped("no ping answer within 20 s: PingTimeout for every pending call, close 1000 'ping timeout'", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect({ requestTimeout: "120000 millis" })
      const pending = yield* Effect.fork(client.getVariable("launcher_config"))
      yield* peer.request
      yield* TestClock.adjust("20 seconds")
      const ping = yield* peer.request
      assert.strictEqual(ping.type, 0)
      yield* TestClock.adjust("19999 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(pending)))
      yield* TestClock.adjust("1 millis")
      const error = new ClientError.PingTimeout({ millis: 20000 })
      assert.deepStrictEqual(failureOf(yield* Fiber.await(pending)), error)
      assert.deepStrictEqual(yield* closeOf(peer), [1000, "ping timeout"])
      assert.deepStrictEqual(yield* waitState(client, "Failed"), Client.State.Failed({ error }))
    }).pipe(Effect.provide(memory))
  )

  it.scoped("pingInterval 0 sends no pings", () =>
    Effect.gen(function* () {
      const { peer } = yield* connect({ pingInterval: "0 millis" })
      yield* TestClock.adjust("10 minutes")
      assert.isFalse(yield* peer.hasPending)
      assert.strictEqual(peer.received.length, 1)
    }).pipe(Effect.provide(memory))
  )

  it.scoped("a call gets Timeout after 30 s; its late response is dropped and the session goes on", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect({ pingInterval: "0 millis" })
      const call = yield* Effect.fork(client.getVariable("launcher_config"))
      const request = yield* peer.request
      yield* TestClock.adjust("29999 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(call)))
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(
        failureOf(yield* Fiber.await(call)),
        new ClientError.Timeout({ usecase: "get_variable", millis: 30000 })
      )
      yield* peer.reply(request, { content: "late", status: 1 })
      const after = yield* exchange(peer, client.getVariable("launcher_config"), { content: "fresh", status: 1 })
      assert.strictEqual(succeeded(after.exit), "fresh")
      assert.strictEqual(after.request.id, 3n)
    }).pipe(Effect.provide(memory))
  )
})

describe("BlazeauthClient: closes", () => {
  it.scoped("a server close fails pending calls with ConnectionClosed (remote)", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect({ reconnect: true })
      const pending = yield* Effect.fork(client.getVariable("launcher_config"))
      yield* peer.request
      yield* peer.close(4101, "application paused")
      const error = new ClientError.ConnectionClosed({ code: 4101, reason: "application paused", initiator: "remote" })
      assert.deepStrictEqual(failureOf(yield* Fiber.await(pending)), error)
      assert.deepStrictEqual(yield* waitState(client, "Failed"), Client.State.Failed({ error }))
      assert.deepStrictEqual(failureOf(yield* Effect.exit(client.getOnlineUsersCount)), error)
    }).pipe(Effect.provide(memory))
  )

  it.scoped("blacklist resolves on a close 4203 or 1000 while pending, fails on 11 or a close the client starts", () =>
    Effect.gen(function* () {
      for (const code of [4203, 1000]) {
        yield* Effect.gen(function* () {
          const { client, peer } = yield* connect({ pingInterval: "0 millis" })
          const call = yield* Effect.fork(client.blacklist())
          const request = yield* peer.request
          assert.strictEqual(request.text, `{"type":7,"payload":{"id":2}}`)
          yield* peer.close(code, code === 4203 ? "session was blacklisted" : "")
          succeeded(yield* Fiber.await(call))
        }).pipe(Effect.scoped, Effect.provide(memory))
      }
      yield* Effect.gen(function* () {
        const { client, peer } = yield* connect({ pingInterval: "0 millis" })
        const quota = yield* exchange(peer, client.blacklist(), { status: 11 })
        assert.isTrue(failureOf(quota.exit)._tag === "StatusError")
        // Another server close is an error, as for any call.
        const call = yield* Effect.fork(client.blacklist())
        yield* peer.request
        yield* peer.close(4100, "disconnected from panel")
        assert.strictEqual(failureOf(yield* Fiber.await(call))._tag, "ConnectionClosed")
      }).pipe(Effect.scoped, Effect.provide(memory))
      yield* Effect.gen(function* () {
        const { client, peer } = yield* connect({ pingInterval: "0 millis" })
        const call = yield* Effect.fork(client.blacklist())
        yield* peer.request
        yield* client.close
        assert.deepStrictEqual(failureOf(yield* Fiber.await(call)), new ClientError.ClientClosed())
      }).pipe(Effect.scoped, Effect.provide(memory))
    })
  )

  it.scoped("close and the end of the scope close with 1000 and fail pending calls with ClientClosed", () =>
    Effect.gen(function* () {
      const closedLocally = new ClientError.ClientClosed()
      const { client, peer } = yield* connect({ reconnect: true })
      const pending = yield* Effect.fork(client.getVariable("launcher_config"))
      yield* peer.request
      yield* client.close
      assert.deepStrictEqual(failureOf(yield* Fiber.await(pending)), closedLocally)
      assert.deepStrictEqual(yield* closeOf(peer), [1000, ""])
      assert.deepStrictEqual(yield* client.state, Client.State.Closed())
      assert.deepStrictEqual(failureOf(yield* Effect.exit(client.getOnlineUsersCount)), closedLocally)
      yield* TestClock.adjust("10 minutes")
      // Through the scope: a second client whose scope ends.
      const second = yield* Effect.gen(function* () {
        const connected = yield* connect({ pingInterval: "0 millis" })
        const call = yield* Effect.fork(connected.client.getVariable("x"))
        yield* connected.peer.request
        return { ...connected, call }
      }).pipe(Effect.scoped, Effect.provide(memory))
      assert.deepStrictEqual(failureOf(yield* Fiber.await(second.call)), closedLocally)
      assert.deepStrictEqual(yield* closeOf(second.peer), [1000, ""])
    }).pipe(Effect.provide(memory))
  )
})

describe("BlazeauthClient: reconnection", () => {
  it.scoped(
    "reconnect.maxAttempts: gives up after that many failed attempts in a row, with initialDelay/maxDelay's delays",
    () =>
      Effect.gen(function* () {
        const { client, peer, server } = yield* connect({
          reconnect: { maxAttempts: 2, initialDelay: "100 millis", maxDelay: "150 millis" },
          pingInterval: "0 millis"
        })
        yield* peer.drop
        const delays: Array<number> = []
        for (const attempt of [1, 2]) {
          const waiting = yield* waitState(client, "Waiting")
          if (waiting._tag !== "Waiting") return assert.fail("expected Waiting")
          assert.strictEqual(waiting.attempt, attempt)
          delays.push(Duration.toMillis(waiting.delay))
          yield* TestClock.adjust(waiting.delay)
          const next = yield* server.accept
          yield* next.request
          yield* next.drop
        }
        // 100 ms ±20 %, then 200 ms capped at 150 ms ±20 %.
        assert.isTrue(delays[0]! >= 80 && delays[0]! <= 120, `first delay ${delays[0]}`)
        assert.isTrue(delays[1]! >= 120 && delays[1]! <= 180, `second delay ${delays[1]}`)
        const failed = yield* waitState(client, "Failed")
        if (failed._tag !== "Failed") return assert.fail("expected Failed")
        assert.deepStrictEqual(
          failed.error,
          new ClientError.ConnectionClosed({ code: 1006, reason: "", initiator: "remote" })
        )
        yield* TestClock.adjust("1 minute")
        assert.strictEqual(yield* server.connections, 3)
      }).pipe(Effect.provide(memory))
  )

  it.scoped("reconnects after 1006 and 4000: initializes again with id 1 and re-authorizes; calls wait", () =>
    Effect.gen(function* () {
      const { client, peer, server } = yield* connect(
        { reconnect: true, pingInterval: "0 millis", auth: Client.Authorization.license(Redacted.make(LICENSE)) },
        { auth: { ...licenseFields, levels: ["first"] } }
      )
      yield* peer.drop
      for (const index of [1, 2]) {
        const waiting = yield* waitState(client, "Waiting")
        if (waiting._tag !== "Waiting") return assert.fail("expected Waiting")
        assert.deepStrictEqual(
          waiting.error,
          index === 1
            ? new ClientError.ConnectionClosed({ code: 1006, reason: "", initiator: "remote" })
            : new ClientError.ConnectionClosed({ code: 4000, reason: "internal server error", initiator: "remote" })
        )
        assert.strictEqual(waiting.attempt, 1)
        // A call made now waits for the next session.
        const call = yield* Effect.fork(client.getOnlineUsersCount)
        yield* TestClock.adjust(waiting.delay)
        const next = yield* server.accept
        assert.strictEqual(next.index, index)
        const init = yield* next.request
        assert.strictEqual(
          init.text,
          `{"type":1,"payload":{"id":1,"socket_api_key":"${API_KEY}","client_id":"desktop-main"}}`
        )
        yield* next.reply(init, { app_name: "Demo", app_version: `2.0.${index}`, status: 1 })
        const auth = yield* next.request
        assert.strictEqual(auth.text, `{"type":3,"payload":{"id":2,"license":"${LICENSE}"}}`)
        yield* next.reply(auth, licenseFields)
        const request = yield* next.request
        assert.strictEqual(request.text, `{"type":12,"payload":{"id":3}}`)
        yield* next.reply(request, { online_users_count: index, status: 1 })
        assert.strictEqual(succeeded(yield* Fiber.await(call)), index)
        assert.strictEqual((yield* client.application).version, `2.0.${index}`)
        const state = yield* client.state
        assert.isTrue(state._tag === "Authorized" && state.kind === "license")
        if (index === 1) yield* next.close(4000, "internal server error")
      }
      assert.strictEqual(yield* server.connections, 3)
    }).pipe(Effect.provide(memory))
  )

  it.scoped("does not reconnect after terminal closes (4202, 4302, 4203, 4100) or a failed re-authorization", () =>
    Effect.gen(function* () {
      for (const code of [4202, 4302, 4203, 4100]) {
        yield* Effect.gen(function* () {
          const { client, peer, server } = yield* connect({ reconnect: true })
          yield* peer.close(code, "bye")
          const failed = yield* waitState(client, "Failed")
          assert.deepStrictEqual(
            failed,
            Client.State.Failed({
              error: new ClientError.ConnectionClosed({ code, reason: "bye", initiator: "remote" })
            })
          )
          yield* TestClock.adjust("10 minutes")
          assert.strictEqual(yield* server.connections, 1)
        }).pipe(Effect.scoped, Effect.provide(memory))
      }
      yield* Effect.gen(function* () {
        const { client, peer, server } = yield* connect(
          { reconnect: true, pingInterval: "0 millis", auth: Client.Authorization.license(Redacted.make(LICENSE)) },
          {}
        )
        yield* peer.drop
        yield* waitState(client, "Waiting")
        yield* TestClock.adjust("2 seconds")
        const next = yield* server.accept
        yield* next.reply(yield* next.request, initOk)
        yield* next.reply(yield* next.request, { status: 103 })
        const failed = yield* waitState(client, "Failed")
        assert.isTrue(failed._tag === "Failed" && failed.error._tag === "StatusError")
        assert.deepStrictEqual(yield* closeOf(next), [1000, ""])
        yield* TestClock.adjust("10 minutes")
        assert.strictEqual(yield* server.connections, 2)
      }).pipe(Effect.scoped, Effect.provide(memory))
    })
  )

  it.scoped("backs off 1 s doubling to 30 s with ±20 % jitter, one attempt at a time; 4201 waits at least 60 s", () =>
    Effect.gen(function* () {
      const { client, peer, server } = yield* connect({ reconnect: true, pingInterval: "0 millis" })
      yield* peer.drop
      const delays: Array<number> = []
      for (let attempt = 1; attempt <= 7; attempt++) {
        const waiting = yield* waitState(client, "Waiting")
        if (waiting._tag !== "Waiting") return assert.fail("expected Waiting")
        assert.strictEqual(waiting.attempt, attempt)
        delays.push(Duration.toMillis(waiting.delay))
        const before = yield* server.connections
        yield* TestClock.adjust(Duration.millis(Duration.toMillis(waiting.delay) - 1))
        assert.strictEqual(yield* server.connections, before, "no attempt before the delay")
        yield* TestClock.adjust("1 millis")
        // Each attempt is dropped before initialize is answered.
        const next = yield* server.accept
        yield* next.request
        yield* next.drop
      }
      const nominal = [1000, 2000, 4000, 8000, 16000, 30000, 30000]
      delays.forEach((delay, i) => {
        assert.isAtLeast(delay, nominal[i]! * 0.8)
        assert.isAtMost(delay, nominal[i]! * 1.2)
      })
      yield* client.close
      const limited = yield* Effect.gen(function* () {
        const connected = yield* connect({ reconnect: true, pingInterval: "0 millis" })
        yield* connected.peer.close(4201, "rate limit hit")
        return yield* waitState(connected.client, "Waiting")
      }).pipe(Effect.scoped, Effect.provide(memory))
      assert.isTrue(limited._tag === "Waiting" && Duration.toMillis(limited.delay) >= 60_000)
    }).pipe(Effect.provide(memory))
  )

  it.scoped("a ping timeout is retried", () =>
    Effect.gen(function* () {
      const { client, server } = yield* connect({ reconnect: true })
      yield* TestClock.adjust("40 seconds")
      const waiting = yield* waitState(client, "Waiting")
      assert.isTrue(waiting._tag === "Waiting" && waiting.error._tag === "PingTimeout")
      if (waiting._tag === "Waiting") yield* TestClock.adjust(waiting.delay)
      const next = yield* server.accept
      yield* Effect.fork(serve(next))
      yield* waitState(client, "Initialized")
      assert.strictEqual(yield* server.connections, 2)
    }).pipe(Effect.provide(memory))
  )
})

describe("BlazeauthClient: secrets and layers", () => {
  it.scoped("no secret appears in any error message, log text or close reason", () =>
    Effect.gen(function* () {
      const secrets = [API_KEY, LICENSE, PASSWORD]
      const logs: Array<string> = []
      const capture = Logger.make(({ message }) => {
        logs.push(Array.isArray(message) ? message.map(String).join(" ") : String(message))
      })
      const { client, peer } = yield* connect({ pingInterval: "0 millis" }).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, capture)),
        Logger.withMinimumLogLevel(LogLevel.All)
      )
      // Dropped messages full of secrets: each one is logged.
      for (const frame of [
        `{"type":3,"payload":{"id":77,"license":"${LICENSE}","status":1}}`,
        `{"type":42,"payload":{"id":2,"password":"${PASSWORD}"}}`,
        `{"type":12,"payload":{"id":"${LICENSE}"}}`,
        `{"type":12,"payload":{"id":18446744073709551615,"content":"${API_KEY}"}}`,
        `{"type":18,"payload":{"id":18446744073709551615,"event_type":"${LICENSE}"}}`
      ]) {
        yield* peer.send(frame)
      }
      const errors: Array<ClientError.CallError> = []
      errors.push(
        failureOf(
          (yield* exchange(peer, client.authByLicense(Redacted.make(LICENSE)), { ...licenseFields, status: 103 })).exit
        )
      )
      errors.push(
        failureOf(
          (yield* exchange(peer, client.authByLicense(Redacted.make(LICENSE)), { license: [LICENSE], status: 1 })).exit
        )
      )
      errors.push(
        failureOf(
          (yield* exchange(peer, client.authByCredentials({ login: "demo_user", password: Redacted.make(PASSWORD) }), {
            login: { password: PASSWORD },
            status: 1
          })).exit
        )
      )
      errors.push(
        failureOf((yield* exchange(peer, client.getVariable(API_KEY), { content: API_KEY, status: "6" })).exit)
      )
      const broken = yield* Effect.fork(client.getCurrentLicense)
      yield* peer.request
      yield* peer.send(`{"type":16,"payload":{"id":7,"license":"${LICENSE}",`)
      errors.push(failureOf(yield* Fiber.await(broken)))
      const close = yield* peer.closed
      assert.strictEqual(errors.length, 5)
      assert.isAtLeast(logs.length, 6)
      for (const text of logs) {
        for (const secret of secrets) assert.notInclude(text, secret, `log: ${text}`)
      }
      for (const error of errors) {
        for (const text of [String(error), error.message, JSON.stringify(error), close.reason]) {
          for (const secret of secrets) assert.notInclude(text, secret, `${error._tag}: ${text}`)
        }
      }
      const invalid = yield* Effect.flip(Client.make({ ...baseOptions, clientId: LICENSE.repeat(10) }))
      for (const secret of secrets) assert.notInclude(String(invalid), secret)
    }).pipe(Effect.provide(memory))
  )

  it.scoped("layer: the client as a service, built once the first session is ready", () =>
    Effect.gen(function* () {
      const server = yield* makeServer
      yield* Effect.forkScoped(Effect.flatMap(server.accept, (peer) => serve(peer)))
      const context = yield* Layer.build(
        Client.layer({ ...baseOptions, auth: Client.Authorization.license(Redacted.make(LICENSE)) })
      )
      const client = yield* Effect.provide(Client.BlazeauthClient, context)
      assert.strictEqual(yield* client.getOnlineUsersCount, 1)
      const state = yield* client.state
      assert.isTrue(state._tag === "Authorized")
    }).pipe(Effect.provide(memory))
  )
})

describe("BlazeauthClient over ws on 127.0.0.1", () => {
  const network = Layer.merge(WsTransport.layerServer(), WsTransport.layerConnector).pipe(Layer.orDie)

  const connectWs = (server: Server, overrides: Partial<Client.Options>) =>
    Effect.gen(function* () {
      const { url } = yield* Transport.TransportServer
      const fiber = yield* Effect.fork(Client.make({ ...baseOptions, ...overrides, url }))
      const peer = yield* server.accept
      yield* peer.reply(yield* peer.request, initOk)
      return { client: yield* Fiber.join(fiber), peer }
    })

  it.scopedLive("a dead peer: the pending call fails with PingTimeout, not with the close it causes", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connectWs(yield* makeServer, {
        pingInterval: "30 millis",
        pingTimeout: "60 millis"
      })
      const pending = yield* Effect.fork(client.getVariable("launcher_config"))
      const types = [(yield* peer.request).type, (yield* peer.request).type]
      assert.deepStrictEqual(types.sort(), [0, 13])
      const error = new ClientError.PingTimeout({ millis: 60 })
      assert.deepStrictEqual(failureOf(yield* Fiber.await(pending)), error)
      assert.deepStrictEqual(yield* waitState(client, "Failed"), Client.State.Failed({ error }))
      // The close frame goes out just before the socket is dropped; the peer may see either.
      assert.include([1000, 1006], (yield* peer.closed).code)
    }).pipe(Effect.provide(network))
  )

  it.scopedLive("a protocol violation closes 1002 with its reason, and a server close is classified as remote", () =>
    Effect.gen(function* () {
      const server = yield* makeServer
      const first = yield* connectWs(server, { pingInterval: "0 millis" })
      const call = yield* Effect.fork(first.client.getOnlineUsersCount)
      yield* first.peer.request
      yield* first.peer.send(Uint8Array.of(1))
      const violation = new ClientError.ProtocolViolation({ detail: "binary frame without a pending header" })
      assert.deepStrictEqual(failureOf(yield* Fiber.await(call)), violation)
      assert.deepStrictEqual(yield* closeOf(first.peer), [
        1002,
        "protocol violation: binary frame without a pending header"
      ])
      const second = yield* connectWs(server, { pingInterval: "0 millis" })
      const blacklist = yield* Effect.fork(second.client.blacklist("fraud"))
      yield* second.peer.request
      yield* second.peer.close(4203, "session was blacklisted")
      succeeded(yield* Fiber.await(blacklist))
      const failed = yield* waitState(second.client, "Failed")
      assert.deepStrictEqual(
        failed,
        Client.State.Failed({
          error: new ClientError.ConnectionClosed({
            code: 4203,
            reason: "session was blacklisted",
            initiator: "remote"
          })
        })
      )
    }).pipe(Effect.provide(network))
  )
})

describe("BlazeauthClient: arbitrary traffic", () => {
  const fields = FastCheck.constantFrom("id", "status", "content", "chunk_size", "event_type", "license", "type")
  const values = FastCheck.oneof(
    FastCheck.integer({ min: -2, max: 20 }),
    FastCheck.constantFrom(2, "2", 18446744073709551615n, 1.5, null, true, [], {}),
    FastCheck.string({ maxLength: 6 })
  )
  const junk = FastCheck.oneof(
    FastCheck.string({ maxLength: 24 }),
    FastCheck.json(),
    FastCheck.record({
      type: FastCheck.oneof(FastCheck.integer({ min: -1, max: 20 }), values),
      payload: FastCheck.oneof(FastCheck.dictionary(fields, values, { maxKeys: 5 }), values)
    }).map((envelope) =>
      JSON.stringify(envelope, (_, value: unknown) => (typeof value === "bigint" ? Number(value) : value))
    )
  )

  it.effect.prop(
    "a junk text frame never crashes the client: it is ignored, or the call fails with a typed error",
    [junk],
    ([frame]) =>
      Effect.gen(function* () {
        const { client, peer } = yield* connect({ pingInterval: "0 millis" })
        const call = yield* Effect.fork(client.getVariable("launcher_config"))
        const request = yield* peer.request
        yield* peer.send(frame)
        yield* peer.reply(request, { content: "ok", status: 1 })
        const exit = yield* Fiber.await(call)
        if (Exit.isFailure(exit)) {
          const error = failureOf(exit)
          assert.include(["ProtocolViolation", "MalformedResponse", "StatusError"], error._tag)
          if (error._tag === "ProtocolViolation") assert.strictEqual((yield* peer.closed).code, 1002)
        } else {
          assert.isString(exit.value)
        }
      }).pipe(Effect.scoped, Effect.provide(memory)),
    { fastCheck: fuzzParameters(60) }
  )
})
