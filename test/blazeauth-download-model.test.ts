/**
 * Model-based property test of a download (docs/blazeauth.md §4) through the public client API, against the
 * reference server on the in-memory network (live clock, so reconnections take a millisecond).
 *
 * The server pauses every stream after `pause` chunks until it is stopped (test option
 * `pauseAfterChunks`), so the model knows exactly where each stream ends: a stream that starts at `s`
 * delivers `[s, min(size, s + pause × chunkSize))`, and completes when that reaches the end of the
 * file. Random command lists then drive one download: read some bytes, stop (with or without a resume
 * token) and later resume, drop the connection (1006: the client reconnects and continues from the bytes
 * it holds), disconnect from the panel (4100: terminal), replace the file on the server while stopped.
 * After every command the bytes taken from `bytes` so far are exactly the file's prefix of the model's
 * length and `current` agrees with the model; at the end the whole file arrived with its SHA-256, or the
 * download failed with the error the model predicted.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Client, type ClientError, Fixtures, Server } from "@protokernel/blazeauth"
import type * as Download from "@protokernel/blazeauth/Download"
import { Transport, MemoryTransport } from "@protokernel/wire"
import { assert, describe, it } from "@effect/vitest"
import {
  type Chunk,
  Context,
  Effect,
  Either,
  FastCheck,
  Layer,
  Logger,
  LogLevel,
  Option,
  Redacted,
  Schedule,
  Stream
} from "effect"
import { pattern, sha256 } from "./kit/bytes.js"
import { fuzzParameters, fuzzRuns } from "./kit/fuzz.js"

/** Runs in `npm test`; `FUZZ_RUNS=N` scales them. */
const RUNS = 25

// ---- the client's public names that are being renamed (one place to change) -------------------------

/** Options that turn keepalive pings off and make reconnection (after 1006) immediate. */
const clientTuning = {
  pingInterval: 0,
  reconnect: { initialDelay: "1 millis", maxDelay: "2 millis", maxAttempts: 5 }
} as const satisfies Partial<Client.Options>

// ---- fixtures -----------------------------------------------------------------------------------------

const KEY = "BA-MODEL-DOWNLOADS-001"
const LICENSE = "MODEL-LICENSE-01"
const APP = "ModelDownloads"
const FILE = "model.bin"

// ---- commands -------------------------------------------------------------------------------------------

type Command =
  /** Take at least `chunks` more chunks' worth of bytes from `bytes` (fewer if the stream pauses first). */
  | { readonly _tag: "Read"; readonly chunks: number }
  /** `stop({ issueToken })`, then take the chunks still in flight. */
  | { readonly _tag: "Stop"; readonly issueToken: boolean }
  /** `resume(stopped)`. */
  | { readonly _tag: "Resume" }
  /** The server drops the connection (the client sees 1006 and reconnects). */
  | { readonly _tag: "Drop" }
  /** The panel disconnects the session: 4100, terminal. */
  | { readonly _tag: "PanelDisconnect" }
  /** A new version of the file, `grow` bytes longer. */
  | { readonly _tag: "ReplaceFile"; readonly grow: number }

const command: FastCheck.Arbitrary<Command> = FastCheck.oneof(
  {
    weight: 6,
    arbitrary: FastCheck.record({
      _tag: FastCheck.constant("Read" as const),
      chunks: FastCheck.integer({ min: 1, max: 4 })
    })
  },
  {
    weight: 3,
    arbitrary: FastCheck.record({ _tag: FastCheck.constant("Stop" as const), issueToken: FastCheck.boolean() })
  },
  { weight: 4, arbitrary: FastCheck.constant({ _tag: "Resume" as const }) },
  { weight: 3, arbitrary: FastCheck.constant({ _tag: "Drop" as const }) },
  { weight: 1, arbitrary: FastCheck.constant({ _tag: "PanelDisconnect" as const }) },
  {
    weight: 3,
    arbitrary: FastCheck.record({
      _tag: FastCheck.constant("ReplaceFile" as const),
      grow: FastCheck.integer({ min: 1, max: 40 })
    })
  }
)

// ---- the model ------------------------------------------------------------------------------------------

/** What the failure of the download must be: its tag, and the status or close code when there is one. */
interface Expected {
  readonly tag: ClientError.TransferError["_tag"]
  readonly code?: number
}

