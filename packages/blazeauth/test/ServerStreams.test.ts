/**
 * Downloads on the reference server (docs/blazeauth.md §4): the worked examples of §4.10 byte for byte (transfer ids
 * and tokens are random, so they are checked for format and replaced by placeholders), rejections in
 * order, stop and resume with tokens, logout and quota endings, concurrency, snapshots and files on disk.
 */
import * as Server from "@protokernel/blazeauth/Server"
import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { sha256 } from "../../../test/kit/bytes.js"
import {
  ALPHA_TEXT,
  EMPTY_SHA,
  expectQuiet,
  FILE_SHA,
  FILE_TEXT,
  fixtures,
  GHIJ_SHA,
  header,
  initialized,
  msg,
  normalize,
  payloadOf,
  readStream,
  T0,
  withAccount,
  withLicense,
  withServer
} from "./support/server.js"
import type { RawClient } from "./support/server.js"

const chunk8 = { options: { chunkSize: 8 } }

const done = (fileSha: string, rangeSha: string) => ({ status: 1, file_checksum: fileSha, range_checksum: rangeSha })

/** Starts a download and returns its transfer id, after reading its first header (and binary frame). */
const start = (client: RawClient, id: number, filename = "client.bin") =>
  Effect.gen(function* () {
    const first = yield* client.call(msg(8, { id, filename }))
    const transferId = payloadOf(first)["transfer_id"]
    assert.isString(transferId)
    if (typeof transferId !== "string") return assert.fail("no transfer id")
    const frames = [first]
    const size = payloadOf(first)["chunk_size"]
    if (typeof size === "number" && size > 0) frames.push(`bin:${Buffer.from(yield* client.binary).toString("latin1")}`)
    return { transferId, frames }
  })

const stopText = (id: number, transferId: string, issueToken?: boolean) =>
  msg(9, { id, transfer_id: transferId, ...(issueToken === undefined ? {} : { issue_token: issueToken }) })

/** Stops with a token and returns the token, after checking the response and the 308 header. */
const stopWithToken = (client: RawClient, id: number, streamId: number, transferId: string, offset: number) =>
  Effect.gen(function* () {
    yield* client.send(stopText(id, transferId, true))
    const [response, ending] = yield* client.take(2)
    const token = payloadOf(response ?? "")["resume_token"]
    if (typeof token !== "string") return assert.fail(`no token in ${response}`)
    assert.strictEqual(response, msg(9, { id, resume_token: token, status: 1 }))
    assert.strictEqual(ending, header(streamId, transferId, 0, offset, { status: 308 }))
    return token
  })

const resumeText = (id: number, transferId: string, token: string) =>
  msg(10, { id, transfer_id: transferId, resume_token: token })

