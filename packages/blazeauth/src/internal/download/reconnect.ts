/**
 * Continuing a download on the next session after a dropped connection: with the resume token still
 * unanswered, if any, otherwise by asking for the rest of the file from the bytes held (§4.5).
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as ClientError from "../../ClientError.js"
import type { Connection, StreamRequest } from "../download.js"
import { conclude, type State } from "./state.js"

/** Sends a request on a connection as the download's current stream (`retry`: a token tried again). */
export type Launch = (
  state: State,
  request: StreamRequest,
  connection: Connection,
  retry?: boolean
) => Effect.Effect<void>

/** Whether an error means the connection was lost (the next session may continue the download). */
export const isConnectionLoss = (error: ClientError.CallError): boolean =>
  (error._tag === "ConnectionClosed" || error._tag === "PingTimeout") && ClientError.isRetryable(error)

/** The request for the rest of the file, from the bytes held. */
export const restartRequest = (state: State): StreamRequest => ({
  _tag: "TransferFile",
  filename: state.filename,
  offset: state.position
})

const continueOn = (state: State, connection: Connection, launch: Launch): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (state.phase !== "reconnecting") return Effect.void
    state.phase = "running"
    return Option.isSome(state.pendingToken)
      ? launch(
          state,
          { _tag: "ResumeFileTransfer", transferId: state.transferId, resumeToken: state.pendingToken.value },
          connection,
          true
        )
      : launch(state, restartRequest(state), connection)
  })

/** After `dead` dropped: awaits the next session in the download's scope, and continues there. */
export const reconnect = (state: State, dead: Connection, launch: Launch): Effect.Effect<void> =>
  Effect.flatMap(
    Effect.forkIn(
      state.connections.next(dead).pipe(
        Effect.flatMap((connection) => continueOn(state, connection, launch)),
        Effect.catchAll((error) => Effect.sync(() => conclude(state, Exit.fail(error))))
      ),
      state.scope
    ),
    (fiber) =>
      Effect.sync(() => {
        state.resumer = fiber
      })
  )
