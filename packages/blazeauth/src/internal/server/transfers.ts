/**
 * The download usecases (§4.2, §4.6, §4.7): transfer_file with its rejections in order, stop (the
 * response and the 308 ending in the configured order, a resume token on request) and resume.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Status from "../../Status.js"
import * as Usecase from "../../Usecase.js"
import * as Directory from "../directory.js"
import type { Connection } from "./connection.js"
import * as ResumeTokens from "./resumeTokens.js"
import * as Send from "./send.js"
import * as Streams from "./streams.js"

/** @internal §4.2, §4.4 rule 3: not authorized → 3 · bad name → 305 · unknown file → 300 · offset → 310 · quota → 304. */
export const transferFile = (
  connection: Connection,
  request: Usecase.Request<typeof Usecase.TransferFile>,
  app: Directory.ApplicationState
): Effect.Effect<void> =>
  Effect.suspend(() => {
    const transferId = Send.transferId()
    const offset = request.offset ?? 0
    const reject = (status: Status.KnownName) => Send.endingHeader(connection, request.id, transferId, offset, status)
    if (connection.identity === null) return reject("not_authorized")
    if (!Directory.isValidFilename(request.filename)) return reject("file_invalid_name")
    const file = app.files.get(request.filename)
    if (file === undefined) return reject("file_not_found")
    const version = file.current
    if (offset > version.size) return reject("file_invalid_offset")
    if (Streams.firstChunkOverQuota(connection, app, version, offset)) return reject("file_storage_quota_exceeded")
    return Streams.start(connection, app, request.id, transferId, version, offset)
  })

/** @internal §4.6 */
export const stopFileTransfer = (
  connection: Connection,
  request: Usecase.Request<typeof Usecase.StopFileTransfer>
): Effect.Effect<void> =>
  Effect.gen(function* () {
    const reply = (name: Status.KnownName) =>
      Send.respond(connection, Usecase.StopFileTransfer, { id: request.id, status: Status.make(name) })
    const identity = connection.identity
    const app = connection.app
    if (identity === null || app === null) return yield* reply("not_authorized")
    const stream = connection.streams.get(request.transfer_id)
    if (stream === undefined || stream.halt !== null) return yield* reply("file_transfer_stopped")
    const halt = yield* Streams.requestHalt(stream, "file_transfer_stopped")
    const position = yield* Deferred.await(halt.reached)
    // The stream completed before it saw the stop: the stop lost the race.
    if (position === "ended") return yield* reply("file_transfer_stopped")
    const token =
      request.issue_token === true
        ? ResumeTokens.issue(
            connection.server.tokens,
            { application: app.name, identity, transferId: stream.transferId, file: stream.file, offset: position },
            yield* Clock.currentTimeMillis,
            connection.server.config.resumeTokenLifetime
          )
        : undefined
    const response = Send.respond(connection, Usecase.StopFileTransfer, {
      id: request.id,
      ...(token === undefined ? {} : { resume_token: Redacted.make(token) }),
      status: Status.make("ok")
    })
    const ending = Effect.zipRight(Deferred.succeed(halt.release, undefined), Deferred.await(halt.written))
    if (connection.server.config.stopOrder === "header-first") yield* Effect.zipRight(ending, response)
    else yield* Effect.zipRight(response, ending)
  })

/** @internal §4.7: a new stream under this request's id, from the stop offset, with the same `transfer_id`. */
export const resumeFileTransfer = (
  connection: Connection,
  request: Usecase.Request<typeof Usecase.ResumeFileTransfer>,
  app: Directory.ApplicationState
): Effect.Effect<void> =>
  Effect.gen(function* () {
    const reject = (status: Status.KnownName) =>
      Send.endingHeader(connection, request.id, request.transfer_id, 0, status)
    if (connection.identity === null) return yield* reject("not_authorized")
    const text = Redacted.value(request.resume_token)
    const token = ResumeTokens.check(
      connection.server.tokens,
      { token: text, transferId: request.transfer_id, identity: connection.identity, app },
      yield* Clock.currentTimeMillis
    )
    if (typeof token === "string") return yield* reject(token)
    if (Streams.firstChunkOverQuota(connection, app, token.file, token.offset)) {
      return yield* reject("file_storage_quota_exceeded")
    }
    ResumeTokens.use(connection.server.tokens, text)
    yield* Streams.start(connection, app, request.id, token.transferId, token.file, token.offset)
  })
