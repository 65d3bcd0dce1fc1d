/**
 * rwws packets and their codec: a binary message is a sequence of packets, each an id byte followed
 * by its arguments, big-endian and signed. Decoding is total: malformed bytes give a `PacketError`,
 * never an exception.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { PacketError } from "./PacketError.js"
import * as Settings from "./Settings.js"

/**
 * A signed 64-bit integer.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Int64 = Schema.BigIntFromSelf.pipe(Schema.betweenBigInt(-(2n ** 63n), 2n ** 63n - 1n))

/**
 * Client → server `0x00`: asks for a Pong and resets the server's keepalive clock.
 *
 * @since 0.1.0
 * @category models
 */
export const Ping = Schema.TaggedStruct("Ping", {})

/**
 * The Ping packet.
 *
 * @since 0.1.0
 * @category models
 */
export type Ping = typeof Ping.Type

/**
 * Client → server `0x01`: settings, then the `0xff` terminator. The server sends no reply.
 *
 * @since 0.1.0
 * @category models
 */
export const SettingsPacket = Schema.TaggedStruct("Settings", { settings: Schema.Array(Settings.Setting) })

/**
 * The Settings packet.
 *
 * @since 0.1.0
 * @category models
 */
export type SettingsPacket = typeof SettingsPacket.Type

/**
 * Server → client `0x00`: the server's clock in unix milliseconds, in reply to a Ping or to a
 * successful authentication.
 *
 * @since 0.1.0
 * @category models
 */
export const Pong = Schema.TaggedStruct("Pong", { time: Int64 })

/**
 * The Pong packet.
 *
 * @since 0.1.0
 * @category models
 */
export type Pong = typeof Pong.Type

/**
 * Every client → server packet.
 *
 * @since 0.1.0
 * @category models
 */
export const ClientPacket = Schema.Union(Ping, SettingsPacket)

/**
 * Every client → server packet.
 *
 * @since 0.1.0
 * @category models
 */
export type ClientPacket = typeof ClientPacket.Type

/**
 * Packet ids, per direction.
 *
 * @since 0.1.0
 * @category constants
 */
export const Id = { Ping: 0x00, Settings: 0x01, Pong: 0x00 } as const

/**
 * The one Ping value; decoding shares it instead of allocating.
 *
 * @since 0.1.0
 * @category constructors
 */
export const ping: Ping = Object.freeze({ _tag: "Ping" })

/**
 * A Pong carrying `time` (unix milliseconds, i64).
 *
 * @since 0.1.0
 * @category constructors
 */
export const pong = (time: bigint): Pong => ({ _tag: "Pong", time })

/**
 * The packets read before the first malformed one, and that error if any.
 *
 * @since 0.1.0
 * @category models
 */
export interface Decoded<P> {
  readonly packets: Array<P>
  readonly error: PacketError | undefined
}

