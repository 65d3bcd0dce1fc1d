/**
 * The rwws client: authenticates, pings on a schedule, publishes every Pong with its round trip, and
 * reconnects with backoff after the closes the spec calls retryable.
 *
 * @since 0.1.0
 */
import * as Deadline from "@protokernel/wire/Deadline"
import * as Transport from "@protokernel/wire/Transport"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberHandle from "effect/FiberHandle"
import * as FiberId from "effect/FiberId"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Random from "effect/Random"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import * as AccessKey from "./AccessKey.js"
import * as ClientError from "./ClientError.js"
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
 * Reconnection backoff: exponential from `initial` to `max`, each delay moved by up to ±`jitter`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Backoff {
  readonly initial?: Duration.DurationInput | undefined
  readonly max?: Duration.DurationInput | undefined
  readonly jitter?: number | undefined
}

/**
 * Client options; durations default to the spec's values (§7).
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
  /** `false` ends the client at the first close; default: 1 s doubling to 60 s, ±20 % jitter. */
  readonly reconnect?: false | Backoff | undefined
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
  backoff: { initial: Duration.seconds(1), max: Duration.seconds(60), jitter: 0.2 }
} as const

/** Checked options with durations resolved. */
interface Config {
  readonly url: string
  readonly key: Uint8Array
  readonly pingInterval: Duration.Duration
  readonly pongTimeout: Duration.Duration
  readonly helloTimeout: Duration.Duration
  readonly authTimeout: Duration.Duration
  readonly backoff: { readonly initial: Duration.Duration; readonly max: Duration.Duration; readonly jitter: number }
  readonly reconnect: boolean
  readonly registry: Settings.Registry
}

