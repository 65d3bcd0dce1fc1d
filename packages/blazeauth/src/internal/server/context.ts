/**
 * What every connection of one reference server shares: the resolved options (§8 limits, durations in
 * milliseconds), the directory of applications (§3), the live connections and the resume tokens (§4.8).
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fixtures from "../../Fixtures.js"
import type { defaults, Options } from "../../Server.js"
import * as Directory from "../directory.js"
import type { Connection } from "./connection.js"
import * as FileReader from "./fileReader.js"
import type * as ResumeTokens from "./resumeTokens.js"

/** @internal The server options with every default applied and every duration in milliseconds. */
export interface Config {
  readonly initDeadline: number
  readonly maxMessageBytes: number
  readonly rateLimit: number
  readonly rateWindow: number
  readonly maxInitializeFailures: number
  readonly accountCreationLimit: number
  readonly accountCreationWindow: number
  readonly sessionStoreEntries: number
  readonly sessionStoreBytes: number
  readonly defaultTtl: number
  readonly chunkSize: number
  readonly resumeTokenLifetime: number
  readonly readAheadBytes: number
  readonly chunkDelay: number
  readonly pauseAfterChunks: number
  readonly separateTerminalHeader: boolean
  readonly stopOrder: "response-first" | "header-first"
}

/** @internal The state of one running server. */
export interface ServerContext {
  readonly config: Config
  readonly fs: FileSystem.FileSystem
  readonly applications: ReadonlyMap<string, Directory.ApplicationState>
  /** Applications by `socket_api_key`. */
  readonly byKey: ReadonlyMap<string, Directory.ApplicationState>
  readonly connections: Set<Connection>
  readonly tokens: ResumeTokens.Store
  nextConnectionId: number
  nextFileVersion: number
}

/** @internal The connections of an application (initialized ones, since only those have one). */
export const connectionsOf = (context: ServerContext, app: Directory.ApplicationState): Array<Connection> =>
  [...context.connections].filter((connection) => connection.app === app)

const millis = (input: Duration.DurationInput | undefined, fallback: Duration.Duration): number =>
  Duration.toMillis(input === undefined ? fallback : Duration.decode(input))

/** @internal The options with the defaults applied. */
export const resolve = (options: Options, fallback: typeof defaults): Config => ({
  initDeadline: millis(options.initDeadline, fallback.initDeadline),
  maxMessageBytes: options.maxMessageBytes ?? fallback.maxMessageBytes,
  rateLimit: options.rateLimit ?? fallback.rateLimit,
  rateWindow: millis(options.rateWindow, fallback.rateWindow),
  maxInitializeFailures: options.maxInitializeFailures ?? fallback.maxInitializeFailures,
  accountCreationLimit: options.accountCreationLimit ?? fallback.accountCreationLimit,
  accountCreationWindow: millis(options.accountCreationWindow, fallback.accountCreationWindow),
  sessionStoreEntries: options.sessionStoreEntries ?? fallback.sessionStoreEntries,
  sessionStoreBytes: options.sessionStoreBytes ?? fallback.sessionStoreBytes,
  defaultTtl: millis(options.defaultTtl, fallback.defaultTtl),
  chunkSize: options.chunkSize ?? fallback.chunkSize,
  resumeTokenLifetime: millis(options.resumeTokenLifetime, fallback.resumeTokenLifetime),
  readAheadBytes: options.readAheadBytes ?? fallback.readAheadBytes,
  chunkDelay: millis(options.chunkDelay, Duration.zero),
  pauseAfterChunks: options.pauseAfterChunks ?? 0,
  separateTerminalHeader: options.separateTerminalHeader ?? false,
  stopOrder: options.stopOrder ?? "response-first"
})

/** @internal The server's state at startup: every fixture file read once for its size and checksum. */
export const make = (
  config: Config,
  fixtures: Fixtures.Fixtures
): Effect.Effect<ServerContext, Fixtures.FixturesError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const versions = new Map<string, Map<string, Directory.FileVersion>>()
    for (const [application, files] of fixtures.files) {
      const prepared = new Map<string, Directory.FileVersion>()
      for (const [name, source] of files) prepared.set(name, yield* FileReader.fileVersion(name, source, 1))
      versions.set(application, prepared)
    }
    const startedAt = Math.floor((yield* Clock.currentTimeMillis) / 1000)
    const applications = Directory.make(fixtures.document, versions, startedAt)
    const byKey = new Map<string, Directory.ApplicationState>()
    for (const app of applications.values()) for (const key of app.keys) byKey.set(key, app)
    return {
      config,
      fs: yield* FileSystem.FileSystem,
      applications,
      byKey,
      connections: new Set(),
      tokens: new Map(),
      nextConnectionId: 1,
      nextFileVersion: 2
    }
  })
