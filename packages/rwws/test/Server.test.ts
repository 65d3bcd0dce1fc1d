import { KeyStore, Server } from "@protokernel/rwws"
import { MemoryTransport } from "@protokernel/wire"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Logger, LogLevel, Option, Ref, Supervisor, TestClock } from "effect"
import { frameToHex, fromHex } from "../../../test/kit/bytes.js"
import { auth32Hex, key1, key32, rawAuthenticated, rawConnect, wsServer, memoryServer } from "./support/peers.js"

const closeOf = (error: { readonly code: number; readonly reason: string }) => [error.code, error.reason] as const

/** Sends one message right after the hello and returns how the server closed. */
const rejects = (message: Uint8Array | string) =>
  Effect.gen(function* () {
    const server = yield* Server.RwwsServer
    const client = yield* rawConnect(server.url)
    assert.strictEqual(frameToHex(yield* client.next), "6d73")
    yield* client.send(message)
    const { frames, close } = yield* client.rest
    assert.deepStrictEqual(frames, [], "nothing but the close after a rejected auth")
    assert.strictEqual(close.initiator, "remote")
    return closeOf(close)
  })

/** A key store that counts lookups and can be made to fail or to wait. */
const instrumentedStore = (behaviour: "ok" | "fail" | { readonly gate: Deferred.Deferred<void> }) =>
  Effect.gen(function* () {
    const inner = yield* KeyStore.makeMemory([key32])
    const lookups = yield* Ref.make(0)
    const store = KeyStore.KeyStore.of({
      ...inner,
      verify: (key) =>
        Effect.zipRight(
          Ref.update(lookups, (n) => n + 1),
          behaviour === "fail"
            ? Effect.fail(new KeyStore.KeyStoreError({ detail: "database unreachable" }))
            : behaviour === "ok"
              ? inner.verify(key)
              : Effect.zipRight(Deferred.await(behaviour.gate), inner.verify(key))
        )
    })
    return { store: Layer.succeed(KeyStore.KeyStore, store), lookups }
  }).pipe(Effect.orDie)

