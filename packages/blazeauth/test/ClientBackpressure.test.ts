/**
 * A download's consumer holds the receive loop (backpressure): the time the client waits for it is its
 * own, so it must not turn into a ping timeout, a request timeout or a stream idle timeout.
 */
import * as Client from "@protokernel/blazeauth/Client"
import * as MemoryTransport from "@protokernel/wire/MemoryTransport"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Option, Redacted, Stream, TestClock } from "effect"
import { sha256 } from "../../../test/kit/bytes.js"
import { makeServer, type Peer, type Request } from "./support/peer.js"

const memory = MemoryTransport.layer()

const connect = (overrides: Partial<Client.Options>) =>
  Effect.gen(function* () {
    const server = yield* makeServer
    const fiber = yield* Effect.fork(
      Client.make({
        url: "memory://blazeauth",
        apiKey: Redacted.make("BA0123456789ABCDEFGHI"),
        clientId: "desktop-main",
        pingInterval: "0 millis",
        reconnect: false,
        ...overrides
      })
    )
    const peer = yield* server.accept
    const init = yield* peer.request
    yield* peer.reply(init, { app_name: "Demo", app_version: "1.0.0", status: 1 })
    return { client: yield* Fiber.join(fiber), peer }
  })

const FILE = Uint8Array.from({ length: 32 }, (_, index) => index)
const CHECKSUM = sha256(FILE)
const TRANSFER_ID = "5f0c2a9e4b7d41c3a8e6d2b1f0a9c8e7"

/** Streams FILE in 8-byte chunks answering `request`; the last chunk travels in the terminal header. */
const streamFile = (peer: Peer, request: Request) =>
  Effect.forEach(
    [0, 8, 16, 24],
    (offset) =>
      Effect.zipRight(
        peer.reply(request, {
          transfer_id: TRANSFER_ID,
          binary_data: true,
          chunk_size: 8,
          offset,
          ...(offset === 0 ? { file_size: FILE.length } : {}),
          ...(offset === 24 ? { status: 1, file_checksum: CHECKSUM, range_checksum: CHECKSUM } : {})
        }),
        peer.send(FILE.slice(offset, offset + 8))
      ),
    { discard: true }
  )

const bytesOf = (chunks: Chunk.Chunk<Uint8Array>) => Buffer.concat(Chunk.toArray(chunks))

describe("waiting for a download's consumer", () => {
  it.scoped("is not a ping timeout, a request timeout or an idle timeout", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect({ downloadBufferBytes: 8, pingTimeout: "5000 millis" })
      const started = yield* Effect.fork(client.startDownload("client.bin"))
      const transfer = yield* peer.request
      assert.strictEqual(transfer.text, `{"type":8,"payload":{"id":2,"filename":"client.bin"}}`)
      yield* streamFile(peer, transfer)
      const download = yield* Fiber.join(started)
      // The first chunk fills the buffer; the loop waits with three pairs unread. A ping and a call
      // go out, and their answers queue behind the stream.
      const ping = yield* Effect.fork(client.ping)
      const variable = yield* Effect.fork(client.getVariable("motd"))
      const pingRequest = yield* peer.request
      const variableRequest = yield* peer.request
      yield* peer.reply(pingRequest)
      yield* peer.reply(variableRequest, { content: "hello", status: 1 })
      yield* TestClock.adjust("2 minutes")
      assert.isTrue(Option.isNone(yield* Fiber.poll(ping)))
      assert.isTrue(Option.isNone(yield* Fiber.poll(variable)))
      assert.strictEqual((yield* client.state)._tag, "Initialized")
      const bytes = yield* Stream.runCollect(download.bytes)
      assert.deepStrictEqual(bytesOf(bytes), Buffer.from(FILE))
      assert.deepStrictEqual(yield* download.outcome, {
        _tag: "Completed",
        filename: "client.bin",
        fileSize: 32,
        fileChecksum: CHECKSUM,
        verified: "file"
      })
      yield* Fiber.join(ping)
      assert.strictEqual(yield* Fiber.join(variable), "hello")
    }).pipe(Effect.provide(memory))
  )

  it.scoped("without a consumer's wait, the same silence is a ping timeout and an idle timeout", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect({ pingTimeout: "5000 millis" })
      const started = yield* Effect.fork(client.startDownload("client.bin"))
      const transfer = yield* peer.request
      yield* peer.reply(transfer, {
        transfer_id: TRANSFER_ID,
        binary_data: true,
        chunk_size: 8,
        offset: 0,
        file_size: FILE.length
      })
      yield* peer.send(FILE.slice(0, 8))
      const download = yield* Fiber.join(started)
      const outcome = yield* Effect.fork(download.outcome)
      yield* TestClock.adjust("30 seconds")
      const idle = yield* Effect.flip(Fiber.join(outcome))
      assert.strictEqual(idle._tag, "Timeout")
      // The stream still runs on the server: the client stops it, without a token.
      const stop = yield* peer.request
      assert.strictEqual(stop.text, `{"type":9,"payload":{"id":3,"transfer_id":"${TRANSFER_ID}"}}`)
      const ping = yield* Effect.fork(client.ping)
      yield* peer.request
      yield* TestClock.adjust("5 seconds")
      const error = yield* Effect.flip(Fiber.join(ping))
      assert.strictEqual(error._tag, "PingTimeout")
    }).pipe(Effect.provide(memory))
  )
})
