/**
 * The rwws client: authenticates, pings on a schedule, publishes every Pong with its round trip, and
 * reconnects with backoff after the closes docs/rwws.md calls retryable.
 *
 * @since 0.1.0
 */
import * as Deadline from "@protokernel/wire/Deadline"
import * as Keepalive from "@protokernel/wire/Keepalive"
import * as Reconnect from "@protokernel/wire/Reconnect"
import * as Transport from "@protokernel/wire/Transport"
import * as WsTransport from "@protokernel/wire/WsTransport"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import type * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import * as AccessKey from "./AccessKey.js"
import * as ClientError from "./ClientError.js"
import * as CloseCode from "./CloseCode.js"
import * as Handshake from "./Handshake.js"
import * as Packet from "./Packet.js"
import { hex, type PacketError } from "./PacketError.js"
import * as Settings from "./Settings.js"

/**
 * A Pong as the client sees it: the server's clock and, when it answers a Ping of this client, the
 * round trip. `source` is `"auth"` for the Pong that confirms authentication.
 *
 * @since 0.1.0
 * @category models
 */
export class Pong extends Data.Class<{
  readonly serverTime: bigint
  readonly roundTrip: Option.Option<Duration.Duration>
  readonly receivedAt: number
  readonly source: "auth" | "ping" | "unsolicited"
}> {}

/**
 * Where the client is: connecting, authenticated, waiting to reconnect, or done.
 *
 * @since 0.1.0
 * @category models
 */
export type State = Data.TaggedEnum<{
  Connecting: { readonly attempt: number }
  Authenticated: { readonly since: number }
  Waiting: { readonly attempt: number; readonly delay: Duration.Duration; readonly error: ClientError.ConnectionError }
  Failed: { readonly error: ClientError.ConnectionError }
  Closed: {}
}>

/**
 * Constructors and guards for `State` (`State.Authenticated(...)`, `State.$is("Failed")`).
 *
 * @since 0.1.0
 * @category models
 */
export const State = Data.taggedEnum<State>()

/**
 * Client options; durations default to the values of docs/rwws.md (§7).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** e.g. `ws://127.0.0.1:8080/api/ws` */
  readonly url: string
  /** Base64, standard or URL-safe, padding optional. */
  readonly accessKey: Redacted.Redacted<string>
  /** Default 15 s; must be in (0, 30 s]. */
  readonly pingInterval?: Duration.DurationInput | undefined
  /** Default 15 s. */
  readonly pongTimeout?: Duration.DurationInput | undefined
  /** Default 10 s. */
  readonly helloTimeout?: Duration.DurationInput | undefined
  /** Default 25 s. */
  readonly authTimeout?: Duration.DurationInput | undefined
  /**
   * `false` ends the client at the first error; default (`true`): 1 s doubling to 60 s, ±20 % jitter,
   * unlimited attempts.
   */
  readonly reconnect?: boolean | Reconnect.Options | undefined
  /** Settings the client may send. Default: the protocol's (none yet). */
  readonly registry?: Settings.Registry | undefined
}

/**
 * A connected rwws client: Pongs as a stream, pings on demand, settings, and its connection state.
 *
 * @since 0.1.0
 * @category tags
 */
export class RwwsClient extends Context.Tag("@protokernel/rwws/RwwsClient")<
  RwwsClient,
  {
    /**
     * Every Pong from now on, across reconnections; fails when the client fails, ends when it closes.
     * Each subscriber has a buffer of 4096 Pongs; one that falls further behind loses the oldest.
     */
    readonly pongs: Stream.Stream<Pong, ClientError.ConnectionError>
    /** Sends a Ping now and waits for its Pong (after authentication). */
    readonly ping: Effect.Effect<Pong, ClientError.ConnectionError>
    /**
     * Sends a Settings packet now if authenticated, and after each (re)authentication from now on.
     * Fails at once for a setting the registry does not know or a value its codec cannot hold.
     */
    readonly sendSettings: (
      settings: ReadonlyArray<Settings.Setting>
    ) => Effect.Effect<void, ClientError.ConnectionError | PacketError>
    readonly state: Effect.Effect<State>
    /** The current state, then every change. */
    readonly states: Stream.Stream<State>
    /** Waits until a connection is authenticated; fails if the client fails or closes first. */
    readonly awaitAuthenticated: Effect.Effect<void, ClientError.ConnectionError>
    /** Waits until the client ends: succeeds when closed, fails with the error that ended it. */
    readonly awaitEnd: Effect.Effect<void, ClientError.ConnectionError>
    /** Closes the connection with 1000 and stops reconnecting. */
    readonly close: Effect.Effect<void>
  }
