/**
 * The Blazeauth client SDK: one connection (session) at a time, initialized and optionally authorized
 * at once, every usecase as a typed method, downloads as verified and resumable streams (see
 * `Download`), panel events as a stream, keepalive pings with round-trip times, and optional
 * reconnection with backoff.
 *
 * Receive rules follow spec §1.5 exactly: a frame that is not an envelope, or that breaks the binary
 * binding of §4.5, closes the connection with 1002 and fails every pending call with
 * `ProtocolViolation`; anything else that cannot be matched to a call is logged and dropped; a response
 * that matches a call but has the wrong type or a bad field fails that call only.
 *
 * Secrets (API key, passwords, licenses) are `Redacted` end to end. Errors and logs name fields,
 * never the values received, so nothing the server echoes can leak a secret either.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Deadline from "@protokernel/wire/Deadline"
import * as Transport from "@protokernel/wire/Transport"
import * as Uint64 from "@protokernel/wire/Uint64"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as PubSub from "effect/PubSub"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import * as Crypto from "node:crypto"
import * as Path from "node:path"
import * as ClientError from "./ClientError.js"
import * as CloseCode from "./CloseCode.js"
import type * as Download from "./Download.js"
import * as Envelope from "./Envelope.js"
import * as Expiry from "./Expiry.js"
import * as Field from "./Field.js"
import * as Model from "./Model.js"
import * as PanelEvent from "./PanelEvent.js"
import * as Status from "./Status.js"
import * as DownloadImpl from "./internal/download.js"
import * as Payload from "./internal/payload.js"
import * as Usecase from "./Usecase.js"

// ---------------------------------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------------------------------

/**
 * `credentials_type`: 0 = login/password, 1 = e-mail/password (spec §7).
 *
 * @since 0.1.0
 * @category models
 */
export type CredentialsType = 0 | 1

/**
 * An account login for `authByCredentials`. `credentialsType` defaults to 0; `license`, when given,
 * is linked to the account and activated by the same call.
 *
 * @since 0.1.0
 * @category models
 */
export type Credentials = {
  readonly login: string
  readonly password: Redacted.Redacted<string>
  readonly credentialsType?: CredentialsType | undefined
  readonly license?: Redacted.Redacted<string> | undefined
}

/**
 * How every connection of the client authorizes right after `initialize`: with a license, or with an
 * account's credentials.
 *
 * @since 0.1.0
 * @category models
 */
export type Authorization = Data.TaggedEnum<{
  License: { readonly license: Redacted.Redacted<string> }
  Credentials: Credentials
}>

const AuthorizationEnum = Data.taggedEnum<Authorization>()

/**
 * Constructors of `Authorization`: `Authorization.license(key)` and `Authorization.credentials({...})`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const Authorization: {
  readonly license: (license: Redacted.Redacted<string>) => Authorization
  readonly credentials: (credentials: Credentials) => Authorization
} = {
  license: (license) => AuthorizationEnum.License({ license }),
  credentials: (credentials) => AuthorizationEnum.Credentials(credentials)
}

/**
 * The fields of `createAccount` (spec §3.2 #2). `license`, when given, is linked to the new account,
 * activated and bound to this client's `client_id`.
 *
 * @since 0.1.0
 * @category models
 */
export type CreateAccountRequest = {
  readonly login: string
  readonly password: Redacted.Redacted<string>
  readonly credentialsType: CredentialsType
  readonly comment?: string | null | undefined
  readonly license?: Redacted.Redacted<string> | null | undefined
}

/**
 * Options of `setSessionValue`: the value's lifetime, rounded up to whole seconds. Without one the
 * client sends `ttl: null` and the server keeps the value for 72 h.
 *
 * @since 0.1.0
 * @category models
 */
export type SessionValueOptions = {
  readonly ttl?: Duration.DurationInput | undefined
}

/**
 * Client options. Durations are in milliseconds and default to the spec's client values (§8).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The WebSocket URL, used exactly as given, e.g. `wss://eu1.blazeauth.net`. */
  readonly url: string
  /** The environment's socket API key. */
  readonly apiKey: Redacted.Redacted<string>
  /** The stable installation id: 4–64 characters, checked before anything is sent. */
  readonly clientId: string
  /** Authorizes every connection right after `initialize` (the first one and every reconnection). */
  readonly auth?: Authorization | undefined
  /**
   * Reconnect after the closes §2.3 calls transient (server closes 1000, 1006, 4000, 4201, local ping
   * timeouts), with backoff 1 s doubling to 30 s, ±20 % jitter (at least 60 s after 4201). Default false.
   */
  readonly reconnect?: boolean | undefined
  /** Keepalive ping interval, from the moment `initialize` succeeds. Default 20000; 0 turns pings off. */
  readonly pingIntervalMillis?: number | undefined
  /** A ping unanswered this long means the connection is dead. Default 20000. */
  readonly pingTimeoutMillis?: number | undefined
  /** How long a call waits, for a session and then for its response. Default 30000. */
  readonly requestTimeoutMillis?: number | undefined
  /**
   * How long `initialize` waits for its response. Default 30000: the 15 s init deadline is the
   * server's (close 4202); the client only fails with `Timeout` when nothing at all comes back.
   */
  readonly initializeTimeoutMillis?: number | undefined
  /** Whether `panelEventSubscribe` sends its request. Default false: it resolves locally, using no id. */
  readonly sendPanelEventSubscribe?: boolean | undefined
  /** Largest `chunk_size` a type-8 header may announce; above it is a protocol violation. Default 16 MiB. */
  readonly maxChunkSize?: number | undefined
  /**
   * Bytes a download buffers for its consumer; while the buffer is full the client stops reading the
   * socket. At least one chunk is always accepted. Default 2 MiB.
   */
  readonly downloadBufferBytes?: number | undefined
  /** A download with no header for this long fails with `Timeout` and is stopped (§4.5). Default 30000. */
  readonly transferIdleTimeoutMillis?: number | undefined
  /**
   * With `reconnect`, failed reconnection attempts in a row after which the client gives up (and fails
   * with the last error). Default: no limit.
   */
  readonly maxReconnectAttempts?: number | undefined
  /** The reconnection backoff: first delay and cap, in milliseconds. Default 1000 and 30000 (§2.3). */
  readonly reconnectBackoff?:
    { readonly initialMillis?: number | undefined; readonly maxMillis?: number | undefined } | undefined
}

/**
 * The kind of identity a session is authorized as.
 *
 * @since 0.1.0
 * @category models
 */
export type AuthorizationKind = "license" | "account"

/**
 * Where the client is.
 *
 * - `Connecting`: opening a connection and initializing (and authorizing, with `Options.auth`).
 *   `attempt` is 1 for the first connection, then the number of the reconnection attempt.
 * - `Initialized` / `Authorized`: a session is ready; calls go out at once.
 * - `Disconnected`: the last connection ended with `error`; reconnection attempt number `attempt`
 *   starts after `delay` (attempts count from 1 after every established session).
 * - `Failed`: the client ended with `error` (terminal close, protocol violation, failed re-authorization…).
 * - `Closed`: the user closed the client.
 *
 * @since 0.1.0
 * @category models
 */
export type State = Data.TaggedEnum<{
  Connecting: { readonly attempt: number }
  Initialized: { readonly application: Model.Application }
  Authorized: { readonly application: Model.Application; readonly kind: AuthorizationKind }
  Disconnected: {
    readonly attempt: number
    readonly delay: Duration.Duration
    readonly error: ClientError.BlazeauthError
  }
  Failed: { readonly error: ClientError.BlazeauthError }
  Closed: {}
}>

/**
 * Constructors and guards for `State` (`State.Connecting({ attempt: 1 })`, `State.$is("Authorized")`).
 *
 * @since 0.1.0
 * @category models
 */
export const State = Data.taggedEnum<State>()

/**
 * A connected Blazeauth client.
 *
 * Calls made while the client reconnects wait for the next session (initialized, and re-authorized
 * with `Options.auth`), within the request timeout that starts when the call is made; calls that were
 * in flight when a connection ended fail with the reason it ended. Once the client has failed or was
 * closed, every call fails at once with that reason.
 *
 * A `StatusError` carries the decoded response fields (wire names, secrets `Redacted`, without `id`)
 * as its `payload`; `retryAfter`, `licenseInfoOf` and `accountInfoOf` read the useful ones.
 *
 * @since 0.1.0
 * @category models
 */
