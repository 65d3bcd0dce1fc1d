/**
 * Session lifecycle (docs/blazeauth.md §2.2, §3.2 #1): the init deadline, initialize's checks in order, the
 * 4205 limit; and the control interface (§2.3, §5): panel events, pause, delete, disconnect and
 * shutdown.
 */
import * as Server from "@protokernel/blazeauth/Server"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Scope, TestClock } from "effect"
import { eventually } from "../../../test/kit/eventually.js"
import {
  API_KEY,
  CLIENT_ID,
  connect,
  demoInitOk,
  expectQuiet,
  fixtures,
  initialized,
  initText,
  MAX_ID,
  memoryLayer,
  msg,
  OTHER_KEY,
  SLEEPY_KEY,
  T0_MS,
  withLicense,
  withServer
} from "./support/server.js"

const deadlineReason = "session wasn't initialized in 15 seconds after connection"

describe("§2.2 init deadline", () => {
  it.scoped("closes 4202 exactly 15 s after the connection when no initialize succeeded", () =>
    Effect.gen(function* () {
      const client = yield* connect
      yield* TestClock.adjust("14999 millis")
      assert.isTrue(yield* client.isOpen)
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(yield* client.closed, { code: 4202, reason: deadlineReason })
    }).pipe(withServer())
  )

  it.scoped("rounds a configured deadline up to whole seconds in the reason", () =>
    Effect.gen(function* () {
      const client = yield* connect
      yield* TestClock.adjust("1499 millis")
      assert.isTrue(yield* client.isOpen)
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(yield* client.closed, {
        code: 4202,
        reason: "session wasn't initialized in 2 seconds after connection"
      })
    }).pipe(withServer({ options: { initDeadline: 1500 } }))
  )

  it.scoped("failed initialize attempts do not stop the clock", () =>
    Effect.gen(function* () {
      const client = yield* connect
      yield* TestClock.adjust("5 seconds")
      assert.strictEqual(yield* client.call(initText(1, CLIENT_ID, "BA-UNKNOWN-KEY")), msg(1, { id: 1, status: 2 }))
      assert.strictEqual(yield* client.call(initText(2, "x".repeat(65))), msg(1, { id: 2, status: 500 }))
      yield* TestClock.adjust("10 seconds")
      assert.deepStrictEqual(yield* client.closed, { code: 4202, reason: deadlineReason })
    }).pipe(withServer())
  )

  it.scoped("a successful initialize stops the clock for good", () =>
    Effect.gen(function* () {
      const client = yield* connect
      yield* TestClock.adjust("14 seconds")
      assert.strictEqual(yield* client.call(initText(1)), demoInitOk(1))
      yield* TestClock.adjust("1 hour")
      yield* expectQuiet(client)
      assert.isTrue(yield* client.isOpen)
    }).pipe(withServer())
  )

  it.scoped("the server has no idle timeout once initialized", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      yield* TestClock.adjust("3 days")
      yield* expectQuiet(client)
    }).pipe(withServer())
  )
})

