/**
 * Using the rwws reference server as a mock in your own vitest suite: one layer gives a real server
 * on 127.0.0.1 with known keys, and your code under test connects to `server.url`.
 */
import { Client, ClientError, KeyStore, Server } from "@protokernel/rwws"
import { WsTransport } from "@protokernel/wire"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"

const accessKey = Redacted.make("AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=")

const mockServer = Layer.mergeAll(Server.layerWs(), WsTransport.layerConnector).pipe(
  Layer.provideMerge(KeyStore.layerMemory([accessKey])),
  Layer.orDie
)

layer(mockServer)("code under test against the rwws reference server", (it) => {
  it.scoped("authenticates and gets a Pong", () =>
    Effect.gen(function* () {
      const server = yield* Server.RwwsServer
      const client = yield* Client.make({ url: server.url, accessKey })
      const pong = yield* client.ping
      assert.strictEqual(pong.source, "ping")
    })
  )

  it.scoped("sees revocation as a fatal 3004", () =>
    Effect.gen(function* () {
      const server = yield* Server.RwwsServer
      const store = yield* KeyStore.KeyStore
      const key = yield* store.issue
      const client = yield* Client.make({ url: server.url, accessKey: key })
      yield* client.awaitAuthenticated
      yield* server.revoke(key)
      const error = yield* Effect.flip(client.awaitEnd)
      assert.deepStrictEqual(
        error,
        new ClientError.ConnectionClosed({ code: 3004, reason: "access key revoked", initiator: "remote" })
      )
    })
  )
})