>() {}

const spec = {
  pingInterval: Duration.seconds(15),
  maxPingInterval: Duration.seconds(30),
  pongTimeout: Duration.seconds(15),
  helloTimeout: Duration.seconds(10),
  authTimeout: Duration.seconds(25),
  reconnect: { initialDelay: Duration.seconds(1), maxDelay: Duration.seconds(60), jitter: 0.2 }
} as const

/** Checked options with durations resolved. */
interface Config {
  readonly url: string
  readonly key: Uint8Array
  readonly pingInterval: Duration.Duration
  readonly pongTimeout: Duration.Duration
  readonly helloTimeout: Duration.Duration
  readonly authTimeout: Duration.Duration
  readonly reconnect: Reconnect.Policy
  readonly registry: Settings.Registry
}

const positive = (
  option: string,
  input: Duration.DurationInput | undefined,
  fallback: Duration.Duration
): Either.Either<Duration.Duration, ClientError.InvalidOptions> => {
  const duration = input === undefined ? fallback : Duration.decodeUnknown(input).pipe(Option.getOrUndefined)
  if (duration === undefined || !Duration.isFinite(duration) || Duration.toMillis(duration) <= 0) {
    return Either.left(new ClientError.InvalidOptions({ option, detail: "must be a positive duration" }))
  }
  return Either.right(duration)
}

/** Checks options and the access key; never puts the key in an error. */
const config = (options: Options): Either.Either<Config, ClientError.InvalidOptions | AccessKey.InvalidAccessKey> =>
  Either.gen(function* () {
    const key = yield* AccessKey.decode(options.accessKey)
    const pingInterval = yield* positive("pingInterval", options.pingInterval, spec.pingInterval)
    if (Duration.greaterThan(pingInterval, spec.maxPingInterval)) {
      return yield* Either.left(
        new ClientError.InvalidOptions({
          option: "pingInterval",
          detail: `is ${Duration.toMillis(pingInterval)} ms; the server needs a ping at least every 30 s`
        })
      )
    }
    return {
      url: options.url,
      key,
      pingInterval,
      pongTimeout: yield* positive("pongTimeout", options.pongTimeout, spec.pongTimeout),
      helloTimeout: yield* positive("helloTimeout", options.helloTimeout, spec.helloTimeout),
      authTimeout: yield* positive("authTimeout", options.authTimeout, spec.authTimeout),
      reconnect: yield* Reconnect.policy(options.reconnect, spec.reconnect),
      registry: options.registry ?? Settings.standard
    }
  })

/** A Ping waiting for its Pong. */
interface Outstanding {
  readonly sentAt: number
  readonly waiter: Deferred.Deferred<Pong, ClientError.ConnectionError> | undefined
}

/** An authenticated connection. */
interface Session {
  readonly ping: (waiter: Deferred.Deferred<Pong, ClientError.ConnectionError> | undefined) => Effect.Effect<void>
  readonly send: (bytes: Uint8Array) => Effect.Effect<void>
  /** Fails with why the connection ended. */
  readonly ended: Effect.Effect<never, ClientError.ConnectionError>
}

/** What the client's connections share. */
interface Shared {
  readonly cfg: Config
  readonly connector: Transport.Connector["Type"]
  readonly state: SubscriptionRef.SubscriptionRef<State>
  // Sliding: a subscriber that stops reading must not stall the connection that publishes.
  readonly pongs: PubSub.PubSub<Pong>
  readonly slot: Reconnect.Slot<Session, ClientError.ConnectionError>
  /** The last settings asked for, sent again after each (re)authentication. */
  settings: Uint8Array | undefined
}

