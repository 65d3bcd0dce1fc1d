/**
 * A hostile peer that sends without reading: a bare `ws` socket whose reading can be stopped, to see
 * whether the other side stops reading from it (its own unsent bytes then grow) instead of queueing
 * replies without bound, and whether every reply still arrives once it reads again.
 */
import { Transport, WsTransport } from "@protokernel/wire"
import { Deferred, Effect, Layer, Queue } from "effect"
import type { Scope } from "effect"
import * as WS from "ws"

/**
 * A `ws` `TransportServer` that records the server side of each connection it accepts in `accepted`
 * (in order), so that a test can see what the server holds for a peer.
 */
export const recordingServer = (
  accepted: Array<Transport.Transport>,
  options?: WsTransport.ServerOptions
): Layer.Layer<Transport.TransportServer, Transport.ListenError> =>
  Layer.scoped(
    Transport.TransportServer,
    Effect.map(WsTransport.makeServer(options), (server) =>
      Transport.TransportServer.of({
        ...server,
        run: (handler, runOptions) =>
          server.run((transport) => Effect.suspend(() => (accepted.push(transport), handler(transport))), runOptions)
      })
    )
  )

export interface Flooder {
  readonly socket: WS.WebSocket
  /** The next message, while reading. */
  readonly next: Effect.Effect<Buffer>
  readonly send: (data: Uint8Array | string) => Effect.Effect<void>
  /** Stops reading from the socket: what the other side sends stays in its buffers and the kernel's. */
  readonly stopReading: Effect.Effect<void>
  readonly resumeReading: Effect.Effect<void>
  /**
   * Sends `frame(n)` for n = 0, 1, … in batches of 1000, letting the other side run between them, until
   * `done` (checked after each batch) says so. Returns how many were sent.
   */
  readonly flood: <E>(
    frame: (n: number) => Uint8Array | string,
    done: Effect.Effect<boolean, E>
  ) => Effect.Effect<number, E>
  /** Whether this socket holds more than `bytes` unsent: the other side does not read (fast enough). */
  readonly stalled: (bytes: number) => Effect.Effect<boolean>
  /** Takes `count` messages, in order. */
  readonly take: (count: number) => Effect.Effect<Array<Buffer>>
}

const turn = Effect.async<void>((resume) => {
  setImmediate(() => resume(Effect.void))
})

/** Opens a bare `ws` connection to `url` (binary messages as Buffers), terminated when the scope closes. */
export const flooder = (url: string): Effect.Effect<Flooder, never, Scope.Scope> =>
  Effect.gen(function* () {
    const socket = yield* Effect.acquireRelease(
      Effect.sync(() => new WS.WebSocket(url, { perMessageDeflate: false })),
      (socket) => Effect.sync(() => socket.terminate())
    )
    const opened = yield* Deferred.make<void>()
    const messages = yield* Queue.unbounded<Buffer>()
    socket.on("open", () => Deferred.unsafeDone(opened, Effect.void))
    socket.on("message", (data: Buffer) => Queue.unsafeOffer(messages, data))
    socket.on("error", () => {})
    yield* Deferred.await(opened)
    return {
      socket,
      next: Queue.take(messages),
      send: (data) => Effect.sync(() => socket.send(data)),
      stopReading: Effect.sync(() => socket.pause()),
      resumeReading: Effect.sync(() => socket.resume()),
      flood: (frame, done) =>
        Effect.gen(function* () {
          let sent = 0
          do {
            for (const end = sent + 1000; sent < end; sent++) socket.send(frame(sent))
            yield* turn
          } while (!(yield* done))
          return sent
        }),
      stalled: (bytes) => Effect.sync(() => socket.bufferedAmount > bytes),
      take: (count) =>
        Effect.gen(function* () {
          const taken: Array<Buffer> = []
          while (taken.length < count) taken.push(...(yield* Queue.takeBetween(messages, 1, count - taken.length)))
          return taken
        })
    }
  })
