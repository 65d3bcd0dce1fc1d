import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, FastCheck } from "effect"
import { fuzzParameters } from "../../../test/kit/fuzz.js"
import * as Packet from "../src/Packet.js"
import { PacketError } from "../src/PacketError.js"
import * as Settings from "../src/Settings.js"
import { fromHex, startsWith, toHex } from "../../../test/kit/bytes.js"
import { left, right } from "../../../test/kit/unwrap.js"
import { clientPacket, interestingBytes, testRegistry } from "./support/registry.js"

const emptySettings: Packet.SettingsPacket = { _tag: "Settings", settings: [] }

const assertError = (
  error: PacketError,
  expected: { readonly reason: PacketError["reason"]; readonly byte: number; readonly offset: number; message: string }
) => {
  assert.instanceOf(error, PacketError)
  assert.strictEqual(error._tag, "PacketError")
  assert.deepStrictEqual(
    { reason: error.reason, byte: error.byte, offset: error.offset, message: error.message },
    expected
  )
}

describe("Packet, server → client (Pong)", () => {
  it("#3: a Pong is 00 + big-endian i64", () => {
    const wire = "0000000191 7fb36548".replace(" ", "")
    assert.strictEqual(toHex(Packet.encodePong(1724424349000n)), wire)
    assert.strictEqual(toHex(Packet.encodeServer([Packet.pong(1724424349000n)])), wire)
    assert.deepStrictEqual(right(Packet.decodeServer(fromHex(wire))), [{ _tag: "Pong", time: 1724424349000n }])
  })

  it("#3: the little-endian bytes are not that time", () => {
    const littleEndian = fromHex("00 48 65 b3 7f 91 01 00 00")
    assert.notStrictEqual(toHex(Packet.encodePong(1724424349000n)), toHex(littleEndian))
    // Read big-endian, as the spec says, these bytes are a very different number.
    assert.deepStrictEqual(right(Packet.decodeServer(littleEndian)), [{ _tag: "Pong", time: 0x4865b37f91010000n }])
  })

  it("#13: two Pongs in one message", () => {
    const wire = fromHex("00 00 00 01 91 7f b3 65 48 00 00 00 01 91 7f b3 66 42")
    assert.deepStrictEqual(right(Packet.decodeServer(wire)), [
      { _tag: "Pong", time: 1724424349000n },
      { _tag: "Pong", time: 1724424349250n }
    ])
    assert.strictEqual(
      toHex(Packet.encodeServer([Packet.pong(1724424349000n), Packet.pong(1724424349250n)])),
      toHex(wire)
    )
  })

  it("#14: Pong for 2025-01-01T00:00:00Z", () => {
    assert.strictEqual(toHex(Packet.encodePong(1735689600000n)), "0000000194 1f297c00".replace(" ", ""))
    assert.deepStrictEqual(right(Packet.decodeServer(fromHex("00 00 00 01 94 1f 29 7c 00"))), [
      { _tag: "Pong", time: 1735689600000n }
    ])
  })

  it("#15: Pong for 0 and for -1 (signed)", () => {
    assert.strictEqual(toHex(Packet.encodePong(0n)), "000000000000000000")
    assert.strictEqual(toHex(Packet.encodePong(-1n)), "00ffffffffffffffff")
    assert.deepStrictEqual(right(Packet.decodeServer(fromHex("00 00 00 00 00 00 00 00 00"))), [Packet.pong(0n)])
    assert.deepStrictEqual(right(Packet.decodeServer(fromHex("00 ff ff ff ff ff ff ff ff"))), [Packet.pong(-1n)])
  })

  it("reads the i64 extremes", () => {
    assert.deepStrictEqual(
      right(Packet.decodeServer(fromHex("00 80 00 00 00 00 00 00 00 00 7f ff ff ff ff ff ff ff"))),
      [Packet.pong(-(2n ** 63n)), Packet.pong(2n ** 63n - 1n)]
    )
  })

  it("an empty message holds no packets", () => {
    assert.deepStrictEqual(right(Packet.decodeServer(new Uint8Array(0))), [])
    assert.deepStrictEqual(Packet.decodeServerMessage(new Uint8Array(0)), { packets: [], error: undefined })
    assert.strictEqual(Packet.encodeServer([]).length, 0)
  })

  it("reads a subarray at its own offset", () => {
    const backing = fromHex("ff ff 00 00 00 01 91 7f b3 65 48 ff")
    assert.deepStrictEqual(right(Packet.decodeServer(backing.subarray(2, 11))), [Packet.pong(1724424349000n)])
  })

  it("rejects unknown ids and cut-off Pongs, keeping the packets before", () => {
    assertError(left(Packet.decodeServer(fromHex("01"))), {
      reason: "UnknownPacketId",
      byte: 1,
      offset: 0,
      message: "unknown packet id 0x01"
    })
    const afterPong = Packet.decodeServerMessage(fromHex("00 00 00 00 00 00 00 00 2a ab"))
    assert.deepStrictEqual(afterPong.packets, [Packet.pong(42n)])
    assertError(afterPong.error!, {
      reason: "UnknownPacketId",
      byte: 0xab,
      offset: 9,
      message: "unknown packet id 0xab"
    })

    const cut = Packet.decodeServerMessage(fromHex("00 00 00 00 00 00 00 00 2a 00 00 00"))
    assert.deepStrictEqual(cut.packets, [Packet.pong(42n)])
    assertError(cut.error!, { reason: "Truncated", byte: 0, offset: 9, message: "packet 0x00 cut off at byte 9" })
    assertError(left(Packet.decodeServer(fromHex("00"))), {
      reason: "Truncated",
      byte: 0,
      offset: 0,
      message: "packet 0x00 cut off at byte 0"
    })
    assert.strictEqual(Packet.decodeServer(fromHex("00 00 00 00 00 00 00 00")).pipe(left).reason, "Truncated")
  })
})

