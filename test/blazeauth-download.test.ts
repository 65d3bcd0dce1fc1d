/**
 * End to end over real `ws` on 127.0.0.1: downloads (docs/blazeauth.md §4) with the client SDK against the reference
 * server. Full downloads, every rejection the server can send (for `transfer_file` and for
 * `resume_file_transfer`, tokens included), stop and resume with both orders of the stop's replies,
 * fault injection through a relay that cuts connections mid-stream (the client resumes on reconnection)
 * or corrupts a chunk (the checksum catches it, `downloadToFile` leaves nothing behind), a property test
 * over chunk sizes and stop points, and backpressure with a slow consumer.
 *
 * Each test starts the servers it needs (`startServer`), because chunk size, pacing and stop order are
 * server options. Every test runs on the live clock; the token expiry moves a server clock forward.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Client, type ClientError, Status } from "@protokernel/blazeauth"
import * as Download from "@protokernel/blazeauth/Download"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, FastCheck, Fiber, Logger, LogLevel, Option, Redacted, Stream } from "effect"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import {
  type AppInput,
  connect,
  failure,
  movableClock,
  secret,
  startServer,
  startServerWithClock
} from "./support/blazeauth.js"
import { pattern, sha256 } from "./kit/bytes.js"
import { fuzzParameters, fuzzSeed } from "./kit/fuzz.js"
import { relay } from "./kit/relay.js"
import { some } from "./kit/unwrap.js"

// ---- fixtures -------------------------------------------------------------------------------------

const KEY = "BA-E2E-DOWNLOADS-00001"
const QUOTA_KEY = "BA-E2E-DLQUOTA-0000001"
const METERED_KEY = "BA-E2E-DLMETER-0000001"
const METERED16_KEY = "BA-E2E-DLMETER-0000016"
const PASSWORD = "strong-password"

const FILE = "0123456789abcdefghij"
const FILE_SHA = "6bc14bdc4517a7a682c6910de2e2946eb8e1ecd04090728fef6d092a7ceb62c5"
const EMPTY_SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
/** 1000 bytes: 125 chunks of 8. */
const MEDIUM = pattern(1000, 0x1234567)
/** 64 KiB: one default chunk, or 64 chunks of 1 KiB for the fault injection. */
const BIG = pattern(64 * 1024, 0x9e3779b9)
const BIG_SHA = sha256(BIG)
/** 1 MiB: 64 chunks of 16 KiB for the slow consumer. */
const HUGE = pattern(1024 * 1024, 0x2545f491)
const HUGE_SHA = sha256(HUGE)

const file = (name: string, content: Uint8Array | string) => ({
  name,
  content_base64: Buffer.from(content).toString("base64")
})

const downloads: AppInput = {
  api_key: KEY,
  name: "Downloads",
  licenses: [{ key: "DL-LICENSE-01" }, { key: "DL-LICENSE-02" }],
  accounts: [
    { login: "dl_user", password: PASSWORD },
    { login: "dl_other", password: PASSWORD }
  ],
  files: [
    file("client.bin", FILE),
    file("empty.bin", ""),
    file("medium.bin", MEDIUM),
    file("big.bin", BIG),
    file("huge.bin", HUGE),
    file("changing.bin", FILE)
  ]
}

const fixtures = {
  applications: [
    downloads,
    // Less than one chunk of 8: 304 before streaming.
    {
      api_key: QUOTA_KEY,
      name: "Quota",
      quotas: { transfer_bytes: 4 },
      licenses: [{ key: "QUOTA-LIC-01" }],
      files: [file("client.bin", FILE), file("empty.bin", "")]
    },
    // One chunk of 8 fits, the next does not: 304 after the first chunk.
    {
      api_key: METERED_KEY,
      name: "Metered",
      quotas: { transfer_bytes: 12 },
      licenses: [{ key: "METER-LIC-01" }],
      files: [file("client.bin", FILE)]
    },
    // Two chunks of 8 fit: a stream stopped at 16 cannot be resumed (304).
    {
      api_key: METERED16_KEY,
      name: "Metered16",
      quotas: { transfer_bytes: 16 },
      licenses: [{ key: "METER-LIC-16" }],
      files: [file("client.bin", FILE)]
    }
  ]
}

