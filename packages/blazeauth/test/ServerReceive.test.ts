/**
 * The reference server's receive rules, in the order of docs/blazeauth.md §1.6: message size (1009), rate limit
 * (4201), binary (4304), envelope and id (4300), type range (4301), the init gate (4200) and body
 * validation (4302), and the exact echo of ids (§1.3).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { connect, initialized, initText, MAX_ID, msg, withServer } from "./support/server.js"
import type { RawClient } from "./support/server.js"

const reasons = {
  1009: "message too big",
  4200: "connection is not initialized",
  4201: "rate limit hit",
  4300: "packet does not contain mandatory 'type' and/or 'id' fields",
  4301: "invalid handler type specified",
  4302: "invalid request body",
  4304: "received unsupported data"
} as const

type Code = keyof typeof reasons

const CLIENT_ID_TOO_LONG = "d".repeat(65)

/** Sends the frames, then expects the close (and nothing before it). */
const closesWith = (client: RawClient, code: Code, ...frames: ReadonlyArray<string | Uint8Array>) =>
  Effect.gen(function* () {
    for (const frame of frames) yield* client.send(frame)
    assert.deepStrictEqual(yield* client.closed, { code, reason: reasons[code] })
  })

/** On a fresh connection (initialized or not), one message and the expected close. */
const rejected = (state: "fresh" | "initialized", frame: string | Uint8Array, code: Code) =>
  Effect.gen(function* () {
    const client = state === "fresh" ? yield* connect : yield* initialized()
    yield* client.send(frame)
    const { frames, close } = yield* client.rest
    assert.deepStrictEqual(frames, [], `nothing answers ${typeof frame === "string" ? frame : "binary"}`)
    assert.deepStrictEqual(close, { code, reason: reasons[code] }, typeof frame === "string" ? frame : "binary")
  })

/** A ping whose text is exactly `bytes` UTF-8 bytes long, padded with `filler` characters. */
const pingOfSize = (bytes: number, filler = "x") => {
  const base = msg(0, { id: 1, pad: "" })
  const fillerBytes = Buffer.byteLength(filler)
  const count = Math.floor((bytes - base.length) / fillerBytes)
  const text = msg(0, { id: 1, pad: filler.repeat(count) + "x".repeat(bytes - base.length - count * fillerBytes) })
  assert.strictEqual(Buffer.byteLength(text), bytes)
  return text
}

describe("§1.6 row 1: message size", () => {
  it.scoped("closes 1009 'message too big' for a text of 65537 bytes, even before initialize", () =>
    Effect.gen(function* () {
      yield* rejected("fresh", pingOfSize(65537), 1009)
      yield* rejected("initialized", pingOfSize(65537), 1009)
    }).pipe(withServer())
  )

  it.scoped("answers a text of exactly 65536 bytes (extra fields are ignored)", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(yield* client.call(pingOfSize(65536)), msg(0, { id: 1 }))
    }).pipe(withServer())
  )

  it.scoped("counts UTF-8 bytes, not characters", () =>
    Effect.gen(function* () {
      // Fewer than 65536 characters, but more than 65536 bytes.
      const text = pingOfSize(65538, "é")
      assert.isBelow(text.length, 65536)
      yield* rejected("initialized", text, 1009)
    }).pipe(withServer())
  )

  it.scoped("closes 1009, not 4304, for a binary message over the limit", () =>
    Effect.gen(function* () {
      yield* rejected("initialized", new Uint8Array(65537), 1009)
    }).pipe(withServer())
  )

  it.scoped("uses the configured limit", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(yield* client.call(pingOfSize(200)), msg(0, { id: 1 }))
      yield* closesWith(client, 1009, pingOfSize(201))
    }).pipe(withServer({ options: { maxMessageBytes: 200 } }))
  )
})

