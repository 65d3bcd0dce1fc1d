/**
 * The Blazeauth reference server: the session state machine, the receive rules in the spec's order
 * (§1.6), the close codes of §2.3, the init deadline, auth gates, rate limit and limits (§8), every
 * usecase's checks in order (§3), downloads as paced header + binary streams with stop and resume
 * (§4), and a control interface for tests and operators (panel events, pause, delete, disconnect).
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Deadline from "@protokernel/wire/Deadline"
import * as Transport from "@protokernel/wire/Transport"
import * as Uint64 from "@protokernel/wire/Uint64"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as CloseCode from "./CloseCode.js"
import * as Envelope from "./Envelope.js"
import * as Expiry from "./Expiry.js"
import * as Field from "./Field.js"
import * as Fixtures from "./Fixtures.js"
import * as Directory from "./internal/directory.js"
import * as PanelEvent from "./PanelEvent.js"
import * as Status from "./Status.js"
import * as Usecase from "./Usecase.js"

/**
 * Server options. Every limit of spec §8 is configurable; the defaults are the spec's.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The applications, licenses, accounts, variables and files to serve. */
  readonly fixtures: Fixtures.Fixtures
  /** A session must initialize within this time of the upgrade (close 4202). Default 15 s. */
  readonly initDeadline?: Duration.DurationInput | undefined
  /** The largest client message, text or binary (close 1009). Default 64 KiB. */
  readonly maxMessageBytes?: number | undefined
  /** Data messages allowed per sliding window (close 4201); 0 turns the limit off. Default 60. */
  readonly rateLimit?: number | undefined
  /** The rate limit's sliding window. Default 60 s. */
  readonly rateWindow?: Duration.DurationInput | undefined
  /** Status-2 answers to `initialize` tolerated per connection; the next one closes 4205. Default 3. */
  readonly maxInitializeFailures?: number | undefined
  /** Successful creations without a license per remote IP per window (status 5); 0 = off. Default 3. */
  readonly accountCreationLimit?: number | undefined
  /** The creation throttle's sliding window. Default 24 h. */
  readonly accountCreationWindow?: Duration.DurationInput | undefined
  /** Entries of a session store. Default 64. */
  readonly sessionStoreEntries?: number | undefined
  /** UTF-8 bytes of all values of a session store. Default 16384. */
  readonly sessionStoreBytes?: number | undefined
  /** Lifetime of a session value stored with `ttl` ≤ 0, null or absent. Default 72 h. */
  readonly defaultTtl?: Duration.DurationInput | undefined
  /** Bytes per download chunk; at most `maxBinaryFrameBytes`. Default 64 KiB. */
  readonly chunkSize?: number | undefined
  /** The largest binary frame the server sends. Default 1 MiB. */
  readonly maxBinaryFrameBytes?: number | undefined
  /** Bytes a stream reads from a file on disk at once (at least one chunk). Default 1 MiB. */
  readonly readAheadBytes?: number | undefined
  /** Lifetime of a resume token. Default 10 min. */
  readonly resumeTokenLifetime?: Duration.DurationInput | undefined
  /** For tests: a delay after every chunk of a stream. */
  readonly chunkDelay?: Duration.DurationInput | undefined
  /** For tests: a stream sends this many chunks, then waits until it is stopped or the session logs out. */
  readonly pauseAfterChunks?: number | undefined
  /** For tests: send the last chunk in an intermediate header, then a separate terminal header. */
  readonly separateTerminalHeader?: boolean | undefined
  /** For tests: the order of a stop's response and its stream's terminal 308 header. Default response first. */
  readonly stopOrder?: "response-first" | "header-first" | undefined
}

/**
 * Options of the `ws` layer: where to listen, plus the server options.
 *
 * @since 0.1.0
 * @category models
 */
export interface WsOptions extends Options {
  /** Default 127.0.0.1. */
  readonly host?: string | undefined
  /** Default 0: a free port. */
  readonly port?: number | undefined
}

/**
 * A configuration the server cannot run with.
 *
 * @since 0.1.0
 * @category errors
 */
export class ServerConfigError extends Schema.TaggedError<ServerConfigError>(
  "@protokernel/blazeauth/ServerConfigError"
)("ServerConfigError", { detail: Schema.String }) {
  override get message(): string {
    return `invalid server configuration: ${this.detail}`
  }
}

/**
 * A control request named an application the server does not have.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownApplication extends Schema.TaggedError<UnknownApplication>(
  "@protokernel/blazeauth/UnknownApplication"
)("UnknownApplication", { application: Schema.String }) {
  override get message(): string {
    return `unknown application ${this.application}`
  }
}

/**
 * A panel event the wire cannot carry: `eventType` is not an int32.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidPanelEvent extends Schema.TaggedError<InvalidPanelEvent>(
  "@protokernel/blazeauth/InvalidPanelEvent"
)("InvalidPanelEvent", { eventType: Schema.Number }) {
  override get message(): string {
    return `a panel event type must be an int32, got ${this.eventType}`
  }
}

/**
 * Who a session is authorized as.
 *
 * @since 0.1.0
 * @category models
 */
export type Identity =
  | { readonly _tag: "License"; readonly key: Redacted.Redacted<string> }
  | { readonly _tag: "Account"; readonly login: string }

/**
 * A live session as the control interface reports it.
 *
 * @since 0.1.0
 * @category models
 */
export interface SessionInfo {
  readonly id: number
  readonly remoteAddress: string
  /** The application, once initialized. */
  readonly application: string | null
  readonly clientId: string | null
  readonly identity: Identity | null
}

/**
 * Which sessions a control request targets; every given field must match.
 *
 * @since 0.1.0
 * @category models
 */
export interface SessionSelector {
  readonly id?: number | undefined
  readonly application?: string | undefined
  readonly clientId?: string | undefined
}

/**
 * A running reference server and its control interface.
 *
 * @since 0.1.0
 * @category tags
 */
