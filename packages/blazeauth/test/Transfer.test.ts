import * as Status from "@protokernel/blazeauth/Status"
import * as Transfer from "@protokernel/blazeauth/Transfer"
import * as Usecase from "@protokernel/blazeauth/Usecase"
import * as Uint64 from "@protokernel/wire/Uint64"
import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import * as Crypto from "node:crypto"
import { sha256 } from "../../../test/kit/bytes.js"
import { fuzzParameters } from "../../../test/kit/fuzz.js"
import { left, right } from "../../../test/kit/unwrap.js"

const id = Uint64.make(20)
const transferId = "5f0c2a9e4b7d41c3a8e6d2b1f0a9c8e7"

/** §4.10: `client.bin`, 20 bytes, chunk size 8. */
const file = new TextEncoder().encode("0123456789abcdefghij")
const fileChecksum = "6bc14bdc4517a7a682c6910de2e2946eb8e1ecd04090728fef6d092a7ceb62c5"

const expected = (fields: Partial<Transfer.Expected> = {}): Transfer.Expected => ({
  transferId,
  first: false,
  offset: 0,
  fileSize: undefined,
  knownSize: undefined,
  ...fields
})

/** The headers a sender cuts a file into: chunk after chunk, the last one in the terminal header. */
const cut = (bytes: Uint8Array, chunkSize: number, start: number): ReadonlyArray<[Transfer.Header, Uint8Array]> => {
  const pairs: Array<[Transfer.Header, Uint8Array]> = []
  const checksums = { file: sha256(bytes), range: sha256(bytes.subarray(start)) }
  let next = start
  do {
    const length = Transfer.chunkLength(chunkSize, bytes.byteLength, next)
    const last = next + length === bytes.byteLength
    pairs.push([
      Transfer.chunk({
        id,
        transferId,
        offset: next,
        chunkSize: length,
        fileSize: next === start ? bytes.byteLength : undefined,
        checksums: last ? checksums : undefined
      }),
      bytes.subarray(next, next + length)
    ])
    next += length
  } while (next < bytes.byteLength)
  return pairs
}

/** A receiver over `pairs`: each header checked and classified, the range hashed, the completion verified. */
const receive = (
  pairs: ReadonlyArray<readonly [Transfer.Header, Uint8Array]>,
  start: number
): Either.Either<Transfer.Verified, Transfer.Violation> => {
  const range = Crypto.createHash("sha256")
  let received = 0
  let fileSize: number | undefined
  for (const [index, [header, bytes]] of pairs.entries()) {
    const checked = Transfer.checkHeader(expected({ offset: start + received, fileSize, first: index === 0 }), header)
    if (Either.isLeft(checked)) return Either.left(checked.left)
    fileSize = checked.right
    range.update(bytes)
    received += header.chunk_size
    const kind = Transfer.kindOf(header.status, index === 0)
    if (kind._tag === "Complete") {
      const rangeHex = range.digest("hex")
      return Transfer.checkCompletion(
        { start, received, fileSize, range: rangeHex, file: start === 0 ? rangeHex : undefined },
        header
      )
    }
    if (kind._tag !== "Intermediate") return Either.left({ _tag: "Integrity", detail: `ended with ${kind._tag}` })
  }
  return Either.left({ _tag: "Integrity", detail: "no terminal header" })
}

