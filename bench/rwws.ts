/**
 * rwws packet codec throughput, kernel vs a hand-written DataView loop doing the same work in the same run.
 *
 * - decode server: `Packet.decodeServer` on messages of 1000 Pongs (9000 bytes each).
 * - decode client: `Packet.decodeClient` on ping-heavy messages (Pings with an occasional empty Settings).
 * - encode server: `Packet.encodeServer` of 1000-Pong arrays.
 *
 * Figures are packets per second, the median of several rounds after a warm-up. Environment:
 * BENCH_ROUNDS (default 9), BENCH_MESSAGES (default 2000).
 */
import * as Either from "effect/Either"
import * as Packet from "@protokernel/rwws/Packet"
import { fail, interleavedRound, medianPair, type Pair, positiveInt, printTable, xorshift32 } from "./report.js"

const rounds = positiveInt("BENCH_ROUNDS", 9)
const messageCount = positiveInt("BENCH_MESSAGES", 2000)
const pongsPerMessage = 1000
const clientMessageBytes = 9000

// Deterministic, so every run measures the same data.
const random = xorshift32()

const randomTime = (): bigint => {
  const pick = random()
  // Mostly realistic unix millis; some small, negative and extreme values to vary the bigint sizes.
  if (pick < 0.9) return 1_724_424_349_000n + BigInt(Math.floor(random() * 1e10))
  if (pick < 0.95) return BigInt(Math.floor(random() * 1e6)) - 500_000n
  return BigInt.asIntN(64, (BigInt(Math.floor(random() * 2 ** 32)) << 32n) | BigInt(Math.floor(random() * 2 ** 32)))
}

interface Data {
  readonly serverMessages: ReadonlyArray<Uint8Array>
  readonly clientMessages: ReadonlyArray<Uint8Array>
  readonly clientPackets: number
  readonly pongArrays: ReadonlyArray<ReadonlyArray<Packet.Pong>>
}

const makeData = (): Data => {
  const pongArrays: Array<Array<Packet.Pong>> = []
  const serverMessages: Array<Uint8Array> = []
  for (let m = 0; m < messageCount; m++) {
    const pongs: Array<Packet.Pong> = []
    const bytes = new Uint8Array(pongsPerMessage * 9)
    const view = new DataView(bytes.buffer)
    for (let i = 0; i < pongsPerMessage; i++) {
      const time = randomTime()
      pongs.push(Packet.pong(time))
      view.setBigInt64(i * 9 + 1, time)
    }
    pongArrays.push(pongs)
    serverMessages.push(bytes)
  }
  const clientMessages: Array<Uint8Array> = []
  let clientPackets = 0
  for (let m = 0; m < messageCount; m++) {
    const bytes = new Uint8Array(clientMessageBytes)
    let offset = 0
    while (offset < clientMessageBytes) {
      // About one packet in 50 is an empty Settings (01 ff); the rest are Pings (00, already zero).
      if (offset + 2 <= clientMessageBytes && random() < 0.02) {
        bytes[offset] = 0x01
        bytes[offset + 1] = 0xff
        offset += 2
      } else {
        offset += 1
      }
      clientPackets++
    }
    clientMessages.push(bytes)
  }
  return { serverMessages, clientMessages, clientPackets, pongArrays }
}

// ---------------------------------------------------------------------------------------------------------------
// Baselines: the obvious hand-written loops, with the same checks as the kernel.

interface BaselineError {
  readonly reason: "UnknownPacketId" | "Truncated" | "UnknownSettingId" | "SettingsNotTerminated"
  readonly byte: number
  readonly offset: number
}

const isBaselineError = <A>(result: Array<A> | BaselineError): result is BaselineError => !Array.isArray(result)

const baselineDecodeServer = (bytes: Uint8Array): Array<Packet.Pong> | BaselineError => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const length = bytes.length
  const packets: Array<Packet.Pong> = []
  let offset = 0
  while (offset < length) {
    const id = bytes[offset]!
    if (id !== 0x00) return { reason: "UnknownPacketId", byte: id, offset }
    if (offset + 9 > length) return { reason: "Truncated", byte: id, offset }
    packets.push({ _tag: "Pong", time: view.getBigInt64(offset + 1) })
    offset += 9
  }
  return packets
}

const baselinePing: Packet.ClientPacket = { _tag: "Ping" }
const baselineEmptySettings: Packet.ClientPacket = { _tag: "Settings", settings: [] }

// The standard registry is empty, so the only valid Settings packet is `01 ff`.
const baselineDecodeClient = (bytes: Uint8Array): Array<Packet.ClientPacket> | BaselineError => {
  const length = bytes.length
  const packets: Array<Packet.ClientPacket> = []
  let offset = 0
  while (offset < length) {
    const id = bytes[offset]!
    if (id === 0x00) {
      packets.push(baselinePing)
      offset += 1
    } else if (id === 0x01) {
      if (offset + 1 >= length) return { reason: "SettingsNotTerminated", byte: id, offset }
      const setting = bytes[offset + 1]!
      if (setting !== 0xff) return { reason: "UnknownSettingId", byte: setting, offset: offset + 1 }
      packets.push(baselineEmptySettings)
      offset += 2
    } else {
      return { reason: "UnknownPacketId", byte: id, offset }
    }
  }
  return packets
}