export interface Client {
  /** The application of the current session (`app_name`, `app_version`), read again after each reconnection. */
  readonly application: Effect.Effect<Model.Application>
  /** Sends a `ping` now; succeeds with the round-trip time. No answer within the ping timeout fails with `PingTimeout`. */
  readonly ping: () => Effect.Effect<Duration.Duration, ClientError.CallError>
  /** The round-trip time of the latest answered ping (keepalive or `ping()`), if any. */
  readonly latestRtt: Effect.Effect<Option.Option<Duration.Duration>>
  /** Creates an account. Status 5 (`too_many_requests`) carries `retry_after`: read it with `retryAfter`. */
  readonly createAccount: (request: CreateAccountRequest) => Effect.Effect<void, ClientError.CallError>
  /** Authorizes the session with a license. */
  readonly authByLicense: (
    license: Redacted.Redacted<string>
  ) => Effect.Effect<Model.LicenseInfo, ClientError.CallError>
  /** Authorizes the session with an account. */
  readonly authByCredentials: (credentials: Credentials) => Effect.Effect<Model.AccountInfo, ClientError.CallError>
  /** Links a license to the authorized account. */
  readonly linkLicense: (license: Redacted.Redacted<string>) => Effect.Effect<void, ClientError.CallError>
  /** Drops the authorization; the session stays initialized. */
  readonly logout: () => Effect.Effect<void, ClientError.CallError>
  /**
   * Blacklists this client (and its license or account). Succeeds when the response has a success
   * status, or when the server closes with 4203 or 1000 while the call is pending; fails when the
   * client itself starts the close.
   */
  readonly blacklist: (comment?: string | undefined) => Effect.Effect<void, ClientError.CallError>
  /** A protected file's checksum, size and transfer statistics. */
  readonly getFileMetadata: (filename: string) => Effect.Effect<Model.FileMetadata, ClientError.CallError>
  /** Open, initialized sessions of the application, this one included. */
  readonly getOnlineUsersCount: () => Effect.Effect<number, ClientError.CallError>
  /** A variable's content. */
  readonly getVariable: (name: string) => Effect.Effect<string, ClientError.CallError>
  /** Stores a value in this connection's session store (always sends `ttl`, `null` when none is given). */
  readonly setSessionValue: (
    key: string,
    value: string,
    options?: SessionValueOptions | undefined
  ) => Effect.Effect<void, ClientError.CallError>
  /** Reads a value from this connection's session store. */
  readonly getSessionValue: (key: string) => Effect.Effect<string, ClientError.CallError>
  /** The session's license as it is now. 101–103 fail with a `StatusError` whose payload has the license fields. */
  readonly getCurrentLicense: () => Effect.Effect<Model.LicenseInfo, ClientError.CallError>
  /** The session's account as it is now. 203 fails with a `StatusError` whose payload has the account fields. */
  readonly getCurrentAccount: () => Effect.Effect<Model.AccountInfo, ClientError.CallError>
  /**
   * Starts downloading a protected file (§4) and succeeds once the server's first header arrived: a
   * rejection fails with its `StatusError`. If the connection drops with a retryable close while the
   * client reconnects, the download continues on the next session from the bytes already received
   * (with a resume token when one is pending, otherwise from that offset), still verifying the whole
   * file. Leaving the scope early stops the stream.
   */
  readonly startDownload: (
    filename: string,
    options?: Download.Options | undefined
  ) => Effect.Effect<Download.Download, ClientError.TransferError, Scope.Scope>
  /** Resumes a stopped download: `resume_file_transfer` with its token, or `transfer_file` from its offset. */
  readonly resume: (
    stopped: Download.Stopped
  ) => Effect.Effect<Download.Download, ClientError.TransferError, Scope.Scope>
  /** A protected file's bytes as a stream: `startDownload` and its `bytes`. */
  readonly download: (
    filename: string,
    options?: Download.Options | undefined
  ) => Stream.Stream<Uint8Array, ClientError.TransferError>
  /**
   * Downloads a protected file into `path`: the bytes go to a temporary file next to it, which is
   * renamed to `path` once the whole file is verified; on any failure it is removed and `path` is left
   * untouched. Emits the progress as the bytes are written (`position` counts bytes written), and a
   * last element once `path` is in place: the only one with the verified `fileChecksum`.
   */
  readonly downloadToFile: (
    filename: string,
    path: string
  ) => Stream.Stream<
    Download.Progress,
    ClientError.TransferError | ClientError.DownloadFileError,
    FileSystem.FileSystem
  >
  /** Reserved no-op (events are always pushed): resolves locally unless `Options.sendPanelEventSubscribe`. */
  readonly panelEventSubscribe: () => Effect.Effect<void, ClientError.CallError>
  /**
   * Panel events from the moment the stream starts running, across reconnections; ends when the
   * client ends. Use `subscribePanelEvents` to be subscribed before the stream is handed out.
   */
  readonly panelEvents: Stream.Stream<PanelEvent.PanelEvent>
  /** Subscribes now (for the scope's lifetime) and returns the events from this moment on, none lost. */
  readonly subscribePanelEvents: Effect.Effect<Stream.Stream<PanelEvent.PanelEvent>, never, Scope.Scope>
  /** The current state. */
  readonly state: Effect.Effect<State>
  /** The current state, then every change. */
  readonly states: Stream.Stream<State>
  /** Closes the connection with 1000, fails pending calls with `ConnectionClosed` (local) and stops reconnecting. */
  readonly close: Effect.Effect<void>
}

/**
 * The client as a service.
 *
 * @since 0.1.0
 * @category tags
 */
export class BlazeauthClient extends Context.Tag("@protokernel/blazeauth/BlazeauthClient")<BlazeauthClient, Client>() {}

// ---------------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------------

/**
 * The spec's client defaults (§8) and the reconnection backoff (§2.3).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults = {
  pingIntervalMillis: 20_000,
  pingTimeoutMillis: 20_000,
  requestTimeoutMillis: 30_000,
  initializeTimeoutMillis: 30_000,
  maxChunkSize: 16 * 1024 * 1024,
  downloadBufferBytes: 2 * 1024 * 1024,
  transferIdleTimeoutMillis: 30_000,
  backoff: { initialMillis: 1_000, maxMillis: 30_000, jitter: 0.2 }
} as const

interface Config {
  readonly url: string
  readonly apiKey: Redacted.Redacted<string>
  readonly clientId: string
  readonly auth: Authorization | undefined
  readonly reconnect: boolean
  readonly pingIntervalMillis: number
  readonly pingTimeoutMillis: number
  readonly requestTimeoutMillis: number
  readonly initializeTimeoutMillis: number
  readonly sendPanelEventSubscribe: boolean
  readonly maxChunkSize: number
  readonly downloadBufferBytes: number
  readonly transferIdleTimeoutMillis: number
  readonly maxReconnectAttempts: number
  readonly backoffInitialMillis: number
  readonly backoffMaxMillis: number
}

const integerOption = (
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number = Number.MAX_SAFE_INTEGER
): Either.Either<number, ClientError.InvalidArgument> => {
  const resolved = value ?? fallback
  return Number.isSafeInteger(resolved) && resolved >= min && resolved <= max
    ? Either.right(resolved)
    : Either.left(new ClientError.InvalidArgument({ argument: name, detail: `must be an integer in ${min}..${max}` }))
}

/** Checks the options; the `client_id` check is the spec's local pre-check (§3.2 #1). */
const config = (options: Options): Either.Either<Config, ClientError.InvalidArgument> =>
  Either.gen(function* () {
    const length = Field.length(options.clientId)
    if (length < 4 || length > 64) {
      return yield* Either.left(
        new ClientError.InvalidArgument({ argument: "clientId", detail: `must have 4 to 64 characters, has ${length}` })
      )
    }
    return {
      url: options.url,
      apiKey: options.apiKey,
      clientId: options.clientId,
      auth: options.auth,
      reconnect: options.reconnect === true,
      pingIntervalMillis: yield* integerOption(
        "pingIntervalMillis",
        options.pingIntervalMillis,
        defaults.pingIntervalMillis,
        0
      ),
      pingTimeoutMillis: yield* integerOption(
        "pingTimeoutMillis",
        options.pingTimeoutMillis,
        defaults.pingTimeoutMillis,
        1
      ),
      requestTimeoutMillis: yield* integerOption(
        "requestTimeoutMillis",
        options.requestTimeoutMillis,
        defaults.requestTimeoutMillis,
        1
      ),
      initializeTimeoutMillis: yield* integerOption(
        "initializeTimeoutMillis",
        options.initializeTimeoutMillis,
        defaults.initializeTimeoutMillis,
        1
      ),
      sendPanelEventSubscribe: options.sendPanelEventSubscribe === true,
      maxChunkSize: yield* integerOption("maxChunkSize", options.maxChunkSize, defaults.maxChunkSize, 1, 2147483647),
      downloadBufferBytes: yield* integerOption(
        "downloadBufferBytes",
        options.downloadBufferBytes,
        defaults.downloadBufferBytes,
        1
      ),
      transferIdleTimeoutMillis: yield* integerOption(
        "transferIdleTimeoutMillis",
        options.transferIdleTimeoutMillis,
        defaults.transferIdleTimeoutMillis,
        1
      ),
      maxReconnectAttempts: yield* integerOption(
        "maxReconnectAttempts",
        options.maxReconnectAttempts,
        Number.MAX_SAFE_INTEGER,
        1
      ),
      backoffInitialMillis: yield* integerOption(
        "reconnectBackoff.initialMillis",
        options.reconnectBackoff?.initialMillis,
        defaults.backoff.initialMillis,
        1
      ),
      backoffMaxMillis: yield* integerOption(
        "reconnectBackoff.maxMillis",
        options.reconnectBackoff?.maxMillis,
        defaults.backoff.maxMillis,
        1
      )
    }
  })