describe("§4.10 worked examples (chunk size 8)", () => {
  it.scoped("metadata, then a full download in three chunks, the last inside the terminal header", () =>
    Effect.gen(function* () {
      const client = yield* withLicense("ABCDEF-123456")
      yield* client.send('{"type":11,"payload":{"id":19,"filename":"client.bin"}}')
      yield* client.send('{"type":8,"payload":{"id":20,"filename":"client.bin"}}')
      const { frames, ids } = normalize(yield* client.take(7))
      assert.strictEqual(ids.length, 1)
      assert.deepStrictEqual(frames, [
        '{"type":11,"payload":{"id":19,"checksum":"6bc14bdc4517a7a682c6910de2e2946eb8e1ecd04090728fef6d092a7ceb62c5","size":20,"transfer_count":0,"last_transferred_at":null,"status":1}}',
        '{"type":8,"payload":{"id":20,"transfer_id":"T1","binary_data":true,"chunk_size":8,"offset":0,"file_size":20}}',
        "bin:01234567",
        '{"type":8,"payload":{"id":20,"transfer_id":"T1","binary_data":true,"chunk_size":8,"offset":8}}',
        "bin:89abcdef",
        '{"type":8,"payload":{"id":20,"transfer_id":"T1","binary_data":true,"chunk_size":4,"offset":16,"status":1,"file_checksum":"6bc14bdc4517a7a682c6910de2e2946eb8e1ecd04090728fef6d092a7ceb62c5","range_checksum":"6bc14bdc4517a7a682c6910de2e2946eb8e1ecd04090728fef6d092a7ceb62c5"}}',
        "bin:ghij"
      ])
      // A completed stream counts in the metadata.
      yield* TestClock.adjust("42 seconds")
      assert.strictEqual(
        yield* client.call(msg(11, { id: 21, filename: "client.bin" })),
        msg(11, { id: 21, checksum: FILE_SHA, size: 20, transfer_count: 1, last_transferred_at: T0, status: 1 })
      )
      yield* expectQuiet(client)
    }).pipe(withServer(chunk8))
  )

  it.scoped("stop with a token while the second chunk is in flight, then resume (range_checksum 975c…451f)", () =>
    Effect.gen(function* () {
      const client = yield* withLicense("ABCDEF-123456")
      yield* client.send('{"type":8,"payload":{"id":21,"filename":"client.bin"}}')
      const streamed = yield* client.take(4)
      const transferId = payloadOf(streamed[0] ?? "")["transfer_id"]
      if (typeof transferId !== "string") return assert.fail("no transfer id")
      yield* client.send(`{"type":9,"payload":{"id":22,"transfer_id":"${transferId}","issue_token":true}}`)
      const stopped = yield* client.take(2)
      const token = payloadOf(stopped[0] ?? "")["resume_token"]
      if (typeof token !== "string") return assert.fail("no token")
      yield* client.send(`{"type":10,"payload":{"id":23,"transfer_id":"${transferId}","resume_token":"${token}"}}`)
      const resumed = yield* client.take(2)
      const { frames, ids, tokens } = normalize([...streamed, ...stopped, ...resumed])
      assert.deepStrictEqual([ids.length, tokens.length], [1, 1])
      assert.deepStrictEqual(frames, [
        '{"type":8,"payload":{"id":21,"transfer_id":"T1","binary_data":true,"chunk_size":8,"offset":0,"file_size":20}}',
        "bin:01234567",
        '{"type":8,"payload":{"id":21,"transfer_id":"T1","binary_data":true,"chunk_size":8,"offset":8}}',
        "bin:89abcdef",
        '{"type":9,"payload":{"id":22,"resume_token":"TOKEN1","status":1}}',
        '{"type":8,"payload":{"id":21,"transfer_id":"T1","binary_data":true,"chunk_size":0,"offset":16,"status":308}}',
        '{"type":8,"payload":{"id":23,"transfer_id":"T1","binary_data":true,"chunk_size":4,"offset":16,"file_size":20,"status":1,"file_checksum":"6bc14bdc4517a7a682c6910de2e2946eb8e1ecd04090728fef6d092a7ceb62c5","range_checksum":"975ca72b6bdf0e938bcc214727c939f7fc64109ee8f14add455a2364e8d1451f"}}',
        "bin:ghij"
      ])
      assert.strictEqual(GHIJ_SHA, sha256("ghij"))
      // Only the resumed stream completed.
      assert.strictEqual(
        payloadOf(yield* client.call(msg(11, { id: 24, filename: "client.bin" })))["transfer_count"],
        1
      )
    }).pipe(withServer({ options: { chunkSize: 8, pauseAfterChunks: 2 } }))
  )

  it.scoped("a zero-byte file is one terminal header with file_size 0 and the checksums of nothing", () =>
    Effect.gen(function* () {
      const client = yield* withLicense("ABCDEF-123456")
      const { frames } = normalize([yield* client.call(msg(8, { id: 24, filename: "empty.bin" }))])
      assert.deepStrictEqual(frames, [
        `{"type":8,"payload":{"id":24,"transfer_id":"T1","binary_data":true,"chunk_size":0,"offset":0,"file_size":0,"status":1,"file_checksum":"${EMPTY_SHA}","range_checksum":"${EMPTY_SHA}"}}`
      ])
      yield* expectQuiet(client)
      assert.strictEqual(payloadOf(yield* client.call(msg(11, { id: 25, filename: "empty.bin" })))["transfer_count"], 1)
      // The id of a stream's headers is the request's, echoed exactly.
      const big = normalize([
        yield* client.call('{"type":8,"payload":{"id":18446744073709551614,"filename":"empty.bin"}}')
      ]).frames
      assert.strictEqual(
        big[0],
        `{"type":8,"payload":{"id":18446744073709551614,"transfer_id":"T1","binary_data":true,"chunk_size":0,"offset":0,"file_size":0,"status":1,"file_checksum":"${EMPTY_SHA}","range_checksum":"${EMPTY_SHA}"}}`
      )
    }).pipe(withServer(chunk8))
  )

  it.scoped("a rejection is one terminal header with chunk_size 0, the requested offset and no file_size", () =>
    Effect.gen(function* () {
      const client = yield* withLicense("ABCDEF-123456")
      const { frames, ids } = normalize([
        yield* client.call('{"type":8,"payload":{"id":25,"filename":"missing.bin"}}'),
        yield* client.call('{"type":8,"payload":{"id":26,"filename":"missing.bin"}}')
      ])
      assert.deepStrictEqual(frames, [
        '{"type":8,"payload":{"id":25,"transfer_id":"T1","binary_data":true,"chunk_size":0,"offset":0,"status":300}}',
        '{"type":8,"payload":{"id":26,"transfer_id":"T2","binary_data":true,"chunk_size":0,"offset":0,"status":300}}'
      ])
      assert.notStrictEqual(ids[0], ids[1], "each rejection has a fresh transfer id")
    }).pipe(withServer(chunk8))
  )
})

