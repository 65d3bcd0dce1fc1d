/**
 * The session usecases (§2, §3.2 #0, #1, #6, #7): ping, initialize with its failure count (4205) and
 * the closes of paused applications (4101) and blacklisted client ids (4204), logout (streams end with
 * status 3 after the response), blacklist (4203 after the response).
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as CloseCode from "../../CloseCode.js"
import * as Field from "../../Field.js"
import * as Status from "../../Status.js"
import * as Usecase from "../../Usecase.js"
import * as Directory from "../directory.js"
import type { Connection } from "./connection.js"
import * as Send from "./send.js"
import * as Streams from "./streams.js"

/** @internal §3.2 #0 */
export const ping = (connection: Connection, request: Usecase.Request<typeof Usecase.Ping>): Effect.Effect<void> =>
  Send.respond(connection, Usecase.Ping, { id: request.id })

/** @internal §3.2 #1, §2.2 */
export const initialize = (
  connection: Connection,
  request: Usecase.Request<typeof Usecase.Initialize>
): Effect.Effect<void> =>
  Effect.gen(function* () {
    const status = (name: Status.KnownName) =>
      Send.respond(connection, Usecase.Initialize, { id: request.id, status: Status.make(name) })
    if (connection.app !== null) return yield* status("already_initialized")
    if (Field.length(request.client_id) > 64) return yield* status("client_id_too_long")
    const app = connection.server.byKey.get(Redacted.value(request.socket_api_key))
    if (app === undefined || app.deleted) {
      connection.failedInitializations++
      yield* status("invalid_api_key")
      if (connection.failedInitializations > connection.server.config.maxInitializeFailures) {
        yield* Send.closeWith(connection, CloseCode.codes.initializeFailed)
      }
      return
    }
    if (app.paused) return yield* Send.closeWith(connection, CloseCode.codes.applicationPaused)
    if (app.blacklistedClientIds.has(request.client_id)) {
      yield* status("client_id_blacklisted")
      return yield* Send.closeWith(connection, CloseCode.codes.clientIdBlacklisted)
    }
    connection.app = app
    connection.clientId = request.client_id
    yield* connection.session.clearDeadline
    yield* Send.respond(connection, Usecase.Initialize, {
      id: request.id,
      app_name: app.name,
      app_version: app.version,
      status: Status.make("ok")
    })
  })

/** @internal §3.2 #6: the response first, then every active stream ends with status 3 (§2.2). */
export const logout = (connection: Connection, request: Usecase.Request<typeof Usecase.Logout>): Effect.Effect<void> =>
  Effect.gen(function* () {
    if (connection.identity === null) {
      return yield* Send.respond(connection, Usecase.Logout, { id: request.id, status: Status.make("not_authorized") })
    }
    connection.identity = null
    // Streams stop sending first; the response goes out; then each stream ends with status 3.
    const halts = yield* Effect.forEach([...connection.streams.values()], (stream) =>
      Streams.requestHalt(stream, "not_authorized")
    )
    yield* Effect.forEach(halts, (halt) => Deferred.await(halt.reached), { discard: true })
    yield* Send.respond(connection, Usecase.Logout, { id: request.id, status: Status.make("ok") })
    yield* Effect.forEach(halts, (halt) => Deferred.succeed(halt.release, undefined), { discard: true })
    yield* Effect.forEach(halts, (halt) => Deferred.await(halt.written), { discard: true })
  })

/** @internal §3.2 #7: the client id, and the authorized license or account, are blacklisted; then 4203. */
export const blacklist = (
  connection: Connection,
  request: Usecase.Request<typeof Usecase.Blacklist>,
  app: Directory.ApplicationState
): Effect.Effect<void> =>
  Effect.gen(function* () {
    const license = authorizedLicense(connection, app)
    const account = authorizedAccount(connection, app)
    const needed = 1 + (license !== undefined || account !== undefined ? 1 : 0)
    if (app.quotas.blacklists > 0 && Directory.blacklistEntries(app) + needed > app.quotas.blacklists) {
      return yield* Send.respond(connection, Usecase.Blacklist, {
        id: request.id,
        status: Status.make("blacklists_quota_exceeded")
      })
    }
    if (connection.clientId !== null) app.blacklistedClientIds.add(connection.clientId)
    if (license !== undefined) license.blacklisted = true
    if (account !== undefined) account.blacklisted = true
    yield* Send.respond(connection, Usecase.Blacklist, { id: request.id, status: Status.make("ok") })
    yield* Send.closeWith(connection, CloseCode.codes.blacklisted)
  })

/** @internal The license the connection is authorized with, if any. */
export const authorizedLicense = (
  connection: Connection,
  app: Directory.ApplicationState
): Directory.LicenseState | undefined =>
  connection.identity?._tag === "License" ? app.licenses.get(Redacted.value(connection.identity.key)) : undefined

/** @internal The account the connection is authorized with, if any. */
export const authorizedAccount = (
  connection: Connection,
  app: Directory.ApplicationState
): Directory.AccountState | undefined =>
  connection.identity?._tag === "Account" ? app.accounts.get(connection.identity.login) : undefined
