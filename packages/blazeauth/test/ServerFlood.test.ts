/**
 * A client that floods `ping` requests and never reads the responses, over real `ws` (rate limit off,
 * as an operator may set it): the server stops reading from it once it holds a full bound of responses
 * for it, instead of queueing them without limit; another client is served meanwhile; and once the
 * flooder reads again it gets every response, in order.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Fixtures from "@protokernel/blazeauth/Fixtures"
import * as Server from "@protokernel/blazeauth/Server"
import { Transport, WsTransport } from "@protokernel/wire"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { flooder, recordingServer } from "../../../test/kit/flooder.js"
import { demoInitOk, fixtures, initialized, initText, msg } from "./support/server.js"

/** The default bound of unsent messages per connection. */
const bound = 1024

/** The server over `ws` without a rate limit, recording the server side of each connection it accepts. */
const server = (accepted: Array<Transport.Transport>) =>
  Layer.unwrapEffect(
    Effect.map(Fixtures.decode(fixtures()), (decoded) => Server.layer({ fixtures: decoded, rateLimit: 0 }))
  ).pipe(
    Layer.provideMerge(recordingServer(accepted, { path: "/", maxMessageBytes: Server.defaults.maxMessageBytes })),
    Layer.provideMerge(WsTransport.layerConnector),
    Layer.provide(NodeFileSystem.layer),
    Layer.orDie
  )

describe("a client flooding ping requests without reading", () => {
  it.scopedLive(
    "is no longer read from past the send bound; others are served; every response arrives once it reads",
    () => {
      const accepted: Array<Transport.Transport> = []
      return Effect.gen(function* () {
        const { url } = yield* Server.BlazeauthServer
        const flood = yield* flooder(url)
        yield* flood.send(initText(1))
        assert.strictEqual((yield* flood.next).toString("utf8"), demoInitOk(1))
        const [serverSide] = accepted
        assert.isDefined(serverSide)

        yield* flood.stopReading
        // The server never holds more responses for the flooder than the bound (the last send waits).
        const held = Effect.map(serverSide!.unsent, (unsent) => {
          assert.isAtMost(unsent.messages, bound + 1, `responses the server holds for the flooder: ${unsent.messages}`)
          return unsent.messages
        })
        // Small requests until the server holds a full bound of responses (the kernel's buffers toward the
        // flooder are full then), then large ones until the flooder cannot write any more: the server
        // stopped reading.
        const dense = yield* flood.flood(
          (n) => msg(0, { id: 2 + n }),
          Effect.map(held, (messages) => messages >= bound)
        )
        const pad = "x".repeat(4096)
        const sparse = yield* flood.flood(
          (n) => msg(0, { id: 2 + dense + n, pad }),
          Effect.zipRight(held, flood.stalled(1024 * 1024))
        )
        yield* held

        // Another client is served while the flooder does not read.
        const other = yield* initialized()
        assert.strictEqual(yield* other.call(msg(0, { id: 7 })), msg(0, { id: 7 }))
        yield* held

        yield* flood.resumeReading
        const responses = yield* flood.take(dense + sparse)
        responses.forEach((response, n) => assert.strictEqual(response.toString("utf8"), msg(0, { id: 2 + n })))
      }).pipe(Effect.provide(server(accepted)))
    }
  )
})
