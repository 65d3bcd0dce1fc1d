/**
 * A download saved to a file atomically: the bytes go to a temporary file next to the destination,
 * which is renamed into place once the whole file is verified; on any failure the temporary file is
 * removed and the destination is left untouched.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as Path from "node:path"
import * as ClientError from "./ClientError.js"
import type * as Download from "./Download.js"

const temporaryPath = (path: string): string =>
  Path.join(Path.dirname(path), `.${Path.basename(path)}.${Crypto.randomBytes(6).toString("hex")}.part`)

/**
 * Fails, before anything is downloaded, when `path` could never be written: its directory is missing,
 * not a directory or not writable, or `path` is a directory.
 */
const checkTarget = (fs: FileSystem.FileSystem, path: string): Effect.Effect<void, ClientError.DownloadFileError> => {
  const refuse = (detail: string) => Effect.fail(new ClientError.DownloadFileError({ path, detail }))
  const directory = Path.dirname(path)
  return Effect.gen(function* () {
    const parent = yield* Effect.option(fs.stat(directory))
    if (Option.isNone(parent)) return yield* refuse(`the directory ${directory} does not exist`)
    if (parent.value.type !== "Directory") return yield* refuse(`${directory} is not a directory`)
    const writable = yield* Effect.isSuccess(fs.access(directory, { writable: true }))
    if (!writable) return yield* refuse(`the directory ${directory} is not writable`)
    const target = yield* Effect.option(fs.stat(path))
    if (Option.isSome(target) && target.value.type === "Directory") return yield* refuse("it is a directory")
  })
}

/**
 * Runs `start` (a download, started once the temporary file is open) and writes its bytes into `path`.
 * Emits the progress as the bytes are written (`position` counts bytes written), and a last element
 * once `path` is in place: the only one with the verified `fileChecksum`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const write = <E>(
  start: Effect.Effect<Download.Download, E, Scope.Scope>,
  path: string
): Stream.Stream<
  Download.Progress,
  E | ClientError.TransferError | ClientError.DownloadFileError,
  FileSystem.FileSystem
> =>
  Stream.unwrapScoped(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const fileError = (error: { readonly message: string }) =>
        new ClientError.DownloadFileError({ path, detail: error.message })
      yield* checkTarget(fs, path)
      const temporary = temporaryPath(path)
      let placed = false
      yield* Effect.addFinalizer(() => (placed ? Effect.void : Effect.ignore(fs.remove(temporary))))
      const fileScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
      const file = yield* fs.open(temporary, { flag: "wx" }).pipe(Scope.extend(fileScope), Effect.mapError(fileError))
      const download = yield* start
      let written = 0
      const place = Effect.gen(function* () {
        yield* file.sync
        yield* Scope.close(fileScope, Exit.void)
        yield* fs.rename(temporary, path)
        placed = true
      }).pipe(Effect.mapError(fileError))
      const writeChunk = (chunk: Chunk.Chunk<Uint8Array>) =>
        Effect.forEach(
          chunk,
          (bytes) =>
            Effect.map(file.writeAll(bytes), () => {
              written += bytes.byteLength
            }),
          { discard: true }
        ).pipe(
          Effect.mapError(fileError),
          Effect.zipRight(download.current),
          Effect.map((progress) => Chunk.of({ ...progress, position: written, fileChecksum: Option.none() }))
        )
      return download.bytes.pipe(
        Stream.mapChunksEffect(writeChunk),
        // The last element: the file is in place (also the only one for an empty file).
        Stream.concat(
          Stream.fromEffect(
            Effect.zipRight(
              place,
              Effect.map(download.current, (progress) => ({ ...progress, position: written }))
            )
          )
        )
      )
    })
  )