describe("§4.2–4.4 transfer_file", () => {
  it.scoped("rejections in order: 3, 305, 300, 310, 304, each echoing the offset", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      const reject = (id: number, filename: string, offset: number, status: number) =>
        Effect.gen(function* () {
          const { frames } = normalize([yield* client.call(msg(8, { id, filename, offset }))])
          assert.deepStrictEqual(frames, [header(id, "T1", 0, offset, { status })], `${filename} @${offset}`)
        })
      // Not authorized comes first, whatever else is wrong.
      yield* reject(2, "a/b", 99, 3)
      yield* reject(3, "client.bin", 5, 3)
      assert.strictEqual(payloadOf(yield* client.call(msg(3, { id: 4, license: "ABCDEF-123456" })))["status"], 1)
      yield* reject(5, "a/bcd", 99, 305)
      yield* reject(6, "abc", 0, 305)
      yield* reject(7, "x".repeat(256), 0, 305)
      yield* reject(8, "missing.bin", 99, 300)
      yield* reject(9, "client.bin", 21, 310)
      yield* reject(10, "empty.bin", 1, 310)
      yield* expectQuiet(client)
    }).pipe(withServer(chunk8))
  )

  it.scoped(
    "304 before streaming when the quota left is smaller than the first chunk; nothing-to-send streams pass",
    () =>
      Effect.gen(function* () {
        const client = yield* withAccount("demo_user")
        // Quota 12, chunk 8: the first chunk fits, the second does not: 304 mid-stream at the first unsent byte.
        yield* client.send(msg(8, { id: 3, filename: "client.bin" }))
        const { frames } = normalize(yield* client.take(3))
        assert.deepStrictEqual(frames, [
          header(3, "T1", 8, 0, { file_size: 20 }),
          "bin:01234567",
          header(3, "T1", 0, 8, { status: 304 })
        ])
        // 4 bytes left: a first chunk of 8 is refused, a first chunk of 4 (offset 16) passes.
        const refused = normalize([yield* client.call(msg(8, { id: 4, filename: "client.bin", offset: 12 }))])
        assert.deepStrictEqual(refused.frames, [header(4, "T1", 0, 12, { status: 304 })])
        yield* client.send(msg(8, { id: 5, filename: "client.bin", offset: 16 }))
        const tail = normalize(yield* client.take(2))
        assert.deepStrictEqual(tail.frames, [
          header(5, "T1", 4, 16, { file_size: 20, ...done(FILE_SHA, GHIJ_SHA) }),
          "bin:ghij"
        ])
        // The quota is used up; a stream with nothing to send never hits it.
        const empty = normalize([
          yield* client.call(msg(8, { id: 6, filename: "client.bin", offset: 20 })),
          yield* client.call(msg(8, { id: 7, filename: "empty.bin" })),
          yield* client.call(msg(8, { id: 8, filename: "alpha.bin" }))
        ])
        assert.deepStrictEqual(empty.frames, [
          header(6, "T1", 0, 20, { file_size: 20, ...done(FILE_SHA, EMPTY_SHA) }),
          header(7, "T2", 0, 0, { file_size: 0, ...done(EMPTY_SHA, EMPTY_SHA) }),
          header(8, "T3", 0, 0, { status: 304 })
        ])
      }).pipe(withServer({ fixtures: fixtures({ quotas: { transfer_bytes: 12 } }), options: { chunkSize: 8 } }))
  )

  it.scoped("the transfer quota is shared by the application's sessions and counts stopped streams", () =>
    Effect.gen(function* () {
      const first = yield* withLicense("ABCDEF-123456")
      const { transferId } = yield* start(first, 3)
      assert.strictEqual(yield* first.call(stopText(4, transferId)), msg(9, { id: 4, status: 1 }))
      assert.strictEqual(yield* first.text, header(3, transferId, 0, 8, { status: 308 }))
      const second = yield* withLicense("LIFETIME-0001", "second-device")
      const { frames } = normalize([yield* second.call(msg(8, { id: 3, filename: "alpha.bin" }))])
      assert.deepStrictEqual(frames, [header(3, "T1", 0, 0, { status: 304 })])
    }).pipe(
      withServer({
        fixtures: fixtures({ quotas: { transfer_bytes: 15 } }),
        options: { chunkSize: 8, pauseAfterChunks: 1 }
      })
    )
  )

  it.scoped("an offset inside the file: the range checksum covers what was sent, the file checksum the file", () =>
    Effect.gen(function* () {
      const client = yield* withLicense("ABCDEF-123456")
      yield* client.send(msg(8, { id: 3, filename: "client.bin", offset: 5 }))
      const { frames } = normalize(yield* client.take(4))
      assert.deepStrictEqual(frames, [
        header(3, "T1", 8, 5, { file_size: 20 }),
        "bin:56789abc",
        header(3, "T1", 7, 13, done(FILE_SHA, sha256("56789abcdefghij"))),
        "bin:defghij"
      ])
      // The offset also comes as a digit string (a u64 field).
      yield* client.send('{"type":8,"payload":{"id":4,"filename":"client.bin","offset":"12"}}')
      const second = normalize(yield* client.take(2))
      assert.deepStrictEqual(second.frames, [
        header(4, "T1", 8, 12, { file_size: 20, ...done(FILE_SHA, sha256("cdefghij")) }),
        "bin:cdefghij"
      ])
    }).pipe(withServer(chunk8))
  )

  it.scoped("separateTerminalHeader: the last chunk goes in an intermediate header, then a chunk_size 0 terminal", () =>
    Effect.gen(function* () {
      const client = yield* withLicense("ABCDEF-123456")
      yield* client.send(msg(8, { id: 3, filename: "client.bin" }))
      const { frames } = normalize((yield* readStream(client)).frames)
      assert.deepStrictEqual(frames, [
        header(3, "T1", 8, 0, { file_size: 20 }),
        "bin:01234567",
        header(3, "T1", 8, 8),
        "bin:89abcdef",
        header(3, "T1", 4, 16),
        "bin:ghij",
        header(3, "T1", 0, 20, done(FILE_SHA, FILE_SHA))
      ])
      // A one-chunk file: the first header is intermediate too.
      yield* client.send(msg(8, { id: 4, filename: "client.bin", offset: 16 }))
      const single = normalize((yield* readStream(client)).frames)
      assert.deepStrictEqual(single.frames, [
        header(4, "T1", 4, 16, { file_size: 20 }),
        "bin:ghij",
        header(4, "T1", 0, 20, done(FILE_SHA, GHIJ_SHA))
      ])
    }).pipe(withServer({ options: { chunkSize: 8, separateTerminalHeader: true } }))
  )

  it.scoped("two streams interleave, but every header is immediately followed by its binary frame", () =>
    Effect.gen(function* () {
      const client = yield* withLicense("ABCDEF-123456")
      yield* client.send(msg(8, { id: 3, filename: "client.bin" }))
      yield* client.send(msg(8, { id: 4, filename: "alpha.bin" }))
      yield* client.send(msg(0, { id: 5 }))
      const frames: Array<string> = []
      const contents = new Map<number, string>([
        [3, ""],
        [4, ""]
      ])
      let terminals = 0
      while (terminals < 2) {
        if (frames.length >= 5) yield* TestClock.adjust("1 second")
        const text = yield* client.text
        frames.push(text)
        const payload = payloadOf(text)
        const id = payload["id"]
        if (typeof id !== "number") return assert.fail(text)
        if (text.startsWith('{"type":0')) continue
        const size = payload["chunk_size"]
        if (typeof size === "number" && size > 0) {
          // The very next frame is the binary one, with the bytes at that offset of that stream's file.
          const bytes = Buffer.from(yield* client.binary).toString("latin1")
          const file = id === 3 ? FILE_TEXT : ALPHA_TEXT
          const offset = Number(payload["offset"])
          assert.strictEqual(bytes, file.slice(offset, offset + size))
          contents.set(id, (contents.get(id) ?? "") + bytes)
          frames.push(`bin:${bytes}`)
        }
        if (payload["status"] !== undefined) terminals++
      }
      assert.strictEqual(contents.get(3), FILE_TEXT)
      assert.strictEqual(contents.get(4), ALPHA_TEXT)
      // Both first pairs come before the ping's response: each stream's first header is sent before the
      // next request is read; later pairs follow, interleaved.
      const normalized = normalize(frames).frames
      assert.deepStrictEqual(normalized.slice(0, 5), [
        header(3, "T1", 8, 0, { file_size: 20 }),
        "bin:01234567",
        header(4, "T2", 8, 0, { file_size: 20 }),
        "bin:ABCDEFGH",
        msg(0, { id: 5 })
      ])
      const firstTerminal = normalized.findIndex((frame) => frame.includes('"status":1'))
      const secondStreamLater = normalized.findIndex((frame, i) => i > 4 && frame.includes('"id":4'))
      assert.isBelow(secondStreamLater, firstTerminal, "the streams interleave")
    }).pipe(withServer({ options: { chunkSize: 8, chunkDelay: "1 second" } }))
  )

  it.scoped("a stream serves one version of the file even if it is replaced meanwhile", () =>
    Effect.gen(function* () {
      const server = yield* Server.BlazeauthServer
      const client = yield* withLicense("ABCDEF-123456")
      yield* client.send(msg(8, { id: 3, filename: "client.bin" }))
      yield* client.take(2)
      yield* server.putFile("Demo", "client.bin", new TextEncoder().encode("a new version"))
      yield* TestClock.adjust("1 second")
      yield* TestClock.adjust("1 second")
      const { frames } = normalize(yield* client.take(4))
      assert.deepStrictEqual(frames, [
        header(3, "T1", 8, 8),
        "bin:89abcdef",
        header(3, "T1", 4, 16, done(FILE_SHA, FILE_SHA)),
        "bin:ghij"
      ])
      assert.strictEqual(
        yield* client.call(msg(11, { id: 4, filename: "client.bin" })),
        msg(11, {
          id: 4,
          checksum: sha256("a new version"),
          size: 13,
          transfer_count: 1,
          last_transferred_at: T0 + 2,
          status: 1
        })
      )
      // putFile can also add a file.
      yield* server.putFile("Demo", "added.bin", new Uint8Array([0, 255]))
      yield* client.send(msg(8, { id: 5, filename: "added.bin" }))
      const added = normalize(yield* client.take(2))
      assert.deepStrictEqual(added.frames, [
        header(5, "T1", 2, 0, {
          file_size: 2,
          ...done(sha256(new Uint8Array([0, 255])), sha256(new Uint8Array([0, 255])))
        }),
        "bin:\u0000\u00ff"
      ])
    }).pipe(withServer({ options: { chunkSize: 8, chunkDelay: "1 second" } }))
  )
})