/** One connection, from connect to its end. */
interface Connection {
  readonly shared: Shared
  readonly transport: Transport.Transport
  /** Failed once, with why the connection ended. */
  readonly ended: Deferred.Deferred<never, ClientError.ConnectionError>
  /** The hello and authentication timers. */
  readonly timers: FiberSet.FiberSet
  readonly scope: Scope.Scope
  readonly outstanding: Array<Outstanding>
  readonly established: (session: Session) => Effect.Effect<void>
  phase: "hello" | "auth" | "ready"
  authSentAt: number
  session: Session | undefined
  keepalive: Keepalive.Keepalive<Outstanding> | undefined
}

/** How a local cause closes the connection. */
interface LocalClose {
  readonly code: number
  readonly reason: string
  readonly terminate?: boolean
}

const pingBytes = Packet.encodeClient([Packet.ping]).pipe(Either.getOrThrow)

const describeFrame = (frame: Transport.Frame): string =>
  typeof frame === "string"
    ? `text(${frame.length})`
    : frame.length === 0
      ? "an empty message"
      : Array.from(frame.subarray(0, 32), hex).join(" ")

/**
 * Ends the connection for a local cause, recorded before the close so that the close is not mistaken
 * for the server's; a close the server already started stays the server's.
 */
const endWith = (conn: Connection, error: ClientError.ConnectionError, close: LocalClose): Effect.Effect<void> =>
  Effect.flatMap(conn.transport.isOpen, (open) =>
    open
      ? Effect.flatMap(Deferred.fail(conn.ended, error), (first) =>
          first
            ? Effect.asVoid(
                close.terminate
                  ? conn.transport.terminate(close.code, close.reason)
                  : conn.transport.close(close.code, close.reason)
              )
            : Effect.void
        )
      : Effect.void
  )

/** Closes with 1000 `reason` unless the phase ends within `limit` from now. */
const startPhaseTimer = (conn: Connection, phase: "hello" | "auth", limit: Duration.Duration, reason: string) =>
  Effect.flatMap(Clock.currentTimeMillis, (now) =>
    FiberSet.run(
      conn.timers,
      Effect.zipRight(
        Deadline.sleepUntil(Deadline.after(now, limit)),
        endWith(conn, new ClientError.Timeout({ phase, millis: Duration.toMillis(limit) }), { code: 1000, reason })
      )
    )
  )

const publish = (conn: Connection, pong: Pong) => PubSub.publish(conn.shared.pongs, pong)

const sendPing = (
  conn: Connection,
  waiter: Deferred.Deferred<Pong, ClientError.ConnectionError> | undefined
): Effect.Effect<void> =>
  Effect.gen(function* () {
    if (yield* Deferred.isDone(conn.ended)) return
    const entry: Outstanding = { sentAt: yield* Clock.currentTimeMillis, waiter }
    conn.outstanding.push(entry)
    yield* Effect.ignore(conn.transport.send(pingBytes))
    if (conn.keepalive !== undefined) yield* conn.keepalive.sent(entry)
  })

/** Pongs answer the Pings in order: each settles the oldest outstanding one. */
const onPong = (conn: Connection, time: bigint, now: number) => {
  const entry = conn.outstanding.shift()
  const pong = new Pong({
    serverTime: time,
    roundTrip: entry === undefined ? Option.none() : Option.some(Duration.millis(now - entry.sentAt)),
    receivedAt: now,
    source: entry === undefined ? "unsolicited" : "ping"
  })
  return Effect.all(
    [
      entry === undefined || conn.keepalive === undefined ? Effect.void : conn.keepalive.answered(entry),
      entry?.waiter === undefined ? Effect.void : Deferred.succeed(entry.waiter, pong),
      publish(conn, pong)
    ],
    { discard: true }
  )
}

