/**
 * Downloads (docs/blazeauth.md §4) from the client's side, against scripted servers on the in-memory network under
 * `TestClock`: the §4.10 worked examples byte for byte (client ids start at 1 per connection, so the
 * spec's ids 19…25 are 2…8 here), the framing rules that close the socket, the binding of binary frames,
 * the integrity and decoding rules that fail one transfer only, rejections, stop and resume in both
 * orders, the idle timeout, local pre-checks, automatic resumption after a dropped connection, and
 * `downloadToFile`. The server side of §4 is covered by ServerStreams.test.ts.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Client from "@protokernel/blazeauth/Client"
import * as ClientError from "@protokernel/blazeauth/ClientError"
import * as Download from "@protokernel/blazeauth/Download"
import * as Transport from "@protokernel/wire/Transport"
import * as MemoryTransport from "@protokernel/wire/MemoryTransport"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Exit, Fiber, Option, Redacted, type Scope, Stream, TestClock } from "effect"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { makeServer, type Peer } from "./support/peer.js"
import { sha256 } from "../../../test/kit/bytes.js"
import { failureOf, some, succeeded } from "../../../test/kit/unwrap.js"

const memory = MemoryTransport.layer()

const API_KEY = "BA0123456789ABCDEFGHI"
const LICENSE = "ABCDEF-123456"

/** The file of the worked examples (§4.10) and the checksums the spec gives. */
const FILE = "0123456789abcdefghij"
const FILE_SHA = "6bc14bdc4517a7a682c6910de2e2946eb8e1ecd04090728fef6d092a7ceb62c5"
const GHIJ_SHA = "975ca72b6bdf0e938bcc214727c939f7fc64109ee8f14add455a2364e8d1451f"
const EMPTY_SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
const T1 = "5f0c2a9e4b7d41c3a8e6d2b1f0a9c8e7"
const T2 = "0d4e8b2c6a1f43e9b7c5d3a1e9f7b5c3"
const T3 = "9a1b2c3d4e5f60718293a4b5c6d7e8f9"
const T4 = "1f2e3d4c5b6a79880716253443526170"
const TOKEN = "mYU4uR6KL3vWk1EWu4QGPuOGpkJWmu5-h1kw7qzOjq4"

/** A well-formed checksum that is not the one of any data in these tests. */
const OTHER_SHA = sha256("not the file")

const baseOptions: Client.Options = {
  url: "memory://blazeauth",
  apiKey: Redacted.make(API_KEY),
  clientId: "desktop-main",
  pingInterval: "0 millis",
  reconnect: false
}

const initOk = { app_name: "Demo", app_version: "1.0.0", status: 1 }

const licenseFields = {
  license: LICENSE,
  levels: ["pro"],
  comment: null,
  ip_address: "203.0.113.10",
  time_left: 0,
  status: 1
}

/** A client whose `initialize` (and authorization, with `auth`) was answered, with its server side. */
const connect = (overrides: Partial<Client.Options> = {}) =>
  Effect.gen(function* () {
    const server = yield* makeServer
    const fiber = yield* Effect.fork(Client.make({ ...baseOptions, ...overrides }))
    const peer = yield* server.accept
    yield* peer.reply(yield* peer.request, initOk)
    if (overrides.auth !== undefined) yield* peer.reply(yield* peer.request, licenseFields)
    const client = yield* Fiber.join(fiber)
    return { client, peer, server }
  })

// ---- frames ---------------------------------------------------------------------------------------

type Frame = Transport.Frame
type Script = (id: bigint) => ReadonlyArray<Frame>

const bin = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, "latin1"))

/** A type-8 header under `id` with `fields` in the given order; a field whose value is `undefined` is left out. */
const header = (id: bigint, fields: Record<string, unknown>): string => {
  const rest = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `,${JSON.stringify(key)}:${JSON.stringify(value)}`)
    .join("")
  return `{"type":8,"payload":{"id":${id}${rest}}}`
}

/** The three headers of the full download of §4.10 (transfer `T1`), each patchable. */
const h0 = (id: bigint, patch: Record<string, unknown> = {}) =>
  header(id, { transfer_id: T1, binary_data: true, chunk_size: 8, offset: 0, file_size: 20, ...patch })
const h1 = (id: bigint, patch: Record<string, unknown> = {}) =>
  header(id, { transfer_id: T1, binary_data: true, chunk_size: 8, offset: 8, ...patch })
const h2 = (id: bigint, patch: Record<string, unknown> = {}) =>
  header(id, {
    transfer_id: T1,
    binary_data: true,
    chunk_size: 4,
    offset: 16,
    status: 1,
    file_checksum: FILE_SHA,
    range_checksum: FILE_SHA,
    ...patch
  })

const sendAll = (peer: Peer, frames: ReadonlyArray<Frame>) =>
  Effect.forEach(frames, (frame) => peer.send(frame), { discard: true })

// ---- results --------------------------------------------------------------------------------------

const text = (chunks: Chunk.Chunk<Uint8Array>): string => Buffer.concat(Chunk.toArray(chunks)).toString("latin1")

const collect = (bytes: Stream.Stream<Uint8Array, ClientError.TransferError>) =>
  Effect.map(Stream.runCollect(bytes), text)

/** An outcome as plain data (options and secrets unwrapped). */
const view = (outcome: Download.Outcome) =>
  outcome._tag === "Completed"
    ? {
        _tag: outcome._tag,
        filename: outcome.filename,
        fileSize: outcome.fileSize,
        fileChecksum: outcome.fileChecksum,
        verified: outcome.verified
      }
    : {
        _tag: outcome._tag,
        filename: outcome.filename,
        transferId: outcome.transferId,
        offset: outcome.offset,
        fileSize: Option.getOrNull(outcome.fileSize),
        resumeToken: Option.getOrNull(Option.map(outcome.resumeToken, Redacted.value))
      }

const completed = (fileSize: number, fileChecksum: string, verified: "file" | "range", filename = "client.bin") => ({
  _tag: "Completed" as const,
  filename,
  fileSize,
  fileChecksum,
  verified
})

const stoppedView = (offset: number, transferId: string, resumeToken: string | null, fileSize: number | null = 20) => ({
  _tag: "Stopped" as const,
  filename: "client.bin",
  transferId,
  offset,
  fileSize,
  resumeToken
})

const assertStatus = (error: ClientError.TransferError, usecase: string, code: number, message = "") => {
  if (error._tag !== "StatusError") {
    return assert.fail(`${message}: expected StatusError ${code}, got ${error._tag}: ${error.message}`)
  }
  assert.deepStrictEqual([error.usecase, error.status.code], [usecase, code], message)
}

const assertTag = (error: ClientError.TransferError, tag: ClientError.TransferError["_tag"], message: string) =>
  assert.strictEqual(error._tag, tag, `${message}: ${error.message}`)

/** Waits until the download has received `position` bytes of the file (counted from 0). */
const reached = (download: Download.Download, position: number) =>
  download.progress.pipe(
    Stream.filter((progress) => progress.position >= position),
    Stream.runHead,
    Effect.asVoid
  )

const waitState = (client: Client.Client, tag: Client.State["_tag"]) =>
  client.states.pipe(
    Stream.filter((state) => state._tag === tag),
    Stream.runHead,
    Effect.flatMap(Effect.orDie)
  )

const closeOf = (peer: Peer) => Effect.map(peer.closed, (close) => [close.code, close.reason] as const)

/**
 * The connection still works: a new call gets its answer. A stop the client may send for a transfer it
 * gave up on is answered with 308 and skipped (§4.5 does not say whether the client sends one).
 */
const stillWorks = (client: Client.Client, peer: Peer, message: string) =>
  Effect.gen(function* () {
    const call = yield* Effect.fork(client.getOnlineUsersCount)
    while (true) {
      const request = yield* peer.request
      if (request.type === 9) {
        yield* peer.reply(request, { status: 308 })
        continue
      }
      assert.strictEqual(request.type, 12, message)
      yield* peer.reply(request, { online_users_count: 5, status: 1 })
      break
    }
    assert.strictEqual(succeeded(yield* Fiber.await(call)), 5, message)
    assert.strictEqual((yield* client.state)._tag, "Initialized", message)
  })

/** Forks `start`, reads the request it sends and returns both. */
const begin = <A, E>(peer: Peer, start: Effect.Effect<A, E, Scope.Scope>) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.fork(start)
    const request = yield* peer.request
    return { fiber, request }
  })