describe("RwwsServer over ws: authentication (spec §2.3, §8)", () => {
  it.scopedLive("sends the hello, then a 9-byte Pong with its clock for a known key (vectors 1, 2)", () =>
    Effect.gen(function* () {
      const server = yield* Server.RwwsServer
      const before = Date.now()
      yield* rawAuthenticated(server.url)
      assert.strictEqual(yield* server.sessions, 1)
      const client = yield* rawConnect(server.url)
      yield* client.next
      yield* client.send(fromHex("b6c400012a"))
      const pong = yield* client.next
      assert.instanceOf(pong, Uint8Array)
      const time = Buffer.from(pong as Uint8Array).readBigInt64BE(1)
      assert.isTrue(time >= BigInt(before) && time <= BigInt(Date.now()))
    }).pipe(Effect.provide(wsServer()))
  )

  it.scoped("accepts a 1-byte key (vector 6)", () =>
    Effect.gen(function* () {
      const server = yield* Server.RwwsServer
      yield* rawAuthenticated(server.url, Uint8Array.of(0x2a))
    }).pipe(Effect.provide(wsServer([key1])))
  )

  it.scoped("closes 3002 for version 1 without looking the key up (vector 7)", () =>
    Effect.gen(function* () {
      const { store, lookups } = yield* instrumentedStore("ok")
      const result = yield* rejects(fromHex("b6c401200102")).pipe(Effect.provide(wsServer([], {}, store)))
      assert.deepStrictEqual(result, [3002, "version mismatch: server supports 0, client sent 1"])
      assert.strictEqual(yield* Ref.get(lookups), 0)
    })
  )

  it.scoped("reports the version byte signed and checks it before the format", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* rejects(fromHex("b6c4ff")), [
        3002,
        "version mismatch: server supports 0, client sent -1"
      ])
      assert.deepStrictEqual(yield* rejects(fromHex("b6c47f0000")), [
        3002,
        "version mismatch: server supports 0, client sent 127"
      ])
    }).pipe(Effect.provide(wsServer()))
  )

  it.scoped("closes 3001 for bad magic, bad lengths, trailing bytes and empty messages (vectors 8-10)", () =>
    Effect.gen(function* () {
      const malformed = [3001, "unauthorized: malformed authentication message"] as const
      for (const message of [
        "00c400012a",
        "b6c4002001 02",
        "b6c40000",
        "b6c40080" + "00".repeat(128),
        "b6c400012a00",
        "",
        "b6",
        "b6c4",
        "b6c400"
      ]) {
        assert.deepStrictEqual(yield* rejects(fromHex(message)), malformed, message)
      }
    }).pipe(Effect.provide(wsServer()))
  )

  it.scoped("closes 3001 for a text auth message, an unknown key and a revoked key", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* rejects("hello"), [3001, "unauthorized: binary frames only"])
      const invalid = [3001, "unauthorized: invalid access key"] as const
      assert.deepStrictEqual(yield* rejects(fromHex("b6c400012b")), invalid)
      const server = yield* Server.RwwsServer
      assert.strictEqual(yield* server.revoke(key1), 0)
      assert.deepStrictEqual(yield* rejects(fromHex("b6c400012a")), invalid)
    }).pipe(Effect.provide(wsServer()))
  )

  it.scoped("closes 3005 when the key store fails", () =>
    Effect.gen(function* () {
      const { store } = yield* instrumentedStore("fail")
      const result = yield* rejects(fromHex("b6c400012a")).pipe(Effect.provide(wsServer([], {}, store)))
      assert.deepStrictEqual(result, [3005, "server error"])
    })
  )

  it.scopedLive(
    "drops every message that arrives while the key is being verified",
    () =>
      Effect.gen(function* () {
        const gate = yield* Deferred.make<void>()
        const { store } = yield* instrumentedStore({ gate })
        yield* Effect.gen(function* () {
          const server = yield* Server.RwwsServer
          const client = yield* rawConnect(server.url)
          yield* client.next
          yield* client.send(fromHex(auth32Hex))
          // A Ping, a text frame and garbage: none is answered or fatal while verifying.
          yield* client.send(fromHex("00"))
          yield* client.send("not now")
          yield* client.send(fromHex("05"))
          yield* Effect.sleep("50 millis")
          yield* Deferred.succeed(gate, undefined)
          assert.strictEqual(frameToHex(yield* client.next).length, 18)
          yield* client.send(fromHex("00"))
          assert.strictEqual(frameToHex(yield* client.next).length, 18)
          assert.isTrue(yield* client.transport.isOpen)
        }).pipe(Effect.provide(wsServer([], {}, store)))
      }),
    { timeout: 10_000 }
  )

  it.scoped("closes 1009 for a message over 64 KiB before authentication", () =>
    Effect.gen(function* () {
      const server = yield* Server.RwwsServer
      const client = yield* rawConnect(server.url)
      yield* client.next
      yield* client.send(new Uint8Array(64 * 1024 + 1))
      const { close } = yield* client.rest
      assert.strictEqual(close.code, 1009)
    }).pipe(Effect.provide(wsServer()))
  )
})