export class BlazeauthServer extends Context.Tag("@protokernel/blazeauth/BlazeauthServer")<
  BlazeauthServer,
  {
    /** Where clients connect, e.g. `ws://127.0.0.1:41234`. */
    readonly url: string
    /** The live sessions. */
    readonly sessions: Effect.Effect<ReadonlyArray<SessionInfo>>
    /**
     * Pushes a panel event to every initialized session of an application; returns how many got it.
     * `eventType` may be any int32, outside 0..14 too, so that clients' handling of unknown events can be
     * tested.
     */
    readonly pushPanelEvent: (
      application: string,
      event: { readonly eventType: number; readonly content?: { readonly [key: string]: string } | undefined }
    ) => Effect.Effect<number, UnknownApplication | InvalidPanelEvent>
    /** Pauses an application: its sessions close with 4101 and its keys' `initialize` too. */
    readonly pauseApplication: (application: string) => Effect.Effect<number, UnknownApplication>
    /** Resumes a paused application. */
    readonly resumeApplication: (application: string) => Effect.Effect<void, UnknownApplication>
    /** Deletes an application: its sessions close with 4102 and its keys then answer status 2. */
    readonly deleteApplication: (application: string) => Effect.Effect<number, UnknownApplication>
    /** Closes the selected sessions with 4100 'disconnected from panel'; returns how many. */
    readonly disconnect: (selector: SessionSelector) => Effect.Effect<number>
    /** Replaces a file's content (a new version: resume tokens for the old one become invalid). */
    readonly putFile: (
      application: string,
      name: string,
      content: Uint8Array
    ) => Effect.Effect<void, UnknownApplication>
  }
>() {}

/**
 * The defaults of spec §8.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults = {
  initDeadline: Duration.seconds(15),
  maxMessageBytes: 64 * 1024,
  rateLimit: 60,
  rateWindow: Duration.seconds(60),
  maxInitializeFailures: 3,
  accountCreationLimit: 3,
  accountCreationWindow: Duration.hours(24),
  sessionStoreEntries: 64,
  sessionStoreBytes: 16384,
  defaultTtl: Duration.hours(72),
  chunkSize: 64 * 1024,
  maxBinaryFrameBytes: 1024 * 1024,
  resumeTokenLifetime: Duration.minutes(10),
  readAheadBytes: 1024 * 1024
} as const

interface StoredValue {
  readonly value: string
  readonly bytes: number
  readonly expiresAt: number
}

/** A stream's way to a stop or a logout: it reports where it stopped, then waits to send its ending. */
interface Halt {
  readonly status: Status.KnownName
  readonly reached: Deferred.Deferred<number | "ended">
  readonly release: Deferred.Deferred<void>
  readonly written: Deferred.Deferred<void>
}

interface ActiveStream {
  readonly transferId: string
  readonly requestId: Uint64.Uint64
  readonly file: Directory.FileVersion
  readonly start: number
  next: number
  sent: number
  /** Hash of the bytes sent; none for a stream from 0, whose range is the whole (snapshot) file. */
  readonly hash: Crypto.Hash | undefined
  readonly read: ChunkReader
  halt: Halt | null
  readonly haltSignal: Deferred.Deferred<void>
}

interface Session {
  readonly id: number
  readonly transport: Transport.Transport
  readonly remoteAddress: string
  app: Directory.ApplicationState | null
  clientId: string | null
  identity: Identity | null
  readonly write: (frames: ReadonlyArray<Transport.Frame>) => Effect.Effect<void>
  readonly close: (code: number, reason: string) => Effect.Effect<void>
  readonly streams: Map<string, ActiveStream>
}

interface ResumeToken {
  readonly application: string
  readonly identity: string
  readonly transferId: string
  readonly file: Directory.FileVersion
  readonly offset: number
  readonly expiresAt: number
  used: boolean
}

const millis = (input: Duration.DurationInput | undefined, fallback: Duration.Duration): number =>
  Duration.toMillis(input === undefined ? fallback : Duration.decode(input))

const identityKey = (identity: Identity): string =>
  identity._tag === "License" ? `license:${Redacted.value(identity.key)}` : `account:${identity.login}`

const sha256Hex = (bytes: Uint8Array): string => Crypto.createHash("sha256").update(bytes).digest("hex")

/** IPv4 peers of a dual-stack socket show up as `::ffff:a.b.c.d`. */
const plainAddress = (address: string): string => (address.startsWith("::ffff:") ? address.slice(7) : address)