// ---------------------------------------------------------------------------------------------------

describe("§4.10 worked examples, from the client's side", () => {
  it.scoped("metadata, full download, stop with a token and resume, zero-byte file and rejection, byte for byte", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect()

      // Metadata (spec id 19 → 2).
      const metadata = yield* begin(peer, client.getFileMetadata("client.bin"))
      assert.strictEqual(metadata.request.text, `{"type":11,"payload":{"id":2,"filename":"client.bin"}}`)
      yield* peer.send(
        `{"type":11,"payload":{"id":2,"checksum":"${FILE_SHA}","size":20,"transfer_count":0,"last_transferred_at":null,"status":1}}`
      )
      const info = yield* Fiber.join(metadata.fiber)
      assert.deepStrictEqual(
        [info.checksum, info.size, info.transferCount, info.lastTransferredAt],
        [FILE_SHA, 20, 0, null]
      )

      // Full download (20 → 3): three chunks, the last inside the terminal header.
      const full = yield* begin(peer, client.startDownload("client.bin"))
      assert.strictEqual(full.request.text, `{"type":8,"payload":{"id":3,"filename":"client.bin"}}`)
      yield* sendAll(peer, [
        `{"type":8,"payload":{"id":3,"transfer_id":"${T1}","binary_data":true,"chunk_size":8,"offset":0,"file_size":20}}`,
        bin("01234567"),
        `{"type":8,"payload":{"id":3,"transfer_id":"${T1}","binary_data":true,"chunk_size":8,"offset":8}}`,
        bin("89abcdef"),
        `{"type":8,"payload":{"id":3,"transfer_id":"${T1}","binary_data":true,"chunk_size":4,"offset":16,"status":1,"file_checksum":"${FILE_SHA}","range_checksum":"${FILE_SHA}"}}`,
        bin("ghij")
      ])
      const download = yield* Fiber.join(full.fiber)
      assert.strictEqual(download.filename, "client.bin")
      assert.strictEqual(yield* collect(download.bytes), FILE)
      assert.deepStrictEqual(view(yield* download.outcome), completed(20, FILE_SHA, "file"))

      // Stop with a token while the second chunk is in flight (21, 22 → 4, 5), then resume (23 → 6).
      const stopping = yield* begin(peer, client.startDownload("client.bin"))
      assert.strictEqual(stopping.request.text, `{"type":8,"payload":{"id":4,"filename":"client.bin"}}`)
      yield* sendAll(peer, [
        `{"type":8,"payload":{"id":4,"transfer_id":"${T2}","binary_data":true,"chunk_size":8,"offset":0,"file_size":20}}`,
        bin("01234567")
      ])
      const second = yield* Fiber.join(stopping.fiber)
      const firstPart = yield* Effect.fork(collect(second.bytes))
      const stop = yield* begin(peer, second.stop({ issueToken: true }))
      assert.strictEqual(stop.request.text, `{"type":9,"payload":{"id":5,"transfer_id":"${T2}","issue_token":true}}`)
      yield* sendAll(peer, [
        `{"type":8,"payload":{"id":4,"transfer_id":"${T2}","binary_data":true,"chunk_size":8,"offset":8}}`,
        bin("89abcdef"),
        `{"type":9,"payload":{"id":5,"resume_token":"${TOKEN}","status":1}}`,
        `{"type":8,"payload":{"id":4,"transfer_id":"${T2}","binary_data":true,"chunk_size":0,"offset":16,"status":308}}`
      ])
      const stopped = some(yield* Fiber.join(stop.fiber), "stop")
      assert.deepStrictEqual(view(stopped), stoppedView(16, T2, TOKEN))
      // The chunk in flight is still delivered; then `bytes` ends normally.
      assert.strictEqual(yield* Fiber.join(firstPart), "0123456789abcdef")
      assert.deepStrictEqual(view(yield* second.outcome), stoppedView(16, T2, TOKEN))
      const resuming = yield* begin(peer, client.resume(stopped))
      assert.strictEqual(
        resuming.request.text,
        `{"type":10,"payload":{"id":6,"transfer_id":"${T2}","resume_token":"${TOKEN}"}}`
      )
      yield* sendAll(peer, [
        `{"type":8,"payload":{"id":6,"transfer_id":"${T2}","binary_data":true,"chunk_size":4,"offset":16,"file_size":20,"status":1,"file_checksum":"${FILE_SHA}","range_checksum":"${GHIJ_SHA}"}}`,
        bin("ghij")
      ])
      const resumed = yield* Fiber.join(resuming.fiber)
      assert.strictEqual(yield* collect(resumed.bytes), "ghij")
      // The client holds bytes 0–19, so it also checked file_checksum.
      assert.deepStrictEqual(view(yield* resumed.outcome), completed(20, FILE_SHA, "file"))

      // A zero-byte file (24 → 7).
      const empty = yield* begin(peer, client.startDownload("empty.bin"))
      assert.strictEqual(empty.request.text, `{"type":8,"payload":{"id":7,"filename":"empty.bin"}}`)
      yield* peer.send(
        `{"type":8,"payload":{"id":7,"transfer_id":"${T3}","binary_data":true,"chunk_size":0,"offset":0,"file_size":0,"status":1,"file_checksum":"${EMPTY_SHA}","range_checksum":"${EMPTY_SHA}"}}`
      )
      const nothing = yield* Fiber.join(empty.fiber)
      assert.strictEqual(yield* collect(nothing.bytes), "")
      assert.deepStrictEqual(view(yield* nothing.outcome), completed(0, EMPTY_SHA, "file", "empty.bin"))

      // A rejection (25 → 8) fails the start with its status.
      const rejected = yield* begin(peer, client.startDownload("missing.bin"))
      assert.strictEqual(rejected.request.text, `{"type":8,"payload":{"id":8,"filename":"missing.bin"}}`)
      yield* peer.send(
        `{"type":8,"payload":{"id":8,"transfer_id":"${T4}","binary_data":true,"chunk_size":0,"offset":0,"status":300}}`
      )
      assertStatus(failureOf(yield* Fiber.await(rejected.fiber)), "transfer_file", 300)
      assert.isFalse(yield* peer.hasPending)
    }).pipe(Effect.provide(memory))
  )

  it.scoped(
    "a stop's continuation is opaque and survives a failed resumption: the next one still verifies the file",
    () =>
      Effect.gen(function* () {
        const { client, peer } = yield* connect()
        const stopping = yield* begin(peer, client.startDownload("client.bin"))
        yield* sendAll(peer, [
          `{"type":8,"payload":{"id":2,"transfer_id":"${T2}","binary_data":true,"chunk_size":8,"offset":0,"file_size":20}}`,
          bin("01234567")
        ])
        const download = yield* Fiber.join(stopping.fiber)
        const stop = yield* begin(peer, download.stop({ issueToken: true }))
        yield* sendAll(peer, [
          `{"type":8,"payload":{"id":2,"transfer_id":"${T2}","binary_data":true,"chunk_size":8,"offset":8}}`,
          bin("89abcdef"),
          `{"type":9,"payload":{"id":3,"resume_token":"${TOKEN}","status":1}}`,
          `{"type":8,"payload":{"id":2,"transfer_id":"${T2}","binary_data":true,"chunk_size":0,"offset":16,"status":308}}`
        ])
        const stopped = some(yield* Fiber.join(stop.fiber), "stop")
        assert.deepStrictEqual(Object.keys(stopped.continuation), [])
        assert.isTrue(Download.ContinuationTypeId in stopped.continuation)
        const terminal = (id: number) =>
          `{"type":8,"payload":{"id":${id},"transfer_id":"${T2}","binary_data":true,"chunk_size":4,"offset":16,"file_size":20,"status":1,"file_checksum":"${FILE_SHA}","range_checksum":"${GHIJ_SHA}"}}`
        // A corrupted resumption fails; the bytes it hashed do not reach the stop's digest.
        const corrupted = yield* begin(peer, client.resume(stopped))
        yield* sendAll(peer, [terminal(4), bin("ghiX")])
        const broken = yield* Fiber.join(corrupted.fiber)
        const error = failureOf(yield* Effect.exit(broken.outcome))
        assert.strictEqual(error._tag, "FileChecksumMismatch")
        const resuming = yield* begin(peer, client.resume(stopped))
        yield* sendAll(peer, [terminal(5), bin("ghij")])
        const resumed = yield* Fiber.join(resuming.fiber)
        assert.strictEqual(yield* collect(resumed.bytes), "ghij")
        assert.deepStrictEqual(view(yield* resumed.outcome), completed(20, FILE_SHA, "file"))
      }).pipe(Effect.provide(memory))
  )

  it.scoped("the stop's response and the 308 header may come in either order", () =>
    Effect.gen(function* () {
      for (const order of ["response-first", "header-first"] as const) {
        yield* Effect.gen(function* () {
          const { client, peer } = yield* connect()
          const start = yield* begin(peer, client.startDownload("client.bin"))
          yield* sendAll(peer, [h0(start.request.id, { transfer_id: T2 }), bin("01234567")])
          const download = yield* Fiber.join(start.fiber)
          const bytes = yield* Effect.fork(collect(download.bytes))
          const stop = yield* begin(peer, download.stop({ issueToken: true }))
          assert.strictEqual(
            stop.request.text,
            `{"type":9,"payload":{"id":3,"transfer_id":"${T2}","issue_token":true}}`
          )
          const response = `{"type":9,"payload":{"id":3,"resume_token":"${TOKEN}","status":1}}`
          const ending = header(2n, { transfer_id: T2, binary_data: true, chunk_size: 0, offset: 8, status: 308 })
          yield* sendAll(peer, order === "response-first" ? [response, ending] : [ending, response])
          assert.deepStrictEqual(view(some(yield* Fiber.join(stop.fiber), order)), stoppedView(8, T2, TOKEN), order)
          assert.strictEqual(yield* Fiber.join(bytes), "01234567", order)
          assert.deepStrictEqual(view(yield* download.outcome), stoppedView(8, T2, TOKEN), order)
          yield* stillWorks(client, peer, order)
        }).pipe(Effect.scoped)
      }
    }).pipe(Effect.provide(memory))
  )

  it.scoped("a stop without a token omits issue_token; resume then asks for the file again from the offset", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect()
      const start = yield* begin(peer, client.startDownload("client.bin"))
      yield* sendAll(peer, [h0(start.request.id), bin("01234567")])
      const download = yield* Fiber.join(start.fiber)
      const bytes = yield* Effect.fork(collect(download.bytes))
      const stop = yield* begin(peer, download.stop())
      assert.strictEqual(stop.request.text, `{"type":9,"payload":{"id":3,"transfer_id":"${T1}"}}`)
      yield* peer.reply(stop.request, { status: 1 })
      yield* peer.send(header(2n, { transfer_id: T1, binary_data: true, chunk_size: 0, offset: 8, status: 308 }))
      const stopped = some(yield* Fiber.join(stop.fiber), "stop")
      assert.deepStrictEqual(view(stopped), stoppedView(8, T1, null))
      assert.strictEqual(yield* Fiber.join(bytes), "01234567")
      // No token: a new stream from offset 8, with a new transfer id; the whole file is still verified.
      const resuming = yield* begin(peer, client.resume(stopped))
      assert.strictEqual(resuming.request.text, `{"type":8,"payload":{"id":4,"filename":"client.bin","offset":8}}`)
      yield* sendAll(peer, [
        header(4n, { transfer_id: T3, binary_data: true, chunk_size: 8, offset: 8, file_size: 20 }),
        bin("89abcdef"),
        header(4n, {
          transfer_id: T3,
          binary_data: true,
          chunk_size: 4,
          offset: 16,
          status: 1,
          file_checksum: FILE_SHA,
          range_checksum: sha256("89abcdefghij")
        }),
        bin("ghij")
      ])
      const resumed = yield* Fiber.join(resuming.fiber)
      assert.strictEqual(yield* collect(resumed.bytes), "89abcdefghij")
      assert.deepStrictEqual(view(yield* resumed.outcome), completed(20, FILE_SHA, "file"))
    }).pipe(Effect.provide(memory))
  )

  it.scoped("a stop that loses the race against completion returns None, in either order of the replies", () =>
    Effect.gen(function* () {
      for (const order of ["stream-first", "response-first"] as const) {
        yield* Effect.gen(function* () {
          const { client, peer } = yield* connect()
          const start = yield* begin(peer, client.startDownload("client.bin"))
          yield* sendAll(peer, [h0(start.request.id), bin("01234567")])
          const download = yield* Fiber.join(start.fiber)
          const bytes = yield* Effect.fork(collect(download.bytes))
          const stop = yield* begin(peer, download.stop({ issueToken: true }))
          const rest = [h1(2n), bin("89abcdef"), h2(2n), bin("ghij")]
          const response = `{"type":9,"payload":{"id":3,"status":308}}`
          yield* sendAll(peer, order === "stream-first" ? [...rest, response] : [response, ...rest])
          assert.isTrue(Option.isNone(yield* Fiber.join(stop.fiber)), order)
          assert.strictEqual(yield* Fiber.join(bytes), FILE, order)
          assert.deepStrictEqual(view(yield* download.outcome), completed(20, FILE_SHA, "file"), order)
          yield* stillWorks(client, peer, order)
        }).pipe(Effect.scoped)
      }
    }).pipe(Effect.provide(memory))
  )

  it.scoped("the separate terminal form: the last chunk in an intermediate header, then a chunk_size 0 terminal", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect()
      const start = yield* begin(peer, client.startDownload("client.bin"))
      const id = start.request.id
      yield* sendAll(peer, [
        h0(id),
        bin("01234567"),
        h1(id),
        bin("89abcdef"),
        header(id, { transfer_id: T1, binary_data: true, chunk_size: 4, offset: 16 }),
        bin("ghij"),
        header(id, {
          transfer_id: T1,
          binary_data: true,
          chunk_size: 0,
          offset: 20,
          status: 1,
          file_checksum: FILE_SHA,
          range_checksum: FILE_SHA
        })
      ])
      const download = yield* Fiber.join(start.fiber)
      assert.strictEqual(yield* collect(download.bytes), FILE)
      assert.deepStrictEqual(view(yield* download.outcome), completed(20, FILE_SHA, "file"))
      const last = yield* Stream.runLast(download.progress)
      assert.deepStrictEqual(
        Option.map(last, (progress) => [progress.filename, progress.position, Option.getOrNull(progress.fileSize)]),
        Option.some(["client.bin", 20, 20])
      )
    }).pipe(Effect.provide(memory))
  )

  it.scoped("from an offset: the request carries it, only the range is verified, progress counts from 0", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect()
      const start = yield* begin(peer, client.startDownload("client.bin", { offset: 4 }))
      assert.strictEqual(start.request.text, `{"type":8,"payload":{"id":2,"filename":"client.bin","offset":4}}`)
      yield* sendAll(peer, [
        header(2n, { transfer_id: T1, binary_data: true, chunk_size: 8, offset: 4, file_size: 20 }),
        bin("456789ab"),
        // file_checksum cannot be checked without bytes 0–3: a wrong one goes unnoticed.
        header(2n, {
          transfer_id: T1,
          binary_data: true,
          chunk_size: 8,
          offset: 12,
          status: 1,
          file_checksum: OTHER_SHA,
          range_checksum: sha256(FILE.slice(4))
        }),
        bin("cdefghij")
      ])
      const download = yield* Fiber.join(start.fiber)
      const positions = yield* Effect.fork(
        Stream.runCollect(Stream.map(download.progress, (progress) => progress.position))
      )
      assert.strictEqual(yield* collect(download.bytes), FILE.slice(4))
      assert.deepStrictEqual(view(yield* download.outcome), completed(20, OTHER_SHA, "range"))
      const seen = Chunk.toArray(yield* Fiber.join(positions))
      assert.strictEqual(seen.at(-1), 20)
      assert.isTrue(
        seen.every((position, i) => position >= 4 && (i === 0 || position >= (seen[i - 1] ?? 0))),
        `positions ${seen.join(", ")}`
      )

      // Offset = size: one terminal header, no bytes, the range checksum of nothing.
      const end = yield* begin(peer, client.startDownload("client.bin", { offset: 20 }))
      assert.strictEqual(end.request.text, `{"type":8,"payload":{"id":3,"filename":"client.bin","offset":20}}`)
      yield* peer.send(
        header(3n, {
          transfer_id: T2,
          binary_data: true,
          chunk_size: 0,
          offset: 20,
          file_size: 20,
          status: 1,
          file_checksum: FILE_SHA,
          range_checksum: EMPTY_SHA
        })
      )
      const none = yield* Fiber.join(end.fiber)
      assert.strictEqual(yield* collect(none.bytes), "")
      assert.deepStrictEqual(view(yield* none.outcome), completed(20, FILE_SHA, "range"))
    }).pipe(Effect.provide(memory))
  )

  it.scoped("two downloads on one connection: interleaved pairs reach their own stream", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect()
      const alpha = "ABCDEFGHIJKLMNOPQRST"
      const first = yield* begin(peer, client.startDownload("client.bin"))
      yield* sendAll(peer, [h0(2n), bin("01234567")])
      const a = yield* Fiber.join(first.fiber)
      const second = yield* begin(peer, client.startDownload("alpha.bin"))
      yield* sendAll(peer, [h0(3n, { transfer_id: T2 }), bin("ABCDEFGH")])
      const b = yield* Fiber.join(second.fiber)
      yield* sendAll(peer, [
        h1(3n, { transfer_id: T2 }),
        bin("IJKLMNOP"),
        h1(2n),
        bin("89abcdef"),
        h2(2n),
        bin("ghij"),
        h2(3n, { transfer_id: T2, file_checksum: sha256(alpha), range_checksum: sha256(alpha) }),
        bin("QRST")
      ])
      assert.strictEqual(yield* collect(a.bytes), FILE)
      assert.strictEqual(yield* collect(b.bytes), alpha)
      assert.deepStrictEqual(view(yield* b.outcome), completed(20, sha256(alpha), "file", "alpha.bin"))
    }).pipe(Effect.provide(memory))
  )
})

