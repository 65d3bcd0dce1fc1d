/**
 * `expect(…).toEqual` with the Effect equality testers does not compare `Redacted` values by content: when
 * `Equal.equals` says false, @effect/vitest falls back to structural equality, and a `Redacted` has no own
 * fields, so `Redacted.make("a")` "equals" `Redacted.make("b")`. Tests compare `reveal(value)` instead.
 */
import { Redacted } from "effect"

/** A copy of a value in which every `Redacted` is replaced by `{ redacted: <its content> }`. */
export const reveal = (value: unknown): unknown => {
  if (Redacted.isRedacted(value)) return { redacted: reveal(Redacted.value(value)) }
  if (Array.isArray(value)) return value.map(reveal)
  if (typeof value !== "object" || value === null || Object.getPrototypeOf(value) !== Object.prototype) return value
  const out: Record<string, unknown> = {}
  for (const [key, entry] of Object.entries(value)) {
    Object.defineProperty(out, key, { value: reveal(entry), enumerable: true, writable: true })
  }
  return out
}
