/**
 * End to end over real `ws` on 127.0.0.1: the life of a Blazeauth session seen by the client SDK. Close
 * codes arrive as typed `ConnectionClosed {code, reason}` and fail the calls in flight; blacklisting;
 * panel events from the control interface; reconnection (terminal vs retryable closes); the rate limit
 * and the init deadline; and secrets, which appear in no error and no log line of either side.
 *
 * The reference server answers each request at once, so a call is kept in flight with a relay that
 * withholds the server's messages (`relay`). Under `layer(…, { excludeTestServices: true })`, `it.scoped`
 * runs on the live clock, like `it.scopedLive`.
 */
import { Client, ClientError, Model, PanelEvent, Server } from "@protokernel/blazeauth"
import { assert, describe, it, layer } from "@effect/vitest"
import {
  Cause,
  Chunk,
  Context,
  Duration,
  Effect,
  Exit,
  Fiber,
  Layer,
  Logger,
  LogLevel,
  Option,
  Redacted,
  Scope,
  Stream
} from "effect"
import { eventually } from "./kit/eventually.js"
import { relay } from "./kit/relay.js"
import {
  type AppInput,
  assertClosed,
  assertStatus,
  connect,
  failedWith,
  failsWith,
  failure,
  freshClientId,
  raw,
  secret,
  serverLayer,
  startServer,
  stateWhere
} from "./support/blazeauth.js"

const KEY = "BA-E2E-MAIN-000000001"
const GUARDED_KEY = "BA-E2E-GUARDED-000001"
const EVENTS_KEY = "BA-E2E-EVENTS-0000001"
const OTHER_KEY = "BA-E2E-OTHER-00000001"
const PAUSABLE_KEY = "BA-E2E-PAUSABLE-00001"
const DOOMED_KEY = "BA-E2E-DOOMED-0000001"
const PASSWORD = "strong-password"

const licenses = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => ({ key: `${prefix}-${String(i + 1).padStart(3, "0")}`, levels: [prefix] }))

const main: AppInput = {
  api_key: KEY,
  name: "Main",
  licenses: licenses("MAIN", 20),
  accounts: [
    { login: "bl_user", password: PASSWORD },
    { login: "other_user", password: PASSWORD }
  ],
  variables: [{ name: "members_only", content: "hello member", auth_required: true }]
}

const fixtures = {
  applications: [
    main,
    {
      api_key: GUARDED_KEY,
      name: "Guarded",
      quotas: { blacklists: 2 },
      blacklisted_client_ids: ["gone-device"],
      licenses: licenses("GUARD", 2)
    },
    { api_key: EVENTS_KEY, name: "Events" },
    { api_key: OTHER_KEY, name: "Other" },
    { api_key: PAUSABLE_KEY, name: "Pausable" },
    { api_key: DOOMED_KEY, name: "Doomed" }
  ]
}

const credentials = (login: string, password = PASSWORD): Client.Credentials => ({ login, password: secret(password) })

/** The events of a stream, `count` of them. */
const take = (events: Stream.Stream<PanelEvent.PanelEvent>, count: number) =>
  Effect.map(Stream.runCollect(Stream.take(events, count)), (chunk) =>
    Chunk.toReadonlyArray(chunk).map((event) => ({ eventType: event.eventType, content: event.content }))
  )