describe("§4.6 stop_file_transfer", () => {
  it.scoped("3 when not authorized; 308 for an unknown, finished or other session's transfer", () =>
    Effect.gen(function* () {
      const client = yield* initialized()
      assert.strictEqual(yield* client.call(stopText(2, "nope", true)), msg(9, { id: 2, status: 3 }))
      assert.strictEqual(payloadOf(yield* client.call(msg(3, { id: 3, license: "ABCDEF-123456" })))["status"], 1)
      assert.strictEqual(
        yield* client.call(stopText(4, "0".repeat(32), true)),
        '{"type":9,"payload":{"id":4,"status":308}}'
      )
      // A finished stream.
      const finished = yield* start(client, 5, "empty.bin")
      assert.strictEqual(yield* client.call(stopText(6, finished.transferId, true)), msg(9, { id: 6, status: 308 }))
      // Another session's stream.
      const other = yield* withLicense("LIFETIME-0001", "other-device")
      const running = yield* start(other, 3)
      assert.strictEqual(yield* client.call(stopText(7, running.transferId)), msg(9, { id: 7, status: 308 }))
      // It keeps running: its owner stops it.
      assert.strictEqual(yield* other.call(stopText(4, running.transferId)), msg(9, { id: 4, status: 1 }))
      assert.strictEqual(yield* other.text, header(3, running.transferId, 0, 8, { status: 308 }))
      // Stopping it twice: the second gets 308.
      assert.strictEqual(yield* other.call(stopText(5, running.transferId)), msg(9, { id: 5, status: 308 }))
      yield* expectQuiet(other)
    }).pipe(withServer({ options: { chunkSize: 8, pauseAfterChunks: 1 } }))
  )

  it.scoped("without issue_token the response has no token; stopOrder header-first flips the order", () =>
    Effect.gen(function* () {
      const client = yield* withLicense("ABCDEF-123456")
      const { transferId } = yield* start(client, 3)
      yield* client.send(stopText(4, transferId, false))
      assert.deepStrictEqual(yield* client.take(2), [
        header(3, transferId, 0, 8, { status: 308 }),
        '{"type":9,"payload":{"id":4,"status":1}}'
      ])
    }).pipe(withServer({ options: { chunkSize: 8, pauseAfterChunks: 1, stopOrder: "header-first" } }))
  )

  it.scoped("a stream stopped after resuming can be stopped again with a new token", () =>
    Effect.gen(function* () {
      const client = yield* withLicense("ABCDEF-123456")
      const { transferId } = yield* start(client, 3)
      const token = yield* stopWithToken(client, 4, 3, transferId, 8)
      yield* client.send(resumeText(5, transferId, token))
      assert.deepStrictEqual(yield* client.take(2), [header(5, transferId, 8, 8, { file_size: 20 }), "bin:89abcdef"])
      const second = yield* stopWithToken(client, 6, 5, transferId, 16)
      assert.notStrictEqual(second, token)
      yield* client.send(resumeText(7, transferId, second))
      assert.deepStrictEqual(yield* client.take(2), [
        header(7, transferId, 4, 16, { file_size: 20, ...done(FILE_SHA, GHIJ_SHA) }),
        "bin:ghij"
      ])
    }).pipe(withServer({ options: { chunkSize: 8, pauseAfterChunks: 1 } }))
  )

  it.scoped("a stop at the very start (nothing sent yet by the stream after its first pair) ends at offset 8", () =>
    Effect.gen(function* () {
      const client = yield* withLicense("ABCDEF-123456")
      const { transferId } = yield* start(client, 3)
      yield* client.send(stopText(4, transferId))
      yield* client.send(msg(0, { id: 5 }))
      assert.deepStrictEqual(yield* client.take(3), [
        msg(9, { id: 4, status: 1 }),
        header(3, transferId, 0, 8, { status: 308 }),
        msg(0, { id: 5 })
      ])
    }).pipe(withServer({ options: { chunkSize: 8, chunkDelay: "1 hour" } }))
  )
})

