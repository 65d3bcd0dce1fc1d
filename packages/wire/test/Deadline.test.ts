import { Deadline } from "@protokernel/wire"
import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"

/** A sweeper recording which key expired when (virtual ms). */
const recording = Effect.gen(function* () {
  const fired: Array<[string, number]> = []
  const sweeper = yield* Deadline.makeSweeper((key: string) =>
    Effect.map(
      Effect.clockWith((clock) => clock.currentTimeMillis),
      (now) => {
        fired.push([key, now])
      }
    )
  )
  return { fired, sweeper }
})

describe("Deadline", () => {
  it.effect("sleepUntil wakes at the instant, or at once if it has passed", () =>
    Effect.gen(function* () {
      yield* TestClock.adjust("5 seconds")
      yield* Deadline.sleepUntil(1000)
      const fiber = yield* Effect.fork(Deadline.sleepUntil(Deadline.after(5000, "2 seconds")))
      yield* TestClock.adjust("1999 millis")
      assert.isNull(fiber.unsafePoll())
      yield* TestClock.adjust("1 millis")
      assert.isNotNull(yield* Effect.yieldNow().pipe(Effect.as(fiber.unsafePoll())))
    })
  )

  it.scoped("the sweeper expires each key at its deadline, in order, once", () =>
    Effect.gen(function* () {
      const { fired, sweeper } = yield* recording
      yield* sweeper.add("c", 3000)
      yield* sweeper.add("a", 1000)
      yield* sweeper.add("b", 2000)
      yield* sweeper.add("b2", 2000)
      yield* TestClock.adjust("999 millis")
      assert.deepStrictEqual(fired, [])
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(fired, [["a", 1000]])
      yield* TestClock.adjust("5 seconds")
      assert.deepStrictEqual(fired, [
        ["a", 1000],
        ["b", 2000],
        ["b2", 2000],
        ["c", 3000]
      ])
      assert.strictEqual(sweeper.size(), 0)
    })
  )

  it.scoped("a removed key never expires; a re-added key keeps only its new deadline", () =>
    Effect.gen(function* () {
      const { fired, sweeper } = yield* recording
      sweeper.unsafeAdd("gone", 1000)
      sweeper.unsafeAdd("moved", 1000)
      sweeper.unsafeRemove("gone")
      sweeper.unsafeAdd("moved", 4000)
      yield* TestClock.adjust("10 seconds")
      assert.deepStrictEqual(fired, [["moved", 4000]])
    })
  )

  it.scoped("an earlier deadline wakes the sleeping sweeper", () =>
    Effect.gen(function* () {
      const { fired, sweeper } = yield* recording
      yield* sweeper.add("late", 60_000)
      yield* TestClock.adjust("1 second")
      yield* sweeper.add("early", 1500)
      yield* TestClock.adjust("500 millis")
      assert.deepStrictEqual(fired, [["early", 1500]])
    })
  )

  it.scoped("a key added by an expiry handler is watched too", () =>
    Effect.gen(function* () {
      const fired: Array<[string, number]> = []
      const sweeper: Deadline.Sweeper<string> = yield* Deadline.makeSweeper((key: string) =>
        Effect.gen(function* () {
          const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
          fired.push([key, now])
          if (key === "first") yield* sweeper.add("second", now + 1000)
        })
      )
      yield* sweeper.add("first", 1000)
      yield* TestClock.adjust("3 seconds")
      assert.deepStrictEqual(fired, [
        ["first", 1000],
        ["second", 2000]
      ])
    })
  )

  it.scoped("paused time does not count: deadlines move on by the pause, idle ones start over", () =>
    Effect.gen(function* () {
      const { fired, sweeper } = yield* recording
      yield* sweeper.add("request", 3000)
      yield* sweeper.add("idle", 2000, { idle: "2 seconds" })
      yield* TestClock.adjust("1 second")
      yield* sweeper.pause
      yield* TestClock.adjust("10 seconds")
      assert.deepStrictEqual(fired, [])
      yield* sweeper.resume
      // Resumed at 11 s: the request had 2 s left, the idle one gets its whole 2 s again.
      yield* TestClock.adjust("1999 millis")
      assert.deepStrictEqual(fired, [])
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(fired, [
        ["request", 13000],
        ["idle", 13000]
      ])
    })
  )
})
