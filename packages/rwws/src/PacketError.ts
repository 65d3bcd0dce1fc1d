/**
 * Why a message is not a valid packet sequence. The `message` is the close reason docs/rwws.md asks for.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * A message that is not a valid packet sequence; `message` is the close reason docs/rwws.md asks for.
 *
 * @since 0.1.0
 * @category errors
 */
export class PacketError extends Schema.TaggedError<PacketError>("@protokernel/rwws/PacketError")("PacketError", {
  reason: Schema.Literal(
    "UnknownPacketId",
    "Truncated",
    "UnknownSettingId",
    "SettingsNotTerminated",
    "InvalidSettingValue"
  ),
  /** The offending byte: a packet id or a setting id. */
  byte: Schema.Int,
  /** Where in the message the offending packet or setting starts. */
  offset: Schema.Int
}) {
  override get message(): string {
    switch (this.reason) {
      case "UnknownPacketId":
        return `unknown packet id 0x${hex(this.byte)}`
      case "Truncated":
        return `packet 0x${hex(this.byte)} cut off at byte ${this.offset}`
      case "UnknownSettingId":
        return `unknown setting id 0x${hex(this.byte)}`
      case "SettingsNotTerminated":
        return "settings packet not terminated (missing 0xff)"
      case "InvalidSettingValue":
        return `invalid value for setting 0x${hex(this.byte)}`
    }
  }
}

/**
 * A byte as two lowercase hex digits.
 *
 * @since 0.1.0
 * @category formatting
 */
export const hex = (byte: number): string => (byte & 0xff).toString(16).padStart(2, "0")
