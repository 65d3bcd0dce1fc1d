/**
 * A model of a reconnecting client's states, shared by the Blazeauth and rwws model-based tests.
 *
 * The client runs against a scripted server on the in-memory network under `TestClock`. Random command
 * lists close the connection from the server with a code of the protocol's close table (or drop it:
 * 1006), refuse the next connection attempts, make calls (answered at once, or held by the server so
 * that they stay in flight), move the clock and close the client. The model predicts the states the
 * client goes through (`Connecting` → ready → waiting with `attempt` and a `delay` within the backoff's
 * jitter → … → `Failed` / `Closed`) and how each call ends. Each protocol brings an adapter: how to
 * build its client and server, its state and error names, its close-code policy.
 */
import { assert } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, FastCheck, Fiber, Option, type Scope, TestClock } from "effect"

// ---- what a protocol brings ---------------------------------------------------------------------------

/** A client state reduced to what the model predicts. */
export interface Seen {
  readonly tag: string
  readonly attempt?: number | undefined
  readonly delayMillis?: number | undefined
  /** The error of a waiting or failed state, as `describe` gives it. */
  readonly error?: string | undefined
}

/** The parts of a client state the model compares: both clients share these state names. */
export interface ClientState<E> {
  readonly _tag: string
  readonly attempt?: number
  readonly delay?: Duration.Duration
  readonly error?: E
}

/** What the model sees of a client state, errors described by `describeError`. */
export const seenOf =
  <E>(describeError: (error: E) => string) =>
  (state: ClientState<E>): Seen => {
    switch (state._tag) {
      case "Connecting":
        return { tag: state._tag, attempt: state.attempt ?? 0 }
      case "Failed":
        return state.error === undefined ? { tag: state._tag } : { tag: state._tag, error: describeError(state.error) }
      case "Waiting":
        return state.delay === undefined || state.error === undefined
          ? { tag: state._tag }
          : {
              tag: state._tag,
              attempt: state.attempt ?? 0,
              delayMillis: Duration.toMillis(state.delay),
              error: describeError(state.error)
            }
      default:
        return { tag: state._tag }
    }
  }

/** One client against its scripted server, built in the current scope under `TestClock`, once ready. */
export interface Harness {
  /** Every state since the client was ready, the ready one first. */
  readonly states: ReadonlyArray<Seen>
  /** Starts a call: answered at once by the server, or `held` (never answered). */
  readonly call: (held: boolean) => Effect.Effect<Fiber.Fiber<unknown, unknown>>
  /** The server closes the current connection with `code` (1006: drops it without a close frame). */
  readonly serverClose: (code: number) => Effect.Effect<void>
  /** The server closes the next connection with `code` as soon as it is accepted. */
  readonly refuseNext: (code: number) => void
  readonly close: Effect.Effect<void>
}

export interface Protocol {
  readonly name: string
  /** The state names: ready (a session is up), waiting (before a reconnection attempt). */
  readonly readyTag: string
  readonly waitingTag: string
  /** The `attempt` of the waiting and connecting states after `failures` connections failed in a row. */
  readonly attemptAfter: (failures: number) => number
  /** The codes the server may close with (1006 is added: a dropped connection). */
  readonly closeCodes: ReadonlyArray<number>
  readonly isRetryable: (code: number) => boolean
  readonly minimumDelayMillis: (code: number) => number
  readonly backoff: { readonly initialMillis: number; readonly maxMillis: number; readonly jitter: number }
  /** Failed attempts in a row after which the client gives up; undefined: never. */
  readonly maxAttempts: number | undefined
  /** How long a call waits (for a session, then for its answer); undefined: for ever. */
  readonly requestTimeoutMillis: number | undefined
  /** Whether a call can be held by the server (stays in flight until the connection or its timeout ends it). */
  readonly canHold: boolean
  /** How errors read: a server close (or drop), a call timeout, a call after the user closed. */
  readonly closedBy: (code: number) => string
  readonly timeout: string
  readonly userClosed: string
  readonly describe: (error: unknown) => string
  readonly start: Effect.Effect<Harness, never, Scope.Scope>
}

