import { FastCheck } from "effect"
import * as Packet from "../../src/Packet.js"
import * as Settings from "../../src/Settings.js"

/** A registry with one setting per codec; the protocol's own registry is empty. */
export const testRegistry: Settings.Registry = Settings.makeRegistry([
  { id: 0x01, name: "small", codec: Settings.i8 },
  { id: 0x02, name: "short", codec: Settings.i16 },
  { id: 0x10, name: "int", codec: Settings.i32 },
  { id: 0x7f, name: "long", codec: Settings.i64 },
  { id: 0xfe, name: "flag", codec: Settings.bool }
])

/** Ids with no entry in `testRegistry` (excluding the 0xff terminator). */
export const unregisteredIds: ReadonlyArray<number> = Array.from({ length: 0xff }, (_, id) => id).filter(
  (id) => !testRegistry.has(id)
)

/** A setting valid for `testRegistry`, value drawn from its codec's full range. */
export const setting: FastCheck.Arbitrary<Settings.Setting> = FastCheck.oneof(
  FastCheck.integer({ min: -128, max: 127 }).map((value) => ({ id: 0x01, value })),
  FastCheck.integer({ min: -32768, max: 32767 }).map((value) => ({ id: 0x02, value })),
  FastCheck.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((value) => ({ id: 0x10, value })),
  FastCheck.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((value) => ({ id: 0x7f, value })),
  FastCheck.boolean().map((value) => ({ id: 0xfe, value }))
)

/** A client packet valid for `testRegistry`. */
export const clientPacket: FastCheck.Arbitrary<Packet.ClientPacket> = FastCheck.oneof(
  FastCheck.constant(Packet.ping),
  FastCheck.array(setting, { maxLength: 6 }).map((settings): Packet.SettingsPacket => ({ _tag: "Settings", settings }))
)

/** Bytes biased towards the ids that matter (0x00, 0x01, 0xff and the test registry's setting ids). */
export const interestingBytes: FastCheck.Arbitrary<Uint8Array> = FastCheck.oneof(
  FastCheck.uint8Array({ maxLength: 64 }),
  FastCheck.array(
    FastCheck.oneof(FastCheck.constantFrom(0x00, 0x01, 0x02, 0x05, 0x10, 0x7f, 0xfe, 0xff), FastCheck.nat(255)),
    { maxLength: 64 }
  ).map((array) => Uint8Array.from(array))
)
