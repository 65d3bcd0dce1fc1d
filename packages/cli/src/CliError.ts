/**
 * How a command fails: a one-line message for stderr and the process exit code. Every failure of a
 * command ends up as a `CliError`; `Cli.teardown` turns it into the exit code.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/**
 * Exit codes of `protokernel`: 0 success (or stopped by SIGINT/SIGTERM), 1 the command failed
 * (connection closed, refused, timed out, bad key…), 2 the command line is wrong.
 *
 * @since 0.1.0
 * @category constants
 */
export const ExitCode = {
  success: 0,
  failure: 1,
  usage: 2
} as const

/**
 * A failed command. `message` is the single line printed on stderr; an empty message prints nothing
 * (used when `@effect/cli` has already printed its own diagnostics).
 *
 * @since 0.1.0
 * @category errors
 */
export class CliError extends Schema.TaggedError<CliError>("@protokernel/cli/CliError")("CliError", {
  message: Schema.String,
  exitCode: Schema.Int
}) {}

/**
 * A command failure (exit code 1).
 *
 * @since 0.1.0
 * @category constructors
 */
export const failure = (message: string): CliError => new CliError({ message, exitCode: ExitCode.failure })

/**
 * A wrong command line (exit code 2).
 *
 * @since 0.1.0
 * @category constructors
 */
export const usage = (message: string): CliError => new CliError({ message, exitCode: ExitCode.usage })

/**
 * Whether a value is a `CliError`.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isCliError = (u: unknown): u is CliError => u instanceof CliError

/**
 * The exit code for how a program ended: 0 for success and for interruption (SIGINT/SIGTERM), the
 * `CliError`'s code for a typed failure, 1 for anything else.
 *
 * @since 0.1.0
 * @category accessors
 */
export const exitCodeOf = <E, A>(exit: Exit.Exit<A, E>): number => {
  if (Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause)) return ExitCode.success
  const error = Option.getOrUndefined(Cause.failureOption(exit.cause))
  return isCliError(error) ? error.exitCode : ExitCode.failure
}

/**
 * One line for stderr describing an unexpected cause (a defect): the first line of its message, never
 * a stack trace.
 *
 * @since 0.1.0
 * @category formatting
 */
export const describeDefect = (defect: unknown): string => {
  const text = defect instanceof Error ? defect.message : String(defect)
  return `unexpected error: ${text.split("\n", 1)[0] ?? ""}`
}
