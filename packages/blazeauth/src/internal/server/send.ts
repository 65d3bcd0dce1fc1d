/**
 * What one connection writes: responses in their canonical form (§1.2), stream headers (§4.3),
 * status 6 where a usecase failed unexpectedly, and the closes of §2.3.
 *
 * @internal
 */
import * as Uint64 from "@protokernel/wire/Uint64"
import type * as Transport from "@protokernel/wire/Transport"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Crypto from "node:crypto"
import * as CloseCode from "../../CloseCode.js"
import * as Envelope from "../../Envelope.js"
import * as Status from "../../Status.js"
import * as Transfer from "../../Transfer.js"
import * as Usecase from "../../Usecase.js"
import type { Connection } from "./connection.js"

/**
 * @internal Writes frames back to back, so that nothing comes between a header and its binary frame; a
 * stream then waits here while the socket holds more than one chunk (pacing, §4.4 rule 10).
 */
export const write = (connection: Connection, frames: ReadonlyArray<Transport.Frame>): Effect.Effect<void> =>
  Effect.ignore(connection.transport.sendAll(frames))

/** @internal */
export const respond = <U extends Usecase.Any>(
  connection: Connection,
  usecase: U,
  payload: Usecase.Response<U>
): Effect.Effect<void> =>
  Either.match(Usecase.encodeResponse(usecase, payload), {
    onLeft: (error) => Effect.die(error),
    onRight: (text) => write(connection, [text])
  })

/** @internal A response that carries only a status. */
export const respondStatus = (
  connection: Connection,
  usecase: Usecase.Any,
  id: Uint64.Uint64,
  status: Status.KnownName
): Effect.Effect<void> =>
  write(connection, [Envelope.encode(usecase.type, { id: Uint64.toJson(id), status: Status.codes[status] })])

/** @internal A stream header as text. */
export const header = (payload: typeof Usecase.TransferHeader.Type): Effect.Effect<string> =>
  Either.match(Usecase.encodeHeader(payload), {
    onLeft: (error) => Effect.die(error),
    onRight: (text) => Effect.succeed(text)
  })

/** @internal A stream's single terminal header with `chunk_size` 0: a rejection or an early ending (§4.4 rules 3, 4). */
export const endingHeader = (
  connection: Connection,
  id: Uint64.Uint64,
  transferId: string,
  offset: number,
  status: Status.KnownName
): Effect.Effect<void> =>
  Effect.flatMap(header(Transfer.ending({ id, transferId, offset, status: Status.make(status) })), (text) =>
    write(connection, [text])
  )

/** @internal A fresh `transfer_id` (§4.4 rule 6). */
export const transferId = (): string => Crypto.randomBytes(16).toString("hex")

/** @internal Status 6 in the usecase's own response form (a rejection header for streams; ping has none). */
export const internalError = (connection: Connection, usecase: Usecase.Any, id: Uint64.Uint64): Effect.Effect<void> => {
  if (usecase.type === Usecase.Ping.type) return Effect.void
  if (usecase.type === Usecase.TransferFile.type || usecase.type === Usecase.ResumeFileTransfer.type) {
    return endingHeader(connection, id, transferId(), 0, "internal_server_error")
  }
  return respondStatus(connection, usecase, id, "internal_server_error")
}

/** @internal Starts a close, once; later messages are not read. */
export const close = (connection: Connection, code: number, reason: string): Effect.Effect<void> =>
  connection.session.close({ code, reason })

/** @internal Closes with a code of §2.3 and its reason. */
export const closeWith = (
  connection: Connection,
  code: CloseCode.Code,
  reason: string = CloseCode.reasons[code]
): Effect.Effect<void> => close(connection, code, reason)
