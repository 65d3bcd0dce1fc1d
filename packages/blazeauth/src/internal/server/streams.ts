/**
 * Download streams (§4.3, §4.4): chunking into atomic header + binary pairs, the last chunk in the
 * terminal header with the checksums, pacing, the quota counted per chunk sent, early endings (stop
 * 308, logout 3, quota 304, read error 6), and the snapshot's `transfer_count` on completion. A stream
 * belongs to its connection (§1.1): it runs in the connection's scope, reads nothing once the
 * connection is closing, and a pair the connection could not take ends it, uncounted.
 *
 * @internal
 */
import type * as Uint64 from "@protokernel/wire/Uint64"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Crypto from "node:crypto"
import * as Status from "../../Status.js"
import * as Transfer from "../../Transfer.js"
import * as Usecase from "../../Usecase.js"
import type * as Directory from "../directory.js"
import { nowSeconds } from "./auth.js"
import type { Connection } from "./connection.js"
import * as FileReader from "./fileReader.js"
import * as Send from "./send.js"

/** @internal A stream's way to a stop or a logout: it reports where it stopped, then waits to send its ending. */
export interface Halt {
  readonly status: Status.KnownName
  readonly reached: Deferred.Deferred<number | "ended">
  readonly release: Deferred.Deferred<void>
  readonly written: Deferred.Deferred<void>
}

/** @internal */
export interface ActiveStream {
  readonly transferId: string
  readonly requestId: Uint64.Uint64
  readonly app: Directory.ApplicationState
  readonly file: Directory.FileVersion
  readonly start: number
  next: number
  sent: number
  /** Hash of the bytes sent; none for a stream from 0, whose range is the whole (snapshot) file. */
  readonly hash: Crypto.Hash | undefined
  readonly read: FileReader.ChunkReader
  halt: Halt | null
  readonly haltSignal: Deferred.Deferred<void>
}

/** @internal Bytes the application may still send (§8 transfer quota). */
export const quotaLeft = (app: Directory.ApplicationState): number =>
  app.quotas.transfer_bytes === 0 ? Number.POSITIVE_INFINITY : app.quotas.transfer_bytes - app.transferredBytes

/** @internal Whether the first chunk from `offset` would cross the quota (§4.4 rule 3). */
export const firstChunkOverQuota = (
  connection: Connection,
  app: Directory.ApplicationState,
  file: Directory.FileVersion,
  offset: number
): boolean =>
  offset < file.size && Transfer.chunkLength(connection.server.config.chunkSize, file.size, offset) > quotaLeft(app)

/** @internal Asks a stream to stop sending: it reports its position through the halt. */
export const requestHalt = (stream: ActiveStream, status: Status.KnownName): Effect.Effect<Halt> =>
  Effect.gen(function* () {
    const halt: Halt = {
      status,
      reached: yield* Deferred.make<number | "ended">(),
      release: yield* Deferred.make<void>(),
      written: yield* Deferred.make<void>()
    }
    stream.halt = halt
    yield* Deferred.succeed(stream.haltSignal, undefined)
    return halt
  })

/**
 * @internal Starts a stream; its file handle, if any, lives until the stream ends, or the connection.
 * The first header (or the whole of a short stream) goes out before the next request is read (§1.6,
 * §4.4 rule 9); the rest runs in the background, in the connection's scope.
 */
export const start = (
  connection: Connection,
  app: Directory.ApplicationState,
  requestId: Uint64.Uint64,
  transferId: string,
  file: Directory.FileVersion,
  offset: number
): Effect.Effect<void> =>
  Effect.gen(function* () {
    const config = connection.server.config
    const scope = yield* Scope.fork(connection.session.scope, ExecutionStrategy.sequential)
    const release = Scope.close(scope, Exit.void)
    const stream: ActiveStream = {
      transferId,
      requestId,
      app,
      file,
      start: offset,
      next: offset,
      sent: 0,
      hash: offset === 0 ? undefined : Crypto.createHash("sha256"),
      read: FileReader.chunkReader(file.source, connection.server.fs, scope, config.readAheadBytes),
      halt: null,
      haltSignal: yield* Deferred.make<void>()
    }
    connection.streams.set(stream.transferId, stream)
    const more = yield* step(connection, stream).pipe(
      Effect.onExit((exit) => (Exit.isSuccess(exit) && exit.value ? Effect.void : release))
    )
    if (!more) return
    yield* connection.session.fork(Effect.ensuring(run(connection, stream), release))
  })

