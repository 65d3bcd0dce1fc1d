/**
 * The client's life: the session slot (the current session, or the next one calls wait for), the
 * reconnection loop with its backoff (§2.3), and the end of the client (failed or closed), after
 * which every call fails at once with why.
 */
import * as Deadline from "@protokernel/wire/Deadline"
import * as Transport from "@protokernel/wire/Transport"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Ref from "effect/Ref"
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
import * as Reconnect from "./reconnect.js"
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
  readonly listener: Session.Listener
  /** The current session, or the next one; calls wait on it while the client reconnects. */
  slot: Deferred.Deferred<Session.Session, ClientError.CallError>
  current: Session.Session | undefined
  application: Model.Application
  /** Why the client ended; set once. */
  clientEnd: ClientError.CallError | undefined
}

/** A client that has not connected yet. */
export const make = (config: Config): Effect.Effect<Lifecycle, never, Transport.Connector> =>
  Effect.gen(function* () {
    const events = yield* PubSub.unbounded<PanelEvent.PanelEvent>()
    const latestRtt = yield* Ref.make(Option.none<Duration.Duration>())
    const lifecycle: Lifecycle = {
      config,
      connector: yield* Transport.Connector,
      clock: yield* Effect.clock,
      state: yield* SubscriptionRef.make<Client.State>(State.Connecting({ attempt: 1 })),
      shared: { events, latestRtt },
      events,
      latestRtt,
      firstReady: yield* Deferred.make<void, ClientError.CallError>(),
      listener: {
        established: (session) => established(lifecycle, session),
        ended: (session) => retire(lifecycle, session),
        authorizationChanged: (session) => authorizationChanged(lifecycle, session)
      },
      slot: yield* Deferred.make<Session.Session, ClientError.CallError>(),
      current: undefined,
      application: new Model.Application({ name: "", version: "" }),
      clientEnd: undefined
    }
    return lifecycle
  })

const stateOf = (session: Session.Session): Client.State =>
  session.kind === undefined
    ? State.Initialized({ application: session.application })
    : State.Authorized({ application: session.application, kind: session.kind })

const established = (lifecycle: Lifecycle, session: Session.Session) =>
  Effect.gen(function* () {
    lifecycle.current = session
    lifecycle.application = session.application
    if (yield* Deferred.isDone(lifecycle.slot)) {
      lifecycle.slot = yield* Deferred.make<Session.Session, ClientError.CallError>()
    }
    yield* Deferred.succeed(lifecycle.slot, session)
    yield* SubscriptionRef.set(lifecycle.state, stateOf(session))
    yield* Deferred.succeed(lifecycle.firstReady, undefined)
  })

const authorizationChanged = (lifecycle: Lifecycle, session: Session.Session) =>
  lifecycle.current === session ? SubscriptionRef.set(lifecycle.state, stateOf(session)) : Effect.void

/** The session ended: calls from now on wait for the next one. */
const retire = (lifecycle: Lifecycle, session: Session.Session) =>
  Effect.suspend(() => {
    if (lifecycle.current !== session) return Effect.void
    lifecycle.current = undefined
    return Effect.flatMap(Deferred.isDone(lifecycle.slot), (done) =>
      done
        ? Effect.map(Deferred.make<Session.Session, ClientError.CallError>(), (next) => {
            lifecycle.slot = next
          })
        : Effect.void
    )
  })

const clientClosed = new ClientError.ClientClosed()

/** Ends the client: the final state, then every waiter learns why (a failed connect stays a `ConnectError`). */
export const finish = (
  lifecycle: Lifecycle,
  final: Client.State,
  error: ClientError.CallError | undefined
): Effect.Effect<void> =>
  Effect.gen(function* () {
    if (lifecycle.clientEnd !== undefined) return
    const end = error ?? clientClosed
    lifecycle.clientEnd = end
    lifecycle.current = undefined
    yield* SubscriptionRef.set(lifecycle.state, final)
    yield* Deferred.fail(lifecycle.slot, end)
    yield* Deferred.fail(lifecycle.firstReady, error ?? end)
    yield* PubSub.shutdown(lifecycle.events)
  })

/** The user closed the client. */
export const closed = (lifecycle: Lifecycle): Effect.Effect<void> => finish(lifecycle, State.Closed(), undefined)

/** Whether reconnecting may help; `established` says whether the connection had a session. */
const isRetryable = (error: ClientError.CallError, established: boolean): boolean =>
  ClientError.isRetryable(error) ||
  // Only an attempt can time out (initialize or authorize): the peer is as dead as after a ping timeout.
  (error._tag === "Timeout" && !established)

