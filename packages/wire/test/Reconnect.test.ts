import { Reconnect, SessionError } from "@protokernel/wire"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Either, Fiber, Option, Queue, Random, Schedule, TestClock } from "effect"

class Lost extends Error {
  constructor(
    readonly retryable: boolean,
    readonly minimum?: Duration.DurationInput
  ) {
    super(retryable ? "lost" : "fatal")
  }
}

/** What the fake connection does on one attempt: fail at once, or establish a session and end when told. */
type Step = { readonly fail: Lost } | { readonly session: string; readonly end: Deferred.Deferred<never, Lost> }

const defaults = { initialDelay: "1 second", maxDelay: "8 seconds" } as const

/** Starts a loop over scripted attempts (the last step repeats); returns its states as a queue. */
const harness = (
  steps: ReadonlyArray<Step>,
  option: boolean | Reconnect.Options = { jitter: 0 },
  extra: Partial<Reconnect.LoopOptions<string, Lost, never>> = {}
) =>
  Effect.gen(function* () {
    const policy = yield* Reconnect.policy(option, defaults)
    const states = yield* Queue.unbounded<Reconnect.LoopState<Lost>>()
    const slot = yield* Reconnect.makeSlot<string, Lost | SessionError.ClientClosed>()
    const finalized: Array<number> = []
    let calls = 0
    const running = yield* Reconnect.start<string, Lost, never>({
      policy,
      slot,
      connect: (attempt, established) =>
        Effect.gen(function* () {
          const step = steps[Math.min(calls++, steps.length - 1)]!
          yield* Effect.addFinalizer(() => Effect.sync(() => finalized.push(attempt)))
          if ("fail" in step) return yield* Effect.fail(step.fail)
          yield* established(step.session)
          return yield* Deferred.await(step.end)
        }),
      isRetryable: (error) => error.retryable,
      minimumDelay: (error) => error.minimum,
      publish: (state) => Queue.offer(states, state),
      ...extra
    })
    return { states, slot, running, finalized }
  })

const next = <A>(queue: Queue.Queue<A>) => Queue.take(queue)

/** The delays of the next `n` Waiting states, letting each run out. */
const delays = (states: Queue.Queue<Reconnect.LoopState<Lost>>, n: number) =>
  Effect.gen(function* () {
    const seen: Array<[number, number]> = []
    while (seen.length < n) {
      const state = yield* next(states)
      if (state._tag === "Waiting") {
        seen.push([state.attempt, Duration.toMillis(state.delay)])
        yield* TestClock.adjust(state.delay)
      }
    }
    return seen
  })

describe("Reconnect.policy", () => {
  it("checks the option and applies the defaults", () => {
    const invalid = (option: Reconnect.Options) =>
      Either.match(Reconnect.policy(option, defaults), { onLeft: (e) => e.option, onRight: () => "ok" })
    assert.strictEqual(invalid({ jitter: 1 }), "reconnect.jitter")
    assert.strictEqual(invalid({ jitter: -0.1 }), "reconnect.jitter")
    assert.strictEqual(invalid({ initialDelay: 0 }), "reconnect.initialDelay")
    assert.strictEqual(invalid({ maxDelay: "1 millis" }), "reconnect.maxDelay")
    assert.strictEqual(invalid({ maxDelay: Duration.infinity }), "reconnect.maxDelay")
    assert.strictEqual(invalid({ maxAttempts: 0 }), "reconnect.maxAttempts")
    assert.strictEqual(invalid({ maxAttempts: 1.5 }), "reconnect.maxAttempts")
    assert.strictEqual(invalid({ maxAttempts: 3, jitter: 0.5 }), "ok")
    const error = Either.flip(Reconnect.policy({ jitter: 2 }, defaults)).pipe(Either.getOrThrow)
    assert.instanceOf(error, SessionError.InvalidOptions)
    assert.isTrue(Either.getOrThrow(Reconnect.policy(undefined, defaults)).enabled)
    assert.isTrue(Either.getOrThrow(Reconnect.policy(true, defaults)).enabled)
    assert.isFalse(Either.getOrThrow(Reconnect.policy(false, defaults)).enabled)
  })
})

