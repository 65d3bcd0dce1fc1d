/**
 * Blazeauth file downloads (docs/blazeauth.md §4: type-8 header + binary frame pairs, SHA-256 checked at the end) over
 * ws on 127.0.0.1, server and client in one process:
 *
 * - throughput: a BENCH_DOWNLOAD_MIB (default 256) MiB file held in memory, 64 KiB chunks. Kernel:
 *   `BlazeauthServer` → `BlazeauthClient.download` (headers validated, offsets and both checksums verified
 *   inside the client). Baseline: a raw `ws` server streaming `JSON.stringify` headers and `subarray`
 *   frames with the same pacing, and a raw `ws` client that `JSON.parse`s each header, checks its offset
 *   and hashes the frames with `createHash("sha256")`. Interleaved rounds, medians, MiB/s.
 * - slow consumer: a BENCH_SLOW_DOWNLOAD_MIB (default 1024) MiB file on disk (the server reads it a block at
 *   a time), consumed BENCH_SLOWDOWN (default 10) times slower than the kernel's wire rate above. The
 *   growth of the process's RSS shows whether the client holds back the socket (bounded) or buffers the
 *   file. A raw `ws` client that queues whatever arrives is the comparison; it stops once the whole file
 *   has arrived (its peak), instead of draining it at the slow rate. RSS also counts memory already freed:
 *   V8 collects the 64 KiB frame copies only after about 64 MiB of them, and glibc keeps freed blocks of
 *   that size mapped (measured: 44–68 MiB of RSS growth with 7 MiB of live ArrayBuffers after a forced
 *   collection), so the ArrayBuffer column is printed beside it.
 *
 * Runtime: the throughput part is (2 + BENCH_ROUNDS) × 2 downloads at wire speed (about 10 s at the
 * defaults); the slow consumer takes file size / (wire rate / 10), about 30–60 s for 1 GiB, plus writing
 * and hashing the file on disk.
 */
import * as Client from "@protokernel/blazeauth/Client"
import * as Fixtures from "@protokernel/blazeauth/Fixtures"
import * as Server from "@protokernel/blazeauth/Server"
import * as WsTransport from "@protokernel/wire/WsTransport"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as NodePath from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import * as WS from "ws"
import { median, positiveInt, printTable } from "./report.js"

const rounds = positiveInt("BENCH_ROUNDS", 5)
const downloadMiB = positiveInt("BENCH_DOWNLOAD_MIB", 256)
const slowMiB = positiveInt("BENCH_SLOW_DOWNLOAD_MIB", 1024)
const slowdown = positiveInt("BENCH_SLOWDOWN", 10)
/** Rounds not counted: the kernel reaches its steady rate after two or three 256 MiB downloads (JIT tiers). */
const warmups = 2
const MiB = 1024 * 1024
const chunkBytes = 64 * 1024
const apiKey = "BA0123456789ABCDEFGHI"
const application = "Bench"
const filename = "bench.bin"
/** One license per client: the server binds a license to the first client id that uses it. */
const kernelLicense = "BENCH-LICENSE-KERNEL"
const rawLicense = "BENCH-LICENSE-RAW"

const document = {
  applications: [
    {
      api_key: apiKey,
      name: application,
      licenses: [{ key: kernelLicense }, { key: rawLicense }]
    }
  ]
}

const sha256Hex = (bytes: Uint8Array): string => Crypto.createHash("sha256").update(bytes).digest("hex")

/** `size` bytes of random data. */
const randomFile = (size: number): Uint8Array => {
  const bytes = new Uint8Array(size)
  for (let offset = 0; offset < size; offset += 64 * MiB) {
    Crypto.randomFillSync(bytes, offset, Math.min(64 * MiB, size - offset))
  }
  return bytes
}

// ---- raw ws -----------------------------------------------------------------------------------------

interface RawHeader {
  readonly type: number
  readonly payload: {
    readonly id: number
    readonly transfer_id: string
    readonly chunk_size: number
    readonly offset: number
    readonly file_size?: number
    readonly status?: number
    readonly file_checksum?: string
    readonly range_checksum?: string
  }
}

