/**
 * `Download.Continuation` behind its opaque type: the SHA-256 state of the whole file, kept while a
 * download is stopped so that its resumption still verifies the file from byte 0.
 */
import * as Crypto from "node:crypto"
import * as Download from "../../Download.js"

class Hashing implements Download.Continuation {
  readonly [Download.ContinuationTypeId]: Download.ContinuationTypeId = Download.ContinuationTypeId
  constructor(readonly fileDigest: Crypto.Hash | undefined) {}
}

/** The continuation of a download that stopped with `fileDigest` (none: the file cannot be verified whole). */
export const make = (fileDigest: Crypto.Hash | undefined): Download.Continuation => new Hashing(fileDigest)

/**
 * The whole-file digest to continue from: a copy, since the same stop may be resumed again if a
 * resumption fails. None for a continuation rebuilt from stored parts.
 */
export const fileDigest = (continuation: Download.Continuation): Crypto.Hash | undefined =>
  continuation instanceof Hashing ? continuation.fileDigest?.copy() : undefined

/** An empty SHA-256 digest. */
export const digest = (): Crypto.Hash => Crypto.createHash("sha256")

/** The whole-file digest of a download from `offset`: only a download from 0 can hash the whole file. */
export const fresh = (offset: number): Crypto.Hash | undefined => (offset === 0 ? digest() : undefined)

/** Lowercase hex of a digest's bytes so far (the digest is spent). */
export const hex = (digest: Crypto.Hash): string => digest.digest("hex")
