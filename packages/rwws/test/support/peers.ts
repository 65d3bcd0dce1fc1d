import { KeyStore, Server } from "@protokernel/rwws"
import { Transport, MemoryTransport, WsTransport } from "@protokernel/wire"
import { Effect, Layer, Redacted } from "effect"
import { frameToHex, toHex } from "../../../../test/kit/bytes.js"
import * as Kit from "../../../../test/kit/rawPeer.js"

/** docs/rwws.md §8 vector 2: bytes 0x01..0x20. */
export const key32 = Redacted.make("AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=")
export const key32Bytes = Uint8Array.from({ length: 32 }, (_, i) => i + 1)
/** docs/rwws.md §8 vector 2 as hex: the auth message for `key32`. */
export const auth32Hex = "b6c40020" + toHex(key32Bytes)
/** docs/rwws.md §8 vector 6: the single byte 0x2a. */
export const key1 = Redacted.make("Kg==")
export const otherKey = Redacted.make("b3RoZXIta2V5LTAwMDAwMDAwMDAwMDAwMDAwMDAwMDA=")

/** A client that speaks raw frames, for feeding the server exactly the bytes a test needs. */
export interface RawClient {
  readonly transport: Transport.Transport
  /** The next frame; fails with the close once every earlier frame was taken. */
  readonly next: Effect.Effect<Transport.Frame, Transport.CloseError>
  readonly send: (frame: Transport.Frame) => Effect.Effect<void, Transport.CloseError>
  /** Every frame until the close, and the close. */
  readonly rest: Effect.Effect<{ readonly frames: Array<string>; readonly close: Transport.CloseError }>
}

export const rawConnect = (url: string) =>
  Effect.map(Kit.rawConnect(url), (peer): RawClient => ({
    transport: peer.transport,
    next: peer.next,
    send: peer.transport.send,
    rest: Effect.map(peer.rest, ({ frames, close }) => ({ frames: frames.map(frameToHex), close }))
  }))

/** Connects, checks the hello, authenticates and returns the client after the auth Pong. */
export const rawAuthenticated = (url: string, key: Uint8Array = key32Bytes) =>
  Effect.gen(function* () {
    const client = yield* rawConnect(url)
    const hello = yield* client.next
    if (frameToHex(hello) !== "6d73") return yield* Effect.dieMessage(`unexpected hello ${frameToHex(hello)}`)
    const auth = new Uint8Array(4 + key.length)
    auth.set([0xb6, 0xc4, 0x00, key.length])
    auth.set(key, 4)
    yield* client.send(auth)
    const pong = yield* client.next
    if (frameToHex(pong).length !== 18 || !frameToHex(pong).startsWith("00")) {
      return yield* Effect.dieMessage(`expected the auth pong, got ${frameToHex(pong)}`)
    }
    return client
  })

/** A real `ws` server at 127.0.0.1:<free port>/api/ws with a memory key store; also gives the store and a connector. */
export const wsServer = (
  keys: ReadonlyArray<Redacted.Redacted<string>> = [key32, key1],
  options: Server.Options = {},
  store: Layer.Layer<KeyStore.KeyStore> = KeyStore.layerMemory(keys).pipe(Layer.orDie)
) => Layer.mergeAll(Server.layerWs(options), WsTransport.layerConnector).pipe(Layer.provideMerge(store), Layer.orDie)

/** The same server on the in-memory network, for virtual-time tests. */
export const memoryServer = (
  keys: ReadonlyArray<Redacted.Redacted<string>> = [key32, key1],
  options: Server.Options = {},
  store: Layer.Layer<KeyStore.KeyStore> = KeyStore.layerMemory(keys).pipe(Layer.orDie)
) =>
  Server.layer(options).pipe(
    Layer.provideMerge(MemoryTransport.layer({ maxMessageBytes: Server.maxMessageBytes })),
    Layer.provideMerge(store)
  )