// ---- commands -------------------------------------------------------------------------------------------

export type Command =
  | { readonly _tag: "ServerClose"; readonly code: number }
  | { readonly _tag: "RefuseNext"; readonly code: number }
  | { readonly _tag: "Call"; readonly held: boolean }
  | { readonly _tag: "Advance"; readonly millis: number }
  | { readonly _tag: "UserClose" }

export const commands = (protocol: Protocol): FastCheck.Arbitrary<ReadonlyArray<Command>> => {
  // Mostly codes the client retries, so that runs go through several reconnections before a terminal one.
  const retryable = protocol.closeCodes.filter(protocol.isRetryable)
  const terminal = protocol.closeCodes.filter((code) => !protocol.isRetryable(code))
  const code = FastCheck.oneof(
    { weight: 4, arbitrary: FastCheck.constantFrom(...retryable, 1006) },
    { weight: 1, arbitrary: FastCheck.constantFrom(...terminal) }
  )
  const command: FastCheck.Arbitrary<Command> = FastCheck.oneof(
    { weight: 12, arbitrary: FastCheck.record({ _tag: FastCheck.constant("ServerClose" as const), code }) },
    { weight: 16, arbitrary: FastCheck.record({ _tag: FastCheck.constant("RefuseNext" as const), code }) },
    {
      weight: 12,
      arbitrary: FastCheck.record({
        _tag: FastCheck.constant("Call" as const),
        held: protocol.canHold ? FastCheck.boolean() : FastCheck.constant(false)
      })
    },
    {
      weight: 20,
      arbitrary: FastCheck.record({
        _tag: FastCheck.constant("Advance" as const),
        millis: FastCheck.integer({ min: 1, max: 9_000 })
      })
    },
    // Rare: it ends the run.
    { weight: 1, arbitrary: FastCheck.constant({ _tag: "UserClose" as const }) }
  )
  return FastCheck.array(command, { minLength: 1, maxLength: 24 })
}

// ---- the model --------------------------------------------------------------------------------------------

/** A predicted state; `delay` is a range (the jitter), the actual one is read from the client. */
interface Expected {
  readonly tag: string
  readonly attempt?: number | undefined
  readonly delay?: readonly [number, number] | undefined
  readonly error?: string | undefined
}

interface Call {
  readonly index: number
  readonly fiber: Fiber.Fiber<unknown, unknown>
  readonly held: boolean
  readonly deadline: number | undefined
  where: "waiting" | "in flight" | "done"
  /** "ok", an error, or several outcomes the model cannot tell apart (events at the same instant). */
  outcome: ReadonlyArray<string>
}

interface Model {
  phase: "ready" | "waiting" | "failed" | "closed"
  now: number
  retryAt: number
  failures: number
  failedAttempts: number
  refusals: Array<number>
  failure: string | undefined
  readonly expected: Array<Expected>
  readonly calls: Array<Call>
}

const show = (state: Expected | Seen): string => {
  const delay =
    "delay" in state && state.delay !== undefined
      ? ` ${state.delay[0]}..${state.delay[1]} ms`
      : "delayMillis" in state && state.delayMillis !== undefined
        ? ` ${state.delayMillis} ms`
        : ""
  return `${state.tag}${state.attempt === undefined ? "" : `#${state.attempt}`}${delay}${state.error === undefined ? "" : ` (${state.error})`}`
}

const matches = (expected: Expected, seen: Seen | undefined): boolean =>
  seen !== undefined &&
  expected.tag === seen.tag &&
  (expected.attempt === undefined || expected.attempt === seen.attempt) &&
  (expected.error === undefined || expected.error === seen.error) &&
  (expected.delay === undefined ||
    (seen.delayMillis !== undefined && seen.delayMillis >= expected.delay[0] && seen.delayMillis <= expected.delay[1]))

/** Lets the client's fibers run until `done` holds (or a bound is reached: the check then reports). */
const settle = (done: () => Effect.Effect<boolean>) =>
  Effect.gen(function* () {
    for (let spins = 0; spins < 2_000; spins++) {
      if (yield* done()) break
      yield* Effect.yieldNow()
    }
    // A little more, so that a state the model did not predict shows up.
    for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
  })

