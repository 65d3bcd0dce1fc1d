/**
 * One connection's life (§1.1, §2.1, §2.2): its state record, the init deadline (close 4202), the
 * receive loop, and the internal-error close (4000) when something fails unexpectedly. One connection
 * is one session (§1.1): everything it starts (the request being handled, streams, their files, timers)
 * lives in its scope and ends when it ends.
 *
 * @internal
 */
import * as Deadline from "@protokernel/wire/Deadline"
import type * as Transport from "@protokernel/wire/Transport"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as CloseCode from "../../CloseCode.js"
import type { Identity } from "../../Server.js"
import type * as Directory from "../directory.js"
import type { ServerContext } from "./context.js"
import * as Receive from "./receive.js"
import * as Send from "./send.js"
import * as SessionStore from "./sessionStore.js"
import type * as Streams from "./streams.js"

/** @internal The state of one connection, which handlers take with the server's. */
export interface Connection {
  readonly server: ServerContext
  readonly id: number
  readonly transport: Transport.Transport
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
  /** A close was started: later messages are not read. */
  closing: boolean
  readonly streams: Map<string, Streams.ActiveStream>
  /** What the connection starts lives here: closed when the connection ends, whoever ended it. */
  readonly scope: Scope.Scope
}

/** IPv4 peers of a dual-stack socket show up as `::ffff:a.b.c.d`. */
const plainAddress = (address: string): string => (address.startsWith("::ffff:") ? address.slice(7) : address)

/** @internal Serves one connection until it ends. */
export const serve = (server: ServerContext, transport: Transport.Transport): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function* () {
    const scope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
    const connection: Connection = {
      server,
      id: server.nextConnectionId++,
      transport,
      remoteAddress: plainAddress(transport.remoteAddress),
      app: null,
      clientId: null,
      identity: null,
      store: SessionStore.make(),
      received: [],
      failedInitializations: 0,
      closing: false,
      streams: new Map(),
      scope
    }
    server.connections.add(connection)
    // The first finalizer runs last: the session is listed until all it started has ended.
    yield* Scope.addFinalizer(
      scope,
      Effect.sync(() => server.connections.delete(connection))
    )
    yield* Effect.forkIn(initDeadline(connection, yield* Clock.currentTimeMillis), scope)
    // The end of the connection ends the request being handled too, and those still queued are dropped.
    yield* Effect.raceFirst(receiveLoop(connection), Effect.asVoid(transport.closed))
  }).pipe(
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.failCause(cause)
        : Effect.zipRight(
            Effect.logError("session failed", cause),
            Effect.asVoid(transport.close(CloseCode.codes.internalError, CloseCode.reasons[4000]))
          )
    ),
    Effect.annotateLogs({ module: "BlazeauthServer" })
  )

const receiveLoop = (connection: Connection): Effect.Effect<void> =>
  connection.transport.frames.pipe(
    Stream.runForEach((frame) => Receive.onFrame(connection, frame)),
    Effect.ignore
  )

/** §2.2: no successful `initialize` within the deadline → close 4202. */
const initDeadline = (connection: Connection, connectedAt: number): Effect.Effect<void> => {
  const deadline = connection.server.config.initDeadline
  return Effect.zipRight(
    Deadline.sleepUntil(connectedAt + deadline),
    Effect.suspend(() =>
      connection.app === null && !connection.closing
        ? Send.closeWith(connection, CloseCode.codes.initDeadline, CloseCode.initDeadlineReason(deadline))
        : Effect.void
    )
  )
}