const isPaced = (connection: Connection): boolean =>
  connection.server.config.pauseAfterChunks > 0 || connection.server.config.chunkDelay > 0

/** The rest of a stream, pair after pair. */
const run = (connection: Connection, stream: ActiveStream): Effect.Effect<void> =>
  Effect.flatMap(
    isPaced(connection)
      ? Effect.zipRight(pace(connection, stream), step(connection, stream))
      : step(connection, stream),
    (more) => (more ? run(connection, stream) : Effect.void)
  )

/** The test options of §4.4 rule 10: a delay after each chunk, or a pause after some chunks. */
const pace = (connection: Connection, stream: ActiveStream): Effect.Effect<void> =>
  Effect.suspend(() => {
    const config = connection.server.config
    if (config.pauseAfterChunks > 0 && stream.sent >= config.pauseAfterChunks) return Deferred.await(stream.haltSignal)
    if (config.chunkDelay > 0) {
      return Effect.raceFirst(Effect.sleep(config.chunkDelay), Deferred.await(stream.haltSignal))
    }
    return Effect.void
  })

/** Sends the next pair; `false` once the stream has ended. Lean: it runs once per chunk. */
const step = (connection: Connection, stream: ActiveStream): Effect.Effect<boolean> =>
  Effect.flatMap(connection.transport.isOpen, (open) => {
    if (!open) return Effect.as(endUnsent(connection, stream, 0), false)
    const app = stream.app
    if (stream.halt !== null) return Effect.as(endHalted(connection, stream, stream.halt), false)
    const length = Transfer.chunkLength(connection.server.config.chunkSize, stream.file.size, stream.next)
    if (length === 0) {
      // Nothing (left) to send: one terminal header, which is also the first of an empty stream.
      return Effect.as(complete(connection, stream, stream.next === stream.start), false)
    }
    if (length > quotaLeft(app)) {
      return Effect.as(endWithError(connection, stream, "file_storage_quota_exceeded"), false)
    }
    // The bytes are reserved before the read, which can wait for the disk: another stream of the
    // application checking the quota meanwhile must see them (§4.4 rules 3 and 4).
    app.transferredBytes += length
    return Effect.matchEffect(stream.read(stream.next, length), {
      onFailure: () => {
        app.transferredBytes -= length
        return Effect.zipRight(
          Effect.logWarning(`reading ${stream.file.name} failed`),
          Effect.as(endWithError(connection, stream, "internal_server_error"), false)
        )
      },
      onSuccess: (chunk) => sendChunk(connection, stream, chunk)
    })
  })

const sendChunk = (connection: Connection, stream: ActiveStream, chunk: Uint8Array): Effect.Effect<boolean> => {
  stream.hash?.update(chunk)
  const size = stream.file.size
  const first = stream.next === stream.start
  const last = stream.next + chunk.byteLength === size
  const terminal = last && !connection.server.config.separateTerminalHeader
  const text = Usecase.encodeHeader(
    Transfer.chunk({
      id: stream.requestId,
      transferId: stream.transferId,
      offset: stream.next,
      chunkSize: chunk.byteLength,
      fileSize: first ? size : undefined,
      checksums: terminal ? checksumsOf(stream) : undefined
    })
  )
  if (Either.isLeft(text)) return Effect.die(text.left)
  // A stream whose last pair is going out can no longer be stopped: a stop now gets 308 at once.
  if (terminal) connection.streams.delete(stream.transferId)
  return Effect.matchEffect(connection.transport.sendAll([text.right, chunk]), {
    onFailure: () => Effect.as(endUnsent(connection, stream, chunk.byteLength), false),
    onSuccess: () => {
      stream.next += chunk.byteLength
      stream.sent++
      if (terminal) {
        return Effect.zipRight(recordCompletion(stream), Effect.as(releaseLateHalt(stream), false))
      }
      if (last) return Effect.as(complete(connection, stream, false), false)
      return Effect.succeed(true)
    }
  })
}

