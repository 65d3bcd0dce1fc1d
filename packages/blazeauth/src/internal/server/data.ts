/**
 * The data usecases (§3.2 #11–#18): file metadata (§4.9), the online count, variables, the session
 * store, the current license and account, and panel_event_subscribe.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Field from "../../Field.js"
import * as Status from "../../Status.js"
import * as Usecase from "../../Usecase.js"
import * as Directory from "../directory.js"
import { accountReply, licenseReply, nowSeconds } from "./auth.js"
import type { Connection } from "./connection.js"
import { connectionsOf } from "./context.js"
import * as Send from "./send.js"
import { authorizedAccount, authorizedLicense } from "./session.js"
import * as SessionStore from "./sessionStore.js"

/** @internal §4.9 */
export const getFileMetadata = (
  connection: Connection,
  request: Usecase.Request<typeof Usecase.GetFileMetadata>,
  app: Directory.ApplicationState
): Effect.Effect<void> =>
  Effect.suspend(() => {
    const reply = (name: Status.KnownName) =>
      Send.respond(connection, Usecase.GetFileMetadata, { id: request.id, status: Status.make(name) })
    if (!Directory.isValidFilename(request.filename)) return reply("file_invalid_name")
    const file = app.files.get(request.filename)
    if (file === undefined) return reply("file_not_found")
    return Send.respond(connection, Usecase.GetFileMetadata, {
      id: request.id,
      checksum: file.current.checksum,
      size: file.current.size,
      transfer_count: file.transferCount,
      last_transferred_at: file.lastTransferredAt,
      status: Status.make("ok")
    })
  })

/** @internal §3.2 #12: the connections initialized for the application, this one included. */
export const getOnlineUsersCount = (
  connection: Connection,
  request: Usecase.Request<typeof Usecase.GetOnlineUsersCount>,
  app: Directory.ApplicationState
): Effect.Effect<void> =>
  Effect.suspend(() =>
    Send.respond(connection, Usecase.GetOnlineUsersCount, {
      id: request.id,
      online_users_count: connectionsOf(connection.server, app).length,
      status: Status.make("ok")
    })
  )

/** @internal §3.2 #13 */
export const getVariable = (
  connection: Connection,
  request: Usecase.Request<typeof Usecase.GetVariable>,
  app: Directory.ApplicationState
): Effect.Effect<void> =>
  Effect.suspend(() => {
    const reply = (name: Status.KnownName) =>
      Send.respond(connection, Usecase.GetVariable, { id: request.id, status: Status.make(name) })
    const size = Field.length(request.name)
    if (size > 64) return reply("variable_name_too_long")
    const variable = size < 3 ? undefined : app.variables.get(request.name)
    if (variable === undefined) return reply("variable_not_found")
    if (variable.paused) return reply("variable_paused")
    if (variable.authRequired && connection.identity === null) return reply("not_authorized")
    return Send.respond(connection, Usecase.GetVariable, {
      id: request.id,
      content: variable.content,
      status: Status.make("ok")
    })
  })

/** @internal §3.2 #14 */
export const setSessionValue = (
  connection: Connection,
  request: Usecase.Request<typeof Usecase.SetSessionValue>
): Effect.Effect<void> =>
  Effect.gen(function* () {
    const reply = (name: Status.KnownName) =>
      Send.respond(connection, Usecase.SetSessionValue, { id: request.id, status: Status.make(name) })
    if (Field.length(request.key) > 64) return yield* reply("session_key_too_long")
    const now = yield* Clock.currentTimeMillis
    yield* reply(SessionStore.set(connection.store, connection.server.config, request, now))
  })

/** @internal §3.2 #15 */
export const getSessionValue = (
  connection: Connection,
  request: Usecase.Request<typeof Usecase.GetSessionValue>
): Effect.Effect<void> =>
  Effect.gen(function* () {
    if (Field.length(request.key) > 64) {
      return yield* Send.respond(connection, Usecase.GetSessionValue, {
        id: request.id,
        status: Status.make("session_key_too_long")
      })
    }
    const value = SessionStore.get(connection.store, request.key, yield* Clock.currentTimeMillis)
    yield* Send.respond(
      connection,
      Usecase.GetSessionValue,
      value === undefined
        ? { id: request.id, status: Status.make("session_value_not_found") }
        : { id: request.id, value, status: Status.make("ok") }
    )
  })

/** @internal §3.2 #16: the license's fields also come with 101–103. */
export const getCurrentLicense = (
  connection: Connection,
  request: Usecase.Request<typeof Usecase.GetCurrentLicense>,
  app: Directory.ApplicationState
): Effect.Effect<void> =>
  Effect.gen(function* () {
    const license = authorizedLicense(connection, app)
    if (license === undefined) {
      return yield* Send.respond(connection, Usecase.GetCurrentLicense, {
        id: request.id,
        status: Status.make("not_authorized")
      })
    }
    const seconds = yield* nowSeconds
    const status: Status.KnownName = license.blacklisted
      ? "license_blacklisted"
      : license.paused
        ? "license_paused"
        : license.expiresAt !== null && license.expiresAt <= seconds
          ? "license_expired"
          : "ok"
    yield* licenseReply(connection, Usecase.GetCurrentLicense, request.id, license, status)
  })

/** @internal §3.2 #17: the account's fields also come with 203. */
export const getCurrentAccount = (
  connection: Connection,
  request: Usecase.Request<typeof Usecase.GetCurrentAccount>,
  app: Directory.ApplicationState
): Effect.Effect<void> =>
  Effect.gen(function* () {
    const account = authorizedAccount(connection, app)
    if (account === undefined) {
      return yield* Send.respond(connection, Usecase.GetCurrentAccount, {
        id: request.id,
        status: Status.make("not_authorized")
      })
    }
    const seconds = yield* nowSeconds
    const valid = Directory.validLicensesOf(app, account, seconds)
    const status = account.licenseRequired && valid.length === 0 ? "account_has_no_valid_licenses" : "ok"
    yield* accountReply(connection, Usecase.GetCurrentAccount, request.id, app, account, seconds, status)
  })

/** @internal §3.2 #18: events go to every initialized session anyway (§5). */
export const panelEventSubscribe = (
  connection: Connection,
  request: Usecase.Request<typeof Usecase.PanelEventSubscribe>
): Effect.Effect<void> =>
  Send.respond(connection, Usecase.PanelEventSubscribe, { id: request.id, status: Status.make("ok") })
