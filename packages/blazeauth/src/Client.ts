/**
 * The Blazeauth client SDK: one connection (session) at a time, initialized and optionally authorized
 * at once, every usecase as a typed method, downloads as verified and resumable streams (see
 * `Download`), panel events as a stream, keepalive pings with round-trip times, and reconnection with
 * backoff (on by default). Receive rules follow docs/blazeauth.md §1.5. Secrets (API key, passwords, licenses) are
 * `Redacted` end to end; errors and logs name fields, never the values received.
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Reconnect from "@protokernel/wire/Reconnect"
import * as Transport from "@protokernel/wire/Transport"
import * as WsTransport from "@protokernel/wire/WsTransport"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type * as ClientError from "./ClientError.js"
import type * as Download from "./Download.js"
import * as Config from "./internal/client/config.js"
import * as Lifecycle from "./internal/client/lifecycle.js"
import * as Methods from "./internal/client/methods.js"
import * as Responses from "./internal/client/responses.js"
import type * as Model from "./Model.js"
import type * as PanelEvent from "./PanelEvent.js"

/**
 * `credentials_type`: 0 = login/password, 1 = e-mail/password (docs/blazeauth.md §7).
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
 * The fields of `createAccount` (docs/blazeauth.md §3.2 #2). `license`, when given, is linked to the new account,
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
 * How the client reconnects (§2.3), the wire's `Reconnect.Options`: `initialDelay` (1 s) doubling to
 * `maxDelay` (30 s), ±`jitter` (0.2), at least 60 s after a 4201 close; `maxAttempts` failed
 * connections in a row (default unlimited) end the client; `schedule` replaces the built-in delays.
 *
 * @since 0.1.0
 * @category models
 */
export type ReconnectOptions = Reconnect.Options

/**
 * Client options. Durations default to docs/blazeauth.md's client values (§8).
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
   * timeouts, failed connects), once a first session was established. Default on; `false` turns it off.
   */
  readonly reconnect?: boolean | ReconnectOptions | undefined
  /** Keepalive ping interval, from the moment `initialize` succeeds. Default 20 s; zero turns pings off. */
  readonly pingInterval?: Duration.DurationInput | undefined
  /** A ping unanswered this long means the connection is dead. Default 20 s. */
  readonly pingTimeout?: Duration.DurationInput | undefined
  /** How long a call waits, for a session and then for its response. Default 30 s. */
  readonly requestTimeout?: Duration.DurationInput | undefined
  /**
   * How long `initialize` waits for its response. Default 30 s: the 15 s init deadline is the
   * server's (close 4202); the client only fails with `Timeout` when nothing at all comes back.
   */
  readonly initializeTimeout?: Duration.DurationInput | undefined
  /**
   * A download that receives no bytes for this long fails with `Timeout` and is stopped (§4.5).
   * Default 30 s. Only data moves it on: headers without a chunk do not.
   */
  readonly transferIdleTimeout?: Duration.DurationInput | undefined
  /** Whether `panelEventSubscribe` sends its request. Default false: it resolves locally, using no id. */
  readonly sendPanelEventSubscribe?: boolean | undefined
  /** Largest `chunk_size` a type-8 header may announce; above it is a protocol violation. Default 16 MiB. */
  readonly maxChunkSize?: number | undefined
  /**
   * Largest text message accepted, in UTF-8 bytes; a larger one closes the connection with 1009 and
   * fails every pending call with `MessageTooBig`. Default 1 MiB: the largest reply the spec allows
   * (a 16000-character variable, escaped) stays far below it, and a hostile server cannot make the
   * client hold a reply of many megabytes. Binary download frames are bounded by `maxChunkSize`
   * instead, and no message larger than both limits is read at all.
   */
  readonly maxTextMessageBytes?: number | undefined
  /**
   * Intermediate type-8 headers with `chunk_size` 0 accepted in a row, with no binary frame between
   * them; one more is a protocol violation. Default 16: a correct server sends none (its zero-size
   * headers end their stream, §4.4), and such headers never move a download's idle timeout on, so
   * they cannot keep a download alive for ever.
   */
  readonly maxEmptyHeaders?: number | undefined
  /**
   * Bytes a download buffers for its consumer; while the buffer is full the client stops reading the
   * socket. At least one chunk is always accepted. Default 2 MiB.
   */
  readonly downloadBufferBytes?: number | undefined
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
 * - `Waiting`: the last connection ended with `error`; reconnection attempt number `attempt`
 *   starts after `delay` (attempts count from 1 after every established session).
 * - `Failed`: the client ended with `error` (terminal close, protocol violation, failed re-authorization…).
 * - `Closed`: the user closed the client (calls fail with `ClientClosed`).
 *
 * @since 0.1.0
 * @category models
 */
