import { CloseReason, Transport, MemoryTransport, WsTransport } from "@protokernel/wire"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Chunk, Deferred, Effect, Either, Exit, FastCheck, Fiber, Layer, Stream } from "effect"
import { fuzzParameters } from "../../../test/kit/fuzz.js"

const firstFrames = (transport: Transport.Transport, n: number) =>
  transport.frames.pipe(Stream.take(n), Stream.runCollect, Effect.map(Chunk.toArray))

/** Runs `handler` on every server connection; returns the server URL. */
const serve = <E>(handler: (transport: Transport.Transport) => Effect.Effect<void, E>) =>
  Effect.gen(function* () {
    const server = yield* Transport.TransportServer
    yield* Effect.forkScoped(server.run(handler))
    return server.url
  })

const suites = [
  ["ws", Layer.merge(WsTransport.layerServer({ maxMessageBytes: 1024 }), WsTransport.layerConnector)],
  ["memory", MemoryTransport.layer({ maxMessageBytes: 1024 })]
] as const

for (const [name, layer] of suites) {
  describe(`Transport over ${name}`, () => {
    it.scoped("keeps text and binary frames apart and in order", () =>
      Effect.gen(function* () {
        const url = yield* serve((t) => t.frames.pipe(Stream.runForEach(t.send), Effect.ignore))
        const connector = yield* Transport.Connector
        const client = yield* connector.connect(url)
        yield* client.send(new Uint8Array([1]))
        yield* client.send("t")
        yield* client.send(new Uint8Array([2, 255]))
        const frames = yield* firstFrames(client, 3)
        assert.deepStrictEqual(
          frames.map((f) => (typeof f === "string" ? f : Array.from(f))),
          [[1], "t", [2, 255]]
        )
      }).pipe(Effect.provide(layer))
    )

    it.scoped("a server close reaches the client as a remote CloseError with code and reason", () =>
      Effect.gen(function* () {
        const serverSaw = yield* Deferred.make<Transport.CloseError>()
        const url = yield* serve((t) =>
          Effect.flatMap(t.close(3004, "access key revoked"), (e) => Deferred.succeed(serverSaw, e))
        )
        const client = yield* (yield* Transport.Connector).connect(url)
        const error = yield* client.frames.pipe(Stream.runDrain, Effect.flip)
        assert.deepStrictEqual(
          { code: error.code, reason: error.reason, initiator: error.initiator },
          { code: 3004, reason: "access key revoked", initiator: "remote" }
        )
        const local = yield* Deferred.await(serverSaw)
        assert.deepStrictEqual([local.code, local.initiator], [3004, "local"])
        // Sending on a closed connection fails with the same error instead of hanging.
        const late = yield* Effect.flip(client.send("late"))
        assert.strictEqual(late.code, 3004)
      }).pipe(Effect.provide(layer))
    )

    it.scoped("close reasons are cut to 123 UTF-8 bytes at a character boundary", () =>
      Effect.gen(function* () {
        const url = yield* serve((t) => Effect.asVoid(t.close(3001, "é".repeat(100))))
        const client = yield* (yield* Transport.Connector).connect(url)
        const error = yield* client.closed
        assert.strictEqual(error.reason, "é".repeat(61))
      }).pipe(Effect.provide(layer))
    )

    it.scoped("a message over the limit closes with 1009", () =>
      Effect.gen(function* () {
        const url = yield* serve((t) => Effect.ignore(Stream.runDrain(t.frames)))
        const client = yield* (yield* Transport.Connector).connect(url)
        yield* client.send(new Uint8Array(1025))
        const error = yield* client.closed
        assert.deepStrictEqual([error.code, error.initiator], [1009, "remote"])
      }).pipe(Effect.provide(layer))
    )

    it.scoped("a handler that ends closes with 1000, one that dies closes with 1011", () =>
      Effect.gen(function* () {
        const url = yield* serve((t) =>
          Effect.flatMap(Stream.runHead(t.frames), (first) =>
            first._tag === "Some" && first.value === "die" ? Effect.dieMessage("boom") : Effect.void
          )
        )
        const connector = yield* Transport.Connector
        const ok = yield* connector.connect(url)
        yield* ok.send("fine")
        assert.strictEqual((yield* ok.closed).code, 1000)
        const bad = yield* connector.connect(url)
        yield* bad.send("die")
        assert.strictEqual((yield* bad.closed).code, 1011)
      }).pipe(Effect.provide(layer))
    )

    it.scoped("interrupting the server closes live connections with its shutdown code", () =>
      Effect.gen(function* () {
        const server = yield* Transport.TransportServer
        const accepted = yield* Deferred.make<void>()
        const running = yield* Effect.forkScoped(
          server.run(() => Effect.zipRight(Deferred.succeed(accepted, undefined), Effect.never), {
            shutdownClose: { code: 1001, reason: "server shutting down" }
          })
        )
        const client = yield* (yield* Transport.Connector).connect(server.url)
        yield* Deferred.await(accepted)
        yield* Fiber.interrupt(running)
        const error = yield* client.closed
        assert.deepStrictEqual([error.code, error.reason], [1001, "server shutting down"])
      }).pipe(Effect.provide(layer))
    )
  })
}

