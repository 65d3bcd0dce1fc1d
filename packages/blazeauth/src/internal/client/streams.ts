/**
 * Downloads on one connection (§4): stream requests registered with a handler that takes every header
 * under their id (the idle timeout moves on with each chunk of data), and `stop_file_transfer`.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as ClientError from "../../ClientError.js"
import type * as Envelope from "../../Envelope.js"
import * as Usecase from "../../Usecase.js"
import type * as DownloadImpl from "../download.js"
import * as Calls from "./calls.js"
import * as Connection from "./connection.js"

/** The handler of a stream request: headers go to the download, its expiry is an idle timeout. */
class StreamHandler implements Connection.Handler {
  readonly type: number
  readonly usecase: string
  readonly streaming = true
  readonly timeout: number
  readonly onBinary: DownloadImpl.StreamHandler["onBinary"]
  readonly fail: DownloadImpl.StreamHandler["fail"]

  constructor(
    usecase: Usecase.Any,
    connection: Connection.Connection,
    private readonly receiver: DownloadImpl.StreamHandler
  ) {
    this.type = usecase.type
    this.usecase = usecase.name
    this.timeout = connection.config.transferIdleTimeoutMillis
    this.onBinary = receiver.onBinary
    this.fail = receiver.fail
  }

  onMessage(envelope: Envelope.Envelope): DownloadImpl.Done {
    return this.receiver.onHeader(envelope.payload)
  }
}

const idleDeadline = (connection: Connection.Connection): number =>
  connection.clock.unsafeCurrentTimeMillis() + connection.config.transferIdleTimeoutMillis

const openStream = (
  connection: Connection.Connection,
  stream: DownloadImpl.StreamRequest,
  receiver: DownloadImpl.StreamHandler
): Effect.Effect<void, ClientError.CallError> =>
  stream._tag === "TransferFile"
    ? Effect.asVoid(
        Connection.register(
          connection,
          Usecase.TransferFile,
          (id) =>
            Usecase.encodeRequest(
              Usecase.TransferFile,
              stream.offset === 0
                ? { id, filename: stream.filename }
                : { id, filename: stream.filename, offset: stream.offset }
            ),
          new StreamHandler(Usecase.TransferFile, connection, receiver),
          idleDeadline(connection)
        )
      )
    : Effect.asVoid(
        Connection.register(
          connection,
          Usecase.ResumeFileTransfer,
          (id) =>
            Usecase.encodeRequest(Usecase.ResumeFileTransfer, {
              id,
              transfer_id: stream.transferId,
              resume_token: stream.resumeToken
            }),
          new StreamHandler(Usecase.ResumeFileTransfer, connection, receiver),
          idleDeadline(connection)
        )
      )

const stop = (connection: Connection.Connection, transferId: string, issueToken: boolean) =>
  Effect.suspend(() => {
    const row = Calls.table.stopFileTransfer
    const fields = Calls.fieldsOf(row, [transferId, issueToken])
    if (Either.isLeft(fields)) return Effect.fail(fields.left)
    const deadline = connection.clock.unsafeCurrentTimeMillis() + connection.config.requestTimeoutMillis
    return Calls.runOn(connection, row, fields.right, deadline)
  })

/** The connection as a download uses it. */
export const downloadsOf = (connection: Connection.Connection): DownloadImpl.Connection => ({
  open: (stream, receiver) => openStream(connection, stream, receiver),
  stop: (transferId, issueToken) => stop(connection, transferId, issueToken),
  stopQuietly: (transferId) =>
    Effect.asVoid(Effect.forkIn(Effect.ignore(stop(connection, transferId, false)), connection.scope))
})
