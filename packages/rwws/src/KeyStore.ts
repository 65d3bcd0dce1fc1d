/**
 * Where the server keeps access keys: SHA-256 hashes only, compared in constant time.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { createHash, timingSafeEqual } from "node:crypto"
import * as AccessKey from "./AccessKey.js"

/**
 * Identifies a key without revealing it: the hex SHA-256 of its bytes.
 *
 * @since 0.1.0
 * @category models
 */
export type KeyId = string

/**
 * The store could not answer; the server closes with 3005.
 *
 * @since 0.1.0
 * @category errors
 */
export class KeyStoreError extends Schema.TaggedError<KeyStoreError>("@protokernel/rwws/KeyStoreError")(
  "KeyStoreError",
  { detail: Schema.String }
) {
  override get message(): string {
    return `key store failure: ${this.detail}`
  }
}

/**
 * The server's access keys: lookup by raw key bytes, add, issue and revoke.
 *
 * @since 0.1.0
 * @category tags
 */
export class KeyStore extends Context.Tag("@protokernel/rwws/KeyStore")<
  KeyStore,
  {
    /** The id of a known, unrevoked key, or none. */
    readonly verify: (key: Uint8Array) => Effect.Effect<Option.Option<KeyId>, KeyStoreError>
    /** Adds a key given as base64. */
    readonly add: (key: Redacted.Redacted<string>) => Effect.Effect<KeyId, AccessKey.InvalidAccessKey | KeyStoreError>
    /** Creates and adds a key of 32 random bytes. */
    readonly issue: Effect.Effect<Redacted.Redacted<string>, KeyStoreError>
    /** Forgets a key; returns its id if it was known. */
    readonly revoke: (
      key: Redacted.Redacted<string>
    ) => Effect.Effect<Option.Option<KeyId>, AccessKey.InvalidAccessKey | KeyStoreError>
  }
>() {}

const sha256 = (bytes: Uint8Array): Buffer => createHash("sha256").update(bytes).digest()

/**
 * An in-memory store holding `keys` at start.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (
  keys: Iterable<Redacted.Redacted<string>> = []
): Effect.Effect<KeyStore["Type"], AccessKey.InvalidAccessKey> =>
  Effect.gen(function* () {
    const hashes: Array<Buffer> = []

    const find = (hash: Buffer): number => {
      // Visit every entry so the time taken does not tell where (or whether) a key matched.
      let found = -1
      for (let i = 0; i < hashes.length; i++) {
        if (timingSafeEqual(hashes[i]!, hash) && found === -1) found = i
      }
      return found
    }

    const add = (key: Redacted.Redacted<string>) =>
      Effect.map(AccessKey.decode(key), (bytes) => {
        const hash = sha256(bytes)
        if (find(hash) === -1) hashes.push(hash)
        return hash.toString("hex")
      })

    for (const key of keys) yield* add(key)

    return KeyStore.of({
      verify: (key) =>
        Effect.sync(() => {
          const hash = sha256(key)
          return find(hash) === -1 ? Option.none() : Option.some(hash.toString("hex"))
        }),
      add,
      issue: Effect.suspend(() => {
        const key = AccessKey.generate()
        return Effect.as(Effect.orDie(add(key)), key)
      }),
      revoke: (key) =>
        Effect.flatMap(AccessKey.decode(key), (bytes) =>
          Effect.sync(() => {
            const hash = sha256(bytes)
            const index = find(hash)
            if (index === -1) return Option.none()
            hashes.splice(index, 1)
            return Option.some(hash.toString("hex"))
          })
        )
    })
  })

/**
 * The in-memory store as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (
  keys: Iterable<Redacted.Redacted<string>> = []
): Layer.Layer<KeyStore, AccessKey.InvalidAccessKey> => Layer.effect(KeyStore, makeMemory(keys))
