import { Client, ClientError, Server } from "@protokernel/rwws"
import { Transport, MemoryTransport, WsTransport } from "@protokernel/wire"
import { assert, describe, it } from "@effect/vitest"
import {
  Chunk,
  Deferred,
  Duration,
  Effect,
  Either,
  Exit,
  Fiber,
  Layer,
  Option,
  Redacted,
  Ref,
  Stream,
  TestClock
} from "effect"
import { frameToHex, fromHex } from "../../../test/kit/bytes.js"
import { eventually } from "../../../test/kit/eventually.js"
import { rawPeer } from "../../../test/kit/rawPeer.js"
import { auth32Hex, key32, memoryServer, wsServer } from "./support/peers.js"

/** What a scripted server saw on one connection. */
interface Seen {
  readonly frames: Array<string>
  readonly closed: Deferred.Deferred<Transport.CloseError>
}

const closeSeen = (seen: Seen | undefined) =>
  seen === undefined ? Effect.dieMessage("no such connection") : Deferred.await(seen.closed)

/**
 * A scripted server on the in-memory network: `script` gets each connection and its index (from 0);
 * every frame the server receives and the close are recorded per connection.
 */
const scripted = (
  script: (transport: Transport.Transport, index: number) => Effect.Effect<void, Transport.CloseError>
) =>
  Effect.gen(function* () {
    const server = yield* Transport.TransportServer
    const connections = yield* Ref.make<Array<Seen>>([])
    yield* Effect.forkScoped(
      server.run((transport) =>
        Effect.gen(function* () {
          const seen: Seen = { frames: [], closed: yield* Deferred.make<Transport.CloseError>() }
          const index = (yield* Ref.getAndUpdate(connections, (all) => [...all, seen])).length
          // The script reads a copy, so that every frame is recorded whether the script reads or not.
          const peer = yield* rawPeer(transport, (frame) => seen.frames.push(frameToHex(frame)))
          yield* Effect.forkScoped(Effect.flatMap(peer.closed, (close) => Deferred.succeed(seen.closed, close)))
          yield* Effect.ignore(script({ ...transport, frames: Stream.repeatEffect(peer.next) }, index))
          yield* Deferred.await(seen.closed)
        })
      )
    )
    return { connections }
  })

const pongBytes = (time: bigint) => {
  const bytes = Buffer.alloc(9)
  bytes.writeBigInt64BE(time, 1)
  return Uint8Array.from(bytes)
}

/** Hello, then the auth Pong once the auth message arrives; then answers each Ping. */
const honest = (transport: Transport.Transport) =>
  Effect.gen(function* () {
    yield* transport.send(fromHex("6d73"))
    yield* transport.frames.pipe(
      Stream.runForEach((frame) => transport.send(pongBytes(typeof frame === "string" ? -1n : BigInt(frame.length)))),
      Effect.ignore
    )
  })

/** Hello, the auth Pong `pongBytes(1n)`, then `reply` to every later message. */
const authThen = (transport: Transport.Transport, reply: Effect.Effect<void, Transport.CloseError>) =>
  Effect.gen(function* () {
    yield* transport.send(fromHex("6d73"))
    yield* transport.frames.pipe(
      Stream.zipWithIndex,
      Stream.runForEach(([, index]) => (index === 0 ? transport.send(pongBytes(1n)) : reply))
    )
  })

/** Hello, then `reply` to the auth message. */
const answerAuthWith = (transport: Transport.Transport, reply: Uint8Array) =>
  Effect.gen(function* () {
    yield* transport.send(fromHex("6d73"))
    yield* transport.frames.pipe(Stream.take(1), Stream.runDrain)
    yield* transport.send(reply)
  })

const memory = MemoryTransport.layer({ maxMessageBytes: 64 * 1024 })
const options = { url: "memory://rwws", accessKey: key32 } as const

const waitState = (client: Client.RwwsClient["Type"], tag: Client.State["_tag"]) =>
  client.states.pipe(
    Stream.filter((state) => state._tag === tag),
    Stream.runHead,
    Effect.flatMap(Effect.orDie)
  )