describe("RwwsServer over ws: after authentication (spec §3, §4)", () => {
  it.scoped("answers two Pings and an empty Settings in one message with two Pong messages (vector 4)", () =>
    Effect.gen(function* () {
      const server = yield* Server.RwwsServer
      const client = yield* rawAuthenticated(server.url)
      yield* client.send(fromHex("000001ff"))
      const first = yield* client.next
      const second = yield* client.next
      assert.deepStrictEqual([frameToHex(first).length, frameToHex(second).length], [18, 18])
      yield* client.send(fromHex("01ff"))
      yield* client.send(fromHex(""))
      yield* client.send(fromHex("00"))
      assert.strictEqual(frameToHex(yield* client.next).slice(0, 2), "00", "Settings and empty messages get no reply")
    }).pipe(Effect.provide(wsServer()))
  )

  it.scoped("closes 1002 naming the byte, without answering the Pings of that message (vectors 11, 12)", () =>
    Effect.gen(function* () {
      const server = yield* Server.RwwsServer
      const cases = [
        ["0005", "unknown packet id 0x05"],
        ["0001ff00ab", "unknown packet id 0xab"],
        ["0100ff", "unknown setting id 0x00"],
        ["0107ff", "unknown setting id 0x07"],
        ["01", "settings packet not terminated (missing 0xff)"],
        ["0000 01", "settings packet not terminated (missing 0xff)"]
      ] as const
      for (const [bytes, reason] of cases) {
        const client = yield* rawAuthenticated(server.url)
        yield* client.send(fromHex(bytes))
        const { frames, close } = yield* client.rest
        assert.deepStrictEqual({ frames, close: closeOf(close) }, { frames: [], close: [1002, reason] }, bytes)
      }
    }).pipe(Effect.provide(wsServer()))
  )

  it.scoped("closes 1003 for a text frame and 1009 for a message over 64 KiB", () =>
    Effect.gen(function* () {
      const server = yield* Server.RwwsServer
      const text = yield* rawAuthenticated(server.url)
      yield* text.send("ping")
      assert.deepStrictEqual(closeOf((yield* text.rest).close), [1003, "binary frames only"])
      const big = yield* rawAuthenticated(server.url)
      yield* big.send(new Uint8Array(64 * 1024 + 1))
      assert.strictEqual((yield* big.rest).close.code, 1009)
    }).pipe(Effect.provide(wsServer()))
  )

  it.scoped("accepts a message of exactly 64 KiB", () =>
    Effect.gen(function* () {
      const server = yield* Server.RwwsServer
      const client = yield* rawAuthenticated(server.url)
      yield* client.send(new Uint8Array(64 * 1024).map((_, i) => (i % 2 === 0 ? 0x01 : 0xff)))
      yield* client.send(fromHex("00"))
      assert.strictEqual(frameToHex(yield* client.next).length, 18)
    }).pipe(Effect.provide(wsServer()))
  )

  it.scoped("revoking a key closes its live sessions with 3004 and leaves others alone (vector 16)", () =>
    Effect.gen(function* () {
      const server = yield* Server.RwwsServer
      const a = yield* rawAuthenticated(server.url)
      const b = yield* rawAuthenticated(server.url)
      const other = yield* rawAuthenticated(server.url, Uint8Array.of(0x2a))
      assert.strictEqual(yield* server.sessions, 3)
      assert.strictEqual(yield* server.revoke(key32), 2)
      for (const client of [a, b]) {
        assert.deepStrictEqual(closeOf((yield* client.rest).close), [3004, "access key revoked"])
      }
      yield* other.send(fromHex("00"))
      assert.strictEqual(frameToHex(yield* other.next).length, 18)
      assert.strictEqual(yield* server.sessions, 1)
      const again = yield* rawConnect(server.url)
      yield* again.next
      yield* again.send(fromHex(auth32Hex))
      assert.deepStrictEqual(closeOf((yield* again.rest).close), [3001, "unauthorized: invalid access key"])
    }).pipe(Effect.provide(wsServer()))
  )

  it.scoped("a misbehaving connection does not disturb another one", () =>
    Effect.gen(function* () {
      const server = yield* Server.RwwsServer
      const good = yield* rawAuthenticated(server.url)
      for (const garbage of [fromHex("ff"), fromHex("0102"), "text"]) {
        const bad = yield* rawAuthenticated(server.url)
        yield* bad.send(garbage)
        yield* bad.rest
      }
      yield* good.send(fromHex("00"))
      assert.strictEqual(frameToHex(yield* good.next).length, 18)
    }).pipe(Effect.provide(wsServer()))
  )

  it.scoped("shutting down closes live sessions with 1001", () =>
    Effect.gen(function* () {
      const layer = wsServer()
      const ready = yield* Deferred.make<string>()
      const stop = yield* Deferred.make<void>()
      const running = yield* Effect.gen(function* () {
        const server = yield* Server.RwwsServer
        yield* Deferred.succeed(ready, server.url)
        yield* Deferred.await(stop)
      }).pipe(Effect.provide(layer), Effect.scoped, Effect.fork)
      const url = yield* Deferred.await(ready)
      const client = yield* rawAuthenticated(url).pipe(Effect.provide(Layer.orDie(wsServer())))
      yield* Deferred.succeed(stop, undefined)
      yield* Fiber.join(running)
      assert.deepStrictEqual(closeOf((yield* client.rest).close), [1001, "server shutting down"])
    })
  )
})