/** The wait before the next attempt after `error` (at least the close code's minimum), or none to give up. */
const delayAfter = (lifecycle: Lifecycle, backoff: Reconnect.Backoff, error: ClientError.CallError) =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const delay = yield* Reconnect.nextDelay(lifecycle.config.reconnect, backoff, error, now)
    const minimum =
      error._tag === "ConnectionClosed" && error.initiator === "remote"
        ? CloseCode.minimumDelayOf(error.code)
        : Duration.zero
    return Option.map(delay, (delay) => Duration.max(delay, minimum))
  })

/** Connects, and reconnects while the options and the errors allow it; ends by finishing the client. */
export const run = (lifecycle: Lifecycle): Effect.Effect<void> =>
  Effect.gen(function* () {
    const config = lifecycle.config
    const policy = config.reconnect
    let backoff = Reconnect.backoff(policy)
    let failures = 0
    let failedAttempts = 0
    let everEstablished = false
    while (true) {
      yield* SubscriptionRef.set(lifecycle.state, State.Connecting({ attempt: Math.max(1, failures) }))
      let established = false
      const listener: Session.Listener = {
        ...lifecycle.listener,
        established: (session) => {
          established = true
          everEstablished = true
          return lifecycle.listener.established(session)
        }
      }
      const error = yield* Effect.flip(
        Effect.scoped(Session.run(config, lifecycle.connector, lifecycle.shared, listener))
      )
      failedAttempts = established ? 0 : failedAttempts + 1
      // A connection that established a session starts the delays over.
      if (established) backoff = Reconnect.backoff(policy)
      const delay =
        everEstablished && policy.enabled && isRetryable(error, established) && failedAttempts < policy.maxAttempts
          ? yield* delayAfter(lifecycle, backoff, error)
          : Option.none()
      if (Option.isNone(delay)) return yield* finish(lifecycle, State.Failed({ error }), error)
      failures = established ? 1 : failures + 1
      const retryAt = (yield* Clock.currentTimeMillis) + Duration.toMillis(delay.value)
      yield* Effect.logInfo(`reconnecting in ${Duration.format(delay.value)}: ${error.message}`)
      yield* SubscriptionRef.set(lifecycle.state, State.Waiting({ attempt: failures, delay: delay.value, error }))
      yield* Deadline.sleepUntil(retryAt)
    }
  }).pipe(Effect.annotateLogs({ module: "BlazeauthClient", url: lifecycle.config.url }))

const timeoutAt = (deadline: number, usecase: string, millis: number) =>
  Effect.zipRight(
    Deadline.sleepUntil(deadline),
    Effect.failSync(() => new ClientError.Timeout({ usecase, millis }))
  )

/** The current session, or the next one within the deadline; fails once the client ended. */
const awaitSession = (lifecycle: Lifecycle, usecase: string, deadline: number) =>
  Effect.suspend((): Effect.Effect<Session.Session, ClientError.CallError> => {
    if (lifecycle.clientEnd !== undefined) return Effect.fail(lifecycle.clientEnd)
    if (lifecycle.current !== undefined) return Effect.succeed(lifecycle.current)
    return Effect.raceFirst(
      Deferred.await(lifecycle.slot),
      timeoutAt(deadline, usecase, lifecycle.config.requestTimeoutMillis)
    )
  })

/** Runs a call on the current (or next) session; the request timeout starts now. */
export const perform = <A>(
  lifecycle: Lifecycle,
  usecase: Usecase.Any,
  use: (session: Session.Session, deadline: number) => Effect.Effect<A, ClientError.CallError>
): Effect.Effect<A, ClientError.CallError> =>
  Effect.suspend(() => {
    const deadline = lifecycle.clock.unsafeCurrentTimeMillis() + lifecycle.config.requestTimeoutMillis
    const current = lifecycle.current
    if (lifecycle.clientEnd === undefined && current !== undefined) return use(current, deadline)
    return Effect.flatMap(awaitSession(lifecycle, usecase.name, deadline), (session) => use(session, deadline))
  })

/** Fails once the client ended. */
export const ensureRunning = (lifecycle: Lifecycle): Effect.Effect<void, ClientError.CallError> =>
  Effect.suspend(() => (lifecycle.clientEnd === undefined ? Effect.void : Effect.fail(lifecycle.clientEnd)))

/** The session after `dead` ended: retired at once (its calls wait for the next), then awaited. */
export const nextChannel = (lifecycle: Lifecycle, dead: DownloadImpl.Channel) =>
  Effect.zipRight(
    Effect.suspend(() =>
      lifecycle.current !== undefined && lifecycle.current.channel === dead
        ? retire(lifecycle, lifecycle.current)
        : Effect.void
    ),
    Effect.suspend((): Effect.Effect<DownloadImpl.Channel, ClientError.CallError> => {
      if (lifecycle.clientEnd !== undefined) return Effect.fail(lifecycle.clientEnd)
      if (lifecycle.current !== undefined) return Effect.succeed(lifecycle.current.channel)
      return Effect.map(Deferred.await(lifecycle.slot), (session) => session.channel)
    })
  )
