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
export * as Deadline from "./Deadline.js"