/**
 * The connection is closing or gone: the stream ends where it is, with nothing more to write. The
 * bytes of a pair that was not taken were never sent, so they leave the quota (§4.4 rule 4) and the
 * download is not counted (rule 7).
 */
const endUnsent = (connection: Connection, stream: ActiveStream, unsent: number): Effect.Effect<void> =>
  Effect.suspend(() => {
    stream.app.transferredBytes -= unsent
    connection.streams.delete(stream.transferId)
    return releaseLateHalt(stream)
  })

/** A stream from offset 0 carries the whole file: its range checksum is the snapshot's, already known. */
const checksumsOf = (stream: ActiveStream): Transfer.Checksums => ({
  file: stream.file.checksum,
  range: stream.hash === undefined ? stream.file.checksum : stream.hash.copy().digest("hex")
})

/** A separate terminal header with `chunk_size` 0 (an empty stream's only header). */
const complete = (connection: Connection, stream: ActiveStream, first: boolean): Effect.Effect<void> =>
  Effect.gen(function* () {
    connection.streams.delete(stream.transferId)
    const text = yield* Send.header(
      Transfer.chunk({
        id: stream.requestId,
        transferId: stream.transferId,
        offset: stream.next,
        chunkSize: 0,
        fileSize: first ? stream.file.size : undefined,
        checksums: checksumsOf(stream)
      })
    )
    const sent = yield* Effect.isSuccess(connection.transport.sendAll([text]))
    if (sent) yield* recordCompletion(stream)
    yield* releaseLateHalt(stream)
  })

/** §4.4 rule 7: only a stream whose every pair the connection took. */
const recordCompletion = (stream: ActiveStream): Effect.Effect<void> =>
  Effect.map(nowSeconds, (seconds) => {
    const file = stream.app.files.get(stream.file.name)
    if (file === undefined) return
    file.transferCount++
    file.lastTransferredAt = seconds
  })

/** Ends a stream that was asked to halt: reports its position, waits, sends the ending header. */
const endHalted = (connection: Connection, stream: ActiveStream, halt: Halt): Effect.Effect<void> =>
  Effect.gen(function* () {
    connection.streams.delete(stream.transferId)
    yield* Deferred.succeed(halt.reached, stream.next)
    yield* Deferred.await(halt.release)
    yield* Send.endingHeader(connection, stream.requestId, stream.transferId, stream.next, halt.status)
    yield* Deferred.succeed(halt.written, undefined)
  })

/** An early ending (§4.4 rule 4); a stop or logout that arrived meanwhile finds the stream already ended. */
const endWithError = (connection: Connection, stream: ActiveStream, status: Status.KnownName): Effect.Effect<void> =>
  Effect.zipRight(
    Effect.sync(() => connection.streams.delete(stream.transferId)),
    Send.endingHeader(connection, stream.requestId, stream.transferId, stream.next, status)
  ).pipe(Effect.zipRight(Effect.suspend(() => releaseLateHalt(stream))))

/**
 * A halt requested while the last pair was going out finds the stream already ended. Its ending was
 * written too: a logout waits for that after its response, and must not wait forever.
 */
const releaseLateHalt = (stream: ActiveStream): Effect.Effect<void> =>
  stream.halt === null
    ? Effect.void
    : Effect.zipRight(Deferred.succeed(stream.halt.reached, "ended"), Deferred.succeed(stream.halt.written, undefined))