const viewOf = (bytes: Uint8Array): DataView => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/**
 * Reads server → client packets as far as they are well formed.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeServerMessage = (bytes: Uint8Array): Decoded<Pong> => {
  const packets: Array<Pong> = []
  const length = bytes.length
  if (length === 0) return { packets, error: undefined }
  const view = viewOf(bytes)
  let offset = 0
  while (offset < length) {
    const id = bytes[offset]!
    if (id !== Id.Pong) {
      return { packets, error: new PacketError({ reason: "UnknownPacketId", byte: id, offset }) }
    }
    if (offset + 9 > length) {
      return { packets, error: new PacketError({ reason: "Truncated", byte: id, offset }) }
    }
    packets.push({ _tag: "Pong", time: view.getBigInt64(offset + 1) })
    offset += 9
  }
  return { packets, error: undefined }
}

/**
 * Reads client → server packets as far as they are well formed; settings are checked against `registry`.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeClientMessage = (
  bytes: Uint8Array,
  registry: Settings.Registry = Settings.standard
): Decoded<ClientPacket> => {
  const packets: Array<ClientPacket> = []
  const length = bytes.length
  let offset = 0
  while (offset < length) {
    const id = bytes[offset]!
    if (id === Id.Ping) {
      packets.push(ping)
      offset += 1
    } else if (id === Id.Settings) {
      const result = decodeSettings(bytes, offset, registry)
      if (result instanceof PacketError) return { packets, error: result }
      packets.push(result.packet)
      offset = result.next
    } else {
      return { packets, error: new PacketError({ reason: "UnknownPacketId", byte: id, offset }) }
    }
  }
  return { packets, error: undefined }
}

const emptySettings: SettingsPacket = Object.freeze({ _tag: "Settings", settings: Object.freeze([]) })

const decodeSettings = (
  bytes: Uint8Array,
  start: number,
  registry: Settings.Registry
): { readonly packet: SettingsPacket; readonly next: number } | PacketError => {
  let offset = start + 1
  if (bytes[offset] === Settings.terminator) return { packet: emptySettings, next: offset + 1 }
  const settings: Array<Settings.Setting> = []
  let view: DataView | undefined
  while (offset < bytes.length) {
    const id = bytes[offset]!
    if (id === Settings.terminator) return { packet: { _tag: "Settings", settings }, next: offset + 1 }
    const definition = registry.get(id)
    if (definition === undefined) return new PacketError({ reason: "UnknownSettingId", byte: id, offset })
    if (offset + 1 + definition.codec.size > bytes.length) break
    view ??= viewOf(bytes)
    const value = definition.codec.decode(view, offset + 1)
    if (value === undefined) return new PacketError({ reason: "InvalidSettingValue", byte: id, offset })
    settings.push({ id, value })
    offset += 1 + definition.codec.size
  }
  return new PacketError({ reason: "SettingsNotTerminated", byte: Id.Settings, offset: start })
}

const fromDecoded = <P>(decoded: Decoded<P>): Either.Either<Array<P>, PacketError> =>
  decoded.error === undefined ? Either.right(decoded.packets) : Either.left(decoded.error)

/**
 * Decodes a whole server → client message, or fails with the first malformed packet.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeServer = (bytes: Uint8Array): Either.Either<Array<Pong>, PacketError> =>
  fromDecoded(decodeServerMessage(bytes))

/**
 * Decodes a whole client → server message, or fails with the first malformed packet.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeClient = (
  bytes: Uint8Array,
  registry: Settings.Registry = Settings.standard
): Either.Either<Array<ClientPacket>, PacketError> => fromDecoded(decodeClientMessage(bytes, registry))

/**
 * Encodes Pongs back to back (9 bytes each). Times outside the i64 range wrap, as `setBigInt64` does.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeServer = (packets: ReadonlyArray<Pong>): Uint8Array => {
  const bytes = new Uint8Array(packets.length * 9)
  const view = viewOf(bytes)
  for (let i = 0; i < packets.length; i++) {
    view.setBigInt64(i * 9 + 1, packets[i]!.time)
  }
  return bytes
}

/**
 * One Pong message, as the server sends it.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodePong = (time: bigint): Uint8Array => {
  const bytes = new Uint8Array(9)
  viewOf(bytes).setBigInt64(1, time)
  return bytes
}

/**
 * Encodes client packets; fails when a setting is not in `registry` or its value does not fit the codec.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeClient = (
  packets: ReadonlyArray<ClientPacket>,
  registry: Settings.Registry = Settings.standard
): Either.Either<Uint8Array, PacketError> => {
  let size = 0
  for (const packet of packets) {
    if (packet._tag === "Ping") {
      size += 1
      continue
    }
    size += 2
    for (const { id, value } of packet.settings) {
      const definition = registry.get(id)
      if (definition === undefined)
        return Either.left(new PacketError({ reason: "UnknownSettingId", byte: id, offset: 0 }))
      if (!definition.codec.accepts(value)) {
        return Either.left(new PacketError({ reason: "InvalidSettingValue", byte: id, offset: 0 }))
      }
      size += 1 + definition.codec.size
    }
  }
  const bytes = new Uint8Array(size)
  const view = viewOf(bytes)
  let offset = 0
  for (const packet of packets) {
    if (packet._tag === "Ping") {
      bytes[offset++] = Id.Ping
      continue
    }
    bytes[offset++] = Id.Settings
    for (const { id, value } of packet.settings) {
      const codec = registry.get(id)!.codec
      bytes[offset] = id
      codec.encode(view, offset + 1, value)
      offset += 1 + codec.size
    }
    bytes[offset++] = Settings.terminator
  }
  return Either.right(bytes)
}