const fileVersion = (
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

/** Reads `length` bytes of a file at `offset`. */
type ChunkReader = (offset: number, length: number) => Effect.Effect<Uint8Array, unknown>

/**
 * Reads one stream's chunks. A file on disk is opened once, at the first read, and closed with the
 * scope (the stream's); it is read `readAheadBytes` at a time (one stream's reads are sequential), so
 * each chunk does not cost a trip to the disk.
 */
const chunkReader = (
  source: Fixtures.Source,
  fs: FileSystem.FileSystem,
  scope: Scope.Scope,
  readAheadBytes: number
): ChunkReader => {
  if (source._tag === "Bytes") return (offset, length) => Effect.succeed(source.bytes.subarray(offset, offset + length))
  let handle: FileSystem.File | undefined
  let block = new Uint8Array(0)
  let blockStart = 0
  const readBlock = (offset: number, length: number) =>
    Effect.gen(function* () {
      if (handle === undefined) handle = yield* Scope.extend(fs.open(source.path, { flag: "r" }), scope)
      const file = handle
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
  return (offset, length) =>
    Effect.gen(function* () {
      if (offset < blockStart || offset + length > blockStart + block.byteLength) {
        block = yield* readBlock(offset, Math.max(length, readAheadBytes))
        blockStart = offset
        if (block.byteLength < length) return yield* Effect.fail(new Error("file shorter than its size"))
      }
      return block.subarray(offset - blockStart, offset - blockStart + length)
    })
}

/**
 * Serves Blazeauth on the `TransportServer` until the scope closes; open sessions then get 1000.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<
  BlazeauthServer["Type"],
  ServerConfigError | Fixtures.FixturesError,
  Scope.Scope | Transport.TransportServer | FileSystem.FileSystem
> =>
  Effect.gen(function* () {
    const server = yield* Transport.TransportServer
    const fs = yield* FileSystem.FileSystem
    const config = {
      initDeadline: millis(options.initDeadline, defaults.initDeadline),
      maxMessageBytes: options.maxMessageBytes ?? defaults.maxMessageBytes,
      rateLimit: options.rateLimit ?? defaults.rateLimit,
      rateWindow: millis(options.rateWindow, defaults.rateWindow),
      maxInitializeFailures: options.maxInitializeFailures ?? defaults.maxInitializeFailures,
      accountCreationLimit: options.accountCreationLimit ?? defaults.accountCreationLimit,
      accountCreationWindow: millis(options.accountCreationWindow, defaults.accountCreationWindow),
      sessionStoreEntries: options.sessionStoreEntries ?? defaults.sessionStoreEntries,
      sessionStoreBytes: options.sessionStoreBytes ?? defaults.sessionStoreBytes,
      defaultTtl: millis(options.defaultTtl, defaults.defaultTtl),
      chunkSize: options.chunkSize ?? defaults.chunkSize,
      resumeTokenLifetime: millis(options.resumeTokenLifetime, defaults.resumeTokenLifetime),
      readAheadBytes: options.readAheadBytes ?? defaults.readAheadBytes,
      chunkDelay: options.chunkDelay === undefined ? 0 : Duration.toMillis(Duration.decode(options.chunkDelay)),
      pauseAfterChunks: options.pauseAfterChunks ?? 0,
      separateTerminalHeader: options.separateTerminalHeader ?? false,
      stopOrder: options.stopOrder ?? "response-first"
    }
    const maxBinary = options.maxBinaryFrameBytes ?? defaults.maxBinaryFrameBytes
    if (!Number.isSafeInteger(config.chunkSize) || config.chunkSize < 1 || config.chunkSize > maxBinary) {
      return yield* new ServerConfigError({ detail: `chunk size must be within 1..${maxBinary} bytes` })
    }

    const versions = new Map<string, Map<string, Directory.FileVersion>>()
    for (const [application, files] of options.fixtures.files) {
      const prepared = new Map<string, Directory.FileVersion>()
      for (const [name, source] of files) prepared.set(name, yield* fileVersion(name, source, 1))
      versions.set(application, prepared)
    }
    const startedAt = Math.floor((yield* Clock.currentTimeMillis) / 1000)
    const applications = Directory.make(options.fixtures.document, versions, startedAt)
    const byKey = new Map<string, Directory.ApplicationState>()
    for (const app of applications.values()) for (const key of app.keys) byKey.set(key, app)

    const sessions = new Set<Session>()
    const tokens = new Map<string, ResumeToken>()
    let nextSessionId = 1
    let nextFileVersion = 2

    const nowSeconds = Effect.map(Clock.currentTimeMillis, (now) => Math.floor(now / 1000))

    const findApplication = (name: string) =>
      Effect.suspend(() => {
        const app = applications.get(name)
        return app === undefined || app.deleted
          ? Effect.fail(new UnknownApplication({ application: name }))
          : Effect.succeed(app)
      })

    const closeSessionsOf = (app: Directory.ApplicationState, code: number) =>
      Effect.suspend(() => {
        const targets = [...sessions].filter((session) => session.app === app)
        return Effect.as(
          Effect.forEach(targets, (session) => session.close(code, CloseCode.reasons[code as CloseCode.Code]), {
            concurrency: "unbounded",
            discard: true
          }),
          targets.length
        )
      })

    const handle = (transport: Transport.Transport): Effect.Effect<void, never, Scope.Scope> =>
      Effect.gen(function* () {
        const fibers = yield* FiberSet.make<void>()
        let closing = false
        const session: Session = {
          id: nextSessionId++,
          transport,
          remoteAddress: plainAddress(transport.remoteAddress),
          app: null,
          clientId: null,
          identity: null,
          streams: new Map(),
          // A header and its binary frame leave back to back, so nothing can come between them; a
          // stream then waits here while the socket holds more than one chunk (pacing, §4.4 rule 10).
          write: (frames) => Effect.ignore(transport.sendAll(frames)),
          close: (code, reason) =>
            Effect.suspend(() => {
              closing = true
              return Effect.asVoid(transport.close(code, reason))
            })
        }
        sessions.add(session)
        yield* Effect.addFinalizer(() => Effect.sync(() => sessions.delete(session)))

        const store = new Map<string, StoredValue>()
        const received: Array<number> = []
        let failedInitializations = 0

        const closeWith = (code: CloseCode.Code, reason: string = CloseCode.reasons[code]) =>
          Effect.zipRight(Effect.logDebug(`closing ${code} ${reason}`), session.close(code, reason))

        const respond = <U extends Usecase.Any>(usecase: U, payload: Usecase.Response<U>) =>
          Either.match(Usecase.encodeResponse(usecase, payload), {
            onLeft: (error) => Effect.die(error),
            onRight: (text) => session.write([text])
          })

        const header = (payload: typeof Usecase.TransferHeader.Type) =>
          Either.match(Usecase.encodeHeader(payload), {
            onLeft: (error) => Effect.die(error),
            onRight: (text) => Effect.succeed(text)
          })

        const isAuthorized = () => session.identity !== null
        const authorizedLicense = (app: Directory.ApplicationState) =>
          session.identity?._tag === "License" ? app.licenses.get(Redacted.value(session.identity.key)) : undefined
        const authorizedAccount = (app: Directory.ApplicationState) =>
          session.identity?._tag === "Account" ? app.accounts.get(session.identity.login) : undefined

        const authorizedSessions = (app: Directory.ApplicationState) =>
          [...sessions].filter((other) => other.app === app && other.identity !== null).length
        const sessionsQuotaHit = (app: Directory.ApplicationState) =>
          app.quotas.sessions > 0 && authorizedSessions(app) >= app.quotas.sessions

        // ---- usecases -------------------------------------------------------------------------

        const initialize = (request: Usecase.Request<typeof Usecase.Initialize>) =>
          Effect.gen(function* () {
            const status = (name: Status.KnownName) =>
              respond(Usecase.Initialize, { id: request.id, status: Status.make(name) })
            if (session.app !== null) return yield* status("already_initialized")
            if (Field.length(request.client_id) > 64) return yield* status("client_id_too_long")
            const app = byKey.get(Redacted.value(request.socket_api_key))
            if (app === undefined || app.deleted) {
              failedInitializations++
              yield* status("invalid_api_key")
              if (failedInitializations > config.maxInitializeFailures)
                yield* closeWith(CloseCode.codes.initializeFailed)
              return
            }
            if (app.paused) return yield* closeWith(CloseCode.codes.applicationPaused)
            if (app.blacklistedClientIds.has(request.client_id)) {
              yield* status("client_id_blacklisted")
              return yield* closeWith(CloseCode.codes.clientIdBlacklisted)
            }
            session.app = app
            session.clientId = request.client_id
            yield* respond(Usecase.Initialize, {
              id: request.id,
              app_name: app.name,
              app_version: app.version,
              status: Status.make("ok")
            })
          })

        const createAccount = (
          app: Directory.ApplicationState,
          request: Usecase.Request<typeof Usecase.CreateAccount>
        ) =>
          Effect.gen(function* () {
            const reply = (name: Status.KnownName, retryAfter?: number) =>
              respond(Usecase.CreateAccount, {
                id: request.id,
                ...(retryAfter === undefined ? {} : { retry_after: retryAfter }),
                status: Status.make(name)
              })
            const login = request.login
            const password = Redacted.value(request.password)
            const type = request.credentials_type
            if ((type !== 0 && type !== 1) || (type === 1 && !Directory.isEmail(login))) {
              return yield* reply("account_credentials_type_invalid")
            }
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
            const ip = session.remoteAddress
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
            if (license !== null) Directory.link(license, account, session.clientId ?? "", ip, seconds)
            else if (config.accountCreationLimit > 0) app.creations.get(ip)?.push(now) ?? app.creations.set(ip, [now])
            yield* reply("ok")
          })

        const licenseReply = (
          usecase: typeof Usecase.AuthByLicense | typeof Usecase.GetCurrentLicense,
          id: Uint64.Uint64,
          license: Directory.LicenseState,
          status: Status.KnownName
        ) =>
          respond(usecase, {
            id,
            license: Redacted.make(license.key),
            levels: license.levels,
            comment: license.comment,
            ip_address: license.ipAddress,
            time_left: license.expiresAt === null ? 0 : Expiry.toTimeLeft(Expiry.at(license.expiresAt)),
            status: Status.make(status)
          })

        const accountReply = (
          usecase: typeof Usecase.AuthByCredentials | typeof Usecase.GetCurrentAccount,
          id: Uint64.Uint64,
          app: Directory.ApplicationState,
          account: Directory.AccountState,
          seconds: number,
          status: Status.KnownName
        ) => {
          const licenses = Directory.validLicensesOf(app, account, seconds)
          return respond(usecase, {
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

        const authByLicense = (
          app: Directory.ApplicationState,
          request: Usecase.Request<typeof Usecase.AuthByLicense>
        ) =>
          Effect.gen(function* () {
            const reply = (name: Status.KnownName) =>
              respond(Usecase.AuthByLicense, { id: request.id, status: Status.make(name) })
            if (isAuthorized()) return yield* reply("already_authorized")
            const seconds = yield* nowSeconds
            const checked = Directory.checkLicense(app, Redacted.value(request.license), seconds)
            if ("status" in checked) return yield* reply(checked.status)
            const license = checked.license
            if (license.account !== null) return yield* reply("license_already_linked")
            if (license.clientId !== null && license.clientId !== session.clientId)
              return yield* reply("client_id_mismatch")
            if (sessionsQuotaHit(app)) return yield* reply("sessions_quota_exceeded")
            Directory.activate(license, session.clientId ?? "", session.remoteAddress, seconds)
            session.identity = { _tag: "License", key: Redacted.make(license.key) }
            yield* licenseReply(Usecase.AuthByLicense, request.id, license, "ok")
          })

        const authByCredentials = (
          app: Directory.ApplicationState,
          request: Usecase.Request<typeof Usecase.AuthByCredentials>
        ) =>
          Effect.gen(function* () {
            const reply = (name: Status.KnownName) =>
              respond(Usecase.AuthByCredentials, { id: request.id, status: Status.make(name) })
            if (isAuthorized()) return yield* reply("already_authorized")
            const type = request.credentials_type
            if ((type !== 0 && type !== 1) || (type === 1 && !Directory.isEmail(request.login))) {
              return yield* reply("account_credentials_type_invalid")
            }
            const account = app.accounts.get(request.login)
            if (
              account === undefined ||
              !Directory.passwordMatches(account, Redacted.value(request.password)) ||
              account.credentialsType !== type
            ) {
              return yield* reply("account_not_found")
            }
            if (account.blacklisted) return yield* reply("account_blacklisted")
            if (sessionsQuotaHit(app)) return yield* reply("sessions_quota_exceeded")
            const seconds = yield* nowSeconds
            if (request.license !== undefined && request.license !== null) {
              const checked = Directory.checkLicense(app, Redacted.value(request.license), seconds)
              if ("status" in checked) return yield* reply(checked.status)
              if (checked.license.account !== null) return yield* reply("license_already_linked")
              if (checked.license.activatedAt !== null) return yield* reply("license_already_activated")
              Directory.link(checked.license, account, session.clientId ?? "", session.remoteAddress, seconds)
            }
            if (account.licenseRequired && Directory.validLicensesOf(app, account, seconds).length === 0) {
              return yield* reply("account_has_no_valid_licenses")
            }
            session.identity = { _tag: "Account", login: account.login }
            yield* accountReply(Usecase.AuthByCredentials, request.id, app, account, seconds, "ok")
          })

        const linkLicense = (
          app: Directory.ApplicationState,
          request: Usecase.Request<typeof Usecase.LinkLicenseToAccount>
        ) =>
          Effect.gen(function* () {
            const reply = (name: Status.KnownName) =>
              respond(Usecase.LinkLicenseToAccount, { id: request.id, status: Status.make(name) })
            const account = authorizedAccount(app)
            if (account === undefined) return yield* reply("not_authorized")
            const seconds = yield* nowSeconds
            const checked = Directory.checkLicense(app, Redacted.value(request.license), seconds)
            if ("status" in checked) return yield* reply(checked.status)
            if (checked.license.account !== null) return yield* reply("license_already_linked")
            if (checked.license.activatedAt !== null) return yield* reply("license_already_activated")
            Directory.link(checked.license, account, session.clientId ?? "", session.remoteAddress, seconds)
            yield* reply("ok")
          })

        const logout = (request: Usecase.Request<typeof Usecase.Logout>) =>
          Effect.gen(function* () {
            if (!isAuthorized()) {
              return yield* respond(Usecase.Logout, { id: request.id, status: Status.make("not_authorized") })
            }
            session.identity = null
            // Streams stop sending first; the response goes out; then each stream ends with status 3.
            const halts = yield* Effect.forEach([...session.streams.values()], (stream) =>
              requestHalt(stream, "not_authorized")
            )
            yield* Effect.forEach(halts, (halt) => Deferred.await(halt.reached), { discard: true })
            yield* respond(Usecase.Logout, { id: request.id, status: Status.make("ok") })
            yield* Effect.forEach(halts, (halt) => Deferred.succeed(halt.release, undefined), { discard: true })
            yield* Effect.forEach(halts, (halt) => Deferred.await(halt.written), { discard: true })
          })

        const blacklist = (app: Directory.ApplicationState, request: Usecase.Request<typeof Usecase.Blacklist>) =>
          Effect.gen(function* () {
            const license = authorizedLicense(app)
            const account = authorizedAccount(app)
            const needed = 1 + (license !== undefined || account !== undefined ? 1 : 0)
            if (app.quotas.blacklists > 0 && Directory.blacklistEntries(app) + needed > app.quotas.blacklists) {
              return yield* respond(Usecase.Blacklist, {
                id: request.id,
                status: Status.make("blacklists_quota_exceeded")
              })
            }
            if (session.clientId !== null) app.blacklistedClientIds.add(session.clientId)
            if (license !== undefined) license.blacklisted = true
            if (account !== undefined) account.blacklisted = true
            yield* respond(Usecase.Blacklist, { id: request.id, status: Status.make("ok") })
            yield* closeWith(CloseCode.codes.blacklisted)
          })

        const getFileMetadata = (
          app: Directory.ApplicationState,
          request: Usecase.Request<typeof Usecase.GetFileMetadata>
        ) =>
          Effect.suspend(() => {
            const reply = (name: Status.KnownName) =>
              respond(Usecase.GetFileMetadata, { id: request.id, status: Status.make(name) })
            if (!Directory.isValidFilename(request.filename)) return reply("file_invalid_name")
            const file = app.files.get(request.filename)
            if (file === undefined) return reply("file_not_found")
            return respond(Usecase.GetFileMetadata, {
              id: request.id,
              checksum: file.current.checksum,
              size: file.current.size,
              transfer_count: file.transferCount,
              last_transferred_at: file.lastTransferredAt,
              status: Status.make("ok")
            })
          })

        const getVariable = (app: Directory.ApplicationState, request: Usecase.Request<typeof Usecase.GetVariable>) =>
          Effect.suspend(() => {
            const reply = (name: Status.KnownName) =>
              respond(Usecase.GetVariable, { id: request.id, status: Status.make(name) })
            const size = Field.length(request.name)
            if (size > 64) return reply("variable_name_too_long")
            const variable = size < 3 ? undefined : app.variables.get(request.name)
            if (variable === undefined) return reply("variable_not_found")
            if (variable.paused) return reply("variable_paused")
            if (variable.authRequired && !isAuthorized()) return reply("not_authorized")
            return respond(Usecase.GetVariable, {
              id: request.id,
              content: variable.content,
              status: Status.make("ok")
            })
          })

        const dropExpired = (now: number) => {
          for (const [key, entry] of store) if (entry.expiresAt <= now) store.delete(key)
        }

        const setSessionValue = (request: Usecase.Request<typeof Usecase.SetSessionValue>) =>
          Effect.gen(function* () {
            const reply = (name: Status.KnownName) =>
              respond(Usecase.SetSessionValue, { id: request.id, status: Status.make(name) })
            if (Field.length(request.key) > 64) return yield* reply("session_key_too_long")
            const now = yield* Clock.currentTimeMillis
            dropExpired(now)
            const bytes = Buffer.byteLength(request.value, "utf8")
            const previous = store.get(request.key)
            let total = bytes
            for (const [key, entry] of store) if (key !== request.key) total += entry.bytes
            const entries = store.size + (previous === undefined ? 1 : 0)
            if (
              bytes > config.sessionStoreBytes ||
              total > config.sessionStoreBytes ||
              entries > config.sessionStoreEntries
            ) {
              return yield* reply("session_value_too_long")
            }
            const ttl =
              request.ttl === undefined || request.ttl === null || request.ttl <= 0
                ? config.defaultTtl
                : request.ttl * 1000
            store.set(request.key, { value: request.value, bytes, expiresAt: now + ttl })
            yield* reply("ok")
          })

        const getSessionValue = (request: Usecase.Request<typeof Usecase.GetSessionValue>) =>
          Effect.gen(function* () {
            const reply = (name: Status.KnownName) =>
              respond(Usecase.GetSessionValue, { id: request.id, status: Status.make(name) })
            if (Field.length(request.key) > 64) return yield* reply("session_key_too_long")
            dropExpired(yield* Clock.currentTimeMillis)
            const entry = store.get(request.key)
            if (entry === undefined) return yield* reply("session_value_not_found")
            yield* respond(Usecase.GetSessionValue, { id: request.id, value: entry.value, status: Status.make("ok") })
          })

        const getCurrentLicense = (
          app: Directory.ApplicationState,
          request: Usecase.Request<typeof Usecase.GetCurrentLicense>
        ) =>
          Effect.gen(function* () {
            const license = authorizedLicense(app)
            if (license === undefined) {
              return yield* respond(Usecase.GetCurrentLicense, {
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
            yield* licenseReply(Usecase.GetCurrentLicense, request.id, license, status)
          })

        const getCurrentAccount = (
          app: Directory.ApplicationState,
          request: Usecase.Request<typeof Usecase.GetCurrentAccount>
        ) =>
          Effect.gen(function* () {
            const account = authorizedAccount(app)
            if (account === undefined) {
              return yield* respond(Usecase.GetCurrentAccount, {
                id: request.id,
                status: Status.make("not_authorized")
              })
            }
            const seconds = yield* nowSeconds
            const valid = Directory.validLicensesOf(app, account, seconds)
            const status = account.licenseRequired && valid.length === 0 ? "account_has_no_valid_licenses" : "ok"
            yield* accountReply(Usecase.GetCurrentAccount, request.id, app, account, seconds, status)
          })

        // ---- streams (§4) -----------------------------------------------------------------------

        const requestHalt = (stream: ActiveStream, status: Status.KnownName) =>
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

        const reject = (id: Uint64.Uint64, transferId: string, offset: number, status: Status.KnownName) =>
          Effect.flatMap(
            header({
              id,
              transfer_id: transferId,
              binary_data: true,
              chunk_size: 0,
              offset,
              status: Status.make(status)
            }),
            (text) => session.write([text])
          )

        const quotaLeft = (app: Directory.ApplicationState) =>
          app.quotas.transfer_bytes === 0 ? Number.POSITIVE_INFINITY : app.quotas.transfer_bytes - app.transferredBytes

        /** Ends a stream that was asked to halt: reports its position, waits, sends the ending header. */
        const endHalted = (stream: ActiveStream, halt: Halt) =>
          Effect.gen(function* () {
            session.streams.delete(stream.transferId)
            yield* Deferred.succeed(halt.reached, stream.next)
            yield* Deferred.await(halt.release)
            yield* Effect.flatMap(
              header({
                id: stream.requestId,
                transfer_id: stream.transferId,
                binary_data: true,
                chunk_size: 0,
                offset: stream.next,
                status: Status.make(halt.status)
              }),
              (text) => session.write([text])
            )
            yield* Deferred.succeed(halt.written, undefined)
          })

        // A stop or logout that arrived meanwhile finds the stream already ended.
        const endWithError = (stream: ActiveStream, status: Status.KnownName) =>
          Effect.zipRight(
            Effect.sync(() => session.streams.delete(stream.transferId)),
            reject(stream.requestId, stream.transferId, stream.next, status)
          ).pipe(Effect.zipRight(Effect.suspend(() => releaseLateHalt(stream))))

        /** Sends the next pair; `false` once the stream has ended. Lean: it runs once per chunk. */
        const step = (app: Directory.ApplicationState, stream: ActiveStream): Effect.Effect<boolean> =>
          Effect.suspend(() => {
            if (stream.halt !== null) return Effect.as(endHalted(stream, stream.halt), false)
            const length = Math.min(config.chunkSize, stream.file.size - stream.next)
            if (length === 0) {
              // Nothing (left) to send: one terminal header, which is also the first of an empty stream.
              return Effect.as(complete(app, stream, stream.next === stream.start), false)
            }
            if (length > quotaLeft(app)) return Effect.as(endWithError(stream, "file_storage_quota_exceeded"), false)
            // The bytes are reserved before the read, which can wait for the disk: another stream of the
            // application checking the quota meanwhile must see them (§4.4 rules 3 and 4).
            app.transferredBytes += length
            return Effect.matchEffect(stream.read(stream.next, length), {
              onFailure: () => {
                app.transferredBytes -= length
                return Effect.zipRight(
                  Effect.logWarning(`reading ${stream.file.name} failed`),
                  Effect.as(endWithError(stream, "internal_server_error"), false)
                )
              },
              onSuccess: (chunk) => sendChunk(app, stream, chunk)
            })
          })

        const sendChunk = (app: Directory.ApplicationState, stream: ActiveStream, chunk: Uint8Array) => {
          stream.hash?.update(chunk)
          const size = stream.file.size
          const first = stream.next === stream.start
          const last = stream.next + chunk.byteLength === size
          const terminal = last && !config.separateTerminalHeader
          const text = Usecase.encodeHeader({
            id: stream.requestId,
            transfer_id: stream.transferId,
            binary_data: true,
            chunk_size: chunk.byteLength,
            offset: stream.next,
            ...(first ? { file_size: size } : {}),
            ...(terminal ? terminalFields(stream) : {})
          })
          if (Either.isLeft(text)) return Effect.die(text.left)
          if (terminal) session.streams.delete(stream.transferId)
          stream.next += chunk.byteLength
          stream.sent++
          const written = session.write([text.right, chunk])
          if (terminal) {
            return Effect.zipRight(
              written,
              Effect.zipRight(recordCompletion(app, stream), Effect.as(releaseLateHalt(stream), false))
            )
          }
          if (last) return Effect.zipRight(written, Effect.as(complete(app, stream, false), false))
          return Effect.as(written, true)
        }

        const terminalFields = (stream: ActiveStream) => ({
          status: Status.make("ok"),
          file_checksum: stream.file.checksum,
          range_checksum: stream.hash === undefined ? stream.file.checksum : stream.hash.copy().digest("hex")
        })

        const complete = (app: Directory.ApplicationState, stream: ActiveStream, first: boolean) =>
          Effect.gen(function* () {
            session.streams.delete(stream.transferId)
            const text = yield* header({
              id: stream.requestId,
              transfer_id: stream.transferId,
              binary_data: true,
              chunk_size: 0,
              offset: stream.next,
              ...(first ? { file_size: stream.file.size } : {}),
              ...terminalFields(stream)
            })
            yield* session.write([text])
            yield* recordCompletion(app, stream)
            yield* releaseLateHalt(stream)
          })

        const recordCompletion = (app: Directory.ApplicationState, stream: ActiveStream) =>
          Effect.map(nowSeconds, (seconds) => {
            const file = app.files.get(stream.file.name)
            if (file === undefined) return
            file.transferCount++
            file.lastTransferredAt = seconds
          })

        /**
         * A halt requested while the last pair was going out finds the stream already ended. Its ending was
         * written too: a logout waits for that after its response, and must not wait forever.
         */
        const releaseLateHalt = (stream: ActiveStream) =>
          stream.halt === null
            ? Effect.void
            : Effect.zipRight(
                Deferred.succeed(stream.halt.reached, "ended"),
                Deferred.succeed(stream.halt.written, undefined)
              )

        const paced = config.pauseAfterChunks > 0 || config.chunkDelay > 0
        const pace = (stream: ActiveStream) =>
          Effect.gen(function* () {
            if (config.pauseAfterChunks > 0 && stream.sent >= config.pauseAfterChunks) {
              return yield* Deferred.await(stream.haltSignal)
            }
            if (config.chunkDelay > 0) {
              yield* Effect.raceFirst(Effect.sleep(config.chunkDelay), Deferred.await(stream.haltSignal))
            }
          })

        /** Starts a stream; its file handle, if any, lives until the stream ends. */
        const runStream = (
          app: Directory.ApplicationState,
          requestId: Uint64.Uint64,
          transferId: string,
          file: Directory.FileVersion,
          start: number
        ) =>
          Effect.gen(function* () {
            const scope = yield* Scope.make()
            const release = Scope.close(scope, Exit.void)
            const stream: ActiveStream = {
              transferId,
              requestId,
              file,
              start,
              next: start,
              sent: 0,
              hash: start === 0 ? undefined : Crypto.createHash("sha256"),
              read: chunkReader(file.source, fs, scope, config.readAheadBytes),
              halt: null,
              haltSignal: yield* Deferred.make<void>()
            }
            session.streams.set(stream.transferId, stream)
            // The first header (or the whole of a short stream) goes out before the next request is read.
            const more = yield* step(app, stream).pipe(
              Effect.onExit((exit) => (Exit.isSuccess(exit) && exit.value ? Effect.void : release))
            )
            if (!more) return
            const next = (): Effect.Effect<void> =>
              Effect.flatMap(paced ? Effect.zipRight(pace(stream), step(app, stream)) : step(app, stream), (more) =>
                more ? next() : Effect.void
              )
            yield* FiberSet.run(fibers, Effect.ensuring(next(), release))
          })

        const transferFile = (app: Directory.ApplicationState, request: Usecase.Request<typeof Usecase.TransferFile>) =>
          Effect.gen(function* () {
            const transferId = Crypto.randomBytes(16).toString("hex")
            const offset = request.offset ?? 0
            const rejectWith = (status: Status.KnownName) => reject(request.id, transferId, offset, status)
            if (!isAuthorized()) return yield* rejectWith("not_authorized")
            if (!Directory.isValidFilename(request.filename)) return yield* rejectWith("file_invalid_name")
            const file = app.files.get(request.filename)
            if (file === undefined) return yield* rejectWith("file_not_found")
            const version = file.current
            if (offset > version.size) return yield* rejectWith("file_invalid_offset")
            if (offset < version.size && Math.min(config.chunkSize, version.size - offset) > quotaLeft(app)) {
              return yield* rejectWith("file_storage_quota_exceeded")
            }
            yield* runStream(app, request.id, transferId, version, offset)
          })

        const stopFileTransfer = (request: Usecase.Request<typeof Usecase.StopFileTransfer>) =>
          Effect.gen(function* () {
            const reply = (name: Status.KnownName) =>
              respond(Usecase.StopFileTransfer, { id: request.id, status: Status.make(name) })
            if (!isAuthorized() || session.identity === null || session.app === null)
              return yield* reply("not_authorized")
            const identity = session.identity
            const app = session.app
            const stream = session.streams.get(request.transfer_id)
            if (stream === undefined || stream.halt !== null) return yield* reply("file_transfer_stopped")
            const halt = yield* requestHalt(stream, "file_transfer_stopped")
            const position = yield* Deferred.await(halt.reached)
            // The stream completed before it saw the stop: the stop lost the race.
            if (position === "ended") return yield* reply("file_transfer_stopped")
            let token: string | undefined
            if (request.issue_token === true) {
              token = Crypto.randomBytes(32).toString("base64url")
              tokens.set(token, {
                application: app.name,
                identity: identityKey(identity),
                transferId: stream.transferId,
                file: stream.file,
                offset: position,
                expiresAt: (yield* Clock.currentTimeMillis) + config.resumeTokenLifetime,
                used: false
              })
            }
            const response = respond(Usecase.StopFileTransfer, {
              id: request.id,
              ...(token === undefined ? {} : { resume_token: Redacted.make(token) }),
              status: Status.make("ok")
            })
            const ending = Effect.zipRight(Deferred.succeed(halt.release, undefined), Deferred.await(halt.written))
            if (config.stopOrder === "header-first") yield* Effect.zipRight(ending, response)
            else yield* Effect.zipRight(response, ending)
          })

        const resumeFileTransfer = (
          app: Directory.ApplicationState,
          request: Usecase.Request<typeof Usecase.ResumeFileTransfer>
        ) =>
          Effect.gen(function* () {
            const rejectWith = (status: Status.KnownName) => reject(request.id, request.transfer_id, 0, status)
            if (session.identity === null) return yield* rejectWith("not_authorized")
            const now = yield* Clock.currentTimeMillis
            const token = tokens.get(Redacted.value(request.resume_token))
            if (token === undefined || token.used || token.expiresAt <= now)
              return yield* rejectWith("resume_token_invalid")
            if (token.application !== app.name || token.identity !== identityKey(session.identity)) {
              return yield* rejectWith("not_authorized")
            }
            const file = app.files.get(token.file.name)
            if (token.transferId !== request.transfer_id || file === undefined || file.current !== token.file) {
              return yield* rejectWith("resume_token_invalid")
            }
            if (
              token.offset < token.file.size &&
              Math.min(config.chunkSize, token.file.size - token.offset) > quotaLeft(app)
            ) {
              return yield* rejectWith("file_storage_quota_exceeded")
            }
            token.used = true
            tokens.delete(Redacted.value(request.resume_token))
            yield* runStream(app, request.id, token.transferId, token.file, token.offset)
          })

        // ---- receive rules (§1.6) ---------------------------------------------------------------

        const withRequest = <U extends Usecase.Any>(
          usecase: U,
          payload: unknown,
          run: (request: Usecase.Request<U>) => Effect.Effect<void>
        ): Effect.Effect<void> =>
          Either.match(Usecase.decodeRequest(usecase, payload), {
            onLeft: (error) =>
              Effect.zipRight(
                Effect.logDebug(`invalid ${usecase.name} body: ${Usecase.describeError(error)}`),
                closeWith(CloseCode.codes.invalidBody)
              ),
            // An unexpected failure inside a usecase is answered with status 6 where the usecase has one.
            onRight: (request) =>
              run(request).pipe(
                Effect.catchAllDefect((defect) =>
                  Effect.zipRight(
                    Effect.logError(`${usecase.name} failed`, Cause.die(defect)),
                    internalError(usecase, request.id)
                  )
                )
              )
          })

        /** Status 6 in the usecase's own response form (a rejection header for streams; ping has none). */
        const internalError = (usecase: Usecase.Any, id: Uint64.Uint64): Effect.Effect<void> => {
          if (usecase.type === Usecase.Ping.type) return Effect.void
          if (usecase.type === Usecase.TransferFile.type || usecase.type === Usecase.ResumeFileTransfer.type) {
            return reject(id, Crypto.randomBytes(16).toString("hex"), 0, "internal_server_error")
          }
          return session.write([
            Envelope.encode(usecase.type, { id: Uint64.toJson(id), status: Status.codes.internal_server_error })
          ])
        }

        const dispatch = (app: Directory.ApplicationState, envelope: Envelope.Envelope): Effect.Effect<void> => {
          const payload = envelope.payload
          switch (envelope.type) {
            case 0:
              return withRequest(Usecase.Ping, payload, (request) => respond(Usecase.Ping, { id: request.id }))
            case 1:
              return withRequest(Usecase.Initialize, payload, initialize)
            case 2:
              return withRequest(Usecase.CreateAccount, payload, (request) => createAccount(app, request))
            case 3:
              return withRequest(Usecase.AuthByLicense, payload, (request) => authByLicense(app, request))
            case 4:
              return withRequest(Usecase.AuthByCredentials, payload, (request) => authByCredentials(app, request))
            case 5:
              return withRequest(Usecase.LinkLicenseToAccount, payload, (request) => linkLicense(app, request))
            case 6:
              return withRequest(Usecase.Logout, payload, logout)
            case 7:
              return withRequest(Usecase.Blacklist, payload, (request) => blacklist(app, request))
            case 8:
              return withRequest(Usecase.TransferFile, payload, (request) => transferFile(app, request))
            case 9:
              return withRequest(Usecase.StopFileTransfer, payload, stopFileTransfer)
            case 10:
              return withRequest(Usecase.ResumeFileTransfer, payload, (request) => resumeFileTransfer(app, request))
            case 11:
              return withRequest(Usecase.GetFileMetadata, payload, (request) => getFileMetadata(app, request))
            case 12:
              return withRequest(Usecase.GetOnlineUsersCount, payload, (request) =>
                respond(Usecase.GetOnlineUsersCount, {
                  id: request.id,
                  online_users_count: [...sessions].filter((other) => other.app === app).length,
                  status: Status.make("ok")
                })
              )
            case 13:
              return withRequest(Usecase.GetVariable, payload, (request) => getVariable(app, request))
            case 14:
              return withRequest(Usecase.SetSessionValue, payload, setSessionValue)
            case 15:
              return withRequest(Usecase.GetSessionValue, payload, getSessionValue)
            case 16:
              return withRequest(Usecase.GetCurrentLicense, payload, (request) => getCurrentLicense(app, request))
            case 17:
              return withRequest(Usecase.GetCurrentAccount, payload, (request) => getCurrentAccount(app, request))
            default:
              return withRequest(Usecase.PanelEventSubscribe, payload, (request) =>
                respond(Usecase.PanelEventSubscribe, { id: request.id, status: Status.make("ok") })
              )
          }
        }

        /** The receive rules of §1.6, in order, for one message received at `now`. */
        const receive = (frame: Transport.Frame, now: number): Effect.Effect<void> => {
          if (closing) return Effect.void
          const size = typeof frame === "string" ? Buffer.byteLength(frame, "utf8") : frame.byteLength
          if (size > config.maxMessageBytes) return closeWith(CloseCode.codes.messageTooBig)
          if (config.rateLimit > 0) {
            while (received.length > 0 && (received[0] ?? now) <= now - config.rateWindow) received.shift()
            if (received.length >= config.rateLimit) return closeWith(CloseCode.codes.rateLimitHit)
            received.push(now)
          }
          if (typeof frame !== "string") return closeWith(CloseCode.codes.unsupportedData)
          const decoded = Envelope.decode(frame)
          if (Either.isLeft(decoded)) return closeWith(CloseCode.codes.missingTypeOrId)
          const envelope = decoded.right
          const id = Envelope.id(envelope)
          if (Option.isNone(id) || id.value === Envelope.PUSH_ID) return closeWith(CloseCode.codes.missingTypeOrId)
          if (!Envelope.isKnownType(envelope.type)) return closeWith(CloseCode.codes.invalidType)
          if (session.app === null) {
            if (envelope.type !== Usecase.Initialize.type) return closeWith(CloseCode.codes.notInitialized)
            return withRequest(Usecase.Initialize, envelope.payload, initialize)
          }
          if (session.app.deleted) return closeWith(CloseCode.codes.applicationDeleted)
          return dispatch(session.app, envelope)
        }

        // The clock is read only when the rate limit needs it.
        const onFrame = (frame: Transport.Frame): Effect.Effect<void> =>
          config.rateLimit > 0
            ? Effect.flatMap(Clock.currentTimeMillis, (now) => receive(frame, now))
            : Effect.suspend(() => receive(frame, 0))

        const connectedAt = yield* Clock.currentTimeMillis
        yield* Effect.forkScoped(
          Effect.zipRight(
            Deadline.sleepUntil(connectedAt + config.initDeadline),
            Effect.suspend(() =>
              session.app === null && !closing
                ? closeWith(CloseCode.codes.initDeadline, CloseCode.initDeadlineReason(config.initDeadline))
                : Effect.void
            )
          )
        )
        yield* transport.frames.pipe(Stream.runForEach(onFrame), Effect.ignore)
      }).pipe(
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause)
            ? Effect.failCause(cause)
            : Effect.zipRight(
                Effect.logError("session failed", cause),
                Effect.asVoid(transport.close(CloseCode.codes.internalError, CloseCode.reasons[4000]))
              )
        ),
        Effect.annotateLogs({ module: "BlazeauthServer" })
      )

    yield* Effect.forkScoped(
      server.run((transport) => Effect.scoped(handle(transport)), { shutdownClose: { code: 1000, reason: "" } })
    )

    const matches = (session: Session, selector: SessionSelector) =>
      (selector.id === undefined || session.id === selector.id) &&
      (selector.application === undefined || session.app?.name === selector.application) &&
      (selector.clientId === undefined || session.clientId === selector.clientId)

    return BlazeauthServer.of({
      url: server.url,
      sessions: Effect.sync(() =>
        [...sessions].map((session) => ({
          id: session.id,
          remoteAddress: session.remoteAddress,
          application: session.app?.name ?? null,
          clientId: session.clientId,
          identity: session.identity
        }))
      ),
      pushPanelEvent: (application, event) =>
        Effect.gen(function* () {
          const app = yield* findApplication(application)
          if (Option.isNone(Field.int32FromJson(event.eventType))) {
            return yield* new InvalidPanelEvent({ eventType: event.eventType })
          }
          const text = PanelEvent.encode(
            new PanelEvent.PanelEvent({ eventType: event.eventType, content: event.content ?? {} })
          )
          const targets = [...sessions].filter((session) => session.app === app)
          yield* Effect.forEach(targets, (session) => session.write([text]), {
            concurrency: "unbounded",
            discard: true
          })
          return targets.length
        }),
      pauseApplication: (application) =>
        Effect.flatMap(findApplication(application), (app) => {
          app.paused = true
          return closeSessionsOf(app, CloseCode.codes.applicationPaused)
        }),
      resumeApplication: (application) =>
        Effect.map(findApplication(application), (app) => {
          app.paused = false
        }),
      deleteApplication: (application) =>
        Effect.flatMap(findApplication(application), (app) => {
          app.deleted = true
          return closeSessionsOf(app, CloseCode.codes.applicationDeleted)
        }),
      disconnect: (selector) =>
        Effect.suspend(() => {
          const targets = [...sessions].filter((session) => matches(session, selector))
          return Effect.as(
            Effect.forEach(
              targets,
              (session) => session.close(CloseCode.codes.disconnectedFromPanel, CloseCode.reasons[4100]),
              { concurrency: "unbounded", discard: true }
            ),
            targets.length
          )
        }),
      putFile: (application, name, content) =>
        Effect.flatMap(findApplication(application), (app) =>
          Effect.sync(() => {
            const bytes = content.slice()
            const version: Directory.FileVersion = {
              name,
              version: nextFileVersion++,
              source: { _tag: "Bytes", bytes },
              size: bytes.byteLength,
              checksum: sha256Hex(bytes)
            }
            const file = app.files.get(name)
            if (file === undefined) app.files.set(name, { current: version, transferCount: 0, lastTransferredAt: null })
            else file.current = version
          })
        )
    })
  })