describe("§4.7–4.8 resume_file_transfer and tokens", () => {
  const stopped = (client: RawClient) =>
    Effect.gen(function* () {
      const { transferId } = yield* start(client, 3)
      const token = yield* stopWithToken(client, 4, 3, transferId, 8)
      return { transferId, token }
    })

  const rejection = (client: RawClient, id: number, transferId: string, token: string, status: number) =>
    Effect.gen(function* () {
      assert.strictEqual(
        yield* client.call(resumeText(id, transferId, token)),
        header(id, transferId, 0, 0, { status }),
        `resume → ${status}`
      )
    })

  /** With `pauseAfterChunks: 1`, a resumed stream sends its first pair and waits. */
  const resumedOk = (client: RawClient, id: number, transferId: string, token: string) =>
    Effect.gen(function* () {
      yield* client.send(resumeText(id, transferId, token))
      assert.deepStrictEqual(yield* client.take(2), [header(id, transferId, 8, 8, { file_size: 20 }), "bin:89abcdef"])
    })

  it.scoped("3 when not authorized; 309 for an unknown token, a used one, or another transfer's", () =>
    Effect.gen(function* () {
      const fresh = yield* initialized()
      assert.strictEqual(
        yield* fresh.call(resumeText(2, "a-transfer", "a-token")),
        header(2, "a-transfer", 0, 0, { status: 3 })
      )
      const client = yield* withLicense("ABCDEF-123456")
      const first = yield* stopped(client)
      yield* rejection(client, 5, first.transferId, "x".repeat(43), 309)
      // A token names its transfer: with another transfer id it is refused, and not used up.
      yield* rejection(client, 6, "f".repeat(32), first.token, 309)
      yield* resumedOk(client, 7, first.transferId, first.token)
      // Single use.
      yield* rejection(client, 8, first.transferId, first.token, 309)
    }).pipe(withServer({ options: { chunkSize: 8, pauseAfterChunks: 1 } }))
  )

  it.scoped("a token expires 10 minutes after the stop", () =>
    Effect.gen(function* () {
      const client = yield* withLicense("LIFETIME-0001")
      const first = yield* stopped(client)
      yield* TestClock.adjust("599999 millis")
      yield* client.send(resumeText(5, first.transferId, first.token))
      assert.deepStrictEqual(yield* client.take(2), [
        header(5, first.transferId, 8, 8, { file_size: 20 }),
        "bin:89abcdef"
      ])
      const second = yield* stopWithToken(client, 6, 5, first.transferId, 16)
      yield* TestClock.adjust("10 minutes")
      yield* rejection(client, 7, first.transferId, second, 309)
    }).pipe(withServer({ options: { chunkSize: 8, pauseAfterChunks: 1 } }))
  )

  it.scoped("uses the configured token lifetime", () =>
    Effect.gen(function* () {
      const client = yield* withLicense("LIFETIME-0001")
      const first = yield* stopped(client)
      yield* TestClock.adjust("30 seconds")
      yield* rejection(client, 5, first.transferId, first.token, 309)
    }).pipe(withServer({ options: { chunkSize: 8, pauseAfterChunks: 1, resumeTokenLifetime: "30 seconds" } }))
  )

  it.scoped(
    "a token is bound to the identity: another license gets 3, the same license on a later connection works",
    () =>
      Effect.gen(function* () {
        const owner = yield* withLicense("ABCDEF-123456")
        const first = yield* stopped(owner)
        yield* owner.transport.close(1000)
        const stranger = yield* withLicense("LIFETIME-0001")
        yield* rejection(stranger, 3, first.transferId, first.token, 3)
        const account = yield* withAccount("demo_user")
        yield* rejection(account, 3, first.transferId, first.token, 3)
        // The 3 did not use the token up.
        const later = yield* withLicense("ABCDEF-123456")
        yield* resumedOk(later, 3, first.transferId, first.token)
      }).pipe(withServer({ options: { chunkSize: 8, pauseAfterChunks: 1 } }))
  )

  it.scoped("an account's token works for the same account on another connection, not for another account", () =>
    Effect.gen(function* () {
      const owner = yield* withAccount("demo_user")
      const first = yield* stopped(owner)
      const other = yield* withAccount("linked_user", "strong-password", 0, "other-device")
      yield* rejection(other, 3, first.transferId, first.token, 3)
      const again = yield* withAccount("demo_user", "strong-password", 0, "third-device")
      yield* resumedOk(again, 3, first.transferId, first.token)
    }).pipe(withServer({ options: { chunkSize: 8, pauseAfterChunks: 1 } }))
  )

  it.scoped("309 when the file changed (putFile) after the stop", () =>
    Effect.gen(function* () {
      const server = yield* Server.BlazeauthServer
      const client = yield* withLicense("ABCDEF-123456")
      const first = yield* stopped(client)
      yield* server.putFile("Demo", "client.bin", new TextEncoder().encode(FILE_TEXT))
      // Same bytes, new version: still refused.
      yield* rejection(client, 5, first.transferId, first.token, 309)
    }).pipe(withServer({ options: { chunkSize: 8, pauseAfterChunks: 1 } }))
  )

  it.scoped("304 when the quota left is smaller than the resumed stream's first chunk", () =>
    Effect.gen(function* () {
      const client = yield* withLicense("ABCDEF-123456")
      const first = yield* stopped(client)
      yield* rejection(client, 5, first.transferId, first.token, 304)
    }).pipe(
      withServer({
        fixtures: fixtures({ quotas: { transfer_bytes: 15 } }),
        options: { chunkSize: 8, pauseAfterChunks: 1 }
      })
    )
  )
})

