/**
 * An rwws client composed from layers: an embedded reference server on 127.0.0.1 with a freshly
 * issued key, and a client that authenticates, pings and prints what the server's clock said.
 *
 * Type-checked by `npm test`, and run by test/examples.test.ts.
 */
import { Client, KeyStore, Server } from "@protokernel/rwws"
import { Console, Context, Duration, Effect, Layer, Option, Stream } from "effect"

/** Authenticates, takes three Pongs, then closes with 1000. */
export const program = Effect.gen(function* () {
  const client = yield* Client.RwwsClient
  yield* client.awaitAuthenticated
  const times = yield* client.pongs.pipe(
    Stream.filter((pong) => pong.source === "ping"),
    Stream.take(3),
    Stream.tap((pong) =>
      Console.log(
        `server time ${new Date(Number(pong.serverTime)).toISOString()}, rtt ${Option.match(pong.roundTrip, {
          onNone: () => "?",
          onSome: Duration.format
        })}`
      )
    ),
    Stream.runCollect
  )
  yield* client.close
  return times.length
})

/** A server with a generated key, and a client for it: the layers a test suite or an app would build. */
export const layer = Layer.unwrapScoped(
  Effect.gen(function* () {
    const store = yield* KeyStore.makeMemory()
    const key = yield* store.issue
    const built = yield* Layer.build(Server.layerWs().pipe(Layer.provide(Layer.succeed(KeyStore.KeyStore, store))))
    const server = Context.get(built, Server.RwwsServer)
    return Client.layerWs({ url: server.url, accessKey: key, pingInterval: "100 millis" })
  })
)

/** The program with its layers: server, then client; both close when it ends. */
export const main = program.pipe(Effect.provide(layer))