describe("§3.2 #1 initialize", () => {
  it.scoped("answers app_name, app_version and status 1 for any of an application's keys", () =>
    Effect.gen(function* () {
      const client = yield* connect
      assert.strictEqual(
        yield* client.call(initText(1)),
        '{"type":1,"payload":{"id":1,"app_name":"Demo","app_version":"1.0.0","status":1}}'
      )
      for (const key of ["BA-MULTI-KEY-ONE", "BA-MULTI-KEY-TWO"]) {
        const other = yield* connect
        assert.strictEqual(
          yield* other.call(initText(3, CLIENT_ID, key)),
          '{"type":1,"payload":{"id":3,"app_name":"Multi \\"quoted\\" é","app_version":"3.1.4-beta","status":1}}'
        )
      }
    }).pipe(
      withServer({
        fixtures: fixtures({}, [
          { api_keys: ["BA-MULTI-KEY-ONE", "BA-MULTI-KEY-TWO"], name: 'Multi "quoted" é', version: "3.1.4-beta" }
        ])
      })
    )
  )

  it.scoped("a second initialize gets status 4 and the session keeps its first application", () =>
    Effect.gen(function* () {
      const server = yield* Server.BlazeauthServer
      const client = yield* initialized()
      assert.strictEqual(yield* client.call(initText(2, "another-device", OTHER_KEY)), msg(1, { id: 2, status: 4 }))
      // "already initialized" comes before the client_id length and the key checks.
      assert.strictEqual(
        yield* client.call(initText(3, "z".repeat(65), "BA-UNKNOWN-KEY")),
        msg(1, { id: 3, status: 4 })
      )
      const [info] = yield* server.sessions
      assert.strictEqual(info?.application, "Demo")
      assert.strictEqual(info?.clientId, CLIENT_ID)
      assert.strictEqual(yield* client.call(msg(12, { id: 4 })), msg(12, { id: 4, online_users_count: 1, status: 1 }))
    }).pipe(withServer())
  )

  it.scoped("client_id: 64 characters pass, 65 get status 500; counted in code points", () =>
    Effect.gen(function* () {
      const client = yield* connect
      assert.strictEqual(yield* client.call(initText(1, "x".repeat(65))), msg(1, { id: 1, status: 500 }))
      assert.strictEqual(yield* client.call(initText(2, "😀".repeat(65))), msg(1, { id: 2, status: 500 }))
      // 500 comes before the key check.
      assert.strictEqual(yield* client.call(initText(3, "x".repeat(65), "BA-UNKNOWN")), msg(1, { id: 3, status: 500 }))
      assert.strictEqual(yield* client.call(initText(4, "😀".repeat(64))), demoInitOk(4))
      const plain = yield* connect
      assert.strictEqual(yield* plain.call(initText(1, "x".repeat(64))), demoInitOk(1))
    }).pipe(withServer())
  )

  it.scoped("the 4th status-2 answer is sent, then the connection closes 4205", () =>
    Effect.gen(function* () {
      const client = yield* connect
      for (const id of [1, 2, 3]) {
        assert.strictEqual(yield* client.call(initText(id, CLIENT_ID, `BA-WRONG-${id}`)), msg(1, { id, status: 2 }))
      }
      // Other outcomes neither count nor reset the count.
      assert.strictEqual(yield* client.call(initText(4, "x".repeat(65))), msg(1, { id: 4, status: 500 }))
      yield* client.send(initText(5, CLIENT_ID, "BA-WRONG-5"))
      const { frames, close } = yield* client.rest
      assert.deepStrictEqual(frames, [msg(1, { id: 5, status: 2 })])
      assert.deepStrictEqual(close, { code: 4205, reason: "failed to initialize session" })
    }).pipe(withServer())
  )

  it.scoped("three status-2 answers then a valid key initialize the session", () =>
    Effect.gen(function* () {
      const client = yield* connect
      for (const id of [1, 2, 3]) {
        assert.strictEqual(yield* client.call(initText(id, CLIENT_ID, "")), msg(1, { id, status: 2 }))
      }
      assert.strictEqual(yield* client.call(initText(4)), demoInitOk(4))
    }).pipe(withServer())
  )

  it.scoped("a paused application's key closes 4101 'application paused' with no response", () =>
    Effect.gen(function* () {
      const client = yield* connect
      yield* client.send(initText(1, CLIENT_ID, SLEEPY_KEY))
      assert.deepStrictEqual(yield* client.closed, { code: 4101, reason: "application paused" })
      // Paused comes before the client_id blacklist.
      const banned = yield* connect
      yield* banned.send(initText(1, "banned-device", SLEEPY_KEY))
      assert.deepStrictEqual(yield* banned.closed, { code: 4101, reason: "application paused" })
    }).pipe(
      withServer({
        fixtures: {
          applications: fixtures().applications.map((app) =>
            app.name === "Sleepy" ? { ...app, blacklisted_client_ids: ["banned-device"] } : app
          )
        }
      })
    )
  )

  it.scoped("a blacklisted client_id gets status 502, then close 4204", () =>
    Effect.gen(function* () {
      const client = yield* connect
      yield* client.send(initText(1, "banned-device"))
      const { frames, close } = yield* client.rest
      assert.deepStrictEqual(frames, ['{"type":1,"payload":{"id":1,"status":502}}'])
      assert.deepStrictEqual(close, { code: 4204, reason: "external ID is blacklisted" })
      // The blacklist is per application.
      const other = yield* connect
      assert.strictEqual(
        yield* other.call(initText(1, "banned-device", OTHER_KEY)),
        msg(1, { id: 1, app_name: "Other", app_version: "2.0.0", status: 1 })
      )
    }).pipe(withServer())
  )
})