describe("§2.2 logout during streams", () => {
  it.scoped(
    "the logout response comes first, then every active stream ends with status 3 at its first unsent byte",
    () =>
      Effect.gen(function* () {
        const client = yield* withLicense("ABCDEF-123456")
        const first = yield* start(client, 3)
        const second = yield* start(client, 4, "alpha.bin")
        yield* client.send(msg(6, { id: 5 }))
        const frames = yield* client.take(3)
        assert.strictEqual(frames[0], '{"type":6,"payload":{"id":5,"status":1}}')
        assert.sameMembers(frames.slice(1), [
          header(3, first.transferId, 0, 8, { status: 3 }),
          header(4, second.transferId, 0, 8, { status: 3 })
        ])
        yield* expectQuiet(client)
        // The streams are gone: a stop finds nothing, and the session needs to authorize again.
        assert.strictEqual(yield* client.call(msg(3, { id: 6, license: "ABCDEF-123456" })), payloadOfOk(6))
        assert.strictEqual(yield* client.call(stopText(7, first.transferId)), msg(9, { id: 7, status: 308 }))
      }).pipe(withServer({ options: { chunkSize: 8, pauseAfterChunks: 1 } }))
  )
})

const payloadOfOk = (id: number) =>
  msg(3, {
    id,
    license: "ABCDEF-123456",
    levels: ["pro"],
    comment: "main seat",
    ip_address: "127.0.0.1",
    time_left: T0 + 86400,
    status: 1
  })

