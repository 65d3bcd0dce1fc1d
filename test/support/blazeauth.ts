/**
 * Helpers for the Blazeauth end-to-end tests (client SDK ⇄ reference server over real `ws` on 127.0.0.1):
 * fixtures, servers on free ports (optionally with a server clock the test can move forward), clients,
 * raw sockets for what the client never sends, and assertions on the client's typed errors.
 */
import { Client, ClientError, Fixtures, Server, Status } from "@protokernel/blazeauth"
import { Transport, WsTransport } from "@protokernel/wire"
import { assert } from "@effect/vitest"
import { Clock, Context, Duration, Effect, Layer, Redacted, Schema, Stream } from "effect"
import type { Scope } from "effect"
import { rawPeer } from "../kit/rawPeer.js"

// ---- fixtures -------------------------------------------------------------------------------------

export type AppInput = Fixtures.Input["applications"][number]

/** A client id no other test uses (the server binds licenses and blacklists to client ids). */
let clientIds = 0
export const freshClientId = (prefix = "e2e"): string => `${prefix}-${process.pid}-${++clientIds}`

// ---- servers --------------------------------------------------------------------------------------

export type ServerOptions = Omit<Server.WsOptions, "fixtures">

/**
 * The reference server over `ws` on a free port of 127.0.0.1. The account-creation throttle is off
 * unless `options` sets it (every test client connects from the same address).
 */
export const serverLayer = (
  fixtures: Fixtures.Input,
  options: ServerOptions = {}
): Layer.Layer<Server.BlazeauthServer> =>
  Layer.unwrapEffect(
    Effect.map(Fixtures.decode(fixtures), (decoded) =>
      Server.layerWs({ accountCreationLimit: 0, ...options, fixtures: decoded })
    )
  ).pipe(Layer.orDie)

/** Starts a server in the current scope (it shuts down, closing its sessions with 1000, when the scope closes). */
export const startServer = (
  fixtures: Fixtures.Input,
  options: ServerOptions = {}
): Effect.Effect<Server.BlazeauthServer["Type"], never, Scope.Scope> =>
  Effect.map(Layer.build(serverLayer(fixtures, options)), Context.get(Server.BlazeauthServer))

/** Starts a server whose every fiber reads `clock` (see `serverLayerWithClock`). */
export const startServerWithClock = (
  fixtures: Fixtures.Input,
  clock: Clock.Clock,
  options: ServerOptions = {}
): Effect.Effect<Server.BlazeauthServer["Type"], never, Scope.Scope> =>
  Effect.map(Layer.build(serverLayerWithClock(fixtures, clock, options)), Context.get(Server.BlazeauthServer))

/** A wall clock whose reading the test can move forward; sleeps take real time. */
export interface MovableClock {
  readonly clock: Clock.Clock
  readonly advance: (duration: Duration.DurationInput) => Effect.Effect<void>
}

export const movableClock = (): MovableClock => {
  const live = Clock.make()
  let offsetMillis = 0
  const millis = () => live.unsafeCurrentTimeMillis() + offsetMillis
  const nanos = () => live.unsafeCurrentTimeNanos() + BigInt(offsetMillis) * 1_000_000n
  return {
    clock: {
      [Clock.ClockTypeId]: Clock.ClockTypeId,
      unsafeCurrentTimeMillis: millis,
      currentTimeMillis: Effect.sync(millis),
      unsafeCurrentTimeNanos: nanos,
      currentTimeNanos: Effect.sync(nanos),
      sleep: (duration) => live.sleep(duration)
    },
    advance: (duration) =>
      Effect.sync(() => {
        offsetMillis += Duration.toMillis(duration)
      })
  }
}

/**
 * A server whose every fiber reads `clock` (they inherit it from the fiber that builds the layer): the
 * test can make licenses expire and session values lapse without waiting.
 */
export const serverLayerWithClock = (
  fixtures: Fixtures.Input,
  clock: Clock.Clock,
  options: ServerOptions = {}
): Layer.Layer<Server.BlazeauthServer> =>
  Layer.scopedContext(Layer.build(serverLayer(fixtures, options)).pipe(Effect.withClock(clock)))

// ---- clients --------------------------------------------------------------------------------------

export type ClientSetup = Partial<Omit<Client.Options, "url" | "apiKey">> & {
  /** The socket API key, in clear; default `key` of `connect`. */
  readonly apiKey?: string | undefined
}

/**
 * A client over `ws` in the current scope, initialized (and authorized with `setup.auth`). Keepalive
 * pings and reconnection are off unless asked for, so that tests count messages exactly.
 */