describe("§1.6 row 2: rate limit (60 data messages per sliding 60 s)", () => {
  const pings = (client: RawClient, from: number, count: number) =>
    Effect.forEach(
      Array.from({ length: count }, (_, i) => from + i),
      (id) => client.send(msg(0, { id })),
      {
        discard: true
      }
    )

  it.scoped("the 61st message closes 4201 'rate limit hit' and is not processed", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      // initialize was message 1; 59 pings make 60.
      yield* pings(client, 2, 59)
      yield* client.send(msg(0, { id: 61 }))
      const { frames, close } = yield* client.rest
      assert.strictEqual(frames.length, 59)
      assert.strictEqual(frames[58], msg(0, { id: 60 }))
      assert.isFalse(frames.includes(msg(0, { id: 61 })), "the 61st ping is not answered")
      assert.deepStrictEqual(close, { code: 4201, reason: "rate limit hit" })
    }).pipe(withServer())
  )

  it.scoped("counts the messages of the last 60 s: the window slides", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      yield* pings(client, 2, 29) // 30 messages at t = 0
      assert.lengthOf(yield* client.take(29), 29)
      yield* TestClock.adjust("30 seconds")
      yield* pings(client, 31, 30) // 60 messages within the window
      assert.lengthOf(yield* client.take(30), 30)
      yield* TestClock.adjust("30 seconds")
      // t = 60 s: the 30 messages of t = 0 have left the window; 30 more fit.
      yield* pings(client, 61, 30)
      const answered = yield* client.take(30)
      assert.strictEqual(answered[29], msg(0, { id: 90 }))
      yield* closesWith(client, 4201, msg(0, { id: 91 }))
    }).pipe(withServer())
  )

  it.scoped("a message just before the oldest one leaves the window still crosses the limit", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      yield* pings(client, 2, 59)
      assert.lengthOf(yield* client.take(59), 59)
      yield* TestClock.adjust("59999 millis")
      yield* closesWith(client, 4201, msg(0, { id: 61 }))
    }).pipe(withServer())
  )

  it.scoped("counts messages before initialize and failed ones too", () =>
    Effect.gen(function* () {
      const client = yield* connect
      // 60 initialize attempts answered with 500 (a bad key would close at the 4th).
      for (let id = 1; id <= 60; id++) yield* client.send(initText(id, CLIENT_ID_TOO_LONG))
      const answered = yield* client.take(60)
      assert.strictEqual(answered[59], msg(1, { id: 60, status: 500 }))
      yield* closesWith(client, 4201, initText(61))
    }).pipe(withServer())
  )

  it.scoped("is checked before the binary rule: a binary 61st message gets 4201, not 4304", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      yield* pings(client, 2, 59)
      assert.lengthOf(yield* client.take(59), 59)
      yield* closesWith(client, 4201, new Uint8Array([1, 2, 3]))
    }).pipe(withServer())
  )

  it.scoped("is checked after the size rule: an oversized 61st message gets 1009", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      yield* pings(client, 2, 59)
      assert.lengthOf(yield* client.take(59), 59)
      yield* closesWith(client, 1009, new Uint8Array(65537))
    }).pipe(withServer())
  )

  it.scoped("0 turns the limit off; a configured window is honoured", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      yield* pings(client, 2, 150)
      const answered = yield* client.take(150)
      assert.strictEqual(answered[149], msg(0, { id: 151 }))
    }).pipe(withServer({ options: { rateLimit: 0 } }))
  )

  it.scoped("uses the configured limit and window", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      yield* pings(client, 2, 2) // 3 messages
      assert.lengthOf(yield* client.take(2), 2)
      yield* TestClock.adjust("1 second")
      yield* pings(client, 4, 3)
      assert.lengthOf(yield* client.take(3), 3)
      yield* closesWith(client, 4201, msg(0, { id: 7 }))
    }).pipe(withServer({ options: { rateLimit: 3, rateWindow: "1 second" } }))
  )
})

describe("§1.6 row 3: binary messages", () => {
  it.scoped("closes 4304 'received unsupported data' before and after initialize", () =>
    Effect.gen(function* () {
      yield* rejected("fresh", new Uint8Array([0x7b, 0x7d]), 4304)
      yield* rejected("initialized", Buffer.from(msg(0, { id: 2 })), 4304)
      yield* rejected("initialized", new Uint8Array(0), 4304)
    }).pipe(withServer())
  )
})

