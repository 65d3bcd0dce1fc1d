/**
 * Model-based property test of the Blazeauth client's connection states and reconnection (docs/blazeauth.md §2.3),
 * through its public API, against a scripted server on the in-memory network under `TestClock` (see
 * `support/state-model.ts`): server closes with every code of the close table (and dropped
 * connections), refused reconnection attempts, calls answered or held in flight, time, the user's close.
 */
import { Client } from "@protokernel/blazeauth"
import { Transport, MemoryTransport } from "@protokernel/wire"
import { describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Logger, LogLevel, Redacted, Stream } from "effect"
import { fuzzParameters, fuzzRuns } from "./kit/fuzz.js"
import { commands, type Harness, type Protocol, run, type Seen, seenOf } from "./support/state-model.js"

// ---- the client's public names that are being renamed (one place to change) -------------------------

/** Client options: no keepalive, a 5 s request timeout, reconnection 1 s doubling to 4 s, 3 failed attempts. */
const clientOptions = {
  pingInterval: 0,
  requestTimeout: "5 seconds",
  reconnect: { initialDelay: "1 second", maxDelay: "4 seconds", maxAttempts: 3 }
} as const satisfies Partial<Client.Options>
const REQUEST_TIMEOUT_MILLIS = 5_000
const BACKOFF = { initialMillis: 1_000, maxMillis: 4_000, jitter: 0.2 }
const MAX_ATTEMPTS = 3
/** The state a client waits in before a reconnection attempt. */
const WAITING = "Waiting"
/** The `attempt` of that state (and of `Connecting`) after `failures` failed connections in a row. */
const attemptAfter = (failures: number) => Math.max(1, failures)
/** A call the server answers at once. */
const quickCall = (client: Client.Client) => client.ping
/** What calls fail with once the user closed the client. */
const USER_CLOSED = "ClientClosed"

// ---- the scripted server ------------------------------------------------------------------------------

const API_KEY = "BA-MODEL-STATES-00001"

/** The close codes of §2.3, and its client policy, written out here so that the model does not lean on the code under test. */
const CLOSE_CODES = [
  1000, 1002, 1007, 1009, 4000, 4100, 4101, 4102, 4200, 4201, 4202, 4203, 4204, 4205, 4300, 4301, 4302, 4304
]
const isRetryable = (code: number) => code === 1000 || code === 1006 || code === 4000 || code === 4201
const minimumDelayMillis = (code: number) => (code === 4201 ? 60_000 : 0)

const answers: Record<number, Record<string, unknown>> = {
  0: {},
  1: { app_name: "Model", app_version: "1.0.0", status: 1 }
}

/** Answers `initialize` and `ping`; anything else (`get_variable`) is held: never answered. */
const serve = (transport: Transport.Transport) =>
  transport.frames.pipe(
    Stream.runForEach((frame) => {
      if (typeof frame !== "string") return Effect.void
      const message: { type: number; payload: { id: number } } = JSON.parse(frame)
      const fields = answers[message.type]
      if (fields === undefined) return Effect.void
      return Effect.ignore(
        transport.send(JSON.stringify({ type: message.type, payload: { id: message.payload.id, ...fields } }))
      )
    }),
    Effect.ignore
  )

const closeWith = (transport: Transport.Transport, code: number) =>
  Effect.ignore(code === 1006 ? transport.terminate() : transport.close(code, `closing ${code}`))

const describeError = (error: unknown): string => {
  if (typeof error !== "object" || error === null || !("_tag" in error)) return String(error)
  if (error._tag === "ConnectionClosed" && "code" in error && "initiator" in error) {
    return `ConnectionClosed ${String(error.code)} ${String(error.initiator)}`
  }
  return String(error._tag)
}

const seen = (state: Client.State): Seen => seenOf(describeError)(state)

/** A client (initialized) against the scripted server, its states recorded from then on. */
const start = Effect.gen(function* () {
  const memory = yield* Layer.build(MemoryTransport.layer())
  const network = Context.get(memory, Transport.TransportServer)
  const connections: Array<Transport.Transport> = []
  const refusals: Array<number> = []
  yield* Effect.forkScoped(
    network.run((transport) =>
      Effect.suspend(() => {
        connections.push(transport)
        const refusal = refusals.shift()
        return refusal === undefined ? serve(transport) : closeWith(transport, refusal)
      })
    )
  )
  const client = yield* Client.make({
    url: network.url,
    apiKey: Redacted.make(API_KEY),
    clientId: "model-states",
    ...clientOptions
  }).pipe(Effect.provide(memory), Effect.orDie)
  const states: Array<Seen> = []
  yield* client.states.pipe(
    Stream.runForEach((state) => Effect.sync(() => states.push(seen(state)))),
    Effect.forkScoped
  )
  return {
    states,
    call: (held) =>
      Effect.fork(held ? Effect.asVoid(client.getVariable("held_variable")) : Effect.asVoid(quickCall(client))),
    serverClose: (code) => {
      const current = connections.at(-1)
      return current === undefined ? Effect.dieMessage("no connection") : closeWith(current, code)
    },
    refuseNext: (code) => {
      refusals.push(code)
    },
    close: client.close
  } satisfies Harness
})

const protocol: Protocol = {
  name: "Blazeauth",
  readyTag: "Initialized",
  waitingTag: WAITING,
  attemptAfter,
  closeCodes: CLOSE_CODES,
  isRetryable,
  minimumDelayMillis,
  backoff: BACKOFF,
  maxAttempts: MAX_ATTEMPTS,
  requestTimeoutMillis: REQUEST_TIMEOUT_MILLIS,
  canHold: true,
  closedBy: (code) => `ConnectionClosed ${code} remote`,
  timeout: "Timeout",
  userClosed: USER_CLOSED,
  describe: describeError,
  start
}

/** Runs in `npm test`; `FUZZ_RUNS=N` scales them. */
const RUNS = 20

describe("Blazeauth client states against a model", () => {
  it.scoped.prop(
    "server closes by code, refused attempts, calls, time and the user's close",
    { list: commands(protocol) },
    ({ list }) => run(protocol, list).pipe(Logger.withMinimumLogLevel(LogLevel.Warning)),
    { timeout: 20_000 + 200 * fuzzRuns(RUNS), fastCheck: fuzzParameters(RUNS) }
  )
})
