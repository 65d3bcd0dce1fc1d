/**
 * Pipelined `get_variable` requests on one connection, windows of 100 in flight:
 * - kernel: BlazeauthClient ↔ BlazeauthServer over ws on 127.0.0.1 (lossless JSON, Schema validation on
 *   both sides, the server's checks, Effect fibers per call);
 * - baseline: a raw `ws` JSON echo of the same messages (`JSON.parse` + `JSON.stringify` on both sides,
 *   responses matched to requests by id), measured in the same run.
 */
import { Client, Fixtures, Server } from "@protokernel/blazeauth"
import * as WsTransport from "@protokernel/wire/WsTransport"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as WS from "ws"
import { positiveInt, printTable, sample } from "./report.js"

const rounds = positiveInt("BENCH_ROUNDS", 5)
const requests = positiveInt("BENCH_REQUESTS", 20_000)
const window = 100
const content = '{"featureFlag":true,"channel":"stable","mirrors":["eu1","us2"]}'

const fixtures = {
  applications: [
    {
      api_key: "BA0123456789ABCDEFGHI",
      name: "Bench",
      variables: [{ name: "launcher_config", content }]
    }
  ]
}

/** Runs `count` calls with at most `window` in flight (as `Effect.forEach` with `concurrency` does). */
const pipelined = (count: number, call: (index: number) => Promise<void>): Promise<void> =>
  new Promise((resolve, reject) => {
    let started = 0
    let done = 0
    const next = (): void => {
      if (started >= count) return
      const index = started++
      call(index).then(() => {
        done++
        if (done === count) resolve()
        else next()
      }, reject)
    }
    for (let i = 0; i < Math.min(window, count); i++) next()
  })

/** The raw baseline: a ws server answering each get_variable request from a parsed JSON object. */
const rawRound = async (): Promise<number> => {
  const server = new WS.WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false })
  await new Promise((resolve) => server.once("listening", resolve))
  server.on("connection", (socket) => {
    socket.on("message", (data: Buffer) => {
      const request = JSON.parse(data.toString("utf8")) as { type: number; payload: { id: number; name: string } }
      socket.send(JSON.stringify({ type: 13, payload: { id: request.payload.id, content, status: 1 } }))
    })
  })
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  const socket = new WS.WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false })
  await new Promise((resolve) => socket.once("open", resolve))
  const pending = new Map<number, () => void>()
  socket.on("message", (data: Buffer) => {
    const response = JSON.parse(data.toString("utf8")) as { payload: { id: number; content: string } }
    pending.get(response.payload.id)?.()
    pending.delete(response.payload.id)
  })
  let nextId = 1
  const started = performance.now()
  await pipelined(
    requests,
    () =>
      new Promise<void>((resolve) => {
        const id = nextId++
        pending.set(id, resolve)
        socket.send(JSON.stringify({ type: 13, payload: { id, name: "launcher_config" } }))
      })
  )
  const rate = requests / ((performance.now() - started) / 1000)
  socket.terminate()
  await new Promise((resolve) => server.close(resolve))
  return rate
}

const kernelRound = (): Promise<number> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const data = yield* Fixtures.decode(fixtures)
      const built = yield* Layer.build(Server.layerWs({ fixtures: data, rateLimit: 0 }))
      const server = Context.get(built, Server.BlazeauthServer)
      const client = yield* Client.make({
        url: server.url,
        apiKey: Redacted.make("BA0123456789ABCDEFGHI"),
        clientId: "bench-client",
        pingInterval: "0 millis"
      }).pipe(Effect.provide(WsTransport.layerConnector))
      const started = performance.now()
      yield* Effect.forEach(Array.from({ length: requests }), () => client.getVariable("launcher_config"), {
        concurrency: window,
        discard: true
      })
      return requests / ((performance.now() - started) / 1000)
    }).pipe(Effect.scoped)
  )

/** Prints requests/s for the kernel and the raw baseline, and their ratio. */
export const run = async (): Promise<void> => {
  console.log(
    `\nBlazeauth get_variable pipelined on one connection (window ${window}, ${requests} requests, median of ${rounds})`
  )
  await sample(1, rawRound)
  await sample(1, kernelRound)
  const raw = await sample(rounds, rawRound)
  const kernel = await sample(rounds, kernelRound)
  printTable(
    ["case", "kernel", "raw ws JSON echo", "kernel/raw"],
    [
      [
        "get_variable round trips",
        `${(kernel / 1e3).toFixed(1)} k/s`,
        `${(raw / 1e3).toFixed(1)} k/s`,
        (kernel / raw).toFixed(2)
      ]
    ]
  )
  console.log(`target: kernel/raw ≥ 0.7: ${kernel / raw >= 0.7 ? "met" : "NOT met"}`)
}
