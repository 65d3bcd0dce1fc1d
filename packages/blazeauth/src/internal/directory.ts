/**
 * The reference server's mutable model: applications, licenses, accounts, variables and files, with
 * the checks every usecase shares (docs/blazeauth.md §3.1). Single-threaded JavaScript makes each synchronous
 * method atomic.
 *
 * @internal
 */
import * as Crypto from "node:crypto"
import * as Field from "../Field.js"
import type * as Fixtures from "../Fixtures.js"
import * as Status from "../Status.js"

/** @internal */
export interface LicenseState {
  readonly key: string
  levels: ReadonlyArray<string>
  comment: string | null
  readonly durationSeconds: number
  paused: boolean
  blacklisted: boolean
  activatedAt: number | null
  expiresAt: number | null
  clientId: string | null
  ipAddress: string | null
  account: string | null
  /** Order of linking to an account (activation time, then key). */
  linkedAt: number | null
}

/** @internal */
export interface AccountState {
  readonly login: string
  readonly credentialsType: 0 | 1
  readonly salt: Buffer
  readonly passwordHash: Buffer
  levels: ReadonlyArray<string>
  comment: string | null
  ipAddress: string | null
  licenseRequired: boolean
  blacklisted: boolean
}

/** @internal */
export interface VariableState {
  readonly name: string
  content: string
  authRequired: boolean
  paused: boolean
}

/** @internal A version of a file; a stream serves one version from start to end. */
export interface FileVersion {
  readonly name: string
  readonly version: number
  readonly source: Fixtures.Source
  readonly size: number
  readonly checksum: string
}

/** @internal */
export interface FileState {
  current: FileVersion
  transferCount: number
  lastTransferredAt: number | null
}

/** @internal */
export interface ApplicationState {
  readonly name: string
  readonly version: string
  readonly keys: ReadonlyArray<string>
  readonly accountsRequireLicense: boolean
  paused: boolean
  deleted: boolean
  readonly quotas: Fixtures.Document["applications"][number]["quotas"]
  readonly blacklistedClientIds: Set<string>
  readonly licenses: Map<string, LicenseState>
  readonly accounts: Map<string, AccountState>
  readonly variables: Map<string, VariableState>
  readonly files: Map<string, FileState>
  /** Successful creations without a license, per remote IP, as Unix milliseconds. */
  readonly creations: Map<string, Array<number>>
  transferredBytes: number
}

/** @internal */
export const hashPassword = (password: string, salt: Buffer): Buffer =>
  Crypto.createHash("sha256").update(salt).update(password, "utf8").digest()

/** @internal */
export const passwordMatches = (account: AccountState, password: string): boolean =>
  Crypto.timingSafeEqual(hashPassword(password, account.salt), account.passwordHash)

/** @internal */
export const makeAccount = (fields: {
  readonly login: string
  readonly password: string
  readonly credentialsType: 0 | 1
  readonly levels: ReadonlyArray<string>
  readonly comment: string | null
  readonly ipAddress: string | null
  readonly licenseRequired: boolean
  readonly blacklisted: boolean
}): AccountState => {
  const salt = Crypto.randomBytes(16)
  return {
    login: fields.login,
    credentialsType: fields.credentialsType,
    salt,
    passwordHash: hashPassword(fields.password, salt),
    levels: fields.levels,
    comment: fields.comment,
    ipAddress: fields.ipAddress,
    licenseRequired: fields.licenseRequired,
    blacklisted: fields.blacklisted
  }
}

/** @internal The directory built from fixtures; `files` carries sizes and checksums computed beforehand. */
export const make = (
  document: Fixtures.Document,
  files: ReadonlyMap<string, ReadonlyMap<string, FileVersion>>,
  nowSeconds: number
): Map<string, ApplicationState> => {
  const applications = new Map<string, ApplicationState>()
  for (const app of document.applications) {
    const licenses = new Map<string, LicenseState>()
    for (const license of app.licenses) {
      const activated = license.activated || license.account !== null
      licenses.set(license.key, {
        key: license.key,
        levels: license.levels,
        comment: license.comment,
        durationSeconds: license.duration_seconds,
        paused: license.paused,
        blacklisted: license.blacklisted,
        activatedAt: activated ? nowSeconds : null,
        expiresAt: activated && license.duration_seconds > 0 ? nowSeconds + license.duration_seconds : null,
        clientId: license.client_id,
        ipAddress: null,
        account: license.account,
        linkedAt: license.account === null ? null : nowSeconds
      })
    }
    const accounts = new Map<string, AccountState>()
    for (const account of app.accounts) {
      accounts.set(
        account.login,
        makeAccount({
          login: account.login,
          password: account.password,
          credentialsType: account.credentials_type,
          levels: account.levels,
          comment: account.comment,
          ipAddress: account.ip_address,
          licenseRequired: account.license_required,
          blacklisted: account.blacklisted
        })
      )
    }
    const variables = new Map<string, VariableState>()
    for (const variable of app.variables) {
      variables.set(variable.name, {
        name: variable.name,
        content: variable.content,
        authRequired: variable.auth_required,
        paused: variable.paused
      })
    }
    const fileStates = new Map<string, FileState>()
    for (const [name, version] of files.get(app.name) ?? []) {
      fileStates.set(name, { current: version, transferCount: 0, lastTransferredAt: null })
    }
    applications.set(app.name, {
      name: app.name,
      version: app.version,
      keys: [...(app.api_key === undefined ? [] : [app.api_key]), ...app.api_keys],
      accountsRequireLicense: app.accounts_require_license,
      paused: app.paused,
      deleted: false,
      quotas: app.quotas,
      blacklistedClientIds: new Set(app.blacklisted_client_ids),
      licenses,
      accounts,
      variables,
      files: fileStates,
      creations: new Map(),
      transferredBytes: 0
    })
  }
  return applications
}

