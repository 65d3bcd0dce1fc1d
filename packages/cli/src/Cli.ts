/**
 * The `protokernel` command tree (`blazeauth serve`, `blazeauth download`, `rwws serve`, `rwws connect`,
 * `demo`) and how it runs: failures become one stderr line and an exit code, logs go to stderr so stdout
 * carries only the contract's lines.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import type * as CliApp from "@effect/cli/CliApp"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import type * as Runtime from "@effect/platform/Runtime"
import * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Blazeauth from "./Blazeauth.js"
import * as CliError from "./CliError.js"
import * as Demo from "./Demo.js"
import * as Progress from "./Progress.js"
import * as Rwws from "./Rwws.js"

/**
 * The version `--version` prints.
 *
 * @since 0.1.0
 * @category constants
 */
export const version = "0.1.0"

/** The longest ping interval docs/rwws.md allows a client (§4.1). */
const maxPingIntervalMillis = 30_000

const integerWithin = (name: string, min: number, max: number, hint = "") =>
  Options.integer(name).pipe(
    Options.filterMap(
      (n) => (n >= min && n <= max ? Option.some(n) : Option.none()),
      `--${name} must be an integer from ${min} to ${max}${hint}`
    )
  )

const millis = (name: string, max = 2 ** 31 - 1, hint = "") =>
  integerWithin(name, 1, max, hint).pipe(Options.map(Duration.millis))

const hostOption = Options.text("host").pipe(
  Options.withDefault("127.0.0.1"),
  Options.withDescription("Interface to listen on.")
)

const portOption = integerWithin("port", 0, 65_535).pipe(
  Options.withDefault(0),
  Options.withDescription("Port to listen on; 0 picks a free one.")
)

const backlogOption = integerWithin("backlog", 1, 2 ** 31 - 1).pipe(
  Options.optional,
  Options.withDescription(
    "Connections the OS queues before they are accepted (capped by net.core.somaxconn). Default 4096."
  )
)

const serve = Command.make(
  "serve",
  {
    host: hostOption,
    port: portOption,
    backlog: backlogOption,
    // `Options.redacted` + `Options.repeated` rejects a single occurrence ("'<redacted>' is not a redacted").
    keys: Options.text("key").pipe(
      Options.repeated,
      Options.map(Arr.map((key) => Redacted.make(key))),
      Options.withDescription("An accepted access key (base64); repeat for more. None: one is issued (stderr).")
    ),
    authDeadline: millis("auth-deadline-ms").pipe(
      Options.optional,
      Options.withDescription("From the hello to authentication, else 3001. Default 30000.")
    ),
    pingTimeout: millis("ping-timeout-ms").pipe(
      Options.optional,
      Options.withDescription("The longest time without a ping before 3003. Default 32000 (30 s + 2 s grace).")
    )
  },
  Rwws.serve
).pipe(
  Command.withDescription(
    "Serve rwws at ws://HOST:PORT/api/ws. Prints 'listening <url>' on stdout when ready; stops on SIGINT/SIGTERM."
  )
)

const connect = Command.make(
  "connect",
  {
    url: Args.text({ name: "url" }).pipe(Args.withDescription("e.g. ws://127.0.0.1:8080/api/ws")),
    key: Options.redacted("key").pipe(Options.withDescription("The access key (base64).")),
    count: integerWithin("count", 1, 2 ** 31 - 1).pipe(
      Options.withDefault(3),
      Options.withDescription("Pongs to print before closing.")
    ),
    pingInterval: millis("interval-ms", maxPingIntervalMillis, " (the server needs a ping at least every 30 s)").pipe(
      Options.withDefault(Duration.seconds(1)),
      Options.withDescription("Milliseconds between pings.")
    )
  },
  Rwws.connect
).pipe(
  Command.withDescription(
    "Authenticate, ping, print 'pong <unix-millis>' per pong, close with 1000. A server close: 'closed <code> <reason>' on stderr, exit 1."
  )
)

const rwws = Command.make("rwws").pipe(
  Command.withDescription("The rwws binary WebSocket protocol: reference server and client."),
  Command.withSubcommands([serve, connect])
)

const blazeauthServe = Command.make(
  "serve",
  {
    host: hostOption,
    port: portOption,
    backlog: backlogOption,
    fixtures: Options.text("fixtures").pipe(
      Options.withDescription("The fixtures JSON file (applications, licenses, accounts, variables, files).")
    ),
    initDeadline: millis("init-deadline-ms").pipe(
      Options.optional,
      Options.withDescription("A session must initialize within this time, else 4202. Default 15000.")
    ),
    chunkSize: integerWithin("chunk-size", 1, 1024 * 1024).pipe(
      Options.optional,
      Options.withDescription("Bytes per download chunk (at most 1 MiB). Default 65536.")
    ),
    chunkDelay: millis("chunk-delay-ms").pipe(
      Options.optional,
      Options.withDescription("For tests: a pause after every download chunk, to slow downloads down. Default none.")
    )
  },
  Blazeauth.serve
).pipe(
  Command.withDescription(
    "Serve Blazeauth at ws://HOST:PORT. Prints 'listening <url>' on stdout when ready; stops on SIGINT/SIGTERM."
  )
)