// ---------------------------------------------------------------------------------------------------
// Responses → domain values
// ---------------------------------------------------------------------------------------------------

/** A message matched to a call: its raw payload and when it arrived (Clock millis). */
interface Received {
  readonly payload: { readonly [key: string]: unknown }
  readonly receivedAt: number
  /** A pending `blacklist` resolved by the server's close (4203 or 1000), with no response. */
  readonly resolvedByClose: boolean
}

/** A field that an error status must carry (§3.2: 2 with 5, 16 with 101–103, 17 with 203). */
interface ErrorFields {
  readonly codes: ReadonlyArray<number>
  readonly field: string
}

const retryAfterOnError: ErrorFields = { codes: [5], field: "retry_after" }
const licenseOnError: ErrorFields = { codes: [101, 102, 103], field: "license" }
const accountOnError: ErrorFields = { codes: [203], field: "login" }

const malformed = (usecase: string, detail: string) => new ClientError.MalformedResponse({ usecase, detail })

const missing = (usecase: string, field: string) => malformed(usecase, `["${field}"]: is missing`)

const need = <A>(
  usecase: string,
  field: string,
  value: A | undefined
): Either.Either<A, ClientError.MalformedResponse> =>
  value === undefined ? Either.left(missing(usecase, field)) : Either.right(value)

const statusOf = (response: unknown): Status.Status | undefined =>
  Predicate.hasProperty(response, "status") && response.status instanceof Status.Status ? response.status : undefined

/** The payload a `StatusError` carries: the decoded fields without the (bigint) id, so it prints as JSON. */
const withoutId = (response: object): object => Payload.without(response, "id")

/**
 * Decodes a response payload and checks its status: a field of the wrong type is `MalformedResponse`,
 * an error status is `StatusError` carrying the decoded payload (after checking the fields that status
 * must carry). An absent status is success (§1.4).
 */
const decodeChecked = <U extends Usecase.Any>(
  usecase: U,
  received: Received,
  fieldsOnError?: ErrorFields
): Either.Either<Usecase.Response<U>, ClientError.CallError> =>
  Either.flatMap(
    Either.mapLeft(Usecase.decodeResponse(usecase, received.payload), (error) =>
      malformed(usecase.name, Usecase.describeError(error))
    ),
    (response): Either.Either<Usecase.Response<U>, ClientError.CallError> => {
      const status = statusOf(response)
      if (status === undefined || status.isSuccess) return Either.right(response)
      if (
        fieldsOnError !== undefined &&
        fieldsOnError.codes.includes(status.code) &&
        !Predicate.hasProperty(response, fieldsOnError.field)
      ) {
        return Either.left(missing(usecase.name, fieldsOnError.field))
      }
      return Either.left(new ClientError.StatusError({ usecase: usecase.name, status, payload: withoutId(response) }))
    }
  )

/** Unix seconds of a Clock instant, for `Expiry.fromTimeLeft`. */
const seconds = (millis: number): number => Math.floor(millis / 1000)

type LicenseFields = Usecase.Response<typeof Usecase.AuthByLicense>
type AccountFields = Usecase.Response<typeof Usecase.AuthByCredentials>

const toLicenseInfo = (
  usecase: string,
  fields: Omit<LicenseFields, "id">,
  receivedAt: number
): Either.Either<Model.LicenseInfo, ClientError.MalformedResponse> =>
  Either.map(
    need(usecase, "license", fields.license),
    (license) =>
      new Model.LicenseInfo({
        license,
        levels: fields.levels ?? [],
        comment: fields.comment ?? null,
        ipAddress: fields.ip_address ?? null,
        expiry: Expiry.fromTimeLeft(fields.time_left, seconds(receivedAt))
      })
  )

const toAccountInfo = (
  usecase: string,
  fields: Omit<AccountFields, "id">,
  receivedAt: number
): Either.Either<Model.AccountInfo, ClientError.MalformedResponse> =>
  Either.map(
    need(usecase, "login", fields.login),
    (login) =>
      new Model.AccountInfo({
        login,
        levels: fields.levels ?? [],
        comment: fields.comment ?? null,
        ipAddress: fields.ip_address ?? null,
        expiry: Expiry.fromTimeLeft(fields.time_left, seconds(receivedAt)),
        licenseRequired: fields.license_required ?? false
      })
  )

const toApplication = (received: Received): Either.Either<Model.Application, ClientError.CallError> =>
  Either.gen(function* () {
    const response = yield* decodeChecked(Usecase.Initialize, received)
    return new Model.Application({
      name: yield* need(Usecase.Initialize.name, "app_name", response.app_name),
      version: yield* need(Usecase.Initialize.name, "app_version", response.app_version)
    })
  })

const toFileMetadata = (received: Received): Either.Either<Model.FileMetadata, ClientError.CallError> =>
  Either.gen(function* () {
    const name = Usecase.GetFileMetadata.name
    const response = yield* decodeChecked(Usecase.GetFileMetadata, received)
    return new Model.FileMetadata({
      checksum: yield* need(name, "checksum", response.checksum),
      size: yield* need(name, "size", response.size),
      transferCount: yield* need(name, "transfer_count", response.transfer_count),
      lastTransferredAt: response.last_transferred_at ?? null
    })
  })

const ttlSeconds = (
  ttl: Duration.DurationInput | undefined
): Either.Either<number | null, ClientError.InvalidArgument> => {
  if (ttl === undefined) return Either.right(null)
  const duration = Duration.decodeUnknown(ttl)
  if (Option.isNone(duration) || !Duration.isFinite(duration.value)) {
    return Either.left(new ClientError.InvalidArgument({ argument: "ttl", detail: "must be a finite duration" }))
  }
  return Either.right(Math.ceil(Duration.toMillis(duration.value) / 1000))
}

const isLicenseFields = (payload: unknown): payload is Omit<LicenseFields, "id"> =>
  Predicate.hasProperty(payload, "license") && Redacted.isRedacted(payload.license)

const isAccountFields = (payload: unknown): payload is Omit<AccountFields, "id"> =>
  Predicate.hasProperty(payload, "login") && typeof payload.login === "string"

/**
 * The `retry_after` of a `create_account` answered with status 5 (`too_many_requests`).
 *
 * @since 0.1.0
 * @category errors
 */
export const retryAfter = (error: ClientError.CallError): Option.Option<Duration.Duration> =>
  error._tag === "StatusError" &&
  error.status.code === Status.codes.too_many_requests &&
  Predicate.hasProperty(error.payload, "retry_after") &&
  typeof error.payload.retry_after === "number"
    ? Option.some(Duration.seconds(error.payload.retry_after))
    : Option.none()

/**
 * The license fields carried by a `StatusError` of `auth_by_license` or `get_current_license`
 * (101–103, spec §3.2 #16). A relative `time_left` is read against the current time; the reference
 * server always sends the absolute form.
 *
 * @since 0.1.0
 * @category errors
 */
