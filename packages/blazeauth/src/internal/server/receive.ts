/**
 * The server's receive rules (§1.6), checked in the order of docs/blazeauth.md for each message, and the dispatch of
 * a valid request to its usecase's handler (§3), as a table keyed by usecase type.
 *
 * @internal
 */
import type * as Transport from "@protokernel/wire/Transport"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as CloseCode from "../../CloseCode.js"
import * as Envelope from "../../Envelope.js"
import * as Usecase from "../../Usecase.js"
import type * as Directory from "../directory.js"
import * as Auth from "./auth.js"
import type { Connection } from "./connection.js"
import * as Data from "./data.js"
import * as Send from "./send.js"
import * as Session from "./session.js"
import * as Transfers from "./transfers.js"

/** What a usecase does with a valid request on an initialized connection. */
type Handle<U extends Usecase.Any> = (
  connection: Connection,
  request: Usecase.Request<U>,
  app: Directory.ApplicationState
) => Effect.Effect<void>

/** A handler that takes the raw payload: it decodes the request first (§1.6 row 7). */
type Entry = (connection: Connection, payload: unknown, app: Directory.ApplicationState) => Effect.Effect<void>

const entry =
  <U extends Usecase.Any>(usecase: U, handle: Handle<U>): Entry =>
  (connection, payload, app) =>
    withRequest(connection, usecase, payload, (request) => handle(connection, request, app))

/** The usecases by type (§3.1). */
const handlers: { readonly [type: number]: Entry | undefined } = {
  [Usecase.Ping.type]: entry(Usecase.Ping, Session.ping),
  [Usecase.Initialize.type]: entry(Usecase.Initialize, Session.initialize),
  [Usecase.CreateAccount.type]: entry(Usecase.CreateAccount, Auth.createAccount),
  [Usecase.AuthByLicense.type]: entry(Usecase.AuthByLicense, Auth.authByLicense),
  [Usecase.AuthByCredentials.type]: entry(Usecase.AuthByCredentials, Auth.authByCredentials),
  [Usecase.LinkLicenseToAccount.type]: entry(Usecase.LinkLicenseToAccount, Auth.linkLicense),
  [Usecase.Logout.type]: entry(Usecase.Logout, Session.logout),
  [Usecase.Blacklist.type]: entry(Usecase.Blacklist, Session.blacklist),
  [Usecase.TransferFile.type]: entry(Usecase.TransferFile, Transfers.transferFile),
  [Usecase.StopFileTransfer.type]: entry(Usecase.StopFileTransfer, Transfers.stopFileTransfer),
  [Usecase.ResumeFileTransfer.type]: entry(Usecase.ResumeFileTransfer, Transfers.resumeFileTransfer),
  [Usecase.GetFileMetadata.type]: entry(Usecase.GetFileMetadata, Data.getFileMetadata),
  [Usecase.GetOnlineUsersCount.type]: entry(Usecase.GetOnlineUsersCount, Data.getOnlineUsersCount),
  [Usecase.GetVariable.type]: entry(Usecase.GetVariable, Data.getVariable),
  [Usecase.SetSessionValue.type]: entry(Usecase.SetSessionValue, Data.setSessionValue),
  [Usecase.GetSessionValue.type]: entry(Usecase.GetSessionValue, Data.getSessionValue),
  [Usecase.GetCurrentLicense.type]: entry(Usecase.GetCurrentLicense, Data.getCurrentLicense),
  [Usecase.GetCurrentAccount.type]: entry(Usecase.GetCurrentAccount, Data.getCurrentAccount),
  [Usecase.PanelEventSubscribe.type]: entry(Usecase.PanelEventSubscribe, Data.panelEventSubscribe)
}

/** Decodes a request (close 4302 when it is invalid) and runs it; a defect is answered with status 6. */
const withRequest = <U extends Usecase.Any>(
  connection: Connection,
  usecase: U,
  payload: unknown,
  run: (request: Usecase.Request<U>) => Effect.Effect<void>
): Effect.Effect<void> =>
  Either.match(Usecase.decodeRequest(usecase, payload), {
    onLeft: (error) =>
      Effect.zipRight(
        Effect.logDebug(`invalid ${usecase.name} body: ${Usecase.describeError(error)}`),
        Send.closeWith(connection, CloseCode.codes.invalidBody)
      ),
    onRight: (request) =>
      run(request).pipe(
        Effect.catchAllDefect((defect) =>
          Effect.zipRight(
            Effect.logError(`${usecase.name} failed`, Cause.die(defect)),
            Send.internalError(connection, usecase, request.id)
          )
        )
      )
  })

/** The rate limit of §1.6 row 2 over a sliding window; `true` when this message crosses it. */
const overRateLimit = (connection: Connection, now: number): boolean => {
  const { rateLimit, rateWindow } = connection.server.config
  const received = connection.received
  while (received.length > 0 && (received[0] ?? now) <= now - rateWindow) received.shift()
  if (received.length >= rateLimit) return true
  received.push(now)
  return false
}

/** @internal The receive rules of §1.6, in order, for one message received at `now`. */
export const receive = (connection: Connection, frame: Transport.Frame, now: number): Effect.Effect<void> => {
  const config = connection.server.config
  const size = typeof frame === "string" ? Buffer.byteLength(frame, "utf8") : frame.byteLength
  if (size > config.maxMessageBytes) return Send.closeWith(connection, CloseCode.codes.messageTooBig)
  if (config.rateLimit > 0 && overRateLimit(connection, now)) {
    return Send.closeWith(connection, CloseCode.codes.rateLimitHit)
  }
  if (typeof frame !== "string") return Send.closeWith(connection, CloseCode.codes.unsupportedData)
  const decoded = Envelope.decode(frame)
  if (Either.isLeft(decoded)) return Send.closeWith(connection, CloseCode.codes.missingTypeOrId)
  const envelope = decoded.right
  const id = Envelope.id(envelope)
  if (Option.isNone(id) || id.value === Envelope.PUSH_ID) {
    return Send.closeWith(connection, CloseCode.codes.missingTypeOrId)
  }
  const handle = Envelope.isKnownType(envelope.type) ? handlers[envelope.type] : undefined
  if (handle === undefined) return Send.closeWith(connection, CloseCode.codes.invalidType)
  const app = connection.app
  if (app === null) {
    if (envelope.type !== Usecase.Initialize.type) return Send.closeWith(connection, CloseCode.codes.notInitialized)
    return withRequest(connection, Usecase.Initialize, envelope.payload, (request) =>
      Session.initialize(connection, request)
    )
  }
  if (app.deleted) return Send.closeWith(connection, CloseCode.codes.applicationDeleted)
  return handle(connection, envelope.payload, app)
}

/**
 * @internal `receive` for a message taken from the connection, unless a close was started or received
 * meanwhile: requests still queued then are not run. The clock is read only when the rate limit needs it.
 */
export const onFrame = (connection: Connection, frame: Transport.Frame): Effect.Effect<void> =>
  Effect.flatMap(connection.transport.isOpen, (open) =>
    !open
      ? Effect.void
      : connection.server.config.rateLimit > 0
        ? Effect.flatMap(Clock.currentTimeMillis, (now) => receive(connection, frame, now))
        : receive(connection, frame, 0)
  )
