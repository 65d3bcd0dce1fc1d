/**
 * The Transport over `ws` against raw `ws`, in the same run:
 *
 * - round trips: pipelined 9-byte binary messages echoed by the server (windows of 100), messages/s;
 * - bulk: the server sends BENCH_BULK_MIB (default 128) MiB as 64 KiB binary frames, the client counts them, MiB/s;
 * - slow consumer: the server sends BENCH_SLOW_MIB (default 64) MiB to a client that handles one frame every
 *   0.5 ms; the growth of the process's ArrayBuffer memory shows whether reading pauses (bounded) or not.
 */
import * as WsTransport from "@protokernel/wire/WsTransport"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as Scope from "effect/Scope"
import { setTimeout as sleep } from "node:timers/promises"
import * as WS from "ws"
import { positiveInt, printTable, sample } from "./report.js"

const rounds = positiveInt("BENCH_ROUNDS", 5)
const roundTrips = positiveInt("BENCH_ROUND_TRIPS", 20_000)
const bulkMiB = positiveInt("BENCH_BULK_MIB", 128)
const slowMiB = positiveInt("BENCH_SLOW_MIB", 64)
const frameBytes = 64 * 1024
const window = 100
const ping = Uint8Array.of(0, 1, 2, 3, 4, 5, 6, 7, 8)

/** A raw `ws` server on 127.0.0.1 whose connections run `onConnection`. */
const rawServer = async (
  onConnection: (socket: WS.WebSocket) => void
): Promise<{ url: string; close: () => Promise<void> }> => {
  const server = new WS.WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false })
  await new Promise((resolve) => server.once("listening", resolve))
  server.on("connection", onConnection)
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  return {
    url: `ws://127.0.0.1:${port}`,
    // Stops listening and drops the connections; waiting for `close` to report back can hang forever.
    close: async () => {
      for (const client of server.clients) client.terminate()
      server.close()
    }
  }
}

const rawClient = async (url: string): Promise<WS.WebSocket> => {
  const socket = new WS.WebSocket(url, { perMessageDeflate: false })
  await new Promise((resolve, reject) => {
    socket.once("open", resolve)
    socket.once("error", reject)
  })
  return socket
}

/** Sends `count` frames of `frameBytes`, waiting for the socket when more than 1 MiB is queued (as the Transport does). */
const rawSendBulk = async (socket: WS.WebSocket, count: number): Promise<void> => {
  const frame = new Uint8Array(frameBytes).fill(7)
  for (let i = 0; i < count; i++) {
    if (socket.bufferedAmount < 1024 * 1024) socket.send(frame)
    else await new Promise<void>((resolve) => socket.send(frame, () => resolve()))
  }
}

const rawRoundTrips = async (): Promise<number> => {
  const server = await rawServer((socket) => socket.on("message", (data: Buffer) => socket.send(data)))
  const client = await rawClient(server.url)
  let received = 0
  let release: () => void = () => {}
  client.on("message", () => {
    received++
    if (received % window === 0) release()
  })
  const start = process.hrtime.bigint()
  for (let sent = 0; sent < roundTrips; sent += window) {
    const done = new Promise<void>((resolve) => (release = resolve))
    for (let i = 0; i < window; i++) client.send(ping)
    await done
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  client.terminate()
  await server.close()
  return roundTrips / seconds
}

const kernelRoundTrips: Effect.Effect<number, unknown, Scope.Scope> = Effect.gen(function* () {
  const server = yield* WsTransport.makeServer()
  yield* Effect.forkScoped(server.run((t) => t.frames.pipe(Stream.runForEach(t.send), Effect.ignore)))
  const client = yield* WsTransport.connect(server.url)
  const pull = yield* Stream.toPull(client.frames)
  const start = process.hrtime.bigint()
  for (let sent = 0; sent < roundTrips; sent += window) {
    for (let i = 0; i < window; i++) yield* client.send(ping)
    let received = 0
    while (received < window) received += Chunk.size(yield* pull)
  }
  return roundTrips / (Number(process.hrtime.bigint() - start) / 1e9)
})

const rawBulk = async (): Promise<number> => {
  const count = (bulkMiB * 1024 * 1024) / frameBytes
  const server = await rawServer((socket) => void rawSendBulk(socket, count))
  let bytes = 0
  const start = process.hrtime.bigint()
  const client = new WS.WebSocket(server.url, { perMessageDeflate: false })
  await new Promise<void>((resolve) =>
    client.on("message", (data: Buffer) => {
      bytes += data.length
      if (bytes >= count * frameBytes) resolve()
    })
  )
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  client.terminate()
  await server.close()
  return bulkMiB / seconds
}

const kernelBulk: Effect.Effect<number, unknown, Scope.Scope> = Effect.gen(function* () {
  const count = (bulkMiB * 1024 * 1024) / frameBytes
  const frame = new Uint8Array(frameBytes).fill(7)
  const server = yield* WsTransport.makeServer()
  yield* Effect.forkScoped(
    server.run((t) => Effect.zipRight(Effect.ignore(Effect.repeatN(t.send(frame), count - 1)), Effect.never))
  )
  const start = process.hrtime.bigint()
  const client = yield* WsTransport.connect(server.url)
  let bytes = 0
  yield* client.frames.pipe(
    Stream.take(count),
    Stream.runForEachChunk((frames) => Effect.sync(() => Chunk.forEach(frames, (frame) => (bytes += frame.length))))
  )
  if (bytes !== count * frameBytes) return yield* Effect.dieMessage(`received ${bytes} bytes`)
  return bulkMiB / (Number(process.hrtime.bigint() - start) / 1e9)
})

/** Peak growth of ArrayBuffer memory (MiB) while `work` runs, sampled every 5 ms. */
const peakGrowth = async (work: () => Promise<void>): Promise<number> => {
  globalThis.gc?.()
  await sleep(50)
  const before = process.memoryUsage().arrayBuffers
  let peak = before
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 5)
  await work()
  clearInterval(sampler)
  return (peak - before) / (1024 * 1024)
}