interface Model {
  readonly size: number
  readonly chunkSize: number
  readonly pause: number
  phase: "streaming" | "stopped" | "completed" | "failed"
  /** Bytes taken by the consumer, from offset 0. */
  consumed: number
  /** Where the current stream ends (pauses or completes). */
  streamEnd: number
  /** While stopped: whether the stop issued a token, and whether the file changed since. */
  token: boolean
  replaced: boolean
  failure: Expected | undefined
}

/** The end of a stream that starts at `start`. */
const endOf = (model: Model, start: number) => Math.min(model.size, start + model.pause * model.chunkSize)

// ---- the system under test ------------------------------------------------------------------------------

interface Real {
  readonly client: Client.Client
  readonly server: Server.BlazeauthServer["Type"]
  /** The server side of every connection, newest last. */
  readonly connections: Array<Transport.Transport>
  download: Download.Download
  pull: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<ClientError.TransferError>>
  stopped: Download.Stopped | undefined
  received: Array<Uint8Array>
  /** The error the download failed with, once observed. */
  error: ClientError.TransferError | undefined
}

/** The reference server on the in-memory network; every connection it accepts is recorded. */
const start = (content: Uint8Array, chunkSize: number, pause: number) =>
  Effect.gen(function* () {
    const fixtures = yield* Effect.orDie(
      Fixtures.decode({
        applications: [
          {
            api_key: KEY,
            name: APP,
            licenses: [{ key: LICENSE }],
            files: [{ name: FILE, content_base64: Buffer.from(content).toString("base64") }]
          }
        ]
      })
    )
    const memory = yield* Layer.build(MemoryTransport.layer())
    const network = Context.get(memory, Transport.TransportServer)
    const connections: Array<Transport.Transport> = []
    const recording = Layer.succeed(
      Transport.TransportServer,
      Transport.TransportServer.of({
        ...network,
        run: (handler, options) =>
          network.run((transport) => Effect.suspend(() => (connections.push(transport), handler(transport))), options)
      })
    )
    const server = Context.get(
      yield* Layer.build(
        // No rate limit: the final stop/resume cycles of a small chunk size send many messages.
        Server.layer({ fixtures, chunkSize, pauseAfterChunks: pause, rateLimit: 0 }).pipe(
          Layer.provide(recording),
          Layer.provide(NodeFileSystem.layer),
          Layer.orDie
        )
      ),
      Server.BlazeauthServer
    )
    const client = yield* Client.make({
      url: server.url,
      apiKey: Redacted.make(KEY),
      clientId: "model-download",
      auth: Client.Authorization.license(Redacted.make(LICENSE)),
      ...clientTuning
    }).pipe(Effect.provide(memory), Effect.orDie)
    return { client, server, connections }
  })

const open = (download: Download.Download) => Stream.toPull(download.bytes)

/** Takes chunks until `target` bytes were consumed in all, or the stream ended or failed. */
const readUntil = (real: Real, model: Model, target: number) =>
  Effect.gen(function* () {
    while (model.consumed < target) {
      const chunk = yield* Effect.either(real.pull)
      if (Either.isLeft(chunk)) {
        if (Option.isSome(chunk.left)) real.error = chunk.left.value
        return
      }
      for (const bytes of chunk.right) {
        real.received.push(bytes)
        model.consumed += bytes.byteLength
      }
    }
  })

/** Takes every remaining byte of the current stream, until it ends (or fails). */
const drain = (real: Real, model: Model) => readUntil(real, model, Number.POSITIVE_INFINITY)

/** Polls `check` until it holds (5 s of real time at most). */
const eventually = (check: Effect.Effect<boolean>, what: string) =>
  check.pipe(
    Effect.repeat({ until: (ok) => ok, schedule: Schedule.spaced("1 millis") }),
    Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => new Error(`not reached within 5 s: ${what}`) }),
    Effect.orDie,
    Effect.asVoid
  )

const position = (real: Real) => Effect.map(real.download.current, (progress) => progress.position)

// ---- one step -------------------------------------------------------------------------------------------

const precondition = (model: Model, command: Command): boolean => {
  switch (command._tag) {
    case "Read":
      return model.phase === "streaming" && model.consumed < model.streamEnd
    case "Stop":
      return model.phase === "streaming"
    case "Resume":
      return model.phase === "stopped"
    case "Drop":
    case "PanelDisconnect":
      return model.phase === "streaming" || model.phase === "stopped"
    case "ReplaceFile":
      return model.phase === "stopped" && !model.replaced
  }
}

