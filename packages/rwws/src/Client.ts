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
import * as Fiber from "effect/Fiber"
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
import { hex } from "./PacketError.js"
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
  Waiting: { readonly attempt: number; readonly delay: Duration.Duration; readonly error: ClientError.RwwsError }
  Failed: { readonly error: ClientError.RwwsError }
  Closed: {}
}>

/**
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
 * @since 0.1.0
 * @category tags
 */
export class RwwsClient extends Context.Tag("@protokernel/rwws/RwwsClient")<
  RwwsClient,
  {
    /** Every Pong from now on, across reconnections; fails when the client fails, ends when it closes. */
    readonly pongs: Stream.Stream<Pong, ClientError.RwwsError>
    /** Sends a Ping now and waits for its Pong (after authentication). */
    readonly ping: Effect.Effect<Pong, ClientError.RwwsError>
    /** Sends a Settings packet, and sends it again after each reconnection. */
    readonly sendSettings: (settings: ReadonlyArray<Settings.Setting>) => Effect.Effect<void, ClientError.RwwsError>
    readonly state: Effect.Effect<State>
    /** The current state, then every change. */
    readonly states: Stream.Stream<State>
    /** Waits until a connection is authenticated; fails if the client fails or closes first. */
    readonly awaitAuthenticated: Effect.Effect<void, ClientError.RwwsError>
    /** Waits until the client ends: succeeds when closed, fails with the error that ended it. */
    readonly awaitEnd: Effect.Effect<void, ClientError.RwwsError>
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

/**
 * Checks options and the access key; fails with `InvalidAccessKey` or `InvalidOptions`, and never
 * puts the key in an error.
 *
 * @since 0.1.0
 * @category constructors
 */
export const config = (
  options: Options
): Either.Either<Config, ClientError.InvalidOptions | AccessKey.InvalidAccessKey> =>
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
  readonly waiter: Deferred.Deferred<Pong, ClientError.RwwsError> | undefined
}

/** An authenticated connection. */
interface Session {
  readonly ping: (waiter: Deferred.Deferred<Pong, ClientError.RwwsError> | undefined) => Effect.Effect<void>
  readonly send: (bytes: Uint8Array) => Effect.Effect<void>
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
    const pongs = yield* PubSub.unbounded<Pong>()
    const end = yield* Deferred.make<void, ClientError.RwwsError>()
    let session: Session | undefined
    let settings: Uint8Array | undefined