describe("RwwsServer on other transports and in races", () => {
  it.scoped("enforces the 64 KiB limit itself where the transport does not", () =>
    Effect.gen(function* () {
      const server = yield* Server.RwwsServer
      const before = yield* rawConnect(server.url)
      yield* before.next
      yield* before.send(new Uint8Array(64 * 1024 + 1))
      assert.deepStrictEqual(closeOf((yield* before.rest).close), [1009, "message too big"])
      const after = yield* rawAuthenticated(server.url)
      yield* after.send("x".repeat(64 * 1024 + 1))
      assert.deepStrictEqual(closeOf((yield* after.rest).close), [1009, "message too big"])
    }).pipe(
      Effect.provide(
        Server.layer().pipe(
          Layer.provideMerge(MemoryTransport.layer()),
          Layer.provideMerge(Layer.orDie(KeyStore.layerMemory([key32])))
        )
      )
    )
  )

  it.scoped("a key revoked while its lookup is in flight is refused, not admitted", () =>
    Effect.gen(function* () {
      const answered = yield* Deferred.make<void>()
      const gate = yield* Deferred.make<void>()
      const inner = yield* Effect.orDie(KeyStore.makeMemory([key32]))
      let calls = 0
      // The first lookup answers "known", then is held back; the revocation happens meanwhile.
      const store = KeyStore.KeyStore.of({
        ...inner,
        verify: (key) =>
          Effect.tap(inner.verify(key), () =>
            calls++ === 0 ? Effect.zipRight(Deferred.succeed(answered, undefined), Deferred.await(gate)) : Effect.void
          )
      })
      yield* Effect.gen(function* () {
        const server = yield* Server.RwwsServer
        const client = yield* rawConnect(server.url)
        yield* client.next
        yield* client.send(fromHex(auth32Hex))
        yield* Deferred.await(answered)
        assert.strictEqual(yield* server.revoke(key32), 0)
        yield* Deferred.succeed(gate, undefined)
        assert.deepStrictEqual(closeOf((yield* client.rest).close), [3001, "unauthorized: invalid access key"])
        assert.strictEqual(yield* server.sessions, 0)
      }).pipe(Effect.provide(memoryServer([], {}, Layer.succeed(KeyStore.KeyStore, store))))
    })
  )
})

describe("RwwsServer deadlines (TestClock, in-memory transport)", () => {
  it.scoped("closes 3001 'authentication timed out' 30 s after the hello", () =>
    Effect.gen(function* () {
      const server = yield* Server.RwwsServer
      const client = yield* rawConnect(server.url)
      yield* client.next
      yield* TestClock.adjust("29999 millis")
      assert.isTrue(yield* client.transport.isOpen)
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(closeOf((yield* client.rest).close), [3001, "authentication timed out"])
    }).pipe(Effect.provide(memoryServer()))
  )

  it.scoped("the auth deadline also ends a verification that takes too long", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<void>()
      const { store } = yield* instrumentedStore({ gate })
      yield* Effect.gen(function* () {
        const server = yield* Server.RwwsServer
        const client = yield* rawConnect(server.url)
        yield* client.next
        yield* client.send(fromHex("b6c400012a"))
        yield* TestClock.adjust("30 seconds")
        assert.deepStrictEqual(closeOf((yield* client.rest).close), [3001, "authentication timed out"])
        yield* Deferred.succeed(gate, undefined)
      }).pipe(Effect.provide(memoryServer([], { authDeadline: "30 seconds" }, store)))
    })
  )

  it.scoped("closes 3003 when more than 30 s + 2 s pass without a Ping, counted from the auth Pong", () =>
    Effect.gen(function* () {
      const server = yield* Server.RwwsServer
      const client = yield* rawAuthenticated(server.url)
      yield* TestClock.adjust("32 seconds")
      assert.isTrue(yield* client.transport.isOpen, "exactly 32 s is still on time")
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(closeOf((yield* client.rest).close), [3003, "ping timeout: no ping for 32 seconds"])
    }).pipe(Effect.provide(memoryServer()))
  )

  it.scoped("each Ping resets the keepalive clock; Settings do not", () =>
    Effect.gen(function* () {
      const server = yield* Server.RwwsServer
      const client = yield* rawAuthenticated(server.url)
      yield* TestClock.adjust("20 seconds")
      yield* client.send(fromHex("00"))
      yield* client.next
      yield* TestClock.adjust("20 seconds")
      yield* client.send(fromHex("01ff"))
      yield* TestClock.adjust("12 seconds")
      assert.isTrue(yield* client.transport.isOpen, "32 s after the Ping")
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* client.rest).close.code, 3003)
    }).pipe(Effect.provide(memoryServer()))
  )

  it.scoped("uses configured deadlines and rounds the reason up to whole seconds", () =>
    Effect.gen(function* () {
      const server = yield* Server.RwwsServer
      const client = yield* rawAuthenticated(server.url)
      yield* TestClock.adjust("1501 millis")
      assert.deepStrictEqual(closeOf((yield* client.rest).close), [3003, "ping timeout: no ping for 2 seconds"])
    }).pipe(Effect.provide(memoryServer(undefined, { pingLimit: "1 second", pingGrace: "500 millis" })))
  )

  it.scoped("the key store is consulted once per authentication", () =>
    Effect.gen(function* () {
      const { store, lookups } = yield* instrumentedStore("ok")
      yield* Effect.gen(function* () {
        const server = yield* Server.RwwsServer
        yield* rawAuthenticated(server.url)
        assert.strictEqual(yield* Ref.get(lookups), 1)
        assert.isTrue(
          Option.isSome(yield* (yield* KeyStore.KeyStore).verify(Uint8Array.from({ length: 32 }, (_, i) => i + 1)))
        )
      }).pipe(Effect.provide(memoryServer([], {}, store)))
    })
  )
})

