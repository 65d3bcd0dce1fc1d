/**
 * The client's life, on the wire's `Reconnect`: the session slot (the current session, or the next
 * one calls wait for), the reconnection loop with Blazeauth's retry rules (§2.3), and the end of the
 * client (failed or closed), after which every call fails at once with why.
 */
import * as Reconnect from "@protokernel/wire/Reconnect"
import * as Transport from "@protokernel/wire/Transport"
import type * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as SubscriptionRef from "effect/SubscriptionRef"
import type * as Client from "../../Client.js"
import * as ClientError from "../../ClientError.js"
import * as CloseCode from "../../CloseCode.js"
import * as Model from "../../Model.js"
import type * as PanelEvent from "../../PanelEvent.js"
import type * as Usecase from "../../Usecase.js"
import type * as DownloadImpl from "../download.js"
import type { Config } from "./config.js"
import type * as Connection from "./connection.js"
import * as Session from "./session.js"

const State = Data.taggedEnum<Client.State>()

/** The client's state record. */
export interface Lifecycle {
  readonly config: Config
  readonly connector: Transport.Connector["Type"]
  /** Read synchronously on the hot path of every call. */
  readonly clock: Clock.Clock
  readonly state: SubscriptionRef.SubscriptionRef<Client.State>
  readonly shared: Connection.Shared
  readonly events: PubSub.PubSub<PanelEvent.PanelEvent>
  readonly latestRtt: Ref.Ref<Option.Option<Duration.Duration>>
  /** Completed when the first session is ready, or failed with why it never was. */
  readonly firstReady: Deferred.Deferred<void, ClientError.CallError>
  readonly slot: Reconnect.Slot<Session.Session, ClientError.CallError>
  application: Model.Application
  /** Why the client ended; set once, with its final state. */
  clientEnd: ClientError.CallError | undefined
}

/** A client that has not connected yet. */
export const make = (config: Config): Effect.Effect<Lifecycle, never, Transport.Connector> =>
  Effect.gen(function* () {
    const events = yield* PubSub.unbounded<PanelEvent.PanelEvent>()
    const latestRtt = yield* Ref.make(Option.none<Duration.Duration>())
    return {
      config,
      connector: yield* Transport.Connector,
      clock: yield* Effect.clock,
      state: yield* SubscriptionRef.make<Client.State>(State.Connecting({ attempt: 1 })),
      shared: { events, latestRtt },
      events,
      latestRtt,
      firstReady: yield* Deferred.make<void, ClientError.CallError>(),
      slot: yield* Reconnect.makeSlot<Session.Session, ClientError.CallError>(),
      application: new Model.Application({ name: "", version: "" }),
      clientEnd: undefined
    }
  })

const stateOf = (session: Session.Session): Client.State =>
  session.kind === undefined
    ? State.Initialized({ application: session.application })
    : State.Authorized({ application: session.application, kind: session.kind })

const established = (lifecycle: Lifecycle, session: Session.Session) =>
  Effect.gen(function* () {
    lifecycle.application = session.application
    yield* SubscriptionRef.set(lifecycle.state, stateOf(session))
    yield* Deferred.succeed(lifecycle.firstReady, undefined)
  })

const authorizationChanged = (lifecycle: Lifecycle, session: Session.Session) =>
  lifecycle.slot.current() === session ? SubscriptionRef.set(lifecycle.state, stateOf(session)) : Effect.void

/** What the sessions of one attempt report to the client. */
const listenerOf = (
  lifecycle: Lifecycle,
  offer: (session: Session.Session) => Effect.Effect<void>
): Session.Listener => ({
  established: (session) => Effect.zipRight(offer(session), established(lifecycle, session)),
  ended: (session) => lifecycle.slot.retire(session),
  authorizationChanged: (session) => authorizationChanged(lifecycle, session)
})

/** Every state the loop reaches; the final ones also end the client: every waiter learns why. */
const publish = (lifecycle: Lifecycle, state: Reconnect.LoopState<ClientError.CallError>): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (state._tag !== "Failed" && state._tag !== "Closed") return SubscriptionRef.set(lifecycle.state, state)
    const end = state._tag === "Failed" ? state.error : new ClientError.ClientClosed()
    lifecycle.clientEnd ??= end
    return SubscriptionRef.set(lifecycle.state, state).pipe(
      Effect.zipRight(Deferred.fail(lifecycle.firstReady, end)),
      Effect.zipRight(PubSub.shutdown(lifecycle.events))
    )
  })

/** Whether reconnecting may help; `established` says whether the connection had a session. */
const isRetryable = (error: ClientError.CallError, established: boolean): boolean =>
  ClientError.isRetryable(error) ||
  // Only an attempt can time out (initialize or authorize): the peer is as dead as after a ping timeout.
  (error._tag === "Timeout" && !established)

/** The least wait after a close the server started (60 s after 4201). */
const minimumDelay = (error: ClientError.CallError): Duration.Duration | undefined =>
  error._tag === "ConnectionClosed" && error.initiator === "remote" ? CloseCode.minimumDelayOf(error.code) : undefined

/**
 * Starts connecting in the current scope, and reconnects while the options and the errors allow it,
 * once a first session was established.
 */
export const start = (
  lifecycle: Lifecycle
): Effect.Effect<Reconnect.Running<ClientError.CallError>, never, Scope.Scope> =>
  Reconnect.start({
    policy: lifecycle.config.reconnect,
    slot: lifecycle.slot,
    connect: (_, offer) =>
      Session.run(lifecycle.config, lifecycle.connector, lifecycle.shared, listenerOf(lifecycle, offer)),
    isRetryable,
    minimumDelay,
    publish: (state) => publish(lifecycle, state),
    retryBeforeFirstSession: false
  }).pipe(Effect.annotateLogs({ module: "BlazeauthClient", url: lifecycle.config.url }))

/** Runs a call on the current (or next) session; the request timeout starts now. */
export const perform = <A>(
  lifecycle: Lifecycle,
  usecase: Usecase.Any,
  use: (session: Session.Session, deadline: number) => Effect.Effect<A, ClientError.CallError>
): Effect.Effect<A, ClientError.CallError> =>
  Effect.suspend(() => {
    const millis = lifecycle.config.requestTimeoutMillis
    const deadline = lifecycle.clock.unsafeCurrentTimeMillis() + millis
    const current = lifecycle.slot.current()
    if (current !== undefined) return use(current, deadline)
    return Effect.flatMap(
      lifecycle.slot.awaitUntil(deadline, () => new ClientError.Timeout({ usecase: usecase.name, millis })),
      (session) => use(session, deadline)
    )
  })

/** Fails once the client ended. */
export const ensureRunning = (lifecycle: Lifecycle): Effect.Effect<void, ClientError.CallError> =>
  Effect.suspend(() => (lifecycle.clientEnd === undefined ? Effect.void : Effect.fail(lifecycle.clientEnd)))

/** The session after `dead` ended: retired at once (its calls wait for the next), then awaited. */
export const nextConnection = (
  lifecycle: Lifecycle,
  dead: DownloadImpl.Connection
): Effect.Effect<DownloadImpl.Connection, ClientError.CallError> =>
  Effect.zipRight(
    Effect.suspend(() => {
      const current = lifecycle.slot.current()
      return current !== undefined && current.downloads === dead ? lifecycle.slot.retire(current) : Effect.void
    }),
    Effect.map(lifecycle.slot.await, (session) => session.downloads)
  )