const license = (key: string) => Client.Authorization.license(secret(key))
const account = (login: string) => Client.Authorization.credentials({ login, password: secret(PASSWORD) })

// ---- helpers --------------------------------------------------------------------------------------

const collect = <E>(bytes: Stream.Stream<Uint8Array, E>): Effect.Effect<Buffer, E> =>
  Effect.map(Stream.runCollect(bytes), (chunks) => Buffer.concat(Chunk.toArray(chunks)))

const text = <E>(bytes: Stream.Stream<Uint8Array, E>): Effect.Effect<string, E> =>
  Effect.map(collect(bytes), (buffer) => buffer.toString("latin1"))

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
        offset: outcome.offset,
        fileSize: Option.getOrNull(outcome.fileSize)
      }

const completed = (fileSize: number, fileChecksum: string, verified: "file" | "range", filename = "client.bin") => ({
  _tag: "Completed" as const,
  filename,
  fileSize,
  fileChecksum,
  verified
})

/** The `StatusError` a transfer fails with, checked by usecase and status name. */
const failsWithStatus = <A, R>(
  effect: Effect.Effect<A, ClientError.TransferError, R>,
  usecase: "transfer_file" | "resume_file_transfer",
  name: Status.KnownName,
  message = ""
) =>
  Effect.map(failure(effect), (error) => {
    if (error._tag !== "StatusError") {
      return assert.fail(`${message}: expected ${usecase} to fail with ${name}, got ${error._tag}: ${error.message}`)
    }
    assert.deepStrictEqual([error.usecase, error.status.code], [usecase, Status.codes[name]], message)
    assert.isTrue(error.is(name), message)
    return error
  })

/** Waits until the download has received `position` bytes of the file (counted from 0). */
const reached = (download: Download.Download, position: number) =>
  download.progress.pipe(
    Stream.filter((progress) => progress.position >= position),
    Stream.runHead,
    Effect.asVoid
  )

/** Starts a download in a scope of its own and collects its bytes: every error of the start or of the stream. */
const fetchText = (client: Client.Client, filename: string, options?: Download.Options) =>
  Effect.scoped(Effect.flatMap(client.startDownload(filename, options), (download) => text(download.bytes)))

const tempDir = Effect.acquireRelease(
  Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "blazeauth-e2e-download-"))),
  (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
)

const listDir = (dir: string) => Effect.promise(() => Fs.readdir(dir))

// ---------------------------------------------------------------------------------------------------