describe("Packet, client → server", () => {
  it("#4: two Pings and an empty Settings in one message", () => {
    const packets = right(Packet.decodeClient(fromHex("00 00 01 ff")))
    assert.deepStrictEqual(packets, [Packet.ping, Packet.ping, emptySettings])
    assert.strictEqual(toHex(right(Packet.encodeClient([Packet.ping, Packet.ping, emptySettings]))), "000001ff")
  })

  it("#5: a Ping alone, an empty Settings alone", () => {
    assert.deepStrictEqual(right(Packet.decodeClient(fromHex("00"))), [{ _tag: "Ping" }])
    assert.deepStrictEqual(right(Packet.decodeClient(fromHex("01 ff"))), [emptySettings])
    assert.strictEqual(toHex(right(Packet.encodeClient([Packet.ping]))), "00")
    assert.strictEqual(toHex(right(Packet.encodeClient([emptySettings]))), "01ff")
    assert.strictEqual(right(Packet.encodeClient([])).length, 0)
  })

  it("an empty message holds no packets", () => {
    assert.deepStrictEqual(right(Packet.decodeClient(new Uint8Array(0))), [])
  })

  it("#11: an unknown packet after a Ping fails the whole message", () => {
    const error = left(Packet.decodeClient(fromHex("00 05")))
    assertError(error, { reason: "UnknownPacketId", byte: 5, offset: 1, message: "unknown packet id 0x05" })
    const partial = Packet.decodeClientMessage(fromHex("00 05"))
    assert.deepStrictEqual(partial.packets, [Packet.ping])
    assert.strictEqual(partial.error?.message, "unknown packet id 0x05")
  })

  it("names unknown packet ids as two lowercase hex digits", () => {
    assert.strictEqual(left(Packet.decodeClient(fromHex("ff"))).message, "unknown packet id 0xff")
    assert.strictEqual(left(Packet.decodeClient(fromHex("ab"))).message, "unknown packet id 0xab")
    assert.strictEqual(left(Packet.decodeClient(fromHex("02"))).message, "unknown packet id 0x02")
  })

  it("#12: Settings with the reserved id 0x00", () => {
    assertError(left(Packet.decodeClient(fromHex("01 00 ff"))), {
      reason: "UnknownSettingId",
      byte: 0,
      offset: 1,
      message: "unknown setting id 0x00"
    })
  })

  it("#12: Settings without its terminator", () => {
    assertError(left(Packet.decodeClient(fromHex("01"))), {
      reason: "SettingsNotTerminated",
      byte: 1,
      offset: 0,
      message: "settings packet not terminated (missing 0xff)"
    })
    const afterPing = Packet.decodeClientMessage(fromHex("00 01"))
    assert.deepStrictEqual(afterPing.packets, [Packet.ping])
    assertError(afterPing.error!, {
      reason: "SettingsNotTerminated",
      byte: 1,
      offset: 1,
      message: "settings packet not terminated (missing 0xff)"
    })
  })

  it("with the standard registry, every setting id is unknown", () => {
    assert.strictEqual(Settings.standard.size, 0)
    for (let id = 0; id < 0xff; id++) {
      const error = left(Packet.decodeClient(Uint8Array.of(0x01, id, 0xff)))
      assert.strictEqual(error.reason, "UnknownSettingId")
      assert.strictEqual(error.message, `unknown setting id 0x${id.toString(16).padStart(2, "0")}`)
    }
    assert.strictEqual(
      left(Packet.encodeClient([{ _tag: "Settings", settings: [{ id: 1, value: 1 }] }])).reason,
      "UnknownSettingId"
    )
  })

  it("settings packets after other packets", () => {
    const wire = fromHex("00 01 01 7f ff 00 01 ff")
    assert.deepStrictEqual(right(Packet.decodeClient(wire, testRegistry)), [
      Packet.ping,
      { _tag: "Settings", settings: [{ id: 1, value: 127 }] },
      Packet.ping,
      emptySettings
    ])
    assert.strictEqual(left(Packet.decodeClient(wire)).message, "unknown setting id 0x01")
  })
})

