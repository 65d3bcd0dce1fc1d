/**
 * The Settings registry: setting id → value codec. The protocol defines no setting yet, so the
 * standard registry is empty and the only valid Settings packet is `01 ff`; a new id is one entry.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * A setting's value: `i8`/`i16`/`i32` decode to `number`, `i64` to `bigint`, `bool` to `boolean`.
 *
 * @since 0.1.0
 * @category models
 */
export type Value = number | bigint | boolean

/**
 * A fixed-size, big-endian, signed value codec. `decode` returns `undefined` for a malformed value;
 * `encode` expects a value that passed `accepts`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ValueCodec {
  readonly name: "i8" | "i16" | "i32" | "i64" | "bool"
  readonly size: number
  readonly decode: (view: DataView, offset: number) => Value | undefined
  readonly encode: (view: DataView, offset: number, value: Value) => void
  readonly accepts: (value: Value) => boolean
}

const intCodec = (name: "i8" | "i16" | "i32", size: 1 | 2 | 4): ValueCodec => {
  const min = -(2 ** (size * 8 - 1))
  const max = 2 ** (size * 8 - 1) - 1
  return {
    name,
    size,
    decode: (view, offset) =>
      size === 1 ? view.getInt8(offset) : size === 2 ? view.getInt16(offset) : view.getInt32(offset),
    encode: (view, offset, value) =>
      size === 1
        ? view.setInt8(offset, Number(value))
        : size === 2
          ? view.setInt16(offset, Number(value))
          : view.setInt32(offset, Number(value)),
    accepts: (value) => typeof value === "number" && Number.isInteger(value) && value >= min && value <= max
  }
}

/**
 * Signed 8-bit value → `number`.
 *
 * @since 0.1.0
 * @category codecs
 */
export const i8: ValueCodec = intCodec("i8", 1)
/**
 * Signed 16-bit big-endian value → `number`.
 *
 * @since 0.1.0
 * @category codecs
 */
export const i16: ValueCodec = intCodec("i16", 2)
/**
 * Signed 32-bit big-endian value → `number`.
 *
 * @since 0.1.0
 * @category codecs
 */
export const i32: ValueCodec = intCodec("i32", 4)

/**
 * Signed 64-bit big-endian value → `bigint`.
 *
 * @since 0.1.0
 * @category codecs
 */
export const i64: ValueCodec = {
  name: "i64",
  size: 8,
  decode: (view, offset) => view.getBigInt64(offset),
  encode: (view, offset, value) => view.setBigInt64(offset, BigInt(value)),
  accepts: (value) => typeof value === "bigint" && BigInt.asIntN(64, value) === value
}

/**
 * An `i8` that must be 0 (false) or 1 (true); anything else is malformed.
 *
 * @since 0.1.0
 * @category codecs
 */
export const bool: ValueCodec = {
  name: "bool",
  size: 1,
  decode: (view, offset) => {
    const byte = view.getInt8(offset)
    return byte === 0 ? false : byte === 1 ? true : undefined
  },
  encode: (view, offset, value) => view.setInt8(offset, value === true ? 1 : 0),
  accepts: (value) => typeof value === "boolean"
}

/**
 * A registered setting.
 *
 * @since 0.1.0
 * @category models
 */
export interface Definition {
  readonly id: number
  readonly name: string
  readonly codec: ValueCodec
}

/**
 * Setting id → definition.
 *
 * @since 0.1.0
 * @category models
 */
export type Registry = ReadonlyMap<number, Definition>

/**
 * The terminator of a Settings packet.
 *
 * @since 0.1.0
 * @category constants
 */
export const terminator = 0xff

/**
 * Builds a registry; ids must be 0x01..0xfe (0x00 is reserved, 0xff terminates the list).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeRegistry = (definitions: Iterable<Definition>): Registry => {
  const registry = new Map<number, Definition>()
  for (const definition of definitions) {
    if (!Number.isInteger(definition.id) || definition.id < 0x01 || definition.id > 0xfe) {
      throw new RangeError(`setting id ${definition.id} is outside 0x01..0xfe`)
    }
    if (registry.has(definition.id)) throw new RangeError(`setting id ${definition.id} is registered twice`)
    registry.set(definition.id, definition)
  }
  return registry
}

/**
 * The settings the protocol defines today: none (0x00 is reserved).
 *
 * @since 0.1.0
 * @category registries
 */
export const standard: Registry = makeRegistry([])

/**
 * One setting as sent in a Settings packet.
 *
 * @since 0.1.0
 * @category models
 */
export const Setting = Schema.Struct({
  id: Schema.Int.pipe(Schema.between(0, 0xfe)),
  value: Schema.Union(Schema.Number, Schema.BigIntFromSelf, Schema.Boolean)
})

/**
 * One setting: its id and its value.
 *
 * @since 0.1.0
 * @category models
 */
export type Setting = typeof Setting.Type
