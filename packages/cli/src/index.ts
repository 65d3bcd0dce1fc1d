/**
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Blazeauth from "./Blazeauth.js"

/** @since 0.1.0 */
export * as Cli from "./Cli.js"

/** @since 0.1.0 */
export * as CliError from "./CliError.js"

/** @since 0.1.0 */
export * as Demo from "./Demo.js"

/** @since 0.1.0 */
export * as Input from "./Input.js"

/** @since 0.1.0 */
export * as Progress from "./Progress.js"

/** @since 0.1.0 */
export * as Rwws from "./Rwws.js"