// ---------------------------------------------------------------------------------------------------

/** Frames sent while a download is active (after its first pair), and the detail of the violation. */
const framing: ReadonlyArray<readonly [string, Script, string]> = [
  ["a binary frame with no pending header", () => [bin("89abcdef")], "binary frame without a pending header"],
  ["a binary frame shorter than chunk_size", (id) => [h1(id), bin("89abcde")], "binary frame of 7 bytes, expected 8"],
  ["a binary frame longer than chunk_size", (id) => [h1(id), bin("89abcdefg")], "binary frame of 9 bytes, expected 8"],
  [
    "a text frame while a binary frame is pending",
    (id) => [h1(id), h1(id)],
    "text frame while a binary frame of 8 bytes is pending"
  ],
  ["chunk_size missing", (id) => [h1(id, { chunk_size: undefined })], "type-8 message without 'chunk_size'"],
  ["chunk_size negative", (id) => [h1(id, { chunk_size: -8 })], "'chunk_size' is negative"],
  ['chunk_size the string "8"', (id) => [h1(id, { chunk_size: "8" })], "'chunk_size' is not an integer"],
  ["chunk_size 8.0", (id) => [h1(id).replace(`"chunk_size":8`, `"chunk_size":8.0`)], "'chunk_size' is not an integer"],
  [
    "chunk_size above maxChunkSize (16)",
    (id) => [h1(id, { chunk_size: 17 })],
    "'chunk_size' is above the client limit of 16 bytes"
  ]
]

