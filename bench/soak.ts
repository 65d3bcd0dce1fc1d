/**
 * The soak (`npm run soak`, not part of `npm test` or `npm run bench`): the reference servers in one
 * process, the load in another, over loopback. Per protocol, one phase after the other:
 *
 * - Blazeauth: `--sessions` (default 1 000) raw `ws` sessions initialize, authorize with their own
 *   fixture license, then send a steady mix (ping, variable, file metadata, session value set and get,
 *   current license, online count, a one-chunk download) at one request per `--interval-ms` (default
 *   2 000, under the default rate limit of 60 a minute) each, for `--seconds` (default 30).
 * - rwws: `--clients` (default 10 000) raw `ws` clients do the hello and authentication, then ping once
 *   per `--ping-ms` (default 5 000) each for `--seconds`.
 *
 * It prints per protocol: connections accepted, responses lost (unanswered after a drain of 5 s) and
 * duplicated, closes the client did not ask for, p50/p99 request latency, and the server's RSS and heap
 * per connection, (with the connections − idle baseline) / connections, both taken after a full GC.
 * CPU of both processes over the steady part shows whether the load process kept up. Options:
 * `--seconds N --sessions N --clients N --interval-ms N --ping-ms N --backlog N --rate N` (connections
 * opened per second, default 1 000: the soak measures the steady state, a burst is `bench/burst.ts`'s).
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as BlazeauthServer from "@protokernel/blazeauth/Server"
import * as Fixtures from "@protokernel/blazeauth/Fixtures"
import * as KeyStore from "@protokernel/rwws/KeyStore"
import * as RwwsServer from "@protokernel/rwws/Server"
import * as WsTransport from "@protokernel/wire/WsTransport"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { fork, type ChildProcess } from "node:child_process"
import { fileURLToPath } from "node:url"
import * as WS from "ws"
import { printTable } from "./report.js"

// ---- options --------------------------------------------------------------------------------------

interface Settings {
  readonly seconds: number
  readonly sessions: number
  readonly clients: number
  readonly intervalMs: number
  readonly pingMs: number
  readonly backlog: number
  readonly rate: number
}

const defaults: Settings = {
  seconds: 30,
  sessions: 1000,
  clients: 10_000,
  intervalMs: 2000,
  pingMs: 5000,
  backlog: WsTransport.defaultBacklog,
  rate: 1000
}

const flags: { readonly [flag: string]: keyof Settings } = {
  "--seconds": "seconds",
  "--sessions": "sessions",
  "--clients": "clients",
  "--interval-ms": "intervalMs",
  "--ping-ms": "pingMs",
  "--backlog": "backlog",
  "--rate": "rate"
}

const parseSettings = (args: ReadonlyArray<string>): Settings => {
  const settings: { -readonly [K in keyof Settings]: number } = { ...defaults }
  for (let i = 0; i < args.length; i += 2) {
    const key = flags[args[i] ?? ""]
    const value = Number(args[i + 1])
    if (key === undefined || !Number.isInteger(value) || value < 1) {
      throw new Error(`usage: soak [${Object.keys(flags).join(" N] [")} N]; got ${args.slice(i, i + 2).join(" ")}`)
    }
    settings[key] = value
  }
  return settings
}

// ---- shared -------------------------------------------------------------------------------------------

const apiKey = "BA-SOAK-0123456789ABCDEF"
const rwwsKey = Uint8Array.from({ length: 32 }, (_, i) => i + 1)
const licenseOf = (n: number) => `SOAK-${String(n).padStart(6, "0")}`
const smallFile = Buffer.alloc(4096, 7)
/** Pending requests get this long after the load stops before they count as lost. */
const drainMillis = 5000

interface ServerReport {
  readonly rss: number
  readonly heapUsed: number
  readonly blazeauthSessions: number
  readonly rwwsSessions: number
  readonly cpuMicros: number
}

/** What the load process counted in one phase. */
interface PhaseStats {
  readonly protocol: string
  readonly connections: number
  accepted: number
  failed: number
  failures: Record<string, number>
  requests: number
  /** Unanswered on connections still open after the drain. */
  lost: number
  /** Unanswered on connections the server closed. */
  unansweredOnClosed: number
  duplicated: number
  spuriousCloses: number
  closeCodes: Record<string, number>
  latencies: Array<number>
  loadCpuMicros: number
  steadySeconds: number
}

