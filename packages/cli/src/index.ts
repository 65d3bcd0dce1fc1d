/**
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Cli from "./Cli.js"

/** @since 0.1.0 */
export * as CliError from "./CliError.js"

/** @since 0.1.0 */
export * as Demo from "./Demo.js"

/** @since 0.1.0 */
export * as Rwws from "./Rwws.js"