describe("§4.5 framing: a violation closes 1002 and fails everything with ProtocolViolation", () => {
  it.scoped("during a download: bytes, outcome and every other pending call fail; no reconnection", () =>
    Effect.gen(function* () {
      for (const [name, script, detail] of framing) {
        yield* Effect.gen(function* () {
          const { client, peer, server } = yield* connect({ reconnect: true, maxChunkSize: 16 })
          const start = yield* begin(peer, client.startDownload("client.bin"))
          yield* sendAll(peer, [h0(start.request.id), bin("01234567")])
          const download = yield* Fiber.join(start.fiber)
          const bytes = yield* Effect.fork(collect(download.bytes))
          const other = yield* begin(peer, client.getVariable("launcher_config"))
          yield* sendAll(peer, script(start.request.id))
          const expected = new ClientError.ProtocolViolation({ detail })
          assert.deepStrictEqual(failureOf(yield* Fiber.await(bytes)), expected, name)
          assert.deepStrictEqual(failureOf(yield* Effect.exit(download.outcome)), expected, name)
          assert.deepStrictEqual(failureOf(yield* Fiber.await(other.fiber)), expected, name)
          assert.deepStrictEqual(yield* closeOf(peer), [1002, `protocol violation: ${detail}`], name)
          assert.deepStrictEqual(yield* waitState(client, "Failed"), Client.State.Failed({ error: expected }), name)
          yield* TestClock.adjust("10 minutes")
          assert.strictEqual(yield* server.connections, 1, name)
        }).pipe(Effect.scoped)
      }
    }).pipe(Effect.provide(memory))
  )

  it.scoped("in the first header: startDownload fails with ProtocolViolation", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<readonly [Script, string]> = [
        [(id) => [h0(id, { chunk_size: undefined })], "type-8 message without 'chunk_size'"],
        [(id) => [h0(id, { chunk_size: "8" })], "'chunk_size' is not an integer"],
        [(id) => [h0(id, { chunk_size: -1 })], "'chunk_size' is negative"]
      ]
      for (const [script, detail] of cases) {
        yield* Effect.gen(function* () {
          const { client, peer } = yield* connect()
          const start = yield* begin(peer, client.startDownload("client.bin"))
          yield* sendAll(peer, script(start.request.id))
          assert.deepStrictEqual(
            failureOf(yield* Fiber.await(start.fiber)),
            new ClientError.ProtocolViolation({ detail }),
            detail
          )
          assert.deepStrictEqual(yield* closeOf(peer), [1002, `protocol violation: ${detail}`])
        }).pipe(Effect.scoped)
      }
      // The first binary frame of the wrong length (startDownload may already have succeeded).
      yield* Effect.gen(function* () {
        const { client, peer } = yield* connect()
        const fiber = yield* Effect.fork(collect(client.download("client.bin")))
        const request = yield* peer.request
        yield* sendAll(peer, [h0(request.id), bin("0123")])
        const detail = "binary frame of 4 bytes, expected 8"
        assert.deepStrictEqual(failureOf(yield* Fiber.await(fiber)), new ClientError.ProtocolViolation({ detail }))
        assert.deepStrictEqual(yield* closeOf(peer), [1002, `protocol violation: ${detail}`])
      }).pipe(Effect.scoped)
    }).pipe(Effect.provide(memory))
  )

  it.scoped(
    "headers with no, invalid, unknown or push ids, or of a finished stream, bind and discard their frame",
    () =>
      Effect.gen(function* () {
        const { client, peer } = yield* connect()
        // A finished stream first (id 2).
        const done = yield* begin(peer, client.startDownload("client.bin"))
        yield* sendAll(peer, [h0(2n), bin("01234567"), h1(2n), bin("89abcdef"), h2(2n), bin("ghij")])
        assert.strictEqual(yield* collect((yield* Fiber.join(done.fiber)).bytes), FILE)
        const start = yield* begin(peer, client.startDownload("client.bin"))
        yield* sendAll(peer, [h0(3n, { transfer_id: T2 }), bin("01234567")])
        const download = yield* Fiber.join(start.fiber)
        yield* sendAll(peer, [
          `{"type":8,"payload":{"transfer_id":"${T2}","binary_data":true,"chunk_size":4,"offset":8}}`,
          bin("XXXX"),
          `{"type":8,"payload":{"id":"three","transfer_id":"${T2}","binary_data":true,"chunk_size":3,"offset":8}}`,
          bin("YYY"),
          `{"type":8,"payload":{"id":99,"transfer_id":"${T2}","binary_data":true,"chunk_size":2,"offset":8}}`,
          bin("ZZ"),
          `{"type":8,"payload":{"id":18446744073709551615,"chunk_size":1}}`,
          bin("W"),
          // The finished stream's id, with fields of the wrong type: still bound.
          `{"type":8,"payload":{"id":2,"transfer_id":7,"chunk_size":5,"offset":"x"}}`,
          bin("VVVVV"),
          h1(3n, { transfer_id: T2 }),
          bin("89abcdef"),
          h2(3n, { transfer_id: T2 }),
          bin("ghij")
        ])
        assert.strictEqual(yield* collect(download.bytes), FILE)
        assert.deepStrictEqual(view(yield* download.outcome), completed(20, FILE_SHA, "file"))
        yield* stillWorks(client, peer, "after the discarded frames")
      }).pipe(Effect.provide(memory))
  )
})

// ---------------------------------------------------------------------------------------------------