describe("§4.4 rule 8: panel events between pairs", () => {
  it.scoped("events pushed while a stream runs arrive, and never between a header and its binary frame", () =>
    Effect.gen(function* () {
      const server = yield* Server.BlazeauthServer
      const client = yield* withLicense("ABCDEF-123456")
      yield* client.send(msg(8, { id: 3, filename: "client.bin" }))
      for (let i = 0; i < 5; i++) {
        yield* Effect.fork(server.pushPanelEvent("Demo", { eventType: i }))
        yield* TestClock.adjust("1 second")
      }
      const kinds: Array<string> = []
      while (kinds.filter((kind) => kind === "event").length < 5 || !kinds.includes("terminal")) {
        const frame = yield* client.next
        if (typeof frame !== "string") return assert.fail("a binary frame without its header")
        const payload = payloadOf(frame)
        if (frame.startsWith('{"type":18')) {
          kinds.push("event")
          continue
        }
        const size = payload["chunk_size"]
        if (typeof size === "number" && size > 0) assert.strictEqual((yield* client.binary).byteLength, size)
        kinds.push(payload["status"] === 1 ? "terminal" : "pair")
      }
      assert.deepStrictEqual(
        kinds.filter((kind) => kind !== "event"),
        ["pair", "pair", "pair", "pair", "terminal"]
      )
      assert.isBelow(kinds.indexOf("event"), kinds.indexOf("terminal"), "events arrive while the stream runs")
    }).pipe(withServer({ options: { chunkSize: 4, chunkDelay: "1 second" } }))
  )
})

const tempFile = (content: Uint8Array) =>
  Effect.gen(function* () {
    const directory = yield* Effect.acquireRelease(
      Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "blazeauth-server-"))),
      (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
    )
    Fs.writeFileSync(Path.join(directory, "disk.bin"), content)
    return directory
  })

