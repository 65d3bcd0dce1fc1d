import { Keepalive } from "@protokernel/wire"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect, TestClock } from "effect"

/** A keepalive whose pings are recorded (and registered by number); timeouts are recorded too. */
const harness = (options: { interval: Duration.DurationInput; timeout: Duration.DurationInput; pingTakes?: number }) =>
  Effect.gen(function* () {
    const pings: Array<number> = []
    const timeouts: Array<number> = []
    let keepalive: Keepalive.Keepalive<number> | undefined
    const ping = Effect.gen(function* () {
      pings.push(yield* Clock.currentTimeMillis)
      yield* keepalive!.sent(pings.length)
      // A slow send must not push the next ping later.
      if (options.pingTakes !== undefined) yield* Effect.sleep(options.pingTakes)
    })
    keepalive = yield* Keepalive.make<number>({
      interval: options.interval,
      timeout: options.timeout,
      ping,
      onTimeout: Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => timeouts.push(now)))
    })
    return { pings, timeouts, keepalive }
  })

describe("Keepalive", () => {
  it.scoped("pings on a grid of instants, however long a ping takes", () =>
    Effect.gen(function* () {
      const { pings, keepalive } = yield* harness({ interval: "1 second", timeout: "1 hour", pingTakes: 300 })
      yield* TestClock.adjust("3500 millis")
      assert.deepStrictEqual(pings, [1000, 2000, 3000])
      assert.deepStrictEqual(keepalive.outstanding(), [1, 2, 3])
    })
  )

  it.scoped("an interval of zero sends no ping, and a ping sent by hand is still watched", () =>
    Effect.gen(function* () {
      const { pings, timeouts, keepalive } = yield* harness({ interval: Duration.zero, timeout: "5 seconds" })
      yield* TestClock.adjust("1 second")
      yield* keepalive.sent(99)
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(pings, [])
      assert.deepStrictEqual(timeouts, [6000])
    })
  )

  it.scoped("the watchdog follows the oldest unanswered ping", () =>
    Effect.gen(function* () {
      const { timeouts, keepalive } = yield* harness({ interval: "1 second", timeout: "2500 millis" })
      yield* TestClock.adjust("2 seconds")
      // Pings 1 (at 1 s) and 2 (at 2 s) are out; answering 1 moves the watch to 2, due at 4.5 s.
      yield* keepalive.answered(1)
      yield* TestClock.adjust("2499 millis")
      assert.deepStrictEqual(timeouts, [])
      yield* keepalive.answered(3)
      yield* keepalive.answered(2)
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(timeouts, [])
      // Pings 4 (at 4 s) is now the oldest: due at 6.5 s.
      yield* TestClock.adjust("2 seconds")
      assert.deepStrictEqual(timeouts, [6500])
      // The watch ends with the first timeout.
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(timeouts, [6500])
    })
  )

  it.scoped("answering a ping that is not the oldest leaves the watch alone", () =>
    Effect.gen(function* () {
      const { timeouts, keepalive } = yield* harness({ interval: "1 second", timeout: "1500 millis" })
      yield* TestClock.adjust("2 seconds")
      yield* keepalive.answered(2)
      yield* TestClock.adjust("500 millis")
      assert.deepStrictEqual(timeouts, [2500])
    })
  )

  it.scoped("paused time is not a timeout: pings in flight get their whole timeout from the resume", () =>
    Effect.gen(function* () {
      const { pings, timeouts, keepalive } = yield* harness({ interval: "1 second", timeout: "2 seconds" })
      yield* TestClock.adjust("1500 millis")
      yield* keepalive.pause
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(timeouts, [])
      // Pings go on while paused.
      assert.strictEqual(pings.length, 61)
      yield* keepalive.resume
      yield* TestClock.adjust("1999 millis")
      assert.deepStrictEqual(timeouts, [])
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(timeouts, [63500])
    })
  )

  it.scoped("the keepalive's fibers end with its scope", () =>
    Effect.gen(function* () {
      const { pings, timeouts } = yield* Effect.scoped(
        Effect.tap(harness({ interval: "1 second", timeout: "1500 millis" }), () => TestClock.adjust("1 second"))
      )
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(pings, [1000])
      assert.deepStrictEqual(timeouts, [])
    })
  )
})
