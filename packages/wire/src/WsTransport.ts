/**
 * Connections over the `ws` package: a `Connector` for clients and a `TransportServer` that listens.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type { IncomingMessage } from "node:http"
import type { Socket } from "node:net"
import * as WS from "ws"
import * as Acceptor from "./internal/acceptor.js"
import * as Endpoint from "./internal/endpoint.js"
import { ConnectError, Connector, ListenError, TransportServer } from "./Transport.js"
import type { ConnectionOptions, ConnectOptions, Transport } from "./Transport.js"

/**
 * Small frames go to a corked socket that is uncorked once per turn of the event loop, so the frames
 * written in one turn leave in one system call instead of one each (measured: +30 % request
 * throughput). A close or a drop uncorks first, so a close frame written before it still leaves.
 */
const coalesceBelowBytes = 16 * 1024

const coalescer = (socket: Socket | undefined) => {
  let corked = false
  const flush = () => {
    if (!corked || socket === undefined) return
    corked = false
    socket.uncork()
  }
  return {
    cork: () => {
      if (corked || socket === undefined || socket.destroyed) return
      corked = true
      socket.cork()
      setImmediate(flush)
    },
    flush
  }
}

const wsDriver = (ws: WS.WebSocket, socket: Socket | undefined): Endpoint.Driver => {
  const writes = coalescer(socket)
  return {
    canWrite: () => ws.readyState === WS.WebSocket.OPEN,
    write: (frame, flushed) => {
      // Large frames gain nothing from coalescing and would only wait in memory.
      if ((typeof frame === "string" ? frame.length : frame.byteLength) < coalesceBelowBytes) writes.cork()
      else writes.flush()
      ws.send(frame, flushed)
    },
    buffered: () => ws.bufferedAmount,
    startClose: (code, reason) => {
      writes.flush()
      ws.close(code, reason)
    },
    kill: () => {
      writes.flush()
      ws.terminate()
    },
    pause: () => ws.pause(),
    resume: () => ws.resume()
  }
}

/** Attaches listeners synchronously: a frame that arrives before them would be lost. */
const unsafeFromWebSocket = (
  ws: WS.WebSocket,
  socket: Socket | undefined,
  options: ConnectionOptions | undefined,
  side: "client" | "server"
): Endpoint.Endpoint => {
  const endpoint = Endpoint.unsafeMake(
    wsDriver(ws, socket),
    Acceptor.endpointOptions(socket?.remoteAddress ?? "", options, side)
  )
  ws.on("message", (data: Buffer, isBinary: boolean) => endpoint.onFrame(isBinary ? data : data.toString("utf8")))
  ws.on("close", (code: number, reason: Buffer) => endpoint.onClose(code, reason.toString("utf8")))
  // Every error is followed by "close"; the listener keeps it from being thrown.
  ws.on("error", () => {})
  return endpoint
}

/**
 * Connects with the `ws` package (never the global WebSocket, whose binary frames can overtake text ones).
 *
 * @since 0.1.0
 * @category constructors
 */
export const connect = (url: string, options?: ConnectOptions): Effect.Effect<Transport, ConnectError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ readonly ws: WS.WebSocket; readonly endpoint: Endpoint.Endpoint }, ConnectError>((resume) => {
      let ws: WS.WebSocket
      try {
        const wsOptions: WS.ClientOptions & WsCloseTimeout = {
          maxPayload: options?.maxMessageBytes ?? Acceptor.defaults.maxMessageBytes,
          handshakeTimeout: millisOf(options?.openTimeout, Acceptor.defaults.openTimeout),
          closeTimeout: millisOf(options?.closeTimeout, Acceptor.defaults.closeTimeout),
          perMessageDeflate: false
        }
        ws = new WS.WebSocket(url, wsOptions)
      } catch (cause) {
        resume(Effect.fail(new ConnectError({ url, detail: describe(cause) })))
        return
      }
      ws.binaryType = "nodebuffer"
      const onError = (cause: Error) => resume(Effect.fail(new ConnectError({ url, detail: describe(cause) })))
      let socket: Socket | undefined
      ws.once("upgrade", (response: IncomingMessage) => {
        socket = response.socket
      })
      ws.once("error", onError)
      ws.once("open", () => {
        ws.off("error", onError)
        resume(Effect.succeed({ ws, endpoint: unsafeFromWebSocket(ws, socket, options, "client") }))
      })
      return Effect.sync(() => ws.terminate())
    }),
    ({ endpoint }) => Effect.asVoid(endpoint.transport.terminate())
  ).pipe(Effect.map(({ endpoint }) => endpoint.transport))