describe("Packet properties", () => {
  it.prop(
    "client packet sequences round-trip through encodeClient/decodeClient",
    [FastCheck.array(clientPacket, { maxLength: 30 })],
    ([packets]) => {
      const encoded = right(Packet.encodeClient(packets, testRegistry))
      const size = packets.reduce(
        (sum, packet) =>
          packet._tag === "Ping"
            ? sum + 1
            : sum + 2 + packet.settings.reduce((s, { id }) => s + 1 + testRegistry.get(id)!.codec.size, 0),
        0
      )
      assert.strictEqual(encoded.length, size)
      assert.deepStrictEqual(right(Packet.decodeClient(encoded, testRegistry)), packets)
    },
    { fastCheck: fuzzParameters() }
  )

  it.prop(
    "Pong sequences round-trip through encodeServer/decodeServer, big-endian",
    [FastCheck.array(Arbitrary.make(Packet.Pong), { maxLength: 30 })],
    ([pongs]) => {
      const encoded = Packet.encodeServer(pongs)
      assert.strictEqual(encoded.length, pongs.length * 9)
      const buffer = Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength)
      pongs.forEach((pong, i) => {
        assert.strictEqual(encoded[i * 9], 0x00)
        assert.strictEqual(buffer.readBigInt64BE(i * 9 + 1), pong.time)
      })
      assert.deepStrictEqual(right(Packet.decodeServer(encoded)), pongs)
    },
    { fastCheck: fuzzParameters() }
  )

  it.prop(
    "encodePong agrees with encodeServer over the i64 range",
    [FastCheck.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })],
    ([time]) => {
      assert.strictEqual(toHex(Packet.encodePong(time)), toHex(Packet.encodeServer([Packet.pong(time)])))
      assert.deepStrictEqual(right(Packet.decodeServer(Packet.encodePong(time))), [Packet.pong(time)])
    },
    { fastCheck: fuzzParameters() }
  )

  it.prop(
    "decodeServerMessage is total: a valid prefix, then at most one error at the next packet",
    [interestingBytes],
    ([input]) => {
      const decoded = Packet.decodeServerMessage(input)
      const either = Packet.decodeServer(input)
      const prefix = Packet.encodeServer(decoded.packets)
      assert.isTrue(startsWith(input, prefix))
      if (decoded.error === undefined) {
        assert.strictEqual(prefix.length, input.length)
        assert.deepStrictEqual(right(either), decoded.packets)
      } else {
        const error = decoded.error
        assert.instanceOf(error, PacketError)
        assert.isAbove(error.message.length, 0)
        assert.strictEqual(error.offset, prefix.length)
        assert.strictEqual(error.byte, input[error.offset])
        assert.strictEqual(error.reason, input[error.offset] === 0 ? "Truncated" : "UnknownPacketId")
        assert.deepStrictEqual(left(either), error)
      }
    },
    { fastCheck: fuzzParameters() }
  )

  for (const [name, registry] of [
    ["standard", Settings.standard],
    ["test", testRegistry]
  ] as const) {
    it.prop(
      `decodeClientMessage is total (${name} registry): valid input re-encodes to itself`,
      [interestingBytes],
      ([input]) => {
        const decoded = Packet.decodeClientMessage(input, registry)
        const either = Packet.decodeClient(input, registry)
        const prefix = right(Packet.encodeClient(decoded.packets, registry))
        assert.isTrue(startsWith(input, prefix))
        if (decoded.error === undefined) {
          assert.strictEqual(toHex(prefix), toHex(input))
          assert.deepStrictEqual(right(either), decoded.packets)
        } else {
          const error = decoded.error
          assert.instanceOf(error, PacketError)
          assert.isAbove(error.message.length, 0)
          assert.isAtLeast(error.offset, prefix.length)
          assert.isBelow(error.offset, input.length)
          if (error.reason === "UnknownPacketId") {
            assert.strictEqual(error.offset, prefix.length)
            assert.notInclude([0x00, 0x01], input[error.offset])
          } else if (error.reason === "SettingsNotTerminated") {
            assert.strictEqual(error.offset, prefix.length)
            assert.strictEqual(input[error.offset], 0x01)
          } else {
            assert.strictEqual(input[error.offset], error.byte)
            if (error.reason === "UnknownSettingId") assert.isFalse(registry.has(error.byte))
            else assert.strictEqual(registry.get(error.byte)?.codec.name, "bool")
          }
          assert.deepStrictEqual(left(either), error)
        }
      },
      { fastCheck: fuzzParameters() }
    )
  }
})