describe("Transport over ws", () => {
  it.scoped("pauses reading when the consumer falls behind and delivers everything once it catches up", () =>
    Effect.gen(function* () {
      const total = 2000
      const url = yield* serve((t) =>
        Effect.forEach(
          Array.from({ length: total }, (_, i) => i),
          (i) => t.send(new Uint8Array(512).fill(i % 251)),
          {
            discard: true
          }
        ).pipe(Effect.zipRight(Effect.never), Effect.ignore)
      )
      const client = yield* WsTransport.connect(url, { receiveHighWaterMark: 8 })
      // Let the server write everything while nobody reads: only the high-water mark is buffered here.
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 100)))
      const frames = yield* firstFrames(client, total)
      assert.strictEqual(frames.length, total)
      assert.isTrue(frames.every((f, i) => typeof f !== "string" && f.byteLength === 512 && f[0] === i % 251))
    }).pipe(Effect.provide(WsTransport.layerServer()))
  )

  it.scoped("a refused connection fails with ConnectError", () =>
    Effect.gen(function* () {
      const result = yield* Effect.either(WsTransport.connect("ws://127.0.0.1:1"))
      assert.isTrue(Either.isLeft(result) && result.left._tag === "ConnectError")
    })
  )

  it.scoped("upgrades outside the configured path are refused", () =>
    Effect.gen(function* () {
      const server = yield* WsTransport.makeServer({ path: "/api/ws" })
      yield* Effect.forkScoped(server.run(() => Effect.never))
      const wrong = yield* Effect.either(WsTransport.connect(`${server.url}/other`))
      assert.isTrue(Either.isLeft(wrong))
      const right = yield* WsTransport.connect(`${server.url}/api/ws`)
      assert.isTrue(yield* right.isOpen)
    })
  )
})

describe("Transport ws server without a running handler", () => {
  it.scoped("keeps connections that arrive before run, with their frames, and survives oversize frames", () =>
    Effect.gen(function* () {
      const server = yield* WsTransport.makeServer({ maxMessageBytes: 1024 })
      const early = yield* WsTransport.connect(server.url)
      yield* early.send("sent before anyone serves")
      const oversize = yield* WsTransport.connect(server.url)
      yield* oversize.send(new Uint8Array(2048))
      assert.strictEqual((yield* oversize.closed).code, 1009)
      yield* Effect.forkScoped(server.run((t) => t.frames.pipe(Stream.runForEach(t.send), Effect.ignore)))
      const [echo] = yield* firstFrames(early, 1)
      assert.strictEqual(echo, "sent before anyone serves")
    })
  )

  it.scoped(
    "a close completes while the peer keeps sending, without waiting for the close timeout",
    () =>
      Effect.gen(function* () {
        const server = yield* WsTransport.makeServer({ closeTimeout: "60000 millis", receiveHighWaterMark: 4 })
        yield* Effect.forkScoped(
          server.run((t) =>
            Effect.flatMap(Stream.runHead(t.frames), () => Effect.asVoid(t.close(1002, "protocol error")))
          )
        )
        const client = yield* WsTransport.connect(server.url, { closeTimeout: "60000 millis" })
        yield* Effect.forEach(Array.from({ length: 500 }), () => Effect.ignore(client.send(new Uint8Array(64))), {
          discard: true
        })
        const error = yield* client.closed
        assert.deepStrictEqual([error.code, error.reason], [1002, "protocol error"])
      }),
    { timeout: 20_000 }
  )
})

describe("Transport send backpressure", () => {
  it.scoped("a sender past its high-water mark waits for the network and then goes on", () =>
    Effect.gen(function* () {
      const frames = 128
      const server = yield* WsTransport.makeServer({ sendHighWaterMark: 64 * 1024 })
      const sent = yield* Deferred.make<number>()
      yield* Effect.forkScoped(
        server.run((t) =>
          Effect.forEach(
            Array.from({ length: frames }, (_, i) => i),
            (i) => t.send(new Uint8Array(64 * 1024).fill(i)),
            {
              discard: true
            }
          ).pipe(Effect.zipRight(Deferred.succeed(sent, frames)), Effect.zipRight(Effect.never), Effect.ignore)
        )
      )
      const client = yield* WsTransport.connect(server.url, { receiveHighWaterMark: 4 })
      const received = yield* firstFrames(client, frames)
      assert.strictEqual(yield* Deferred.await(sent), frames)
      assert.isTrue(received.every((f, i) => typeof f !== "string" && f.byteLength === 64 * 1024 && f[0] === i % 256))
    })
  )
})

