/**
 * A WebSocket connection as a service: frames in as a `Stream`, frames out, close with a code and a
 * reason; and the two services that make connections, `Connector` (client side) and `TransportServer`.
 * `WsTransport` backs them with the `ws` package, `MemoryTransport` with an in-memory network.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"

/**
 * One WebSocket message after frame reassembly: text as a `string`, binary as a `Uint8Array`.
 *
 * @since 0.1.0
 * @category models
 */
export type Frame = string | Uint8Array

/**
 * The connection is closed. `initiator` tells who sent the first close frame: for `"local"` the code
 * and reason are the ones this side sent, for `"remote"` the ones received (1006: no close frame, the
 * connection was lost; 1005: a close frame without a code).
 *
 * @since 0.1.0
 * @category errors
 */
export class CloseError extends Schema.TaggedError<CloseError>("@protokernel/wire/CloseError")("CloseError", {
  code: Schema.Int,
  reason: Schema.String,
  initiator: Schema.Literal("local", "remote")
}) {
  /** Whether the connection ended without a closing handshake. */
  get lost(): boolean {
    return this.code === 1006
  }

  override get message(): string {
    const who = this.initiator === "local" ? "closed locally" : this.lost ? "connection lost" : "closed by peer"
    return `${who} with ${this.code}${this.reason === "" ? "" : ` '${this.reason}'`}`
  }
}

/**
 * A connection could not be opened (refused, bad URL, failed upgrade, handshake timeout).
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectError extends Schema.TaggedError<ConnectError>("@protokernel/wire/ConnectError")("ConnectError", {
  url: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `cannot connect to ${this.url}: ${this.detail}`
  }
}

/**
 * A server could not listen.
 *
 * @since 0.1.0
 * @category errors
 */
export class ListenError extends Schema.TaggedError<ListenError>("@protokernel/wire/ListenError")("ListenError", {
  detail: Schema.String
}) {
  override get message(): string {
    return `cannot listen: ${this.detail}`
  }
}

/**
 * One open connection.
 *
 * - `frames` has a single consumer. It emits every message in arrival order, then fails with the
 *   `CloseError` that ended the connection. When the consumer falls behind, reading from the network
 *   pauses (bounded memory) and resumes once the buffer is drained. `receive` is the same, pushed to a
 *   synchronous handler (for receive loops where a fiber hop per frame is too dear).
 * - `send` fails with the `CloseError` once a close was started or received (waiting for the close to
 *   complete, to know its code); it waits for the network only when too many bytes are queued.
 * - After this side starts a close, frames that still arrive are dropped.
 * - `close` sends a close frame (reason cut to 123 UTF-8 bytes) and waits for the connection to end;
 *   `terminate` drops it at once, after sending a close frame when a code is given.
 *
 * @since 0.1.0
 * @category models
 */
export interface Transport {
  readonly frames: Stream.Stream<Frame, CloseError>
  /**
   * The other way to consume the frames (use one or the other): `handle` is called synchronously for
   * each frame, in order, as it arrives, with no Effect or fiber per frame. When it returns an Effect,
   * the next frames wait until that Effect has completed (reading from the network pauses while they
   * pile up). Fails with the `CloseError` once every frame was handled; dies if a returned Effect does.
   */
  readonly receive: (handle: (frame: Frame) => Effect.Effect<void> | undefined) => Effect.Effect<never, CloseError>
  readonly send: (frame: Frame) => Effect.Effect<void, CloseError>
  /** Writes frames back to back, nothing in between (then waits like `send` when too much is queued). */
  readonly sendAll: (frames: ReadonlyArray<Frame>) => Effect.Effect<void, CloseError>
  /**
   * Writes the frame now if the connection is open and not above its high-water mark, and says whether
   * it did; otherwise nothing is written (use `send`, which waits). For hot paths that cannot afford an
   * Effect per frame.
   */
  readonly trySend: (frame: Frame) => boolean
  readonly close: (code: number, reason?: string) => Effect.Effect<CloseError>
  readonly terminate: (code?: number, reason?: string) => Effect.Effect<CloseError>
  /** Waits until the connection has ended. */
  readonly closed: Effect.Effect<CloseError>
  /** Whether frames may still be sent: no close was started or received. */
  readonly isOpen: Effect.Effect<boolean>
  /**
   * The output not yet handed to the network: messages written whose flush was not reported, and their
   * bytes. What the send bounds of `ConnectionOptions` compare; always 0 in memory.
   */
  readonly unsent: Effect.Effect<{ readonly messages: number; readonly bytes: number }>
  /** The peer's IP address as the socket reports it (`"127.0.0.1"` for in-memory connections). */
  readonly remoteAddress: string
}