describe("Reconnect.start", () => {
  it.scoped("doubles the delay from initialDelay up to maxDelay; attempts count from 1", () =>
    Effect.gen(function* () {
      const { states } = yield* harness([{ fail: new Lost(true) }])
      assert.deepStrictEqual(yield* next(states), { _tag: "Connecting", attempt: 1 })
      assert.deepStrictEqual(yield* delays(states, 6), [
        [2, 1000],
        [3, 2000],
        [4, 4000],
        [5, 8000],
        [6, 8000],
        [7, 8000]
      ])
    })
  )

  it.scoped("sleeps exactly the delay it announces", () =>
    Effect.gen(function* () {
      const { states } = yield* harness([{ fail: new Lost(true) }])
      yield* next(states)
      const waiting = yield* next(states)
      assert.strictEqual(waiting._tag, "Waiting")
      yield* TestClock.adjust("999 millis")
      assert.isTrue(Option.isNone(yield* Queue.poll(states)))
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(yield* next(states), { _tag: "Connecting", attempt: 2 })
    })
  )

  it.scoped("jitters each delay within ±jitter of the nominal one", () =>
    Effect.gen(function* () {
      const { states } = yield* harness([{ fail: new Lost(true) }], { jitter: 0.2 })
      const seen = yield* delays(states, 40)
      const nominal = (attempt: number) => Math.min(8000, 1000 * 2 ** (attempt - 2))
      for (const [attempt, delay] of seen) {
        assert.isAtLeast(delay, nominal(attempt) * 0.8)
        assert.isAtMost(delay, nominal(attempt) * 1.2)
      }
      // Jitter moves the delays: the capped ones are not all equal.
      assert.isAbove(new Set(seen.slice(4).map(([, delay]) => delay)).size, 1)
    }).pipe(Effect.withRandom(Random.make("reconnect")))
  )

  it.scoped("waits at least the error's minimum delay", () =>
    Effect.gen(function* () {
      const { states } = yield* harness([{ fail: new Lost(true, "60 seconds") }])
      assert.deepStrictEqual(yield* delays(states, 2), [
        [2, 60000],
        [3, 60000]
      ])
    })
  )

  it.scoped("a session resets the attempts and the delay", () =>
    Effect.gen(function* () {
      const end = yield* Deferred.make<never, Lost>()
      const { states, slot } = yield* harness([
        { fail: new Lost(true) },
        { fail: new Lost(true) },
        { session: "s1", end },
        { fail: new Lost(true) }
      ])
      assert.deepStrictEqual(yield* delays(states, 2), [
        [2, 1000],
        [3, 2000]
      ])
      yield* next(states)
      assert.strictEqual(yield* slot.await, "s1")
      yield* Deferred.fail(end, new Lost(true))
      assert.deepStrictEqual(yield* delays(states, 2), [
        [1, 1000],
        [2, 2000]
      ])
      assert.strictEqual(slot.current(), undefined)
    })
  )

  it.scoped("gives up after maxAttempts attempts in a row without a session", () =>
    Effect.gen(function* () {
      const { states, running, finalized } = yield* harness([{ fail: new Lost(true) }], { jitter: 0, maxAttempts: 3 })
      assert.deepStrictEqual(yield* delays(states, 2), [
        [2, 1000],
        [3, 2000]
      ])
      yield* next(states)
      const last = yield* next(states)
      assert.strictEqual(last._tag, "Failed")
      assert.strictEqual((yield* Effect.flip(running.await)).message, "lost")
      assert.deepStrictEqual(finalized, [1, 2, 3])
    })
  )

  it.scoped("a user schedule replaces the policy; the client fails when it is done", () =>
    Effect.gen(function* () {
      const schedule = Schedule.spaced("5 seconds").pipe(Schedule.intersect(Schedule.recurs(2)))
      const { states } = yield* harness([{ fail: new Lost(true) }], { schedule, initialDelay: "1 second" })
      assert.deepStrictEqual(yield* delays(states, 2), [
        [2, 5000],
        [3, 5000]
      ])
      yield* next(states)
      assert.strictEqual((yield* next(states))._tag, "Failed")
    })
  )

  it.scoped("an error that is not retryable, or reconnect: false, fails at once", () =>
    Effect.gen(function* () {
      const fatal = yield* harness([{ fail: new Lost(false) }])
      yield* next(fatal.states)
      assert.deepStrictEqual(yield* next(fatal.states), { _tag: "Failed", error: new Lost(false) })
      const off = yield* harness([{ fail: new Lost(true) }], false)
      yield* next(off.states)
      assert.strictEqual((yield* next(off.states))._tag, "Failed")
      assert.strictEqual((yield* Effect.flip(off.slot.await)).message, "lost")
    })
  )

  it.scoped("retryBeforeFirstSession: false ends the client if the first connection fails", () =>
    Effect.gen(function* () {
      const { states } = yield* harness([{ fail: new Lost(true) }], true, { retryBeforeFirstSession: false })
      yield* next(states)
      assert.strictEqual((yield* next(states))._tag, "Failed")
    })
  )

  it.scoped("close ends the connection, publishes Closed and fails waiting calls with ClientClosed", () =>
    Effect.gen(function* () {
      const end = yield* Deferred.make<never, Lost>()
      const { states, slot, running, finalized } = yield* harness([{ session: "s1", end }])
      yield* next(states)
      assert.strictEqual(yield* slot.await, "s1")
      yield* running.close
      assert.deepStrictEqual(finalized, [1])
      assert.deepStrictEqual(yield* next(states), { _tag: "Closed" })
      assert.instanceOf(yield* Effect.flip(slot.await), SessionError.ClientClosed)
      yield* running.await
    })
  )
})