/**
 * The server on any `TransportServer` (for example `Transport.layerMemory()` under `TestClock`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<
  BlazeauthServer,
  ServerConfigError | Fixtures.FixturesError,
  Transport.TransportServer | FileSystem.FileSystem
> => Layer.scoped(BlazeauthServer, make(options))

/**
 * The server over `ws` at `ws://host:port/` (other paths get HTTP 404), with the message limit of §8
 * enforced by `ws` itself and sends paced to one chunk.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWs = (
  options: WsOptions
): Layer.Layer<BlazeauthServer, ServerConfigError | Fixtures.FixturesError | Transport.ListenError> =>
  layer(options).pipe(
    Layer.provide(
      Transport.layerWsServer({
        host: options.host,
        port: options.port,
        path: "/",
        maxMessageBytes: options.maxMessageBytes ?? defaults.maxMessageBytes,
        sendHighWaterMark: options.chunkSize ?? defaults.chunkSize
      })
    ),
    Layer.provide(NodeFileSystem.layer)
  )

/**
 * Reads a fixtures file with Node's file system (paths inside are relative to it).
 *
 * @since 0.1.0
 * @category constructors
 */
export const loadFixtures = (file: string): Effect.Effect<Fixtures.Fixtures, Fixtures.FixturesError> =>
  Fixtures.load(file).pipe(Effect.provide(NodeFileSystem.layer))