export const licenseInfoOf = (error: ClientError.CallError): Effect.Effect<Option.Option<Model.LicenseInfo>> =>
  Effect.map(Clock.currentTimeMillis, (now) =>
    error._tag === "StatusError" && isLicenseFields(error.payload)
      ? Either.getRight(toLicenseInfo(error.usecase, error.payload, now))
      : Option.none()
  )

/**
 * The account fields carried by a `StatusError` of `get_current_account` (203, spec §3.2 #17). A
 * relative `time_left` is read against the current time.
 *
 * @since 0.1.0
 * @category errors
 */
export const accountInfoOf = (error: ClientError.CallError): Effect.Effect<Option.Option<Model.AccountInfo>> =>
  Effect.map(Clock.currentTimeMillis, (now) =>
    error._tag === "StatusError" && isAccountFields(error.payload)
      ? Either.getRight(toAccountInfo(error.usecase, error.payload, now))
      : Option.none()
  )

// ---------------------------------------------------------------------------------------------------
// Connections
// ---------------------------------------------------------------------------------------------------

type Encode = (id: Uint64.Uint64) => Either.Either<string, ParseResult.ParseError>

/**
 * Whoever waits for messages under one id. Plain calls take one response; a download takes stream
 * headers (type 8, also for a type-10 request) and the binary frames they bind.
 */
interface Handler {
  /** The request's type; a message of another type fails the handler (except 8 for a type-10 request). */
  readonly type: number
  readonly usecase: string
  /**
   * A message under the handler's id, handled synchronously (no Effect per response); returns whether
   * the handler is done (leaves the table), or an Effect deciding it when something must be sent first.
   */
  readonly onMessage: (envelope: Envelope.Envelope, receivedAt: number) => DownloadImpl.Done
  /**
   * Receives the binary frame bound by a type-8 header this handler accepted (none: discarded). It
   * returns an Effect only to make the receive loop wait (a full download buffer).
   */
  readonly onBinary: ((bytes: Uint8Array) => Effect.Effect<void> | undefined) | undefined
  /** The handler leaves the table with this error. */
  readonly fail: (error: ClientError.CallError) => Effect.Effect<void>
  /**
   * When the handler fails with `Timeout`: the request timeout of a call, or a stream's idle timeout
   * (moved on by every header, and not running while the receive loop waits for a download's consumer).
   * None for pings.
   */
  readonly expiry: Expiry | undefined
  /** A stream: its expiry is an idle timeout. */
  readonly streaming: boolean
}

interface Expiry {
  deadline: number
  readonly millis: number
}

interface RequestOptions {
  readonly deadline: number
  readonly millis: number
  readonly appliedOnClose: boolean
}

/** An initialized connection. */
interface Session {
  readonly application: Model.Application
  kind: AuthorizationKind | undefined
  readonly request: (
    usecase: Usecase.Any,
    encode: Encode,
    options: RequestOptions
  ) => Effect.Effect<Received, ClientError.CallError>
  readonly ping: Effect.Effect<Duration.Duration, ClientError.CallError>
  /** Streams (downloads) on this connection. */
  readonly channel: DownloadImpl.Connection
}

/**
 * The result of one call, completed once by the receive loop (or a failure) and awaited by the caller.
 * Lighter than a `Deferred`, whose construction dominated the cost of a call.
 */
interface Outcome<A, E> {
  /** Only the first completion counts. */
  readonly complete: (exit: Exit.Exit<A, E>) => void
  /** Waits for the completion; `onInterrupt` runs if the caller is interrupted first. */
  readonly await: (onInterrupt: () => Effect.Effect<void>) => Effect.Effect<A, E>
}

const outcome = <A, E>(): Outcome<A, E> => {
  let done: Exit.Exit<A, E> | undefined
  let waiting: ((exit: Exit.Exit<A, E>) => void) | undefined
  return {
    complete: (exit) => {
      if (done !== undefined) return
      done = exit
      waiting?.(exit)
    },
    await: (onInterrupt) =>
      Effect.async<A, E>((resume) => {
        if (done !== undefined) return resume(done)
        waiting = resume
        return onInterrupt()
      })
  }
}

/** A type-8 header announced a binary frame of `length` bytes. */
interface Binding {
  readonly length: number
  readonly sink: Handler["onBinary"]
}

const faultDetail = (error: Envelope.EnvelopeError): string =>
  // The parser's message may quote what it read; the other details are fixed texts.
  error.fault === "not_json" ? "invalid JSON" : error.detail

const isAppliedClose = (error: ClientError.CallError): boolean =>
  error._tag === "ConnectionClosed" &&
  error.initiator === "remote" &&
  (error.code === CloseCode.codes.blacklisted || error.code === CloseCode.codes.normal)

const timeoutAt = (deadline: number, usecase: string, millis: number) =>
  Effect.zipRight(
    Deadline.sleepUntil(deadline),
    Effect.failSync(() => new ClientError.Timeout({ usecase, millis }))
  )

const isRetryable = (error: ClientError.BlazeauthError, established: boolean): boolean => {
  switch (error._tag) {
    case "ConnectionClosed":
      return error.isRetryable
    case "PingTimeout":
    case "ConnectError":
      return true
    case "Timeout":
      // Only an attempt can time out (initialize or authorize): the peer is as dead as after a ping timeout.
      return !established
    default:
      return false
  }
}

const closedByUser = new ClientError.ConnectionClosed({ code: 1000, reason: "", initiator: "local" })

