/**
 * One connection: the table of pending requests (id → the handler waiting for its messages), the
 * receive loop with the client receive rules of §1.5, the binary binding of §4.5, and the
 * classification of how the connection ended (§1.5: a local cause is recorded before the close starts).
 *
 * Every event is a named function over the `Connection` record; frames are handled synchronously as
 * they arrive, an Effect appears only where something must wait.
 */
import * as Deadline from "@protokernel/wire/Deadline"
import type * as Keepalive from "@protokernel/wire/Keepalive"
import type * as Transport from "@protokernel/wire/Transport"
import * as Uint64 from "@protokernel/wire/Uint64"
import type * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as PubSub from "effect/PubSub"
import type * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as ClientError from "../../ClientError.js"
import * as CloseCode from "../../CloseCode.js"
import * as Envelope from "../../Envelope.js"
import * as Field from "../../Field.js"
import * as PanelEvent from "../../PanelEvent.js"
import * as Usecase from "../../Usecase.js"
import type * as DownloadImpl from "../download.js"
import type { Config } from "./config.js"
import { malformed, type Received } from "./responses.js"

/** A request's text for the id it is sent under; no id is used when encoding fails. */
export type Encode = (id: Uint64.Uint64) => Either.Either<string, ParseResult.ParseError>

/**
 * Whoever waits for messages under one id. Plain calls take one response; a download takes stream
 * headers (type 8, also for a type-10 request) and the binary frames they bind.
 */
export interface Handler {
  /** The request's type; a message of another type fails the handler (except 8 for a type-10 request). */
  readonly type: number
  readonly usecase: string
  /**
   * A message under the handler's id, handled synchronously; returns whether the handler is done
   * (leaves the table), or an Effect deciding it when something must be sent first.
   */
  readonly onMessage: (envelope: Envelope.Envelope, receivedAt: number) => DownloadImpl.Done
  /** Receives the binary frame bound by a type-8 header (none: discarded); an Effect makes the loop wait. */
  readonly onBinary: ((bytes: Uint8Array) => Effect.Effect<void> | undefined) | undefined
  /** The handler leaves the table with this error. */
  readonly fail: (error: ClientError.CallError) => Effect.Effect<void>
  /**
   * The request timeout of a call (ms), or a stream's idle timeout (moved on by every header). None
   * for pings, which the keepalive watches. Neither runs while the receive loop waits for a download's
   * consumer.
   */
  readonly timeout: number | undefined
  /** A stream: its timeout is an idle timeout. */
  readonly streaming: boolean
}

/** What the client shares with each of its connections. */
export interface Shared {
  readonly events: PubSub.PubSub<PanelEvent.PanelEvent>
  readonly latestRtt: Ref.Ref<Option.Option<Duration.Duration>>
}

/** A type-8 header announced a binary frame of `length` bytes. */
interface Binding {
  readonly length: number
  readonly sink: Handler["onBinary"]
  /** The stream whose idle timeout the frame moves on (data is the only progress, §4.5). */
  readonly stream: bigint | undefined
}

/** One open connection and everything its handlers read and change. */
export interface Connection {
  readonly config: Config
  readonly transport: Transport.Transport
  /** Read synchronously on the hot paths (every call, every frame); a TestClock is honoured all the same. */
  readonly clock: Clock.Clock
  /** The connection's scope: its fibers (sweeper, receive loop, pings) end with it. */
  readonly scope: Scope.Scope
  readonly shared: Shared
  readonly pending: Map<bigint, Handler>
  /** Completed once, with why the connection ended. */
  readonly ended: Deferred.Deferred<ClientError.CallError>
  /** Request timeouts: one fiber for the whole table. */
  readonly sweeper: Deadline.Sweeper<bigint>
  /** Pings and their watchdog, from the moment `initialize` succeeded. */
  keepalive: Keepalive.Keepalive<bigint> | undefined
  endError: ClientError.CallError | undefined
  nextId: bigint
  binding: Binding | undefined
  /** Intermediate headers without a chunk since the last binary frame (`Config.maxEmptyHeaders`). */
  emptyHeaders: number
}

/**
 * Connects and starts the receive loop and the request sweeper in the current scope. Closing the
 * scope closes the connection with 1000 (a local close, unless it had already ended).
 */