describe("§1.6 row 4: envelope and id (4300)", () => {
  const cases = [
    "hello",
    "",
    "[]",
    "null",
    "42",
    '"text"',
    "{}",
    '{"type":0,"payload":{"id":1}} trailing',
    '{"payload":{"id":1}}',
    '{"type":"0","payload":{"id":1}}',
    '{"type":"8","payload":{"id":1,"filename":"client.bin"}}',
    '{"type":0.0,"payload":{"id":1}}',
    '{"type":8.0,"payload":{"id":1,"filename":"client.bin"}}',
    '{"type":8e0,"payload":{"id":1,"filename":"client.bin"}}',
    '{"type":1E1,"payload":{"id":1}}',
    '{"type":null,"payload":{"id":1}}',
    '{"type":true,"payload":{"id":1}}',
    '{"type":0}',
    '{"type":0,"payload":null}',
    '{"type":0,"payload":[]}',
    '{"type":0,"payload":"id"}',
    '{"type":0,"payload":{}}',
    '{"type":0,"payload":{"id":"abc"}}',
    '{"type":0,"payload":{"id":""}}',
    '{"type":0,"payload":{"id":" 1"}}',
    '{"type":0,"payload":{"id":"+1"}}',
    '{"type":0,"payload":{"id":"-1"}}',
    '{"type":0,"payload":{"id":-1}}',
    '{"type":0,"payload":{"id":-0}}',
    '{"type":0,"payload":{"id":1.5}}',
    '{"type":0,"payload":{"id":1.0}}',
    '{"type":0,"payload":{"id":1e3}}',
    '{"type":0,"payload":{"id":null}}',
    '{"type":0,"payload":{"id":true}}',
    `{"type":0,"payload":{"id":${MAX_ID}}}`,
    `{"type":0,"payload":{"id":"${MAX_ID}"}}`,
    '{"type":0,"payload":{"id":18446744073709551616}}',
    '{"type":0,"payload":{"id":"123456789012345678901"}}',
    // The id rule comes before the type range.
    '{"type":19,"payload":{}}',
    '{"type":-1,"payload":{"id":"x"}}'
  ]

  it.scoped("closes 4300 on an initialized session", () =>
    Effect.gen(function* () {
      for (const text of cases) yield* rejected("initialized", text, 4300)
    }).pipe(withServer())
  )

  it.scoped("closes 4300 before initialize too (row 4 comes before row 6)", () =>
    Effect.gen(function* () {
      for (const text of cases) yield* rejected("fresh", text, 4300)
    }).pipe(withServer())
  )
})

describe("§1.6 row 5: type range (4301)", () => {
  const cases = [
    msg(19, { id: 1 }),
    msg(-1, { id: 1 }),
    msg(100, { id: 1 }),
    '{"type":18446744073709551616,"payload":{"id":1}}',
    '{"type":-18446744073709551616,"payload":{"id":1}}'
  ]

  it.scoped("closes 4301 'invalid handler type specified' after initialize", () =>
    Effect.gen(function* () {
      for (const text of cases) yield* rejected("initialized", text, 4301)
    }).pipe(withServer())
  )

  it.scoped("closes 4301, not 4200, before initialize", () =>
    Effect.gen(function* () {
      for (const text of cases) yield* rejected("fresh", text, 4301)
    }).pipe(withServer())
  )
})

describe("§1.6 row 6: requests before initialize (4200)", () => {
  it.scoped("closes 4200 for every type other than 1, ping included, whatever the body", () =>
    Effect.gen(function* () {
      for (let type = 0; type <= 18; type++) {
        if (type === 1) continue
        yield* rejected("fresh", msg(type, { id: 1 }), 4200)
      }
      // A body that would be invalid does not matter: row 6 comes before row 7.
      yield* rejected("fresh", msg(14, { id: 1, key: "" }), 4200)
    }).pipe(withServer())
  )

  it.scoped("a failed initialize leaves the session uninitialized", () =>
    Effect.gen(function* () {
      const client = yield* connect
      assert.strictEqual(yield* client.call(initText(1, CLIENT_ID_TOO_LONG)), msg(1, { id: 1, status: 500 }))
      yield* closesWith(client, 4200, msg(0, { id: 2 }))
    }).pipe(withServer())
  )
})