describe("RwwsClient options", () => {
  it.scoped("refuses bad keys with the spec's messages and never echoes the key", () =>
    Effect.gen(function* () {
      const cases = [
        ["not*base64!", "access key is not valid base64"],
        ["   ", "access key is empty"],
        [Buffer.alloc(128, 7).toString("base64"), "access key is 128 bytes; rwws allows at most 127"]
      ] as const
      for (const [key, message] of cases) {
        const error = yield* Effect.flip(Client.make({ url: "memory://x", accessKey: Redacted.make(key) }))
        assert.strictEqual(error._tag, "InvalidAccessKey")
        assert.strictEqual(error.message, message)
        if (key.trim() !== "") assert.notInclude(String(error), key)
      }
    }).pipe(Effect.provide(memory))
  )

  it.scoped("rejects ping intervals over 30 s or not positive", () =>
    Effect.gen(function* () {
      for (const pingInterval of ["31 seconds", "30001 millis", "0 millis", Duration.infinity] as const) {
        const error = yield* Effect.flip(Client.make({ ...options, pingInterval }))
        assert.strictEqual(error._tag, "InvalidOptions")
      }
      const ok = yield* Effect.either(Client.make({ ...options, pingInterval: "30 seconds", reconnect: false }))
      assert.isTrue(Either.isRight(ok))
    }).pipe(Effect.provide(memory))
  )
})

describe("RwwsClient against the reference server (TestClock, in-memory)", () => {
  it.scoped("authenticates, then pings every 15 s by default and reports each Pong", () =>
    Effect.gen(function* () {
      const client = yield* Client.make(options)
      const pongs = yield* client.pongs.pipe(Stream.take(5), Stream.runCollect, Effect.fork)
      yield* client.awaitAuthenticated
      for (let i = 0; i < 4; i++) yield* TestClock.adjust("15 seconds")
      const received = Chunk.toArray(yield* Fiber.join(pongs))
      assert.deepStrictEqual(
        received.map((pong) => [pong.source, pong.serverTime, pong.receivedAt]),
        [
          ["auth", 0n, 0],
          ["ping", 15000n, 15000],
          ["ping", 30000n, 30000],
          ["ping", 45000n, 45000],
          ["ping", 60000n, 60000]
        ]
      )
      assert.isTrue(received.every((pong) => Option.isSome(pong.roundTrip)))
      const state = yield* client.state
      assert.strictEqual(state._tag, "Authenticated")
    }).pipe(Effect.provide(memoryServer()))
  )

  it.scoped("ping() waits for its own Pong; sendSettings sends 01 ff and is accepted", () =>
    Effect.gen(function* () {
      const client = yield* Client.make(options)
      const pong = yield* client.ping
      assert.deepStrictEqual([pong.source, Option.map(pong.roundTrip, Duration.toMillis)], ["ping", Option.some(0)])
      yield* client.sendSettings([])
      yield* TestClock.adjust("100 seconds")
      assert.strictEqual((yield* client.state)._tag, "Authenticated")
      const error = yield* Effect.flip(client.sendSettings([{ id: 5, value: 1 }]))
      assert.strictEqual(error.message, "unknown setting id 0x05")
    }).pipe(Effect.provide(memoryServer()))
  )

  it.scoped("close() ends with 1000, ends the Pong stream and stops reconnecting", () =>
    Effect.gen(function* () {
      const server = yield* scripted(honest)
      const client = yield* Client.make(options)
      const pongs = yield* Effect.fork(Stream.runCollect(client.pongs))
      yield* client.awaitAuthenticated
      yield* client.close
      assert.isTrue(Exit.isSuccess(yield* Fiber.await(pongs)))
      assert.strictEqual((yield* client.state)._tag, "Closed")
      yield* client.awaitEnd
      yield* TestClock.adjust("10 minutes")
      const connections = yield* Ref.get(server.connections)
      assert.strictEqual(connections.length, 1)
      const close = yield* closeSeen(connections[0])
      assert.deepStrictEqual([close.code, close.initiator], [1000, "remote"])
      assert.strictEqual((yield* Effect.flip(client.ping))._tag, "ClientClosed")
    }).pipe(Effect.provide(memory))
  )
})

