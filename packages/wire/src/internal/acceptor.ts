/**
 * What every `TransportServer` and connection shares whatever carries the frames: the default limits,
 * the endpoint options, and the acceptor that hands each accepted connection to exactly one `run`.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import { CloseError, TransportServer } from "../Transport.js"
import type { ConnectionOptions, RunOptions, Transport } from "../Transport.js"
import * as Endpoint from "./endpoint.js"

export const defaults = {
  maxMessageBytes: 100 * 1024 * 1024,
  receiveHighWaterMark: 64,
  sendHighWaterMark: 1024 * 1024,
  sendHighWaterMessages: 1024,
  closeTimeout: Duration.seconds(5),
  openTimeout: Duration.seconds(10)
} as const

/** `side` picks the default of `pauseReadingWhileSendFull`: servers pause, clients do not. */
export const endpointOptions = (
  remoteAddress: string,
  options: ConnectionOptions | undefined,
  side: "client" | "server"
): Endpoint.EndpointOptions => ({
  remoteAddress,
  receiveHighWaterMark: options?.receiveHighWaterMark ?? defaults.receiveHighWaterMark,
  sendHighWaterMark: options?.sendHighWaterMark ?? defaults.sendHighWaterMark,
  sendHighWaterMessages: options?.sendHighWaterMessages ?? defaults.sendHighWaterMessages,
  pauseReadingWhileSendFull: options?.pauseReadingWhileSendFull ?? side === "server",
  makeCloseError: (fields) => new CloseError(fields)
})

/**
 * Closes a connection its handler left open, the way `run` promises: 1000 after an ending, 1011
 * after a failure, the shutdown close after an interruption.
 */
const closeLeftOpen = (
  transport: Transport,
  exit: Exit.Exit<unknown, unknown>,
  shutdown: { readonly code: number; readonly reason: string }
): Effect.Effect<void> =>
  Effect.flatMap(transport.isOpen, (open) =>
    !open
      ? Effect.void
      : Effect.asVoid(
          Exit.isSuccess(exit)
            ? transport.close(1000, "")
            : Exit.isInterrupted(exit)
              ? transport.close(shutdown.code, shutdown.reason)
              : transport.close(1011, "internal error")
        )
  )

/** Accepted connections waiting for a `run`; those no `run` took are dropped when the scope closes. */
export const acceptQueue: Effect.Effect<Queue.Queue<Transport>, never, Scope.Scope> = Effect.acquireRelease(
  Queue.unbounded<Transport>(),
  (pending) =>
    Effect.flatMap(Queue.takeAll(pending), (left) =>
      Effect.forEach(left, (transport) => transport.terminate(), { discard: true, concurrency: "unbounded" })
    ).pipe(Effect.zipRight(Queue.shutdown(pending)))
)

/** A `TransportServer` handing each accepted connection to exactly one `run`. */
export const makeAcceptor = (url: string, port: number, pending: Queue.Queue<Transport>): TransportServer["Type"] =>
  TransportServer.of({
    url,
    port,
    run: <E, R>(handler: (transport: Transport) => Effect.Effect<void, E, R>, runOptions?: RunOptions) =>
      Effect.gen(function* () {
        const shutdown = runOptions?.shutdownClose ?? { code: 1001, reason: "server shutting down" }
        const fibers = yield* FiberSet.make<void>()
        // A connection taken from the queue is always handed to a fiber, even when `run` is interrupted
        // right then: otherwise it would be neither served nor closed.
        return yield* Effect.uninterruptibleMask((restore) =>
          Effect.flatMap(restore(Queue.take(pending)), (transport) =>
            // The fiber would inherit the mask; the connection itself must stay interruptible.
            FiberSet.run(fibers, Effect.interruptible(serveConnection(transport, handler, shutdown)))
          )
        ).pipe(Effect.forever)
      }).pipe(Effect.scoped)
  })

const serveConnection = <E, R>(
  transport: Transport,
  handler: (transport: Transport) => Effect.Effect<void, E, R>,
  shutdown: { readonly code: number; readonly reason: string }
): Effect.Effect<void, never, R> =>
  handler(transport).pipe(
    Effect.onExit((exit) => closeLeftOpen(transport, exit, shutdown)),
    Effect.catchAllCause((cause) => Effect.logDebug("connection handler failed", cause)),
    Effect.scoped
  )
