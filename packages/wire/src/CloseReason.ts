/**
 * Close reasons as RFC 6455 allows them: at most 123 UTF-8 bytes, cut at a character boundary.
 *
 * @since 0.1.0
 */

/**
 * The largest close reason in UTF-8 bytes: a close payload holds 125 bytes, 2 of which are the code.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxBytes = 123

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * Cuts `reason` to at most {@link maxBytes} UTF-8 bytes without splitting a character.
 *
 * @since 0.1.0
 * @category constructors
 */
export const truncate = (reason: string): string => {
  // A UTF-16 code unit never encodes to more than 3 bytes, so short strings need no encoding.
  if (reason.length * 3 <= maxBytes) return reason
  const bytes = encoder.encode(reason)
  if (bytes.length <= maxBytes) return reason
  let end = maxBytes
  // Step back over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--
  return decoder.decode(bytes.subarray(0, end))
}

/**
 * Whether `code` may be sent in a close frame (RFC 6455 §7.4, as enforced by `ws`).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isSendableCode = (code: number): boolean =>
  Number.isInteger(code) &&
  ((code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999))
