/**
 * rwws close codes as data (wire's `Reconnect.CloseTable` shape): what each means, whether a client
 * may reconnect after it, and the reasons the server sends.
 *
 * @since 0.1.0
 */
import * as Reconnect from "@protokernel/wire/Reconnect"
import type * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"

/**
 * Every close code the protocol names (docs/rwws.md §5).
 *
 * @since 0.1.0
 * @category constants
 */
export const table = {
  1000: { name: "NormalClosure", retry: true },
  1001: { name: "GoingAway", retry: true },
  1002: { name: "ProtocolError", retry: false },
  1003: { name: "UnsupportedData", retry: false },
  1006: { name: "ConnectionLost", retry: true },
  1007: { name: "InvalidData", retry: false },
  1009: { name: "MessageTooBig", retry: false },
  1011: { name: "InternalError", retry: true },
  3000: { name: "Reserved", retry: true },
  3001: { name: "Unauthorized", retry: false },
  3002: { name: "VersionMismatch", retry: false },
  3003: { name: "PingTimeout", retry: true },
  3004: { name: "AccessKeyRevoked", retry: false },
  3005: { name: "ServerError", retry: true }
} as const satisfies Reconnect.CloseTable

/**
 * A code from the table.
 *
 * @since 0.1.0
 * @category models
 */
export type Known = keyof typeof table

/**
 * The name of a code, or `"Unknown"`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const nameOf = (code: number): string => (isKnown(code) ? table[code].name : "Unknown")

/**
 * Whether the protocol names `code` (docs/rwws.md §5).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isKnown = (code: number): code is Known => Object.hasOwn(table, code)

/**
 * Whether a client may reconnect after a server close. Codes the protocol does not name are retried,
 * like 3005.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryable = (code: number): boolean => Reconnect.lookup(table, code)?.retry ?? true

/**
 * The least wait before reconnecting after `code`, if the protocol sets one (rwws sets none yet).
 *
 * @since 0.1.0
 * @category accessors
 */
export const minimumDelayOf = (code: number): Duration.DurationInput | undefined =>
  Reconnect.lookup(table, code)?.minimumDelay

/**
 * A close the server sends: a code and its reason.
 *
 * @since 0.1.0
 * @category models
 */
export class Close extends Schema.Class<Close>("@protokernel/rwws/Close")({
  code: Schema.Int,
  reason: Schema.String
}) {}

/**
 * The closes of the reference server, with docs/rwws.md's reasons.
 *
 * @since 0.1.0
 * @category constants
 */
export const server = {
  binaryFramesOnlyAtAuth: new Close({ code: 3001, reason: "unauthorized: binary frames only" }),
  malformedAuth: new Close({ code: 3001, reason: "unauthorized: malformed authentication message" }),
  invalidKey: new Close({ code: 3001, reason: "unauthorized: invalid access key" }),
  authTimedOut: new Close({ code: 3001, reason: "authentication timed out" }),
  versionMismatch: (version: number) =>
    new Close({ code: 3002, reason: `version mismatch: server supports 0, client sent ${version}` }),
  pingTimeout: (millis: number) =>
    new Close({ code: 3003, reason: `ping timeout: no ping for ${Math.ceil(millis / 1000)} seconds` }),
  keyRevoked: new Close({ code: 3004, reason: "access key revoked" }),
  serverError: new Close({ code: 3005, reason: "server error" }),
  shuttingDown: new Close({ code: 1001, reason: "server shutting down" }),
  binaryFramesOnly: new Close({ code: 1003, reason: "binary frames only" }),
  protocolError: (reason: string) => new Close({ code: 1002, reason }),
  messageTooBig: new Close({ code: 1009, reason: "message too big" })
} as const
