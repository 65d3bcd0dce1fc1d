/**
 * An in-memory network: connections with no sockets, for fast tests whose timers stay virtual.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Acceptor from "./internal/acceptor.js"
import * as Endpoint from "./internal/endpoint.js"
import { Connector, TransportServer } from "./Transport.js"
import type { ConnectionOptions, Transport } from "./Transport.js"

/**
 * Two connected in-memory endpoints: what one sends, the other receives, in order; a close on one
 * side is a remote close on the other. Messages over `maxMessageBytes` close with 1009, as `ws` does.
 * Delivery is immediate and unbounded: there is no network to pause, so use `ws` to test backpressure.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makePair = (
  options?: ConnectionOptions
): Effect.Effect<readonly [client: Transport, server: Transport], never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => unsafeMemoryPair(options)),
    ([client, server]) => Effect.zip(client.terminate(), server.terminate(), { concurrent: true })
  )

const unsafeMemoryPair = (options: ConnectionOptions | undefined): readonly [Transport, Transport] => {
  const maxBytes = options?.maxMessageBytes ?? Acceptor.defaults.maxMessageBytes
  let open = true
  const sides: Array<Endpoint.Endpoint> = []
  const end = (closer: number, code: number, reason: string) => {
    if (!open) return
    open = false
    sides[1 - closer]!.onClose(code, reason)
    sides[closer]!.onClose(code, reason)
  }
  const driver = (self: number): Endpoint.Driver => ({
    canWrite: () => open,
    write: (frame, flushed) => {
      const size = typeof frame === "string" ? Buffer.byteLength(frame) : frame.byteLength
      if (size > maxBytes) end(1 - self, 1009, "")
      else sides[1 - self]!.onFrame(typeof frame === "string" ? frame : frame.slice())
      flushed()
    },
    buffered: () => 0,
    startClose: (code, reason) => end(self, code, reason),
    kill: () => end(self, 1006, ""),
    pause: () => {},
    resume: () => {}
  })
  sides.push(Endpoint.unsafeMake(driver(0), Acceptor.endpointOptions("127.0.0.1", options, "client")))
  sides.push(Endpoint.unsafeMake(driver(1), Acceptor.endpointOptions("127.0.0.1", options, "server")))
  return [sides[0]!.transport, sides[1]!.transport]
}

/**
 * An in-memory network: a `TransportServer` and a `Connector` whose connections reach it, with no
 * sockets. Any URL connects. Timers stay virtual under `TestClock`, so deadline tests run instantly.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: ConnectionOptions): Layer.Layer<TransportServer | Connector> =>
  Layer.scopedContext(
    Effect.gen(function* () {
      const pending = yield* Acceptor.acceptQueue
      const connect: Connector["Type"]["connect"] = () =>
        Effect.gen(function* () {
          const [client, server] = yield* makePair(options)
          yield* Queue.offer(pending, server)
          return client
        })
      return Context.make(TransportServer, Acceptor.makeAcceptor("memory://protokernel", 0, pending)).pipe(
        Context.add(Connector, Connector.of({ connect }))
      )
    })
  )