const step = (model: Model, real: Real, command: Command, content: Uint8Array) =>
  Effect.gen(function* () {
    switch (command._tag) {
      case "Read": {
        yield* readUntil(real, model, Math.min(model.streamEnd, model.consumed + command.chunks * model.chunkSize))
        return
      }
      case "Stop": {
        const completes = model.streamEnd === model.size
        const stopped = yield* real.download.stop({ issueToken: command.issueToken })
        yield* drain(real, model)
        if (completes) {
          assert.isTrue(Option.isNone(stopped), "a stop after the last chunk was sent finds the stream complete")
          model.phase = "completed"
          return
        }
        if (Option.isNone(stopped)) return assert.fail("a paused stream stops")
        assert.strictEqual(stopped.value.offset, model.streamEnd, "the stop offset is where the stream paused")
        assert.strictEqual(Option.isSome(stopped.value.resumeToken), command.issueToken, "a token iff asked for")
        assert.deepStrictEqual(Option.getOrNull(stopped.value.fileSize), model.size)
        real.stopped = stopped.value
        model.phase = "stopped"
        model.token = command.issueToken
        return
      }
      case "Resume": {
        const stopped = real.stopped
        if (stopped === undefined) return assert.fail("no stop to resume")
        const resumed = yield* Effect.either(real.client.resume(stopped))
        if (model.replaced) {
          // A token names the old version (309); an offset asks the new version, whose size changed.
          model.phase = "failed"
          model.failure = model.token ? { tag: "StatusError", code: 309 } : { tag: "TransferIntegrityError" }
          if (Either.isLeft(resumed)) {
            real.error = resumed.left
            return
          }
          real.download = resumed.right
          real.pull = yield* open(resumed.right)
          yield* drain(real, model)
          return
        }
        if (Either.isLeft(resumed)) return assert.fail(`resume failed: ${resumed.left.message}`)
        real.download = resumed.right
        real.pull = yield* open(resumed.right)
        real.stopped = undefined
        model.streamEnd = endOf(model, model.streamEnd)
        model.phase = "streaming"
        return
      }
      case "Drop": {
        if (model.phase === "streaming") {
          // Everything the paused stream sent has arrived: the client continues from its end.
          yield* eventually(
            Effect.map(position(real), (held) => held === model.streamEnd),
            "the client holds every byte sent"
          )
        }
        const connection = real.connections.at(-1)
        if (connection === undefined) return assert.fail("no connection")
        const before = real.connections.length
        yield* connection.terminate()
        yield* eventually(
          Effect.map(real.client.state, (state) => real.connections.length > before && state._tag === "Authorized"),
          "the client reconnects and re-authorizes"
        )
        if (model.phase === "streaming" && model.streamEnd < model.size) {
          model.streamEnd = endOf(model, model.streamEnd)
          // The continued stream has started and paused again.
          yield* eventually(
            Effect.map(position(real), (held) => held === model.streamEnd),
            "the continued stream delivers"
          )
        }
        return
      }
      case "PanelDisconnect": {
        assert.isAtLeast(yield* real.server.disconnect({ application: APP }), 1)
        if (model.phase === "streaming") {
          if (model.streamEnd === model.size) {
            // Every byte was sent before the close: the download may have completed first.
            yield* eventually(
              Effect.map(real.client.state, (state) => state._tag === "Failed"),
              "4100 is terminal"
            )
            yield* drain(real, model)
            model.phase = real.error === undefined ? "completed" : "failed"
            model.failure = real.error === undefined ? undefined : { tag: "ConnectionClosed", code: 4100 }
            return
          }
          yield* drain(real, model)
        } else {
          yield* eventually(
            Effect.map(real.client.state, (state) => state._tag === "Failed"),
            "4100 is terminal"
          )
          const resumed = yield* Effect.either(
            real.stopped === undefined ? Effect.dieMessage("no stop") : real.client.resume(real.stopped)
          )
          if (Either.isLeft(resumed)) real.error = resumed.left
          else return assert.fail("a resume after a terminal close fails")
        }
        model.phase = "failed"
        model.failure = { tag: "ConnectionClosed", code: 4100 }
        return
      }
      case "ReplaceFile": {
        const next = new Uint8Array(content.length + command.grow).map((_, i) => (i * 31 + 7) & 0xff)
        yield* Effect.orDie(real.server.putFile(APP, FILE, next))
        model.replaced = true
        return
      }
    }
  })

