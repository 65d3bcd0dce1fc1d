/**
 * Blazeauth envelope decoding, including validation, against bare `JSON.parse` of the same texts, in the same run:
 *
 * - decode + validate: `Envelope.decode` (lossless JSON, envelope checks) then `Usecase.decodeResponse` (the
 *   usecase's Schema: uint64 id, int32 status → `Status`, levels, secrets → `Redacted`) for a typical
 *   get_variable response and a typical auth_by_license response, with small ids and with ids near 2^64;
 * - JSON only: `Json.parse` (fast path: `JSON.parse` unless a number needs the lossless parser) and
 *   `Json.parseLossless` (lossless-json always) against `JSON.parse`.
 *
 * Figures are messages per second, the median of several rounds after a warm-up. Environment: BENCH_ROUNDS
 * (default 9), BENCH_MESSAGES (default 20000).
 */
import * as Envelope from "@protokernel/blazeauth/Envelope"
import * as Usecase from "@protokernel/blazeauth/Usecase"
import * as Json from "@protokernel/wire/Json"
import * as Uint64 from "@protokernel/wire/Uint64"
import * as Either from "effect/Either"
import { fail, interleavedRound, medianPair, type Pair, positiveInt, printTable, xorshift32 } from "./report.js"

const rounds = positiveInt("BENCH_ROUNDS", 9)
const messageCount = positiveInt("BENCH_MESSAGES", 20_000)

// Deterministic, so every run measures the same data.
const random = xorshift32()

const pick = <A>(values: ReadonlyArray<A>): A => values[Math.floor(random() * values.length)]!

const smallId = (i: number): bigint => BigInt(i + 1)
const bigId = (): bigint => Uint64.MAX - BigInt(Math.floor(random() * 1e9))

const variableContents = [
  '{"featureFlag":true}',
  "1.4.2",
  '{"motd":"Welcome back!","maintenance":false,"servers":["eu1","us2"],"minVersion":"2.3.0"}',
  "https://cdn.example.com/launcher/stable/manifest.json"
]

const getVariableText = (id: bigint): string =>
  Json.stringify({ type: 13, payload: { id: Uint64.toJson(id), content: pick(variableContents), status: 1 } })

const authByLicenseText = (id: bigint): string =>
  Json.stringify({
    type: 3,
    payload: {
      id: Uint64.toJson(id),
      license: `ABCDEF-${String(100000 + Math.floor(random() * 900000))}`,
      levels: pick([["pro"], ["pro", "beta"], ["admin", "pro", "noob"]]),
      comment: pick(["main seat", null, "trial user"]),
      ip_address: `203.0.113.${Math.floor(random() * 255)}`,
      time_left: 1_767_225_600 + Math.floor(random() * 1e6),
      status: 1
    }
  })

const texts = (make: (id: bigint) => string, id: (i: number) => bigint): ReadonlyArray<string> =>
  Array.from({ length: messageCount }, (_, i) => make(id(i)))

// ---------------------------------------------------------------------------------------------------------------
// Cases. Each side goes over a chunk of messages and returns a checksum, so the work cannot be optimised away and
// both sides can be checked against each other. The checksum uses what both read alike (type, status, field
// lengths): bare JSON.parse rounds ids above 2^53.

interface Case {
  readonly name: string
  readonly kernelName: string
  readonly baselineName: string
  readonly messages: ReadonlyArray<string>
  readonly kernel: (text: string) => number
  readonly baseline: (text: string) => number
}

const isRecord = (value: unknown): value is { readonly [key: string]: unknown } =>
  typeof value === "object" && value !== null

/** What the checksum reads from a payload, the same way for kernel and baseline. */
const payloadSum = (type: number, payload: { readonly [key: string]: unknown }): number => {
  const status = payload["status"]
  const code =
    typeof status === "number" ? status : isRecord(status) && typeof status["code"] === "number" ? status["code"] : 0
  const content = payload["content"]
  const levels = payload["levels"]
  return (
    type +
    code +
    (typeof content === "string" ? content.length : 0) +
    (Array.isArray(levels) ? levels.length : 0) +
    (payload["comment"] === null ? 1 : 0)
  )
}

/** Envelope.decode + Usecase.decodeResponse: what a client does with every response. */
const kernelDecode = (text: string): number => {
  const envelope = Envelope.decode(text)
  if (Either.isLeft(envelope)) return fail("Envelope.decode", envelope.left.message)
  const { type } = envelope.right
  if (!Envelope.isKnownType(type)) return fail("Envelope.decode", `type ${type}`)
  const response = Usecase.decodeResponse(Usecase.all[type]!, envelope.right.payload)
  if (Either.isLeft(response)) return fail("Usecase.decodeResponse", Usecase.describeError(response.left))
  return payloadSum(type, response.right)
}