export const open = (
  config: Config,
  connector: Transport.Connector["Type"],
  shared: Shared
): Effect.Effect<Connection, Transport.ConnectError, Scope.Scope> =>
  Effect.gen(function* () {
    // No message above both limits is read at all; text is held to its own, smaller, limit on arrival.
    const transport = yield* connector.connect(config.url, {
      maxMessageBytes: Math.max(config.maxChunkSize, config.maxTextMessageBytes)
    })
    const pending = new Map<bigint, Handler>()
    const connection: Connection = {
      config,
      transport,
      clock: yield* Effect.clock,
      scope: yield* Effect.scope,
      shared,
      pending,
      ended: yield* Deferred.make<ClientError.CallError>(),
      sweeper: yield* Deadline.makeSweeper((id: bigint) => expire(pending, id)),
      keepalive: undefined,
      endError: undefined,
      nextId: 1n,
      binding: undefined,
      emptyHeaders: 0
    }
    yield* Effect.addFinalizer(() => closeOnExit(connection))
    yield* transport
      .receive((frame) => onFrame(connection, frame))
      .pipe(
        Effect.catchAll(Effect.succeed),
        Effect.flatMap((closed) => settle(connection, fromClose(closed))),
        Effect.forkIn(connection.scope)
      )
    return connection
  })

const clientClosed = new ClientError.ClientClosed()

const fromClose = (closed: Transport.CloseError) =>
  new ClientError.ConnectionClosed({ code: closed.code, reason: closed.reason, initiator: closed.initiator })

/** The user closed the client, or an attempt failed: a local close, unless the connection already ended. */
const closeOnExit = (connection: Connection) =>
  Effect.gen(function* () {
    const transport = connection.transport
    if (connection.endError === undefined) {
      if (yield* transport.isOpen) yield* endWith(connection, clientClosed, transport.close(1000, ""))
      else yield* settle(connection, fromClose(yield* transport.closed))
    }
    yield* transport.close(1000, "")
  })

/** Records why the connection ended and fails every pending call with it; false if already ended. */
export const settle = (connection: Connection, error: ClientError.CallError): Effect.Effect<boolean> =>
  Effect.suspend(() => {
    if (connection.endError !== undefined) return Effect.succeed(false)
    connection.endError = error
    const handlers = Array.from(connection.pending.values())
    connection.pending.clear()
    return Effect.forEach(handlers, (handler) => handler.fail(error), { discard: true }).pipe(
      Effect.zipRight(Deferred.succeed(connection.ended, error)),
      Effect.as(true)
    )
  })

/**
 * Ends the connection for a local cause: recorded before the close starts, so that the close is
 * classified by it (§1.5); a close the server already started stays the server's.
 */
export const endWith = (connection: Connection, error: ClientError.CallError, close: Effect.Effect<unknown>) =>
  Effect.uninterruptible(
    Effect.flatMap(connection.transport.isOpen, (open) =>
      open
        ? Effect.flatMap(settle(connection, error), (first) => (first ? Effect.asVoid(close) : Effect.void))
        : Effect.void
    )
  )

/** Closes with 1002 and fails every pending call with `ProtocolViolation` (§1.5). */
const violate = (connection: Connection, detail: string) =>
  Effect.zipRight(
    Effect.logWarning(`protocol violation: ${detail}`),
    endWith(
      connection,
      new ClientError.ProtocolViolation({ detail }),
      connection.transport.close(1002, `protocol violation: ${detail}`)
    )
  )

/** Closes with 1009 and fails every pending call with `MessageTooBig`. */
const tooBig = (connection: Connection, bytes: number) =>
  Effect.zipRight(
    Effect.logWarning(`message too big: ${bytes} bytes`),
    endWith(
      connection,
      new ClientError.MessageTooBig({ bytes, limit: connection.config.maxTextMessageBytes }),
      connection.transport.close(CloseCode.codes.messageTooBig, "message too big")
    )
  )

/** The UTF-8 size of `text` when it is above `limit`, without counting the common short message. */
const sizeAbove = (text: string, limit: number): number | undefined => {
  // A UTF-16 unit takes 1 to 3 UTF-8 bytes (a surrogate pair 4 for 2 units).
  if (text.length * 3 <= limit) return undefined
  const bytes = Buffer.byteLength(text, "utf8")
  return bytes > limit ? bytes : undefined
}