layer(serverLayer(fixtures), { excludeTestServices: true })("Blazeauth e2e: sessions over ws", (it) => {
  describe("blacklist (7)", () => {
    it.scoped(
      "1: resolves, then close 4203; the client id (502), license (103) and account (201) are blacklisted",
      () =>
        Effect.gen(function* () {
          const server = yield* Server.BlazeauthServer
          const clientId = freshClientId()
          const client = yield* connect(server.url, KEY, { clientId })
          yield* client.authByLicense(secret("MAIN-001"))
          yield* client.blacklist("fraud detected")
          const closed = assertClosed(yield* failedWith(client), 4203, "session was blacklisted")
          // Every later call fails with the same close.
          assert.deepStrictEqual(yield* failure(client.getOnlineUsersCount), closed)
          yield* failsWith(connect(server.url, KEY, { clientId }), "initialize", "client_id_blacklisted")
          const other = yield* connect(server.url, KEY)
          yield* failsWith(other.authByLicense(secret("MAIN-001")), "auth_by_license", "license_blacklisted")

          const accountClient = yield* connect(server.url, KEY)
          yield* accountClient.authByCredentials(credentials("bl_user"))
          yield* accountClient.blacklist()
          assertClosed(yield* failedWith(accountClient), 4203, "session was blacklisted")
          yield* failsWith(
            other.authByCredentials(credentials("bl_user")),
            "auth_by_credentials",
            "account_blacklisted"
          )
          // An initialized session blacklists only its client id.
          const plainId = freshClientId()
          const plain = yield* connect(server.url, KEY, { clientId: plainId })
          yield* plain.blacklist()
          yield* failsWith(connect(server.url, KEY, { clientId: plainId }), "initialize", "client_id_blacklisted")
        })
    )

    it.scoped("103 from get_current_license in another session of the blacklisted license, with its fields", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const clientId = freshClientId()
        const first = yield* connect(server.url, KEY, { clientId })
        const second = yield* connect(server.url, KEY, { clientId })
        const info = yield* first.authByLicense(secret("MAIN-002"))
        assert.deepStrictEqual(yield* second.authByLicense(secret("MAIN-002")), info)
        yield* first.blacklist()
        const error = yield* failsWith(second.getCurrentLicense, "get_current_license", "license_blacklisted")
        assert.deepStrictEqual(yield* Client.licenseInfoOf(error), Option.some(info))
        // The session stays authorized (and open: it was not the one blacklisted).
        assert.strictEqual(yield* second.getVariable("members_only"), "hello member")
        assert.strictEqual((yield* second.state)._tag, "Authorized")
      })
    )

    it.scoped(
      "11: a blacklist needing more entries than the quota leaves applies nothing, and the session goes on",
      () =>
        Effect.gen(function* () {
          const server = yield* Server.BlazeauthServer
          const clientId = freshClientId()
          const client = yield* connect(server.url, GUARDED_KEY, { clientId })
          yield* client.authByLicense(secret("GUARD-001"))
          // 1 entry in use of 2; this one needs 2 (client id and license).
          yield* failsWith(client.blacklist(), "blacklist", "blacklists_quota_exceeded")
          assert.strictEqual(Redacted.value((yield* client.getCurrentLicense).license), "GUARD-001")
          const sibling = yield* connect(server.url, GUARDED_KEY, { clientId })
          yield* sibling.ping
          // Initialized only, it needs 1 entry: applied.
          yield* client.logout
          yield* client.blacklist()
          assertClosed(yield* failedWith(client), 4203, "session was blacklisted")
          const full = yield* connect(server.url, GUARDED_KEY)
          yield* failsWith(full.blacklist(), "blacklist", "blacklists_quota_exceeded")
        })
    )

    it.scoped("a pending blacklist resolves on the server's 4203 close even when its response never arrives", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const proxy = yield* relay(server.url)
        const client = yield* connect(proxy.url, KEY)
        yield* proxy.hold
        yield* client.blacklist()
        yield* proxy.awaitDropped(1)
        assertClosed(yield* failedWith(client), 4203, "session was blacklisted")
      })
    )
  })

  describe("closes started by the server", () => {
    it.scoped("4100: a control disconnect fails calls in flight and later ones; terminal even with reconnect", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const proxy = yield* relay(server.url)
        const clientId = freshClientId()
        const client = yield* connect(proxy.url, KEY, {
          clientId,
          reconnect: true,
          auth: Client.Authorization.license(secret("MAIN-003"))
        })
        const states = yield* client.states.pipe(
          Stream.takeUntil(Client.State.$is("Failed")),
          Stream.runCollect,
          Effect.fork
        )
        const events = yield* client.subscribePanelEvents
        yield* proxy.hold
        const inFlight = yield* Effect.fork(client.getVariable("members_only"))
        yield* proxy.awaitDropped(1)
        assert.strictEqual(yield* server.disconnect({ clientId }), 1)
        const closed = assertClosed(yield* failure(Fiber.join(inFlight)), 4100, "disconnected from panel")
        assert.deepStrictEqual(yield* failedWith(client), closed)
        assert.deepStrictEqual(yield* failure(client.ping), closed)
        const seen = Chunk.toReadonlyArray(yield* Fiber.join(states)).map((state) => state._tag)
        assert.deepStrictEqual(seen, ["Authorized", "Failed"])
        // The event stream ends with the client.
        assert.deepStrictEqual(yield* take(events, 1), [])
        yield* eventually(
          Effect.map(server.sessions, (sessions) => sessions.every((session) => session.clientId !== clientId))
        )
      })
    )

    it.scoped(
      "1009 for a request over 64 KiB: the call fails with the close, the application's other sessions go on",
      () =>
        Effect.gen(function* () {
          const server = yield* Server.BlazeauthServer
          const client = yield* connect(server.url, KEY)
          const bystander = yield* connect(server.url, KEY)
          const error = yield* failure(client.setSessionValue("huge", "h".repeat(70_000)))
          assert.strictEqual(error._tag, "ConnectionClosed")
          if (error._tag === "ConnectionClosed") {
            assert.deepStrictEqual([error.code, error.initiator], [1009, "remote"])
            // "message too big", or empty when the WebSocket library closes on its own (docs/blazeauth.md §1.6 row 1).
            assert.include(["", "message too big"], error.reason)
          }
          assert.deepStrictEqual(yield* failedWith(client), error)
          assert.strictEqual(yield* bystander.getOnlineUsersCount, 1)
        })
    )

    it.scoped("4101: pausing closes every session of the application; initialize is closed until resumed", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const first = yield* connect(server.url, PAUSABLE_KEY)
        const second = yield* connect(server.url, PAUSABLE_KEY)
        const bystander = yield* connect(server.url, KEY)
        assert.strictEqual(yield* server.pauseApplication("Pausable"), 2)
        assertClosed(yield* failedWith(first), 4101, "application paused")
        assertClosed(yield* failedWith(second), 4101, "application paused")
        assertClosed(yield* failure(connect(server.url, PAUSABLE_KEY)), 4101, "application paused")
        yield* bystander.ping
        yield* server.resumeApplication("Pausable")
        const again = yield* connect(server.url, PAUSABLE_KEY)
        assert.strictEqual((yield* again.application).name, "Pausable")
      })
    )

    it.scoped("4102: deleting closes every session of the application; its key then gets status 2", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const client = yield* connect(server.url, DOOMED_KEY)
        assert.strictEqual(yield* server.deleteApplication("Doomed"), 1)
        assertClosed(yield* failedWith(client), 4102, "application deleted")
        yield* failsWith(connect(server.url, DOOMED_KEY), "initialize", "invalid_api_key")
        const unknown = yield* Effect.flip(server.pushPanelEvent("Doomed", { eventType: 1 }))
        assert.deepStrictEqual(unknown, new Server.UnknownApplication({ application: "Doomed" }))
      })
    )
  })

  describe("panel events", () => {
    it.scoped("reach every subscriber of every client of the application, in order, and no one else", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const first = yield* connect(server.url, EVENTS_KEY)
        const second = yield* connect(server.url, EVENTS_KEY)
        const outsider = yield* connect(server.url, OTHER_KEY)
        const count = 20
        const listeners = yield* Effect.forEach([first, first, second], (client) =>
          Effect.flatMap(client.subscribePanelEvents, (events) => Effect.fork(take(events, count)))
        )
        const outside = yield* Effect.fork(Effect.flatMap(outsider.subscribePanelEvents, (events) => take(events, 2)))
        const pushed = Array.from({ length: count }, (_, i) => ({
          eventType: i % 15,
          content: i === 0 ? {} : { seq: String(i), note: "ü ✓" }
        }))
        for (const event of pushed) assert.strictEqual(yield* server.pushPanelEvent("Events", event), 2)
        assert.strictEqual(yield* server.pushPanelEvent("Other", { eventType: 3, content: { to: "other" } }), 1)
        assert.strictEqual(yield* server.pushPanelEvent("Other", { eventType: 4 }), 1)
        for (const listener of listeners) assert.deepStrictEqual(yield* Fiber.join(listener), pushed)
        // Anything from "Events" would have come before these two.
        assert.deepStrictEqual(yield* Fiber.join(outside), [
          { eventType: 3, content: { to: "other" } },
          { eventType: 4, content: {} }
        ])
        // Events need no subscription request and no authorization; the session is unchanged.
        assert.strictEqual((yield* first.state)._tag, "Initialized")
      })
    )

    it.scoped("event types are kept as numbers: 0..14 are known, others are delivered as unknown", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const client = yield* connect(server.url, EVENTS_KEY)
        const events = yield* client.subscribePanelEvents
        for (const eventType of [14, 0, 15, 99]) {
          yield* server.pushPanelEvent("Events", { eventType, content: { version: "1.2.3" } })
        }
        const received = Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.take(events, 4)))
        assert.deepStrictEqual(
          received.map((event) => [event.eventType, event.isKnown, event.content]),
          [
            [14, true, { version: "1.2.3" }],
            [0, true, { version: "1.2.3" }],
            [15, false, { version: "1.2.3" }],
            [99, false, { version: "1.2.3" }]
          ]
        )
        assert.isTrue(received.every((event) => event instanceof PanelEvent.PanelEvent))
      })
    )

    it.scoped("`panelEvents` delivers from the moment it runs and ends when the client closes", () =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const client = yield* connect(server.url, EVENTS_KEY)
        const first = yield* Effect.fork(Stream.runHead(client.panelEvents))
        // The stream subscribes when it starts running: push until it has one.
        yield* eventually(
          server
            .pushPanelEvent("Events", { eventType: 5 })
            .pipe(
              Effect.zipRight(Effect.sleep("10 millis")),
              Effect.zipRight(Effect.map(Fiber.poll(first), Option.isSome)),
              Effect.orDie
            )
        )
        assert.deepStrictEqual(
          Option.map(yield* Fiber.join(first), (event) => event.eventType),
          Option.some(5)
        )
        const rest = yield* Effect.fork(Stream.runCollect(client.panelEvents))
        yield* client.close
        const after = Chunk.toReadonlyArray(yield* Fiber.join(rest))
        assert.isTrue(after.every((event) => event.eventType === 5))
        assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Stream.runCollect(client.panelEvents)), [])
      })
    )
  })
})