/** Scripts (after the request) that break an integrity rule of §4.5. */
const integrity: ReadonlyArray<readonly [string, Script]> = [
  ["transfer_id missing in the first header", (id) => [h0(id, { transfer_id: undefined }), bin("01234567")]],
  [
    "transfer_id missing in a later header",
    (id) => [h0(id), bin("01234567"), h1(id, { transfer_id: undefined }), bin("89abcdef"), h2(id), bin("ghij")]
  ],
  ["offset missing in the first header", (id) => [h0(id, { offset: undefined }), bin("01234567")]],
  [
    "offset missing in the terminal header",
    (id) => [h0(id), bin("01234567"), h1(id), bin("89abcdef"), h2(id, { offset: undefined }), bin("ghij")]
  ],
  [
    "transfer_id changes",
    (id) => [h0(id), bin("01234567"), h1(id, { transfer_id: T2 }), bin("89abcdef"), h2(id), bin("ghij")]
  ],
  [
    "file_size changes in a later header",
    (id) => [h0(id), bin("01234567"), h1(id, { file_size: 21 }), bin("89abcdef"), h2(id), bin("ghij")]
  ],
  [
    "file_size changes in the terminal header",
    (id) => [h0(id), bin("01234567"), h1(id), bin("89abcdef"), h2(id, { file_size: 19 }), bin("ghij")]
  ],
  ["the first offset is not the requested one", (id) => [h0(id, { offset: 8 }), bin("89abcdef")]],
  [
    "an offset skips bytes",
    (id) => [h0(id), bin("01234567"), h1(id, { offset: 12 }), bin("89abcdef"), h2(id), bin("ghij")]
  ],
  ["an offset repeats", (id) => [h0(id), bin("01234567"), h1(id, { offset: 0 }), bin("01234567")]],
  [
    "a chunk_size 0 terminal header at the wrong offset",
    (id) => [
      h0(id),
      bin("01234567"),
      h1(id),
      bin("89abcdef"),
      header(id, { transfer_id: T1, binary_data: true, chunk_size: 4, offset: 16 }),
      bin("ghij"),
      h2(id, { chunk_size: 0, offset: 16 })
    ]
  ],
  [
    "file_size never announced",
    (id) => [h0(id, { file_size: undefined }), bin("01234567"), h1(id), bin("89abcdef"), h2(id), bin("ghij")]
  ],
  [
    "fewer bytes than file_size",
    (id) => [h0(id, { file_size: 24 }), bin("01234567"), h1(id), bin("89abcdef"), h2(id), bin("ghij")]
  ],
  [
    "more bytes than file_size",
    (id) => [h0(id, { file_size: 16 }), bin("01234567"), h1(id), bin("89abcdef"), h2(id), bin("ghij")]
  ],
  [
    "a zero-byte stream without file_size",
    (id) => [
      header(id, {
        transfer_id: T1,
        binary_data: true,
        chunk_size: 0,
        offset: 0,
        status: 1,
        file_checksum: EMPTY_SHA,
        range_checksum: EMPTY_SHA
      })
    ]
  ]
]

/** Scripts whose header fields have the wrong JSON type or are out of range (§1.3, §4.4 rule 6). */
const malformedHeaders: ReadonlyArray<readonly [string, Script]> = [
  ["transfer_id a number", (id) => [h0(id, { transfer_id: 5 }), bin("01234567")]],
  ["transfer_id empty", (id) => [h0(id, { transfer_id: "" }), bin("01234567")]],
  ["transfer_id of 129 characters", (id) => [h0(id, { transfer_id: "a".repeat(129) }), bin("01234567")]],
  [
    "transfer_id true in a later header",
    (id) => [h0(id), bin("01234567"), h1(id, { transfer_id: true }), bin("89abcdef")]
  ],
  ["offset a word", (id) => [h0(id, { offset: "zero" }), bin("01234567")]],
  ["offset negative", (id) => [h0(id), bin("01234567"), h1(id, { offset: -8 }), bin("89abcdef")]],
  ["offset 8.0", (id) => [h0(id), bin("01234567"), h1(id).replace(`"offset":8`, `"offset":8.0`), bin("89abcdef")]],
  [
    "offset 2^53, out of range",
    (id) => [h0(id), bin("01234567"), h1(id).replace(`"offset":8`, `"offset":9007199254740992`), bin("89abcdef")]
  ],
  ["file_size a word", (id) => [h0(id, { file_size: "twenty" }), bin("01234567")]],
  [
    "file_size 2^53, out of range",
    (id) => [h0(id).replace(`"file_size":20`, `"file_size":9007199254740992`), bin("01234567")]
  ],
  [
    'status the string "1"',
    (id) => [h0(id), bin("01234567"), h1(id), bin("89abcdef"), h2(id, { status: "1" }), bin("ghij")]
  ],
  [
    "status 2^31, out of range",
    (id) => [h0(id), bin("01234567"), h1(id), bin("89abcdef"), h2(id, { status: 2147483648 }), bin("ghij")]
  ],
  [
    "file_checksum a number",
    (id) => [h0(id), bin("01234567"), h1(id), bin("89abcdef"), h2(id, { file_checksum: 42 }), bin("ghij")]
  ],
  [
    "range_checksum null",
    (id) => [h0(id), bin("01234567"), h1(id), bin("89abcdef"), h2(id, { range_checksum: null }), bin("ghij")]
  ]
]

/** Frames of the same stream that still come after the client gave up on it (a server keeps sending). */
const late = (id: bigint): ReadonlyArray<Frame> => [
  header(id, { transfer_id: T1, binary_data: true, chunk_size: 4, offset: 16 }),
  bin("ghij")
]

const failsOneTransfer = (cases: ReadonlyArray<readonly [string, Script]>, tag: ClientError.TransferError["_tag"]) =>
  Effect.gen(function* () {
    for (const [name, script] of cases) {
      yield* Effect.gen(function* () {
        const { client, peer } = yield* connect()
        const fiber = yield* Effect.fork(collect(client.download("client.bin")))
        const request = yield* peer.request
        assert.strictEqual(request.text, `{"type":8,"payload":{"id":2,"filename":"client.bin"}}`, name)
        yield* sendAll(peer, script(request.id))
        const error = failureOf(yield* Fiber.await(fiber))
        assertTag(error, tag, name)
        if (error._tag === "TransferIntegrityError") assert.strictEqual(error.filename, "client.bin", name)
        // Frames of the failed stream are consumed and dropped; the connection stays usable.
        yield* sendAll(peer, late(request.id))
        yield* stillWorks(client, peer, name)
      }).pipe(Effect.scoped)
    }
  }).pipe(Effect.provide(memory))