/**
 * A single connection provided as a service.
 *
 * @since 0.1.0
 * @category tags
 */
export const Transport: Context.Tag<Transport, Transport> = Context.GenericTag<Transport>("@protokernel/wire/Transport")

/**
 * Options of a connection.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectionOptions {
  /** Largest message accepted; a larger one closes the connection with 1009. Default 100 MiB. */
  readonly maxMessageBytes?: number | undefined
  /** Messages buffered before reading pauses. Default 64. */
  readonly receiveHighWaterMark?: number | undefined
  /**
   * Unflushed bytes from which `send` waits (and `trySend` declines), and reading pauses when
   * `pauseReadingWhileSendFull`. Default 1 MiB.
   */
  readonly sendHighWaterMark?: number | undefined
  /**
   * Unflushed messages from which `send` waits (and `trySend` declines), and reading pauses when
   * `pauseReadingWhileSendFull`. Default 1024. A bound in bytes alone misses a flood of tiny replies: each
   * queued message costs far more memory than its bytes (an 11-byte Pong about 1 KiB), so 1 MiB of them
   * would hold some 100 MB.
   */
  readonly sendHighWaterMessages?: number | undefined
  /**
   * Stop reading from the peer while this side's unflushed output is at either send bound, and read again
   * once it has drained to half of both: a peer that sends requests without reading the replies is then
   * pushed back by TCP instead of costing unbounded memory, and replies are queued, never dropped.
   * Default `true` for server connections, `false` for client ones: when both ends of a connection did
   * it, two peers each writing faster than the other reads could wait on each other for ever; a client
   * bounds what it sends itself (`send` waits at the bounds).
   */
  readonly pauseReadingWhileSendFull?: boolean | undefined
  /** How long a close waits for the peer's close frame before dropping the connection. Default 5 s. */
  readonly closeTimeout?: Duration.DurationInput | undefined
}

/**
 * Options of a client connection.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectOptions extends ConnectionOptions {
  /** How long the opening handshake may take. Default 10 s. */
  readonly openTimeout?: Duration.DurationInput | undefined
}

/**
 * Opens client connections.
 *
 * @since 0.1.0
 * @category tags
 */
export class Connector extends Context.Tag("@protokernel/wire/Connector")<
  Connector,
  {
    /** Opens a connection that is terminated when the scope closes, if it is still open then. */
    readonly connect: (url: string, options?: ConnectOptions) => Effect.Effect<Transport, ConnectError, Scope.Scope>
  }
>() {}

/**
 * Options of `TransportServer.run`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunOptions {
  /** The close sent to connections still open when `run` is interrupted. Default 1001 'server shutting down'. */
  readonly shutdownClose?: { readonly code: number; readonly reason: string } | undefined
}

/**
 * Accepts connections and runs a handler for each, in its own fiber and scope.
 *
 * @since 0.1.0
 * @category tags
 */
export class TransportServer extends Context.Tag("@protokernel/wire/TransportServer")<
  TransportServer,
  {
    /** `ws://host:port` for a network server, `memory://…` for an in-memory one. */
    readonly url: string
    readonly port: number
    /**
     * Serves until interrupted. Each accepted connection goes to exactly one `run`; connections that
     * arrive while none runs wait for one. When a handler ends, its connection is closed with 1000 if
     * still open; when it fails or dies, with 1011. Interrupting `run` ends its connections with
     * `shutdownClose`.
     */
    readonly run: <E, R>(
      handler: (transport: Transport) => Effect.Effect<void, E, R>,
      options?: RunOptions
    ) => Effect.Effect<never, never, R>
  }
>() {}
