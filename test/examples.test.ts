import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as BlazeauthClientExample from "../examples/blazeauth-client.js"
import * as RwwsClientExample from "../examples/rwws-client.js"

describe("examples", () => {
  it.live("rwws-client: a client layer over an embedded server takes three Pongs", () =>
    Effect.gen(function* () {
      const pongs = yield* RwwsClientExample.main
      assert.strictEqual(pongs, 3)
    })
  )

  it.live("blazeauth-client: initializes, authorizes, reads a variable and a session value, gets panel events", () =>
    Effect.gen(function* () {
      const summary = yield* BlazeauthClientExample.main
      assert.deepStrictEqual(summary, {
        application: "Demo",
        levels: ["pro"],
        variable: '{"featureFlag":true}',
        sessionValue: "abc123",
        events: [2, 5]
      })
    })
  )
})