const blazeauthDownload = Command.make(
  "download",
  {
    url: Args.text({ name: "url" }).pipe(Args.withDescription("e.g. wss://eu1.blazeauth.net")),
    apiKey: Options.redacted("api-key").pipe(Options.withDescription("The application's socket API key.")),
    clientId: Options.text("client-id").pipe(Options.withDescription("This installation's id (4–64 characters).")),
    license: Options.redacted("license").pipe(
      Options.optional,
      Options.withDescription("Authorize with this license (or use --login and --password).")
    ),
    login: Options.text("login").pipe(
      Options.optional,
      Options.withDescription("Authorize with this account login (with --password).")
    ),
    password: Options.redacted("password").pipe(
      Options.optional,
      Options.withDescription("The account's password (with --login).")
    ),
    email: Options.boolean("email").pipe(Options.withDescription("The --login is an e-mail address.")),
    file: Options.text("file").pipe(Options.withDescription("The protected file's name on the server.")),
    out: Options.text("out").pipe(
      Options.withDescription("Where to save it; written only once the whole file is verified.")
    ),
    progress: Options.choice("progress", Progress.modes).pipe(
      Options.withDefault("auto"),
      Options.withDescription("Progress on stderr: a bar, plain lines, or none. auto: a bar on a terminal, else lines.")
    ),
    reconnectAttempts: integerWithin("reconnect-attempts", 0, 100).pipe(
      Options.withDefault(Blazeauth.defaultReconnectAttempts),
      Options.withDescription("Failed reconnections in a row before giving up when the connection drops; 0: none.")
    ),
    maxBytes: integerWithin("max-bytes", 0, Number.MAX_SAFE_INTEGER).pipe(
      Options.optional,
      Options.withDescription("Refuse a file larger than N bytes, before anything is written. Default no limit.")
    )
  },
  Blazeauth.download
).pipe(
  Command.withDescription(
    "Download a protected file to --out, verified by its checksums, resuming across dropped connections. Prints 'saved PATH (N bytes, sha256 HEX)'; a failure: one stderr line, exit 1, PATH untouched."
  )
)

const blazeauth = Command.make("blazeauth").pipe(
  Command.withDescription("The Blazeauth JSON WebSocket protocol: reference server and a download client."),
  Command.withSubcommands([blazeauthServe, blazeauthDownload])
)

const demo = Command.make("demo", {}, () => Demo.run()).pipe(
  Command.withDescription(
    "Embedded servers and clients: Blazeauth (license, variable, session value, a verified download, a panel event), then rwws (pings, key revocation 3004)."
  )
)

/**
 * The whole command tree.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("protokernel").pipe(
  Command.withDescription("Reference servers and clients for the Blazeauth and rwws WebSocket protocols."),
  Command.withSubcommands([blazeauth, rwws, demo])
)

/**
 * Sends every log line to stderr, one line each, so stdout carries only the command's output.
 *
 * @since 0.1.0
 * @category layers
 */
export const loggerLayer = Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger))

/**
 * Runs the command line (`process.argv`, node and script included). Every failure is printed as one
 * stderr line (`@effect/cli` prints its own for a wrong command line) and becomes a `CliError`
 * carrying the exit code; interruption stays interruption.
 *
 * @since 0.1.0
 * @category running
 */
export const run = (argv: ReadonlyArray<string>): Effect.Effect<void, CliError.CliError, CliApp.CliApp.Environment> =>
  Command.run(command, { name: "protokernel", version })(argv).pipe(
    // `@effect/cli` has printed what is wrong with the command line already.
    Effect.mapError((error) =>
      ValidationError.isValidationError(error)
        ? new CliError.CliError({ message: "", exitCode: CliError.ExitCode.usage })
        : error
    ),
    Effect.catchAllDefect((defect) => Effect.fail(CliError.failure(CliError.describeDefect(defect)))),
    Effect.tapErrorCause((cause) =>
      Cause.failureOption(cause).pipe(
        Option.filter((error) => error.message !== ""),
        Option.match({ onNone: () => Effect.void, onSome: (error) => Console.error(error.message) })
      )
    ),
    Effect.provide(loggerLayer)
  )

/**
 * `NodeRuntime.runMain`'s teardown: the exit code from how `run` ended (see `CliError.exitCodeOf`).
 *
 * @since 0.1.0
 * @category running
 */
export const teardown: Runtime.Teardown = (exit, onExit) => onExit(CliError.exitCodeOf(exit))