describe("files on disk", () => {
  it.scoped("a read error ends the stream with 6 at the first unsent byte", () =>
    Effect.gen(function* () {
      const directory = yield* tempFile(new Uint8Array(100).fill(7))
      yield* Effect.gen(function* () {
        const client = yield* withLicense("ABCDEF-123456")
        const { transferId } = yield* start(client, 3, "disk.bin")
        // The file shrinks on disk before the second chunk is read.
        Fs.truncateSync(Path.join(directory, "disk.bin"), 50)
        yield* TestClock.adjust("1 second")
        assert.strictEqual(yield* client.text, header(3, transferId, 0, 40, { status: 6 }))
        yield* expectQuiet(client)
        assert.strictEqual(payloadOf(yield* client.call(msg(11, { id: 4, filename: "disk.bin" })))["transfer_count"], 0)
      }).pipe(
        withServer({
          baseDirectory: directory,
          fixtures: fixtures({ files: [{ name: "disk.bin", path: "disk.bin" }] }),
          options: { chunkSize: 40, chunkDelay: "1 second", readAheadBytes: 40 }
        })
      )
    })
  )

  /** Streams a disk file with no pacing, truncates it after the first pair, then sends `request`. */
  const raceWithFailingRead = (request: (transferId: string) => string, expectedAnswerType: number) =>
    Effect.gen(function* () {
      const directory = yield* tempFile(new Uint8Array(40 * 200).fill(7))
      return yield* Effect.gen(function* () {
        const client = yield* withLicense("ABCDEF-123456")
        const { transferId } = yield* start(client, 3, "disk.bin")
        Fs.truncateSync(Path.join(directory, "disk.bin"), 40)
        yield* client.send(request(transferId))
        let answer: string | undefined
        let ending: string | undefined
        while (answer === undefined || ending === undefined) {
          const frame = yield* client.next
          if (typeof frame !== "string") continue
          const payload = payloadOf(frame)
          if (frame.startsWith(`{"type":${expectedAnswerType},`)) answer = frame
          else if (payload["status"] !== undefined) ending = frame
        }
        const status = payloadOf(ending)["status"]
        assert.include([6, 308, 3], status, ending)
        yield* expectQuiet(client)
        return { answer, ending, status }
      }).pipe(
        withServer({
          baseDirectory: directory,
          fixtures: fixtures({ files: [{ name: "disk.bin", path: "disk.bin" }] }),
          options: { chunkSize: 40, readAheadBytes: 40 }
        })
      )
    })

  it.scoped("a stop racing a failing read is answered: 308 after the error header, or 1 with a 308 ending", () =>
    Effect.gen(function* () {
      for (let round = 0; round < 5; round++) {
        const { answer, status } = yield* raceWithFailingRead((transferId) => stopText(4, transferId), 9)
        assert.strictEqual(answer, msg(9, { id: 4, status: status === 6 ? 308 : 1 }))
      }
    })
  )

  it.scoped("a logout racing a failing read is answered", () =>
    Effect.gen(function* () {
      for (let round = 0; round < 5; round++) {
        const { answer } = yield* raceWithFailingRead(() => msg(6, { id: 4 }), 6)
        assert.strictEqual(answer, msg(6, { id: 4, status: 1 }))
      }
    })
  )

  it.scoped("concurrent streams of disk files never cross the transfer quota", () =>
    Effect.gen(function* () {
      const directory = yield* tempFile(new Uint8Array(100).fill(9))
      yield* Effect.gen(function* () {
        const first = yield* withLicense("ABCDEF-123456")
        const second = yield* withLicense("LIFETIME-0001", "second-device")
        // Both requests arrive together; only one first chunk of 40 fits in the quota of 60.
        yield* first.send(msg(8, { id: 3, filename: "disk.bin" }))
        yield* second.send(msg(8, { id: 3, filename: "disk.bin" }))
        const answers = [yield* first.text, yield* second.text].map((text) => normalize([text]).frames[0])
        assert.sameMembers(answers, [
          header(3, "T1", 40, 0, { file_size: 100 }),
          header(3, "T1", 0, 0, { status: 304 })
        ])
      }).pipe(
        withServer({
          baseDirectory: directory,
          fixtures: fixtures({ files: [{ name: "disk.bin", path: "disk.bin" }], quotas: { transfer_bytes: 60 } }),
          options: { chunkSize: 40, pauseAfterChunks: 1, readAheadBytes: 40 }
        })
      )
    })
  )

  it.scoped("a `path` file (relative to the fixtures) is streamed byte for byte and its checksum matches", () =>
    Effect.gen(function* () {
      const content = new Uint8Array(150_000).map((_, i) => (i * 7919 + (i >> 8)) & 0xff)
      const directory = yield* tempFile(content)
      yield* Effect.gen(function* () {
        const client = yield* withLicense("ABCDEF-123456")
        assert.strictEqual(
          yield* client.call(msg(11, { id: 3, filename: "disk.bin" })),
          msg(11, {
            id: 3,
            checksum: sha256(content),
            size: 150_000,
            transfer_count: 0,
            last_transferred_at: null,
            status: 1
          })
        )
        yield* client.send(msg(8, { id: 4, filename: "disk.bin" }))
        const { bytes, frames } = yield* readStream(client)
        assert.strictEqual(Buffer.compare(bytes, Buffer.from(content)), 0)
        const headers = normalize(frames.filter((frame) => frame.startsWith("{"))).frames
        assert.deepStrictEqual(headers, [
          header(4, "T1", 65536, 0, { file_size: 150_000 }),
          header(4, "T1", 65536, 65536),
          header(4, "T1", 150_000 - 131072, 131072, done(sha256(content), sha256(content)))
        ])
        // A resume from the middle reads at the offset.
        yield* client.send(msg(8, { id: 5, filename: "disk.bin", offset: 100_000 }))
        const tail = yield* readStream(client)
        assert.strictEqual(Buffer.compare(tail.bytes, Buffer.from(content.subarray(100_000))), 0)
        yield* expectQuiet(client)
      }).pipe(
        withServer({
          baseDirectory: directory,
          fixtures: fixtures({ files: [{ name: "disk.bin", path: "disk.bin" }] })
        })
      )
    })
  )

  it.scoped("read-ahead blocks that chunks straddle still give every byte, from any offset", () =>
    Effect.gen(function* () {
      const content = new Uint8Array(1_000).map((_, i) => (i * 31 + (i >> 3)) & 0xff)
      const directory = yield* tempFile(content)
      yield* Effect.gen(function* () {
        const client = yield* withLicense("ABCDEF-123456")
        for (const [id, offset] of [
          [3, 0],
          [4, 77],
          [5, 960]
        ] as const) {
          yield* client.send(msg(8, { id, filename: "disk.bin", offset }))
          const { bytes } = yield* readStream(client)
          assert.strictEqual(Buffer.compare(bytes, Buffer.from(content.subarray(offset))), 0, `offset ${offset}`)
        }
        yield* expectQuiet(client)
      }).pipe(
        withServer({
          baseDirectory: directory,
          fixtures: fixtures({ files: [{ name: "disk.bin", path: "disk.bin" }] }),
          // 40 does not divide 100: chunks straddle the blocks read from disk.
          options: { chunkSize: 40, readAheadBytes: 100 }
        })
      )
    })
  )
})
