/**
 * `Download.Continuation` behind its opaque type: the SHA-256 state of the whole file, kept while a
 * download is stopped so that its resumption still verifies the file from byte 0.
 */
import * as Crypto from "node:crypto"
import * as Download from "../../Download.js"

/** The digests behind the continuations that carry one; nothing of it shows on the value itself. */
const digests = new WeakMap<Download.Continuation, Crypto.Hash>()

/** The continuation of a download that stopped with `fileDigest` (none: the file cannot be verified whole). */
export const make = (fileDigest: Crypto.Hash | undefined): Download.Continuation => {
  const continuation: Download.Continuation = { [Download.ContinuationTypeId]: Download.ContinuationTypeId }
  if (fileDigest !== undefined) digests.set(continuation, fileDigest)
  return continuation
}

/**
 * The whole-file digest to continue from: a copy, since the same stop may be resumed again if a
 * resumption fails. None for a continuation rebuilt from stored parts.
 */
export const fileDigest = (continuation: Download.Continuation): Crypto.Hash | undefined =>
  digests.get(continuation)?.copy()

/** An empty SHA-256 digest. */
export const digest = (): Crypto.Hash => Crypto.createHash("sha256")

/** The whole-file digest of a download from `offset`: only a download from 0 can hash the whole file. */
export const fresh = (offset: number): Crypto.Hash | undefined => (offset === 0 ? digest() : undefined)

/** Lowercase hex of a digest's bytes so far (the digest is spent). */
export const hex = (digest: Crypto.Hash): string => digest.digest("hex")