/** Bare JSON.parse, with the least checking needed to read the same fields. */
const baselineParse = (text: string): number => {
  const value: unknown = JSON.parse(text)
  if (!isRecord(value) || typeof value["type"] !== "number" || !isRecord(value["payload"])) {
    return fail("JSON.parse", "not an envelope")
  }
  return payloadSum(value["type"], value["payload"])
}

const jsonSum = (parse: (text: string) => Either.Either<unknown, Json.JsonError>, name: string) => (text: string) => {
  const parsed = parse(text)
  if (Either.isLeft(parsed)) return fail(name, parsed.left.message)
  const value = parsed.right
  if (!isRecord(value) || typeof value["type"] !== "number" || !isRecord(value["payload"])) {
    return fail(name, "not an envelope")
  }
  return payloadSum(value["type"], value["payload"])
}

const makeCases = (): ReadonlyArray<Case> => {
  const variableSmall = texts(getVariableText, smallId)
  const licenseSmall = texts(authByLicenseText, smallId)
  const variableBig = texts(getVariableText, bigId)
  const licenseBig = texts(authByLicenseText, bigId)
  const decodeCase = (name: string, messages: ReadonlyArray<string>): Case => ({
    name,
    kernelName: "Envelope.decode + decodeResponse",
    baselineName: "JSON.parse",
    messages,
    kernel: kernelDecode,
    baseline: baselineParse
  })
  return [
    decodeCase("get_variable, small ids", variableSmall),
    decodeCase("auth_by_license, small ids", licenseSmall),
    decodeCase("get_variable, ids near 2^64", variableBig),
    decodeCase("auth_by_license, ids near 2^64", licenseBig),
    {
      name: "auth_by_license, small ids",
      kernelName: "Json.parse",
      baselineName: "JSON.parse",
      messages: licenseSmall,
      kernel: jsonSum(Json.parse, "Json.parse"),
      baseline: baselineParse
    },
    {
      name: "auth_by_license, small ids",
      kernelName: "Json.parseLossless",
      baselineName: "Json.parse",
      messages: licenseSmall,
      kernel: jsonSum(Json.parseLossless, "Json.parseLossless"),
      baseline: jsonSum(Json.parse, "Json.parse")
    },
    {
      name: "auth_by_license, ids near 2^64",
      kernelName: "Json.parse",
      baselineName: "JSON.parse",
      messages: licenseBig,
      kernel: jsonSum(Json.parse, "Json.parse"),
      baseline: baselineParse
    }
  ]
}

const chunkMessages = 250

interface Result {
  readonly benchCase: Case
  readonly kernel: number
  readonly baseline: number
}

/** One round over all the messages (see `interleavedRound`); messages/s for each side. */
const round = (benchCase: Case, kernelFirst: boolean): Pair => {
  const { messages } = benchCase
  const over = (decode: (message: string) => number) => (from: number, to: number) => {
    let sum = 0
    for (let m = from; m < to; m++) sum = (sum + decode(messages[m]!)) | 0
    return sum
  }
  return interleavedRound({
    count: messages.length,
    chunk: chunkMessages,
    units: messages.length,
    kernelFirst,
    kernel: over(benchCase.kernel),
    baseline: over(benchCase.baseline),
    mismatch: (kernelSum, baselineSum) => fail(benchCase.name, `checksum ${kernelSum} ≠ ${baselineSum}`)
  })
}

const measure = (benchCase: Case): Result => ({
  benchCase,
  ...medianPair(rounds, (kernelFirst) => round(benchCase, kernelFirst))
})

const thousands = (perSecond: number): string => `${Math.round(perSecond / 1000).toLocaleString("en-US")} k/s`

/**
 * Runs the Blazeauth codec benchmark and prints its table.
 */
export const run = async (): Promise<void> => {
  console.log(
    `Blazeauth envelope decoding: ${messageCount} messages per pass, median of ${rounds} rounds (Node ${process.version})`
  )
  const results: Array<Result> = []
  for (const benchCase of makeCases()) {
    results.push(measure(benchCase))
    // Give the event loop (and pending GC work) a turn between cases.
    await new Promise((resolve) => setImmediate(resolve))
  }
  printTable(
    ["messages", "kernel", "kernel msgs/s", "baseline", "baseline msgs/s", "kernel/baseline"],
    results.map(({ benchCase, kernel, baseline }) => [
      benchCase.name,
      benchCase.kernelName,
      thousands(kernel),
      benchCase.baselineName,
      thousands(baseline),
      (kernel / baseline).toFixed(2)
    ])
  )
  const decode = results.filter(({ benchCase }) => benchCase.kernelName.startsWith("Envelope.decode"))
  const worst = Math.min(...decode.map(({ kernel, baseline }) => kernel / baseline))
  console.log(
    `target: decode + validate ≥ 0.5 × JSON.parse: ${worst >= 0.5 ? "met" : "NOT met"} (worst ${worst.toFixed(2)})\n`
  )
}
