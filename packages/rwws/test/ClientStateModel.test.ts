/**
 * Model-based property test of the rwws client's connection states and reconnection (docs/rwws.md §5), through
 * its public API, against a scripted server on the in-memory network under `TestClock` (see
 * `test/support/state-model.ts`): server closes with every code of the close table, a code the spec
 * does not name and dropped connections, refused reconnection attempts, pings, time, the user's close.
 */
import { Client } from "@protokernel/rwws"
import { Transport, MemoryTransport } from "@protokernel/wire"
import { describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Logger, LogLevel, Stream } from "effect"
import { fuzzParameters, fuzzRuns } from "../../../test/kit/fuzz.js"
import { commands, type Harness, type Protocol, run, type Seen, seenOf } from "../../../test/support/state-model.js"
import { key32 } from "./support/peers.js"
import { fromHex } from "../../../test/kit/bytes.js"

// ---- the client's public names that are being renamed (one place to change) -------------------------

/** Reconnection 1 s doubling to 4 s, ±20 %. */
const clientOptions = {
  reconnect: { initialDelay: "1 second", maxDelay: "4 seconds", jitter: 0.2 }
} as const satisfies Partial<Client.Options>
const BACKOFF = { initialMillis: 1_000, maxMillis: 4_000, jitter: 0.2 }
/** The state a client waits in before a reconnection attempt. */
const WAITING = "Waiting"
/** The `attempt` of that state (and of `Connecting`) after `failures` failed connections in a row. */
const attemptAfter = (failures: number) => Math.max(1, failures)
/** What calls fail with once the user closed the client. */
const USER_CLOSED = "ClientClosed"

// ---- the scripted server ------------------------------------------------------------------------------

/**
 * The close codes of §5 and a code it does not name (4999), and the client policy, written out here so
 * that the model does not lean on the code under test: these are fatal, every other code is retried.
 */
const CLOSE_CODES = [1000, 1001, 1002, 1003, 1007, 1009, 1011, 3000, 3001, 3002, 3003, 3004, 3005, 4999]
const FATAL = [1002, 1003, 1007, 1009, 3001, 3002, 3004]
const isRetryable = (code: number) => !FATAL.includes(code)

const pong = (time: number) => {
  const bytes = Buffer.alloc(9)
  bytes.writeBigInt64BE(BigInt(time), 1)
  return Uint8Array.from(bytes)
}

/** The hello, then a Pong for the auth message and for every Ping. */
const serve = (transport: Transport.Transport) =>
  Effect.gen(function* () {
    yield* transport.send(fromHex("6d73"))
    let count = 0
    yield* transport.frames.pipe(Stream.runForEach(() => transport.send(pong(++count))))
  }).pipe(Effect.ignore)

const closeWith = (transport: Transport.Transport, code: number) =>
  Effect.ignore(code === 1006 ? transport.terminate() : transport.close(code, `closing ${code}`))

const describeError = (error: unknown): string => {
  if (typeof error !== "object" || error === null || !("_tag" in error)) return String(error)
  return error._tag === "ConnectionClosed" && "code" in error
    ? `ConnectionClosed ${String(error.code)}`
    : String(error._tag)
}

const seen = (state: Client.State): Seen => seenOf(describeError)(state)

/** A client (authenticated) against the scripted server, its states recorded from then on. */
const start = Effect.gen(function* () {
  const memory = yield* Layer.build(MemoryTransport.layer({ maxMessageBytes: 64 * 1024 }))
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
  const client = yield* Client.make({ url: network.url, accessKey: key32, ...clientOptions }).pipe(
    Effect.provide(memory),
    Effect.orDie
  )
  yield* Effect.orDie(client.awaitAuthenticated)
  const states: Array<Seen> = []
  yield* client.states.pipe(
    Stream.runForEach((state) => Effect.sync(() => states.push(seen(state)))),
    Effect.forkScoped
  )
  return {
    states,
    call: () => Effect.fork(client.ping),
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
  name: "rwws",
  readyTag: "Authenticated",
  waitingTag: WAITING,
  attemptAfter,
  closeCodes: CLOSE_CODES,
  isRetryable,
  minimumDelayMillis: () => 0,
  backoff: BACKOFF,
  maxAttempts: undefined,
  requestTimeoutMillis: undefined,
  canHold: false,
  closedBy: (code) => `ConnectionClosed ${code}`,
  timeout: "Timeout",
  userClosed: USER_CLOSED,
  describe: describeError,
  start
}

/** Runs in `npm test`; `FUZZ_RUNS=N` scales them. */
const RUNS = 20

describe("RwwsClient states against a model", () => {
  it.scoped.prop(
    "server closes by code, refused attempts, pings, time and the user's close",
    { list: commands(protocol) },
    ({ list }) => run(protocol, list).pipe(Logger.withMinimumLogLevel(LogLevel.Warning)),
    { timeout: 20_000 + 200 * fuzzRuns(RUNS), fastCheck: fuzzParameters(RUNS) }
  )
})