const baselineEncodeServer = (packets: ReadonlyArray<Packet.Pong>): Uint8Array => {
  const bytes = new Uint8Array(packets.length * 9)
  const view = new DataView(bytes.buffer)
  for (let i = 0; i < packets.length; i++) view.setBigInt64(i * 9 + 1, packets[i]!.time)
  return bytes
}

// ---------------------------------------------------------------------------------------------------------------
// Cases. Each pass goes over all the data once and returns a checksum, so the work cannot be optimised away and
// kernel and baseline can be checked against each other.

interface Case {
  readonly name: string
  readonly packetsPerPass: number
  /** Runs messages `from` until `to`; returns a checksum. */
  readonly kernel: (from: number, to: number) => number
  readonly baseline: (from: number, to: number) => number
}

const makeCases = (data: Data): ReadonlyArray<Case> => {
  const pongTotal = messageCount * pongsPerMessage
  return [
    {
      name: "decode server (Pong ×1000/msg)",
      packetsPerPass: pongTotal,
      kernel: (from, to) => {
        let sum = 0
        for (let m = from; m < to; m++) {
          const message = data.serverMessages[m]!
          const result = Packet.decodeServer(message)
          if (Either.isLeft(result)) return fail("kernel decodeServer", result.left.message)
          const packets = result.right
          sum = (sum + packets.length + Number(packets[packets.length - 1]!.time & 0xffn)) | 0
        }
        return sum
      },
      baseline: (from, to) => {
        let sum = 0
        for (let m = from; m < to; m++) {
          const message = data.serverMessages[m]!
          const packets = baselineDecodeServer(message)
          if (isBaselineError(packets)) return fail("baseline decodeServer", packets.reason)
          sum = (sum + packets.length + Number(packets[packets.length - 1]!.time & 0xffn)) | 0
        }
        return sum
      }
    },
    {
      name: "decode client (Ping-heavy)",
      packetsPerPass: data.clientPackets,
      kernel: (from, to) => {
        let sum = 0
        for (let m = from; m < to; m++) {
          const message = data.clientMessages[m]!
          const result = Packet.decodeClient(message)
          if (Either.isLeft(result)) return fail("kernel decodeClient", result.left.message)
          sum = (sum + result.right.length) | 0
        }
        return sum
      },
      baseline: (from, to) => {
        let sum = 0
        for (let m = from; m < to; m++) {
          const message = data.clientMessages[m]!
          const packets = baselineDecodeClient(message)
          if (isBaselineError(packets)) return fail("baseline decodeClient", packets.reason)
          sum = (sum + packets.length) | 0
        }
        return sum
      }
    },
    {
      name: "encode server (Pong ×1000/msg)",
      packetsPerPass: pongTotal,
      kernel: (from, to) => {
        let sum = 0
        for (let m = from; m < to; m++) {
          const pongs = data.pongArrays[m]!
          const bytes = Packet.encodeServer(pongs)
          sum = (sum + bytes.length + bytes[bytes.length - 1]!) | 0
        }
        return sum
      },
      baseline: (from, to) => {
        let sum = 0
        for (let m = from; m < to; m++) {
          const pongs = data.pongArrays[m]!
          const bytes = baselineEncodeServer(pongs)
          sum = (sum + bytes.length + bytes[bytes.length - 1]!) | 0
        }
        return sum
      }
    }
  ]
}

const chunkMessages = 25

interface Result {
  readonly name: string
  readonly kernel: number
  readonly baseline: number
}

/** One round over all the messages (see `interleavedRound`); packets/s for each side. */
const round = (benchCase: Case, kernelFirst: boolean): Pair =>
  interleavedRound({
    count: messageCount,
    chunk: chunkMessages,
    units: benchCase.packetsPerPass,
    kernelFirst,
    kernel: benchCase.kernel,
    baseline: benchCase.baseline,
    mismatch: (kernelSum, baselineSum) => fail(benchCase.name, `checksum ${kernelSum} ≠ ${baselineSum}`)
  })

const measure = (benchCase: Case): Result => ({
  name: benchCase.name,
  ...medianPair(rounds, (kernelFirst) => round(benchCase, kernelFirst))
})

const millions = (perSecond: number): string => `${(perSecond / 1e6).toFixed(1)} M/s`

const printResults = (results: ReadonlyArray<Result>): void =>
  printTable(
    ["case", "kernel packets/s", "baseline packets/s", "kernel/baseline"],
    results.map((r) => [r.name, millions(r.kernel), millions(r.baseline), (r.kernel / r.baseline).toFixed(2)])
  )

/**
 * Runs the rwws codec benchmark and prints its table.
 */
export const run = async (): Promise<void> => {
  console.log(
    `rwws packet codec: ${messageCount} messages per pass, median of ${rounds} rounds (Node ${process.version})`
  )
  const data = makeData()
  const results: Array<Result> = []
  for (const benchCase of makeCases(data)) {
    results.push(measure(benchCase))
    // Give the event loop (and pending GC work) a turn between cases.
    await new Promise((resolve) => setImmediate(resolve))
  }
  printResults(results)
  const decode = results.filter((r) => r.name.startsWith("decode"))
  const slowest = Math.min(...decode.map((r) => r.kernel))
  const worstRatio = Math.min(...results.map((r) => r.kernel / r.baseline))
  console.log(
    `targets: decode ≥ 20 M packets/s: ${slowest >= 20e6 ? "met" : "NOT met"}; ` +
      `kernel/baseline ≥ 0.8: ${worstRatio >= 0.8 ? "met" : "NOT met"}\n`
  )
}