describe("Blazeauth e2e: servers of their own", () => {
  describe("closes", () => {
    it.scopedLive("1000 on server shutdown: calls in flight fail with it, and the client fails", () =>
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        const own = yield* startServer(fixtures).pipe(Scope.extend(scope))
        const proxy = yield* relay(own.url)
        const direct = yield* connect(own.url, KEY)
        const relayed = yield* connect(proxy.url, KEY)
        yield* proxy.hold
        const inFlight = yield* Effect.fork(relayed.getOnlineUsersCount)
        yield* proxy.awaitDropped(1)
        yield* Scope.close(scope, Exit.void)
        const closed = assertClosed(yield* failure(Fiber.join(inFlight)), 1000, "")
        assert.deepStrictEqual(yield* failedWith(relayed), closed)
        assertClosed(yield* failedWith(direct), 1000, "")
      })
    )

    it.scopedLive(
      "4201: the sixth data message in the window closes the connection; local subscribes send nothing",
      () =>
        Effect.gen(function* () {
          const own = yield* startServer(fixtures, { rateLimit: 5 })
          // initialize is message 1.
          const local = yield* connect(own.url, KEY)
          for (let i = 0; i < 10; i++) yield* local.panelEventSubscribe
          for (let i = 0; i < 4; i++) assert.strictEqual(yield* local.getOnlineUsersCount, 1)
          const closed = assertClosed(yield* failure(local.getOnlineUsersCount), 4201, "rate limit hit")
          assert.deepStrictEqual(yield* failedWith(local), closed)

          const wire = yield* connect(own.url, KEY, { sendPanelEventSubscribe: true })
          for (let i = 0; i < 4; i++) yield* wire.panelEventSubscribe
          assertClosed(yield* failure(wire.panelEventSubscribe), 4201, "rate limit hit")

          // 4201 is retryable, but only after 60 s.
          const retrying = yield* connect(own.url, KEY, { reconnect: true })
          yield* Effect.forEach([1, 2, 3, 4, 5], () => Effect.either(retrying.ping), { discard: true })
          const waiting = yield* stateWhere(retrying, Client.State.$is("Waiting"))
          assert.isTrue(waiting._tag === "Waiting" && waiting.attempt === 1)
          if (waiting._tag === "Waiting") {
            assertClosed(waiting.error, 4201, "rate limit hit")
            assert.isTrue(Duration.greaterThanOrEqualTo(waiting.delay, Duration.seconds(60)))
          }
        })
    )

    it.scopedLive(
      "4202 at the server's init deadline for a raw socket (failed attempts do not stop it); 4200 before init",
      () =>
        Effect.gen(function* () {
          const own = yield* startServer(fixtures, { initDeadline: "300 millis" })
          const client = yield* connect(own.url, KEY)
          const silent = yield* raw(own.url)
          const failing = yield* raw(own.url)
          yield* failing.send(1, { id: 1, socket_api_key: "BA-NO-SUCH-KEY-000000", client_id: freshClientId() })
          assert.deepStrictEqual(yield* failing.next, { type: 1, payload: { id: 1, status: 2 } })
          for (const socket of [silent, failing]) {
            const closed = yield* socket.closed
            assert.deepStrictEqual(
              [closed.code, closed.reason, closed.initiator],
              [4202, "session wasn't initialized in 1 seconds after connection", "remote"]
            )
          }
          // The client initialized at once: it is still open after the deadline.
          yield* client.ping
          assert.strictEqual((yield* client.state)._tag, "Initialized")
          const early = yield* raw(own.url)
          yield* early.send(0, { id: 1 })
          const closed = yield* early.closed
          assert.deepStrictEqual([closed.code, closed.reason], [4200, "connection is not initialized"])
        })
    )
  })

  describe("reconnection", () => {
    it.scopedLive("after the server restarts (1000): backoff, a new session re-authorized, waiting calls, events", () =>
      Effect.gen(function* () {
        const first = yield* Scope.make()
        const before = yield* startServer(fixtures).pipe(Scope.extend(first))
        const port = Number(new URL(before.url).port)
        const clientId = freshClientId()
        const client = yield* connect(before.url, KEY, {
          clientId,
          reconnect: true,
          auth: Client.Authorization.license(secret("MAIN-004"))
        })
        const events = yield* client.subscribePanelEvents
        const received = yield* Effect.fork(take(events, 2))
        assert.strictEqual(yield* before.pushPanelEvent("Main", { eventType: 1, content: { server: "before" } }), 1)

        yield* Scope.close(first, Exit.void)
        const waiting = yield* stateWhere(client, Client.State.$is("Waiting"))
        assert.isTrue(waiting._tag === "Waiting" && waiting.attempt === 1)
        if (waiting._tag === "Waiting") {
          assertClosed(waiting.error, 1000, "")
          const millis = Duration.toMillis(waiting.delay)
          assert.isTrue(millis >= 800 && millis <= 1200, `first retry after ${millis} ms`)
        }
        // A call made now waits for the next session.
        const waitingCall = yield* Effect.fork(client.getCurrentLicense)
        const after = yield* startServer(fixtures, { port })
        const info = yield* Fiber.join(waitingCall)
        assert.strictEqual(Redacted.value(info.license), "MAIN-004")
        const state = yield* client.state
        assert.isTrue(state._tag === "Authorized" && state.kind === "license")
        const session = (yield* after.sessions).find((s) => s.clientId === clientId)
        assert.strictEqual(session?.identity?._tag, "License")
        assert.strictEqual(yield* after.pushPanelEvent("Main", { eventType: 2, content: { server: "after" } }), 1)
        assert.deepStrictEqual(yield* Fiber.join(received), [
          { eventType: 1, content: { server: "before" } },
          { eventType: 2, content: { server: "after" } }
        ])
        yield* client.close
        assert.strictEqual((yield* client.state)._tag, "Closed")
      })
    )
  })

  describe("secrets", () => {
    it.scopedLive("the api key, licenses and passwords appear in no error, String(error), JSON or log line", () =>
      Effect.gen(function* () {
        const apiKey = "BA-VAULT-KEY-7c1e9a2b44"
        const license = "LIC-VAULT-5d8f3a9e"
        const pausedLicense = "LIC-VAULT-PAUSED-4b2c"
        const unknownLicense = "LIC-UNKNOWN-9a8b7c6d"
        const password = "pw-Vault-S3cret-81f2"
        const wrongPassword = "pw-Wrong-Guess-7a3d"
        const shortPassword = "Zq#4x"
        const wrongKey = "BA-WRONG-KEY-3e5f7a9c"
        const secrets = [
          apiKey,
          license,
          pausedLicense,
          unknownLicense,
          password,
          wrongPassword,
          shortPassword,
          wrongKey
        ]

        const lines: Array<string> = []
        const capture = Logger.map(Logger.logfmtLogger, (line) => {
          lines.push(line)
        })
        const errors: Array<ClientError.BlazeauthError> = []
        const texts: Array<string> = []

        yield* Effect.gen(function* () {
          const vault = yield* startServer({
            applications: [
              {
                api_key: apiKey,
                name: "Vault",
                licenses: [
                  { key: license, levels: ["vault"] },
                  { key: pausedLicense, paused: true }
                ],
                accounts: [{ login: "vault_user", password }]
              }
            ]
          })
          const url = vault.url
          errors.push(yield* failure(connect(url, wrongKey)))
          errors.push(
            yield* failure(
              connect(url, apiKey, { auth: Client.Authorization.credentials(credentials("vault_user", wrongPassword)) })
            )
          )
          errors.push(
            yield* failure(connect(url, apiKey, { auth: Client.Authorization.license(secret(pausedLicense)) }))
          )
          const client = yield* connect(url, apiKey)
          errors.push(yield* failure(client.authByLicense(secret(unknownLicense))))
          errors.push(
            yield* failure(
              client.createAccount({ login: "leak_check", password: secret(shortPassword), credentialsType: 0 })
            )
          )
          errors.push(
            yield* failure(
              client.createAccount({
                login: "leak_check",
                password: secret(password),
                credentialsType: 0,
                license: secret(unknownLicense)
              })
            )
          )
          errors.push(yield* failure(client.authByCredentials(credentials("vault_user", wrongPassword))))
          errors.push(yield* failure(client.linkLicense(secret(license))))
          // A 103 whose payload holds the license itself.
          const clientId = freshClientId()
          const first = yield* connect(url, apiKey, { clientId, reconnect: true })
          const second = yield* connect(url, apiKey, { clientId })
          const info = yield* first.authByLicense(secret(license))
          yield* second.authByLicense(secret(license))
          texts.push(String(info), JSON.stringify(info))
          yield* first.blacklist()
          const blacklisted = yield* failure(second.getCurrentLicense)
          assertStatus(blacklisted, "get_current_license", "license_blacklisted")
          errors.push(blacklisted)
          const carried = yield* Client.licenseInfoOf(blacklisted)
          assert.isTrue(Option.isSome(carried))
          texts.push(String(carried), JSON.stringify(carried))
          errors.push(yield* failedWith(first))
          errors.push(yield* failure(first.getVariable("anything")))
          errors.push(yield* failure(connect(url, apiKey, { clientId })))
          // The server's control interface prints identities without the license either.
          texts.push(JSON.stringify(yield* vault.sessions))
        }).pipe(
          Effect.scoped,
          Effect.provide(Logger.replace(Logger.defaultLogger, capture)),
          Logger.withMinimumLogLevel(LogLevel.All)
        )

        assert.deepStrictEqual(
          errors.map((error) => (error._tag === "StatusError" ? error.status.code : error._tag)),
          [2, 200, 102, 100, 207, 100, 200, 3, 103, "ConnectionClosed", "ConnectionClosed", 502]
        )
        for (const error of errors) {
          texts.push(String(error), error.message, JSON.stringify(error), Cause.pretty(Cause.fail(error)))
        }
        // The logger did capture the server side too (it logs its closes at debug level).
        assert.isTrue(
          lines.some((line) => line.includes("4203")),
          "no server log captured"
        )
        for (const text of [...texts, ...lines]) {
          for (const value of secrets) assert.notInclude(text, value)
        }
      })
    )
  })

  describe("layers", () => {
    it.scopedLive("Client.layerWs over Server.layerWs: the client is built once the session is ready", () =>
      Effect.gen(function* () {
        const server = yield* Effect.map(Layer.build(serverLayer(fixtures)), Context.get(Server.BlazeauthServer))
        const clientLayer = Client.layerWs({
          url: server.url,
          apiKey: secret(KEY),
          clientId: freshClientId(),
          auth: Client.Authorization.credentials(credentials("other_user")),
          pingInterval: "0 millis"
        })
        const client = yield* Effect.map(Layer.build(clientLayer), Context.get(Client.BlazeauthClient))
        assert.deepStrictEqual(yield* client.application, new Model.Application({ name: "Main", version: "1.0.0" }))
        assert.strictEqual((yield* client.getCurrentAccount).login, "other_user")
        const failed = yield* Effect.flip(
          Layer.build(Client.layerWs({ url: server.url, apiKey: secret("BA-NOPE-0000"), clientId: freshClientId() }))
        )
        assertStatus(failed, "initialize", "invalid_api_key")
      })
    )
  })
})
