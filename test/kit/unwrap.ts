/** The value inside an Either, Option or Exit, or a test failure that shows what was there instead. */
import { assert } from "@effect/vitest"
import { Cause, Either, Exit, Option } from "effect"
import { show } from "./json.js"

/** The Right of an Either, or a test failure that shows the Left. */
export const right = <A, E>(either: Either.Either<A, E>): A => {
  if (Either.isLeft(either)) return assert.fail(`expected Right, got Left: ${String(either.left)}`)
  return either.right
}

/** The Left of an Either, or a test failure that shows the Right. */
export const left = <A, E>(either: Either.Either<A, E>): E => {
  if (Either.isRight(either)) return assert.fail(`expected Left, got Right: ${show(either.right)}`)
  return either.left
}

/** The value of a Some, or a test failure prefixed with `message`. */
export const some = <A>(option: Option.Option<A>, message: string): A =>
  Option.isSome(option) ? option.value : assert.fail(`${message}: expected Some, got None`)

/** The value of a successful Exit, or an error showing the cause (prefixed with `message` when given). */
export const succeeded = <A, E>(exit: Exit.Exit<A, E>, message = ""): A => {
  if (Exit.isSuccess(exit)) return exit.value
  throw new Error(`${message === "" ? "" : `${message}: `}expected success, got ${Cause.pretty(exit.cause)}`)
}

/** The error of an Exit that failed with one, or an error showing what it was instead. */
export const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isFailure(exit)) {
    const error = Cause.failureOption(exit.cause)
    if (Option.isSome(error)) return error.value
  }
  throw new Error(`expected a failure, got ${Exit.isSuccess(exit) ? "a success" : Cause.pretty(exit.cause)}`)
}