    /** One connection, from connect to its end; fails with why it ended, after `authenticated` if it got that far. */
    const connection = (authenticated: Deferred.Deferred<void>): Effect.Effect<never, ClientError.RwwsError> =>
      Effect.gen(function* () {
        const transport = yield* connector.connect(cfg.url, { maxMessageBytes: 64 * 1024 })
        // Closing the client ends the connection politely, as servers and the CLI contract expect.
        yield* Effect.addFinalizer(() => Effect.asVoid(transport.close(1000, "")))
        const ended = yield* Deferred.make<never, ClientError.RwwsError>()
        const timers = yield* FiberSet.make()
        const scope = yield* Effect.scope
        const outstanding: Array<Outstanding> = []
        let phase: "hello" | "auth" | "ready" = "hello"
        let authSentAt = 0

        /** Records the local cause first, so the close it triggers is not mistaken for the server's. */
        const endWith = (
          error: ClientError.RwwsError,
          close: { readonly code: number; readonly reason: string; readonly terminate?: boolean }
        ) =>
          Effect.flatMap(Deferred.fail(ended, error), (first) =>
            first
              ? close.terminate
                ? transport.terminate(close.code, close.reason)
                : transport.close(close.code, close.reason)
              : Effect.void
          )

        const startTimer = (instant: number, onExpiry: Effect.Effect<unknown>) =>
          FiberSet.run(timers, Effect.zipRight(Deadline.sleepUntil(instant), onExpiry))

        const publish = (pong: Pong) => PubSub.publish(pongs, pong)

        const onPong = (time: bigint, now: number) => {
          const entry = outstanding.shift()
          const pong = new Pong({
            serverTime: time,
            roundTrip: entry === undefined ? Option.none() : Option.some(Duration.millis(now - entry.sentAt)),
            receivedAt: now,
            source: entry === undefined ? "unsolicited" : "ping"
          })
          return Effect.zipRight(
            entry?.waiter === undefined ? Effect.void : Deferred.succeed(entry.waiter, pong),
            publish(pong)
          )
        }

        const ping = (waiter: Deferred.Deferred<Pong, ClientError.RwwsError> | undefined) =>
          Effect.gen(function* () {
            const entry: Outstanding = { sentAt: yield* Clock.currentTimeMillis, waiter }
            outstanding.push(entry)
            yield* Effect.ignore(transport.send(pingBytes))
            yield* startTimer(
              Deadline.after(entry.sentAt, cfg.pongTimeout),
              Effect.suspend(() =>
                outstanding.includes(entry)
                  ? endWith(new ClientError.Timeout({ phase: "pong", millis: Duration.toMillis(cfg.pongTimeout) }), {
                      code: 1000,
                      reason: "pong timeout",
                      terminate: true
                    })
                  : Effect.void
              )
            )
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
            if (settings !== undefined) yield* Effect.ignore(transport.send(settings))
            session = { ping, send: (bytes) => Effect.ignore(transport.send(bytes)) }
            yield* SubscriptionRef.set(state, State.Authenticated({ since: now }))
            yield* Deferred.succeed(authenticated, undefined)
            yield* Effect.forkIn(
              Effect.forever(Effect.zipRight(Effect.sleep(cfg.pingInterval), ping(undefined))),
              scope
            )
          })

        const onFrame = (frame: Transport.Frame): Effect.Effect<void> =>
          Effect.gen(function* () {
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
        session = undefined
        for (const entry of outstanding.splice(0)) {
          if (entry.waiter !== undefined) yield* Deferred.fail(entry.waiter, error)
        }
        return yield* Effect.fail(error)
      }).pipe(
        Effect.onInterrupt(() => Effect.sync(() => (session = undefined))),
        Effect.scoped,
        Effect.annotateLogs({ module: "RwwsClient", url: cfg.url })
      )

    /** The pause before reconnecting after `failures` failed connections in a row. */
    const delayFor = (failures: number) =>
      Effect.map(Random.next, (random) => {
        const base = Math.min(
          Duration.toMillis(cfg.backoff.max),
          Duration.toMillis(cfg.backoff.initial) * 2 ** Math.min(failures - 1, 30)
        )
        return Duration.millis(Math.round(base * (1 + cfg.backoff.jitter * (2 * random - 1))))
      })

    const finish = (final: State, exit: Effect.Effect<boolean>) =>
      Effect.zipRight(SubscriptionRef.set(state, final), exit)

    const loop = (failuresBefore: number): Effect.Effect<void> =>
      Effect.gen(function* () {
        yield* SubscriptionRef.set(state, State.Connecting({ attempt: failuresBefore + 1 }))
        const authenticated = yield* Deferred.make<void>()
        const error = yield* Effect.flip(connection(authenticated))
        // A connection that authenticated resets the backoff.
        const failures = (yield* Deferred.isDone(authenticated)) ? 1 : failuresBefore + 1
        if (!cfg.reconnect || !ClientError.isRetryable(error)) {
          yield* finish(State.Failed({ error }), Deferred.fail(end, error))
          return
        }
        const delay = yield* delayFor(failures)
        yield* Effect.logInfo(`reconnecting in ${Duration.format(delay)}: ${error.message}`)
        yield* SubscriptionRef.set(state, State.Waiting({ attempt: failures + 1, delay, error }))
        yield* Effect.sleep(delay)
        return yield* loop(failures)
      }).pipe(Effect.annotateLogs({ module: "RwwsClient" }))

    const running = yield* Effect.forkScoped(loop(0))

    const close = Effect.gen(function* () {
      yield* Fiber.interrupt(running)
      if (!(yield* Deferred.isDone(end))) yield* finish(State.Closed(), Deferred.succeed(end, undefined))
    })
    yield* Effect.addFinalizer(() => close)

    const whenEnded = Deferred.await(end).pipe(Effect.zipRight(Effect.fail(new ClientError.ClientClosed())))

    const awaitAuthenticated = Effect.raceFirst(
      state.changes.pipe(
        Stream.filter(State.$is("Authenticated")),
        Stream.runHead,
        Effect.flatMap(() => Effect.void)
      ),
      whenEnded
    )

    const awaitSession: Effect.Effect<Session, ClientError.RwwsError> = Effect.suspend(() =>
      session !== undefined ? Effect.succeed(session) : Effect.zipRight(awaitAuthenticated, awaitSession)
    )

    return RwwsClient.of({
      pongs: Stream.fromPubSub(pongs).pipe(Stream.interruptWhen(Deferred.await(end))),
      ping: Effect.gen(function* () {
        const current = yield* awaitSession
        const waiter = yield* Deferred.make<Pong, ClientError.RwwsError>()
        yield* current.ping(waiter)
        return yield* Effect.raceFirst(Deferred.await(waiter), whenEnded)
      }),
      sendSettings: (list) =>
        Effect.gen(function* () {
          const bytes = yield* Packet.encodeClient([{ _tag: "Settings", settings: list }], cfg.registry)
          settings = bytes
          const current = yield* awaitSession
          yield* current.send(bytes)
        }),
      state: SubscriptionRef.get(state),
      states: state.changes,
      awaitAuthenticated,
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