type LoadCommand =
  | { readonly type: "blazeauth" | "rwws"; readonly url: string; readonly settings: Settings }
  | { readonly type: "close" }

type LoadEvent =
  | { readonly type: "steady"; readonly stats: Omit<PhaseStats, "latencies"> & { p50: number; p99: number } }
  | { readonly type: "closed" }

const newStats = (protocol: string, connections: number): PhaseStats => ({
  protocol,
  connections,
  accepted: 0,
  failed: 0,
  failures: {},
  requests: 0,
  lost: 0,
  unansweredOnClosed: 0,
  duplicated: 0,
  spuriousCloses: 0,
  closeCodes: {},
  latencies: [],
  loadCpuMicros: 0,
  steadySeconds: 0
})

const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!

const sleep = (millis: number) => new Promise<void>((resolve) => setTimeout(resolve, millis))

// ---- server process -----------------------------------------------------------------------------------

const blazeauthFixtures = (sessions: number) => ({
  applications: [
    {
      api_key: apiKey,
      name: "Soak",
      version: "1.0.0",
      licenses: Array.from({ length: sessions }, (_, n) => ({ key: licenseOf(n), duration_seconds: 0 })),
      variables: [{ name: "launcher_config", content: '{"featureFlag":true}' }],
      files: [{ name: "small.bin", content_base64: smallFile.toString("base64") }]
    }
  ]
})

const serverReport = (
  blazeauth: BlazeauthServer.BlazeauthServer["Type"],
  rwws: RwwsServer.RwwsServer["Type"]
): Promise<ServerReport> =>
  Effect.runPromise(
    Effect.gen(function* () {
      // Two collections: the first may only queue finalizers that the second frees.
      globalThis.gc?.()
      globalThis.gc?.()
      const memory = process.memoryUsage()
      const cpu = process.cpuUsage()
      return {
        rss: memory.rss,
        heapUsed: memory.heapUsed,
        blazeauthSessions: (yield* blazeauth.sessions).length,
        rwwsSessions: yield* rwws.sessions,
        cpuMicros: cpu.user + cpu.system
      }
    })
  )

/** Serves both protocols on 127.0.0.1 and answers the runner's requests for a report. */
const serverProcess = (settings: Settings): Promise<void> =>
  Effect.gen(function* () {
    const blazeauth = yield* BlazeauthServer.BlazeauthServer
    const rwws = yield* RwwsServer.RwwsServer
    process.on("message", () => {
      void serverReport(blazeauth, rwws).then((report) => process.send?.({ type: "report", report }))
    })
    process.send?.({ type: "ready", blazeauth: blazeauth.url, rwws: rwws.url })
    return yield* Effect.never
  }).pipe(
    Effect.provide(
      Layer.mergeAll(
        Layer.unwrapEffect(
          Effect.map(Fixtures.decode(blazeauthFixtures(settings.sessions)), (fixtures) =>
            BlazeauthServer.layerWs({ fixtures, backlog: settings.backlog })
          )
        ),
        RwwsServer.layerWs({ backlog: settings.backlog }).pipe(
          Layer.provide(KeyStore.layerMemory([Redacted.make(Buffer.from(rwwsKey).toString("base64"))]))
        )
      ).pipe(Layer.provide(NodeFileSystem.layer), Layer.orDie)
    ),
    Effect.scoped,
    Effect.runPromise
  )

// ---- load process: one record per connection, named handlers over it ----------------------------------

interface Peer {
  readonly stats: PhaseStats
  readonly socket: WS.WebSocket
  readonly index: number
  accepted: boolean
  closing: boolean
  /** Blazeauth: request id → send time; rwws: send times of the pings in flight, in order. */
  readonly pending: Map<number, number>
  readonly pings: Array<number>
  nextId: number
  timer: NodeJS.Timeout | undefined
}

const newPeer = (stats: PhaseStats, url: string, index: number): Peer => ({
  stats,
  socket: new WS.WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 60_000 }),
  index,
  accepted: false,
  closing: false,
  pending: new Map(),
  pings: [],
  nextId: 1,
  timer: undefined
})