export const connect = (
  url: string,
  key: string,
  setup: ClientSetup = {}
): Effect.Effect<Client.Client, ClientError.BlazeauthError, Scope.Scope> => {
  const { apiKey, ...rest } = setup
  return Client.make({
    url,
    apiKey: Redacted.make(apiKey ?? key),
    clientId: freshClientId(),
    pingInterval: "0 millis",
    reconnect: false,
    ...rest
  }).pipe(Effect.provide(WsTransport.layerConnector))
}

export const secret = (value: string): Redacted.Redacted<string> => Redacted.make(value)

// ---- assertions -----------------------------------------------------------------------------------

/** The error an effect fails with; a success is a test failure (a defect naming the value). */
export const failure = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<E, never, R> =>
  effect.pipe(
    Effect.flatMap((value) => Effect.dieMessage(`expected a failure, got a success: ${String(value)}`)),
    Effect.flip
  )

/** Asserts a `StatusError` of `usecase` with the named status, and returns it. */
export const assertStatus = (
  error: ClientError.BlazeauthError,
  usecase: string,
  name: Status.KnownName
): ClientError.StatusError => {
  if (error._tag !== "StatusError") {
    return assert.fail(`expected ${usecase} to fail with ${name}, got ${error._tag}: ${error.message}`)
  }
  assert.strictEqual(error.usecase, usecase)
  assert.strictEqual(error.status.toString(), `${name} (${Status.codes[name]})`)
  assert.isTrue(error.is(name))
  return error
}

/** The `StatusError` an effect fails with, checked. */
export const failsWith = <A, R>(
  effect: Effect.Effect<A, ClientError.BlazeauthError, R>,
  usecase: string,
  name: Status.KnownName
): Effect.Effect<ClientError.StatusError, never, R> =>
  Effect.map(failure(effect), (error) => assertStatus(error, usecase, name))

/** Asserts a `ConnectionClosed` with exactly this code, reason and initiator. */
export const assertClosed = (
  error: ClientError.BlazeauthError,
  code: number,
  reason: string,
  initiator: "local" | "remote" = "remote"
): ClientError.ConnectionClosed => {
  if (error._tag !== "ConnectionClosed") {
    return assert.fail(`expected ConnectionClosed ${code}, got ${error._tag}: ${error.message}`)
  }
  assert.deepStrictEqual(
    { code: error.code, reason: error.reason, initiator: error.initiator },
    { code, reason, initiator }
  )
  return error
}

/** The first state of the client that satisfies `predicate` (the current one included). */
export const stateWhere = (
  client: Client.Client,
  predicate: (state: Client.State) => boolean
): Effect.Effect<Client.State> =>
  client.states.pipe(
    Stream.filter(predicate),
    Stream.runHead,
    Effect.flatMap((state) =>
      state._tag === "Some" ? Effect.succeed(state.value) : Effect.dieMessage("the client ended without that state")
    )
  )

/** The error of the client's `Failed` state, once it fails. */
export const failedWith = (client: Client.Client): Effect.Effect<ClientError.BlazeauthError> =>
  Effect.flatMap(stateWhere(client, Client.State.$is("Failed")), (state) =>
    state._tag === "Failed" ? Effect.succeed(state.error) : Effect.dieMessage("unreachable")
  )

// ---- raw sockets ----------------------------------------------------------------------------------

const Message = Schema.parseJson(
  Schema.Struct({ type: Schema.Number, payload: Schema.Record({ key: Schema.String, value: Schema.Unknown }) })
)

export type Message = typeof Message.Type

/** A bare connection for what the client never sends (a second `initialize`, a long `client_id`, no `initialize`). */
export interface Raw {
  readonly send: (type: number, payload: object) => Effect.Effect<void>
  /** The next text message, parsed (small ids only). */
  readonly next: Effect.Effect<Message>
  readonly closed: Effect.Effect<Transport.CloseError>
}

export const raw = (url: string): Effect.Effect<Raw, never, Scope.Scope> =>
  Effect.gen(function* () {
    const peer = yield* rawPeer(yield* Effect.orDie(WsTransport.connect(url)))
    // Binary frames are skipped: these tests speak only the text protocol.
    const nextText: Effect.Effect<string> = Effect.flatMap(Effect.orDie(peer.next), (frame) =>
      typeof frame === "string" ? Effect.succeed(frame) : nextText
    )
    return {
      send: (type, payload) => Effect.orDie(peer.transport.send(JSON.stringify({ type, payload }))),
      next: Effect.flatMap(nextText, (text) => Effect.orDie(Schema.decode(Message)(text))),
      closed: peer.transport.closed
    }
  })
