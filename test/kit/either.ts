/** Either accessors that fail the test with the other side shown. */
import { assert } from "@effect/vitest"
import { Either } from "effect"
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