/**
 * The `ws` client as a `Connector`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConnector: Layer.Layer<Connector> = Layer.succeed(Connector, Connector.of({ connect }))

/**
 * Options of a `ws` server.
 *
 * @since 0.1.0
 * @category models
 */
export interface ServerOptions extends ConnectionOptions {
  readonly host?: string | undefined
  /** 0 picks a free port. */
  readonly port?: number | undefined
  /** Accept upgrades on this path only (others get HTTP 404). */
  readonly path?: string | undefined
  /**
   * Connections the OS queues before the server accepts them. Default {@link defaultBacklog}: Node's
   * own 511 resets clients arriving in bursts of a few thousand per second. The OS caps it at
   * `net.core.somaxconn` (Linux).
   */
  readonly backlog?: number | undefined
}

/**
 * The default accept backlog: 4096, the usual `net.core.somaxconn` of current Linux kernels, so that
 * a burst of connections waits in the queue instead of being reset.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultBacklog = 4096

/**
 * Listens with a `ws` server; stops listening and ends every connection when the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeServer = (
  options: ServerOptions = {}
): Effect.Effect<TransportServer["Type"], ListenError, Scope.Scope> =>
  Effect.gen(function* () {
    const host = options.host ?? "127.0.0.1"
    const pending = yield* Acceptor.acceptQueue
    return yield* Effect.acquireRelease(
      Effect.async<WS.WebSocketServer, ListenError>((resume) => {
        const serverOptions: WS.ServerOptions & WsCloseTimeout = {
          host,
          port: options.port ?? 0,
          backlog: options.backlog ?? defaultBacklog,
          ...(options.path === undefined ? {} : { verifyClient: matchPath(options.path) }),
          maxPayload: options.maxMessageBytes ?? Acceptor.defaults.maxMessageBytes,
          closeTimeout: millisOf(options.closeTimeout, Acceptor.defaults.closeTimeout),
          perMessageDeflate: false,
          clientTracking: true
        }
        const server = new WS.WebSocketServer(serverOptions)
        const onListenError = (cause: Error) => resume(Effect.fail(new ListenError({ detail: describe(cause) })))
        server.once("error", onListenError)
        server.once("listening", () => {
          server.off("error", onListenError)
          // Accept errors (EMFILE, …) would otherwise be thrown; the server keeps listening.
          server.on("error", () => {})
          // Every connection gets its listeners at once, even before any `run` takes it.
          server.on("connection", (ws: WS.WebSocket, request: IncomingMessage) => {
            ws.binaryType = "nodebuffer"
            Queue.unsafeOffer(pending, unsafeFromWebSocket(ws, request.socket, options, "server").transport)
          })
          resume(Effect.succeed(server))
        })
      }),
      // Connections still open here outlived `run`; the listener cannot close while they live.
      (server) =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
          for (const ws of server.clients) ws.terminate()
        })
    ).pipe(
      Effect.map((server) => {
        const address = server.address()
        const port = address !== null && typeof address === "object" ? address.port : 0
        return Acceptor.makeAcceptor(`ws://${host.includes(":") ? `[${host}]` : host}:${port}`, port, pending)
      })
    )
  })

/**
 * A `ws` server as a `TransportServer` layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerServer = (options: ServerOptions = {}): Layer.Layer<TransportServer, ListenError> =>
  Layer.scoped(TransportServer, makeServer(options))

/** Refuses upgrades on other paths with HTTP 404, so a wrong URL fails at once and visibly. */
const matchPath =
  (path: string) =>
  (info: { readonly req: IncomingMessage }, callback: (accept: boolean, code?: number, message?: string) => void) => {
    const target = info.req.url ?? "/"
    const query = target.indexOf("?")
    const accept = (query === -1 ? target : target.slice(0, query)) === path
    if (accept) callback(true)
    else callback(false, 404, "Not Found")
  }

/** `ws` honours `closeTimeout` (ms) on clients and servers; its type definitions omit it. */
interface WsCloseTimeout {
  readonly closeTimeout: number
}

const describe = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

const millisOf = (input: Duration.DurationInput | undefined, fallback: Duration.Duration): number =>
  Duration.toMillis(input === undefined ? fallback : Duration.decode(input))
