/**
 * A session's key-value store (§3.2 #14, #15): values belong to the connection, expire after their
 * `ttl` (72 h when ≤ 0, null or absent) and fit the store limits of §8 (64 entries, 16384 value bytes).
 *
 * @internal
 */
import type * as Status from "../../Status.js"

interface StoredValue {
  readonly value: string
  readonly bytes: number
  readonly expiresAt: number
}

/** @internal */
export type SessionStore = Map<string, StoredValue>

/** @internal */
export const make = (): SessionStore => new Map()

/** @internal The store's limits and the lifetime of a value stored without a positive `ttl`. */
export interface Limits {
  readonly sessionStoreEntries: number
  readonly sessionStoreBytes: number
  readonly defaultTtl: number
}

const dropExpired = (store: SessionStore, now: number): void => {
  for (const [key, entry] of store) if (entry.expiresAt <= now) store.delete(key)
}

/** @internal Stores a value, or says why not (507 when the store would exceed its limits). */
export const set = (
  store: SessionStore,
  limits: Limits,
  entry: { readonly key: string; readonly value: string; readonly ttl?: number | null | undefined },
  now: number
): Status.KnownName => {
  dropExpired(store, now)
  const bytes = Buffer.byteLength(entry.value, "utf8")
  const previous = store.get(entry.key)
  let total = bytes
  for (const [key, stored] of store) if (key !== entry.key) total += stored.bytes
  const entries = store.size + (previous === undefined ? 1 : 0)
  if (bytes > limits.sessionStoreBytes || total > limits.sessionStoreBytes || entries > limits.sessionStoreEntries) {
    return "session_value_too_long"
  }
  const ttl = entry.ttl === undefined || entry.ttl === null || entry.ttl <= 0 ? limits.defaultTtl : entry.ttl * 1000
  store.set(entry.key, { value: entry.value, bytes, expiresAt: now + ttl })
  return "ok"
}

/** @internal A value that has not expired. */
export const get = (store: SessionStore, key: string, now: number): string | undefined => {
  dropExpired(store, now)
  return store.get(key)?.value
}