/**
 * The server with every fiber it starts tracked, and its debug logs (each close it starts logs
 * `closing <code> <reason>`) recorded.
 */
const probedServer = Effect.gen(function* () {
  const supervisor = yield* Supervisor.track
  const logs: Array<string> = []
  const logger = Logger.make(({ message }) => {
    logs.push(String(message))
  })
  const server = yield* Server.make().pipe(
    Effect.supervised(supervisor),
    Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
    Logger.withMinimumLogLevel(LogLevel.Debug)
  )
  /** Fibers of the server still running. */
  const running = Effect.map(supervisor.value, (fibers) => fibers.length)
  /** Waits (yielding to other fibers) until the server runs `count` fibers; fails after many turns. */
  const settlesAt = (count: number) =>
    Effect.gen(function* () {
      for (let turn = 0; turn < 1000; turn++) {
        if ((yield* running) === count) return
        yield* Effect.yieldNow()
      }
      assert.strictEqual(yield* running, count, "fibers still running")
    })
  yield* Effect.yieldNow()
  return { server, logs, running, settlesAt }
})

/** The in-memory network and a key store, shared by the server and the raw clients. */
const network = (store: Layer.Layer<KeyStore.KeyStore> = KeyStore.layerMemory([key32]).pipe(Layer.orDie)) =>
  Layer.merge(MemoryTransport.layer({ maxMessageBytes: Server.maxMessageBytes }), store)

describe("RwwsServer connections leave nothing behind (TestClock, in-memory transport)", () => {
  it.scoped("a connection the client closes stops its deadline timer and every fiber it started", () =>
    Effect.gen(function* () {
      const { server, logs, running, settlesAt } = yield* probedServer
      const idle = yield* running
      for (const authenticate of [false, true]) {
        const client = yield* Effect.scoped(
          Effect.gen(function* () {
            const client = authenticate ? yield* rawAuthenticated(server.url) : yield* rawConnect(server.url)
            if (!authenticate) yield* client.next
            assert.isAbove(yield* running, idle, "the connection runs fibers of its own")
            yield* client.transport.close(1000, "bye")
            return client
          })
        )
        assert.isFalse(yield* client.transport.isOpen)
        yield* settlesAt(idle)
      }
      // Neither the auth deadline (30 s) nor the ping deadline (32 s) of the closed connections fires.
      yield* TestClock.adjust("10 minutes")
      assert.deepStrictEqual(
        logs.filter((line) => line.startsWith("closing")),
        []
      )
      assert.strictEqual(yield* server.sessions, 0)
    }).pipe(Effect.provide(network()))
  )

  it.scoped("a key lookup in flight when the connection closes is interrupted, and admits nobody", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<void>()
      const { store, lookups } = yield* instrumentedStore({ gate })
      yield* Effect.gen(function* () {
        const { server, settlesAt, running } = yield* probedServer
        const idle = yield* running
        yield* Effect.scoped(
          Effect.gen(function* () {
            const client = yield* rawConnect(server.url)
            yield* client.next
            yield* client.send(fromHex(auth32Hex))
            while ((yield* Ref.get(lookups)) === 0) yield* Effect.yieldNow()
            yield* client.transport.close(1000, "bye")
          })
        )
        yield* settlesAt(idle)
        yield* Deferred.succeed(gate, undefined)
        yield* TestClock.adjust("10 minutes")
        assert.strictEqual(yield* server.sessions, 0)
        yield* settlesAt(idle)
      }).pipe(Effect.provide(network(store)))
    })
  )
})