const delayRange = (protocol: Protocol, failures: number, code: number | undefined): readonly [number, number] => {
  const { initialMillis, jitter, maxMillis } = protocol.backoff
  const base = Math.min(maxMillis, initialMillis * 2 ** Math.min(failures - 1, 30))
  const minimum = code === undefined ? 0 : protocol.minimumDelayMillis(code)
  return [Math.max(minimum, Math.floor(base * (1 - jitter))), Math.max(minimum, Math.ceil(base * (1 + jitter)))]
}

const finishCall = (call: Call, outcome: ReadonlyArray<string>) => {
  call.where = "done"
  call.outcome = outcome
}

/** The connection ended with `error`: in-flight calls fail, then the client fails or waits. */
const ended = (protocol: Protocol, model: Model, code: number, established: boolean) => {
  const error = protocol.closedBy(code)
  for (const call of model.calls) if (call.where === "in flight") finishCall(call, [error])
  model.failedAttempts = established ? 0 : model.failedAttempts + 1
  const givesUp = protocol.maxAttempts !== undefined && model.failedAttempts >= protocol.maxAttempts
  if (!protocol.isRetryable(code) || givesUp) {
    model.phase = "failed"
    model.failure = error
    for (const call of model.calls) if (call.where === "waiting") finishCall(call, [error])
    model.expected.push({ tag: "Failed", error })
    return
  }
  model.failures = established ? 1 : model.failures + 1
  model.phase = "waiting"
  model.expected.push({
    tag: protocol.waitingTag,
    attempt: protocol.attemptAfter(model.failures),
    delay: delayRange(protocol, model.failures, code),
    error
  })
}

/** The reconnection attempt due now. */
const attempt = (protocol: Protocol, model: Model) => {
  model.expected.push({ tag: "Connecting", attempt: protocol.attemptAfter(model.failures) })
  const refusal = model.refusals.shift()
  if (refusal !== undefined) return ended(protocol, model, refusal, false)
  model.phase = "ready"
  model.expected.push({ tag: protocol.readyTag })
  for (const call of model.calls) {
    if (call.where !== "waiting") continue
    if (call.held) call.where = "in flight"
    else finishCall(call, ["ok"])
  }
}

const outcomeOf = (protocol: Protocol, exit: Exit.Exit<unknown, unknown>): string =>
  Exit.isSuccess(exit)
    ? "ok"
    : Option.match(Cause.failureOption(exit.cause), {
        onNone: () => (Cause.isInterruptedOnly(exit.cause) ? "interrupted" : `defect: ${Cause.pretty(exit.cause)}`),
        onSome: protocol.describe
      })

/** Compares the states and calls with the model. */
const verify = (protocol: Protocol, model: Model, harness: Harness, label: string) =>
  Effect.gen(function* () {
    const ready = () =>
      Effect.gen(function* () {
        if (harness.states.length < model.expected.length) return false
        for (const call of model.calls)
          if (call.where === "done" && (yield* Fiber.poll(call.fiber))._tag === "None") return false
        return true
      })
    yield* settle(ready)
    const seen = harness.states
    const ok =
      seen.length === model.expected.length && model.expected.every((expected, i) => matches(expected, seen[i]))
    if (!ok) {
      assert.fail(
        `${label}\n  expected states: ${model.expected.map(show).join(" → ")}\n  actual states:   ${seen.map(show).join(" → ")}`
      )
    }
    for (const call of model.calls) {
      const exit = yield* Fiber.poll(call.fiber)
      if (call.where !== "done") {
        assert.isTrue(Option.isNone(exit), `${label}: call ${call.index} (${call.where}) is still pending`)
        continue
      }
      if (Option.isNone(exit))
        return assert.fail(`${label}: call ${call.index} should have ended (${call.outcome.join(" | ")})`)
      const outcome = outcomeOf(protocol, exit.value)
      assert.include(call.outcome, outcome, `${label}: call ${call.index} ended with ${outcome}`)
    }
  })

