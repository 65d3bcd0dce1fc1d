/**
 * One session (§2.1): a connection, `initialize` sent at once, keepalive from its success, the
 * authorization of `Options.auth`, then the session is handed to the client until the connection ends.
 */
import type * as Transport from "@protokernel/wire/Transport"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Scope from "effect/Scope"
import type * as Client from "../../Client.js"
import type * as ClientError from "../../ClientError.js"
import type * as Model from "../../Model.js"
import type * as Usecase from "../../Usecase.js"
import type * as DownloadImpl from "../download.js"
import * as Calls from "./calls.js"
import * as Connection from "./connection.js"
import * as Keepalive from "./keepalive.js"
import * as Streams from "./streams.js"

/** What the client learns from its sessions. */
export interface Listener {
  /** The session is ready: initialized, and authorized if the options ask for it. */
  readonly established: (session: Session) => Effect.Effect<void>
  /** The session's connection ended: calls from now on wait for the next one. */
  readonly ended: (session: Session) => Effect.Effect<void>
  /** The session's authorization changed. */
  readonly authorizationChanged: (session: Session) => Effect.Effect<void>
}

/** An initialized connection. */
export interface Session {
  readonly application: Model.Application
  kind: Client.AuthorizationKind | undefined
  readonly connection: Connection.Connection
  /** Streams (downloads) on this connection. */
  readonly downloads: DownloadImpl.Connection
  readonly listener: Listener
}

/**
 * Runs a row of the call table on the session; a success that changes the authorization
 * (`auth_by_*`, `logout`) records it.
 */
export const call = <U extends Usecase.Any, Args extends ReadonlyArray<unknown>, A>(
  session: Session,
  row: Calls.Call<U, Args, A>,
  fields: Calls.Fields<U>,
  deadline: number
): Effect.Effect<A, ClientError.CallError> => {
  const sent = Calls.runOn(session.connection, row, fields, deadline)
  const authorizes = row.authorizes
  if (authorizes === undefined) return sent
  return Effect.tap(sent, () => {
    session.kind = authorizes === "none" ? undefined : authorizes
    return session.listener.authorizationChanged(session)
  })
}

const authorize = (
  session: Session,
  auth: Client.Authorization,
  deadline: number
): Effect.Effect<unknown, ClientError.CallError> => {
  if (auth._tag === "License") {
    return call(session, Calls.table.authByLicense, { license: auth.license }, deadline)
  }
  const fields = Calls.fieldsOf(Calls.table.authByCredentials, [auth])
  return Either.isLeft(fields)
    ? Effect.fail(fields.left)
    : call(session, Calls.table.authByCredentials, fields.right, deadline)
}

/**
 * One connection, from connect to its end: initializes, authorizes, hands the session to the
 * listener, then fails with why the connection ended (or with why it never got that far).
 */
export const run = (
  config: Connection.Connection["config"],
  connector: Transport.Connector["Type"],
  shared: Connection.Shared,
  listener: Listener
): Effect.Effect<never, ClientError.CallError, Scope.Scope> =>
  Effect.gen(function* () {
    const connection = yield* Connection.open(config, connector, shared)
    const initStart = yield* Clock.currentTimeMillis
    const { application, receivedAt } = yield* Calls.runOn(
      connection,
      Calls.table.initialize,
      { socket_api_key: config.apiKey, client_id: config.clientId },
      initStart + config.initializeTimeoutMillis,
      config.initializeTimeoutMillis
    )
    const session: Session = {
      application,
      kind: undefined,
      connection,
      downloads: Streams.downloadsOf(connection),
      listener
    }
    yield* Keepalive.start(connection, receivedAt)
    if (config.auth !== undefined) {
      yield* authorize(session, config.auth, (yield* Clock.currentTimeMillis) + config.requestTimeoutMillis)
    }
    yield* listener.established(session)
    const error = yield* Deferred.await(connection.ended)
    yield* listener.ended(session)
    // Wait for the close to complete (a close frame already sent, or a dropped socket) before reconnecting.
    yield* connection.transport.closed
    return yield* Effect.fail(error)
  })