describe("RwwsClient against scripted servers (TestClock, in-memory)", () => {
  it.scoped("sends exactly the auth message of spec §8 vector 2 after the hello", () =>
    Effect.gen(function* () {
      const server = yield* scripted(honest)
      const client = yield* Client.make({
        ...options,
        accessKey: Redacted.make(" AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA ")
      })
      yield* client.awaitAuthenticated
      const [first] = yield* Ref.get(server.connections)
      assert.strictEqual(first!.frames[0], auth32Hex)
    }).pipe(Effect.provide(memory))
  )

  it.scoped("reads several Pongs from one message (vector 13)", () =>
    Effect.gen(function* () {
      yield* scripted((transport) =>
        authThen(transport, transport.send(fromHex("0000000191 7fb36548 00000001917fb36642")))
      )
      const client = yield* Client.make(options)
      yield* client.awaitAuthenticated
      const pongs = yield* client.pongs.pipe(Stream.take(2), Stream.runCollect, Effect.fork)
      yield* TestClock.adjust("15 seconds")
      const times = Chunk.toArray(yield* Fiber.join(pongs)).map((pong) => [pong.serverTime, pong.source])
      assert.deepStrictEqual(times, [
        [1724424349000n, "ping"],
        [1724424349250n, "unsolicited"]
      ])
    }).pipe(Effect.provide(memory))
  )

  it.scoped("ignores text frames and drops the rest of a malformed message without closing", () =>
    Effect.gen(function* () {
      yield* scripted((transport) =>
        authThen(
          transport,
          Effect.zipRight(
            Effect.zipRight(transport.send("hi"), transport.send(fromHex("00 0000000000000007 05 00"))),
            transport.send(pongBytes(8n))
          )
        )
      )
      const client = yield* Client.make(options)
      const seen = yield* client.pongs.pipe(Stream.take(3), Stream.runCollect, Effect.fork)
      const answer = yield* client.ping
      assert.strictEqual(answer.serverTime, 7n)
      assert.deepStrictEqual(
        Chunk.toArray(yield* Fiber.join(seen)).map((pong) => [pong.source, pong.serverTime]),
        [
          ["auth", 1n],
          ["ping", 7n],
          ["unsolicited", 8n]
        ]
      )
      assert.strictEqual((yield* client.state)._tag, "Authenticated")
    }).pipe(Effect.provide(memory))
  )

  it.scoped("a missing Pong fails pending pings, closes 1000 'pong timeout' and reconnects", () =>
    Effect.gen(function* () {
      const server = yield* scripted((transport, index) =>
        index === 0 ? answerAuthWith(transport, pongBytes(1n)) : honest(transport)
      )
      const client = yield* Client.make(options)
      yield* client.awaitAuthenticated
      const pending = yield* Effect.fork(client.ping)
      yield* TestClock.adjust("14999 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(pending)))
      yield* TestClock.adjust("1 millis")
      const error = yield* Effect.flip(Fiber.join(pending))
      assert.deepStrictEqual([error._tag, error.message], ["Timeout", "pong timeout after 15000 ms"])
      const waiting = yield* waitState(client, "Waiting")
      assert.isTrue(waiting._tag === "Waiting" && waiting.error._tag === "Timeout")
      const [first] = yield* Ref.get(server.connections)
      const close = yield* closeSeen(first)
      assert.deepStrictEqual([close.code, close.reason], [1000, "pong timeout"])
      yield* TestClock.adjust("2 seconds")
      yield* client.awaitAuthenticated
      assert.strictEqual((yield* Ref.get(server.connections)).length, 2)
    }).pipe(Effect.provide(memory))
  )

  it.scoped("a wrong hello is fatal: closes 1002 and never reconnects", () =>
    Effect.gen(function* () {
      const server = yield* scripted((transport) => transport.send(fromHex("6d74")))
      const client = yield* Client.make(options)
      const error = yield* Effect.flip(client.awaitEnd)
      assert.deepStrictEqual([error._tag, error.message], ["BadHello", "bad_hello: expected 6d 73, received 6d 74"])
      yield* TestClock.adjust("10 minutes")
      const connections = yield* Ref.get(server.connections)
      assert.strictEqual(connections.length, 1)
      assert.strictEqual((yield* closeSeen(connections[0])).code, 1002)
      assert.strictEqual((yield* Effect.flip(client.awaitAuthenticated))._tag, "BadHello")
    }).pipe(Effect.provide(memory))
  )

  it.scoped("no hello within 10 s, or no auth answer within 25 s, closes and retries", () =>
    Effect.gen(function* () {
      const server = yield* scripted((transport, index) =>
        index === 0 ? Effect.void : index === 1 ? transport.send(fromHex("6d73")) : honest(transport)
      )
      const client = yield* Client.make({ ...options, reconnect: { initialDelay: "1 second", jitter: 0 } })
      yield* eventually(Effect.map(Ref.get(server.connections), (all) => all.length === 1))
      yield* TestClock.adjust("10 seconds")
      const first = yield* waitState(client, "Waiting")
      assert.isTrue(first._tag === "Waiting" && first.error.message === "hello timeout after 10000 ms")
      yield* TestClock.adjust("1 second")
      yield* eventually(
        Effect.map(Ref.get(server.connections), (all) => all.length === 2 && all[1]!.frames.length === 1)
      )
      yield* TestClock.adjust("24999 millis")
      assert.strictEqual((yield* client.state)._tag, "Connecting")
      yield* TestClock.adjust("1 millis")
      yield* waitState(client, "Waiting")
      yield* TestClock.adjust("2 seconds")
      yield* client.awaitAuthenticated
      const closes = yield* Effect.forEach((yield* Ref.get(server.connections)).slice(0, 2), (seen) =>
        Effect.map(closeSeen(seen), (close) => [close.code, close.reason])
      )
      assert.deepStrictEqual(closes, [
        [1000, "hello timeout"],
        [1000, "authentication timeout"]
      ])
    }).pipe(Effect.provide(memory))
  )

  it.scoped("an answer other than a Pong to the auth is a protocol error: 1002, then retry", () =>
    Effect.gen(function* () {
      const server = yield* scripted((transport, index) =>
        index === 0 ? answerAuthWith(transport, fromHex("01")) : honest(transport)
      )
      const client = yield* Client.make(options)
      const waiting = yield* waitState(client, "Waiting")
      assert.isTrue(waiting._tag === "Waiting" && waiting.error._tag === "ProtocolViolation")
      yield* TestClock.adjust("2 seconds")
      yield* client.awaitAuthenticated
      assert.strictEqual((yield* closeSeen((yield* Ref.get(server.connections))[0])).code, 1002)
    }).pipe(Effect.provide(memory))
  )

  it.scoped("reacts to each server close code as spec §5 says", () =>
    Effect.gen(function* () {
      const fatal = [3001, 3002, 3004, 1002, 1003, 1007, 1009]
      const retry = [3000, 3003, 3005, 1000, 1001, 1011]
      for (const code of [...fatal, ...retry]) {
        const outcome = yield* Effect.gen(function* () {
          yield* scripted((transport) => Effect.asVoid(transport.close(code, `closing ${code}`)))
          const client = yield* Client.make(options)
          const state = yield* client.states.pipe(
            Stream.filter((s) => s._tag === "Waiting" || s._tag === "Failed"),
            Stream.runHead,
            Effect.flatMap(Effect.orDie)
          )
          yield* client.close
          return state
        }).pipe(Effect.scoped, Effect.provide(memory))
        const expected = fatal.includes(code) ? "Failed" : "Waiting"
        assert.strictEqual(outcome._tag, expected, `close ${code}`)
        if (outcome._tag === "Failed" || outcome._tag === "Waiting") {
          assert.deepStrictEqual(
            outcome.error,
            new ClientError.ConnectionClosed({ code, reason: `closing ${code}`, initiator: "remote" })
          )
        }
      }
    })
  )

  it.scoped("backs off exponentially with jitter, up to 60 s", () =>
    Effect.gen(function* () {
      yield* scripted((transport) => Effect.asVoid(transport.close(1001, "going away")))
      const client = yield* Client.make(options)
      const delays: Array<number> = []
      for (let attempt = 2; attempt <= 9; attempt++) {
        const waiting = yield* waitState(client, "Waiting")
        if (waiting._tag !== "Waiting") return assert.fail("expected Waiting")
        assert.strictEqual(waiting.attempt, attempt)
        delays.push(Duration.toMillis(waiting.delay))
        yield* TestClock.adjust(waiting.delay)
      }
      const nominal = [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]
      delays.forEach((delay, i) => {
        assert.isAtLeast(delay, nominal[i]! * 0.8)
        assert.isAtMost(delay, nominal[i]! * 1.2)
      })
    }).pipe(Effect.provide(memory))
  )

  it.scoped("a ping asked for while reconnecting waits for the next session", () =>
    Effect.gen(function* () {
      yield* scripted((transport, index) =>
        index === 0 ? authThen(transport, Effect.asVoid(transport.close(3005, "server error"))) : honest(transport)
      )
      const client = yield* Client.make({ ...options, reconnect: { initialDelay: "1 second", jitter: 0 } })
      yield* client.awaitAuthenticated
      const first = yield* Effect.fork(client.ping)
      const failed = yield* Effect.flip(Fiber.join(first))
      assert.deepStrictEqual(
        failed,
        new ClientError.ConnectionClosed({ code: 3005, reason: "server error", initiator: "remote" })
      )
      yield* waitState(client, "Waiting")
      const second = yield* Effect.fork(client.ping)
      yield* TestClock.adjust("1 second")
      const pong = yield* Fiber.join(second)
      assert.strictEqual(pong.source, "ping")
    }).pipe(Effect.provide(memory))
  )

  it.scoped("re-sends the last settings after reconnecting", () =>
    Effect.gen(function* () {
      const server = yield* scripted((transport, index) =>
        index === 0
          ? Effect.zipRight(
              honest(transport).pipe(Effect.timeout("5 seconds"), Effect.ignore),
              Effect.asVoid(transport.close(3005, "server error"))
            )
          : honest(transport)
      )
      const client = yield* Client.make({ ...options, reconnect: { initialDelay: "1 second", jitter: 0 } })
      yield* client.sendSettings([])
      yield* TestClock.adjust("5 seconds")
      yield* TestClock.adjust("1 second")
      yield* client.awaitAuthenticated
      yield* client.ping
      const connections = yield* Ref.get(server.connections)
      assert.strictEqual(connections.length, 2)
      assert.deepStrictEqual(connections[1]!.frames.slice(1, 3), ["01ff", "00"])
    }).pipe(Effect.provide(memory))
  )
})

describe("RwwsClient ↔ RwwsServer over ws on 127.0.0.1", () => {
  it.scopedLive("authenticates and measures round trips", () =>
    Effect.gen(function* () {
      const server = yield* Server.RwwsServer
      const client = yield* Client.make({ url: server.url, accessKey: key32 })
      const pong = yield* client.ping
      assert.strictEqual(pong.source, "ping")
      assert.isTrue(Math.abs(Number(pong.serverTime) - Date.now()) < 5000)
      assert.isTrue(Option.isSome(pong.roundTrip))
      yield* client.sendSettings([])
      yield* client.ping
      assert.strictEqual(yield* server.sessions, 1)
    }).pipe(Effect.provide(wsServer()))
  )

  it.scopedLive("a wrong key fails with 3001 and does not reconnect", () =>
    Effect.gen(function* () {
      const server = yield* Server.RwwsServer
      const client = yield* Client.make({ url: server.url, accessKey: Redacted.make("d3Jvbmc=") })
      const error = yield* Effect.flip(client.awaitEnd)
      assert.deepStrictEqual(
        error,
        new ClientError.ConnectionClosed({
          code: 3001,
          reason: "unauthorized: invalid access key",
          initiator: "remote"
        })
      )
      assert.strictEqual((yield* client.state)._tag, "Failed")
    }).pipe(Effect.provide(wsServer()))
  )

  it.scopedLive("revocation ends the client with 3004 and the Pong stream fails with it", () =>
    Effect.gen(function* () {
      const server = yield* Server.RwwsServer
      const client = yield* Client.make({ url: server.url, accessKey: key32 })
      yield* client.awaitAuthenticated
      const pongs = yield* Effect.fork(Stream.runDrain(client.pongs))
      yield* Effect.sleep("20 millis")
      assert.strictEqual(yield* server.revoke(key32), 1)
      const error = yield* Effect.flip(Fiber.join(pongs))
      assert.deepStrictEqual(
        error,
        new ClientError.ConnectionClosed({ code: 3004, reason: "access key revoked", initiator: "remote" })
      )
    }).pipe(Effect.provide(wsServer()))
  )

  it.scopedLive("a 3003 ping timeout is retried and the client authenticates again", () =>
    Effect.gen(function* () {
      const server = yield* Server.RwwsServer
      const client = yield* Client.make({
        url: server.url,
        accessKey: key32,
        pingInterval: "30 seconds",
        reconnect: { initialDelay: "20 millis" }
      })
      yield* client.awaitAuthenticated
      const waiting = yield* waitState(client, "Waiting")
      assert.isTrue(
        waiting._tag === "Waiting" && waiting.error._tag === "ConnectionClosed" && waiting.error.code === 3003
      )
      yield* waitState(client, "Authenticated")
    }).pipe(Effect.provide(wsServer(undefined, { pingLimit: "150 millis", pingGrace: "0 millis" })))
  )

  it.scopedLive("a refused connection is retried", () =>
    Effect.gen(function* () {
      const client = yield* Client.make({
        url: "ws://127.0.0.1:1/api/ws",
        accessKey: key32,
        reconnect: { initialDelay: "10 millis" }
      })
      const waiting = yield* waitState(client, "Waiting")
      assert.isTrue(waiting._tag === "Waiting" && waiting.error._tag === "ConnectError")
    }).pipe(Effect.provide(WsTransport.layerConnector))
  )
})

void Deferred
void Layer
