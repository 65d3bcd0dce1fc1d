import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as RwwsClientExample from "../examples/rwws-client.js"

describe("examples", () => {
  it.live("rwws-client: a client layer over an embedded server takes three Pongs", () =>
    Effect.gen(function* () {
      const pongs = yield* RwwsClientExample.main
      assert.strictEqual(pongs, 3)
    })
  )
})
