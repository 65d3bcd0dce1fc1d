/**
 * The authorization usecases (§3.2 #2–#5): create_account (with the creation throttle and the account
 * quota of §8), auth_by_license, auth_by_credentials (with the sessions quota) and
 * link_license_to_account, each with its checks in the order of docs/blazeauth.md; and the license and account
 * replies that get_current_license and get_current_account share.
 *
 * @internal
 */
import type * as Uint64 from "@protokernel/wire/Uint64"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Expiry from "../../Expiry.js"
import * as Field from "../../Field.js"
import * as Status from "../../Status.js"
import * as Usecase from "../../Usecase.js"
import * as Directory from "../directory.js"
import type { Connection } from "./connection.js"
import { connectionsOf } from "./context.js"
import * as Send from "./send.js"
import { authorizedAccount } from "./session.js"

/** @internal */
export const nowSeconds: Effect.Effect<number> = Effect.map(Clock.currentTimeMillis, (now) => Math.floor(now / 1000))

const isValidCredentialsType = (type: number, login: string): type is 0 | 1 =>
  (type === 0 || type === 1) && (type === 0 || Directory.isEmail(login))

const sessionsQuotaHit = (connection: Connection, app: Directory.ApplicationState): boolean =>
  app.quotas.sessions > 0 &&
  connectionsOf(connection.server, app).filter((other) => other.identity !== null).length >= app.quotas.sessions

/** @internal §3.2 #2 */
export const createAccount = (
  connection: Connection,
  request: Usecase.Request<typeof Usecase.CreateAccount>,
  app: Directory.ApplicationState
): Effect.Effect<void> =>
  Effect.gen(function* () {
    const config = connection.server.config
    const reply = (name: Status.KnownName, retryAfter?: number) =>
      Send.respond(connection, Usecase.CreateAccount, {
        id: request.id,
        ...(retryAfter === undefined ? {} : { retry_after: retryAfter }),
        status: Status.make(name)
      })
    const login = request.login
    const password = Redacted.value(request.password)
    const type = request.credentials_type
    if (!isValidCredentialsType(type, login)) return yield* reply("account_credentials_type_invalid")
    const loginLength = Field.length(login)
    if (loginLength < 4) return yield* reply("account_login_too_short")
    if (loginLength > 320) return yield* reply("account_login_too_long")
    if (Field.length(password) < 6) return yield* reply("account_password_too_short")
    if (app.accounts.has(login)) return yield* reply("account_already_exists")
    const licenseKey =
      request.license === undefined || request.license === null ? null : Redacted.value(request.license)
    if (app.accountsRequireLicense && licenseKey === null) return yield* reply("account_requires_license")
    if (app.quotas.accounts > 0 && app.accounts.size >= app.quotas.accounts) {
      return yield* reply("accounts_quota_exceeded")
    }
    const now = yield* Clock.currentTimeMillis
    const seconds = Math.floor(now / 1000)
    const ip = connection.remoteAddress
    if (licenseKey === null && config.accountCreationLimit > 0) {
      const recent = (app.creations.get(ip) ?? []).filter((at) => at > now - config.accountCreationWindow)
      app.creations.set(ip, recent)
      if (recent.length >= config.accountCreationLimit) {
        const oldest = recent[0] ?? now
        return yield* reply(
          "too_many_requests",
          Math.max(1, Math.ceil((oldest + config.accountCreationWindow - now) / 1000))
        )
      }
    }
    let license: Directory.LicenseState | null = null
    if (licenseKey !== null) {
      const checked = Directory.checkLicense(app, licenseKey, seconds)
      if ("status" in checked) return yield* reply(checked.status)
      if (checked.license.account !== null) return yield* reply("license_already_linked")
      if (checked.license.activatedAt !== null) return yield* reply("license_already_activated")
      license = checked.license
    }
    const account = Directory.makeAccount({
      login,
      password,
      credentialsType: type,
      levels: [],
      comment: request.comment ?? null,
      ipAddress: ip,
      licenseRequired: app.accountsRequireLicense,
      blacklisted: false
    })
    app.accounts.set(login, account)
    if (license !== null) Directory.link(license, account, connection.clientId ?? "", ip, seconds)
    else if (config.accountCreationLimit > 0) app.creations.get(ip)?.push(now) ?? app.creations.set(ip, [now])
    yield* reply("ok")
  })

/** @internal The fields of a license, for auth_by_license and get_current_license. */
export const licenseReply = (
  connection: Connection,
  usecase: typeof Usecase.AuthByLicense | typeof Usecase.GetCurrentLicense,
  id: Uint64.Uint64,
  license: Directory.LicenseState,
  status: Status.KnownName
): Effect.Effect<void> =>
  Send.respond(connection, usecase, {
    id,
    license: Redacted.make(license.key),
    levels: license.levels,
    comment: license.comment,
    ip_address: license.ipAddress,
    time_left: license.expiresAt === null ? 0 : Expiry.toTimeLeft(Expiry.at(license.expiresAt)),
    status: Status.make(status)
  })

