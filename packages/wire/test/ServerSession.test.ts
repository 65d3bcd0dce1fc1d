import { ServerSession, MemoryTransport } from "@protokernel/wire"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Deferred, Effect, Fiber, Logger, Ref, type Scope, Stream, TestClock } from "effect"

const internalError = { code: 4000, reason: "internal error" }

/** Runs `handler` on the server side of an in-memory pair; returns the client side and the server fiber. */
const connect = <E>(handler: (session: ServerSession.Session) => Effect.Effect<void, E, Scope.Scope>) =>
  Effect.gen(function* () {
    const [client, server] = yield* MemoryTransport.makePair()
    const fiber = yield* Effect.fork(ServerSession.run(server, { internalError }, handler))
    yield* Effect.yieldNow()
    return { client, fiber }
  })

/** Captures the error logs. */
const capturingLogs = Effect.gen(function* () {
  const errors = yield* Ref.make<Array<string>>([])
  const logger = Logger.make(({ logLevel, message }) => {
    if (logLevel._tag === "Error") Effect.runSync(Ref.update(errors, (all) => [...all, String(message)]))
  })
  return { errors, layer: Logger.replace(Logger.defaultLogger, logger) }
})

describe("ServerSession", () => {
  it.scoped("what the connection started (timers, resources, forks) ends when the connection ends", () =>
    Effect.gen(function* () {
      const ticks = yield* Ref.make(0)
      const released = yield* Deferred.make<void>()
      const forkEnded = yield* Deferred.make<void>()
      const { client, fiber } = yield* connect((session) =>
        Effect.gen(function* () {
          yield* Effect.acquireRelease(Effect.void, () => Deferred.succeed(released, undefined))
          yield* Effect.forkScoped(
            Effect.forever(
              Effect.zipRight(
                Effect.sleep("1 second"),
                Ref.update(ticks, (n) => n + 1)
              )
            )
          )
          yield* session.fork(Effect.onInterrupt(Effect.never, () => Deferred.succeed(forkEnded, undefined)))
          yield* session.deadline(60_000, { code: 3001, reason: "too late" })
          yield* session.forEachFrame(() => Effect.void)
        })
      )
      yield* TestClock.adjust("3 seconds")
      assert.strictEqual(yield* Ref.get(ticks), 3)
      yield* client.close(1000, "bye")
      yield* Fiber.join(fiber)
      yield* Deferred.await(released)
      yield* Deferred.await(forkEnded)
      yield* TestClock.adjust("2 minutes")
      assert.strictEqual(yield* Ref.get(ticks), 3)
    })
  )

  it.scoped("a phase deadline closes with the protocol's code and reason; the next phase replaces it", () =>
    Effect.gen(function* () {
      const { client } = yield* connect((session) =>
        Effect.gen(function* () {
          yield* session.deadline(10_000, { code: 3001, reason: "authentication timed out" })
          yield* session.forEachFrame(() => session.deadline(40_000, { code: 3003, reason: "ping timeout" }))
        })
      )
      yield* client.send("auth")
      yield* TestClock.adjust("39999 millis")
      assert.isTrue(yield* client.isOpen)
      yield* TestClock.adjust("1 millis")
      const closed = yield* client.closed
      assert.deepStrictEqual([closed.code, closed.reason], [3003, "ping timeout"])
    })
  )

  it.scoped("a cleared deadline never fires", () =>
    Effect.gen(function* () {
      const { client } = yield* connect((session) =>
        Effect.gen(function* () {
          yield* session.deadline(1000, { code: 3001, reason: "late" })
          yield* session.clearDeadline
          yield* session.forEachFrame(() => Effect.void)
        })
      )
      yield* TestClock.adjust("1 minute")
      assert.isTrue(yield* client.isOpen)
    })
  )

  it.scoped("a defect in the handler closes with the internal error, logged once", () =>
    Effect.gen(function* () {
      const logs = yield* capturingLogs
      const { client, fiber } = yield* connect(() => Effect.dieMessage("boom")).pipe(Effect.provide(logs.layer))
      const closed = yield* client.closed
      assert.deepStrictEqual([closed.code, closed.reason], [4000, "internal error"])
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(yield* Ref.get(logs.errors), ["session failed"])
    })
  )

  it.scoped("defects in forked work close the connection once and are logged once", () =>
    Effect.gen(function* () {
      const logs = yield* capturingLogs
      const { client, fiber } = yield* connect((session) =>
        Effect.gen(function* () {
          yield* session.fork(Effect.dieMessage("first"))
          yield* session.fork(Effect.dieMessage("second"))
          yield* session.forEachFrame(() => Effect.void)
        })
      ).pipe(Effect.provide(logs.layer))
      const closed = yield* client.closed
      assert.strictEqual(closed.code, 4000)
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(yield* Ref.get(logs.errors), ["session failed"])
    })
  )

  it.scoped("work queued after the close started is not executed", () =>
    Effect.gen(function* () {
      const ran = yield* Ref.make<Array<string>>([])
      const record = (what: string) => Ref.update(ran, (all) => [...all, what])
      const { client, fiber } = yield* connect((session) =>
        session.forEachFrame((frame) =>
          frame === "close"
            ? Effect.gen(function* () {
                yield* session.fork(record("forked before"))
                yield* Effect.yieldNow()
                yield* Effect.fork(session.close({ code: 1000, reason: "done" }))
                yield* Effect.yieldNow()
                yield* session.fork(record("forked after"))
                yield* session.whenOpen(record("when open after"))
                yield* session.close({ code: 3005, reason: "second close" })
              })
            : record(`frame ${String(frame)}`)
        )
      )
      yield* client.send("a")
      yield* client.send("close")
      yield* client.send("b")
      const closed = yield* client.closed
      yield* Fiber.join(fiber)
      assert.deepStrictEqual([closed.code, closed.reason], [1000, "done"])
      assert.deepStrictEqual(yield* Ref.get(ran), ["frame a", "forked before"])
    })
  )

  it.scoped("a handler that ends leaves nothing running; the frames it did not read do not matter", () =>
    Effect.gen(function* () {
      const seen = yield* Ref.make(0)
      const { client, fiber } = yield* connect((session) =>
        Effect.gen(function* () {
          yield* session.fork(
            session.transport.frames.pipe(
              Stream.take(1),
              Stream.runCollect,
              Effect.flatMap((frames) => Ref.set(seen, Chunk.size(frames))),
              Effect.ignore
            )
          )
        })
      )
      yield* Fiber.join(fiber)
      yield* client.send("late").pipe(Effect.ignore)
      yield* Effect.yieldNow()
      assert.strictEqual(yield* Ref.get(seen), 0)
    })
  )
})