/** A request timed out: its handler leaves the table with `Timeout` (a late response is dropped). */
const expire = (pending: Map<bigint, Handler>, id: bigint): Effect.Effect<void> => {
  const handler = pending.get(id)
  if (handler === undefined) return Effect.void
  pending.delete(id)
  const millis = handler.timeout ?? 0
  return handler.fail(
    new ClientError.Timeout(
      handler.streaming ? { usecase: handler.usecase, millis, idle: true } : { usecase: handler.usecase, millis }
    )
  )
}

/** `id` leaves the table: answered, failed or given up. */
const leave = (connection: Connection, id: bigint): void => {
  connection.pending.delete(id)
  connection.sweeper.unsafeRemove(id)
}

/**
 * Takes the next id, registers `handler` under it and sends the request. The id is taken and the
 * frame written in one synchronous step, so ids leave in order (1, 2, 3, …) even when the send then
 * waits for the socket to drain. No id is used if encoding fails.
 */
export const register = (
  connection: Connection,
  usecase: Usecase.Any,
  encode: Encode,
  handler: Handler,
  deadline: number
): Effect.Effect<bigint, ClientError.CallError> =>
  Effect.suspend(() => {
    if (connection.endError !== undefined) return Effect.fail(connection.endError)
    const id = Uint64.make(connection.nextId)
    const text = encode(id)
    if (Either.isLeft(text)) {
      return Effect.fail(
        new ClientError.InvalidArgument({ argument: usecase.name, detail: Usecase.describeError(text.left) })
      )
    }
    connection.nextId++
    connection.pending.set(id, handler)
    if (handler.timeout !== undefined) {
      connection.sweeper.unsafeAdd(id, deadline, handler.streaming ? { idle: handler.timeout } : undefined)
    }
    // Written at once when the socket has room; otherwise the send waits. A failed send means the
    // connection is closing: `settle` fails the call.
    if (connection.transport.trySend(text.right)) return Effect.succeed(id)
    return Effect.as(Effect.ignore(connection.transport.send(text.right)), id)
  })

/** Removes `handler` from the table if it is still there (its caller gave up). */
export const forget = (connection: Connection, id: bigint | undefined, handler: Handler) =>
  Effect.sync(() => {
    if (id !== undefined && connection.pending.get(id) === handler) leave(connection, id)
  })

/**
 * The result of one call, completed once by the receive loop (or a failure) and awaited by the caller.
 * Lighter than a `Deferred`, whose construction dominated the cost of a call.
 */
export class Outcome<A, E> {
  private done: Exit.Exit<A, E> | undefined = undefined
  private waiting: ((exit: Exit.Exit<A, E>) => void) | undefined = undefined

  /** Only the first completion counts. */
  complete(exit: Exit.Exit<A, E>): void {
    if (this.done !== undefined) return
    this.done = exit
    this.waiting?.(exit)
  }

  /** Waits for the completion; `onInterrupt` runs if the caller is interrupted first. */
  await(onInterrupt: () => Effect.Effect<void>): Effect.Effect<A, E> {
    return Effect.async<A, E>((resume) => {
      if (this.done !== undefined) return resume(this.done)
      this.waiting = resume
      return onInterrupt()
    })
  }
}

const isAppliedClose = (error: ClientError.CallError): boolean =>
  error._tag === "ConnectionClosed" &&
  error.initiator === "remote" &&
  (error.code === CloseCode.codes.blacklisted || error.code === CloseCode.codes.normal)

/** The handler of a plain call: one response completes its outcome. */
export class CallHandler implements Handler {
  readonly type: number
  readonly usecase: string
  readonly streaming = false
  readonly onBinary = undefined

  constructor(
    usecase: Usecase.Any,
    private readonly connection: Connection,
    private readonly result: Outcome<Received, ClientError.CallError>,
    /** A close that means the request was applied (§3 type 7) resolves the call. */
    private readonly appliedOnClose: boolean,
    readonly timeout: number | undefined
  ) {
    this.type = usecase.type
    this.usecase = usecase.name
  }

  onMessage(envelope: Envelope.Envelope, receivedAt: number): boolean {
    this.result.complete(Exit.succeed({ payload: envelope.payload, receivedAt, resolvedByClose: false }))
    return true
  }

