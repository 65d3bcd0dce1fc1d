/**
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Client from "./Client.js"

/** @since 0.1.0 */
export * as ClientError from "./ClientError.js"

/** @since 0.1.0 */
export * as CloseCode from "./CloseCode.js"

/** @since 0.1.0 */
export * as Download from "./Download.js"

/** @since 0.1.0 */
export * as Envelope from "./Envelope.js"

/** @since 0.1.0 */
export * as Expiry from "./Expiry.js"

/** @since 0.1.0 */
export * as Field from "./Field.js"

/** @since 0.1.0 */
export * as Fixtures from "./Fixtures.js"

/** @since 0.1.0 */
export * as Model from "./Model.js"

/** @since 0.1.0 */
export * as PanelEvent from "./PanelEvent.js"

/** @since 0.1.0 */
export * as Server from "./Server.js"

/** @since 0.1.0 */
export * as Status from "./Status.js"

/** @since 0.1.0 */
export * as Transfer from "./Transfer.js"

/** @since 0.1.0 */
export * as Usecase from "./Usecase.js"
