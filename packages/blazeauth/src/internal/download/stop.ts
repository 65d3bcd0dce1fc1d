/**
 * Stopping a download (§4.6): the stop request and the stream's own end race, in either order, and
 * the stream's end decides: its 308 ending (stopped, with the answer's token), a completion (the
 * stop lost), or a failure. A download with no stream on the server stops where it is.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as ClientError from "../../ClientError.js"
import type * as Download from "../../Download.js"
import * as Transfer from "../../Transfer.js"
import * as Usecase from "../../Usecase.js"
import * as Continuation from "./continuation.js"
import * as Delivery from "./delivery.js"
import * as Progress from "./progress.js"
import { isConnectionLoss } from "./reconnect.js"
import { conclude, type State } from "./state.js"

/** The options of `Download.stop`. */
export interface Options {
  readonly issueToken?: boolean | undefined
}

/**
 * Checks the token of a stop's success (§4.6, §4.8): required when one was asked for, and malformed
 * outside 1..512 characters.
 */
const checkReceivedToken = (
  token: Option.Option<Redacted.Redacted<string>>,
  asked: boolean
): Either.Either<Option.Option<Redacted.Redacted<string>>, ClientError.MalformedResponse> => {
  if (Option.isNone(token)) {
    return asked
      ? Either.left(
          new ClientError.MalformedResponse({
            usecase: Usecase.StopFileTransfer.name,
            detail: `["resume_token"]: is missing`
          })
        )
      : Either.right(token)
  }
  return Either.isRight(Transfer.checkResumeToken(Redacted.value(token.value)))
    ? Either.right(token)
    : Either.left(
        new ClientError.MalformedResponse({
          usecase: Usecase.StopFileTransfer.name,
          detail: `["resume_token"]: must have 1 to ${Transfer.resumeTokenLimit} characters`
        })
      )
}

const stoppedOf = (outcome: Download.Outcome): Option.Option<Download.Stopped> =>
  outcome._tag === "Completed" ? Option.none() : Option.some(outcome)

const stoppedOutcome = (state: State, token: Option.Option<Redacted.Redacted<string>>): Download.Stopped => ({
  _tag: "Stopped",
  filename: state.filename,
  transferId: state.transferId,
  offset: state.stoppedAt ?? state.position,
  fileSize: Option.fromNullable(state.fileSize),
  resumeToken: token,
  continuation: Continuation.make(state.fileDigest)
})

/** The stream ended after a stop: the bytes end here; `stop` concludes with the answer's token. */
export const onStopped = (state: State): void => {
  if (state.stoppedAt !== undefined) return
  state.stoppedAt = state.position
  if (state.segment !== undefined) state.segment.closed = true
  Delivery.close(state.delivery, Exit.void)
  Progress.notify(state.progress)
  if (state.stopWaiter !== undefined) Deferred.unsafeDone(state.stopWaiter, Exit.void)
}

/** Stops the stream under way; `None` when the download completed first. */
export const stop = (
  state: State,
  options?: Options
): Effect.Effect<Option.Option<Download.Stopped>, ClientError.TransferError> =>
  Effect.suspend(() => {
    if (state.phase === "concluded" || state.phase === "stopping") {
      return Effect.map(Deferred.await(state.outcome), stoppedOf)
    }
    const segment = state.segment
    if (state.phase === "reconnecting" || segment === undefined || segment.transferId === undefined) {
      // No stream runs on the server: the download stops where it is.
      const interruptResumer = state.resumer === undefined ? Effect.void : Fiber.interrupt(state.resumer)
      state.stoppedAt = state.position
      const result = stoppedOutcome(state, Option.none())
      conclude(state, Exit.succeed(result))
      return Effect.as(interruptResumer, Option.some(result))
    }
    // Only the pairs in flight remain: unbounded, so that a consumer stopping from its own fiber
    // cannot block the receive loop that must read the answer.
    state.phase = "stopping"
    Delivery.unbind(state.delivery)
    return awaitStop(state, segment.connection.stop(segment.transferId, options?.issueToken === true), options)
  })

const awaitStop = (
  state: State,
  request: Effect.Effect<Option.Option<Redacted.Redacted<string>>, ClientError.CallError>,
  options: Options | undefined
): Effect.Effect<Option.Option<Download.Stopped>, ClientError.TransferError> =>
  Effect.gen(function* () {
    const waiter = yield* Deferred.make<void>()
    state.stopWaiter = waiter
    if (state.stoppedAt !== undefined) yield* Deferred.succeed(waiter, undefined)
    const answer = yield* Effect.either(
      Effect.flatMap(request, (token) => checkReceivedToken(token, options?.issueToken === true))
    )
    // The stream's own end decides: its 308 ending (stopped), a completion (the stop lost), a failure.
    yield* Effect.raceFirst(Deferred.await(waiter), Effect.exit(Deferred.await(state.outcome)))
    if (state.phase === "concluded") return yield* Effect.map(Deferred.await(state.outcome), stoppedOf)
    const result = stoppedOutcome(
      state,
      Either.getOrElse(answer, () => Option.none())
    )
    conclude(state, Exit.succeed(result))
    // The answer's failure matters only when it is not explained by the ending (a 308 answer, a lost connection).
    if (Either.isLeft(answer) && answer.left._tag !== "StatusError" && !isConnectionLoss(answer.left)) {
      return yield* Effect.fail(answer.left)
    }
    return Option.some(result)
  })