  fail(error: ClientError.CallError): Effect.Effect<void> {
    return Effect.sync(() =>
      this.result.complete(
        this.appliedOnClose && isAppliedClose(error)
          ? Exit.succeed({
              payload: {},
              receivedAt: this.connection.clock.unsafeCurrentTimeMillis(),
              resolvedByClose: true
            })
          : Exit.fail(error)
      )
    )
  }
}

/** How a plain request is timed and judged. */
export interface RequestOptions {
  readonly deadline: number
  readonly millis: number
  readonly appliedOnClose: boolean
}

/** Sends a request and waits for its response. The hot path of every call: no generator, no Deferred, no timer. */
export const request = (
  connection: Connection,
  usecase: Usecase.Any,
  encode: Encode,
  options: RequestOptions
): Effect.Effect<Received, ClientError.CallError> =>
  Effect.suspend(() => {
    const result = new Outcome<Received, ClientError.CallError>()
    const handler = new CallHandler(usecase, connection, result, options.appliedOnClose, options.millis)
    return Effect.flatMap(register(connection, usecase, encode, handler, options.deadline), (id) =>
      result.await(() => forget(connection, id, handler))
    )
  })

const faultDetail = (error: Envelope.EnvelopeError): string =>
  // The parser's message may quote what it read; the other details are fixed texts.
  error.fault === "not_json" ? "invalid JSON" : error.detail

/** One frame from the transport. */
const onFrame = (connection: Connection, frame: Transport.Frame): Effect.Effect<void> | undefined => {
  if (connection.endError !== undefined) return undefined
  if (typeof frame !== "string") return onBinaryFrame(connection, frame)
  const oversize = sizeAbove(frame, connection.config.maxTextMessageBytes)
  if (oversize !== undefined) return tooBig(connection, oversize)
  if (connection.binding !== undefined) {
    return violate(connection, `text frame while a binary frame of ${connection.binding.length} bytes is pending`)
  }
  const decoded = Envelope.decode(frame)
  if (Either.isLeft(decoded)) return violate(connection, faultDetail(decoded.left))
  return onEnvelope(connection, decoded.right, connection.clock.unsafeCurrentTimeMillis())
}

/** A binary frame must be the one the last type-8 header announced (§4.5). */
const onBinaryFrame = (connection: Connection, frame: Uint8Array): Effect.Effect<void> | undefined => {
  const expected = connection.binding
  if (expected === undefined) return violate(connection, "binary frame without a pending header")
  if (frame.byteLength !== expected.length) {
    return violate(connection, `binary frame of ${frame.byteLength} bytes, expected ${expected.length}`)
  }
  connection.binding = undefined
  connection.emptyHeaders = 0
  if (expected.stream !== undefined) moveIdleOn(connection, expected.stream)
  const wait = expected.sink === undefined ? undefined : expected.sink(frame)
  return wait === undefined ? undefined : stall(connection, wait)
}

/** The `chunk_size` of a type-8 message (0 for other types), or the violation it is. */
const chunkSizeOf = (connection: Connection, envelope: Envelope.Envelope): number | string => {
  if (envelope.type !== Usecase.TransferFile.type) return 0
  const raw = envelope.payload["chunk_size"]
  if (raw === undefined) return "type-8 message without 'chunk_size'"
  const size = Field.int32FromJson(raw)
  if (Option.isNone(size)) return "'chunk_size' is not an integer"
  if (size.value < 0) return "'chunk_size' is negative"
  if (size.value > connection.config.maxChunkSize) {
    return `'chunk_size' is above the client limit of ${connection.config.maxChunkSize} bytes`
  }
  return size.value
}

/** Any type-8 message with a chunk binds the next binary frame, whatever else is wrong with it (§4.5). */
const bindNext = (
  connection: Connection,
  chunk: number,
  sink: Binding["sink"],
  stream: bigint | undefined = undefined
): void => {
  if (chunk > 0) connection.binding = { length: chunk, sink, stream }
}

/** Data arrived for a stream: its idle timeout starts over (headers alone never move it on). */
const moveIdleOn = (connection: Connection, id: bigint): void => {
  const handler = connection.pending.get(id)
  if (handler === undefined || !handler.streaming || handler.timeout === undefined) return
  connection.sweeper.unsafeAdd(id, connection.clock.unsafeCurrentTimeMillis() + handler.timeout, {
    idle: handler.timeout
  })
}

