/**
 * The programs behind `protokernel blazeauth serve` and `protokernel blazeauth download`, as plain
 * Effects over checked options; `Cli` parses the command line into these options.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Client from "@protokernel/blazeauth/Client"
import type * as ClientError from "@protokernel/blazeauth/ClientError"
import * as Server from "@protokernel/blazeauth/Server"
import * as WsTransport from "@protokernel/wire/WsTransport"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as CliError from "./CliError.js"
import * as Input from "./Input.js"
import * as Progress from "./Progress.js"

/**
 * Options of `blazeauth serve`. Left out: the values of docs/blazeauth.md (init deadline 15 s, chunks of 64 KiB).
 *
 * @since 0.1.0
 * @category models
 */
export interface ServeOptions {
  readonly host: string
  /** 0 picks a free port. */
  readonly port: number
  /** The accept backlog (capped by the OS at `net.core.somaxconn`); none: the transport's default. */
  readonly backlog: Option.Option<number>
  /** The fixtures JSON file; file paths inside it are relative to it. */
  readonly fixtures: string
  readonly initDeadline: Option.Option<Duration.Duration>
  readonly chunkSize: Option.Option<number>
  /** For tests: a pause after every download chunk. */
  readonly chunkDelay: Option.Option<Duration.Duration>
}

/**
 * The stdout line `serve` prints once it accepts connections, e.g. `listening ws://127.0.0.1:41234`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const listeningLine = (url: string): string => `listening ${url}`

/**
 * Serves Blazeauth until interrupted: loads the fixtures, prints `listening ws://HOST:PORT` on stdout
 * when ready, then waits; interruption (SIGINT/SIGTERM) closes open sessions with 1000 and stops
 * listening. Bad fixtures or options fail with exit code 2, a port in use with 1.
 *
 * @since 0.1.0
 * @category programs
 */
export const serve = (options: ServeOptions): Effect.Effect<never, CliError.CliError> =>
  Effect.gen(function* () {
    const fixtures = yield* Server.loadFixtures(options.fixtures).pipe(
      Effect.mapError((error) => CliError.usage(error.message))
    )
    const server = Server.layerWs({
      host: options.host,
      port: options.port,
      backlog: Option.getOrUndefined(options.backlog),
      fixtures,
      initDeadline: Option.getOrUndefined(options.initDeadline),
      chunkSize: Option.getOrUndefined(options.chunkSize),
      chunkDelay: Option.getOrUndefined(options.chunkDelay)
    }).pipe(
      Layer.mapError((error) =>
        error._tag === "ListenError" ? CliError.failure(error.message) : CliError.usage(error.message)
      )
    )
    return yield* Effect.gen(function* () {
      const blazeauth = yield* Server.BlazeauthServer
      yield* Console.log(listeningLine(blazeauth.url))
      return yield* Effect.never
    }).pipe(Effect.provide(server))
  })

/**
 * Options of `blazeauth download`, as given on the command line: exactly one of `license` or
 * `login` + `password` must be set (`authorization` checks it).
 *
 * @since 0.1.0
 * @category models
 */
export interface DownloadOptions {
  /** The server, e.g. `wss://eu1.blazeauth.net`. */
  readonly url: string
  readonly apiKey: Redacted.Redacted<string>
  readonly clientId: string
  readonly license: Option.Option<Redacted.Redacted<string>>
  readonly login: Option.Option<string>
  readonly password: Option.Option<Redacted.Redacted<string>>
  /** `login` is an e-mail address (`credentials_type` 1). */
  readonly email: boolean
  /** The protected file's name on the server. */
  readonly file: string
  /** Where to write it. */
  readonly out: string
  readonly progress: Progress.Mode
  /** Failed reconnections in a row before giving up; 0 turns reconnecting off. */
  readonly reconnectAttempts: number
  /** The largest file accepted (`Download.Options.maxFileBytes`); none: no limit. */
  readonly maxBytes: Option.Option<number>
}

/**
 * Failed reconnections in a row `download` allows by default: with the client's backoff (1 s, doubling)
 * a server that stays down ends the download after about 30 s.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultReconnectAttempts = 5

/**
 * How `download` authorizes, from the options: a license, or a login and a password (an e-mail login
 * with `--email`). Anything else is a usage error.
 *
 * @since 0.1.0
 * @category constructors
 */
export const authorization = (
  options: Pick<DownloadOptions, "license" | "login" | "password" | "email">
): Either.Either<Client.Authorization, CliError.CliError> => {
  const { email, license, login, password } = options
  if (Option.isSome(license)) {
    return Option.isSome(login) || Option.isSome(password) || email
      ? Either.left(CliError.usage("give either --license or --login and --password, not both"))
      : Either.right(Client.Authorization.license(license.value))
  }
  if (Option.isSome(login) && Option.isSome(password)) {
    return Either.right(
      Client.Authorization.credentials({
        login: login.value,
        password: password.value,
        credentialsType: email ? 1 : 0
      })
    )
  }
  if (Option.isSome(login)) return Either.left(CliError.usage("--login needs --password"))
  if (Option.isSome(password)) return Either.left(CliError.usage("--password needs --login"))
  return Either.left(CliError.usage("give --license, or --login and --password"))
}

