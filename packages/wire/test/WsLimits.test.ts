import { WsTransport } from "@protokernel/wire"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Net from "node:net"

/** The backlog each `listen` of a `net.Server` was called with, while `effect` runs. */
const listenBacklogs = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const seen: Array<unknown> = []
      const original = Net.Server.prototype.listen
      Net.Server.prototype.listen = function (this: Net.Server, ...args: Array<unknown>) {
        // `ws` calls listen(port, host, backlog, callback).
        seen.push(args[2])
        return Reflect.apply(original, this, args)
      } as typeof original
      return { seen, original }
    }),
    ({ seen }) => Effect.as(effect, seen),
    ({ original }) =>
      Effect.sync(() => {
        Net.Server.prototype.listen = original
      })
  )

describe("WsTransport server limits", () => {
  it.scopedLive("listens with the default backlog, or the one given", () =>
    Effect.gen(function* () {
      const byDefault = yield* listenBacklogs(WsTransport.makeServer())
      const given = yield* listenBacklogs(WsTransport.makeServer({ backlog: 1234 }))
      assert.deepStrictEqual([byDefault, given], [[WsTransport.defaultBacklog], [1234]])
      assert.strictEqual(WsTransport.defaultBacklog, 4096)
    })
  )
})