const onAuthenticated = (conn: Connection, time: bigint, now: number) =>
  Effect.gen(function* () {
    const { cfg, settings } = conn.shared
    conn.phase = "ready"
    yield* FiberSet.clear(conn.timers)
    const roundTrip = Option.some(Duration.millis(now - conn.authSentAt))
    yield* publish(conn, new Pong({ serverTime: time, roundTrip, receivedAt: now, source: "auth" }))
    const session: Session = {
      ping: (waiter) => sendPing(conn, waiter),
      send: (bytes) => Effect.ignore(conn.transport.send(bytes)),
      ended: Deferred.await(conn.ended)
    }
    conn.session = session
    // The session first, then the settings: a `sendSettings` in between still reaches the server.
    yield* conn.established(session)
    if (settings !== undefined) yield* Effect.ignore(conn.transport.send(settings))
    yield* SubscriptionRef.set(conn.shared.state, State.Authenticated({ since: now }))
    conn.keepalive = yield* Keepalive.make<Outstanding>({
      interval: cfg.pingInterval,
      timeout: cfg.pongTimeout,
      from: now,
      ping: sendPing(conn, undefined),
      onTimeout: endWith(conn, new ClientError.Timeout({ phase: "pong", millis: Duration.toMillis(cfg.pongTimeout) }), {
        code: 1000,
        reason: "pong timeout",
        terminate: true
      })
    }).pipe(Scope.extend(conn.scope))
  })

const onHello = (conn: Connection, frame: Transport.Frame) =>
  Effect.gen(function* () {
    if (!Handshake.isHello(frame)) {
      const error = new ClientError.BadHello({ received: describeFrame(frame) })
      return yield* endWith(conn, error, { code: 1002, reason: "bad hello" })
    }
    yield* FiberSet.clear(conn.timers)
    conn.phase = "auth"
    conn.authSentAt = yield* Clock.currentTimeMillis
    yield* Effect.ignore(conn.transport.send(Handshake.encodeAuth(conn.shared.cfg.key)))
    yield* startPhaseTimer(conn, "auth", conn.shared.cfg.authTimeout, "authentication timeout")
  })

const expectedPong = (conn: Connection, detail: string) =>
  endWith(conn, new ClientError.ProtocolViolation({ detail }), { code: 1002, reason: "expected a pong" })

const onFrame = (conn: Connection, frame: Transport.Frame): Effect.Effect<void> =>
  Effect.gen(function* () {
    // After a local cause ended the connection, late frames must not authenticate or count.
    if (yield* Deferred.isDone(conn.ended)) return
    if (conn.phase === "hello") return yield* onHello(conn, frame)
    if (typeof frame === "string") {
      if (conn.phase === "auth") return yield* expectedPong(conn, "text message instead of a Pong")
      return yield* Effect.logWarning("ignoring a text message from the server")
    }
    const decoded = Packet.decodeServerMessage(frame)
    const now = yield* Clock.currentTimeMillis
    let packets = decoded.packets
    if (conn.phase === "auth") {
      const first = packets[0]
      if (first === undefined) return yield* expectedPong(conn, `expected a pong, received ${describeFrame(frame)}`)
      yield* onAuthenticated(conn, first.time, now)
      packets = packets.slice(1)
    }
    for (const pong of packets) yield* onPong(conn, pong.time, now)
    if (decoded.error !== undefined) {
      yield* Effect.logWarning(`dropping the rest of a server message: ${decoded.error.message}`)
    }
  })

