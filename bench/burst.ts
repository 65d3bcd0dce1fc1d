/**
 * A burst of connections against the rwws server's accept backlog (not part of `npm run bench`):
 * `node bench/dist/burst.js`. The server runs in this process; a separate client process opens
 * BENCH_CONNECTIONS (default 10 000) raw `ws` connections at about BENCH_RATE (default 2500) per
 * second, each doing the hello and authentication, and holds them open until all are settled. It prints
 * how many were accepted (got the auth Pong), reset (ECONNRESET) or failed otherwise.
 *
 * BENCH_BACKLOG sets the server's backlog (default: the transport's); `BENCH_BACKLOG=511` is Node's
 * own default. The OS caps it at `net.core.somaxconn`; both processes need `ulimit -n` above the count.
 */
import * as KeyStore from "@protokernel/rwws/KeyStore"
import * as Server from "@protokernel/rwws/Server"
import * as WsTransport from "@protokernel/wire/WsTransport"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { fork } from "node:child_process"
import { fileURLToPath } from "node:url"
import * as WS from "ws"
import { positiveInt, printTable } from "./report.js"

const connections = positiveInt("BENCH_CONNECTIONS", 10_000)
const rate = positiveInt("BENCH_RATE", 2500)
const backlog = positiveInt("BENCH_BACKLOG", WsTransport.defaultBacklog)
/** A connection that has not authenticated after this long counts as failed. */
const settleMillis = 60_000
const keyBytes = Uint8Array.from({ length: 32 }, (_, i) => i + 1)
const key = Buffer.from(keyBytes).toString("base64")

interface Counts {
  accepted: number
  reset: number
  failed: number
  reasons: Record<string, number>
  seconds: number
}

/** The client process: opens the connections in ticks of 10 ms, reports the counts to the parent. */
const clients = async (url: string): Promise<Counts> => {
  const auth = new Uint8Array(4 + keyBytes.length)
  auth.set([0xb6, 0xc4, 0x00, keyBytes.length])
  auth.set(keyBytes, 4)
  const counts: Counts = { accepted: 0, reset: 0, failed: 0, reasons: {}, seconds: 0 }
  const open: Array<WS.WebSocket> = []
  const started = Date.now()
  let settled = 0
  const done = new Promise<void>((resolve) => {
    const settle = (outcome: "accepted" | "reset" | "failed", reason?: string) => {
      counts[outcome]++
      if (reason !== undefined) counts.reasons[reason] = (counts.reasons[reason] ?? 0) + 1
      if (++settled === connections) resolve()
    }
    const connectOne = () => {
      const ws = new WS.WebSocket(url, { perMessageDeflate: false, handshakeTimeout: settleMillis })
      open.push(ws)
      let frames = 0
      let over = false
      const finish = (outcome: "accepted" | "reset" | "failed", reason?: string) => {
        if (over) return
        over = true
        clearTimeout(timer)
        settle(outcome, reason)
      }
      const timer = setTimeout(() => finish("failed", "timeout"), settleMillis)
      ws.on("message", () => {
        if (++frames === 1) ws.send(auth)
        else finish("accepted")
      })
      ws.on("error", (error: NodeJS.ErrnoException) =>
        error.code === "ECONNRESET" ? finish("reset") : finish("failed", error.code ?? error.message)
      )
      ws.on("close", (code: number) => finish("failed", `closed ${code}`))
    }
    const perTick = Math.max(1, Math.round(rate / 100))
    let opened = 0
    const tick = setInterval(() => {
      for (let i = 0; i < perTick && opened < connections; i++, opened++) connectOne()
      if (opened === connections) clearInterval(tick)
    }, 10)
  })
  await done
  counts.seconds = (Date.now() - started) / 1000
  for (const ws of open) ws.terminate()
  return counts
}

/** The server side: serves rwws with `backlog` and runs the client process against it. */
export const run = (): Promise<void> =>
  Effect.gen(function* () {
    const server = yield* Server.RwwsServer
    const counts = yield* Effect.async<Counts>((resume) => {
      const child = fork(fileURLToPath(import.meta.url), ["clients", server.url])
      child.once("message", (message: Counts) => resume(Effect.succeed(message)))
      return Effect.sync(() => child.kill())
    })
    console.log(
      `burst: ${connections} rwws connections at ${rate}/s from another process, server backlog ${backlog} (${counts.seconds.toFixed(1)} s)`
    )
    printTable(
      ["accepted", "reset", "failed", "failure reasons"],
      [[`${counts.accepted}`, `${counts.reset}`, `${counts.failed}`, JSON.stringify(counts.reasons)]]
    )
  }).pipe(
    Effect.provide(
      Server.layerWs({ backlog }).pipe(Layer.provide(KeyStore.layerMemory([Redacted.make(key)])), Layer.orDie)
    ),
    Effect.scoped,
    Effect.runPromise
  )

const [role, url] = process.argv.slice(2)
if (role === "clients" && url !== undefined) {
  void clients(url).then((counts) => process.send?.(counts, () => process.exit(0)))
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  void run()
}