/** @internal A license that is activated, unexpired, unpaused and not blacklisted. */
export const isValid = (license: LicenseState, nowSeconds: number): boolean =>
  license.activatedAt !== null &&
  !license.paused &&
  !license.blacklisted &&
  (license.expiresAt === null || license.expiresAt > nowSeconds)

/**
 * @internal The license checks shared by create_account, auth_by_license, auth_by_credentials and
 * link_license_to_account: unknown or bad length → 100, blacklisted → 103, paused → 102, expired → 101.
 */
export const checkLicense = (
  app: ApplicationState,
  key: string,
  nowSeconds: number
): { readonly license: LicenseState } | { readonly status: Status.KnownName } => {
  const size = Field.length(key)
  const license = size >= 6 && size <= 64 ? app.licenses.get(key) : undefined
  if (license === undefined) return { status: "license_invalid" }
  if (license.blacklisted) return { status: "license_blacklisted" }
  if (license.paused) return { status: "license_paused" }
  if (license.activatedAt !== null && license.expiresAt !== null && license.expiresAt <= nowSeconds) {
    return { status: "license_expired" }
  }
  return { license }
}

/** @internal Activates a license on first use: binds the client, records the IP, starts the clock. */
export const activate = (license: LicenseState, clientId: string, ipAddress: string, nowSeconds: number): void => {
  if (license.activatedAt !== null) return
  license.activatedAt = nowSeconds
  license.expiresAt = license.durationSeconds > 0 ? nowSeconds + license.durationSeconds : null
  license.clientId = clientId
  license.ipAddress = ipAddress
}

/** @internal Links a license to an account, activating it and binding the session's client. */
export const link = (
  license: LicenseState,
  account: AccountState,
  clientId: string,
  ipAddress: string,
  nowSeconds: number
): void => {
  activate(license, clientId, ipAddress, nowSeconds)
  license.account = account.login
  license.linkedAt = nowSeconds
}

/** @internal The valid licenses linked to an account, in link order (activation time, then key). */
export const validLicensesOf = (
  app: ApplicationState,
  account: AccountState,
  nowSeconds: number
): ReadonlyArray<LicenseState> =>
  [...app.licenses.values()]
    .filter((license) => license.account === account.login && isValid(license, nowSeconds))
    .sort((a, b) => (a.activatedAt ?? 0) - (b.activatedAt ?? 0) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))

/** @internal Account levels, then those of its valid licenses, without duplicates, first seen first. */
export const accountLevels = (account: AccountState, licenses: ReadonlyArray<LicenseState>): ReadonlyArray<string> => [
  ...new Set([...account.levels, ...licenses.flatMap((license) => license.levels)])
]

/**
 * @internal `time_left` of an account: 0 when no license is required or a valid linked license never
 * expires, otherwise the latest expiry among valid linked licenses.
 */
export const accountTimeLeft = (account: AccountState, licenses: ReadonlyArray<LicenseState>): number => {
  if (!account.licenseRequired || licenses.some((license) => license.expiresAt === null)) return 0
  return licenses.reduce((latest, license) => Math.max(latest, license.expiresAt ?? 0), 0)
}

/** @internal The e-mail test of §7. */
export const isEmail = (login: string): boolean => {
  if (/\s/u.test(login)) return false
  const parts = login.split("@")
  if (parts.length !== 2) return false
  const [local, domain] = parts as [string, string]
  // Some "." that is neither the domain's first nor its last character.
  return local.length > 0 && domain.slice(1, -1).includes(".")
}

/** @internal A plain file name of 4–255 characters: no `/`, `\`, NUL or control characters. */
export const isValidFilename = (name: string): boolean => {
  const size = Field.length(name)
  return size >= 4 && size <= 255 && !/[/\\\u0000-\u001f\u007f]/u.test(name)
}

/** @internal Blacklist entries an application holds now (client ids, licenses, accounts). */
export const blacklistEntries = (app: ApplicationState): number => {
  let count = app.blacklistedClientIds.size
  for (const license of app.licenses.values()) if (license.blacklisted) count++
  for (const account of app.accounts.values()) if (account.blacklisted) count++
  return count
}
