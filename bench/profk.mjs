import { Client, Fixtures, Server } from "@protokernel/blazeauth"
import * as Transport from "@protokernel/wire/Transport"
import { Context, Effect, Layer, Redacted } from "effect"
const fx = {
  applications: [
    { api_key: "BA0123456789ABCDEFGHI", name: "Bench", variables: [{ name: "launcher_config", content: "{}" }] }
  ]
}
await Effect.runPromise(
  Effect.gen(function* () {
    const data = yield* Fixtures.decode(fx)
    const built = yield* Layer.build(Server.layerWs({ fixtures: data, rateLimit: 0 }))
    const server = Context.get(built, Server.BlazeauthServer)
    const client = yield* Client.make({
      url: server.url,
      apiKey: Redacted.make("BA0123456789ABCDEFGHI"),
      clientId: "abcd",
      pingIntervalMillis: 0
    }).pipe(Effect.provide(Transport.layerWsConnector))
    for (const round of [1, 2, 3, 4]) {
      const N = 20000
      const t = performance.now()
      yield* Effect.forEach(Array.from({ length: N }), () => client.getVariable("launcher_config"), {
        concurrency: 100,
        discard: true
      })
      console.log("kernel", (N / ((performance.now() - t) / 1000)).toFixed(0), "/s")
    }
  }).pipe(Effect.scoped)
)