const slowDelay = () => new Promise<void>((resolve) => setTimeout(resolve, 0.5))

const rawSlow = (): Promise<number> =>
  peakGrowth(async () => {
    const count = (slowMiB * 1024 * 1024) / frameBytes
    const server = await rawServer((socket) => void rawSendBulk(socket, count))
    const client = new WS.WebSocket(server.url, { perMessageDeflate: false })
    // What an application does without backpressure: queue what arrives, handle it at its own pace.
    const queue: Array<Buffer> = []
    client.on("message", (data: Buffer) => queue.push(data))
    for (let handled = 0; handled < count;) {
      if (queue.shift() === undefined) await sleep(1)
      else {
        handled++
        await slowDelay()
      }
    }
    client.terminate()
    await server.close()
  })

const kernelSlow = (): Promise<number> =>
  peakGrowth(() =>
    Effect.runPromise(
      Effect.gen(function* () {
        const count = (slowMiB * 1024 * 1024) / frameBytes
        const frame = new Uint8Array(frameBytes).fill(7)
        const server = yield* WsTransport.makeServer()
        yield* Effect.forkScoped(
          server.run((t) => Effect.zipRight(Effect.ignore(Effect.repeatN(t.send(frame), count - 1)), Effect.never))
        )
        const client = yield* WsTransport.connect(server.url)
        yield* client.frames.pipe(
          Stream.take(count),
          Stream.runForEach(() => Effect.promise(slowDelay))
        )
      }).pipe(Effect.scoped)
    )
  )

/**
 * Runs the transport benchmark and prints its table.
 */
export const run = async (): Promise<void> => {
  console.log(`Transport over ws vs raw ws on 127.0.0.1: median of ${rounds} rounds (Node ${process.version})`)
  const kernel = (effect: Effect.Effect<number, unknown, Scope.Scope>) => () => Effect.runPromise(Effect.scoped(effect))
  await sample(1, rawRoundTrips)
  await sample(1, kernel(kernelRoundTrips))
  const trips = { raw: await sample(rounds, rawRoundTrips), kernel: await sample(rounds, kernel(kernelRoundTrips)) }
  const bulk = { raw: await sample(rounds, rawBulk), kernel: await sample(rounds, kernel(kernelBulk)) }
  const slow = { raw: await rawSlow(), kernel: await kernelSlow() }
  printTable(
    ["case", "kernel", "raw ws", "kernel/raw"],
    [
      [
        `round trips (9 B, window ${window})`,
        `${(trips.kernel / 1e3).toFixed(1)} k/s`,
        `${(trips.raw / 1e3).toFixed(1)} k/s`,
        (trips.kernel / trips.raw).toFixed(2)
      ],
      [
        `bulk ${bulkMiB} MiB in 64 KiB frames`,
        `${bulk.kernel.toFixed(0)} MiB/s`,
        `${bulk.raw.toFixed(0)} MiB/s`,
        (bulk.kernel / bulk.raw).toFixed(2)
      ],
      [
        `slow consumer, ${slowMiB} MiB: peak buffer growth`,
        `${slow.kernel.toFixed(1)} MiB`,
        `${slow.raw.toFixed(1)} MiB`,
        ""
      ]
    ]
  )
  console.log("")
}