describe("Blazeauth e2e: downloads over ws", () => {
  it.scopedLive(
    "full downloads equal the source: several chunks, one chunk, zero bytes, the separate terminal form",
    () =>
      Effect.gen(function* () {
        const settings = [{ chunkSize: 8 }, { chunkSize: 8, separateTerminalHeader: true }, {}]
        for (const options of settings) {
          yield* Effect.gen(function* () {
            const name = JSON.stringify(options)
            const server = yield* startServer(fixtures, options)
            const client = yield* connect(server.url, KEY, { auth: license("DL-LICENSE-01") })
            const download = yield* client.startDownload("client.bin")
            assert.strictEqual(yield* text(download.bytes), FILE, name)
            assert.deepStrictEqual(view(yield* download.outcome), completed(20, FILE_SHA, "file"), name)
            // 125 chunks of 8, or a single chunk of 64 KiB.
            const [bigName, bigContent] = "chunkSize" in options ? ["medium.bin", MEDIUM] : ["big.bin", BIG]
            const big = yield* client.startDownload(bigName)
            const bytes = yield* collect(big.bytes)
            assert.isTrue(bytes.equals(bigContent), name)
            assert.deepStrictEqual(
              view(yield* big.outcome),
              completed(bigContent.length, sha256(bigContent), "file", bigName),
              name
            )
            const empty = yield* client.startDownload("empty.bin")
            assert.strictEqual(yield* text(empty.bytes), "", name)
            assert.deepStrictEqual(view(yield* empty.outcome), completed(0, EMPTY_SHA, "file", "empty.bin"), name)
            // `download` is the same as a stream.
            assert.strictEqual(yield* text(client.download("client.bin")), FILE, name)
            const metadata = yield* client.getFileMetadata("client.bin")
            assert.strictEqual(metadata.transferCount, 2, name)
          }).pipe(Effect.scoped)
        }
      })
  )

  it.scopedLive("downloadToFile writes the verified file, reports the progress and leaves no temporary file", () =>
    Effect.gen(function* () {
      const server = yield* startServer(fixtures, { chunkSize: 4096 })
      const client = yield* connect(server.url, KEY, { auth: license("DL-LICENSE-01") })
      const dir = yield* tempDir
      const target = Path.join(dir, "big.bin")
      const progress = Chunk.toArray(
        yield* Stream.runCollect(client.downloadToFile("big.bin", target)).pipe(Effect.provide(NodeFileSystem.layer))
      )
      const last = progress.at(-1)
      assert.deepStrictEqual(
        last === undefined ? null : [last.filename, last.position, Option.getOrNull(last.fileSize)],
        ["big.bin", BIG.length, BIG.length]
      )
      assert.isTrue(progress.every((step, i) => i === 0 || step.position >= (progress[i - 1]?.position ?? 0)))
      assert.isTrue((yield* Effect.promise(() => Fs.readFile(target))).equals(BIG))
      assert.deepStrictEqual(yield* listDir(dir), ["big.bin"])
    })
  )

  it.scopedLive(
    "transfer_file rejections in check order: 3, 305, 300, 310, 304; nothing to send never hits the quota",
    () =>
      Effect.gen(function* () {
        const server = yield* startServer(fixtures, { chunkSize: 8 })
        const anonymous = yield* connect(server.url, KEY)
        yield* failsWithStatus(fetchText(anonymous, "client.bin"), "transfer_file", "not_authorized")
        // 3 comes before the name check.
        yield* failsWithStatus(fetchText(anonymous, "x"), "transfer_file", "not_authorized")
        const client = yield* connect(server.url, KEY, { auth: license("DL-LICENSE-01") })
        for (const name of ["x", "abc", "dir/client.bin", "back\\slash.bin", "tab\there.bin", "n".repeat(256)]) {
          yield* failsWithStatus(fetchText(client, name), "transfer_file", "file_invalid_name", name)
        }
        // 305 before 300, 300 before 310.
        yield* failsWithStatus(fetchText(client, "bad/missing.bin"), "transfer_file", "file_invalid_name")
        yield* failsWithStatus(fetchText(client, "missing.bin"), "transfer_file", "file_not_found")
        yield* failsWithStatus(fetchText(client, "missing.bin", { offset: 99 }), "transfer_file", "file_not_found")
        yield* failsWithStatus(fetchText(client, "client.bin", { offset: 21 }), "transfer_file", "file_invalid_offset")
        // offset = size is allowed: nothing to send, only the (empty) range is verified.
        const end = yield* client.startDownload("client.bin", { offset: 20 })
        assert.strictEqual(yield* text(end.bytes), "")
        assert.deepStrictEqual(view(yield* end.outcome), completed(20, FILE_SHA, "range"))
        // The transfer quota (4 bytes, less than a chunk of 8): 310 first, then 304.
        const limited = yield* connect(server.url, QUOTA_KEY, { auth: license("QUOTA-LIC-01") })
        yield* failsWithStatus(fetchText(limited, "client.bin", { offset: 21 }), "transfer_file", "file_invalid_offset")
        yield* failsWithStatus(fetchText(limited, "client.bin"), "transfer_file", "file_storage_quota_exceeded")
        assert.strictEqual(yield* fetchText(limited, "empty.bin"), "")
        assert.strictEqual(yield* fetchText(limited, "client.bin", { offset: 20 }), "")
        // The session stays usable, and authorizing lifts the 3.
        yield* anonymous.authByLicense(secret("DL-LICENSE-02"))
        assert.strictEqual(yield* fetchText(anonymous, "client.bin"), FILE)
      })
  )

  it.scopedLive(
    "a stream that started can still end with 304 (quota crossed) or 3 (logout) after its first bytes",
    () =>
      Effect.gen(function* () {
        const server = yield* startServer(fixtures, { chunkSize: 8, pauseAfterChunks: 2 })
        const metered = yield* connect(server.url, METERED_KEY, { auth: license("METER-LIC-01") })
        const first = yield* metered.startDownload("client.bin")
        const items = Chunk.toArray(yield* Stream.runCollect(Stream.either(first.bytes)))
        const delivered = items.flatMap((item) => (item._tag === "Right" ? [Buffer.from(item.right)] : []))
        assert.strictEqual(Buffer.concat(delivered).toString("latin1"), "01234567")
        const last = items.at(-1)
        if (last === undefined || last._tag !== "Left") return assert.fail("expected the stream to fail")
        yield* failsWithStatus(Effect.fail(last.left), "transfer_file", "file_storage_quota_exceeded")
        yield* failsWithStatus(first.outcome, "transfer_file", "file_storage_quota_exceeded")

        const client = yield* connect(server.url, KEY, { auth: license("DL-LICENSE-01") })
        const download = yield* client.startDownload("client.bin")
        const bytes = yield* Effect.fork(text(download.bytes))
        yield* reached(download, 16)
        yield* client.logout
        yield* failsWithStatus(Fiber.join(bytes), "transfer_file", "not_authorized")
        yield* failsWithStatus(download.outcome, "transfer_file", "not_authorized")
      })
  )

  it.scopedLive("stop and resume with stopOrder response-first and header-first reassemble the file exactly", () =>
    Effect.gen(function* () {
      for (const stopOrder of ["response-first", "header-first"] as const) {
        yield* Effect.gen(function* () {
          const server = yield* startServer(fixtures, { chunkSize: 8, pauseAfterChunks: 2, stopOrder })
          const client = yield* connect(server.url, KEY, { auth: license("DL-LICENSE-01") })

          // With a token: resume_file_transfer.
          const download = yield* client.startDownload("client.bin")
          const head = yield* Effect.fork(text(download.bytes))
          yield* reached(download, 16)
          const stopped = some(yield* download.stop({ issueToken: true }), stopOrder)
          assert.deepStrictEqual(
            [stopped.filename, stopped.offset, Option.getOrNull(stopped.fileSize)],
            ["client.bin", 16, 20],
            stopOrder
          )
          assert.match(stopped.transferId, /^[0-9a-f]{32}$/, stopOrder)
          const token = some(stopped.resumeToken, `${stopOrder}: token`)
          assert.match(Redacted.value(token), /^[A-Za-z0-9_-]{43}$/, stopOrder)
          assert.strictEqual(yield* Fiber.join(head), "0123456789abcdef", stopOrder)
          assert.deepStrictEqual(
            view(yield* download.outcome),
            { _tag: "Stopped", filename: "client.bin", offset: 16, fileSize: 20 },
            stopOrder
          )
          const resumed = yield* client.resume(stopped)
          assert.strictEqual(yield* text(resumed.bytes), "ghij", stopOrder)
          assert.deepStrictEqual(view(yield* resumed.outcome), completed(20, FILE_SHA, "file"), stopOrder)

          // Without a token: transfer_file again from the offset.
          const again = yield* client.startDownload("client.bin")
          const part = yield* Effect.fork(text(again.bytes))
          yield* reached(again, 16)
          const plain = some(yield* again.stop(), stopOrder)
          assert.isTrue(Option.isNone(plain.resumeToken), stopOrder)
          assert.strictEqual(plain.offset, 16, stopOrder)
          assert.strictEqual(yield* Fiber.join(part), "0123456789abcdef", stopOrder)
          const restarted = yield* client.resume(plain)
          assert.strictEqual(yield* text(restarted.bytes), "ghij", stopOrder)
          assert.deepStrictEqual(view(yield* restarted.outcome), completed(20, FILE_SHA, "file"), stopOrder)
          // Only the two completed streams count.
          assert.strictEqual((yield* client.getFileMetadata("client.bin")).transferCount, 2, stopOrder)
        }).pipe(Effect.scoped)
      }
    })
  )

  it.scopedLive(
    "resume rejections: 3 unauthorized or another identity, 309 used, another transfer's, expired, file changed, 304",
    () =>
      Effect.gen(function* () {
        const time = movableClock()
        const server = yield* startServerWithClock(fixtures, time.clock, { chunkSize: 8, pauseAfterChunks: 2 })
        const stopHere = (client: Client.Client, filename = "client.bin") =>
          Effect.gen(function* () {
            const download = yield* client.startDownload(filename)
            yield* Effect.fork(Stream.runDrain(download.bytes))
            yield* reached(download, 16)
            return some(yield* download.stop({ issueToken: true }), `stop ${filename}`)
          })
        const resumeText = (client: Client.Client, stopped: Download.Stopped) =>
          Effect.scoped(Effect.flatMap(client.resume(stopped), (download) => text(download.bytes)))

        const alice = yield* connect(server.url, KEY, { auth: license("DL-LICENSE-01") })
        const first = yield* stopHere(alice)
        // Not authorized (checked first), and another identity: 3; neither uses the token up.
        const anonymous = yield* connect(server.url, KEY)
        yield* failsWithStatus(resumeText(anonymous, first), "resume_file_transfer", "not_authorized")
        const bob = yield* connect(server.url, KEY, { auth: license("DL-LICENSE-02") })
        yield* failsWithStatus(resumeText(bob, first), "resume_file_transfer", "not_authorized")
        assert.strictEqual(yield* resumeText(alice, first), "ghij")
        // Used once: 309.
        yield* failsWithStatus(resumeText(alice, first), "resume_file_transfer", "resume_token_invalid", "reused")

        // Another transfer's token: 309, and that token stays good for its own transfer.
        const second = yield* stopHere(alice)
        const third = yield* stopHere(alice)
        const crossed = Download.stopped({
          filename: "client.bin",
          transferId: second.transferId,
          offset: second.offset,
          resumeToken: some(third.resumeToken, "third token")
        })
        yield* failsWithStatus(resumeText(alice, crossed), "resume_file_transfer", "resume_token_invalid", "crossed")
        assert.strictEqual(yield* resumeText(alice, third), "ghij")

        // Expiry: still good just before 10 minutes, invalid after.
        const early = yield* stopHere(alice)
        const late = yield* stopHere(alice)
        yield* time.advance("599 seconds")
        assert.strictEqual(yield* resumeText(alice, early), "ghij")
        yield* time.advance("2 seconds")
        yield* failsWithStatus(resumeText(alice, late), "resume_file_transfer", "resume_token_invalid", "expired")

        // The file changed after the stop: 309.
        const changing = yield* stopHere(alice, "changing.bin")
        yield* server.putFile("Downloads", "changing.bin", Buffer.from("a new version of the file"))
        yield* failsWithStatus(resumeText(alice, changing), "resume_file_transfer", "resume_token_invalid", "changed")

        // An account's token: the same account on another connection can use it, another account cannot.
        const carol = yield* connect(server.url, KEY, { auth: account("dl_user") })
        const carols = yield* stopHere(carol)
        const dave = yield* connect(server.url, KEY, { auth: account("dl_other") })
        yield* failsWithStatus(resumeText(dave, carols), "resume_file_transfer", "not_authorized", "other account")
        const carolAgain = yield* connect(server.url, KEY, { auth: account("dl_user") })
        const resumed = yield* carolAgain.resume(carols)
        assert.strictEqual(yield* text(resumed.bytes), "ghij")
        assert.deepStrictEqual(view(yield* resumed.outcome), completed(20, FILE_SHA, "file"))

        // The quota left (0 of 16) is smaller than the resumed stream's first chunk: 304.
        const metered = yield* connect(server.url, METERED16_KEY, { auth: license("METER-LIC-16") })
        const stoppedAt16 = yield* stopHere(metered)
        yield* failsWithStatus(
          resumeText(metered, stoppedAt16),
          "resume_file_transfer",
          "file_storage_quota_exceeded",
          "quota"
        )
      })
  )

  it.scopedLive(
    "50 downloads cut at random points resume on reconnection at the bytes held and end with the right SHA-256",
    () =>
      Effect.gen(function* () {
        const chunkSize = 1024
        const server = yield* startServer(fixtures, { chunkSize })
        const seed = fuzzSeed(20250101)
        const cuts = FastCheck.sample(FastCheck.integer({ min: 2, max: BIG.length / chunkSize - 2 }), {
          numRuns: 50,
          seed
        })
        yield* Effect.forEach(
          cuts,
          (cut, i) =>
            Effect.gen(function* () {
              const name = `download ${i}, cut after chunk ${cut} (seed ${seed})`
              const relayed = yield* relay(server.url, (connection) =>
                connection === 0 ? { cutAfterBinary: cut } : {}
              )
              const client = yield* connect(relayed.url, KEY, {
                reconnect: { maxAttempts: 3 },
                auth: account("dl_user")
              })
              const download = yield* client.startDownload("big.bin")
              const bytes = yield* collect(download.bytes)
              assert.strictEqual(bytes.length, BIG.length, name)
              assert.strictEqual(sha256(bytes), BIG_SHA, name)
              assert.deepStrictEqual(
                view(yield* download.outcome),
                completed(BIG.length, BIG_SHA, "file", "big.bin"),
                name
              )
              // One cut connection, one that finished the download from where the first one stopped.
              assert.strictEqual(relayed.sent.length, 2, name)
              const again = (relayed.sent[1] ?? [])
                .map((message) => JSON.parse(message) as { type: number; payload: { offset?: number } })
                .filter((message) => message.type === 8)
              assert.deepStrictEqual(
                again.map((message) => message.payload.offset ?? 0),
                [cut * chunkSize],
                name
              )
            }).pipe(Effect.scoped),
          { concurrency: "unbounded", discard: true }
        )
      }).pipe(Logger.withMinimumLogLevel(LogLevel.Warning)),
    20_000
  )

  it.scopedLive("a corrupted chunk fails with FileChecksumMismatch, and downloadToFile leaves no file", () =>
    Effect.gen(function* () {
      const server = yield* startServer(fixtures, { chunkSize: 1024 })
      // Every connection through the relay gets its second binary frame flipped at its first byte.
      const relayed = yield* relay(server.url, () => ({ corruptBinary: 2 }))
      const corrupted = Buffer.from(BIG)
      corrupted.writeUInt8(corrupted.readUInt8(1024) ^ 0xff, 1024)
      const client = yield* connect(relayed.url, KEY, { auth: account("dl_user") })
      const error = yield* failure(collect(client.download("big.bin")))
      if (error._tag !== "FileChecksumMismatch") return assert.fail(`got ${error._tag}: ${error.message}`)
      // From offset 0 the range is the whole file: either name fits, the values are fixed.
      assert.include(["range", "file"], error.checksum)
      assert.deepStrictEqual([error.filename, error.expected, error.actual], ["big.bin", BIG_SHA, sha256(corrupted)])

      const dir = yield* tempDir
      const other = yield* connect(relayed.url, KEY, { auth: account("dl_user") })
      const fileError = yield* failure(
        Stream.runDrain(other.downloadToFile("big.bin", Path.join(dir, "big.bin"))).pipe(
          Effect.provide(NodeFileSystem.layer)
        )
      )
      assert.strictEqual(fileError._tag, "FileChecksumMismatch", fileError.message)
      assert.deepStrictEqual(yield* listDir(dir), [])
      // A rejection leaves nothing either.
      const rejected = yield* failure(
        Stream.runDrain(other.downloadToFile("missing.bin", Path.join(dir, "missing.bin"))).pipe(
          Effect.provide(NodeFileSystem.layer)
        )
      )
      assert.isTrue(rejected._tag === "StatusError" && rejected.is("file_not_found"), rejected.message)
      assert.deepStrictEqual(yield* listDir(dir), [])
    })
  )

  it.scopedLive.prop(
    "random chunk sizes and stop/resume points reassemble exactly the source bytes",
    {
      content: FastCheck.uint8Array({ maxLength: 800 }),
      chunkSize: FastCheck.integer({ min: 16, max: 256 }),
      pause: FastCheck.integer({ min: 1, max: 3 }),
      tokens: FastCheck.array(FastCheck.boolean(), { minLength: 1, maxLength: 6 }),
      stopOrder: FastCheck.constantFrom("response-first" as const, "header-first" as const)
    },
    ({ content, chunkSize, pause, tokens, stopOrder }) =>
      Effect.gen(function* () {
        const size = content.length
        const server = yield* startServer(
          {
            applications: [
              {
                api_key: KEY,
                name: "Property",
                accounts: [{ login: "dl_user", password: PASSWORD }],
                files: [file("p.bin", content)]
              }
            ]
          },
          { chunkSize, pauseAfterChunks: pause, stopOrder }
        )
        const client = yield* connect(server.url, KEY, { auth: account("dl_user") })
        const parts: Array<Buffer> = []
        let download = yield* client.startDownload("p.bin")
        let start = 0
        let stops = 0
        while (true) {
          const bytes = yield* Effect.fork(collect(download.bytes))
          // The server sends `pause` chunks, then waits: a stop there lands at a known offset.
          yield* reached(download, Math.min(size, start + pause * chunkSize))
          const issueToken = tokens[stops % tokens.length] ?? false
          const stopped = yield* download.stop({ issueToken })
          parts.push(yield* Fiber.join(bytes))
          if (Option.isNone(stopped)) break
          stops++
          assert.strictEqual(stopped.value.offset, start + pause * chunkSize)
          assert.strictEqual(Option.isSome(stopped.value.resumeToken), issueToken)
          start = stopped.value.offset
          download = yield* client.resume(stopped.value)
        }
        assert.deepStrictEqual(view(yield* download.outcome), completed(size, sha256(content), "file", "p.bin"))
        assert.isTrue(Buffer.concat(parts).equals(Buffer.from(content)))
        assert.strictEqual(stops, size === 0 ? 0 : Math.ceil(size / (pause * chunkSize)) - 1)
      }).pipe(Effect.scoped),
    { timeout: 20_000, fastCheck: fuzzParameters(10) }
  )

  it.scopedLive("a slow consumer: the client reads ahead by at most about downloadBufferBytes", () =>
    Effect.gen(function* () {
      const chunkSize = 16 * 1024
      const bufferBytes = 64 * 1024
      const server = yield* startServer(fixtures, { chunkSize })
      const client = yield* connect(server.url, KEY, {
        auth: account("dl_user"),
        downloadBufferBytes: bufferBytes
      })
      const download = yield* client.startDownload("huge.bin")
      const position = Effect.map(Stream.runHead(download.progress), (progress) =>
        Option.match(progress, { onNone: () => HUGE.length, onSome: (current) => current.position })
      )
      const hash = Crypto.createHash("sha256")
      let consumed = 0
      let ahead = 0
      yield* Stream.runForEach(download.bytes, (bytes) =>
        Effect.gen(function* () {
          consumed += bytes.byteLength
          hash.update(bytes)
          ahead = Math.max(ahead, (yield* position) - consumed)
          yield* Effect.sleep("2 millis")
        })
      )
      assert.strictEqual(consumed, HUGE.length)
      assert.strictEqual(hash.digest("hex"), HUGE_SHA)
      assert.deepStrictEqual(view(yield* download.outcome), completed(HUGE.length, HUGE_SHA, "file", "huge.bin"))
      // Received but not consumed: the buffer, a batch the consumer already took from it, and one chunk
      // that is always accepted. Without backpressure this would approach the whole 1 MiB.
      assert.isAtMost(ahead, 2 * bufferBytes + 2 * chunkSize, `read ahead by ${ahead} bytes`)
    })
  )
})