describe("§1.6 row 7: request bodies (4302)", () => {
  const afterInit = [
    // initialize: the 4302 checks run before "already initialized" (§3.1).
    msg(1, { id: 2, socket_api_key: "BA0123456789ABCDEFGHI", client_id: "abc" }),
    msg(1, { id: 2, socket_api_key: "BA0123456789ABCDEFGHI", client_id: "😀😀😀" }),
    msg(1, { id: 2, socket_api_key: "BA0123456789ABCDEFGHI" }),
    msg(1, { id: 2, client_id: "desktop-main" }),
    msg(1, { id: 2, socket_api_key: 12345, client_id: "desktop-main" }),
    msg(1, { id: 2, socket_api_key: "BA0123456789ABCDEFGHI", client_id: null }),
    // create_account
    msg(2, { id: 2, login: "new_user", password: "strong-password" }),
    msg(2, { id: 2, login: "new_user", password: "strong-password", credentials_type: "0" }),
    '{"type":2,"payload":{"id":2,"login":"new_user","password":"strong-password","credentials_type":0.0}}',
    msg(2, { id: 2, login: "new_user", password: "strong-password", credentials_type: 2147483648 }),
    msg(2, { id: 2, login: "new_user", password: 123456, credentials_type: 0 }),
    msg(2, { id: 2, login: "new_user", password: "strong-password", comment: 5, credentials_type: 0 }),
    msg(2, { id: 2, login: "new_user", password: "strong-password", license: 5, credentials_type: 0 }),
    // auth_by_license, auth_by_credentials, link
    msg(3, { id: 2 }),
    msg(3, { id: 2, license: 123456 }),
    msg(4, { id: 2, login: "demo_user", password: "strong-password" }),
    msg(4, { id: 2, login: ["demo_user"], password: "strong-password", credentials_type: 0 }),
    msg(5, { id: 2 }),
    // blacklist, transfer, stop, resume, metadata
    msg(7, { id: 2, comment: 5 }),
    msg(8, { id: 2 }),
    msg(8, { id: 2, filename: "client.bin", offset: -1 }),
    msg(8, { id: 2, filename: "client.bin", offset: "abc" }),
    msg(8, { id: 2, filename: "client.bin", offset: 1.5 }),
    msg(8, { id: 2, filename: "client.bin", offset: 9007199254740992 }),
    msg(9, { id: 2 }),
    msg(9, { id: 2, transfer_id: "x", issue_token: "yes" }),
    msg(10, { id: 2, transfer_id: "x" }),
    msg(11, { id: 2 }),
    msg(11, { id: 2, filename: null }),
    // variables and session values
    msg(13, { id: 2 }),
    msg(14, { id: 2, key: "", value: "v", ttl: null }),
    msg(14, { id: 2, key: "k", ttl: null }),
    msg(14, { id: 2, key: "k", value: 5, ttl: null }),
    msg(14, { id: 2, key: "k", value: "v", ttl: 1.5 }),
    msg(14, { id: 2, key: "k", value: "v", ttl: "soon" }),
    msg(14, { id: 2, key: "k", value: "v", ttl: 9007199254740992 }),
    msg(15, { id: 2, key: "" }),
    msg(15, { id: 2 })
  ]

  it.scoped("closes 4302 'invalid request body' for missing fields, wrong types and out-of-range integers", () =>
    Effect.gen(function* () {
      for (const text of afterInit) yield* rejected("initialized", text, 4302)
    }).pipe(withServer())
  )

  it.scoped("closes 4302 for a client_id of 3 characters before initialize", () =>
    Effect.gen(function* () {
      yield* rejected("fresh", initText(1, "abc"), 4302)
      yield* rejected("fresh", initText(1, "😀😀😀"), 4302)
      yield* rejected("fresh", msg(1, { id: 1, socket_api_key: "BA0123456789ABCDEFGHI" }), 4302)
    }).pipe(withServer())
  )

  it.scoped("accepts the string forms of 64-bit fields and counts client_id in code points", () =>
    Effect.gen(function* () {
      const client = yield* connect
      // Four code points (eight UTF-16 units) are enough.
      assert.strictEqual(
        yield* client.call(initText(1, "😀😀😀😀")),
        msg(1, { id: 1, app_name: "Demo", app_version: "1.0.0", status: 1 })
      )
      assert.strictEqual(
        yield* client.call(msg(14, { id: 2, key: "k", value: "v", ttl: "-5" })),
        msg(14, { id: 2, status: 1 })
      )
      assert.strictEqual(
        yield* client.call(msg(14, { id: 3, key: "k", value: "v", ttl: "3600" })),
        msg(14, { id: 3, status: 1 })
      )
    }).pipe(withServer())
  )
})

