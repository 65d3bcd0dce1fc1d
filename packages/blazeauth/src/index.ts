/**
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Envelope from "./Envelope.js"

/** @since 0.1.0 */
export * as Expiry from "./Expiry.js"

/** @since 0.1.0 */
export * as Field from "./Field.js"

/** @since 0.1.0 */
export * as PanelEvent from "./PanelEvent.js"

/** @since 0.1.0 */
export * as Status from "./Status.js"

/** @since 0.1.0 */
export * as Usecase from "./Usecase.js"
