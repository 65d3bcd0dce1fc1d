/**
 * A Blazeauth client composed from layers, against an embedded reference server on 127.0.0.1: it
 * initializes, authorizes with a license, reads a variable, stores and reads back a session value, and
 * prints the panel events an operator pushes meanwhile.
 *
 * Type-checked by `npm test`, and run by test/examples.test.ts.
 */
import { Client, Expiry, Fixtures, Server } from "@protokernel/blazeauth"
import { Chunk, Console, Context, Duration, Effect, Fiber, Layer, Redacted, Stream } from "effect"

/** The reference server's data: one application with a license and a variable. */
export const fixtures = {
  applications: [
    {
      api_key: "BA0123456789ABCDEFGHI",
      name: "Demo",
      version: "1.0.0",
      licenses: [{ key: "ABCDEF-123456", levels: ["pro"], comment: "main seat", duration_seconds: 86400 }],
      variables: [{ name: "launcher_config", content: '{"featureFlag":true}', auth_required: true }]
    }
  ]
}

/** Everything the program saw, for the caller (and the example's test) to check. */
export interface Summary {
  readonly application: string
  readonly levels: ReadonlyArray<string>
  readonly variable: string
  readonly sessionValue: string
  readonly events: ReadonlyArray<number>
}

/** The client side: every step is a typed call; failures are typed errors (`ClientError`). */
export const program = Effect.gen(function* () {
  const client = yield* Client.BlazeauthClient
  const server = yield* Server.BlazeauthServer
  const application = yield* client.application
  yield* Console.log(`initialized: ${application.name} ${application.version}`)

  // Subscribe before anything is pushed: a subscriber misses no event from then on.
  const events = yield* client.subscribePanelEvents
  const received = yield* events.pipe(
    Stream.tap((event) => Console.log(`panel event ${event.eventType} ${JSON.stringify(event.content)}`)),
    Stream.take(2),
    Stream.runCollect,
    Effect.fork
  )

  const license = yield* client.authByLicense(Redacted.make("ABCDEF-123456"))
  const expiresIn = Expiry.remaining(license.expiry, Math.floor(Date.now() / 1000))
  yield* Console.log(`authorized: levels ${license.levels.join(",")}, expires in ${Duration.format(expiresIn)}`)

  const variable = yield* client.getVariable("launcher_config")
  yield* Console.log(`launcher_config = ${variable}`)

  yield* client.setSessionValue("launcher_token", "abc123", { ttl: Duration.hours(1) })
  const sessionValue = yield* client.getSessionValue("launcher_token")

  // The operator side, through the reference server's control interface.
  yield* server.pushPanelEvent("Demo", { eventType: 2, content: { version: "1.2.3" } })
  yield* server.pushPanelEvent("Demo", { eventType: 5 })
  const pushed = yield* Fiber.join(received)

  yield* client.close
  const summary: Summary = {
    application: application.name,
    levels: license.levels,
    variable,
    sessionValue,
    events: Chunk.toReadonlyArray(pushed).map((event) => event.eventType)
  }
  return summary
}).pipe(Effect.scoped)

/** A server on a free port with the fixtures above, and a client for it: the layers an app or a suite builds. */
export const layer = Layer.unwrapScoped(
  Effect.gen(function* () {
    const data = yield* Fixtures.decode(fixtures)
    const built = yield* Layer.build(Server.layerWs({ fixtures: data }))
    const server = Context.get(built, Server.BlazeauthServer)
    const client = Client.layerWs({
      url: server.url,
      apiKey: Redacted.make("BA0123456789ABCDEFGHI"),
      clientId: "desktop-main"
    })
    return Layer.merge(client, Layer.succeedContext(built))
  })
)

/** The program with its layers: server, then client; both close when it ends. */
export const main = program.pipe(Effect.provide(layer))
