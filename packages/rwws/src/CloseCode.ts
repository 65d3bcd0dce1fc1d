/**
 * rwws close codes as data: what each means, whether a client may reconnect after it, and the
 * reasons the server sends.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * How a client reacts to a close the server started (or a lost connection).
 *
 * @since 0.1.0
 * @category models
 */
export type Reaction = "fatal" | "retry"

/**
 * Every close code the protocol names (spec §5).
 *
 * @since 0.1.0
 * @category constants
 */
export const table = {
  1000: { name: "NormalClosure", reaction: "retry" },
  1001: { name: "GoingAway", reaction: "retry" },
  1002: { name: "ProtocolError", reaction: "fatal" },
  1003: { name: "UnsupportedData", reaction: "fatal" },
  1006: { name: "ConnectionLost", reaction: "retry" },
  1007: { name: "InvalidData", reaction: "fatal" },
  1009: { name: "MessageTooBig", reaction: "fatal" },
  1011: { name: "InternalError", reaction: "retry" },
  3000: { name: "Reserved", reaction: "retry" },
  3001: { name: "Unauthorized", reaction: "fatal" },
  3002: { name: "VersionMismatch", reaction: "fatal" },
  3003: { name: "PingTimeout", reaction: "retry" },
  3004: { name: "AccessKeyRevoked", reaction: "fatal" },
  3005: { name: "ServerError", reaction: "retry" }
} as const satisfies Record<number, { readonly name: string; readonly reaction: Reaction }>

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
 * Whether the protocol names `code` (spec §5).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isKnown = (code: number): code is Known => Object.hasOwn(table, code)

/**
 * The reaction to a server close. Codes the protocol does not name are retried, like 3005.
 *
 * @since 0.1.0
 * @category accessors
 */
export const reactionOf = (code: number): Reaction => (isKnown(code) ? table[code].reaction : "retry")

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
 * The closes of the reference server, with the spec's reasons.
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
