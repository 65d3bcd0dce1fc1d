import { assert, describe, it } from "@effect/vitest"
import { fuzzParameters } from "../../../test/kit/fuzz.js"
import * as Packet from "../src/Packet.js"
import * as Settings from "../src/Settings.js"
import { fromHex, toHex } from "../../../test/kit/bytes.js"
import { left, right } from "../../../test/kit/unwrap.js"
import { setting, testRegistry } from "./support/registry.js"

const settingsPacket = (...settings: Array<Settings.Setting>): Packet.SettingsPacket => ({ _tag: "Settings", settings })

describe("Settings codecs", () => {
  it("have the spec's sizes", () => {
    assert.deepStrictEqual(
      [Settings.i8, Settings.i16, Settings.i32, Settings.i64, Settings.bool].map(({ name, size }) => [name, size]),
      [
        ["i8", 1],
        ["i16", 2],
        ["i32", 4],
        ["i64", 8],
        ["bool", 1]
      ]
    )
    assert.strictEqual(Settings.terminator, 0xff)
  })

  it("round-trip every codec, big-endian and signed, through a Settings packet", () => {
    const packet = settingsPacket(
      { id: 0x01, value: -1 },
      { id: 0x02, value: -300 },
      { id: 0x10, value: -(2 ** 31) },
      { id: 0x7f, value: 0x0102030405060708n },
      { id: 0xfe, value: true },
      { id: 0xfe, value: false }
    )
    const wire = "01" + "01ff" + "02fed4" + "1080000000" + "7f0102030405060708" + "fe01" + "fe00" + "ff"
    assert.strictEqual(toHex(right(Packet.encodeClient([packet], testRegistry))), wire)
    assert.deepStrictEqual(right(Packet.decodeClient(fromHex(wire), testRegistry)), [packet])
  })

  it("read the extremes of each integer codec", () => {
    const wire = fromHex("01 01 80 01 7f 02 80 00 02 7f ff 10 7f ff ff ff 7f ff ff ff ff ff ff ff ff ff")
    assert.deepStrictEqual(right(Packet.decodeClient(wire, testRegistry)), [
      settingsPacket(
        { id: 0x01, value: -128 },
        { id: 0x01, value: 127 },
        { id: 0x02, value: -32768 },
        { id: 0x02, value: 32767 },
        { id: 0x10, value: 2 ** 31 - 1 },
        { id: 0x7f, value: -1n }
      )
    ])
  })

  it("bool: a byte other than 0 or 1 is an invalid value", () => {
    for (const byte of [0x02, 0x7f, 0x80, 0xff]) {
      const error = left(Packet.decodeClient(Uint8Array.of(0x01, 0xfe, byte, 0xff), testRegistry))
      assert.strictEqual(error.reason, "InvalidSettingValue")
      assert.strictEqual(error.byte, 0xfe)
      assert.strictEqual(error.offset, 1)
      assert.strictEqual(error.message, "invalid value for setting 0xfe")
    }
    const after = Packet.decodeClientMessage(fromHex("00 01 fe 01 fe 02 ff"), testRegistry)
    assert.deepStrictEqual(after.packets, [Packet.ping])
    assert.strictEqual(after.error?.reason, "InvalidSettingValue")
    assert.strictEqual(after.error?.offset, 4)
  })

  it("a value cut off by the end of the message means a missing terminator", () => {
    for (const wire of ["01 02 00", "01 10 00 00 00", "01 7f 00 00 00 00 00 00 00", "01 01", "01 01 05", "01 fe 01"]) {
      const error = left(Packet.decodeClient(fromHex(wire), testRegistry))
      assert.strictEqual(error.reason, "SettingsNotTerminated", wire)
      assert.strictEqual(error.offset, 0)
      assert.strictEqual(error.message, "settings packet not terminated (missing 0xff)")
    }
  })

  it("a 0xff inside a value is a value byte, not the terminator", () => {
    assert.deepStrictEqual(right(Packet.decodeClient(fromHex("01 02 ff ff ff"), testRegistry)), [
      settingsPacket({ id: 0x02, value: -1 })
    ])
    assert.strictEqual(left(Packet.decodeClient(fromHex("01 02 ff ff"), testRegistry)).reason, "SettingsNotTerminated")
  })

  it("unknown ids fail even in a custom registry", () => {
    const error = left(Packet.decodeClient(fromHex("01 01 00 03 00 ff"), testRegistry))
    assert.strictEqual(error.reason, "UnknownSettingId")
    assert.strictEqual(error.byte, 0x03)
    assert.strictEqual(error.offset, 3)
    assert.strictEqual(error.message, "unknown setting id 0x03")
    assert.strictEqual(left(Packet.decodeClient(fromHex("01 00 ff"), testRegistry)).message, "unknown setting id 0x00")
  })

  it("encoding refuses values outside the codec and ids outside the registry", () => {
    const refused: Array<Settings.Setting> = [
      { id: 0x01, value: 128 },
      { id: 0x01, value: -129 },
      { id: 0x01, value: 1.5 },
      { id: 0x01, value: 1n },
      { id: 0x02, value: 32768 },
      { id: 0x10, value: 2 ** 31 },
      { id: 0x10, value: Number.NaN },
      { id: 0x7f, value: 2n ** 63n },
      { id: 0x7f, value: -(2n ** 63n) - 1n },
      { id: 0x7f, value: 1 },
      { id: 0xfe, value: 1 }
    ]
    for (const s of refused) {
      const error = left(Packet.encodeClient([settingsPacket(s)], testRegistry))
      assert.strictEqual(error.reason, "InvalidSettingValue", `${s.id}: ${String(s.value)}`)
      assert.strictEqual(error.byte, s.id)
    }
    const unknown = left(Packet.encodeClient([Packet.ping, settingsPacket({ id: 0x03, value: 0 })], testRegistry))
    assert.strictEqual(unknown.reason, "UnknownSettingId")
    assert.strictEqual(unknown.message, "unknown setting id 0x03")
  })

  it.prop(
    "any valid setting round-trips alone",
    [setting],
    ([s]) => {
      const encoded = right(Packet.encodeClient([settingsPacket(s)], testRegistry))
      assert.strictEqual(encoded.length, 3 + testRegistry.get(s.id)!.codec.size)
      assert.strictEqual(encoded[1], s.id)
      assert.deepStrictEqual(right(Packet.decodeClient(encoded, testRegistry)), [settingsPacket(s)])
    },
    { fastCheck: fuzzParameters() }
  )
})

describe("Settings.makeRegistry", () => {
  const definition = (id: number): Settings.Definition => ({ id, name: `s${id}`, codec: Settings.i8 })

  it("accepts ids 0x01..0xfe", () => {
    const registry = Settings.makeRegistry([definition(0x01), definition(0xfe)])
    assert.strictEqual(registry.size, 2)
    assert.strictEqual(registry.get(0xfe)?.name, "s254")
    assert.isUndefined(registry.get(0x02))
  })

  it("rejects the reserved id, the terminator, out-of-range ids and duplicates", () => {
    assert.throws(() => Settings.makeRegistry([definition(0x00)]), RangeError, "outside 0x01..0xfe")
    assert.throws(() => Settings.makeRegistry([definition(0xff)]), RangeError, "outside 0x01..0xfe")
    assert.throws(() => Settings.makeRegistry([definition(0x100)]), RangeError, "outside 0x01..0xfe")
    assert.throws(() => Settings.makeRegistry([definition(-1)]), RangeError, "outside 0x01..0xfe")
    assert.throws(() => Settings.makeRegistry([definition(1.5)]), RangeError, "outside 0x01..0xfe")
    assert.throws(() => Settings.makeRegistry([definition(7), definition(7)]), RangeError, "registered twice")
  })
})
