/** A file handle that runs `beforeRead` before each read, for tests that count what the server reads. */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"

export const observedFile = (file: FileSystem.File, beforeRead: Effect.Effect<void>): FileSystem.File => ({
  [FileSystem.FileTypeId]: FileSystem.FileTypeId,
  fd: file.fd,
  get stat() {
    return file.stat
  },
  seek: (offset, from) => file.seek(offset, from),
  get sync() {
    return file.sync
  },
  read: (buffer) => Effect.zipRight(beforeRead, file.read(buffer)),
  readAlloc: (size) => file.readAlloc(size),
  truncate: (length) => file.truncate(length),
  write: (buffer) => file.write(buffer),
  writeAll: (buffer) => file.writeAll(buffer)
})
