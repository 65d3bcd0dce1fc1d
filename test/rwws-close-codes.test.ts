/**
 * End to end over real `ws` on 127.0.0.1: how each close code of docs/rwws.md §5 comes about, seen by the
 * real client where a client can cause it, and by a raw socket for the codes only a broken client gets.
 */
import { Client, ClientError, KeyStore, Server } from "@protokernel/rwws"
import { WsTransport } from "@protokernel/wire"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Layer, Stream } from "effect"
import { rawWs } from "./kit/rawPeer.js"
import { key32, rawAuthenticated, wsServer } from "../packages/rwws/test/support/peers.js"

const failingStore = (failure: Effect.Effect<never, KeyStore.KeyStoreError>) =>
  Layer.effect(
    KeyStore.KeyStore,
    Effect.map(KeyStore.makeMemory([key32]), (store) => ({ ...store, verify: () => failure }))
  ).pipe(Layer.orDie)

const firstRetry = (client: Client.RwwsClient["Type"]) =>
  client.states.pipe(
    Stream.filter((state) => state._tag === "Waiting" || state._tag === "Failed"),
    Stream.runHead,
    Effect.flatMap(Effect.orDie)
  )

describe("rwws close codes end to end", () => {
  it.scopedLive("3005: a key store failure is the server's fault, and the client retries", () =>
    Effect.gen(function* () {
      const server = yield* Server.RwwsServer
      const client = yield* Client.make({ url: server.url, accessKey: key32, reconnect: { initialDelay: "1 second" } })
      const state = yield* firstRetry(client)
      assert.strictEqual(state._tag, "Waiting")
      if (state._tag === "Waiting") {
        assert.deepStrictEqual(
          state.error,
          new ClientError.ConnectionClosed({ code: 3005, reason: "server error", initiator: "remote" })
        )
      }
    }).pipe(Effect.provide(wsServer([], {}, failingStore(Effect.fail(new KeyStore.KeyStoreError({ detail: "down" }))))))
  )

  it.scopedLive("3005 also for a store that dies instead of failing", () =>
    Effect.gen(function* () {
      const server = yield* Server.RwwsServer
      const client = yield* Client.make({ url: server.url, accessKey: key32, reconnect: false })
      const error = yield* Effect.flip(client.awaitEnd)
      assert.deepStrictEqual(
        error,
        new ClientError.ConnectionClosed({ code: 3005, reason: "server error", initiator: "remote" })
      )
    }).pipe(Effect.provide(wsServer([], {}, failingStore(Effect.dieMessage("bug in the store")))))
  )

  it.scopedLive("1001: a server shutting down is retried", () =>
    Effect.gen(function* () {
      const stop = yield* Deferred.make<void>()
      const url = yield* Deferred.make<string>()
      yield* Effect.gen(function* () {
        const server = yield* Server.RwwsServer
        yield* Deferred.succeed(url, server.url)
        yield* Deferred.await(stop)
      }).pipe(Effect.provide(wsServer()), Effect.scoped, Effect.forkScoped)
      const client = yield* Client.make({ url: yield* Deferred.await(url), accessKey: key32 }).pipe(
        Effect.provide(WsTransport.layerConnector)
      )
      yield* client.awaitAuthenticated
      yield* Deferred.succeed(stop, undefined)
      const state = yield* firstRetry(client)
      assert.isTrue(state._tag === "Waiting" && state.error._tag === "ConnectionClosed" && state.error.code === 1001)
    })
  )

  it.scopedLive("1007: invalid UTF-8 in a text message is closed by the WebSocket library", () =>
    Effect.gen(function* () {
      const server = yield* Server.RwwsServer
      const client = yield* rawAuthenticated(server.url)
      // Our Transport only sends well-formed text, so a bare `ws` socket sends the broken bytes.
      const socket = yield* rawWs(server.url)
      assert.strictEqual((yield* socket.next).length, 2, "the hello")
      yield* socket.send(Buffer.from([0xb6, 0xc4, 0x00, 0x20, ...Array.from({ length: 32 }, (_, i) => i + 1)]), {
        binary: true
      })
      yield* socket.next
      yield* socket.send(Buffer.from([0xc3, 0x28]), { binary: false })
      assert.strictEqual(yield* socket.closeCode, 1007)
      yield* client.send(new Uint8Array([0]))
      assert.strictEqual((yield* client.next) instanceof Uint8Array, true, "other sessions go on")
    }).pipe(Effect.provide(wsServer()))
  )

  it.scopedLive("3001 and 3004 are fatal for the real client; a fixed key works again after a new issue", () =>
    Effect.gen(function* () {
      const server = yield* Server.RwwsServer
      const store = yield* KeyStore.KeyStore
      const key = yield* store.issue
      const client = yield* Client.make({ url: server.url, accessKey: key })
      yield* client.awaitAuthenticated
      yield* server.revoke(key)
      assert.strictEqual((yield* Effect.flip(client.awaitEnd))._tag, "ConnectionClosed")
      const again = yield* Client.make({ url: server.url, accessKey: key })
      const error = yield* Effect.flip(again.awaitEnd)
      assert.deepStrictEqual(
        error,
        new ClientError.ConnectionClosed({
          code: 3001,
          reason: "unauthorized: invalid access key",
          initiator: "remote"
        })
      )
      const fresh = yield* Client.make({ url: server.url, accessKey: yield* store.issue })
      yield* fresh.ping
    }).pipe(Effect.provide(wsServer()))
  )
})
