/**
 * One connection's life (§1.1, §2.1, §2.2) on wire's `ServerSession`: its state record, the init
 * deadline (close 4202), the receive loop, and the internal-error close (4000) when something fails
 * unexpectedly. One connection is one session (§1.1): everything it starts (the request being handled,
 * streams, their files, timers) lives in the session's scope and ends when the connection ends.
 *
 * @internal
 */
import * as ServerSession from "@protokernel/wire/ServerSession"
import type * as Transport from "@protokernel/wire/Transport"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"
import * as CloseCode from "../../CloseCode.js"
import type { Identity } from "../../Server.js"
import type * as Directory from "../directory.js"
import type { ServerContext } from "./context.js"
import * as Receive from "./receive.js"
import * as SessionStore from "./sessionStore.js"
import type * as Streams from "./streams.js"

/** @internal The state of one connection, which handlers take with the server's. */
export interface Connection {
  readonly server: ServerContext
  readonly id: number
  readonly transport: Transport.Transport
  /** The connection's scope, deadline and close. */
  readonly session: ServerSession.Session
  readonly remoteAddress: string
  /** The application, once initialized. */
  app: Directory.ApplicationState | null
  clientId: string | null
  identity: Identity | null
  readonly store: SessionStore.SessionStore
  /** Arrival instants of the data messages in the rate limit's window (§1.6 row 2). */
  readonly received: Array<number>
  /** Status-2 answers to `initialize` so far (§2.2). */
  failedInitializations: number
  readonly streams: Map<string, Streams.ActiveStream>
}

/** IPv4 peers of a dual-stack socket show up as `::ffff:a.b.c.d`. */
const plainAddress = (address: string): string => (address.startsWith("::ffff:") ? address.slice(7) : address)

/** @internal The close that ends a connection after a defect. */
export const internalError: ServerSession.Close = {
  code: CloseCode.codes.internalError,
  reason: CloseCode.reasons[CloseCode.codes.internalError]
}

/** @internal Serves one connection until it ends (the handler of `ServerSession.run`). */
export const serve = (server: ServerContext, session: ServerSession.Session): Effect.Effect<void> =>
  Effect.gen(function* () {
    const transport = session.transport
    const connection: Connection = {
      server,
      id: server.nextConnectionId++,
      transport,
      session,
      remoteAddress: plainAddress(transport.remoteAddress),
      app: null,
      clientId: null,
      identity: null,
      store: SessionStore.make(),
      received: [],
      failedInitializations: 0,
      streams: new Map()
    }
    server.connections.add(connection)
    // Added before anything the connection starts, so it runs after all of that has ended.
    yield* Scope.addFinalizer(
      session.scope,
      Effect.sync(() => server.connections.delete(connection))
    )
    const deadline = server.config.initDeadline
    yield* session.deadline((yield* Clock.currentTimeMillis) + deadline, {
      code: CloseCode.codes.initDeadline,
      reason: CloseCode.initDeadlineReason(deadline)
    })
    // The end of the connection, whoever ends it, ends the request being handled too; those still
    // queued are dropped.
    yield* Effect.raceFirst(
      session.forEachFrame((frame) => Receive.onFrame(connection, frame)),
      Effect.asVoid(transport.closed)
    )
  })

/** @internal Serves every connection of the transport server until interrupted; then they close with 1000. */
export const serveAll = (
  server: ServerContext,
  transportServer: Transport.TransportServer["Type"]
): Effect.Effect<never> =>
  transportServer.run(
    (transport) =>
      ServerSession.run(transport, { internalError }, (session) => serve(server, session)).pipe(
        Effect.annotateLogs({ module: "BlazeauthServer" })
      ),
    { shutdownClose: { code: 1000, reason: "" } }
  )