const count = (record: Record<string, number>, key: string) => {
  record[key] = (record[key] ?? 0) + 1
}

/** A close of an accepted connection that the client did not start. */
const onPeerClose = (peer: Peer, code: number) => {
  clearTimeout(peer.timer)
  if (peer.closing || !peer.accepted) return
  peer.stats.spuriousCloses++
  count(peer.stats.closeCodes, String(code))
}

/** Ends a connection's opening: accepted, or failed for `reason`. */
type Settle = (accepted: boolean, reason: string) => void

// Blazeauth: requests and their answers by id.

const bzSend = (peer: Peer, type: number, payload: object) => {
  const id = peer.nextId++
  peer.pending.set(id, performance.now())
  peer.socket.send(JSON.stringify({ type, payload: { id, ...payload } }))
}

/** The steady mix, one request per call, in turn. */
const bzMix: ReadonlyArray<(peer: Peer) => void> = [
  (peer) => bzSend(peer, 0, {}),
  (peer) => bzSend(peer, 13, { name: "launcher_config" }),
  (peer) => bzSend(peer, 11, { filename: "small.bin" }),
  (peer) => bzSend(peer, 14, { key: "progress", value: `step ${peer.nextId}` }),
  (peer) => bzSend(peer, 15, { key: "progress" }),
  (peer) => bzSend(peer, 16, {}),
  (peer) => bzSend(peer, 12, {}),
  (peer) => bzSend(peer, 8, { filename: "small.bin" })
]

const bzTick = (peer: Peer) => {
  bzMix[peer.nextId % bzMix.length]!(peer)
  peer.stats.requests++
}

const isObject = (value: unknown): value is { readonly [key: string]: unknown } =>
  typeof value === "object" && value !== null

const bzOnMessage = (peer: Peer, data: WS.RawData, isBinary: boolean, settle: Settle) => {
  if (isBinary) return
  const parsed: unknown = JSON.parse(data.toString())
  const payload = isObject(parsed) && isObject(parsed["payload"]) ? parsed["payload"] : {}
  const id = payload["id"]
  if (typeof id !== "number") return
  // A download's headers before its terminal one (status 1 or an error) are not its answer.
  if (isObject(parsed) && parsed["type"] === 8 && (payload["status"] === undefined || payload["status"] === 0)) return
  const sent = peer.pending.get(id)
  if (sent === undefined) {
    peer.stats.duplicated++
    return
  }
  peer.pending.delete(id)
  if (id === 1) bzSend(peer, 3, { license: licenseOf(peer.index) })
  else if (id === 2) settle(payload["status"] === 1, `auth status ${String(payload["status"])}`)
  else peer.stats.latencies.push(performance.now() - sent)
}

// rwws: pings answered in order.

const rwwsAuth = (() => {
  const auth = new Uint8Array(4 + rwwsKey.length)
  auth.set([0xb6, 0xc4, 0x00, rwwsKey.length])
  auth.set(rwwsKey, 4)
  return auth
})()
const rwwsPing = new Uint8Array([0])

const rwwsTick = (peer: Peer) => {
  peer.pings.push(performance.now())
  peer.socket.send(rwwsPing)
  peer.stats.requests++
}

const rwwsOnMessage = (peer: Peer, data: WS.RawData, settle: Settle) => {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)])
  if (bytes.length === 2) {
    peer.socket.send(rwwsAuth)
    return
  }
  if (!peer.accepted) {
    settle(bytes.length === 9 && bytes[0] === 0, `auth answered with ${bytes.length} bytes`)
    return
  }
  // One pong per ping, as many as the message holds.
  for (let pongs = Math.floor(bytes.length / 9); pongs > 0; pongs--) {
    const sent = peer.pings.shift()
    if (sent === undefined) peer.stats.duplicated++
    else peer.stats.latencies.push(performance.now() - sent)
  }
}

/**
 * A connection starts its steady load as soon as it is accepted (rwws needs a ping within 32 s of its
 * authentication), spread over one period so that the load is steady rather than in waves.
 */