describe("§1.3: ids are echoed exactly", () => {
  it.scoped("echoes 0, 2^64 − 2, a digit string (as an integer) and the last of duplicate keys", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(yield* client.call('{"type":0,"payload":{"id":0}}'), '{"type":0,"payload":{"id":0}}')
      assert.strictEqual(
        yield* client.call('{"type":0,"payload":{"id":18446744073709551614}}'),
        '{"type":0,"payload":{"id":18446744073709551614}}'
      )
      assert.strictEqual(yield* client.call('{"type":0,"payload":{"id":"5"}}'), '{"type":0,"payload":{"id":5}}')
      assert.strictEqual(
        yield* client.call('{"type":0,"payload":{"id":"18446744073709551614"}}'),
        '{"type":0,"payload":{"id":18446744073709551614}}'
      )
      assert.strictEqual(yield* client.call('{"type":0,"payload":{"id":"007"}}'), '{"type":0,"payload":{"id":7}}')
      assert.strictEqual(yield* client.call('{"type":0,"payload":{"id":1,"id":2}}'), '{"type":0,"payload":{"id":2}}')
      // Key order does not matter on receive; the answer is canonical.
      assert.strictEqual(yield* client.call('{"payload":{"id":3},"type":0}'), '{"type":0,"payload":{"id":3}}')
      // -0 is 0 for the int32 `type`.
      assert.strictEqual(yield* client.call('{"type":-0,"payload":{"id":4}}'), '{"type":0,"payload":{"id":4}}')
      // Same id twice: no uniqueness check.
      assert.strictEqual(yield* client.call('{"type":0,"payload":{"id":3}}'), '{"type":0,"payload":{"id":3}}')
      assert.strictEqual(
        yield* client.call('{"type":12,"payload":{"id":9007199254740993}}'),
        '{"type":12,"payload":{"id":9007199254740993,"online_users_count":1,"status":1}}'
      )
    }).pipe(withServer())
  )

  it.scoped("echoes a big id in initialize's response", () =>
    Effect.gen(function* () {
      const client = yield* connect
      assert.strictEqual(
        yield* client.call(
          '{"type":1,"payload":{"id":18446744073709551614,"socket_api_key":"BA0123456789ABCDEFGHI","client_id":"desktop-main"}}'
        ),
        '{"type":1,"payload":{"id":18446744073709551614,"app_name":"Demo","app_version":"1.0.0","status":1}}'
      )
    }).pipe(withServer())
  )
})

describe("§3.2 #0 ping and #18 panel_event_subscribe", () => {
  it.scoped("ping answers {id} only, with no status", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(yield* client.call('{"type":0,"payload":{"id":7}}'), '{"type":0,"payload":{"id":7}}')
      assert.strictEqual(
        yield* client.call('{"type":0,"payload":{"id":8,"status":1,"extra":[1,2]}}'),
        '{"type":0,"payload":{"id":8}}'
      )
    }).pipe(withServer())
  )

  it.scoped("panel_event_subscribe answers status 1 and ignores `subscribed`", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(yield* client.call(msg(18, { id: 4 })), msg(18, { id: 4, status: 1 }))
      assert.strictEqual(yield* client.call(msg(18, { id: 5, subscribed: false })), msg(18, { id: 5, status: 1 }))
      assert.strictEqual(yield* client.call(msg(18, { id: 6, subscribed: "yes" })), msg(18, { id: 6, status: 1 }))
    }).pipe(withServer())
  )
})
