/**
 * Close codes (spec §2.3) as data: the reason the reference server sends with each, and which ones a
 * reconnecting client retries.
 *
 * @since 0.1.0
 */

/**
 * Every close code the server sends, with its reason text.
 *
 * @since 0.1.0
 * @category constants
 */
export const reasons = {
  1000: "",
  1002: "",
  1007: "",
  1009: "message too big",
  4000: "internal server error",
  4100: "disconnected from panel",
  4101: "application paused",
  4102: "application deleted",
  4200: "connection is not initialized",
  4201: "rate limit hit",
  4202: "session wasn't initialized in 15 seconds after connection",
  4203: "session was blacklisted",
  4204: "external ID is blacklisted",
  4205: "failed to initialize session",
  4300: "packet does not contain mandatory 'type' and/or 'id' fields",
  4301: "invalid handler type specified",
  4302: "invalid request body",
  4304: "received unsupported data"
} as const

/**
 * A close code the server sends.
 *
 * @since 0.1.0
 * @category models
 */
export type Code = keyof typeof reasons

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
} as const

/**
 * The 4202 reason for a deadline in milliseconds: the number of seconds is rounded up.
 *
 * @since 0.1.0
 * @category constructors
 */
export const initDeadlineReason = (deadlineMillis: number): string =>
  `session wasn't initialized in ${Math.ceil(deadlineMillis / 1000)} seconds after connection`

/**
 * Whether a reconnecting client retries after the server closed with this code (or the connection
 * was lost): only 1000, 1006, 4000 and 4201.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryable = (code: number): boolean => code === 1000 || code === 1006 || code === 4000 || code === 4201

/**
 * The least wait before reconnecting after this code: 60 s after 4201, else none.
 *
 * @since 0.1.0
 * @category predicates
 */
export const minimumRetryDelayMillis = (code: number): number => (code === 4201 ? 60_000 : 0)