const startTicking = (command: Extract<LoadCommand, { url: string }>, peer: Peer) => {
  const blazeauth = command.type === "blazeauth"
  const period = blazeauth ? command.settings.intervalMs : command.settings.pingMs
  const tick = blazeauth ? bzTick : rwwsTick
  peer.timer = setTimeout(() => {
    tick(peer)
    peer.timer = setInterval(() => tick(peer), period)
  }, Math.random() * period)
}

/** Opens the phase's connections at `--rate` a second; resolves once each is accepted or failed. */
const openAll = (
  command: Extract<LoadCommand, { url: string }>,
  stats: PhaseStats,
  peers: Array<Peer>
): Promise<void> =>
  new Promise((resolve) => {
    let settled = 0
    const settle = () => {
      if (++settled === stats.connections) resolve()
    }
    const openOne = (index: number) => {
      const peer = newPeer(stats, command.url, index)
      peers.push(peer)
      let done = false
      const finish: Settle = (accepted, reason) => {
        if (done) return
        done = true
        clearTimeout(deadline)
        if (accepted) {
          peer.accepted = true
          stats.accepted++
          startTicking(command, peer)
        } else {
          stats.failed++
          count(stats.failures, reason)
        }
        settle()
      }
      const deadline = setTimeout(() => finish(false, "no answer in 60 s"), 60_000)
      if (command.type === "blazeauth") {
        peer.socket.on("open", () => bzSend(peer, 1, { socket_api_key: apiKey, client_id: `soak-${index}` }))
        peer.socket.on("message", (data, isBinary) => bzOnMessage(peer, data, isBinary, finish))
      } else {
        peer.socket.on("message", (data) => rwwsOnMessage(peer, data, finish))
      }
      peer.socket.on("error", (error: NodeJS.ErrnoException) => finish(false, error.code ?? error.message))
      peer.socket.on("close", (code: number) => {
        finish(false, `closed ${code}`)
        onPeerClose(peer, code)
      })
    }
    const perTick = Math.max(1, Math.round(command.settings.rate / 100))
    let opened = 0
    const tick = setInterval(() => {
      for (let i = 0; i < perTick && opened < stats.connections; i++) openOne(opened++)
      if (opened === stats.connections) clearInterval(tick)
    }, 10)
  })

/** One phase: opens the connections, keeps the load on for `--seconds` after the last one settled, drains. */
const loadPhase = async (command: Extract<LoadCommand, { url: string }>, peers: Array<Peer>): Promise<PhaseStats> => {
  const stats = newStats(
    command.type,
    command.type === "blazeauth" ? command.settings.sessions : command.settings.clients
  )
  await openAll(command, stats, peers)
  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  await sleep(command.settings.seconds * 1000)
  for (const peer of peers) clearTimeout(peer.timer)
  const cpu = process.cpuUsage(cpuBefore)
  stats.loadCpuMicros = cpu.user + cpu.system
  stats.steadySeconds = (performance.now() - started) / 1000
  const unanswered = (peer: Peer) => peer.pending.size + peer.pings.length
  const pending = () => peers.reduce((sum, peer) => sum + unanswered(peer), 0)
  for (let waited = 0; waited < drainMillis && pending() > 0; waited += 50) await sleep(50)
  for (const peer of peers) {
    if (peer.socket.readyState === WS.WebSocket.OPEN) stats.lost += unanswered(peer)
    else stats.unansweredOnClosed += unanswered(peer)
  }
  return stats
}

const closeAll = async (peers: Array<Peer>): Promise<void> => {
  const open = peers.filter((peer) => peer.socket.readyState === WS.WebSocket.OPEN)
  await Promise.all(
    open.map(
      (peer) =>
        new Promise<void>((resolve) => {
          peer.closing = true
          peer.socket.once("close", () => resolve())
          peer.socket.close(1000)
        })
    )
  )
  for (const peer of peers) peer.socket.terminate()
  peers.length = 0
}

const loadProcess = () => {
  const peers: Array<Peer> = []
  process.on("message", (command: LoadCommand) => {
    if (command.type === "close") {
      void closeAll(peers).then(() => process.send?.({ type: "closed" } satisfies LoadEvent))
      return
    }
    void loadPhase(command, peers).then((stats) => {
      const sorted = stats.latencies.sort((a, b) => a - b)
      const { latencies: _, ...rest } = stats
      process.send?.({
        type: "steady",
        stats: { ...rest, p50: percentile(sorted, 50), p99: percentile(sorted, 99) }
      } satisfies LoadEvent)
    })
  })
}