describe("control interface", () => {
  const event = '{"type":18,"payload":{"id":18446744073709551615,"event_type":2,"content":{"version":"1.2.3"}}}'

  it.scoped("pushPanelEvent reaches only the initialized sessions of that application", () =>
    Effect.gen(function* () {
      const server = yield* Server.BlazeauthServer
      const first = yield* initialized()
      const second = yield* withLicense("ABCDEF-123456", "second-device")
      const fresh = yield* connect
      const other = yield* connect
      assert.strictEqual(
        yield* other.call(initText(1, CLIENT_ID, OTHER_KEY)),
        msg(1, { id: 1, app_name: "Other", app_version: "2.0.0", status: 1 })
      )
      assert.strictEqual(yield* server.pushPanelEvent("Demo", { eventType: 2, content: { version: "1.2.3" } }), 2)
      assert.strictEqual(yield* first.text, event)
      assert.strictEqual(yield* second.text, event)
      assert.isTrue(event.includes(`"id":${MAX_ID}`))
      // No content → {}.
      assert.strictEqual(yield* server.pushPanelEvent("Demo", { eventType: 14 }), 2)
      assert.strictEqual(yield* first.text, `{"type":18,"payload":{"id":${MAX_ID},"event_type":14,"content":{}}}`)
      // Nothing reached the uninitialized session or the other application.
      assert.strictEqual(yield* fresh.call(initText(7)), demoInitOk(7))
      yield* expectQuiet(other)
      const unknown = yield* Effect.flip(server.pushPanelEvent("Nope", { eventType: 1 }))
      assert.strictEqual(unknown._tag, "UnknownApplication")
      // Types outside 0..14 go out (clients must cope); a type the wire cannot carry is refused, nothing sent.
      assert.strictEqual(yield* server.pushPanelEvent("Demo", { eventType: 99 }), 3)
      assert.strictEqual(yield* first.text, `{"type":18,"payload":{"id":${MAX_ID},"event_type":99,"content":{}}}`)
      for (const eventType of [1.5, 2 ** 31, Number.NaN]) {
        const invalid = yield* Effect.flip(server.pushPanelEvent("Demo", { eventType }))
        assert.strictEqual(invalid._tag, "InvalidPanelEvent")
      }
      yield* expectQuiet(first)
    }).pipe(withServer())
  )

  it.scoped("the server sends no event on its own, whatever the session does", () =>
    Effect.gen(function* () {
      const client = yield* withLicense("ABCDEF-123456")
      assert.strictEqual(yield* client.call(msg(18, { id: 3, subscribed: true })), msg(18, { id: 3, status: 1 }))
      yield* TestClock.adjust("1 hour")
      yield* expectQuiet(client)
    }).pipe(withServer())
  )

  it.scoped("pauseApplication closes its initialized sessions 4101; initialize then closes 4101; resume reopens", () =>
    Effect.gen(function* () {
      const server = yield* Server.BlazeauthServer
      const first = yield* initialized()
      const second = yield* withLicense("ABCDEF-123456", "second-device")
      const fresh = yield* connect
      const other = yield* connect
      yield* other.call(initText(1, CLIENT_ID, OTHER_KEY))
      assert.strictEqual(yield* server.pauseApplication("Demo"), 2)
      assert.deepStrictEqual(yield* first.closed, { code: 4101, reason: "application paused" })
      assert.deepStrictEqual(yield* second.closed, { code: 4101, reason: "application paused" })
      yield* expectQuiet(other)
      yield* fresh.send(initText(1))
      assert.deepStrictEqual(yield* fresh.closed, { code: 4101, reason: "application paused" })
      yield* server.resumeApplication("Demo")
      yield* initialized()
    }).pipe(withServer())
  )

  it.scoped("deleteApplication closes its sessions 4102; its keys then answer status 2", () =>
    Effect.gen(function* () {
      const server = yield* Server.BlazeauthServer
      const first = yield* initialized()
      assert.strictEqual(yield* server.deleteApplication("Demo"), 1)
      assert.deepStrictEqual(yield* first.closed, { code: 4102, reason: "application deleted" })
      const client = yield* connect
      for (const id of [1, 2, 3]) assert.strictEqual(yield* client.call(initText(id)), msg(1, { id, status: 2 }))
      yield* client.send(initText(4))
      const { frames, close } = yield* client.rest
      assert.deepStrictEqual(frames, [msg(1, { id: 4, status: 2 })])
      assert.strictEqual(close.code, 4205)
      // The application is gone for the control interface too.
      assert.strictEqual((yield* Effect.flip(server.pauseApplication("Demo")))._tag, "UnknownApplication")
      assert.strictEqual((yield* Effect.flip(server.deleteApplication("Demo")))._tag, "UnknownApplication")
    }).pipe(withServer())
  )

  it.scoped("disconnect closes the selected sessions 4100 'disconnected from panel'", () =>
    Effect.gen(function* () {
      const server = yield* Server.BlazeauthServer
      const target = yield* initialized("target-device")
      const bystander = yield* initialized("bystander")
      assert.strictEqual(yield* server.disconnect({ clientId: "nobody" }), 0)
      assert.strictEqual(yield* server.disconnect({ clientId: "target-device", application: "Demo" }), 1)
      assert.deepStrictEqual(yield* target.closed, { code: 4100, reason: "disconnected from panel" })
      yield* expectQuiet(bystander)
      const [info] = yield* server.sessions
      assert.strictEqual(yield* server.disconnect({ id: info?.id }), 1)
      assert.deepStrictEqual(yield* bystander.closed, { code: 4100, reason: "disconnected from panel" })
    }).pipe(withServer())
  )

  it.scoped("sessions lists live sessions with their application, client id and identity", () =>
    Effect.gen(function* () {
      const server = yield* Server.BlazeauthServer
      yield* connect
      yield* withLicense("ABCDEF-123456")
      const infos = yield* server.sessions
      assert.strictEqual(infos.length, 2)
      const fresh = infos.find((info) => info.application === null)
      const licensed = infos.find((info) => info.application === "Demo")
      assert.deepStrictEqual([fresh?.clientId, fresh?.identity, fresh?.remoteAddress], [null, null, "127.0.0.1"])
      assert.strictEqual(licensed?.clientId, CLIENT_ID)
      assert.strictEqual(licensed?.identity?._tag, "License")
    }).pipe(withServer())
  )

  it.scoped("shutting the server down closes open sessions with 1000", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0_MS)
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(memoryLayer(), scope)
      const server = Context.get(context, Server.BlazeauthServer)
      const clients = yield* Effect.all([initialized(), connect]).pipe(Effect.provide(context))
      // Both connections are being served (an accepted connection is handed over asynchronously).
      yield* eventually(Effect.map(server.sessions, (all) => all.length === 2))
      yield* Scope.close(scope, Exit.void)
      for (const client of clients) assert.deepStrictEqual(yield* client.closed, { code: 1000, reason: "" })
    })
  )

  it.scoped("a key of one application never opens another", () =>
    Effect.gen(function* () {
      const client = yield* connect
      assert.strictEqual(
        yield* client.call(initText(1, CLIENT_ID, API_KEY.toLowerCase())),
        msg(1, { id: 1, status: 2 })
      )
      assert.strictEqual(yield* client.call(initText(2, CLIENT_ID, ` ${API_KEY}`)), msg(1, { id: 2, status: 2 }))
      assert.strictEqual(yield* client.call(initText(3)), demoInitOk(3))
    }).pipe(withServer())
  )
})
