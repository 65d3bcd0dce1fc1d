import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as BlazeauthClientExample from "../examples/blazeauth-client.js"
import * as BlazeauthDownloadExample from "../examples/blazeauth-download.js"
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

  it.live("blazeauth-download: downloadToFile saves the verified file, with progress", () =>
    Effect.gen(function* () {
      const summary = yield* BlazeauthDownloadExample.main
      assert.strictEqual(summary.size, 1024 * 1024)
      assert.isTrue(summary.checksumMatches)
      assert.isTrue(summary.identical)
      assert.strictEqual(summary.printed.at(-1), 100)
      assert.isAtMost(summary.printed.length, 4)
      assert.deepStrictEqual(
        summary.printed,
        [...summary.printed].sort((a, b) => a - b)
      )
    })
  )
})