/** Runs `commands` against a fresh client and checks it against the model after each. */
export const run = (protocol: Protocol, list: ReadonlyArray<Command>) =>
  Effect.gen(function* () {
    const harness = yield* protocol.start
    const model: Model = {
      phase: "ready",
      now: 0,
      retryAt: 0,
      failures: 0,
      failedAttempts: 0,
      refusals: [],
      failure: undefined,
      expected: [{ tag: protocol.readyTag }],
      calls: []
    }
    const applied: Array<string> = []
    /** Reads the delay of the waiting state just entered: the next attempt is due then. */
    let scheduled = 0
    const scheduleAttempt = () => {
      // Once per waiting state, at the instant it was entered (no time passes between a close and it).
      if (model.phase !== "waiting" || scheduled === model.expected.length) return
      scheduled = model.expected.length
      const delay = harness.states[model.expected.length - 1]?.delayMillis
      model.retryAt = model.now + (delay ?? 0)
    }
    const check = () =>
      Effect.zipRight(
        verify(protocol, model, harness, `${protocol.name}: ${applied.join(", ")}`),
        Effect.sync(scheduleAttempt)
      )
    yield* check()
    for (const command of list) {
      switch (command._tag) {
        case "ServerClose": {
          if (model.phase !== "ready") continue
          applied.push(`close ${command.code}`)
          yield* harness.serverClose(command.code)
          ended(protocol, model, command.code, true)
          break
        }
        case "RefuseNext": {
          if (model.phase !== "ready" && model.phase !== "waiting") continue
          if (model.refusals.length >= 3) continue
          applied.push(`refuse next ${command.code}`)
          harness.refuseNext(command.code)
          model.refusals.push(command.code)
          break
        }
        case "Call": {
          applied.push(command.held ? "held call" : "call")
          const fiber = yield* harness.call(command.held)
          const call: Call = {
            index: model.calls.length,
            fiber,
            held: command.held,
            deadline:
              protocol.requestTimeoutMillis === undefined ? undefined : model.now + protocol.requestTimeoutMillis,
            where: "waiting",
            outcome: []
          }
          model.calls.push(call)
          if (model.phase === "ready") {
            if (command.held) call.where = "in flight"
            else finishCall(call, ["ok"])
          } else if (model.phase === "failed") finishCall(call, [model.failure ?? "?"])
          else if (model.phase === "closed") finishCall(call, [protocol.userClosed])
          break
        }
        case "Advance": {
          applied.push(`advance ${command.millis} ms`)
          const target = model.now + command.millis
          while (true) {
            const deadlines = model.calls.flatMap((call) =>
              call.where !== "done" && call.deadline !== undefined ? [call.deadline] : []
            )
            const events = [...deadlines, ...(model.phase === "waiting" ? [model.retryAt] : [])]
            const next = Math.min(...events)
            if (!(next <= target)) break
            yield* TestClock.adjust(Duration.millis(next - model.now))
            model.now = next
            const retrying = model.phase === "waiting" && model.retryAt === next
            for (const call of model.calls) {
              if (call.where === "done" || call.deadline !== next) continue
              // A deadline at the very instant of the attempt: either may win.
              if (retrying && call.where === "waiting") {
                finishCall(call, [protocol.timeout, "ok", protocol.closedBy(model.refusals[0] ?? 0)])
              } else finishCall(call, [protocol.timeout])
            }
            if (retrying) attempt(protocol, model)
            yield* check()
          }
          if (target > model.now) {
            yield* TestClock.adjust(Duration.millis(target - model.now))
            model.now = target
          }
          break
        }
        case "UserClose": {
          if (model.phase === "closed") continue
          applied.push("user close")
          yield* harness.close
          if (model.phase !== "failed") {
            model.phase = "closed"
            for (const call of model.calls) if (call.where !== "done") finishCall(call, [protocol.userClosed])
            model.expected.push({ tag: "Closed" })
          }
          break
        }
      }
      yield* check()
    }
  })
