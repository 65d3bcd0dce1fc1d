/**
 * The Blazeauth reference server: options, errors, the service and its control interface, and the
 * layers. The protocol lives in `internal/server/`: each connection's life (`connection`), the receive
 * rules of §1.6 and the dispatch (`receive`), the usecases as docs/blazeauth.md groups them (`session`, `auth`,
 * `data`, `transfers`), download streams (`streams`, `fileReader`, `resumeTokens`), the session store
 * (`sessionStore`) and the control interface (`control`).
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Transport from "@protokernel/wire/Transport"
import * as WsTransport from "@protokernel/wire/WsTransport"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Fixtures from "./Fixtures.js"
import * as Connection from "./internal/server/connection.js"
import * as ServerContext from "./internal/server/context.js"
import * as Control from "./internal/server/control.js"

/**
 * Server options. Every limit of docs/blazeauth.md §8 is configurable; the defaults are those of that section.
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
  /** The accept backlog; default `WsTransport.defaultBacklog`. */
  readonly backlog?: number | undefined
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
 * The defaults of docs/blazeauth.md §8.
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
    const transportServer = yield* Transport.TransportServer
    const config = ServerContext.resolve(options, defaults)
    const maxBinary = options.maxBinaryFrameBytes ?? defaults.maxBinaryFrameBytes
    if (!Number.isSafeInteger(config.chunkSize) || config.chunkSize < 1 || config.chunkSize > maxBinary) {
      return yield* new ServerConfigError({ detail: `chunk size must be within 1..${maxBinary} bytes` })
    }
    const server = yield* ServerContext.make(config, options.fixtures)
    yield* Effect.forkScoped(Connection.serveAll(server, transportServer))
    return Control.make(server, transportServer.url, {
      unknownApplication: (application) => new UnknownApplication({ application }),
      invalidPanelEvent: (eventType) => new InvalidPanelEvent({ eventType })
    })
  })

/**
 * The server on any `TransportServer` (for example `MemoryTransport.layer()` under `TestClock`).
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
      WsTransport.layerServer({
        host: options.host,
        port: options.port,
        backlog: options.backlog,
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