describe("§4.5 header fields and integrity: one transfer fails, the connection stays open", () => {
  it.scoped(
    "a missing field, a changed transfer_id or file_size, a wrong offset or byte count: TransferIntegrityError",
    () => failsOneTransfer(integrity, "TransferIntegrityError")
  )

  it.scoped("a field of the wrong JSON type or out of range, a transfer_id empty or over 128: MalformedResponse", () =>
    failsOneTransfer(malformedHeaders, "MalformedResponse")
  )

  it.scoped("accepted: binary_data absent/false/other, digit strings, late file_size, status 0, 128 code points", () =>
    Effect.gen(function* () {
      const upper = FILE_SHA.toUpperCase()
      const longId = "😀".repeat(128)
      const accepted: ReadonlyArray<readonly [string, Script]> = [
        [
          "binary_data absent or false (informational)",
          (id) => [
            h0(id, { binary_data: undefined }),
            bin("01234567"),
            h1(id, { binary_data: false }),
            bin("89abcdef"),
            h2(id, { binary_data: undefined }),
            bin("ghij")
          ]
        ],
        [
          // §4.5: "binary_data is informational and never checked", its JSON type included.
          "binary_data of another JSON type (never checked)",
          (id) => [
            h0(id, { binary_data: "yes" }),
            bin("01234567"),
            h1(id, { binary_data: 1 }),
            bin("89abcdef"),
            h2(id, { binary_data: null }),
            bin("ghij")
          ]
        ],
        [
          "offset and file_size as digit strings",
          (id) => [
            h0(id, { offset: "0", file_size: "20" }),
            bin("01234567"),
            h1(id, { offset: "8" }),
            bin("89abcdef"),
            h2(id, { offset: "16" }),
            bin("ghij")
          ]
        ],
        [
          "file_size announced by the terminal header only",
          (id) => [
            h0(id, { file_size: undefined }),
            bin("01234567"),
            h1(id),
            bin("89abcdef"),
            h2(id, { file_size: 20 }),
            bin("ghij")
          ]
        ],
        [
          "file_size repeated with the same value, status 0 on intermediate headers, unknown fields",
          (id) => [
            h0(id, { status: 0, extra: [1] }),
            bin("01234567"),
            h1(id, { file_size: 20, status: 0 }),
            bin("89abcdef"),
            h2(id, { file_size: 20, note: "x" }),
            bin("ghij")
          ]
        ],
        [
          "checksums in uppercase hex",
          (id) => [
            h0(id),
            bin("01234567"),
            h1(id),
            bin("89abcdef"),
            h2(id, { file_checksum: upper, range_checksum: upper }),
            bin("ghij")
          ]
        ],
        [
          "a transfer_id of 128 code points (256 UTF-16 units)",
          (id) => [
            h0(id, { transfer_id: longId }),
            bin("01234567"),
            h1(id, { transfer_id: longId }),
            bin("89abcdef"),
            h2(id, { transfer_id: longId }),
            bin("ghij")
          ]
        ]
      ]
      for (const [name, script] of accepted) {
        yield* Effect.gen(function* () {
          // chunk_size 8 is exactly the client's limit here.
          const { client, peer } = yield* connect({ maxChunkSize: 8 })
          const start = yield* begin(peer, client.startDownload("client.bin"))
          yield* sendAll(peer, script(start.request.id))
          const download = succeeded(yield* Fiber.await(start.fiber), name)
          assert.strictEqual(yield* collect(download.bytes), FILE, name)
          const outcome = yield* download.outcome
          if (outcome._tag !== "Completed") return assert.fail(`${name}: expected Completed`)
          assert.deepStrictEqual(
            [outcome.fileSize, outcome.fileChecksum.toLowerCase(), outcome.verified],
            [20, FILE_SHA, "file"],
            name
          )
        }).pipe(Effect.scoped)
      }
    }).pipe(Effect.provide(memory))
  )

  it.scoped("checksums: a range or file mismatch is FileChecksumMismatch naming which one", () =>
    Effect.gen(function* () {
      const corrupted = "0123456X89abcdefghij"
      const cases: ReadonlyArray<
        readonly [string, Download.Options, Script, ReadonlyArray<"file" | "range">, string, string]
      > = [
        [
          "range_checksum wrong",
          {},
          (id) => [
            h0(id),
            bin("01234567"),
            h1(id),
            bin("89abcdef"),
            h2(id, { range_checksum: OTHER_SHA }),
            bin("ghij")
          ],
          ["range"],
          OTHER_SHA,
          FILE_SHA
        ],
        [
          "file_checksum wrong",
          {},
          (id) => [h0(id), bin("01234567"), h1(id), bin("89abcdef"), h2(id, { file_checksum: OTHER_SHA }), bin("ghij")],
          ["file"],
          OTHER_SHA,
          FILE_SHA
        ],
        [
          // From offset 0 the range is the file: either name is right, the values are the same.
          "a corrupted byte",
          {},
          (id) => [h0(id), bin("0123456X"), h1(id), bin("89abcdef"), h2(id), bin("ghij")],
          ["range", "file"],
          FILE_SHA,
          sha256(corrupted)
        ],
        [
          "range_checksum wrong, from offset 4",
          { offset: 4 },
          (id) => [
            header(id, { transfer_id: T1, binary_data: true, chunk_size: 16, offset: 4, file_size: 20 }),
            bin(FILE.slice(4)),
            header(id, {
              transfer_id: T1,
              binary_data: true,
              chunk_size: 0,
              offset: 20,
              status: 1,
              file_checksum: FILE_SHA,
              range_checksum: OTHER_SHA
            })
          ],
          ["range"],
          OTHER_SHA,
          sha256(FILE.slice(4))
        ],
        [
          "a zero-byte file whose range checksum is not the one of nothing",
          {},
          (id) => [
            header(id, {
              transfer_id: T1,
              binary_data: true,
              chunk_size: 0,
              offset: 0,
              file_size: 0,
              status: 1,
              file_checksum: EMPTY_SHA,
              range_checksum: OTHER_SHA
            })
          ],
          ["range"],
          OTHER_SHA,
          EMPTY_SHA
        ]
      ]
      for (const [name, options, script, names, expected, actual] of cases) {
        yield* Effect.gen(function* () {
          const { client, peer } = yield* connect()
          const fiber = yield* Effect.fork(collect(client.download("client.bin", options)))
          const request = yield* peer.request
          yield* sendAll(peer, script(request.id))
          const error = failureOf(yield* Fiber.await(fiber))
          if (error._tag !== "FileChecksumMismatch") return assert.fail(`${name}: got ${error._tag}: ${error.message}`)
          assert.include(names, error.checksum, name)
          assert.deepStrictEqual(
            [error.filename, error.expected.toLowerCase(), error.actual.toLowerCase()],
            ["client.bin", expected, actual],
            name
          )
          yield* stillWorks(client, peer, name)
        }).pipe(Effect.scoped)
      }
    }).pipe(Effect.provide(memory))
  )
})

// ---------------------------------------------------------------------------------------------------

describe("§4.4 rule 3, §4.5: rejections and error endings", () => {
  it.scoped("a rejection fails startDownload with its status (3, 305, 300, 310, 304, unknown); offsets unchecked", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect()
      const cases: ReadonlyArray<readonly [number, Download.Options, number]> = [
        [3, {}, 0],
        [305, {}, 0],
        [300, {}, 0],
        [310, { offset: 21 }, 21],
        // A rejection skips the offset and file_size checks.
        [304, {}, 99],
        [999, {}, 0]
      ]
      let id = 2n
      for (const [status, options, offset] of cases) {
        const start = yield* begin(peer, client.startDownload("client.bin", options))
        assert.strictEqual(
          start.request.text,
          options.offset === undefined
            ? `{"type":8,"payload":{"id":${id},"filename":"client.bin"}}`
            : `{"type":8,"payload":{"id":${id},"filename":"client.bin","offset":${options.offset}}}`
        )
        yield* peer.send(header(id, { transfer_id: T4, binary_data: true, chunk_size: 0, offset, status }))
        const error = failureOf(yield* Fiber.await(start.fiber))
        assertStatus(error, "transfer_file", status, `status ${status}`)
        if (error._tag === "StatusError") assert.strictEqual(error.status.name === "unknown", status === 999)
        id++
      }
      yield* stillWorks(client, peer, "after the rejections")
    }).pipe(Effect.provide(memory))
  )

  it.scoped("a rejected resume fails with its status (309, 3, 304)", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect()
      const stopped = Download.stopped({
        filename: "client.bin",
        transferId: T2,
        offset: 16,
        resumeToken: Redacted.make(TOKEN),
        fileSize: 20
      })
      let id = 2n
      for (const status of [309, 3, 304]) {
        const start = yield* begin(peer, client.resume(stopped))
        assert.strictEqual(
          start.request.text,
          `{"type":10,"payload":{"id":${id},"transfer_id":"${T2}","resume_token":"${TOKEN}"}}`
        )
        // Offset 0 for a resume's rejection (§4.4 rule 3), although the client holds 16 bytes.
        yield* peer.send(header(id, { transfer_id: T2, binary_data: true, chunk_size: 0, offset: 0, status }))
        assertStatus(failureOf(yield* Fiber.await(start.fiber)), "resume_file_transfer", status, `status ${status}`)
        id++
      }
      yield* stillWorks(client, peer, "after the rejections")
    }).pipe(Effect.provide(memory))
  )

  it.scoped("a later terminal status other than 1 fails the transfer with it (6, 304, 3, 308 unasked, unknown)", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect()
      let id = 2n
      for (const status of [6, 304, 3, 308, 999]) {
        const start = yield* begin(peer, client.startDownload("client.bin"))
        yield* sendAll(peer, [h0(id), bin("01234567")])
        const download = yield* Fiber.join(start.fiber)
        const bytes = yield* Effect.fork(Stream.runCollect(download.bytes))
        yield* peer.send(header(id, { transfer_id: T1, binary_data: true, chunk_size: 0, offset: 8, status }))
        assertStatus(failureOf(yield* Fiber.await(bytes)), "transfer_file", status, `status ${status}`)
        assertStatus(failureOf(yield* Effect.exit(download.outcome)), "transfer_file", status, `status ${status}`)
        id++
      }
      yield* stillWorks(client, peer, "after the error endings")
    }).pipe(Effect.provide(memory))
  )
})

// ---------------------------------------------------------------------------------------------------

