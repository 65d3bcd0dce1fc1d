/**
 * A client that floods Pings and never reads its Pongs, over real `ws`: the server stops reading from
 * it once its unsent Pongs reach the send bound, instead of queueing them without limit; another
 * client is served meanwhile; and once the flooder reads again it gets every Pong, in order.
 */
import { KeyStore, Server } from "@protokernel/rwws"
import { Transport, WsTransport } from "@protokernel/wire"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { frameToHex } from "../../../test/kit/bytes.js"
import { flooder, recordingServer } from "../../../test/kit/flooder.js"
import { key32, key32Bytes, rawAuthenticated } from "./support/peers.js"

/** The default bound of unsent messages per connection. */
const bound = 1024

/** The rwws server over `ws`, recording the server side of each connection it accepts. */
const server = (accepted: Array<Transport.Transport>) =>
  Server.layer().pipe(
    Layer.provideMerge(recordingServer(accepted, { path: "/api/ws", maxMessageBytes: Server.maxMessageBytes })),
    Layer.provideMerge(KeyStore.layerMemory([key32]).pipe(Layer.orDie)),
    Layer.provideMerge(WsTransport.layerConnector),
    Layer.orDie
  )

const authMessage = Uint8Array.from([0xb6, 0xc4, 0x00, key32Bytes.length, ...key32Bytes])

describe("a client flooding Pings without reading", () => {
  it.scopedLive(
    "is no longer read from past the send bound; others are served; every Pong arrives once it reads",
    () => {
      const accepted: Array<Transport.Transport> = []
      return Effect.gen(function* () {
        const server = yield* Server.RwwsServer
        const flood = yield* flooder(server.url)
        assert.strictEqual(frameToHex(yield* flood.next), "6d73")
        yield* flood.send(authMessage)
        assert.isTrue(frameToHex(yield* flood.next).startsWith("00"))
        const [serverSide] = accepted
        assert.isDefined(serverSide)

        yield* flood.stopReading
        // The server never holds more Pongs for the flooder than the bound (the last send waits).
        const held = Effect.map(serverSide!.unsent, (unsent) => {
          assert.isAtMost(unsent.messages, bound + 1, `Pongs the server holds for the flooder: ${unsent.messages}`)
          return unsent.messages
        })
        // Each Ping gets a Pong of its own, tiny messages, the case a bound in bytes misses: flood them until
        // the server holds a full bound of them (the kernel's buffers toward the flooder are full then).
        const dense16 = new Uint8Array(16)
        const dense = yield* flood.flood(
          () => dense16,
          Effect.map(held, (messages) => messages >= bound)
        )
        // Then one Ping per large message, until the flooder cannot write any more: the server stopped reading.
        // A Ping, empty Settings (01 ff, no reply) as padding, a Ping.
        const sparse = new Uint8Array(4 * 1024)
        for (let i = 1; i + 1 < sparse.length; i += 2) sparse.set([0x01, 0xff], i)
        const sparseMessages = yield* flood.flood(() => sparse, Effect.zipRight(held, flood.stalled(1024 * 1024)))
        const pings = 16 * dense + 2 * sparseMessages
        yield* held

        // Another client is served while the flooder does not read.
        const other = yield* rawAuthenticated(server.url)
        yield* other.send(Uint8Array.of(0x00))
        assert.isTrue(frameToHex(yield* other.next).startsWith("00"))
        yield* held

        yield* flood.resumeReading
        const pongs = yield* flood.take(pings)
        let last = 0n
        for (const pong of pongs) {
          assert.strictEqual(pong.length, 9)
          assert.strictEqual(pong[0], 0x00)
          const time = pong.readBigInt64BE(1)
          assert.isTrue(time >= last, "Pongs in order")
          last = time
        }
        assert.strictEqual(pongs.length, pings)
      }).pipe(Effect.provide(server(accepted)))
    }
  )
})