const listen = async (server: WS.WebSocketServer): Promise<string> => {
  await new Promise((resolve) => server.once("listening", resolve))
  const address = server.address()
  return `ws://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
}

const rawClient = async (url: string): Promise<WS.WebSocket> => {
  const socket = new WS.WebSocket(url, { perMessageDeflate: false, maxPayload: 16 * MiB })
  await new Promise((resolve, reject) => {
    socket.once("open", resolve)
    socket.once("error", reject)
  })
  return socket
}

/**
 * Streams `file` as docs/blazeauth.md §4 pairs, the last chunk in the terminal header. Paced as the reference server
 * is (§4.4 rule 10): a pair's frame is written at once while the socket holds at most one chunk;
 * otherwise the next pair waits for that frame's send callback.
 */
const rawStream = (socket: WS.WebSocket, id: number, transferId: string, file: Uint8Array, checksum: string) => {
  let offset = 0
  const pump = (): void => {
    while (socket.readyState === WS.WebSocket.OPEN) {
      const length = Math.min(chunkBytes, file.byteLength - offset)
      const terminal = offset + length === file.byteLength
      socket.send(
        JSON.stringify({
          type: 8,
          payload: {
            id,
            transfer_id: transferId,
            binary_data: true,
            chunk_size: length,
            offset,
            ...(offset === 0 ? { file_size: file.byteLength } : {}),
            ...(terminal ? { status: 1, file_checksum: checksum, range_checksum: checksum } : {})
          }
        })
      )
      const chunk = file.subarray(offset, offset + length)
      offset += length
      if (terminal) return socket.send(chunk)
      if (socket.bufferedAmount > chunkBytes) return socket.send(chunk, () => pump())
      socket.send(chunk)
    }
  }
  pump()
}

/** The raw baseline server: every type-8 text message streams the whole file. */
const rawServer = async (file: Uint8Array, checksum: string): Promise<{ url: string; close: () => void }> => {
  const server = new WS.WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false })
  const url = await listen(server)
  let transfers = 0
  server.on("connection", (socket) => {
    socket.on("message", (data: Buffer, isBinary: boolean) => {
      if (isBinary) return
      const request = JSON.parse(data.toString("utf8")) as { type: number; payload: { id: number } }
      if (request.type !== 8) return
      rawStream(socket, request.payload.id, (++transfers).toString(16).padStart(32, "0"), file, checksum)
    })
  })
  return {
    url,
    close: () => {
      for (const client of server.clients) client.terminate()
      server.close()
    }
  }
}

/**
 * Downloads the file as a raw client: each header parsed and its offset checked, each frame's length
 * checked and hashed, the digest compared with `file_checksum` at the end. Resolves with the byte count.
 */
const rawDownload = (socket: WS.WebSocket, id: number): Promise<number> =>
  new Promise((resolve, reject) => {
    const hash = Crypto.createHash("sha256")
    let next = 0
    let pending = 0
    let terminal: RawHeader["payload"] | undefined
    let fileSize = -1
    const finish = (): void => {
      socket.off("message", onMessage)
      const digest = hash.digest("hex")
      if (terminal?.status !== 1 || next !== fileSize || digest !== terminal.file_checksum) {
        reject(new Error(`raw download ended badly at ${next} of ${fileSize} (status ${terminal?.status})`))
      } else resolve(next)
    }
    const onMessage = (data: Buffer, isBinary: boolean): void => {
      if (!isBinary) {
        const header = JSON.parse(data.toString("utf8")) as RawHeader
        if (header.type !== 8 || header.payload.id !== id) return
        if (pending !== 0 || header.payload.offset !== next) {
          socket.off("message", onMessage)
          return reject(new Error(`raw download: header at ${header.payload.offset}, expected ${next}`))
        }
        if (header.payload.file_size !== undefined) fileSize = header.payload.file_size
        pending = header.payload.chunk_size
        if (header.payload.status !== undefined) terminal = header.payload
        if (pending === 0 && terminal !== undefined) finish()
        return
      }
      if (data.length !== pending) {
        socket.off("message", onMessage)
        return reject(new Error(`raw download: frame of ${data.length} bytes, expected ${pending}`))
      }
      hash.update(data)
      next += data.length
      pending = 0
      if (terminal !== undefined) finish()
    }
    socket.on("message", onMessage)
    socket.send(JSON.stringify({ type: 8, payload: { id, filename } }))
  })

/** Sends one request and waits for the response with the same type. */
const rawCall = (socket: WS.WebSocket, type: number, payload: object): Promise<RawHeader["payload"]> =>
  new Promise((resolve) => {
    const onMessage = (data: Buffer, isBinary: boolean): void => {
      if (isBinary) return
      const message = JSON.parse(data.toString("utf8")) as RawHeader
      if (message.type !== type) return
      socket.off("message", onMessage)
      resolve(message.payload)
    }
    socket.on("message", onMessage)
    socket.send(JSON.stringify({ type, payload }))
  })

// ---- kernel -----------------------------------------------------------------------------------------

/** The reference server over ws on a free port, in the current scope. */
const startServer = (fixtures: Fixtures.Fixtures) =>
  Effect.map(
    Layer.build(Server.layerWs({ fixtures, rateLimit: 0, chunkSize: chunkBytes })),
    Context.get(Server.BlazeauthServer)
  )

/** A client initialized and authorized by license, keepalive pings off. */
const connectClient = (url: string): Effect.Effect<Client.Client, unknown, Scope.Scope> =>
  Client.make({
    url,
    apiKey: Redacted.make(apiKey),
    clientId: "bench-download-kernel",
    auth: Client.Authorization.license(Redacted.make(kernelLicense)),
    pingInterval: "0 millis"
  }).pipe(Effect.provide(WsTransport.layerConnector))

/** Downloads the whole file, counting bytes; the stream ends only after the client's SHA-256 checks. */
const kernelDownload = (client: Client.Client, size: number): Effect.Effect<void, unknown> =>
  Effect.flatMap(
    Stream.runFold(client.download(filename), 0, (bytes, chunk) => bytes + chunk.byteLength),
    (bytes) => (bytes === size ? Effect.void : Effect.dieMessage(`kernel download: ${bytes} bytes of ${size}`))
  )

// ---- throughput ---------------------------------------------------------------------------------------

/** MiB/s of `download` (which moves `size` bytes). */
const timed = <E, R>(size: number, download: Effect.Effect<void, E, R>): Effect.Effect<number, E, R> =>
  Effect.suspend(() => {
    const started = performance.now()
    return Effect.map(download, () => size / MiB / ((performance.now() - started) / 1000))
  })

interface Throughput {
  readonly kernel: ReadonlyArray<number>
  readonly raw: ReadonlyArray<number>
}

/**
 * Two warm-up rounds, then `rounds` rounds of one download each side, the side going first alternating
 * (`medianPair` in report.ts does this for synchronous work only). Each side keeps one connection (and
 * its server) for all its rounds.
 */
const throughput: Effect.Effect<Throughput, unknown, Scope.Scope> = Effect.gen(function* () {
  const size = downloadMiB * MiB
  const file = randomFile(size)
  const checksum = sha256Hex(file)

  const raw = yield* Effect.acquireRelease(
    Effect.promise(() => rawServer(file, checksum)),
    (server) => Effect.sync(server.close)
  )
  const rawSocket = yield* Effect.acquireRelease(
    Effect.promise(() => rawClient(raw.url)),
    (socket) => Effect.sync(() => socket.terminate())
  )
  let rawId = 0
  const rawRound = timed(
    size,
    Effect.promise(() => rawDownload(rawSocket, ++rawId))
  )

  // The in-memory source is handed to the server as is: `content_base64` would copy 256 MiB into a
  // string of 341 MiB and back, and would not fit V8's string limit from 384 MiB on.
  const decoded = yield* Fixtures.decode(document)
  const fixtures: Fixtures.Fixtures = {
    document: decoded.document,
    files: new Map([[application, new Map([[filename, { _tag: "Bytes", bytes: file }]])]])
  }
  const server = yield* startServer(fixtures)
  const client = yield* connectClient(server.url)
  const kernelRound = timed(size, kernelDownload(client, size))

  const kernel: Array<number> = []
  const baseline: Array<number> = []
  for (let round = 0; round < warmups + rounds; round++) {
    const kernelFirst = round % 2 === 0
    const first = yield* kernelFirst ? kernelRound : rawRound
    const second = yield* kernelFirst ? rawRound : kernelRound
    if (round < warmups) continue
    kernel.push(kernelFirst ? first : second)
    baseline.push(kernelFirst ? second : first)
  }
  return { kernel, raw: baseline }
})

// ---- slow consumer ------------------------------------------------------------------------------------

interface Memory {
  readonly baseline: number
  readonly peak: number
  /** Peak growth of ArrayBuffer memory (the bytes held), apart from the JS heap's uncollected garbage. */
  readonly buffers: number
  /** MiB/s the consumer reached. */
  readonly rate: number
  readonly seconds: number
}

/**
 * Samples the RSS every 20 ms while `work` runs. The baseline is taken right before it, after a
 * collection when `--expose-gc` gave one.
 */
const sampleRss = <E, R>(work: Effect.Effect<number, E, R>): Effect.Effect<Memory, E, R> =>
  Effect.gen(function* () {
    globalThis.gc?.()
    yield* Effect.sleep(Duration.millis(50))
    const baseline = process.memoryUsage.rss()
    const buffersBefore = process.memoryUsage().arrayBuffers
    let peak = baseline
    let buffers = buffersBefore
    const sample = () => {
      peak = Math.max(peak, process.memoryUsage.rss())
      buffers = Math.max(buffers, process.memoryUsage().arrayBuffers)
    }
    const sampler = setInterval(sample, 20)
    const started = performance.now()
    const bytes = yield* work.pipe(Effect.ensuring(Effect.sync(() => clearInterval(sampler))))
    const seconds = (performance.now() - started) / 1000
    sample()
    return { baseline, peak, buffers: buffers - buffersBefore, rate: bytes / MiB / seconds, seconds }
  })

/**
 * Paces a consumer to `rate` MiB/s from `started`: after `consumed` bytes, how long to sleep (ms), or 0.
 * It sleeps in slices of at least 4 ms (timers are not finer), so the event loop keeps running.
 */
const paceMillis = (started: number, consumed: number, rate: number): number => {
  const ahead = started + (consumed / MiB / rate) * 1000 - performance.now()
  return ahead >= 4 ? ahead : 0
}

/** Writes `size` bytes of random data to `path` (16 MiB blocks, each made distinct by its first bytes). */
const writeFile = (path: string, size: number): void => {
  const block = Crypto.randomBytes(16 * MiB)
  const fd = Fs.openSync(path, "w")
  try {
    for (let offset = 0, index = 0; offset < size; offset += block.byteLength, index++) {
      block.writeUInt32LE(index, 0)
      Fs.writeSync(fd, block, 0, Math.min(block.byteLength, size - offset))
    }
  } finally {
    Fs.closeSync(fd)
  }
}

/** The file size the disk allows: the requested one, or less so that 2 GiB stay free; 0 = skip. */
const slowFileSize = (directory: string): number => {
  const stats = Fs.statfsSync(directory)
  const free = stats.bavail * stats.bsize
  const wanted = slowMiB * MiB
  if (free >= wanted + 2048 * MiB) return wanted
  const fits = Math.floor((free - 2048 * MiB) / (64 * MiB)) * 64 * MiB
  return fits >= 64 * MiB ? fits : 0
}

/** The kernel client consuming `download` at `rate` MiB/s. */
const kernelSlow = (client: Client.Client, size: number, rate: number): Effect.Effect<number, unknown> =>
  Effect.suspend(() => {
    const started = performance.now()
    let consumed = 0
    return Stream.runForEach(client.download(filename), (chunk) => {
      consumed += chunk.byteLength
      const wait = paceMillis(started, consumed, rate)
      return wait > 0 ? Effect.sleep(Duration.millis(wait)) : Effect.void
    }).pipe(
      Effect.flatMap(() =>
        consumed === size ? Effect.succeed(consumed) : Effect.dieMessage(`slow download: ${consumed} of ${size}`)
      )
    )
  })

/**
 * A raw client with no backpressure against the same server: `ws` reads the socket as fast as it can
 * and the frames wait in a queue for the consumer. It stops when the last frame has arrived, which is
 * when its queue, and so its memory, is largest. Resolves with the bytes consumed by then.
 */
const rawSlow = async (socket: WS.WebSocket, size: number, rate: number): Promise<number> => {
  const queue: Array<Buffer | undefined> = []
  let head = 0
  let arrived = 0
  const onMessage = (data: Buffer, isBinary: boolean): void => {
    if (!isBinary) return
    queue.push(data)
    arrived += data.length
  }
  socket.on("message", onMessage)
  socket.send(JSON.stringify({ type: 8, payload: { id: 3, filename } }))
  const started = performance.now()
  let consumed = 0
  while (arrived < size) {
    const frame = queue[head]
    if (frame === undefined) {
      await sleep(1)
      continue
    }
    queue[head++] = undefined
    consumed += frame.length
    const wait = paceMillis(started, consumed, rate)
    if (wait > 0) await sleep(wait)
  }
  socket.off("message", onMessage)
  return consumed
}

interface Slow {
  readonly size: number
  readonly rate: number
  readonly kernel: Memory
  readonly raw: Memory
}

/** The slow-consumer case at `wireRate / slowdown`, with the file in a temporary directory. */
const slowConsumer = (wireRate: number): Effect.Effect<Slow | undefined, unknown, Scope.Scope> =>
  Effect.gen(function* () {
    const directory = yield* Effect.acquireRelease(
      Effect.sync(() => Fs.mkdtempSync(NodePath.join(Os.tmpdir(), "bench-download-"))),
      (path) => Effect.sync(() => Fs.rmSync(path, { recursive: true, force: true }))
    )
    const size = slowFileSize(directory)
    if (size === 0) return undefined
    const path = NodePath.join(directory, filename)
    writeFile(path, size)
    const rate = wireRate / slowdown

    // The server hashes the file from disk at startup and reads it 1 MiB at a time while streaming.
    const fixtures = yield* Fixtures.decode({
      applications: [{ ...document.applications[0]!, files: [{ name: filename, path }] }]
    })
    const server = yield* startServer(fixtures)
    const client = yield* connectClient(server.url)
    const kernel = yield* sampleRss(kernelSlow(client, size, rate))

    const socket = yield* Effect.acquireRelease(
      Effect.promise(() => rawClient(server.url)),
      (socket) => Effect.sync(() => socket.terminate())
    )
    yield* Effect.promise(() =>
      rawCall(socket, 1, { id: 1, socket_api_key: apiKey, client_id: "bench-download-raw" }).then(() =>
        rawCall(socket, 3, { id: 2, license: rawLicense })
      )
    )
    const raw = yield* sampleRss(Effect.promise(() => rawSlow(socket, size, rate)))
    return { size, rate, kernel, raw }
  })

// ---- report -------------------------------------------------------------------------------------------

const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`

/** Prints the throughput table (kernel/raw target ≥ 0.85), then the slow-consumer memory table (≤ 64 MiB). */
export const run = async (): Promise<void> => {
  console.log(
    `\nBlazeauth download over ws on 127.0.0.1: ${downloadMiB} MiB in ${chunkBytes / 1024} KiB chunks, ` +
      `median of ${rounds} interleaved rounds after ${warmups} warm-up rounds`
  )
  const result = await Effect.runPromise(Effect.scoped(throughput))
  const kernel = median(result.kernel)
  const raw = median(result.raw)
  printTable(
    ["case", "kernel", "raw ws", "kernel/raw"],
    [
      [
        `download ${downloadMiB} MiB, SHA-256 verified`,
        `${kernel.toFixed(0)} MiB/s`,
        `${raw.toFixed(0)} MiB/s`,
        (kernel / raw).toFixed(2)
      ]
    ]
  )
  const list = (values: ReadonlyArray<number>) => values.map((value) => value.toFixed(0)).join(", ")
  console.log(`rounds (MiB/s): kernel ${list(result.kernel)}; raw ${list(result.raw)}`)
  console.log(`target: kernel/raw ≥ 0.85: ${kernel / raw >= 0.85 ? "met" : "NOT met"}`)

  const slow = await Effect.runPromise(Effect.scoped(slowConsumer(kernel)))
  if (slow === undefined) {
    console.log("slow consumer: skipped, less than 2 GiB + 64 MiB free in the temporary directory")
    return
  }
  console.log(
    `\nBlazeauth download of ${slow.size / MiB} MiB from disk to a consumer ${slowdown}× slower than the wire ` +
      `(${slow.rate.toFixed(1)} MiB/s)${slow.size < slowMiB * MiB ? `, scaled down from ${slowMiB} MiB for disk space` : ""}` +
      `${globalThis.gc === undefined ? "; no --expose-gc, baselines taken without a collection" : ""}`
  )
  const row = (name: string, memory: Memory) => [
    name,
    mib(memory.baseline),
    mib(memory.peak),
    mib(memory.peak - memory.baseline),
    mib(memory.buffers),
    `${memory.rate.toFixed(1)} MiB/s`,
    `${memory.seconds.toFixed(1)} s`
  ]
  printTable(
    ["client", "RSS baseline", "RSS peak", "growth", "ArrayBuffer growth", "consumed at", "time"],
    [row("kernel BlazeauthClient.download", slow.kernel), row("raw ws, no backpressure (until all arrived)", slow.raw)]
  )
  const growth = (slow.kernel.peak - slow.kernel.baseline) / MiB
  console.log(`target: kernel RSS growth ≤ 64 MiB: ${growth <= 64 ? "met" : "NOT met"}`)
}