/** @internal The fields of an account, for auth_by_credentials and get_current_account. */
export const accountReply = (
  connection: Connection,
  usecase: typeof Usecase.AuthByCredentials | typeof Usecase.GetCurrentAccount,
  id: Uint64.Uint64,
  app: Directory.ApplicationState,
  account: Directory.AccountState,
  seconds: number,
  status: Status.KnownName
): Effect.Effect<void> => {
  const licenses = Directory.validLicensesOf(app, account, seconds)
  return Send.respond(connection, usecase, {
    id,
    login: account.login,
    levels: Directory.accountLevels(account, licenses),
    comment: account.comment,
    ip_address: account.ipAddress,
    ...(status === "ok" ? { time_left: Directory.accountTimeLeft(account, licenses) } : {}),
    license_required: account.licenseRequired,
    status: Status.make(status)
  })
}

/** @internal §3.2 #3 */
export const authByLicense = (
  connection: Connection,
  request: Usecase.Request<typeof Usecase.AuthByLicense>,
  app: Directory.ApplicationState
): Effect.Effect<void> =>
  Effect.gen(function* () {
    const reply = (name: Status.KnownName) =>
      Send.respond(connection, Usecase.AuthByLicense, { id: request.id, status: Status.make(name) })
    if (connection.identity !== null) return yield* reply("already_authorized")
    const seconds = yield* nowSeconds
    const checked = Directory.checkLicense(app, Redacted.value(request.license), seconds)
    if ("status" in checked) return yield* reply(checked.status)
    const license = checked.license
    if (license.account !== null) return yield* reply("license_already_linked")
    if (license.clientId !== null && license.clientId !== connection.clientId) return yield* reply("client_id_mismatch")
    if (sessionsQuotaHit(connection, app)) return yield* reply("sessions_quota_exceeded")
    Directory.activate(license, connection.clientId ?? "", connection.remoteAddress, seconds)
    connection.identity = { _tag: "License", key: Redacted.make(license.key) }
    yield* licenseReply(connection, Usecase.AuthByLicense, request.id, license, "ok")
  })

/** @internal §3.2 #4 */
export const authByCredentials = (
  connection: Connection,
  request: Usecase.Request<typeof Usecase.AuthByCredentials>,
  app: Directory.ApplicationState
): Effect.Effect<void> =>
  Effect.gen(function* () {
    const reply = (name: Status.KnownName) =>
      Send.respond(connection, Usecase.AuthByCredentials, { id: request.id, status: Status.make(name) })
    if (connection.identity !== null) return yield* reply("already_authorized")
    const type = request.credentials_type
    if (!isValidCredentialsType(type, request.login)) return yield* reply("account_credentials_type_invalid")
    const account = app.accounts.get(request.login)
    if (
      account === undefined ||
      !Directory.passwordMatches(account, Redacted.value(request.password)) ||
      account.credentialsType !== type
    ) {
      return yield* reply("account_not_found")
    }
    if (account.blacklisted) return yield* reply("account_blacklisted")
    if (sessionsQuotaHit(connection, app)) return yield* reply("sessions_quota_exceeded")
    const seconds = yield* nowSeconds
    if (request.license !== undefined && request.license !== null) {
      const checked = Directory.checkLicense(app, Redacted.value(request.license), seconds)
      if ("status" in checked) return yield* reply(checked.status)
      if (checked.license.account !== null) return yield* reply("license_already_linked")
      if (checked.license.activatedAt !== null) return yield* reply("license_already_activated")
      Directory.link(checked.license, account, connection.clientId ?? "", connection.remoteAddress, seconds)
    }
    if (account.licenseRequired && Directory.validLicensesOf(app, account, seconds).length === 0) {
      return yield* reply("account_has_no_valid_licenses")
    }
    connection.identity = { _tag: "Account", login: account.login }
    yield* accountReply(connection, Usecase.AuthByCredentials, request.id, app, account, seconds, "ok")
  })

/** @internal §3.2 #5 */
export const linkLicense = (
  connection: Connection,
  request: Usecase.Request<typeof Usecase.LinkLicenseToAccount>,
  app: Directory.ApplicationState
): Effect.Effect<void> =>
  Effect.gen(function* () {
    const reply = (name: Status.KnownName) =>
      Send.respond(connection, Usecase.LinkLicenseToAccount, { id: request.id, status: Status.make(name) })
    const account = authorizedAccount(connection, app)
    if (account === undefined) return yield* reply("not_authorized")
    const seconds = yield* nowSeconds
    const checked = Directory.checkLicense(app, Redacted.value(request.license), seconds)
    if ("status" in checked) return yield* reply(checked.status)
    if (checked.license.account !== null) return yield* reply("license_already_linked")
    if (checked.license.activatedAt !== null) return yield* reply("license_already_activated")
    Directory.link(checked.license, account, connection.clientId ?? "", connection.remoteAddress, seconds)
    yield* reply("ok")
  })
