/**
 * File bytes for downloads (§4.4 rule 7: a stream serves one version of a file): the version and
 * checksum of a fixture file, and a reader of one stream's chunks that opens a file on disk once and
 * reads ahead.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as Fixtures from "../../Fixtures.js"
import type * as Directory from "../directory.js"

/** @internal */
export const sha256Hex = (bytes: Uint8Array): string => Crypto.createHash("sha256").update(bytes).digest("hex")

/** @internal A fixture file as a version: its size and checksum, read once at startup. */
export const fileVersion = (
  name: string,
  source: Fixtures.Source,
  version: number
): Effect.Effect<Directory.FileVersion, Fixtures.FixturesError, FileSystem.FileSystem> =>
  source._tag === "Bytes"
    ? Effect.succeed({ name, version, source, size: source.bytes.byteLength, checksum: sha256Hex(source.bytes) })
    : Effect.gen(function* () {
        const fs = yield* FileSystem.FileSystem
        const hash = Crypto.createHash("sha256")
        let size = 0
        yield* fs.stream(source.path, { chunkSize: 1024 * 1024 }).pipe(
          Stream.runForEach((chunk) =>
            Effect.sync(() => {
              hash.update(chunk)
              size += chunk.byteLength
            })
          ),
          Effect.mapError((error) => new Fixtures.FixturesError({ detail: `file ${name}: ${error.message}` }))
        )
        return { name, version, source, size, checksum: hash.digest("hex") }
      })

/** @internal A version holding the given bytes (a file replaced through the control interface). */
export const bytesVersion = (name: string, bytes: Uint8Array, version: number): Directory.FileVersion => ({
  name,
  version,
  source: { _tag: "Bytes", bytes },
  size: bytes.byteLength,
  checksum: sha256Hex(bytes)
})

/** @internal Reads `length` bytes of a file at `offset`. */
export type ChunkReader = (offset: number, length: number) => Effect.Effect<Uint8Array, unknown>

/**
 * @internal Reads one stream's chunks. A file on disk is opened once, at the first read, and closed
 * with `scope` (the stream's); it is read `readAheadBytes` at a time (one stream's reads are
 * sequential), so each chunk does not cost a trip to the disk.
 */
export const chunkReader = (
  source: Fixtures.Source,
  fs: FileSystem.FileSystem,
  scope: Scope.Scope,
  readAheadBytes: number
): ChunkReader => {
  if (source._tag === "Bytes") return (offset, length) => Effect.succeed(source.bytes.subarray(offset, offset + length))
  const state: DiskReader = { path: source.path, fs, scope, handle: undefined, block: new Uint8Array(0), blockStart: 0 }
  return (offset, length) =>
    Effect.suspend(() => {
      if (offset >= state.blockStart && offset + length <= state.blockStart + state.block.byteLength) {
        return Effect.succeed(state.block.subarray(offset - state.blockStart, offset - state.blockStart + length))
      }
      return Effect.flatMap(readBlock(state, offset, Math.max(length, readAheadBytes)), (block) => {
        state.block = block
        state.blockStart = offset
        return block.byteLength < length
          ? Effect.fail(new Error("file shorter than its size"))
          : Effect.succeed(block.subarray(0, length))
      })
    })
}

interface DiskReader {
  readonly path: string
  readonly fs: FileSystem.FileSystem
  readonly scope: Scope.Scope
  handle: FileSystem.File | undefined
  block: Uint8Array
  blockStart: number
}

const readBlock = (state: DiskReader, offset: number, length: number) =>
  Effect.gen(function* () {
    if (state.handle === undefined)
      state.handle = yield* Scope.extend(state.fs.open(state.path, { flag: "r" }), state.scope)
    const file = state.handle
    yield* file.seek(offset, "start")
    const buffer = new Uint8Array(length)
    let filled = 0
    while (filled < length) {
      const read = Number(yield* file.read(buffer.subarray(filled)))
      if (read === 0) break
      filled += read
    }
    return buffer.subarray(0, filled)
  })