describe("Transport sendAll", () => {
  it.scoped("writes its frames back to back: concurrent senders past the high-water mark never split a pair", () =>
    Effect.gen(function* () {
      const pairs = 64
      const server = yield* WsTransport.makeServer({ sendHighWaterMark: 16 * 1024 })
      yield* Effect.forkScoped(
        server.run((t) =>
          Effect.forEach(
            Array.from({ length: pairs }, (_, i) => i),
            (i) => t.sendAll([`header ${i}`, new Uint8Array(8 * 1024).fill(i)]),
            { concurrency: 8, discard: true }
          ).pipe(Effect.zipRight(Effect.never), Effect.ignore)
        )
      )
      const client = yield* WsTransport.connect(server.url, { receiveHighWaterMark: 4 })
      const received = yield* firstFrames(client, pairs * 2)
      const seen = new Set<number>()
      for (let i = 0; i < received.length; i += 2) {
        const header = received[i]
        const body = received[i + 1]
        assert.isTrue(typeof header === "string" && body !== undefined && typeof body !== "string")
        const index = Number(String(header).slice("header ".length))
        assert.isTrue(typeof body !== "string" && body !== undefined && body.every((byte) => byte === index % 256))
        seen.add(index)
      }
      assert.strictEqual(seen.size, pairs)
    })
  )
})

describe("Transport trySend", () => {
  it.scoped("writes at once while there is room, declines past the high-water mark and after a close", () =>
    Effect.gen(function* () {
      const server = yield* WsTransport.makeServer({ sendHighWaterMark: 64 * 1024 })
      const accepted = yield* Deferred.make<Transport.Transport>()
      yield* Effect.forkScoped(server.run((t) => Effect.zipRight(Deferred.succeed(accepted, t), Effect.never)))
      const client = yield* WsTransport.connect(server.url)
      const peer = yield* Deferred.await(accepted)
      assert.isTrue(peer.trySend("now"))
      assert.deepStrictEqual(yield* firstFrames(client, 1), ["now"])
      // Fill the socket past its high-water mark without reading: trySend then declines.
      let written = 0
      while (peer.trySend(new Uint8Array(64 * 1024))) written++
      assert.isTrue(written >= 1)
      assert.isFalse(peer.trySend("later"))
      yield* peer.close(1000)
      assert.isFalse(peer.trySend("closed"))
    })
  )
})

describe("Transport properties", () => {
  const frame = FastCheck.oneof(FastCheck.string({ maxLength: 40 }), FastCheck.uint8Array({ maxLength: 40 }))
  const closeCode = FastCheck.oneof(
    FastCheck.constantFrom(1000, 1001, 1002, 1003, 1011),
    FastCheck.integer({ min: 3000, max: 4999 })
  )
  const render = (f: Transport.Frame) => (typeof f === "string" ? `t:${f}` : `b:${Buffer.from(f).toString("hex")}`)

  for (const [name, layer, runs] of [
    ["memory", MemoryTransport.layer(), 100],
    ["ws", Layer.merge(WsTransport.layerServer(), WsTransport.layerConnector), 20]
  ] as const) {
    it.effect.prop(
      `over ${name}, any frames arrive whole, in order, with their kind, then the close with its code and cut reason`,
      [FastCheck.array(frame, { maxLength: 12 }), closeCode, FastCheck.string({ maxLength: 80 })],
      ([frames, code, reason]) =>
        Effect.gen(function* () {
          const received = yield* Deferred.make<{ frames: Array<string>; close: Transport.CloseError }>()
          const url = yield* serve((t) =>
            Effect.gen(function* () {
              const seen: Array<string> = []
              const close = yield* t.frames.pipe(
                Stream.runForEach((f) => Effect.sync(() => seen.push(render(f)))),
                Effect.flip
              )
              yield* Deferred.succeed(received, { frames: seen, close })
            })
          )
          const client = yield* (yield* Transport.Connector).connect(url)
          yield* Effect.forEach(frames, client.send, { discard: true })
          yield* client.close(code, reason)
          const result = yield* Deferred.await(received)
          assert.deepStrictEqual(result.frames, frames.map(render))
          assert.deepStrictEqual(
            [result.close.code, result.close.reason, result.close.initiator],
            [code, CloseReason.truncate(reason), "remote"]
          )
        }).pipe(Effect.scoped, Effect.provide(layer)),
      { fastCheck: fuzzParameters(runs) }
    )
  }
})

