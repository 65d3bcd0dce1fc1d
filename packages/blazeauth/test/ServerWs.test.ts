/**
 * The reference server over real `ws` on 127.0.0.1 (docs/blazeauth.md §1.1, §1.6 row 1, §4): a representative subset
 * of the in-memory suites, with real time.
 */
import * as Server from "@protokernel/blazeauth/Server"
import { WsTransport } from "@protokernel/wire"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { rawWs } from "../../../test/kit/rawPeer.js"
import { eventually } from "../../../test/kit/eventually.js"
import { sha256 } from "../../../test/kit/bytes.js"
import {
  connect,
  demoInitOk,
  FILE_SHA,
  fixtures,
  GHIJ_SHA,
  header,
  initialized,
  initText,
  msg,
  normalize,
  payloadOf,
  readStream,
  withLicense,
  wsLayer
} from "./support/server.js"

describe("BlazeauthServer over ws", () => {
  it.scopedLive("initializes, answers pings and records the peer's IP at activation", () =>
    Effect.gen(function* () {
      const server = yield* Server.BlazeauthServer
      assert.match(server.url, /^ws:\/\/127\.0\.0\.1:\d+$/)
      const client = yield* connect
      assert.strictEqual(yield* client.call(initText(1)), demoInitOk(1))
      assert.strictEqual(yield* client.call('{"type":0,"payload":{"id":7}}'), '{"type":0,"payload":{"id":7}}')
      const reply = payloadOf(yield* client.call(msg(3, { id: 2, license: "ABCDEF-123456" })))
      assert.strictEqual(reply["ip_address"], "127.0.0.1")
      assert.strictEqual(reply["status"], 1)
    }).pipe(Effect.provide(wsLayer()))
  )

  it.scopedLive("refuses upgrades on another path with HTTP 404", () =>
    Effect.gen(function* () {
      const server = yield* Server.BlazeauthServer
      const error = yield* Effect.flip(WsTransport.connect(`${server.url}/api/ws`))
      assert.strictEqual(error._tag, "ConnectError")
      assert.include(error.detail, "404")
    }).pipe(Effect.provide(wsLayer()))
  )

  it.scopedLive("closes 1009 for a message over 64 KiB (ws enforces it) and 4304 for a binary message", () =>
    Effect.gen(function* () {
      const big = yield* initialized()
      yield* big.send(msg(0, { id: 2, pad: "x".repeat(65536) }))
      assert.strictEqual((yield* big.closed).code, 1009)
      const fits = yield* initialized()
      const text = msg(0, { id: 2, pad: "" })
      assert.strictEqual(yield* fits.call(msg(0, { id: 2, pad: "x".repeat(65536 - text.length) })), msg(0, { id: 2 }))
      const binary = yield* initialized()
      yield* binary.send(new Uint8Array([1, 2, 3]))
      assert.deepStrictEqual(yield* binary.closed, { code: 4304, reason: "received unsupported data" })
    }).pipe(Effect.provide(wsLayer()))
  )

  it.scopedLive("invalid UTF-8 in a text message is closed 1007 by the WebSocket library (§1.6 row 0)", () =>
    Effect.gen(function* () {
      const server = yield* Server.BlazeauthServer
      const ws = yield* rawWs(server.url)
      yield* ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false })
      assert.strictEqual(yield* ws.closeCode, 1007)
    }).pipe(Effect.provide(wsLayer()))
  )

  it.scopedLive("closes 4202 when the configured init deadline passes (real time)", () =>
    Effect.gen(function* () {
      const client = yield* connect
      assert.deepStrictEqual(yield* client.closed, {
        code: 4202,
        reason: "session wasn't initialized in 1 seconds after connection"
      })
    }).pipe(Effect.provide(wsLayer({ options: { initDeadline: "200 millis" } })))
  )

  it.scopedLive("streams the worked example byte for byte, then stops and resumes it", () =>
    Effect.gen(function* () {
      const client = yield* withLicense("ABCDEF-123456")
      yield* client.send(msg(8, { id: 20, filename: "client.bin" }))
      const full = normalize((yield* readStream(client)).frames)
      assert.deepStrictEqual(full.frames, [
        header(20, "T1", 8, 0, { file_size: 20 }),
        "bin:01234567",
        header(20, "T1", 8, 8),
        "bin:89abcdef",
        header(20, "T1", 4, 16, { status: 1, file_checksum: FILE_SHA, range_checksum: FILE_SHA }),
        "bin:ghij"
      ])
    }).pipe(Effect.provide(wsLayer({ options: { chunkSize: 8 } })))
  )

  it.scopedLive("stop with a token and resume over ws", () =>
    Effect.gen(function* () {
      const client = yield* withLicense("ABCDEF-123456")
      yield* client.send(msg(8, { id: 21, filename: "client.bin" }))
      const streamed = yield* client.take(4)
      const transferId = payloadOf(streamed[0] ?? "")["transfer_id"]
      if (typeof transferId !== "string") return assert.fail("no transfer id")
      yield* client.send(msg(9, { id: 22, transfer_id: transferId, issue_token: true }))
      const stopped = yield* client.take(2)
      const token = payloadOf(stopped[0] ?? "")["resume_token"]
      if (typeof token !== "string") return assert.fail("no token")
      // From a later connection with the same license.
      const later = yield* withLicense("ABCDEF-123456")
      yield* later.send(msg(10, { id: 23, transfer_id: transferId, resume_token: token }))
      const resumed = yield* later.take(2)
      assert.deepStrictEqual(normalize([...streamed, ...stopped, ...resumed]).frames, [
        header(21, "T1", 8, 0, { file_size: 20 }),
        "bin:01234567",
        header(21, "T1", 8, 8),
        "bin:89abcdef",
        msg(9, { id: 22, resume_token: "TOKEN1", status: 1 }),
        header(21, "T1", 0, 16, { status: 308 }),
        header(23, "T1", 4, 16, { file_size: 20, status: 1, file_checksum: FILE_SHA, range_checksum: GHIJ_SHA }),
        "bin:ghij"
      ])
    }).pipe(Effect.provide(wsLayer({ options: { chunkSize: 8, pauseAfterChunks: 2 } })))
  )

  it.scopedLive("streams a 300 KB file in 64 KiB chunks with its checksums", () =>
    Effect.gen(function* () {
      const client = yield* withLicense("ABCDEF-123456")
      yield* client.send(msg(8, { id: 3, filename: "large.bin" }))
      const { bytes, frames } = yield* readStream(client)
      assert.strictEqual(bytes.byteLength, 300_000)
      assert.strictEqual(sha256(bytes), sha256(large))
      assert.strictEqual(frames.filter((frame) => frame.startsWith("{")).length, 5)
    }).pipe(
      Effect.provide(
        wsLayer({
          fixtures: fixtures({ files: [{ name: "large.bin", content_base64: Buffer.from(large).toString("base64") }] })
        })
      )
    )
  )

  it.scopedLive("pushes panel events and closes every session with 1000 on shutdown", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(wsLayer(), scope)
      const server = Context.get(context, Server.BlazeauthServer)
      const [first, second] = yield* Effect.all([initialized(), connect]).pipe(Effect.provide(context))
      yield* eventually(Effect.map(server.sessions, (all) => all.length === 2))
      assert.strictEqual(yield* server.pushPanelEvent("Demo", { eventType: 2, content: { version: "1.2.3" } }), 1)
      assert.strictEqual(
        yield* first.text,
        '{"type":18,"payload":{"id":18446744073709551615,"event_type":2,"content":{"version":"1.2.3"}}}'
      )
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(yield* first.closed, { code: 1000, reason: "" })
      assert.deepStrictEqual(yield* second.closed, { code: 1000, reason: "" })
    })
  )
})

const large = new Uint8Array(300_000).map((_, i) => (i * 31 + (i >> 10)) & 0xff)