/**
 * Starts a client in the current scope: connects, sends `initialize` at once, then authorizes with
 * `options.auth` if given, and fails with the first error of these steps (reconnection only starts
 * after a first session was established). Closing the scope closes the connection with 1000.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<Client, ClientError.BlazeauthError, Scope.Scope | Transport.Connector> =>
  Effect.gen(function* () {
    const cfg = yield* config(options)
    const connector = yield* Transport.Connector
    // Read synchronously on the hot paths (every call, every frame); a TestClock is honoured all the same.
    const clock = yield* Effect.clock
    const state = yield* SubscriptionRef.make<State>(State.Connecting({ attempt: 1 }))
    const events = yield* PubSub.unbounded<PanelEvent.PanelEvent>()
    const latestRtt = yield* Ref.make(Option.none<Duration.Duration>())
    const firstReady = yield* Deferred.make<void, ClientError.BlazeauthError>()
    /** The current session, or the next one; calls wait on it while the client reconnects. */
    let slot = yield* Deferred.make<Session, ClientError.CallError>()
    let current: Session | undefined
    let application = new Model.Application({ name: "", version: "" })
    /** Why the client ended; set once. */
    let clientEnd: ClientError.CallError | undefined

    const stateOf = (session: Session): State =>
      session.kind === undefined
        ? State.Initialized({ application: session.application })
        : State.Authorized({ application: session.application, kind: session.kind })

    const setKind = (session: Session, kind: AuthorizationKind | undefined) =>
      Effect.suspend(() => {
        session.kind = kind
        return current === session ? SubscriptionRef.set(state, stateOf(session)) : Effect.void
      })

    const establish = (session: Session) =>
      Effect.gen(function* () {
        current = session
        application = session.application
        if (yield* Deferred.isDone(slot)) slot = yield* Deferred.make<Session, ClientError.CallError>()
        yield* Deferred.succeed(slot, session)
        yield* SubscriptionRef.set(state, stateOf(session))
        yield* Deferred.succeed(firstReady, undefined)
      })

    /** The session ended: calls from now on wait for the next one. */
    const retire = (session: Session) =>
      Effect.suspend(() => {
        if (current !== session) return Effect.void
        current = undefined
        return Effect.flatMap(Deferred.isDone(slot), (done) =>
          done
            ? Effect.map(Deferred.make<Session, ClientError.CallError>(), (next) => {
                slot = next
              })
            : Effect.void
        )
      })

    const send = (session: Session, usecase: Usecase.Any, encode: Encode, deadline: number, appliedOnClose = false) =>
      session.request(usecase, encode, { deadline, millis: cfg.requestTimeoutMillis, appliedOnClose })

    const authByLicenseOn = (session: Session, license: Redacted.Redacted<string>, deadline: number) =>
      send(
        session,
        Usecase.AuthByLicense,
        (id) => Usecase.encodeRequest(Usecase.AuthByLicense, { id, license }),
        deadline
      ).pipe(
        Effect.flatMap((received) =>
          Either.flatMap(decodeChecked(Usecase.AuthByLicense, received), (fields) =>
            toLicenseInfo(Usecase.AuthByLicense.name, fields, received.receivedAt)
          )
        ),
        Effect.tap(() => setKind(session, "license"))
      )

    const authByCredentialsOn = (session: Session, credentials: Credentials, deadline: number) =>
      send(
        session,
        Usecase.AuthByCredentials,
        (id) =>
          Usecase.encodeRequest(Usecase.AuthByCredentials, {
            id,
            login: credentials.login,
            password: credentials.password,
            ...(credentials.license === undefined ? {} : { license: credentials.license }),
            credentials_type: credentials.credentialsType ?? 0
          }),
        deadline
      ).pipe(
        Effect.flatMap((received) =>
          Either.flatMap(decodeChecked(Usecase.AuthByCredentials, received), (fields) =>
            toAccountInfo(Usecase.AuthByCredentials.name, fields, received.receivedAt)
          )
        ),
        Effect.tap(() => setKind(session, "account"))
      )

    const publishEvent = (event: PanelEvent.PanelEvent) => Effect.asVoid(PubSub.publish(events, event))

    /**
     * One connection, from connect to its end: initializes, authorizes, hands the session to
     * `onEstablished`, then fails with why the connection ended (or with why it never got that far).
     */
    const connection = (
      onEstablished: (session: Session) => Effect.Effect<void>
    ): Effect.Effect<never, ClientError.BlazeauthError, Scope.Scope> =>
      Effect.gen(function* () {
        const transport = yield* connector.connect(cfg.url)
        const scope = yield* Effect.scope
        const ended = yield* Deferred.make<ClientError.CallError>()
        const pending = new Map<bigint, Handler>()
        let endError: ClientError.CallError | undefined
        let nextId = 1n
        let binding: Binding | undefined
        /** Whether the receive loop waits for a download's consumer (backpressure), and when it last did. */
        let stalled = false
        let stallEndedAt = Number.NEGATIVE_INFINITY

        /** Records why the connection ended and fails every pending call with it; false if already ended. */
        const settle = (error: ClientError.CallError): Effect.Effect<boolean> =>
          Effect.suspend(() => {
            if (endError !== undefined) return Effect.succeed(false)
            endError = error
            const handlers = Array.from(pending.values())
            pending.clear()
            return Effect.forEach(handlers, (handler) => handler.fail(error), { discard: true }).pipe(
              Effect.zipRight(Deferred.succeed(ended, error)),
              Effect.as(true)
            )
          })

        /**
         * Ends the connection for a local cause: recorded before the close starts, so that the close
         * is classified by it (§1.5); a close the server already started stays the server's.
         */
        const endWith = (error: ClientError.CallError, close: Effect.Effect<unknown>) =>
          Effect.uninterruptible(
            Effect.flatMap(transport.isOpen, (open) =>
              open
                ? Effect.flatMap(settle(error), (first) => (first ? Effect.asVoid(close) : Effect.void))
                : Effect.void
            )
          )

        const violate = (detail: string) =>
          Effect.zipRight(
            Effect.logWarning(`protocol violation: ${detail}`),
            endWith(
              new ClientError.ProtocolViolation({ detail }),
              transport.close(1002, `protocol violation: ${detail}`)
            )
          )

        /** Takes the next id, encodes and sends: one at a time, so ids go out in order. No id is used if encoding fails. */
        // Request timeouts: one fiber sleeps until the earliest deadline of the table (no timer per call).
        let sweepAt = Number.POSITIVE_INFINITY
        let wakeSweeper = yield* Deferred.make<void>()

        const sweep: Effect.Effect<never> = Effect.gen(function* () {
          while (true) {
            const now = yield* Clock.currentTimeMillis
            let next = Number.POSITIVE_INFINITY
            const expired: Array<Handler> = []
            for (const [id, handler] of pending) {
              const expiry = handler.expiry
              // While the receive loop waits for a download's consumer, nothing is read: that wait is ours.
              if (expiry === undefined || stalled) continue
              if (expiry.deadline <= now) {
                pending.delete(id)
                expired.push(handler)
              } else if (expiry.deadline < next) next = expiry.deadline
            }
            for (const handler of expired) {
              const millis = handler.expiry?.millis ?? 0
              yield* handler.fail(
                new ClientError.Timeout(
                  handler.streaming
                    ? { usecase: handler.usecase, millis, idle: true }
                    : { usecase: handler.usecase, millis }
                )
              )
            }
            sweepAt = next
            wakeSweeper = yield* Deferred.make<void>()
            if (next === Number.POSITIVE_INFINITY) yield* Deferred.await(wakeSweeper)
            else yield* Effect.raceFirst(Deadline.sleepUntil(next), Deferred.await(wakeSweeper))
          }
        })

        // The id is taken and the frame written in one synchronous step, so ids leave in order (1, 2, 3, …)
        // even when `send` then waits for the socket to drain.
        const register = (usecase: Usecase.Any, encode: Encode, handler: Handler) =>
          Effect.suspend((): Effect.Effect<bigint, ClientError.CallError> => {
            if (endError !== undefined) return Effect.fail(endError)
            const id = Uint64.make(nextId)
            const text = encode(id)
            if (Either.isLeft(text)) {
              return Effect.fail(
                new ClientError.InvalidArgument({
                  argument: usecase.name,
                  detail: Usecase.describeError(text.left)
                })
              )
            }
            nextId++
            pending.set(id, handler)
            if (handler.expiry !== undefined && handler.expiry.deadline < sweepAt) {
              sweepAt = handler.expiry.deadline
              Deferred.unsafeDone(wakeSweeper, Exit.void)
            }
            // Written at once when the socket has room; otherwise `send` waits. A failed send means the
            // connection is closing: `settle` fails the call.
            if (transport.trySend(text.right)) return Effect.succeed(id)
            return Effect.as(Effect.ignore(transport.send(text.right)), id)
          })

        const forget = (id: bigint | undefined, handler: Handler) =>
          Effect.sync(() => {
            if (id !== undefined && pending.get(id) === handler) pending.delete(id)
          })

        const callHandler = (
          usecase: Usecase.Any,
          result: Outcome<Received, ClientError.CallError>,
          appliedOnClose: boolean,
          expiry?: Handler["expiry"]
        ): Handler => ({
          type: usecase.type,
          expiry,
          streaming: false,
          usecase: usecase.name,
          onMessage: (envelope, receivedAt) => {
            result.complete(Exit.succeed({ payload: envelope.payload, receivedAt, resolvedByClose: false }))
            return true
          },
          onBinary: undefined,
          fail: (error) =>
            Effect.sync(() =>
              result.complete(
                appliedOnClose && isAppliedClose(error)
                  ? Exit.succeed({ payload: {}, receivedAt: clock.unsafeCurrentTimeMillis(), resolvedByClose: true })
                  : Exit.fail(error)
              )
            )
        })

        // The hot path of every call: no generator, no Deferred, no timer (the sweeper times it out).
        const request = (usecase: Usecase.Any, encode: Encode, options: RequestOptions) =>
          Effect.suspend(() => {
            const result = outcome<Received, ClientError.CallError>()
            const handler = callHandler(usecase, result, options.appliedOnClose, {
              deadline: options.deadline,
              millis: options.millis
            })
            return Effect.flatMap(register(usecase, encode, handler), (id) => result.await(() => forget(id, handler)))
          })

        const pingTimedOut = endWith(
          new ClientError.PingTimeout({ millis: cfg.pingTimeoutMillis }),
          transport.terminate(1000, "ping timeout")
        )

        /**
         * Times a ping out at `deadline`, unless the receive loop waited for a download's consumer
         * meanwhile: the answer may then sit unread behind the stream's data, so the watch starts over.
         */
        const pingWatch = (id: bigint, handler: Handler, deadline: number): Effect.Effect<void> =>
          Effect.zipRight(
            Deadline.sleepUntil(deadline),
            Effect.suspend(() => {
              if (pending.get(id) !== handler) return Effect.void
              const now = clock.unsafeCurrentTimeMillis()
              if (stalled || stallEndedAt > deadline - cfg.pingTimeoutMillis) {
                return pingWatch(id, handler, Math.max(now, stallEndedAt) + cfg.pingTimeoutMillis)
              }
              return pingTimedOut
            })
          )

        const ping: Effect.Effect<Duration.Duration, ClientError.CallError> = Effect.gen(function* () {
          const result = outcome<Received, ClientError.CallError>()
          const handler = callHandler(Usecase.Ping, result, false)
          let id: bigint | undefined
          return yield* Effect.gen(function* () {
            const sentAt = yield* Clock.currentTimeMillis
            // RTT on the monotonic clock (§2.4): a wall-clock step must not show up as latency.
            const sentNanos = yield* Clock.currentTimeNanos
            id = yield* register(Usecase.Ping, (id) => Usecase.encodeRequest(Usecase.Ping, { id }), handler)
            const registered = id
            yield* Effect.forkIn(pingWatch(registered, handler, sentAt + cfg.pingTimeoutMillis), scope)
            yield* result.await(() => Effect.void)
            const elapsed = (yield* Clock.currentTimeNanos) - sentNanos
            const rtt = Duration.nanos(elapsed > 0n ? elapsed : 0n)
            yield* Ref.set(latestRtt, Option.some(rtt))
            return rtt
          }).pipe(Effect.ensuring(Effect.suspend(() => forget(id, handler))))
        })

        const keepalive = (instant: number): Effect.Effect<void> =>
          Effect.zipRight(
            Deadline.sleepUntil(instant),
            Effect.suspend(() =>
              endError !== undefined
                ? Effect.void
                : Effect.zipRight(
                    Effect.forkIn(Effect.ignore(ping), scope),
                    keepalive(instant + cfg.pingIntervalMillis)
                  )
            )
          )

        /** Handles a message; an Effect only when there is something to wait for (the hot paths return none). */
        const onEnvelope = (envelope: Envelope.Envelope, receivedAt: number): Effect.Effect<void> | undefined => {
          if (!Envelope.isKnownType(envelope.type)) {
            return Effect.logDebug("ignoring a message whose type is outside 0..18")
          }
          let chunk = 0
          if (envelope.type === Usecase.TransferFile.type) {
            const raw = envelope.payload["chunk_size"]
            if (raw === undefined) return violate("type-8 message without 'chunk_size'")
            const size = Field.int32FromJson(raw)
            if (Option.isNone(size)) return violate("'chunk_size' is not an integer")
            if (size.value < 0) return violate("'chunk_size' is negative")
            if (size.value > cfg.maxChunkSize) {
              return violate(`'chunk_size' is above the client limit of ${cfg.maxChunkSize} bytes`)
            }
            chunk = size.value
          }
          // Any type-8 message with a chunk binds the next binary frame, whatever else is wrong with it (§4.5).
          const bind = (sink: Binding["sink"]) => {
            if (chunk > 0) binding = { length: chunk, sink }
          }
          const id = Envelope.id(envelope)
          if (Option.isNone(id)) {
            bind(undefined)
            return Effect.logDebug(`dropping a type-${envelope.type} message without a valid id`)
          }
          if (id.value === Envelope.PUSH_ID) {
            bind(undefined)
            if (envelope.type !== Usecase.PanelEventSubscribe.type) {
              return Effect.logDebug(`dropping a type-${envelope.type} message with the push id`)
            }
            return Either.match(PanelEvent.decode(envelope.payload), {
              onLeft: (error) => Effect.logDebug(`dropping a panel event: ${Usecase.describeError(error)}`),
              onRight: (event) =>
                Effect.zipRight(
                  event.isKnown ? Effect.void : Effect.logDebug(`panel event of unknown type ${event.eventType}`),
                  publishEvent(event)
                )
            })
          }
          const handler = pending.get(id.value)
          if (handler === undefined) {
            bind(undefined)
            return Effect.logDebug(`dropping a type-${envelope.type} message for no pending request`)
          }
          if (handler.type !== envelope.type && !(envelope.type === 8 && handler.type === 10)) {
            bind(undefined)
            pending.delete(id.value)
            return handler.fail(
              malformed(handler.usecase, `a response of type ${envelope.type} answered a type-${handler.type} request`)
            )
          }
          bind(handler.onBinary)
          const step = handler.onMessage(envelope, receivedAt)
          if (step === true) {
            if (pending.get(id.value) === handler) pending.delete(id.value)
            return undefined
          }
          if (step === false) return undefined
          return Effect.map(step, (done) => {
            if (done && pending.get(id.value) === handler) pending.delete(id.value)
          })
        }

        /**
         * The receive loop waits for a download's consumer. The wait is the client's own: request
         * deadlines move on by its length, and stream idle timeouts start over after it.
         */
        const stall = (wait: Effect.Effect<void>) =>
          Effect.suspend(() => {
            stalled = true
            const since = clock.unsafeCurrentTimeMillis()
            return Effect.ensuring(
              wait,
              Effect.sync(() => {
                stalled = false
                const now = clock.unsafeCurrentTimeMillis()
                stallEndedAt = now
                for (const handler of pending.values()) {
                  const expiry = handler.expiry
                  if (expiry === undefined) continue
                  expiry.deadline = handler.streaming
                    ? Math.max(expiry.deadline, now + expiry.millis)
                    : expiry.deadline + (now - since)
                }
              })
            )
          })

        const onFrame = (frame: Transport.Frame): Effect.Effect<void> | undefined => {
          if (endError !== undefined) return undefined
          if (typeof frame !== "string") {
            const expected = binding
            if (expected === undefined) return violate("binary frame without a pending header")
            if (frame.byteLength !== expected.length) {
              return violate(`binary frame of ${frame.byteLength} bytes, expected ${expected.length}`)
            }
            binding = undefined
            const wait = expected.sink === undefined ? undefined : expected.sink(frame)
            return wait === undefined ? undefined : stall(wait)
          }
          if (binding !== undefined) {
            return violate(`text frame while a binary frame of ${binding.length} bytes is pending`)
          }
          const decoded = Envelope.decode(frame)
          if (Either.isLeft(decoded)) return violate(faultDetail(decoded.left))
          return onEnvelope(decoded.right, clock.unsafeCurrentTimeMillis())
        }

        const fromClose = (closed: Transport.CloseError) =>
          new ClientError.ConnectionClosed({ code: closed.code, reason: closed.reason, initiator: closed.initiator })

        // The user closed the client, or an attempt failed: a local close, unless the connection already ended.
        yield* Effect.addFinalizer(() =>
          Effect.gen(function* () {
            if (endError === undefined) {
              if (yield* transport.isOpen) yield* endWith(closedByUser, transport.close(1000, ""))
              else yield* settle(fromClose(yield* transport.closed))
            }
            yield* transport.close(1000, "")
          })
        )

        yield* Effect.forkIn(sweep, scope)

        // Frames are handled synchronously as they arrive: an Effect (and a wait) only where one is needed.
        yield* transport.receive(onFrame).pipe(
          Effect.catchAll(Effect.succeed),
          Effect.flatMap((closed) => settle(fromClose(closed))),
          Effect.forkIn(scope)
        )

        const streamHandler = (usecase: Usecase.Any, receiver: DownloadImpl.StreamHandler): Handler => {
          const expiry: Expiry = {
            deadline: clock.unsafeCurrentTimeMillis() + cfg.transferIdleTimeoutMillis,
            millis: cfg.transferIdleTimeoutMillis
          }
          return {
            type: usecase.type,
            usecase: usecase.name,
            expiry,
            streaming: true,
            onMessage: (envelope, receivedAt) => {
              expiry.deadline = receivedAt + expiry.millis
              return receiver.onHeader(envelope.payload)
            },
            onBinary: receiver.onBinary,
            fail: receiver.fail
          }
        }

        const stopRequest = (transferId: string, issueToken: boolean, deadline: number) =>
          Effect.flatMap(
            request(
              Usecase.StopFileTransfer,
              (id) =>
                Usecase.encodeRequest(
                  Usecase.StopFileTransfer,
                  issueToken ? { id, transfer_id: transferId, issue_token: true } : { id, transfer_id: transferId }
                ),
              { deadline, millis: cfg.requestTimeoutMillis, appliedOnClose: false }
            ),
            (received) =>
              Either.map(decodeChecked(Usecase.StopFileTransfer, received), (response) =>
                Option.fromNullable(response.resume_token)
              )
          )

        const channel: DownloadImpl.Connection = {
          open: (stream, receiver) =>
            stream._tag === "TransferFile"
              ? Effect.asVoid(
                  register(
                    Usecase.TransferFile,
                    (id) =>
                      Usecase.encodeRequest(
                        Usecase.TransferFile,
                        stream.offset === 0
                          ? { id, filename: stream.filename }
                          : { id, filename: stream.filename, offset: stream.offset }
                      ),
                    streamHandler(Usecase.TransferFile, receiver)
                  )
                )
              : Effect.asVoid(
                  register(
                    Usecase.ResumeFileTransfer,
                    (id) =>
                      Usecase.encodeRequest(Usecase.ResumeFileTransfer, {
                        id,
                        transfer_id: stream.transferId,
                        resume_token: stream.resumeToken
                      }),
                    streamHandler(Usecase.ResumeFileTransfer, receiver)
                  )
                ),
          stop: (transferId, issueToken) =>
            Effect.suspend(() =>
              stopRequest(transferId, issueToken, clock.unsafeCurrentTimeMillis() + cfg.requestTimeoutMillis)
            ),
          stopQuietly: (transferId) =>
            Effect.asVoid(
              Effect.forkIn(
                Effect.ignore(
                  Effect.suspend(() =>
                    stopRequest(transferId, false, clock.unsafeCurrentTimeMillis() + cfg.requestTimeoutMillis)
                  )
                ),
                scope
              )
            )
        }

        const initStart = yield* Clock.currentTimeMillis
        const initReceived = yield* request(
          Usecase.Initialize,
          (id) =>
            Usecase.encodeRequest(Usecase.Initialize, { id, socket_api_key: cfg.apiKey, client_id: cfg.clientId }),
          {
            deadline: initStart + cfg.initializeTimeoutMillis,
            millis: cfg.initializeTimeoutMillis,
            appliedOnClose: false
          }
        )
        const session: Session = {
          application: yield* toApplication(initReceived),
          kind: undefined,
          request: request,
          ping,
          channel
        }
        if (cfg.pingIntervalMillis > 0) {
          yield* Effect.forkIn(keepalive(initReceived.receivedAt + cfg.pingIntervalMillis), scope)
        }
        if (cfg.auth !== undefined) {
          const deadline = (yield* Clock.currentTimeMillis) + cfg.requestTimeoutMillis
          const auth = cfg.auth
          yield* auth._tag === "License"
            ? authByLicenseOn(session, auth.license, deadline)
            : authByCredentialsOn(session, auth, deadline)
        }
        yield* onEstablished(session)
        const error = yield* Deferred.await(ended)
        yield* retire(session)
        // Wait for the close to complete (a close frame already sent, or a dropped socket) before reconnecting.
        yield* transport.closed
        return yield* Effect.fail(error)
      })

    /** Ends the client: the final state, then every waiter learns why. */
    const finish = (final: State, error: ClientError.BlazeauthError | undefined) =>
      Effect.gen(function* () {
        if (clientEnd !== undefined) return
        const end =
          error === undefined ? closedByUser : error._tag === "ConnectError" ? lostBeforeSession(error) : error
        clientEnd = end
        current = undefined
        yield* SubscriptionRef.set(state, final)
        yield* Deferred.fail(slot, end)
        yield* Deferred.fail(firstReady, error ?? end)
        yield* PubSub.shutdown(events)
      })

    /** The pause before reconnecting after `failures` failed connections in a row. */
    const backoff = (failures: number, error: ClientError.BlazeauthError) =>
      Effect.map(Random.next, (random) => {
        const base = Math.min(cfg.backoffMaxMillis, cfg.backoffInitialMillis * 2 ** Math.min(failures - 1, 30))
        const jittered = Math.round(base * (1 + defaults.backoff.jitter * (2 * random - 1)))
        const minimum =
          error._tag === "ConnectionClosed" && error.initiator === "remote"
            ? CloseCode.minimumRetryDelayMillis(error.code)
            : 0
        return Duration.millis(Math.max(minimum, jittered))
      })

    const loop = Effect.gen(function* () {
      let failures = 0
      let failedAttempts = 0
      let everEstablished = false
      while (true) {
        yield* SubscriptionRef.set(state, State.Connecting({ attempt: Math.max(1, failures) }))
        let established = false
        const error = yield* Effect.flip(
          Effect.scoped(
            connection((session) => {
              established = true
              everEstablished = true
              return establish(session)
            })
          )
        )
        failedAttempts = established ? 0 : failedAttempts + 1
        if (
          !everEstablished ||
          !cfg.reconnect ||
          !isRetryable(error, established) ||
          failedAttempts >= cfg.maxReconnectAttempts
        ) {
          return yield* finish(State.Failed({ error }), error)
        }
        // A connection that established a session resets the backoff.
        failures = established ? 1 : failures + 1
        const delay = yield* backoff(failures, error)
        const retryAt = (yield* Clock.currentTimeMillis) + Duration.toMillis(delay)
        yield* Effect.logInfo(`reconnecting in ${Duration.format(delay)}: ${error.message}`)
        yield* SubscriptionRef.set(state, State.Disconnected({ attempt: failures, delay, error }))
        yield* Deadline.sleepUntil(retryAt)
      }
    }).pipe(Effect.annotateLogs({ module: "BlazeauthClient", url: cfg.url }))

    const running = yield* Effect.forkScoped(loop)

    const close = Effect.zipRight(Fiber.interrupt(running), finish(State.Closed(), undefined))
    yield* Effect.addFinalizer(() => close)

    yield* Deferred.await(firstReady)

    /** The current session, or the next one within the deadline; fails once the client ended. */
    const awaitSession = (usecase: string, deadline: number) =>
      Effect.suspend((): Effect.Effect<Session, ClientError.CallError> => {
        if (clientEnd !== undefined) return Effect.fail(clientEnd)
        if (current !== undefined) return Effect.succeed(current)
        return Effect.raceFirst(Deferred.await(slot), timeoutAt(deadline, usecase, cfg.requestTimeoutMillis))
      })

    /** Runs a call on the current (or next) session; the request timeout starts now. */
    const perform = <A>(
      usecase: Usecase.Any,
      use: (session: Session, deadline: number) => Effect.Effect<A, ClientError.CallError>
    ): Effect.Effect<A, ClientError.CallError> =>
      Effect.suspend(() => {
        const deadline = clock.unsafeCurrentTimeMillis() + cfg.requestTimeoutMillis
        if (clientEnd === undefined && current !== undefined) return use(current, deadline)
        return Effect.flatMap(awaitSession(usecase.name, deadline), (session) => use(session, deadline))
      })

    const subscribePanelEvents = Effect.gen(function* () {
      if (yield* PubSub.isShutdown(events)) return Stream.empty
      const queue = yield* PubSub.subscribe(events)
      return Stream.fromQueue(queue)
    })

    /** The session after `dead` ended: retired at once (its calls wait for the next), then awaited. */
    const nextChannel = (dead: DownloadImpl.Connection) =>
      Effect.zipRight(
        Effect.suspend(() => (current !== undefined && current.channel === dead ? retire(current) : Effect.void)),
        Effect.suspend((): Effect.Effect<DownloadImpl.Connection, ClientError.CallError> => {
          if (clientEnd !== undefined) return Effect.fail(clientEnd)
          if (current !== undefined) return Effect.succeed(current.channel)
          return Effect.map(Deferred.await(slot), (session) => session.channel)
        })
      )

    const host: DownloadImpl.Connections = {
      bufferBytes: cfg.downloadBufferBytes,
      reconnects: cfg.reconnect,
      current: perform(Usecase.TransferFile, (session) => Effect.succeed(session.channel)),
      next: nextChannel
    }

    const startDownload = (filename: string, downloadOptions?: Download.Options | undefined) =>
      DownloadImpl.start(host, filename, downloadOptions)

    const resume = (stopped: Download.Stopped) => DownloadImpl.resume(host, stopped)

    const downloadToFile = (filename: string, path: string) =>
      Stream.unwrapScoped(
        Effect.gen(function* () {
          const fs = yield* FileSystem.FileSystem
          const fileError = (error: { readonly message: string }) =>
            new ClientError.DownloadFileError({ path, detail: error.message })
          const temporary = Path.join(
            Path.dirname(path),
            `.${Path.basename(path)}.${Crypto.randomBytes(6).toString("hex")}.part`
          )
          let placed = false
          yield* Effect.addFinalizer(() => (placed ? Effect.void : Effect.ignore(fs.remove(temporary))))
          const fileScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
          const file = yield* fs
            .open(temporary, { flag: "wx" })
            .pipe(Scope.extend(fileScope), Effect.mapError(fileError))
          const download = yield* startDownload(filename)
          let written = 0
          const place = Effect.gen(function* () {
            yield* file.sync
            yield* Scope.close(fileScope, Exit.void)
            yield* fs.rename(temporary, path)
            placed = true
          }).pipe(Effect.mapError(fileError))
          return download.bytes.pipe(
            Stream.mapChunksEffect((chunk) =>
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
            ),
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

    return BlazeauthClient.of({
      application: Effect.sync(() => application),
      startDownload,
      resume,
      download: (filename, downloadOptions) =>
        Stream.unwrapScoped(Effect.map(startDownload(filename, downloadOptions), (download) => download.bytes)),
      downloadToFile,
      ping: () => perform(Usecase.Ping, (session) => session.ping),
      latestRtt: Ref.get(latestRtt),
      createAccount: (request) =>
        perform(Usecase.CreateAccount, (session, deadline) =>
          send(
            session,
            Usecase.CreateAccount,
            (id) =>
              Usecase.encodeRequest(Usecase.CreateAccount, {
                id,
                login: request.login,
                password: request.password,
                ...(request.comment === undefined ? {} : { comment: request.comment }),
                ...(request.license === undefined ? {} : { license: request.license }),
                credentials_type: request.credentialsType
              }),
            deadline
          ).pipe(
            Effect.flatMap((received) => decodeChecked(Usecase.CreateAccount, received, retryAfterOnError)),
            Effect.asVoid
          )
        ),
      authByLicense: (license) =>
        perform(Usecase.AuthByLicense, (session, deadline) => authByLicenseOn(session, license, deadline)),
      authByCredentials: (credentials) =>
        perform(Usecase.AuthByCredentials, (session, deadline) => authByCredentialsOn(session, credentials, deadline)),
      linkLicense: (license) =>
        perform(Usecase.LinkLicenseToAccount, (session, deadline) =>
          send(
            session,
            Usecase.LinkLicenseToAccount,
            (id) => Usecase.encodeRequest(Usecase.LinkLicenseToAccount, { id, license }),
            deadline
          ).pipe(
            Effect.flatMap((received) => decodeChecked(Usecase.LinkLicenseToAccount, received)),
            Effect.asVoid
          )
        ),
      logout: () =>
        perform(Usecase.Logout, (session, deadline) =>
          send(session, Usecase.Logout, (id) => Usecase.encodeRequest(Usecase.Logout, { id }), deadline).pipe(
            Effect.flatMap((received) => decodeChecked(Usecase.Logout, received)),
            Effect.zipRight(setKind(session, undefined))
          )
        ),
      blacklist: (comment) =>
        perform(Usecase.Blacklist, (session, deadline) =>
          send(
            session,
            Usecase.Blacklist,
            (id) => Usecase.encodeRequest(Usecase.Blacklist, comment === undefined ? { id } : { id, comment }),
            deadline,
            true
          ).pipe(
            Effect.flatMap((received) =>
              received.resolvedByClose
                ? Either.void
                : Either.map(decodeChecked(Usecase.Blacklist, received), () => undefined)
            )
          )
        ),
      getFileMetadata: (filename) =>
        perform(Usecase.GetFileMetadata, (session, deadline) =>
          send(
            session,
            Usecase.GetFileMetadata,
            (id) => Usecase.encodeRequest(Usecase.GetFileMetadata, { id, filename }),
            deadline
          ).pipe(Effect.flatMap(toFileMetadata))
        ),
      getOnlineUsersCount: () =>
        perform(Usecase.GetOnlineUsersCount, (session, deadline) =>
          send(
            session,
            Usecase.GetOnlineUsersCount,
            (id) => Usecase.encodeRequest(Usecase.GetOnlineUsersCount, { id }),
            deadline
          ).pipe(
            Effect.flatMap((received) =>
              Either.flatMap(decodeChecked(Usecase.GetOnlineUsersCount, received), (response) =>
                need(Usecase.GetOnlineUsersCount.name, "online_users_count", response.online_users_count)
              )
            )
          )
        ),
      getVariable: (name) =>
        perform(Usecase.GetVariable, (session, deadline) =>
          send(
            session,
            Usecase.GetVariable,
            (id) => Usecase.encodeRequest(Usecase.GetVariable, { id, name }),
            deadline
          ).pipe(
            Effect.flatMap((received) =>
              Either.flatMap(decodeChecked(Usecase.GetVariable, received), (response) =>
                need(Usecase.GetVariable.name, "content", response.content)
              )
            )
          )
        ),
      setSessionValue: (key, value, valueOptions) =>
        Effect.flatMap(ttlSeconds(valueOptions?.ttl), (ttl) =>
          perform(Usecase.SetSessionValue, (session, deadline) =>
            send(
              session,
              Usecase.SetSessionValue,
              (id) => Usecase.encodeRequest(Usecase.SetSessionValue, { id, key, value, ttl }),
              deadline
            ).pipe(
              Effect.flatMap((received) => decodeChecked(Usecase.SetSessionValue, received)),
              Effect.asVoid
            )
          )
        ),
      getSessionValue: (key) =>
        perform(Usecase.GetSessionValue, (session, deadline) =>
          send(
            session,
            Usecase.GetSessionValue,
            (id) => Usecase.encodeRequest(Usecase.GetSessionValue, { id, key }),
            deadline
          ).pipe(
            Effect.flatMap((received) =>
              Either.flatMap(decodeChecked(Usecase.GetSessionValue, received), (response) =>
                need(Usecase.GetSessionValue.name, "value", response.value)
              )
            )
          )
        ),
      getCurrentLicense: () =>
        perform(Usecase.GetCurrentLicense, (session, deadline) =>
          send(
            session,
            Usecase.GetCurrentLicense,
            (id) => Usecase.encodeRequest(Usecase.GetCurrentLicense, { id }),
            deadline
          ).pipe(
            Effect.flatMap((received) =>
              Either.flatMap(decodeChecked(Usecase.GetCurrentLicense, received, licenseOnError), (fields) =>
                toLicenseInfo(Usecase.GetCurrentLicense.name, fields, received.receivedAt)
              )
            )
          )
        ),
      getCurrentAccount: () =>
        perform(Usecase.GetCurrentAccount, (session, deadline) =>
          send(
            session,
            Usecase.GetCurrentAccount,
            (id) => Usecase.encodeRequest(Usecase.GetCurrentAccount, { id }),
            deadline
          ).pipe(
            Effect.flatMap((received) =>
              Either.flatMap(decodeChecked(Usecase.GetCurrentAccount, received, accountOnError), (fields) =>
                toAccountInfo(Usecase.GetCurrentAccount.name, fields, received.receivedAt)
              )
            )
          )
        ),
      panelEventSubscribe: () =>
        cfg.sendPanelEventSubscribe
          ? perform(Usecase.PanelEventSubscribe, (session, deadline) =>
              send(
                session,
                Usecase.PanelEventSubscribe,
                (id) => Usecase.encodeRequest(Usecase.PanelEventSubscribe, { id }),
                deadline
              ).pipe(
                Effect.flatMap((received) => decodeChecked(Usecase.PanelEventSubscribe, received)),
                Effect.asVoid
              )
            )
          : Effect.suspend(() => (clientEnd === undefined ? Effect.void : Effect.fail(clientEnd))),
      panelEvents: Stream.unwrapScoped(subscribePanelEvents),
      subscribePanelEvents,
      state: SubscriptionRef.get(state),
      states: state.changes,
      close
    })
  })

/**
 * Stands for a `ConnectError` where a call error is needed (a reconnection that failed for good): a
 * lost connection whose reason says why; only `make` ever sees the original.
 */
const lostBeforeSession = (error: Transport.ConnectError) =>
  new ClientError.ConnectionClosed({ code: 1006, reason: `reconnection failed: ${error.detail}`, initiator: "remote" })

/**
 * The client as a layer: built when the first session is ready, closed with the layer's scope.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<BlazeauthClient, ClientError.BlazeauthError, Transport.Connector> =>
  Layer.scoped(BlazeauthClient, make(options))

/**
 * The client over `ws`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWs = (options: Options): Layer.Layer<BlazeauthClient, ClientError.BlazeauthError> =>
  layer(options).pipe(Layer.provide(Transport.layerWsConnector))