describe("Transport receive", () => {
  it.scoped("frames sent before receive runs come first; a wait holds back every later frame until it ends", () =>
    Effect.gen(function* () {
      const total = 300
      const url = yield* serve((t) =>
        Effect.forEach(
          Array.from({ length: total }, (_, i) => i),
          (i) => t.send(new Uint8Array(64).fill(i % 251)),
          { discard: true }
        ).pipe(Effect.zipRight(t.close(3000, "done")), Effect.ignore)
      )
      const client = yield* WsTransport.connect(url, { receiveHighWaterMark: 8 })
      // Everything is sent (and partly buffered, then paused) before anyone reads.
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 100)))
      const release = yield* Deferred.make<void>()
      const seen: Array<Transport.Frame> = []
      const fiber = yield* Effect.fork(
        Effect.flip(
          client.receive((frame) => {
            seen.push(frame)
            return typeof frame !== "string" && frame[0] === 10 ? Deferred.await(release) : undefined
          })
        )
      )
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
      // Frames 0..10 were handled; the rest wait for the release, the network paused meanwhile.
      assert.strictEqual(seen.length, 11)
      yield* Deferred.succeed(release, undefined)
      const close = yield* Fiber.join(fiber)
      assert.strictEqual(seen.length, total)
      assert.isTrue(seen.every((f, i) => typeof f !== "string" && f.byteLength === 64 && f[0] === i % 251))
      assert.deepStrictEqual([close.code, close.reason, close.initiator], [3000, "done", "remote"])
    }).pipe(Effect.provide(WsTransport.layerServer()))
  )

  it.scoped("while a wait runs, nothing more is handled (in memory, frames arrive synchronously)", () =>
    Effect.gen(function* () {
      const [client, server] = yield* MemoryTransport.makePair()
      const release = yield* Deferred.make<void>()
      const handled: Array<string> = []
      const fiber = yield* Effect.fork(
        client.receive((frame) => {
          handled.push(String(frame))
          return frame === "wait" ? Deferred.await(release) : undefined
        })
      )
      yield* Effect.yieldNow()
      yield* server.send("a")
      yield* server.send("wait")
      yield* server.send("b")
      yield* server.send("c")
      assert.deepStrictEqual(handled, ["a", "wait"])
      yield* Deferred.succeed(release, undefined)
      yield* Effect.yieldNow()
      assert.deepStrictEqual(handled, ["a", "wait", "b", "c"])
      yield* server.close(1000, "bye")
      const close = yield* Effect.flip(Fiber.join(fiber))
      assert.deepStrictEqual([close.code, close.reason], [1000, "bye"])
    })
  )

  it.scoped("a wait that dies ends receive with that defect", () =>
    Effect.gen(function* () {
      const [client, server] = yield* MemoryTransport.makePair()
      const fiber = yield* Effect.fork(client.receive(() => Effect.dieMessage("handler broke")))
      yield* Effect.yieldNow()
      yield* server.send("x")
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause))
    })
  )

  for (const [name, layer, runs] of [
    ["memory", MemoryTransport.layer(), 100],
    ["ws", Layer.merge(WsTransport.layerServer(), WsTransport.layerConnector), 20]
  ] as const) {
    it.effect.prop(
      `over ${name}, any frames reach the handler whole and in order, waits or not, then the close`,
      [
        FastCheck.array(
          FastCheck.tuple(
            FastCheck.oneof(FastCheck.string({ maxLength: 40 }), FastCheck.uint8Array({ maxLength: 40 })),
            FastCheck.boolean()
          ),
          { maxLength: 12 }
        ),
        FastCheck.integer({ min: 3000, max: 4999 })
      ],
      ([frames, code]) =>
        Effect.gen(function* () {
          const render = (f: Transport.Frame) =>
            typeof f === "string" ? `t:${f}` : `b:${Buffer.from(f).toString("hex")}`
          const waits = new Set(frames.flatMap(([frame, wait]) => (wait ? [render(frame)] : [])))
          const received = yield* Deferred.make<{ seen: Array<string>; close: Transport.CloseError }>()
          const url = yield* serve((t) =>
            Effect.gen(function* () {
              const seen: Array<string> = []
              const close = yield* Effect.flip(
                t.receive((frame) => {
                  seen.push(render(frame))
                  return waits.has(render(frame)) ? Effect.yieldNow() : undefined
                })
              )
              yield* Deferred.succeed(received, { seen, close })
            })
          )
          const client = yield* (yield* Transport.Connector).connect(url)
          yield* Effect.forEach(frames, ([frame]) => client.send(frame), { discard: true })
          yield* client.close(code, "")
          const result = yield* Deferred.await(received)
          assert.deepStrictEqual(
            result.seen,
            frames.map(([frame]) => render(frame))
          )
          assert.deepStrictEqual([result.close.code, result.close.initiator], [code, "remote"])
        }).pipe(Effect.scoped, Effect.provide(layer)),
      { fastCheck: fuzzParameters(runs) }
    )
  }
})