/**
 * An intermediate header without a chunk moves nothing forward: a run of them longer than
 * `maxEmptyHeaders` is a server that keeps a stream alive without sending it.
 */
const isEmptyHeader = (envelope: Envelope.Envelope, chunk: number): boolean => {
  if (chunk !== 0 || envelope.type !== Usecase.TransferFile.type) return false
  const status = envelope.payload["status"]
  return status === undefined || status === 0
}

/** Handles a message; an Effect only when there is something to wait for (the hot paths return none). */
const onEnvelope = (
  connection: Connection,
  envelope: Envelope.Envelope,
  receivedAt: number
): Effect.Effect<void> | undefined => {
  if (!Envelope.isKnownType(envelope.type)) {
    return Effect.logDebug("ignoring a message whose type is outside 0..18")
  }
  const chunk = chunkSizeOf(connection, envelope)
  if (typeof chunk === "string") return violate(connection, chunk)
  const id = Envelope.id(envelope)
  if (Option.isNone(id)) {
    bindNext(connection, chunk, undefined)
    return Effect.logDebug(`dropping a type-${envelope.type} message without a valid id`)
  }
  if (id.value === Envelope.PUSH_ID) {
    bindNext(connection, chunk, undefined)
    return onPush(connection, envelope)
  }
  const handler = connection.pending.get(id.value)
  if (handler === undefined) {
    bindNext(connection, chunk, undefined)
    return Effect.logDebug(`dropping a type-${envelope.type} message for no pending request`)
  }
  if (handler.type !== envelope.type && !(envelope.type === 8 && handler.type === 10)) {
    bindNext(connection, chunk, undefined)
    leave(connection, id.value)
    return handler.fail(
      malformed(handler.usecase, `a response of type ${envelope.type} answered a type-${handler.type} request`)
    )
  }
  bindNext(connection, chunk, handler.onBinary, handler.streaming ? id.value : undefined)
  if (handler.streaming && isEmptyHeader(envelope, chunk)) {
    connection.emptyHeaders++
    if (connection.emptyHeaders > connection.config.maxEmptyHeaders) {
      return violate(
        connection,
        `more than ${connection.config.maxEmptyHeaders} type-8 headers in a row without a chunk`
      )
    }
  }
  const step = handler.onMessage(envelope, receivedAt)
  if (step === true) {
    if (connection.pending.get(id.value) === handler) leave(connection, id.value)
    return undefined
  }
  if (step === false) return undefined
  return Effect.map(step, (done) => {
    if (done && connection.pending.get(id.value) === handler) leave(connection, id.value)
  })
}

/** A message under the push id: a panel event (§5), anything else is dropped. */
const onPush = (connection: Connection, envelope: Envelope.Envelope): Effect.Effect<void> => {
  if (envelope.type !== Usecase.PanelEventSubscribe.type) {
    return Effect.logDebug(`dropping a type-${envelope.type} message with the push id`)
  }
  return Either.match(PanelEvent.decode(envelope.payload), {
    onLeft: (error) => Effect.logDebug(`dropping a panel event: ${Usecase.describeError(error)}`),
    onRight: (event) =>
      Effect.zipRight(
        event.isKnown ? Effect.void : Effect.logDebug(`panel event of unknown type ${event.eventType}`),
        Effect.asVoid(PubSub.publish(connection.shared.events, event))
      )
  })
}

/**
 * The receive loop waits for a download's consumer. The wait is the client's own: request timeouts
 * and the ping watchdog hold meanwhile (deadlines move on by its length, idle timeouts start over).
 */
const stall = (connection: Connection, wait: Effect.Effect<void>): Effect.Effect<void> => {
  const keepalive = connection.keepalive
  const sweeper = connection.sweeper
  // The watchdog restarts on a fiber of its own: started from the receive loop, clearing it on the
  // next answer would hold the loop.
  const resume =
    keepalive === undefined
      ? sweeper.resume
      : Effect.zipRight(sweeper.resume, Effect.asVoid(Effect.forkIn(keepalive.resume, connection.scope)))
  return Effect.zipRight(
    keepalive === undefined ? sweeper.pause : Effect.zipRight(sweeper.pause, keepalive.pause),
    Effect.ensuring(wait, resume)
  )
}
