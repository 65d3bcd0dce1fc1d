/**
 * `time_left` (docs/blazeauth.md §7.1) as one `Expiry` value, whichever form the server used: absolute Unix
 * seconds, seconds remaining, 0 for none, or a negative value for already expired.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"

/**
 * No expiry, or an instant in Unix seconds.
 *
 * @since 0.1.0
 * @category models
 */
export type Expiry = Data.TaggedEnum<{
  Never: {}
  At: { readonly expiresAt: number }
}>

const { At, Never, $is, $match } = Data.taggedEnum<Expiry>()

/**
 * Constructors and guards: `Expiry.never`, `Expiry.at(seconds)`, `isNever`, `isAt`, `match`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const never: Expiry = Never()

/**
 * An expiry at a Unix time in seconds.
 *
 * @since 0.1.0
 * @category constructors
 */
export const at = (expiresAt: number): Expiry => At({ expiresAt })

/**
 * @since 0.1.0
 * @category guards
 */
export const isNever = $is("Never")

/**
 * @since 0.1.0
 * @category guards
 */
export const isAt = $is("At")

/**
 * Pattern match on an expiry.
 *
 * @since 0.1.0
 * @category pattern matching
 */
export const match = $match

/**
 * Values at or above this (September 2001) are absolute Unix seconds; smaller positive ones are relative.
 *
 * @since 0.1.0
 * @category constants
 */
export const ABSOLUTE_THRESHOLD = 1_000_000_000

/**
 * Reads a raw `time_left` received at `receivedAt` (Unix seconds): absent or 0 → never; ≥ 10^9 →
 * absolute; positive → `receivedAt` + v; negative → `receivedAt` (already expired).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromTimeLeft = (timeLeft: number | undefined, receivedAt: number): Expiry => {
  if (timeLeft === undefined || timeLeft === 0) return never
  if (timeLeft >= ABSOLUTE_THRESHOLD) return at(timeLeft)
  if (timeLeft > 0) return at(receivedAt + timeLeft)
  return at(receivedAt)
}

/**
 * The `time_left` the reference server sends: the absolute form, or 0 for no expiry.
 *
 * @since 0.1.0
 * @category encoding
 */
export const toTimeLeft = (expiry: Expiry): number => (expiry._tag === "Never" ? 0 : expiry.expiresAt)

/**
 * Time left at `now` (Unix seconds): `max(0, expiresAt − now)`, infinite for no expiry.
 *
 * @since 0.1.0
 * @category getters
 */
export const remaining = (expiry: Expiry, now: number): Duration.Duration =>
  expiry._tag === "Never" ? Duration.infinity : Duration.seconds(Math.max(0, expiry.expiresAt - now))