describe("§4.5 idle timeout", () => {
  it.scoped("30 s without a header: Timeout, then stop_file_transfer without a token; headers reset the clock", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect()
      const start = yield* begin(peer, client.startDownload("client.bin"))
      yield* sendAll(peer, [h0(2n), bin("01234567")])
      const download = yield* Fiber.join(start.fiber)
      const bytes = yield* Effect.fork(Stream.runCollect(download.bytes))
      yield* TestClock.adjust("29999 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(bytes)))
      yield* sendAll(peer, [h1(2n), bin("89abcdef")])
      yield* reached(download, 16)
      yield* TestClock.adjust("29999 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(bytes)))
      assert.isFalse(yield* peer.hasPending)
      yield* TestClock.adjust("1 millis")
      const error = failureOf(yield* Fiber.await(bytes))
      if (error._tag !== "Timeout") return assert.fail(`expected Timeout, got ${error._tag}: ${error.message}`)
      assert.strictEqual(error.millis, 30000)
      assert.strictEqual(failureOf(yield* Effect.exit(download.outcome))._tag, "Timeout")
      const stop = yield* peer.request
      assert.strictEqual(stop.text, `{"type":9,"payload":{"id":3,"transfer_id":"${T1}"}}`)
      // The stop's answers are dropped quietly.
      yield* peer.reply(stop, { status: 1 })
      yield* peer.send(header(2n, { transfer_id: T1, binary_data: true, chunk_size: 0, offset: 16, status: 308 }))
      const after = yield* begin(peer, client.getOnlineUsersCount)
      assert.strictEqual(after.request.text, `{"type":12,"payload":{"id":4}}`)
      yield* peer.reply(after.request, { online_users_count: 3, status: 1 })
      assert.strictEqual(yield* Fiber.join(after.fiber), 3)
    }).pipe(Effect.provide(memory))
  )

  it.scoped("transferIdleTimeout sets the idle timeout", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect({ transferIdleTimeout: "5000 millis" })
      const start = yield* begin(peer, client.startDownload("client.bin"))
      yield* sendAll(peer, [h0(2n), bin("01234567")])
      const download = yield* Fiber.join(start.fiber)
      const bytes = yield* Effect.fork(Stream.runCollect(download.bytes))
      yield* TestClock.adjust("4999 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(bytes)))
      yield* TestClock.adjust("1 millis")
      const error = failureOf(yield* Fiber.await(bytes))
      assert.isTrue(error._tag === "Timeout" && error.millis === 5000, error.message)
      const stop = yield* peer.request
      assert.strictEqual(stop.text, `{"type":9,"payload":{"id":3,"transfer_id":"${T1}"}}`)
    }).pipe(Effect.provide(memory))
  )
})

// ---------------------------------------------------------------------------------------------------

describe("§4.8, §6: resume tokens and transfer ids, checked both ways", () => {
  it.scoped(
    "resume with a transfer id empty or over 128, or a token empty or over 512: InvalidArgument, nothing sent",
    () =>
      Effect.gen(function* () {
        const { client, peer } = yield* connect()
        const invalid: ReadonlyArray<readonly [string, string]> = [
          ["", TOKEN],
          ["a".repeat(129), TOKEN],
          ["😀".repeat(129), TOKEN],
          [T2, ""],
          [T2, "t".repeat(513)]
        ]
        for (const [transferId, token] of invalid) {
          const stopped = Download.stopped({
            filename: "client.bin",
            transferId,
            offset: 16,
            resumeToken: Redacted.make(token)
          })
          const error = failureOf(yield* Effect.exit(client.resume(stopped)))
          assertTag(error, "InvalidArgument", `transfer id of ${transferId.length}, token of ${token.length}`)
          assert.isFalse(yield* peer.hasPending)
        }
        // The limits themselves are fine (code points, not UTF-16 units), and no id was used above.
        const longId = "😀".repeat(128)
        const longToken = "t".repeat(512)
        const start = yield* begin(
          peer,
          client.resume(
            Download.stopped({
              filename: "client.bin",
              transferId: longId,
              offset: 16,
              resumeToken: Redacted.make(longToken)
            })
          )
        )
        assert.strictEqual(
          start.request.text,
          `{"type":10,"payload":{"id":2,"transfer_id":"${longId}","resume_token":"${longToken}"}}`
        )
        yield* peer.send(header(2n, { transfer_id: longId, binary_data: true, chunk_size: 0, offset: 0, status: 309 }))
        assertStatus(failureOf(yield* Fiber.await(start.fiber)), "resume_file_transfer", 309)
      }).pipe(Effect.provide(memory))
  )

  it.scoped(
    "a received resume token empty, over 512 characters or missing: the stop fails with MalformedResponse",
    () =>
      Effect.gen(function* () {
        const cases: ReadonlyArray<readonly [string, Record<string, unknown>, "MalformedResponse" | null]> = [
          ["empty", { resume_token: "", status: 1 }, "MalformedResponse"],
          ["513 characters", { resume_token: "t".repeat(513), status: 1 }, "MalformedResponse"],
          ["missing although asked for", { status: 1 }, "MalformedResponse"],
          ["512 characters", { resume_token: "t".repeat(512), status: 1 }, null]
        ]
        for (const [name, response, expected] of cases) {
          yield* Effect.gen(function* () {
            const { client, peer } = yield* connect()
            const start = yield* begin(peer, client.startDownload("client.bin"))
            yield* sendAll(peer, [h0(2n), bin("01234567")])
            const download = yield* Fiber.join(start.fiber)
            yield* Effect.fork(Stream.runDrain(download.bytes))
            const stop = yield* begin(peer, download.stop({ issueToken: true }))
            yield* peer.reply(stop.request, response)
            yield* peer.send(header(2n, { transfer_id: T1, binary_data: true, chunk_size: 0, offset: 8, status: 308 }))
            const exit = yield* Fiber.await(stop.fiber)
            if (expected !== null && Exit.isSuccess(exit)) {
              const token = Option.flatMap(exit.value, (stopped) => stopped.resumeToken)
              const length = Option.getOrNull(Option.map(token, (value) => Redacted.value(value).length))
              return assert.fail(`${name}: expected ${expected}, the stop succeeded with a token of length ${length}`)
            }
            if (expected === null) {
              const stopped = some(succeeded(exit), name)
              assert.deepStrictEqual(view(stopped), stoppedView(8, T1, "t".repeat(512)), name)
            } else {
              assertTag(failureOf(exit), expected, name)
            }
            yield* stillWorks(client, peer, name)
          }).pipe(Effect.scoped)
        }
      }).pipe(Effect.provide(memory))
  )

  it.scoped(
    "resuming a stop rebuilt from parts: the first offset must be the bytes held; only the range is verified",
    () =>
      Effect.gen(function* () {
        const { client, peer } = yield* connect()
        const stopped = Download.stopped({
          filename: "client.bin",
          transferId: T2,
          offset: 16,
          resumeToken: Redacted.make(TOKEN),
          fileSize: 20
        })
        const good = yield* begin(peer, client.resume(stopped))
        yield* sendAll(peer, [
          header(2n, {
            transfer_id: T2,
            binary_data: true,
            chunk_size: 4,
            offset: 16,
            file_size: 20,
            status: 1,
            file_checksum: FILE_SHA,
            range_checksum: GHIJ_SHA
          }),
          bin("ghij")
        ])
        const resumed = yield* Fiber.join(good.fiber)
        assert.strictEqual(yield* collect(resumed.bytes), "ghij")
        assert.deepStrictEqual(view(yield* resumed.outcome), completed(20, FILE_SHA, "range"))
        // A resumed stream that starts anywhere else breaks integrity.
        const fiber = yield* Effect.fork(
          Effect.scoped(Effect.flatMap(client.resume(stopped), (download) => collect(download.bytes)))
        )
        const request = yield* peer.request
        assert.strictEqual(request.id, 3n)
        yield* sendAll(peer, [
          header(3n, { transfer_id: T2, binary_data: true, chunk_size: 8, offset: 8, file_size: 20 }),
          bin("89abcdef")
        ])
        assertTag(failureOf(yield* Fiber.await(fiber)), "TransferIntegrityError", "resumed at 8, holding 16")
        yield* stillWorks(client, peer, "after the failed resume")
      }).pipe(Effect.provide(memory))
  )

  it.scoped("leaving the scope of a running download stops its stream", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect()
      const fiber = yield* Effect.fork(Effect.scoped(Effect.asVoid(client.startDownload("client.bin"))))
      yield* peer.request
      yield* sendAll(peer, [h0(2n), bin("01234567")])
      const stop = yield* peer.request
      assert.deepStrictEqual([stop.type, stop.payload["transfer_id"]], [9, T1])
      assert.notStrictEqual(stop.payload["issue_token"], true)
      yield* peer.reply(stop, { status: 1 })
      yield* peer.send(header(2n, { transfer_id: T1, binary_data: true, chunk_size: 0, offset: 8, status: 308 }))
      yield* Fiber.join(fiber)
      yield* stillWorks(client, peer, "after the scope closed")
    }).pipe(Effect.provide(memory))
  )
})