/**
 * The stdout line of a saved download, e.g. `saved out/client.bin (4194304 bytes, sha256 6bc1…)`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const savedLine = (path: string, size: number, sha256: string): string =>
  `saved ${path} (${size} bytes, sha256 ${sha256})`

/**
 * The stderr line shown when the connection dropped and the client is about to reconnect.
 *
 * @since 0.1.0
 * @category formatting
 */
export const reconnectingLine = (
  state: {
    readonly attempt: number
    readonly delay: Duration.Duration
    readonly error: ClientError.BlazeauthError
  },
  maxAttempts: number
): string =>
  `${state.error.message}; reconnecting in ${Progress.formatElapsed(Duration.toMillis(state.delay))} (attempt ${state.attempt} of ${maxAttempts})`

/**
 * A client error as a `CliError`: `download failed: <reason>`, exit 1; a `client_id` the client refuses
 * before connecting is a usage error. Client error messages never contain a secret.
 *
 * @since 0.1.0
 * @category errors
 */
export const fromDownloadError = (
  error: ClientError.BlazeauthError | ClientError.TransferError | ClientError.DownloadFileError
): CliError.CliError =>
  error._tag === "InvalidOptions" && error.option === "clientId"
    ? CliError.usage(`invalid --client-id: ${error.detail}`)
    : CliError.failure(`download failed: ${error.message}`)

/**
 * The size and lowercase hex SHA-256 of a file, read as a stream.
 *
 * @since 0.1.0
 * @category utils
 */
export const hashFile = (
  path: string
): Effect.Effect<{ readonly size: number; readonly sha256: string }, CliError.CliError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const hash = Crypto.createHash("sha256")
    const size = yield* fs.stream(path).pipe(
      Stream.runFold(0, (total, chunk) => {
        hash.update(chunk)
        return total + chunk.length
      }),
      Effect.mapError((error) => CliError.failure(`cannot read ${path} back: ${error.message}`))
    )
    return { size, sha256: hash.digest("hex") }
  })

/**
 * Downloads a protected file to `out`: connects, initializes, authorizes, and streams the file into a
 * temporary file next to `out`, which the client renames to `out` once every checksum matched.
 * Progress goes to stderr (see `Progress`); a dropped connection is resumed up to
 * `reconnectAttempts` failed reconnections in a row. Prints `saved PATH (N bytes, sha256 HEX)` on
 * stdout. Any failure is one `download failed: <reason>` line (exit 1) and leaves `out` untouched;
 * options that do not fit together are a usage error (exit 2).
 *
 * @since 0.1.0
 * @category programs
 */
export const download = (options: DownloadOptions): Effect.Effect<void, CliError.CliError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const url = yield* Input.serverUrl(options.url)
    const auth = yield* authorization(options)
    const output = yield* Progress.stderr
    const client = yield* Client.make({
      url,
      apiKey: options.apiKey,
      clientId: options.clientId,
      auth,
      reconnect: options.reconnectAttempts > 0 && { maxAttempts: options.reconnectAttempts }
    }).pipe(Effect.mapError(fromDownloadError))
    const reporter = yield* Progress.makeReporter(output, options.progress, options.file)

    yield* client.states.pipe(
      Stream.filter(Client.State.$is("Waiting")),
      Stream.runForEach((state) => reporter.notice(reconnectingLine(state, options.reconnectAttempts))),
      Effect.forkScoped
    )
    const limits = { maxFileBytes: Option.getOrUndefined(options.maxBytes) }
    const last = yield* client.downloadToFile(options.file, options.out, limits).pipe(
      Stream.tap(reporter.update),
      Stream.runLast,
      Effect.mapError(fromDownloadError),
      Effect.onError(() => reporter.abort)
    )
    yield* reporter.finish
    // The last progress comes once the file is in place, with the checksum the client verified.
    const saved = yield* Option.flatMap(last, (progress) =>
      Option.map(progress.fileChecksum, (sha256) => ({ size: progress.position, sha256 }))
    ).pipe(Effect.mapError(() => CliError.failure("download failed: the client reported no verified checksum")))
    yield* Console.log(savedLine(options.out, saved.size, saved.sha256))
    yield* client.close
  }).pipe(
    Effect.scoped,
    Effect.provide(WsTransport.layerConnector),
    // The client's reconnection logs are shown as progress notices instead.
    Logger.withMinimumLogLevel(LogLevel.Warning)
  )
