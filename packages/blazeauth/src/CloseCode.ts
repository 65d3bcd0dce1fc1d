/**
 * Close codes (docs/blazeauth.md §2.3) as one table: each code's name, the reason the reference server sends with
 * it, whether a reconnecting client retries after it, and the least wait before it does.
 *
 * @since 0.1.0
 */
import type * as Reconnect from "@protokernel/wire/Reconnect"
import * as Duration from "effect/Duration"

/**
 * What the protocol says about one close code: the wire's policy (name, retry, minimumDelay) and the
 * reason text the reference server sends with it (may be empty).
 *
 * @since 0.1.0
 * @category models
 */
export interface ClosePolicy extends Reconnect.ClosePolicy {
  readonly reason: string
}

/**
 * Every close code of the protocol. Only 1000, 1006, 4000 and 4201 are retried (4201 after 60 s at
 * least); every other code is terminal.
 *
 * @since 0.1.0
 * @category constants
 */
export const table = {
  1000: { name: "NormalClosure", reason: "", retry: true },
  1002: { name: "ProtocolError", reason: "", retry: false },
  1006: { name: "ConnectionLost", reason: "", retry: true },
  1007: { name: "InvalidPayload", reason: "", retry: false },
  1009: { name: "MessageTooBig", reason: "message too big", retry: false },
  4000: { name: "InternalError", reason: "internal server error", retry: true },
  4100: { name: "DisconnectedFromPanel", reason: "disconnected from panel", retry: false },
  4101: { name: "ApplicationPaused", reason: "application paused", retry: false },
  4102: { name: "ApplicationDeleted", reason: "application deleted", retry: false },
  4200: { name: "NotInitialized", reason: "connection is not initialized", retry: false },
  4201: { name: "RateLimitHit", reason: "rate limit hit", retry: true, minimumDelay: "60 seconds" },
  4202: { name: "InitDeadline", reason: "session wasn't initialized in 15 seconds after connection", retry: false },
  4203: { name: "Blacklisted", reason: "session was blacklisted", retry: false },
  4204: { name: "ClientIdBlacklisted", reason: "external ID is blacklisted", retry: false },
  4205: { name: "InitializeFailed", reason: "failed to initialize session", retry: false },
  4300: {
    name: "MissingTypeOrId",
    reason: "packet does not contain mandatory 'type' and/or 'id' fields",
    retry: false
  },
  4301: { name: "InvalidType", reason: "invalid handler type specified", retry: false },
  4302: { name: "InvalidBody", reason: "invalid request body", retry: false },
  4304: { name: "UnsupportedData", reason: "received unsupported data", retry: false }
} as const satisfies { readonly [code: number]: ClosePolicy } & Reconnect.CloseTable

/**
 * A code from the table.
 *
 * @since 0.1.0
 * @category models
 */
export type Code = keyof typeof table

/**
 * Whether the table names `code`.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isKnown = (code: number): code is Code => Object.hasOwn(table, code)

/**
 * The name of a code, or `"Unknown"`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const nameOf = (code: number): string => (isKnown(code) ? table[code].name : "Unknown")

/**
 * Whether a reconnecting client retries after the server closed with this code (or the connection
 * was lost): only 1000, 1006, 4000 and 4201. Codes outside the table are terminal.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryable = (code: number): boolean => isKnown(code) && table[code].retry

/**
 * The least wait before reconnecting after this code: 60 s after 4201, else none.
 *
 * @since 0.1.0
 * @category accessors
 */
export const minimumDelayOf = (code: number): Duration.Duration => {
  const row: ClosePolicy | undefined = isKnown(code) ? table[code] : undefined
  return row?.minimumDelay === undefined ? Duration.zero : Duration.decode(row.minimumDelay)
}

/**
 * The reason the reference server sends with each code, read from the table.
 *
 * @since 0.1.0
 * @category constants
 */
export const reasons = Object.fromEntries(Object.entries(table).map(([code, row]) => [code, row.reason])) as {
  readonly [K in Code]: (typeof table)[K]["reason"]
}

/**
 * Named close codes.
 *
 * @since 0.1.0
 * @category constants
 */
export const codes = {
  normal: 1000,
  protocolError: 1002,
  invalidPayload: 1007,
  messageTooBig: 1009,
  lost: 1006,
  internalError: 4000,
  disconnectedFromPanel: 4100,
  applicationPaused: 4101,
  applicationDeleted: 4102,
  notInitialized: 4200,
  rateLimitHit: 4201,
  initDeadline: 4202,
  blacklisted: 4203,
  clientIdBlacklisted: 4204,
  initializeFailed: 4205,
  missingTypeOrId: 4300,
  invalidType: 4301,
  invalidBody: 4302,
  unsupportedData: 4304
} as const satisfies { readonly [name: string]: Code }

/**
 * The 4202 reason for a deadline in milliseconds: the number of seconds is rounded up.
 *
 * @since 0.1.0
 * @category constructors
 */
export const initDeadlineReason = (deadlineMillis: number): string =>
  `session wasn't initialized in ${Math.ceil(deadlineMillis / 1000)} seconds after connection`
