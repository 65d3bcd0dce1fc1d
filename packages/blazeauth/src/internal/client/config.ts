/**
 * The client's options checked once, with every default filled in: the rest of the client reads a
 * `Config` (durations in milliseconds) and never an option that may be missing or out of range.
 */
import * as Reconnect from "@protokernel/wire/Reconnect"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import type * as Client from "../../Client.js"
import * as ClientError from "../../ClientError.js"
import * as Field from "../../Field.js"

/** docs/blazeauth.md's client defaults (§8) and the reconnection backoff (§2.3). */
export const defaults = {
  pingInterval: Duration.seconds(20),
  pingTimeout: Duration.seconds(20),
  requestTimeout: Duration.seconds(30),
  initializeTimeout: Duration.seconds(30),
  transferIdleTimeout: Duration.seconds(30),
  maxChunkSize: 16 * 1024 * 1024,
  maxTextMessageBytes: 1024 * 1024,
  maxEmptyHeaders: 16,
  downloadBufferBytes: 2 * 1024 * 1024,
  reconnect: { initialDelay: Duration.seconds(1), maxDelay: Duration.seconds(30), jitter: 0.2 }
} as const

/** The checked options; durations in milliseconds. */
export interface Config {
  readonly url: string
  readonly apiKey: Redacted.Redacted<string>
  readonly clientId: string
  readonly auth: Client.Authorization | undefined
  readonly reconnect: Reconnect.Policy
  /** 0: no keepalive pings. */
  readonly pingIntervalMillis: number
  readonly pingTimeoutMillis: number
  readonly requestTimeoutMillis: number
  readonly initializeTimeoutMillis: number
  readonly transferIdleTimeoutMillis: number
  readonly sendPanelEventSubscribe: boolean
  readonly maxChunkSize: number
  readonly maxTextMessageBytes: number
  readonly maxEmptyHeaders: number
  readonly downloadBufferBytes: number
}

const integerOption = (
  option: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number = Number.MAX_SAFE_INTEGER
): Either.Either<number, ClientError.InvalidOptions> => {
  const resolved = value ?? fallback
  return Number.isSafeInteger(resolved) && resolved >= min && resolved <= max
    ? Either.right(resolved)
    : Either.left(new ClientError.InvalidOptions({ option, detail: `must be an integer in ${min}..${max}` }))
}

/** A finite duration in whole milliseconds (rounded up), at least `min` of them. */
const durationOption = (
  option: string,
  value: Duration.DurationInput | undefined,
  fallback: Duration.Duration,
  min: number
): Either.Either<number, ClientError.InvalidOptions> => {
  const duration = value === undefined ? fallback : Option.getOrUndefined(Duration.decodeUnknown(value))
  const millis = duration === undefined || !Duration.isFinite(duration) ? Number.NaN : Duration.toMillis(duration)
  return millis >= min
    ? Either.right(Math.ceil(millis))
    : Either.left(
        new ClientError.InvalidOptions({
          option,
          detail: min === 0 ? "must be a finite duration" : "must be a positive finite duration"
        })
      )
}

/** Checks the options; the `clientId` check is docs/blazeauth.md's local pre-check (§3.2 #1). */
export const fromOptions = (options: Client.Options): Either.Either<Config, ClientError.InvalidOptions> =>
  Either.gen(function* () {
    const length = Field.length(options.clientId)
    if (length < 4 || length > 64) {
      return yield* Either.left(
        new ClientError.InvalidOptions({ option: "clientId", detail: `must have 4 to 64 characters, has ${length}` })
      )
    }
    return {
      url: options.url,
      apiKey: options.apiKey,
      clientId: options.clientId,
      auth: options.auth,
      reconnect: yield* Reconnect.policy(options.reconnect, defaults.reconnect),
      pingIntervalMillis: yield* durationOption("pingInterval", options.pingInterval, defaults.pingInterval, 0),
      pingTimeoutMillis: yield* durationOption("pingTimeout", options.pingTimeout, defaults.pingTimeout, 1),
      requestTimeoutMillis: yield* durationOption("requestTimeout", options.requestTimeout, defaults.requestTimeout, 1),
      initializeTimeoutMillis: yield* durationOption(
        "initializeTimeout",
        options.initializeTimeout,
        defaults.initializeTimeout,
        1
      ),
      transferIdleTimeoutMillis: yield* durationOption(
        "transferIdleTimeout",
        options.transferIdleTimeout,
        defaults.transferIdleTimeout,
        1
      ),
      sendPanelEventSubscribe: options.sendPanelEventSubscribe === true,
      maxChunkSize: yield* integerOption("maxChunkSize", options.maxChunkSize, defaults.maxChunkSize, 1, 2147483647),
      maxTextMessageBytes: yield* integerOption(
        "maxTextMessageBytes",
        options.maxTextMessageBytes,
        defaults.maxTextMessageBytes,
        1
      ),
      maxEmptyHeaders: yield* integerOption("maxEmptyHeaders", options.maxEmptyHeaders, defaults.maxEmptyHeaders, 0),
      downloadBufferBytes: yield* integerOption(
        "downloadBufferBytes",
        options.downloadBufferBytes,
        defaults.downloadBufferBytes,
        1
      )
    }
  })
