/**
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as CloseReason from "./CloseReason.js"

/**
 * @since 0.1.0
 */
export * as Transport from "./Transport.js"

/**
 * @since 0.1.0
 */
export * as WsTransport from "./WsTransport.js"

/**
 * @since 0.1.0
 */
export * as MemoryTransport from "./MemoryTransport.js"

/**
 * @since 0.1.0
 */
export * as Deadline from "./Deadline.js"

/**
 * @since 0.1.0
 */
export * as Json from "./Json.js"

/**
 * @since 0.1.0
 */
export * as Uint64 from "./Uint64.js"

/**
 * @since 0.1.0
 */
export * as SessionError from "./SessionError.js"

/**
 * @since 0.1.0
 */
export * as Reconnect from "./Reconnect.js"

/**
 * @since 0.1.0
 */
export * as Keepalive from "./Keepalive.js"

/**
 * @since 0.1.0
 */
export * as ServerSession from "./ServerSession.js"

/**
 * @since 0.1.0
 */
export * as FastCodec from "./FastCodec.js"
