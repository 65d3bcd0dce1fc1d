/**
 * A raw peer: one side of a connection that a test drives frame by frame, to send what a well-behaved
 * client or server never sends and to see every frame the other side sends, in order, then its close.
 * Protocol helpers (a scripted Blazeauth server, raw rwws and Blazeauth clients) are built on it.
 */
import { Transport } from "@protokernel/wire"
import { Deferred, Effect, Either, Queue, Stream } from "effect"
import type { Scope } from "effect"
import * as WS from "ws"

/** A frame that arrived, or the close that ended the connection. */
export type Arrival = Either.Either<Transport.Frame, Transport.CloseError>

export interface RawPeer {
  readonly transport: Transport.Transport
  /** The next frame or, once every earlier frame was taken, the close (it stays there for later takes). */
  readonly take: Effect.Effect<Arrival>
  /** The next frame; fails with the close once every earlier frame was taken. */
  readonly next: Effect.Effect<Transport.Frame, Transport.CloseError>
  /** Every frame not taken yet, until the close, and the close. */
  readonly rest: Effect.Effect<{ readonly frames: Array<Transport.Frame>; readonly close: Transport.CloseError }>
  /** Whether a frame (or the close) arrived that no `take` took yet. */
  readonly hasPending: Effect.Effect<boolean>
  /** The close, once it came, whether or not the frames before it were taken. */
  readonly closed: Effect.Effect<Transport.CloseError>
}

/** Reads `transport` in the current scope; `onFrame` sees each frame as it arrives (to record them). */
export const rawPeer = (
  transport: Transport.Transport,
  onFrame: (frame: Transport.Frame) => void = () => {}
): Effect.Effect<RawPeer, never, Scope.Scope> =>
  Effect.gen(function* () {
    const inbox = yield* Queue.unbounded<Arrival>()
    const closed = yield* Deferred.make<Transport.CloseError>()
    yield* transport.frames.pipe(
      Stream.runForEach((frame) =>
        Effect.zipRight(
          Effect.sync(() => onFrame(frame)),
          Queue.offer(inbox, Either.right(frame))
        )
      ),
      Effect.catchAll((close) =>
        Effect.zipRight(Deferred.succeed(closed, close), Queue.offer(inbox, Either.left(close)))
      ),
      Effect.forkScoped
    )
    const take = Effect.tap(Queue.take(inbox), (item) =>
      // Keep the close for later readers.
      Either.isLeft(item) ? Queue.offer(inbox, item) : Effect.void
    )
    const rest = Effect.gen(function* () {
      const frames: Array<Transport.Frame> = []
      while (true) {
        const item = yield* take
        if (Either.isLeft(item)) return { frames, close: item.left }
        frames.push(item.right)
      }
    })
    return {
      transport,
      take,
      next: Effect.flatMap(take, Either.match({ onLeft: Effect.fail, onRight: Effect.succeed })),
      rest,
      hasPending: Effect.map(Queue.size(inbox), (size) => size > 0),
      closed: Deferred.await(closed)
    }
  })

/** Connects to `url` with the `Connector` in context and reads the connection as a raw peer. */
export const rawConnect = (url: string) =>
  Effect.gen(function* () {
    const connector = yield* Transport.Connector
    return yield* rawPeer(yield* connector.connect(url))
  })

/** A bare `ws` client, below the Transport: for bytes a Transport never sends (invalid UTF-8 in a text frame). */
export interface RawWs {
  /** Sends once the socket is open. */
  readonly send: (data: Uint8Array, options: { readonly binary: boolean }) => Effect.Effect<void>
  /** The next message the server sent. */
  readonly next: Effect.Effect<Buffer>
  /** The close code, once the connection closed. */
  readonly closeCode: Effect.Effect<number>
}

/** Opens a bare `ws` connection to `url`, terminated when the scope closes. */
export const rawWs = (url: string): Effect.Effect<RawWs, never, Scope.Scope> =>
  Effect.gen(function* () {
    const socket = yield* Effect.acquireRelease(
      Effect.sync(() => new WS.WebSocket(url)),
      (socket) => Effect.sync(() => socket.terminate())
    )
    const opened = yield* Deferred.make<void>()
    const closeCode = yield* Deferred.make<number>()
    const messages = yield* Queue.unbounded<Buffer>()
    socket.on("open", () => Deferred.unsafeDone(opened, Effect.void))
    socket.on("message", (data: Buffer) => Queue.unsafeOffer(messages, data))
    socket.on("close", (code: number) => Deferred.unsafeDone(closeCode, Effect.succeed(code)))
    socket.on("error", () => {})
    return {
      send: (data, options) =>
        Effect.zipRight(
          Deferred.await(opened),
          Effect.sync(() => socket.send(data, options))
        ),
      next: Queue.take(messages),
      closeCode: Deferred.await(closeCode)
    }
  })