// ---- runner ---------------------------------------------------------------------------------------------

const nextMessage = <A>(child: ChildProcess): Promise<A> =>
  new Promise((resolve) => child.once("message", (message) => resolve(message as A)))

const report = async (server: ChildProcess): Promise<ServerReport> => {
  const reply = nextMessage<{ report: ServerReport }>(server)
  server.send({ type: "report" })
  return (await reply).report
}

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(0)
const kib = (bytes: number) => (bytes / 1024).toFixed(1)
const ms = (millis: number) => millis.toFixed(1)

export const run = async (args: ReadonlyArray<string>): Promise<void> => {
  const settings = parseSettings(args)
  const self = fileURLToPath(import.meta.url)
  const server = fork(self, ["server", ...args], { execArgv: ["--expose-gc"] })
  const load = fork(self, ["load"])
  try {
    const ready = await nextMessage<{ blazeauth: string; rwws: string }>(server)
    const rows: Array<Array<string>> = []
    const notes: Array<string> = []
    for (const protocol of ["blazeauth", "rwws"] as const) {
      const idle = await report(server)
      const steady = nextMessage<Extract<LoadEvent, { type: "steady" }>>(load)
      load.send({ type: protocol, url: protocol === "blazeauth" ? ready.blazeauth : ready.rwws, settings })
      const { stats } = await steady
      const busy = await report(server)
      const closed = nextMessage<LoadEvent>(load)
      load.send({ type: "close" })
      await closed
      const live = protocol === "blazeauth" ? busy.blazeauthSessions : busy.rwwsSessions
      const per = (value: number) => (stats.accepted === 0 ? "-" : kib(value / stats.accepted))
      rows.push([
        protocol,
        `${stats.accepted}/${stats.connections}`,
        `${live}`,
        `${stats.requests}`,
        `${stats.lost}`,
        `${stats.duplicated}`,
        `${stats.spuriousCloses}`,
        ms(stats.p50),
        ms(stats.p99),
        per(busy.rss - idle.rss),
        per(busy.heapUsed - idle.heapUsed),
        `${mib(busy.rss)}`,
        `${((100 * stats.loadCpuMicros) / 1e6 / stats.steadySeconds).toFixed(0)}%`
      ])
      if (stats.failed > 0) notes.push(`${protocol} connections failed: ${JSON.stringify(stats.failures)}`)
      if (stats.spuriousCloses > 0) {
        notes.push(
          `${protocol} close codes: ${JSON.stringify(stats.closeCodes)}; ${stats.unansweredOnClosed} requests unanswered on them`
        )
      }
      notes.push(
        `${protocol}: server CPU ${((100 * (busy.cpuMicros - idle.cpuMicros)) / 1e6 / stats.steadySeconds).toFixed(0)}% of one core from connecting to drained; idle RSS ${mib(idle.rss)} MiB, heap ${mib(idle.heapUsed)} MiB`
      )
    }
    console.log(
      `soak: ${settings.sessions} Blazeauth sessions (a request every ${settings.intervalMs} ms each), then ${settings.clients} rwws clients (a ping every ${settings.pingMs} ms each), ${settings.seconds} s each, 127.0.0.1, load in a separate process`
    )
    printTable(
      [
        "protocol",
        "accepted",
        "server sessions",
        "requests",
        "lost",
        "duplicated",
        "spurious closes",
        "p50 ms",
        "p99 ms",
        "RSS KiB/conn",
        "heap KiB/conn",
        "server RSS MiB",
        "load CPU"
      ],
      rows
    )
    for (const note of notes) console.log(note)
  } finally {
    server.kill()
    load.kill()
  }
}

const [role, ...rest] = process.argv.slice(2)
if (role === "server") void serverProcess(parseSettings(rest))
else if (role === "load") loadProcess()
else if (process.argv[1] === fileURLToPath(import.meta.url)) void run(process.argv.slice(2))
