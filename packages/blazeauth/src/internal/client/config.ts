/**
 * The client's options checked once, with every default filled in: the rest of the client reads a
 * `Config` and never an option that may be missing or out of range.
 */
import * as Either from "effect/Either"
import type * as Redacted from "effect/Redacted"
import type * as Client from "../../Client.js"
import * as ClientError from "../../ClientError.js"
import * as Field from "../../Field.js"

/** The spec's client defaults (§8) and the reconnection backoff (§2.3). */
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

/** The checked options; durations in milliseconds. */
export interface Config {
  readonly url: string
  readonly apiKey: Redacted.Redacted<string>
  readonly clientId: string
  readonly auth: Client.Authorization | undefined
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
export const fromOptions = (options: Client.Options): Either.Either<Config, ClientError.InvalidArgument> =>
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