describe("Reconnect.makeSlot", () => {
  it.scoped("a caller waits for the next session within its own deadline", () =>
    Effect.gen(function* () {
      const slot = yield* Reconnect.makeSlot<string, string>()
      const late = yield* Effect.fork(slot.awaitUntil(1000, () => "timed out"))
      const served = yield* Effect.fork(slot.awaitUntil(5000, () => "timed out"))
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Effect.flip(Fiber.join(late)), "timed out")
      yield* slot.offer("a")
      assert.strictEqual(yield* Fiber.join(served), "a")
      assert.strictEqual(slot.current(), "a")
    })
  )

  it.scoped("after a retire calls wait again; a stale retire changes nothing", () =>
    Effect.gen(function* () {
      const slot = yield* Reconnect.makeSlot<string, string>()
      yield* slot.offer("a")
      yield* slot.retire("a")
      const waiting = yield* Effect.fork(slot.await)
      yield* slot.offer("b")
      yield* slot.retire("a")
      assert.strictEqual(yield* Fiber.join(waiting), "b")
      assert.strictEqual(slot.current(), "b")
    })
  )

  it.scoped("once ended, waiting and later calls fail at once; the first end wins", () =>
    Effect.gen(function* () {
      const slot = yield* Reconnect.makeSlot<string, string>()
      yield* slot.offer("a")
      const waiting = yield* Effect.fork(Effect.zipRight(slot.retire("a"), slot.await))
      yield* slot.end("gone")
      yield* slot.end("again")
      yield* slot.offer("b")
      assert.strictEqual(yield* Effect.flip(Fiber.join(waiting)), "gone")
      assert.strictEqual(yield* Effect.flip(slot.awaitUntil(0, () => "timed out")), "gone")
      assert.strictEqual(slot.current(), undefined)
    })
  )
})