describe("Transfer: identifier limits (§4.4 rule 6, §4.8)", () => {
  it("a transfer_id has 1 to 128 characters, a resume token 1 to 512, counted in code points", () => {
    assert.strictEqual(right(Transfer.checkTransferId("a")), "a")
    assert.strictEqual(right(Transfer.checkTransferId("x".repeat(128))), "x".repeat(128))
    assert.strictEqual(left(Transfer.checkTransferId("")), "must have 1 to 128 characters, has 0")
    assert.strictEqual(left(Transfer.checkTransferId("x".repeat(129))), "must have 1 to 128 characters, has 129")
    assert.strictEqual(right(Transfer.checkTransferId("😀".repeat(128))), "😀".repeat(128))
    assert.strictEqual(right(Transfer.checkResumeToken("t".repeat(512))), "t".repeat(512))
    assert.strictEqual(left(Transfer.checkResumeToken("t".repeat(513))), "must have 1 to 512 characters, has 513")
    assert.strictEqual(left(Transfer.checkResumeToken("")), "must have 1 to 512 characters, has 0")
  })

  it("an offset is a safe integer ≥ 0", () => {
    assert.strictEqual(right(Transfer.checkOffset(0)), 0)
    assert.strictEqual(right(Transfer.checkOffset(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER)
    for (const bad of [-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1]) {
      assert.strictEqual(left(Transfer.checkOffset(bad)), "must be an integer ≥ 0")
    }
  })

  it("a received transfer_id outside the limit is malformed", () => {
    assert.isTrue(Either.isRight(Transfer.checkReceivedId({ transfer_id: transferId })))
    assert.deepStrictEqual(left(Transfer.checkReceivedId({ transfer_id: "" })), {
      _tag: "Malformed",
      detail: `["transfer_id"]: must have 1 to 128 characters`
    })
  })
})

describe("Transfer: header kinds (§4.3, §4.5)", () => {
  it("status absent or 0: intermediate; 1: complete; other: an early ending, or a rejection when first", () => {
    assert.strictEqual(Transfer.kindOf(undefined, true)._tag, "Intermediate")
    assert.strictEqual(Transfer.kindOf(Status.make("none"), false)._tag, "Intermediate")
    assert.strictEqual(Transfer.kindOf(Status.make("ok"), true)._tag, "Complete")
    assert.deepStrictEqual(Transfer.kindOf(Status.make("file_not_found"), true), {
      _tag: "Rejected",
      status: Status.make("file_not_found")
    })
    assert.deepStrictEqual(Transfer.kindOf(Status.make("file_transfer_stopped"), false), {
      _tag: "Ended",
      status: Status.make("file_transfer_stopped")
    })
    assert.isFalse(Transfer.isTerminal({ status: Status.make("none") }))
    assert.isTrue(Transfer.isTerminal({ status: Status.fromCode(77) }))
  })

  it("§4.10: the example's headers, built and encoded, are the spec's text", () => {
    const pairs = cut(file, 8, 0)
    assert.deepStrictEqual(
      pairs.map(([header]) => right(Usecase.encodeHeader(header))),
      [
        `{"id":20,"transfer_id":"${transferId}","binary_data":true,"chunk_size":8,"offset":0,"file_size":20}`,
        `{"id":20,"transfer_id":"${transferId}","binary_data":true,"chunk_size":8,"offset":8}`,
        `{"id":20,"transfer_id":"${transferId}","binary_data":true,"chunk_size":4,"offset":16,"status":1,"file_checksum":"${fileChecksum}","range_checksum":"${fileChecksum}"}`
      ].map((payload) => `{"type":8,"payload":${payload}}`)
    )
    assert.deepStrictEqual(Transfer.ending({ id, transferId, offset: 0, status: Status.make("file_not_found") }), {
      id,
      transfer_id: transferId,
      binary_data: true,
      chunk_size: 0,
      offset: 0,
      status: Status.make("file_not_found")
    })
  })

  it("chunk lengths: C until the rest, 0 once nothing is left", () => {
    assert.strictEqual(Transfer.chunkLength(8, 20, 0), 8)
    assert.strictEqual(Transfer.chunkLength(8, 20, 16), 4)
    assert.strictEqual(Transfer.chunkLength(8, 20, 20), 0)
    assert.strictEqual(Transfer.chunkLength(8, 0, 0), 0)
  })
})

describe("Transfer: the receiver's checks (§4.5 integrity)", () => {
  const header = (fields: Partial<Transfer.Header>): Transfer.Header => ({
    ...Transfer.chunk({ id, transferId, offset: 0, chunkSize: 8 }),
    ...fields
  })

  it("present fields: a missing transfer_id or offset breaks the stream", () => {
    assert.isTrue(Either.isRight(Transfer.checkPresent({ transfer_id: "x", offset: 0 })))
    assert.deepStrictEqual(left(Transfer.checkPresent({ offset: 0 })), {
      _tag: "Integrity",
      detail: "transfer_id is missing"
    })
    assert.deepStrictEqual(left(Transfer.checkPresent({ transfer_id: "x" })), {
      _tag: "Integrity",
      detail: "offset is missing"
    })
  })

  it("each violation with its detail", () => {
    const detail = (exp: Transfer.Expected, h: Transfer.Header) => {
      const violation = left(Transfer.checkHeader(exp, h))
      return violation._tag === "Integrity" ? violation.detail : violation._tag
    }
    assert.strictEqual(
      detail(expected({ first: true }), header({ transfer_id: "other" })),
      "the resumed stream has another transfer_id"
    )
    assert.strictEqual(detail(expected(), header({ transfer_id: "other" })), "transfer_id changed within the stream")
    assert.strictEqual(detail(expected({ offset: 8 }), header({})), "offset 0, expected 8")
    assert.strictEqual(detail(expected(), header({ file_size: -1 })), "file_size is negative")
    assert.strictEqual(
      detail(expected({ fileSize: 20 }), header({ file_size: 21 })),
      "file_size changed within the stream"
    )
    assert.strictEqual(
      detail(expected({ knownSize: 20 }), header({ file_size: 21 })),
      "file_size differs from the size announced before"
    )
    assert.strictEqual(detail(expected({ knownSize: 4 }), header({})), "a chunk goes past file_size")
    assert.strictEqual(right(Transfer.checkHeader(expected(), header({ file_size: 20 }))), 20)
    assert.strictEqual(right(Transfer.checkHeader(expected({ knownSize: 20 }), header({}))), 20)
    assert.strictEqual(right(Transfer.checkHeader(expected(), header({}))), undefined)
  })

  it("completion: size announced, every byte, both checksums present and matching (hex in any case)", () => {
    const stream = { start: 0, received: 20, fileSize: 20, range: fileChecksum, file: fileChecksum }
    const checksums = { file_checksum: fileChecksum.toUpperCase(), range_checksum: fileChecksum.toUpperCase() }
    assert.deepStrictEqual(right(Transfer.checkCompletion(stream, checksums)), {
      fileSize: 20,
      fileChecksum,
      verified: "file"
    })
    assert.strictEqual(right(Transfer.checkCompletion({ ...stream, file: undefined }, checksums)).verified, "range")
    const detail = (violation: Transfer.Violation) =>
      violation._tag === "Mismatch" ? violation.checksum : violation.detail
    assert.strictEqual(
      detail(left(Transfer.checkCompletion({ ...stream, fileSize: undefined }, checksums))),
      "file_size was never announced"
    )
    assert.strictEqual(
      detail(left(Transfer.checkCompletion({ ...stream, received: 19 }, checksums))),
      "received 19 bytes from offset 0, expected 20"
    )
    assert.strictEqual(
      detail(left(Transfer.checkCompletion(stream, { range_checksum: fileChecksum }))),
      "file_checksum is missing"
    )
    assert.strictEqual(
      detail(left(Transfer.checkCompletion(stream, { file_checksum: fileChecksum }))),
      "range_checksum is missing"
    )
    assert.strictEqual(detail(left(Transfer.checkCompletion({ ...stream, range: "00" }, checksums))), "range")
    assert.strictEqual(detail(left(Transfer.checkCompletion({ ...stream, file: "00" }, checksums))), "file")
  })

  it("the empty range's checksum is the SHA-256 of no bytes", () => {
    assert.strictEqual(Transfer.emptyChecksum, sha256(new Uint8Array(0)))
  })
})

describe("Transfer: sender and receiver agree (property)", () => {
  const streams = fc
    .record({
      bytes: fc.uint8Array({ maxLength: 300 }),
      chunkSize: fc.integer({ min: 1, max: 64 }),
      start: fc.nat()
    })
    .map(({ bytes, chunkSize, start }) => ({ bytes, chunkSize, start: start % (bytes.byteLength + 1) }))

  it.prop(
    "any file cut from any offset into any chunk size is received, verified and ends with the last byte",
    [streams],
    ([{ bytes, chunkSize, start }]) => {
      const pairs = cut(bytes, chunkSize, start)
      const verified = right(receive(pairs, start))
      assert.strictEqual(verified.fileSize, bytes.byteLength)
      assert.strictEqual(verified.fileChecksum, sha256(bytes))
      assert.strictEqual(verified.verified, start === 0 ? "file" : "range")
      assert.strictEqual(pairs.length, Math.max(1, Math.ceil((bytes.byteLength - start) / chunkSize)))
      for (const [header] of pairs) assert.isTrue(header.chunk_size <= chunkSize)
    },
    { fastCheck: fuzzParameters() }
  )

  it.prop(
    "a header moved off its offset, or a byte changed, is never accepted",
    [streams.filter(({ bytes, start }) => bytes.byteLength > start), fc.nat(), fc.integer({ min: 1, max: 255 })],
    ([{ bytes, chunkSize, start }, which, flip]) => {
      const pairs = cut(bytes, chunkSize, start)
      const index = which % pairs.length
      const shifted = pairs.map(([header, chunk], i): [Transfer.Header, Uint8Array] =>
        i === index ? [{ ...header, offset: header.offset + 1 }, chunk] : [header, chunk]
      )
      assert.isTrue(Either.isLeft(receive(shifted, start)))
      const corrupted = Uint8Array.from(bytes)
      const at = start + (which % (bytes.byteLength - start))
      corrupted[at] = corrupted[at]! ^ flip
      const forged = pairs.map(([header]): [Transfer.Header, Uint8Array] => [
        header,
        corrupted.subarray(header.offset, header.offset + header.chunk_size)
      ])
      assert.strictEqual(left(receive(forged, start))._tag, "Mismatch")
    },
    { fastCheck: fuzzParameters() }
  )
})
