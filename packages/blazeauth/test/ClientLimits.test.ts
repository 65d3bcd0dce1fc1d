/**
 * The client's limits against hostile servers: a text reply too big to hold (close 1009), headers that
 * never carry data (they move no idle timeout on, and a run of them is a protocol violation), a
 * `file_size` above `maxFileBytes`, and a `downloadToFile` target that could never be written. Hostile
 * servers run over real `ws` on 127.0.0.1; the idle timeout runs on the in-memory network under
 * `TestClock`.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Client from "@protokernel/blazeauth/Client"
import * as MemoryTransport from "@protokernel/wire/MemoryTransport"
import * as Transport from "@protokernel/wire/Transport"
import * as WsTransport from "@protokernel/wire/WsTransport"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Option, Redacted, Stream, TestClock } from "effect"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { failureOf } from "../../../test/kit/unwrap.js"
import { makeServer, type Peer } from "./support/peer.js"

const memory = MemoryTransport.layer()
const overWs = Layer.merge(WsTransport.layerServer(), WsTransport.layerConnector)

const T1 = "5f0c2a9e4b7d41c3a8e6d2b1f0a9c8e7"
const initOk = { app_name: "Demo", app_version: "1.0.0", status: 1 }

const baseOptions = (url: string): Client.Options => ({
  url,
  apiKey: Redacted.make("BA0123456789ABCDEFGHI"),
  clientId: "desktop-main",
  pingInterval: "0 millis",
  reconnect: false
})

/** A client whose `initialize` was answered, and the server side of its connection. */
const connect = (overrides: Partial<Client.Options> = {}) =>
  Effect.gen(function* () {
    const server = yield* makeServer
    const url = (yield* Transport.TransportServer).url
    const fiber = yield* Effect.fork(Client.make({ ...baseOptions(url), ...overrides }))
    const peer = yield* server.accept
    yield* peer.reply(yield* peer.request, initOk)
    return { client: yield* Fiber.join(fiber), peer }
  })

const header = (peer: Peer, id: bigint, fields: Record<string, unknown>) =>
  peer.send(JSON.stringify({ type: 8, payload: { id: Number(id), transfer_id: T1, binary_data: true, ...fields } }))

const tempDir = Effect.acquireRelease(
  Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "blazeauth-limits-"))),
  (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
)

describe("maxTextMessageBytes", () => {
  it.scopedLive("a 2 MiB reply to initialize: the client closes with 1009 and fails with MessageTooBig", () =>
    Effect.gen(function* () {
      const server = yield* makeServer
      const url = (yield* Transport.TransportServer).url
      const fiber = yield* Effect.fork(Client.make(baseOptions(url)))
      const peer = yield* server.accept
      const init = yield* peer.request
      yield* peer.reply(init, { ...initOk, padding: "x".repeat(2 * 1024 * 1024) })
      const error = failureOf(yield* Fiber.await(fiber))
      if (error._tag !== "MessageTooBig")
        return assert.fail(`expected MessageTooBig, got ${error._tag}: ${error.message}`)
      assert.deepStrictEqual([error.bytes > 2 * 1024 * 1024, error.limit], [true, 1024 * 1024])
      assert.strictEqual((yield* peer.closed).code, 1009)
    }).pipe(Effect.provide(overWs))
  )

  it.scopedLive("the limit is an option: a reply just under it is accepted", () =>
    Effect.gen(function* () {
      const server = yield* makeServer
      const url = (yield* Transport.TransportServer).url
      const fiber = yield* Effect.fork(Client.make({ ...baseOptions(url), maxTextMessageBytes: 4 * 1024 * 1024 }))
      const peer = yield* server.accept
      yield* peer.reply(yield* peer.request, { ...initOk, padding: "x".repeat(2 * 1024 * 1024) })
      const client = yield* Fiber.join(fiber)
      assert.strictEqual((yield* client.state)._tag, "Initialized")
    }).pipe(Effect.provide(overWs))
  )
})

describe("§4.5 idle timeout: only data moves it on", () => {
  it.scoped("headers without a chunk every 20 s do not keep a download alive past 30 s without data", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect()
      const started = yield* Effect.fork(client.startDownload("client.bin"))
      const request = yield* peer.request
      yield* header(peer, request.id, { chunk_size: 8, offset: 0, file_size: 1000 })
      yield* peer.send(new Uint8Array(8))
      const download = yield* Fiber.join(started)
      const outcome = yield* Effect.fork(download.outcome)
      yield* TestClock.adjust("20 seconds")
      yield* header(peer, request.id, { chunk_size: 0, offset: 8 })
      yield* TestClock.adjust("9999 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(outcome)))
      yield* header(peer, request.id, { chunk_size: 0, offset: 8 })
      yield* TestClock.adjust("1 millis")
      const error = failureOf(yield* Fiber.await(outcome))
      assert.isTrue(error._tag === "Timeout" && error.idle === true && error.millis === 30000, error.message)
      const stop = yield* peer.request
      assert.strictEqual(stop.text, `{"type":9,"payload":{"id":3,"transfer_id":"${T1}"}}`)
    }).pipe(Effect.provide(memory))
  )
})