const positive = (
  name: string,
  input: Duration.DurationInput | undefined,
  fallback: Duration.Duration
): Either.Either<Duration.Duration, ClientError.InvalidOptions> => {
  const duration = input === undefined ? fallback : Duration.decodeUnknown(input).pipe(Option.getOrUndefined)
  if (duration === undefined || !Duration.isFinite(duration) || Duration.toMillis(duration) <= 0) {
    return Either.left(new ClientError.InvalidOptions({ detail: `${name} must be a positive duration` }))
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
          detail: `pingInterval is ${Duration.toMillis(pingInterval)} ms; the server needs a ping at least every 30 s`
        })
      )
    }
    const backoff = options.reconnect === false ? {} : (options.reconnect ?? {})
    const jitter = backoff.jitter ?? spec.backoff.jitter
    if (!(jitter >= 0 && jitter < 1)) {
      return yield* Either.left(new ClientError.InvalidOptions({ detail: "reconnect.jitter must be in [0, 1)" }))
    }
    return {
      url: options.url,
      key,
      pingInterval,
      pongTimeout: yield* positive("pongTimeout", options.pongTimeout, spec.pongTimeout),
      helloTimeout: yield* positive("helloTimeout", options.helloTimeout, spec.helloTimeout),
      authTimeout: yield* positive("authTimeout", options.authTimeout, spec.authTimeout),
      backoff: {
        initial: yield* positive("reconnect.initial", backoff.initial, spec.backoff.initial),
        max: yield* positive("reconnect.max", backoff.max, spec.backoff.max),
        jitter
      },
      reconnect: options.reconnect !== false,
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

const pingBytes = Packet.encodeClient([Packet.ping]).pipe(Either.getOrThrow)

const describeFrame = (frame: Transport.Frame): string =>
  typeof frame === "string"
    ? `text(${frame.length})`
    : frame.length === 0
      ? "an empty message"
      : Array.from(frame.subarray(0, 32), hex).join(" ")

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
    const cfg = yield* config(options)
    const connector = yield* Transport.Connector
    const state = yield* SubscriptionRef.make<State>(State.Connecting({ attempt: 1 }))
    // Sliding: a subscriber that stops reading must not stall the connection that publishes.
    const pongs = yield* PubSub.sliding<Pong>(4096)
    const end = yield* Deferred.make<void, ClientError.ConnectionError>()
    /** The authenticated session, or the one to come; failed when the client ends. */
    let nextSession = yield* Deferred.make<Session, ClientError.ConnectionError>()
    let session: Session | undefined
    let settings: Uint8Array | undefined

    /** One connection, from connect to its end; fails with why it ended, after `authenticated` if it got that far. */
    const connection = (
      authenticated: Deferred.Deferred<void>
    ): Effect.Effect<never, ClientError.ConnectionError, Scope.Scope> =>
      Effect.gen(function* () {
        const transport = yield* connector.connect(cfg.url, { maxMessageBytes: 64 * 1024 })
        // Closing the client ends the connection politely, as servers and the CLI contract expect.
        yield* Effect.addFinalizer(() => Effect.asVoid(transport.close(1000, "")))
        const ended = yield* Deferred.make<never, ClientError.ConnectionError>()
        const timers = yield* FiberSet.make()
        const watchdog = yield* FiberHandle.make()
        const scope = yield* Effect.scope
        const outstanding: Array<Outstanding> = []
        let phase: "hello" | "auth" | "ready" = "hello"
        let authSentAt = 0

        /**
         * Ends the connection for a local cause, recorded before the close so that the close is not
         * mistaken for the server's; a close the server already started stays the server's.
         */
        const endWith = (
          error: ClientError.ConnectionError,
          close: { readonly code: number; readonly reason: string; readonly terminate?: boolean }
        ) =>
          Effect.flatMap(transport.isOpen, (open) =>
            open
              ? Effect.flatMap(Deferred.fail(ended, error), (first) =>
                  first
                    ? close.terminate
                      ? transport.terminate(close.code, close.reason)
                      : transport.close(close.code, close.reason)
                    : Effect.void
                )
              : Effect.void
          )

        const startTimer = (instant: number, onExpiry: Effect.Effect<unknown>) =>
          FiberSet.run(timers, Effect.zipRight(Deadline.sleepUntil(instant), onExpiry))

        /** One timer, for the oldest unanswered Ping. */
        const watchOldest = Effect.suspend(() => {
          const oldest = outstanding[0]
          if (oldest === undefined) return FiberHandle.clear(watchdog)
          return FiberHandle.run(
            watchdog,
            Effect.zipRight(
              Deadline.sleepUntil(Deadline.after(oldest.sentAt, cfg.pongTimeout)),
              endWith(new ClientError.Timeout({ phase: "pong", millis: Duration.toMillis(cfg.pongTimeout) }), {
                code: 1000,
                reason: "pong timeout",
                terminate: true
              })
            )
          )
        })

        const publish = (pong: Pong) => PubSub.publish(pongs, pong)

        const onPong = (time: bigint, now: number) => {
          const entry = outstanding.shift()
          const pong = new Pong({
            serverTime: time,
            roundTrip: entry === undefined ? Option.none() : Option.some(Duration.millis(now - entry.sentAt)),
            receivedAt: now,
            source: entry === undefined ? "unsolicited" : "ping"
          })
          return Effect.all(
            [
              entry === undefined ? Effect.void : watchOldest,
              entry?.waiter === undefined ? Effect.void : Deferred.succeed(entry.waiter, pong),
              publish(pong)
            ],
            { discard: true }
          )
        }

        const ping = (waiter: Deferred.Deferred<Pong, ClientError.ConnectionError> | undefined) =>
          Effect.gen(function* () {
            if (yield* Deferred.isDone(ended)) return
            const entry: Outstanding = { sentAt: yield* Clock.currentTimeMillis, waiter }
            outstanding.push(entry)
            yield* Effect.ignore(transport.send(pingBytes))
            if (outstanding.length === 1) yield* watchOldest
          })

        const onAuthenticated = (time: bigint, now: number) =>
          Effect.gen(function* () {
            phase = "ready"
            yield* FiberSet.clear(timers)
            yield* publish(
              new Pong({
                serverTime: time,
                roundTrip: Option.some(Duration.millis(now - authSentAt)),
                receivedAt: now,
                source: "auth"
              })
            )
            const current: Session = {
              ping,
              send: (bytes) => Effect.ignore(transport.send(bytes)),
              ended: Deferred.await(ended)
            }
            // The session first, then the settings: a `sendSettings` in between still reaches the server.
            session = current
            if (settings !== undefined) yield* Effect.ignore(transport.send(settings))
            yield* Deferred.succeed(nextSession, current)
            yield* SubscriptionRef.set(state, State.Authenticated({ since: now }))
            yield* Deferred.succeed(authenticated, undefined)
            const pingFrom = (instant: number): Effect.Effect<never> =>
              Effect.zipRight(
                Effect.zipRight(Deadline.sleepUntil(instant), ping(undefined)),
                Effect.suspend(() => pingFrom(Deadline.after(instant, cfg.pingInterval)))
              )
            yield* Effect.forkIn(pingFrom(Deadline.after(now, cfg.pingInterval)), scope)
          })

        const onFrame = (frame: Transport.Frame): Effect.Effect<void> =>
          Effect.gen(function* () {
            // After a local cause ended the connection, late frames must not authenticate or count.
            if (yield* Deferred.isDone(ended)) return
            if (phase === "hello") {
              if (!Handshake.isHello(frame)) {
                return yield* endWith(new ClientError.BadHello({ received: describeFrame(frame) }), {
                  code: 1002,
                  reason: "bad hello"
                })
              }
              yield* FiberSet.clear(timers)
              phase = "auth"
              authSentAt = yield* Clock.currentTimeMillis
              yield* Effect.ignore(transport.send(Handshake.encodeAuth(cfg.key)))
              yield* startTimer(
                Deadline.after(authSentAt, cfg.authTimeout),
                endWith(new ClientError.Timeout({ phase: "auth", millis: Duration.toMillis(cfg.authTimeout) }), {
                  code: 1000,
                  reason: "authentication timeout"
                })
              )
              return
            }
            if (typeof frame === "string") {
              if (phase === "auth") {
                return yield* endWith(new ClientError.ProtocolViolation({ detail: "text message instead of a Pong" }), {
                  code: 1002,
                  reason: "expected a pong"
                })
              }
              return yield* Effect.logWarning("ignoring a text message from the server")
            }
            const decoded = Packet.decodeServerMessage(frame)
            const now = yield* Clock.currentTimeMillis
            let packets = decoded.packets
            if (phase === "auth") {
              const first = packets[0]
              if (first === undefined) {
                const detail = `expected a pong, received ${describeFrame(frame)}`
                return yield* endWith(new ClientError.ProtocolViolation({ detail }), {
                  code: 1002,
                  reason: "expected a pong"
                })
              }
              yield* onAuthenticated(first.time, now)
              packets = packets.slice(1)
            }
            for (const pong of packets) yield* onPong(pong.time, now)
            if (decoded.error !== undefined) {
              yield* Effect.logWarning(`dropping the rest of a server message: ${decoded.error.message}`)
            }
          })

        yield* startTimer(
          Deadline.after(yield* Clock.currentTimeMillis, cfg.helloTimeout),
          endWith(new ClientError.Timeout({ phase: "hello", millis: Duration.toMillis(cfg.helloTimeout) }), {
            code: 1000,
            reason: "hello timeout"
          })
        )
        yield* transport.frames.pipe(
          Stream.runForEach(onFrame),
          Effect.catchAll((closed) => Deferred.fail(ended, ClientError.fromCloseError(closed))),
          Effect.forkScoped
        )
        const error = yield* Effect.flip(Deferred.await(ended))
        yield* retireSession
        for (const entry of outstanding.splice(0)) {
          if (entry.waiter !== undefined) yield* Deferred.fail(entry.waiter, error)
        }
        return yield* Effect.fail(error)
      }).pipe(
        Effect.onInterrupt(() => retireSession),
        Effect.annotateLogs({ url: cfg.url })
      )

    /** The session is gone: calls from now on wait for the next one. */
    const retireSession = Effect.suspend(() => {
      session = undefined
      return Effect.map(Deferred.isDone(nextSession), (done) => {
        if (done) nextSession = Deferred.unsafeMake(FiberId.none)
      })
    })

    /** The pause before reconnecting after `failures` failed connections in a row. */
    const delayFor = (failures: number) =>
      Effect.map(Random.next, (random) => {
        const base = Math.min(
          Duration.toMillis(cfg.backoff.max),
          Duration.toMillis(cfg.backoff.initial) * 2 ** Math.min(failures - 1, 30)
        )
        return Duration.millis(Math.round(base * (1 + cfg.backoff.jitter * (2 * random - 1))))
      })

    /** Ends the client: the final state, then every waiter learns why (`error`, or that it was closed). */
    const finish = (final: State, error: ClientError.ConnectionError | undefined) =>
      Effect.gen(function* () {
        yield* SubscriptionRef.set(state, final)
        yield* Deferred.done(end, error === undefined ? Exit.void : Exit.fail(error))
        yield* Deferred.fail(nextSession, error ?? new ClientError.ClientClosed())
      })

    const run = Effect.gen(function* () {
      let failures = 0
      while (true) {
        yield* SubscriptionRef.set(state, State.Connecting({ attempt: failures + 1 }))
        const authenticated = yield* Deferred.make<void>()
        const error = yield* Effect.flip(Effect.scoped(connection(authenticated)))
        // A connection that authenticated resets the backoff.
        failures = (yield* Deferred.isDone(authenticated)) ? 1 : failures + 1
        if (!cfg.reconnect || !ClientError.isRetryable(error)) {
          return yield* finish(State.Failed({ error }), error)
        }
        const delay = yield* delayFor(failures)
        yield* Effect.logInfo(`reconnecting in ${Duration.format(delay)}: ${error.message}`)
        yield* SubscriptionRef.set(state, State.Waiting({ attempt: failures + 1, delay, error }))
        yield* Effect.sleep(delay)
      }
    }).pipe(Effect.annotateLogs({ module: "RwwsClient" }))

    const running = yield* Effect.forkScoped(run)

    const close = Effect.gen(function* () {
      yield* Fiber.interrupt(running)
      if (!(yield* Deferred.isDone(end))) yield* finish(State.Closed(), undefined)
    })
    yield* Effect.addFinalizer(() => close)

    const awaitSession = Effect.suspend(() => Deferred.await(nextSession))

    return RwwsClient.of({
      pongs: Stream.fromPubSub(pongs).pipe(Stream.interruptWhen(Deferred.await(end))),
      ping: Effect.gen(function* () {
        const current = yield* awaitSession
        const waiter = yield* Deferred.make<Pong, ClientError.ConnectionError>()
        yield* current.ping(waiter)
        return yield* Effect.raceFirst(Deferred.await(waiter), current.ended)
      }),
      sendSettings: (list) =>
        Effect.gen(function* () {
          settings = yield* Packet.encodeClient([{ _tag: "Settings", settings: list }], cfg.registry)
          if (session !== undefined) yield* session.send(settings)
          else if (yield* Deferred.isDone(end)) yield* Effect.asVoid(awaitSession)
        }),
      state: SubscriptionRef.get(state),
      states: state.changes,
      awaitAuthenticated: Effect.asVoid(awaitSession),
      awaitEnd: Deferred.await(end),
      close
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
  layer(options).pipe(Layer.provide(Transport.layerWsConnector))
