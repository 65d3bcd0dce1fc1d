import { SessionError } from "@protokernel/wire"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"

describe("SessionError", () => {
  it("ConnectionClosed says who closed, the code and the reason", () => {
    const closed = (code: number, reason: string, initiator: "local" | "remote") =>
      new SessionError.ConnectionClosed({ code, reason, initiator }).message
    assert.strictEqual(closed(3001, "unauthorized", "remote"), "closed 3001 'unauthorized'")
    assert.strictEqual(closed(1000, "", "remote"), "closed 1000")
    assert.strictEqual(closed(1006, "", "remote"), "connection lost 1006")
    assert.strictEqual(closed(1000, "", "local"), "closed by the client 1000")
    assert.strictEqual(closed(1000, "pong timeout", "local"), "closed by the client 1000 'pong timeout'")
  })

  it("ClientClosed and InvalidOptions have readable messages", () => {
    assert.strictEqual(new SessionError.ClientClosed().message, "the client is closed")
    assert.strictEqual(
      new SessionError.InvalidOptions({ option: "reconnect.jitter", detail: "must be in [0, 1)" }).message,
      "invalid option reconnect.jitter: must be in [0, 1)"
    )
  })

  it.effect("the errors are tagged, so that catchTag tells them apart", () =>
    Effect.gen(function* () {
      const tag = yield* Effect.fail(new SessionError.ClientClosed()).pipe(
        Effect.catchTag("ClientClosed", (error) => Effect.succeed(error._tag))
      )
      assert.strictEqual(tag, "ClientClosed")
    })
  )

  it("ConnectionClosed round-trips through its schema", () => {
    const error = new SessionError.ConnectionClosed({ code: 4201, reason: "rate limit", initiator: "remote" })
    const encoded = Schema.encodeSync(SessionError.ConnectionClosed)(error)
    assert.deepStrictEqual(encoded, { _tag: "ConnectionClosed", code: 4201, reason: "rate limit", initiator: "remote" })
    assert.deepStrictEqual(Schema.decodeUnknownSync(SessionError.ConnectionClosed)(encoded), error)
  })
})
