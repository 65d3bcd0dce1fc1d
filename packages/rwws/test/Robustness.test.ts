/**
 * Arbitrary traffic against both sides (in memory, virtual time): the server answers exactly as the
 * spec says or closes with the spec's code, and never fails on its own; the client ignores what it
 * must ignore and stays usable.
 */
import { Client, Handshake, Packet, Server } from "@protokernel/rwws"
import { Transport, MemoryTransport } from "@protokernel/wire"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, FastCheck, Stream } from "effect"
import { fuzzParameters } from "../../../test/kit/fuzz.js"
import { interestingBytes } from "./support/registry.js"
import { auth32Hex, key32, key32Bytes, memoryServer, rawAuthenticated, rawConnect } from "./support/peers.js"

/** A message after authentication: packets the server knows, arbitrary bytes, or text. */
const message: FastCheck.Arbitrary<Transport.Frame> = FastCheck.oneof(
  { weight: 4, arbitrary: FastCheck.array(FastCheck.constantFrom("00", "01ff"), { maxLength: 6 }).map(fromHex) },
  { weight: 3, arbitrary: interestingBytes },
  { weight: 1, arbitrary: FastCheck.string({ maxLength: 8 }) }
)

function fromHex(parts: ReadonlyArray<string>): Uint8Array {
  return Uint8Array.from(Buffer.from(parts.join(""), "hex"))
}

/** What the spec says the server does with `messages`: Pongs to expect, and the close if one is due. */
const expected = (messages: ReadonlyArray<Transport.Frame>) => {
  let pongs = 0
  for (const frame of messages) {
    if (typeof frame === "string") return { pongs, close: [1003, "binary frames only"] as const }
    const packets = Packet.decodeClient(frame)
    if (packets._tag === "Left") return { pongs, close: [1002, packets.left.message] as const }
    pongs += packets.right.filter((packet) => packet._tag === "Ping").length
  }
  return { pongs, close: undefined }
}

describe("robustness under arbitrary traffic", () => {
  it.effect.prop(
    "any first message gets the close of the spec's check order, or the Pong for the known key",
    [
      FastCheck.oneof(
        interestingBytes,
        FastCheck.uint8Array({ maxLength: 40 }).map((tail) => Uint8Array.from([0xb6, 0xc4, ...tail])),
        FastCheck.constant(Uint8Array.from(Buffer.from(auth32Hex, "hex"))),
        FastCheck.string({ maxLength: 8 })
      )
    ],
    ([first]) =>
      Effect.gen(function* () {
        const server = yield* Server.RwwsServer
        const client = yield* rawConnect(server.url)
        yield* client.next
        yield* client.send(first)
        const auth = Handshake.decodeAuth(first)
        // A rejection sends nothing before its close; an acceptance sends the Pong.
        const reply = yield* Effect.either(client.next)
        const known = Either.isRight(auth) && Buffer.from(auth.right).equals(Buffer.from(key32Bytes))
        const expectedClose = Either.isLeft(auth)
          ? auth.left
          : known
            ? undefined
            : { code: 3001, reason: "unauthorized: invalid access key" }
        if (expectedClose === undefined) {
          assert.isTrue(Either.isRight(reply) && typeof reply.right !== "string" && reply.right.length === 9)
        } else {
          assert.isTrue(Either.isLeft(reply))
          if (Either.isLeft(reply)) {
            assert.deepStrictEqual(
              { code: reply.left.code, reason: reply.left.reason },
              { code: expectedClose.code, reason: expectedClose.reason }
            )
          }
        }
      }).pipe(Effect.scoped, Effect.provide(memoryServer())),
    { fastCheck: fuzzParameters(60) }
  )

  it.effect.prop(
    "the server answers each valid message whole, closes 1002/1003 on the first bad one, and nothing else",
    [FastCheck.array(message, { maxLength: 8 })],
    ([messages]) =>
      Effect.gen(function* () {
        const server = yield* Server.RwwsServer
        const client = yield* rawAuthenticated(server.url)
        const outcome = expected(messages)
        for (const frame of messages) {
          yield* client.send(frame)
          if (typeof frame === "string" || Packet.decodeClient(frame)._tag === "Left") break
        }
        if (outcome.close === undefined) {
          yield* client.send(Uint8Array.of(0))
          const replies = yield* Effect.forEach(Array.from({ length: outcome.pongs + 1 }), () => client.next)
          assert.isTrue(replies.every((reply) => typeof reply !== "string" && reply.length === 9))
          assert.isTrue(yield* client.transport.isOpen)
        } else {
          const { frames, close } = yield* client.rest
          assert.strictEqual(frames.length, outcome.pongs)
          assert.deepStrictEqual(
            { code: close.code, reason: close.reason },
            { code: outcome.close[0], reason: outcome.close[1] }
          )
        }
      }).pipe(Effect.scoped, Effect.provide(memoryServer())),
    { fastCheck: fuzzParameters(60) }
  )

  it.effect.prop(
    "the client survives arbitrary server messages after authentication and keeps pinging",
    [FastCheck.array(message, { maxLength: 6 })],
    ([junk]) =>
      Effect.gen(function* () {
        const server = yield* Transport.TransportServer
        yield* Effect.forkScoped(
          server.run((transport) =>
            Effect.gen(function* () {
              const marker = Uint8Array.from(Buffer.from("00000000000000beef", "hex"))
              yield* transport.send(Uint8Array.of(0x6d, 0x73))
              yield* transport.frames.pipe(
                Stream.zipWithIndex,
                Stream.runForEach(([, index]) =>
                  index === 0
                    ? Effect.zipRight(
                        transport.send(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 1)),
                        Effect.forEach(junk, transport.send)
                      )
                    : transport.send(marker)
                )
              )
            }).pipe(Effect.ignore)
          )
        )
        const client = yield* Client.make({ url: server.url, accessKey: key32 })
        yield* client.awaitAuthenticated
        const pong = yield* client.ping
        assert.strictEqual(pong.serverTime, 0xbeefn)
        assert.strictEqual((yield* client.state)._tag, "Authenticated")
      }).pipe(Effect.scoped, Effect.provide(MemoryTransport.layer())),
    { fastCheck: fuzzParameters(60) }
  )
})