/** After every command: the bytes taken so far are the file's prefix, and `current` agrees with the model. */
const check = (model: Model, real: Real, content: Uint8Array, label: string) =>
  Effect.gen(function* () {
    const received = Buffer.concat(real.received)
    assert.strictEqual(received.length, model.consumed, `${label}: bytes taken`)
    assert.isTrue(received.equals(content.subarray(0, model.consumed)), `${label}: the bytes are the file's prefix`)
    if (model.phase === "failed") return
    const progress = yield* real.download.current
    assert.isAtLeast(progress.position, model.consumed, `${label}: position ≥ bytes taken`)
    assert.isAtMost(progress.position, model.streamEnd, `${label}: position ≤ where the stream pauses`)
    assert.strictEqual(progress.filename, FILE)
    if (model.phase !== "streaming") assert.strictEqual(progress.position, model.streamEnd, `${label}: position`)
    assert.deepStrictEqual(Option.getOrNull(progress.fileSize), model.size, `${label}: file size`)
  })

// ---------------------------------------------------------------------------------------------------------

describe("Blazeauth download against a model of the bytes held", () => {
  it.scopedLive.prop(
    "read, stop/resume with and without token, dropped connections, panel disconnects and file replacements",
    {
      content: FastCheck.tuple(FastCheck.integer({ min: 0, max: 256 }), FastCheck.integer()).map(([size, seed]) =>
        pattern(size, seed)
      ),
      chunkSize: FastCheck.integer({ min: 8, max: 48 }),
      pause: FastCheck.integer({ min: 1, max: 4 }),
      commands: FastCheck.array(command, { minLength: 2, maxLength: 16 })
    },
    ({ chunkSize, commands, content, pause }) =>
      Effect.gen(function* () {
        const { client, connections, server } = yield* start(content, chunkSize, pause)
        const model: Model = {
          size: content.length,
          chunkSize,
          pause,
          phase: "streaming",
          consumed: 0,
          streamEnd: 0,
          token: false,
          replaced: false,
          failure: undefined
        }
        model.streamEnd = endOf(model, 0)
        const download = yield* client.startDownload(FILE)
        const real: Real = {
          client,
          server,
          connections,
          download,
          pull: yield* open(download),
          stopped: undefined,
          received: [],
          error: undefined
        }
        const applied: Array<Command> = []
        for (const next of commands) {
          if (!precondition(model, next)) continue
          applied.push(next)
          const label = JSON.stringify(applied)
          yield* step(model, real, next, content)
          yield* check(model, real, content, label)
        }
        // Finish: stop and resume until the whole file is in (a failed download stays failed).
        while (model.phase === "streaming" || model.phase === "stopped") {
          const next: Command =
            model.phase === "stopped"
              ? { _tag: "Resume" }
              : model.consumed < model.streamEnd
                ? { _tag: "Read", chunks: 1_000 }
                : { _tag: "Stop", issueToken: true }
          applied.push(next)
          yield* step(model, real, next, content)
          yield* check(model, real, content, JSON.stringify(applied))
        }
        const label = JSON.stringify(applied)
        if (model.phase === "completed") {
          assert.strictEqual(real.error, undefined, label)
          assert.strictEqual(model.consumed, model.size, label)
          assert.strictEqual(sha256(Buffer.concat(real.received)), sha256(content), label)
          const outcome = yield* real.download.outcome
          if (outcome._tag !== "Completed") return assert.fail(`${label}: ${outcome._tag}`)
          assert.strictEqual(
            `verified: ${outcome.verified}, ${outcome.fileSize} bytes`,
            `verified: file, ${model.size} bytes`,
            label
          )
          assert.strictEqual(outcome.fileChecksum, sha256(content), label)
          return
        }
        const expected = model.failure
        const error = real.error ?? (yield* Effect.flip(real.download.outcome))
        if (expected === undefined) return assert.fail(`${label}: no failure predicted`)
        const code =
          error._tag === "StatusError" ? error.status.code : error._tag === "ConnectionClosed" ? error.code : undefined
        assert.deepStrictEqual(
          { tag: error._tag, code },
          { tag: expected.tag, code: expected.code },
          `${label}: ${error.message}`
        )
      }).pipe(Logger.withMinimumLogLevel(LogLevel.Warning)),
    { timeout: 20_000 + 500 * fuzzRuns(RUNS), fastCheck: fuzzParameters(RUNS) }
  )
})