export type State = Data.TaggedEnum<{
  Connecting: { readonly attempt: number }
  Initialized: { readonly application: Model.Application }
  Authorized: { readonly application: Model.Application; readonly kind: AuthorizationKind }
  Waiting: {
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
  readonly ping: Effect.Effect<Duration.Duration, ClientError.CallError>
  /** The round-trip time of the latest answered ping (keepalive or `ping`), if any. */
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
  readonly logout: Effect.Effect<void, ClientError.CallError>
  /**
   * Blacklists this client (and its license or account). Succeeds when the response has a success
   * status, or when the server closes with 4203 or 1000 while the call is pending; fails when the
   * client itself starts the close.
   */
  readonly blacklist: (comment?: string | undefined) => Effect.Effect<void, ClientError.CallError>
  /** A protected file's checksum, size and transfer statistics. */
  readonly getFileMetadata: (filename: string) => Effect.Effect<Model.FileMetadata, ClientError.CallError>
  /** Open, initialized sessions of the application, this one included. */
  readonly getOnlineUsersCount: Effect.Effect<number, ClientError.CallError>
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
  readonly getCurrentLicense: Effect.Effect<Model.LicenseInfo, ClientError.CallError>
  /** The session's account as it is now. 203 fails with a `StatusError` whose payload has the account fields. */
  readonly getCurrentAccount: Effect.Effect<Model.AccountInfo, ClientError.CallError>
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
   * last element once `path` is in place: the only one with the verified `fileChecksum`. A `path`
   * that could never be written (missing or read-only directory, or a directory itself) fails with
   * `DownloadFileError` before anything is downloaded.
   */
  readonly downloadToFile: (
    filename: string,
    path: string,
    options?: Download.Options | undefined
  ) => Stream.Stream<
    Download.Progress,
    ClientError.TransferError | ClientError.DownloadFileError,
    FileSystem.FileSystem
  >
  /** Reserved no-op (events are always pushed): resolves locally unless `Options.sendPanelEventSubscribe`. */
  readonly panelEventSubscribe: Effect.Effect<void, ClientError.CallError>
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
  /** Closes the connection with 1000, fails pending and later calls with `ClientClosed` and stops reconnecting. */
  readonly close: Effect.Effect<void>
}

/**
 * The client as a service.
 *
 * @since 0.1.0
 * @category tags
 */
export class BlazeauthClient extends Context.Tag("@protokernel/blazeauth/BlazeauthClient")<BlazeauthClient, Client>() {}

/**
 * docs/blazeauth.md's client defaults (§8) and the reconnection backoff (§2.3).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults = Config.defaults

/**
 * The `retry_after` of a `create_account` answered with status 5 (`too_many_requests`).
 *
 * @since 0.1.0
 * @category errors
 */
export const retryAfter: (error: ClientError.CallError) => Option.Option<Duration.Duration> = Responses.retryAfter

/**
 * The license fields carried by a `StatusError` of `auth_by_license` or `get_current_license`
 * (101–103, docs/blazeauth.md §3.2 #16). A relative `time_left` is read against the current time; the reference
 * server always sends the absolute form.
 *
 * @since 0.1.0
 * @category errors
 */
export const licenseInfoOf: (error: ClientError.CallError) => Effect.Effect<Option.Option<Model.LicenseInfo>> =
  Responses.licenseInfoOf

/**
 * The account fields carried by a `StatusError` of `get_current_account` (203, docs/blazeauth.md §3.2 #17). A
 * relative `time_left` is read against the current time.
 *
 * @since 0.1.0
 * @category errors
 */
export const accountInfoOf: (error: ClientError.CallError) => Effect.Effect<Option.Option<Model.AccountInfo>> =
  Responses.accountInfoOf

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
    const config = yield* Config.fromOptions(options)
    const lifecycle = yield* Lifecycle.make(config)
    const running = yield* Lifecycle.start(lifecycle)
    yield* Deferred.await(lifecycle.firstReady)
    return BlazeauthClient.of(Methods.make(lifecycle, running.close))
  })

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
  layer(options).pipe(Layer.provide(WsTransport.layerConnector))