describe("maxEmptyHeaders", () => {
  it.scopedLive("more than 16 headers in a row without a chunk: ProtocolViolation, close 1002", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect()
      const started = yield* Effect.fork(client.startDownload("client.bin"))
      const request = yield* peer.request
      yield* header(peer, request.id, { chunk_size: 8, offset: 0, file_size: 1000 })
      yield* peer.send(new Uint8Array(8))
      const download = yield* Fiber.join(started)
      // 16 are tolerated; the 17th breaks the connection.
      for (let i = 0; i < 17; i++) yield* header(peer, request.id, { chunk_size: 0, offset: 8 })
      const error = failureOf(yield* Effect.exit(download.outcome))
      assert.strictEqual(error._tag, "ProtocolViolation", error.message)
      const close = yield* peer.closed
      assert.deepStrictEqual(
        [close.code, close.reason],
        [1002, "protocol violation: more than 16 type-8 headers in a row without a chunk"]
      )
    }).pipe(Effect.provide(overWs))
  )

  it.scopedLive("a chunk between them starts the count over", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect({ maxEmptyHeaders: 2 })
      const started = yield* Effect.fork(client.startDownload("client.bin"))
      const request = yield* peer.request
      yield* header(peer, request.id, { chunk_size: 4, offset: 0, file_size: 8 })
      yield* peer.send(new Uint8Array(4))
      const download = yield* Fiber.join(started)
      yield* header(peer, request.id, { chunk_size: 0, offset: 4 })
      yield* header(peer, request.id, { chunk_size: 0, offset: 4 })
      yield* header(peer, request.id, { chunk_size: 4, offset: 4 })
      yield* peer.send(new Uint8Array(4))
      yield* header(peer, request.id, { chunk_size: 0, offset: 8 })
      yield* header(peer, request.id, { chunk_size: 0, offset: 8 })
      const checksum = "af5570f5a1810b7af78caf4bc70a660f0df51e42baf91d4de5b2328de0e83dfc"
      yield* header(peer, request.id, {
        chunk_size: 0,
        offset: 8,
        status: 1,
        file_checksum: checksum,
        range_checksum: checksum
      })
      const outcome = yield* download.outcome
      assert.strictEqual(outcome._tag, "Completed")
    }).pipe(Effect.provide(overWs))
  )
})

describe("maxFileBytes", () => {
  it.scopedLive("a file_size above the limit fails the start with FileTooLarge; the stream is stopped", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect()
      const started = yield* Effect.fork(client.startDownload("client.bin", { maxFileBytes: 1000 }))
      const request = yield* peer.request
      yield* header(peer, request.id, { chunk_size: 8, offset: 0, file_size: 1e15 })
      yield* peer.send(new Uint8Array(8))
      const error = failureOf(yield* Fiber.await(started))
      if (error._tag !== "FileTooLarge")
        return assert.fail(`expected FileTooLarge, got ${error._tag}: ${error.message}`)
      assert.deepStrictEqual([error.fileSize, error.limit], [1e15, 1000])
      assert.include(error.message, "the limit is 1000")
      const stop = yield* peer.request
      assert.strictEqual(stop.text, `{"type":9,"payload":{"id":3,"transfer_id":"${T1}"}}`)
    }).pipe(Effect.provide(overWs))
  )

  it.scopedLive("downloadToFile: fails at once, nothing written", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const target = Path.join(dir, "client.bin")
      const { client, peer } = yield* connect()
      const fiber = yield* Effect.fork(
        Stream.runDrain(client.downloadToFile("client.bin", target, { maxFileBytes: 1000 })).pipe(
          Effect.provide(NodeFileSystem.layer)
        )
      )
      const request = yield* peer.request
      yield* header(peer, request.id, { chunk_size: 8, offset: 0, file_size: 1e15 })
      yield* peer.send(new Uint8Array(8))
      const error = failureOf(yield* Fiber.await(fiber))
      assert.strictEqual(error._tag, "FileTooLarge", error.message)
      assert.deepStrictEqual(yield* Effect.promise(() => Fs.readdir(dir)), [])
    }).pipe(Effect.provide(overWs))
  )

  it.scopedLive("without file_size, a chunk past the limit fails before its bytes are delivered", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect()
      const started = yield* Effect.fork(client.startDownload("client.bin", { maxFileBytes: 10 }))
      const request = yield* peer.request
      yield* header(peer, request.id, { chunk_size: 8, offset: 0 })
      yield* peer.send(new Uint8Array(8))
      const download = yield* Fiber.join(started)
      yield* header(peer, request.id, { chunk_size: 8, offset: 8 })
      yield* peer.send(new Uint8Array(8))
      const error = failureOf(yield* Effect.exit(download.outcome))
      assert.isTrue(error._tag === "FileTooLarge" && error.limit === 10, error.message)
      assert.strictEqual((yield* download.current).position, 8)
    }).pipe(Effect.provide(overWs))
  )
})

describe("downloadToFile checks its target first", () => {
  it.scoped("a directory, a missing directory: DownloadFileError, and no transfer_file is sent", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const { client, peer } = yield* connect()
      const cases = [
        [dir, "it is a directory"],
        [Path.join(dir, "missing", "client.bin"), `the directory ${Path.join(dir, "missing")} does not exist`]
      ] as const
      for (const [target, detail] of cases) {
        const fiber = yield* Effect.fork(
          Stream.runDrain(client.downloadToFile("client.bin", target)).pipe(Effect.provide(NodeFileSystem.layer))
        )
        // A download that was started anyway would end with the request timeout instead.
        yield* TestClock.adjust("30 seconds")
        const error = failureOf(yield* Fiber.await(fiber))
        if (error._tag !== "DownloadFileError") return assert.fail(`${target}: got ${error._tag}: ${error.message}`)
        assert.deepStrictEqual([error.path, error.detail], [target, detail])
      }
      assert.isFalse(yield* peer.hasPending)
      assert.deepStrictEqual(yield* Effect.promise(() => Fs.readdir(dir)), [])
    }).pipe(Effect.provide(memory))
  )
})