/** One connection, from connect to its end; fails with why it ended, after `established` if it got that far. */
const connection = (
  shared: Shared,
  established: (session: Session) => Effect.Effect<void>
): Effect.Effect<never, ClientError.ConnectionError, Scope.Scope> =>
  Effect.gen(function* () {
    const transport = yield* shared.connector.connect(shared.cfg.url, { maxMessageBytes: 64 * 1024 })
    // Closing the client ends the connection politely, as servers and the CLI contract expect.
    yield* Effect.addFinalizer(() => Effect.asVoid(transport.close(1000, "")))
    const conn: Connection = {
      shared,
      transport,
      ended: yield* Deferred.make<never, ClientError.ConnectionError>(),
      timers: yield* FiberSet.make(),
      scope: yield* Effect.scope,
      outstanding: [],
      established,
      phase: "hello",
      authSentAt: 0,
      session: undefined,
      keepalive: undefined
    }
    yield* startPhaseTimer(conn, "hello", shared.cfg.helloTimeout, "hello timeout")
    yield* transport.frames.pipe(
      Stream.runForEach((frame) => onFrame(conn, frame)),
      Effect.catchAll((closed) => Deferred.fail(conn.ended, ClientError.fromCloseError(closed))),
      Effect.forkScoped
    )
    const error = yield* Effect.flip(Deferred.await(conn.ended))
    // Calls from now on wait for the next session; those waiting on this one learn why it ended.
    if (conn.session !== undefined) yield* shared.slot.retire(conn.session)
    for (const entry of conn.outstanding.splice(0)) {
      if (entry.waiter !== undefined) yield* Deferred.fail(entry.waiter, error)
    }
    return yield* Effect.fail(error)
  }).pipe(Effect.annotateLogs({ url: shared.cfg.url }))

const minimumDelay = (error: ClientError.ConnectionError) =>
  error._tag === "ConnectionClosed" ? CloseCode.minimumDelayOf(error.code) : undefined

/** A Ping on the current (or next) session, and its Pong. */
const ping = (shared: Shared): Effect.Effect<Pong, ClientError.ConnectionError> =>
  Effect.gen(function* () {
    const current = yield* shared.slot.await
    const waiter = yield* Deferred.make<Pong, ClientError.ConnectionError>()
    yield* current.ping(waiter)
    return yield* Effect.raceFirst(Deferred.await(waiter), current.ended)
  })

const sendSettings = (shared: Shared, list: ReadonlyArray<Settings.Setting>) =>
  Effect.gen(function* () {
    shared.settings = yield* Packet.encodeClient([{ _tag: "Settings", settings: list }], shared.cfg.registry)
    const current = shared.slot.current()
    if (current !== undefined) yield* current.send(shared.settings)
    else if (Option.isSome(shared.slot.ended())) yield* Effect.asVoid(shared.slot.await)
  })

/**
 * Starts a client in the current scope. The connection loop runs in the background; calls wait for
 * authentication. Closing the scope closes the connection with 1000.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<
  RwwsClient["Type"],
  ClientError.InvalidOptions | AccessKey.InvalidAccessKey,
  Scope.Scope | Transport.Connector
> =>
  Effect.gen(function* () {
    const shared: Shared = {
      cfg: yield* config(options),
      connector: yield* Transport.Connector,
      state: yield* SubscriptionRef.make<State>(State.Connecting({ attempt: 1 })),
      pongs: yield* PubSub.sliding<Pong>(4096),
      slot: yield* Reconnect.makeSlot<Session, ClientError.ConnectionError>(),
      settings: undefined
    }
    const running = yield* Reconnect.start({
      policy: shared.cfg.reconnect,
      slot: shared.slot,
      connect: (_, established) => connection(shared, established),
      isRetryable: ClientError.isRetryable,
      minimumDelay,
      publish: (state) => SubscriptionRef.set(shared.state, state)
    }).pipe(Effect.annotateLogs({ module: "RwwsClient" }))
    return RwwsClient.of({
      pongs: Stream.fromPubSub(shared.pongs).pipe(Stream.interruptWhen(running.await)),
      ping: ping(shared),
      sendSettings: (list) => sendSettings(shared, list),
      state: SubscriptionRef.get(shared.state),
      states: shared.state.changes,
      awaitAuthenticated: Effect.asVoid(shared.slot.await),
      awaitEnd: running.await,
      close: running.close
    })
  })

/**
 * The client as a layer; it closes with the layer's scope.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<RwwsClient, ClientError.InvalidOptions | AccessKey.InvalidAccessKey, Transport.Connector> =>
  Layer.scoped(RwwsClient, make(options))

/**
 * The client over `ws`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWs = (
  options: Options
): Layer.Layer<RwwsClient, ClientError.InvalidOptions | AccessKey.InvalidAccessKey> =>
  layer(options).pipe(Layer.provide(WsTransport.layerConnector))