// ---------------------------------------------------------------------------------------------------

describe("automatic resumption after a dropped connection (§1.1, §4.5)", () => {
  const license = Client.Authorization.license(Redacted.make(LICENSE))

  /** A download from 0 that received its first chunk, then lost its connection; the next session is set up. */
  const dropAndReconnect = Effect.gen(function* () {
    const { client, peer, server } = yield* connect({ reconnect: true, auth: license })
    const start = yield* begin(peer, client.startDownload("client.bin"))
    assert.strictEqual(start.request.text, `{"type":8,"payload":{"id":3,"filename":"client.bin"}}`)
    yield* sendAll(peer, [h0(3n), bin("01234567")])
    const download = yield* Fiber.join(start.fiber)
    const bytes = yield* Effect.fork(collect(download.bytes))
    yield* reached(download, 8)
    yield* peer.drop
    const waiting = yield* waitState(client, "Waiting")
    if (waiting._tag !== "Waiting") return assert.fail("expected Waiting")
    yield* TestClock.adjust(waiting.delay)
    const next = yield* server.accept
    const init = yield* next.request
    assert.strictEqual(init.type, 1)
    yield* next.reply(init, initOk)
    const auth = yield* next.request
    assert.strictEqual(auth.text, `{"type":3,"payload":{"id":2,"license":"${LICENSE}"}}`)
    yield* next.reply(auth, licenseFields)
    // transfer_file again, at offset = bytes held.
    const again = yield* next.request
    assert.strictEqual(again.text, `{"type":8,"payload":{"id":3,"filename":"client.bin","offset":8}}`)
    return { client, download, bytes, next }
  })

  const tail = (fileChecksum: string): ReadonlyArray<Frame> => [
    header(3n, { transfer_id: T3, binary_data: true, chunk_size: 8, offset: 8, file_size: 20 }),
    bin("89abcdef"),
    header(3n, {
      transfer_id: T3,
      binary_data: true,
      chunk_size: 4,
      offset: 16,
      status: 1,
      file_checksum: fileChecksum,
      range_checksum: sha256("89abcdefghij")
    }),
    bin("ghij")
  ]

  it.scoped(
    "with reconnect: re-initializes, re-authorizes, continues at the bytes held and verifies the whole file",
    () =>
      Effect.gen(function* () {
        const { bytes, download, next } = yield* dropAndReconnect
        yield* sendAll(next, tail(FILE_SHA))
        assert.strictEqual(yield* Fiber.join(bytes), FILE)
        assert.deepStrictEqual(view(yield* download.outcome), completed(20, FILE_SHA, "file"))
      }).pipe(Effect.provide(memory))
  )

  it.scoped("the hash state survives the reconnection: a wrong file_checksum on the new stream is caught", () =>
    Effect.gen(function* () {
      const { bytes, next } = yield* dropAndReconnect
      yield* sendAll(next, tail(OTHER_SHA))
      assert.deepStrictEqual(
        failureOf(yield* Fiber.await(bytes)),
        new ClientError.FileChecksumMismatch({
          filename: "client.bin",
          checksum: "file",
          expected: OTHER_SHA,
          actual: FILE_SHA
        })
      )
    }).pipe(Effect.provide(memory))
  )

  it.scoped("a rejection of the continued stream fails the download with its status", () =>
    Effect.gen(function* () {
      const { bytes, next } = yield* dropAndReconnect
      yield* next.send(header(3n, { transfer_id: T4, binary_data: true, chunk_size: 0, offset: 8, status: 300 }))
      assertStatus(failureOf(yield* Fiber.await(bytes)), "transfer_file", 300)
    }).pipe(Effect.provide(memory))
  )

  it.scoped("without reconnect, a dropped connection fails the download with ConnectionClosed 1006", () =>
    Effect.gen(function* () {
      const { client, peer } = yield* connect()
      const start = yield* begin(peer, client.startDownload("client.bin"))
      yield* sendAll(peer, [h0(2n), bin("01234567")])
      const download = yield* Fiber.join(start.fiber)
      const bytes = yield* Effect.fork(collect(download.bytes))
      yield* reached(download, 8)
      yield* peer.drop
      const closed = new ClientError.ConnectionClosed({ code: 1006, reason: "", initiator: "remote" })
      assert.deepStrictEqual(failureOf(yield* Fiber.await(bytes)), closed)
      assert.deepStrictEqual(failureOf(yield* Effect.exit(download.outcome)), closed)
    }).pipe(Effect.provide(memory))
  )
})

// ---------------------------------------------------------------------------------------------------

describe("downloadToFile", () => {
  const tempDir = Effect.acquireRelease(
    Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "blazeauth-download-"))),
    (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
  )

  const toFile = (client: Client.Client, path: string) =>
    Effect.fork(Stream.runCollect(client.downloadToFile("client.bin", path)).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("writes the verified file at the path, leaves nothing else, and reports the progress", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const target = Path.join(dir, "client.bin")
      const { client, peer } = yield* connect()
      const fiber = yield* toFile(client, target)
      const request = yield* peer.request
      yield* sendAll(peer, [
        h0(request.id),
        bin("01234567"),
        h1(request.id),
        bin("89abcdef"),
        h2(request.id),
        bin("ghij")
      ])
      const progress = Chunk.toArray(succeeded(yield* Fiber.await(fiber)))
      const last = progress.at(-1)
      assert.deepStrictEqual(
        last === undefined
          ? null
          : [last.filename, last.position, Option.getOrNull(last.fileSize), Option.getOrNull(last.fileChecksum)],
        ["client.bin", 20, 20, FILE_SHA]
      )
      // Only the last element (the file in place) carries the verified checksum.
      assert.isTrue(progress.slice(0, -1).every((element) => Option.isNone(element.fileChecksum)))
      assert.strictEqual(yield* Effect.promise(() => Fs.readFile(target, "latin1")), FILE)
      assert.deepStrictEqual(yield* Effect.promise(() => Fs.readdir(dir)), ["client.bin"])
    }).pipe(Effect.provide(memory))
  )

  it.scoped("on a checksum mismatch, an integrity error or a rejection, no file is left and PATH is untouched", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<readonly [string, Script, ClientError.TransferError["_tag"]]> = [
        [
          "checksum mismatch",
          (id) => [h0(id), bin("0123456X"), h1(id), bin("89abcdef"), h2(id), bin("ghij")],
          "FileChecksumMismatch"
        ],
        [
          "integrity",
          (id) => [h0(id), bin("01234567"), h1(id, { offset: 12 }), bin("89abcdef")],
          "TransferIntegrityError"
        ],
        [
          "rejection",
          (id) => [header(id, { transfer_id: T4, binary_data: true, chunk_size: 0, offset: 0, status: 300 })],
          "StatusError"
        ]
      ]
      for (const [name, script, tag] of cases) {
        for (const existing of [false, true]) {
          yield* Effect.gen(function* () {
            const dir = yield* tempDir
            const target = Path.join(dir, "client.bin")
            if (existing) yield* Effect.promise(() => Fs.writeFile(target, "old content"))
            const { client, peer } = yield* connect()
            const fiber = yield* toFile(client, target)
            const request = yield* peer.request
            yield* sendAll(peer, script(request.id))
            const error = failureOf(yield* Fiber.await(fiber))
            assert.strictEqual(error._tag, tag, `${name}: ${error.message}`)
            assert.deepStrictEqual(
              yield* Effect.promise(() => Fs.readdir(dir)),
              existing ? ["client.bin"] : [],
              `${name}, existing ${existing}`
            )
            if (existing) assert.strictEqual(yield* Effect.promise(() => Fs.readFile(target, "latin1")), "old content")
          }).pipe(Effect.scoped)
        }
      }
    }).pipe(Effect.provide(memory))
  )
})
