/**
 * A WebSocket relay between clients and a server on 127.0.0.1, for what a well-behaved server never
 * does: it passes messages both ways, copies each side's close (code and reason) to the other, records
 * the client's texts, and on demand withholds the server's messages (a slow server) or cuts or corrupts
 * its binary frames (a broken network).
 */
import { Effect } from "effect"
import type { Scope } from "effect"
import * as WS from "ws"
import { eventually } from "./eventually.js"

/** What the relay does to the server's binary frames on one connection. */
export interface Faults {
  /** Cut the connection (no close frame: the client sees 1006) once this many binary frames were passed on. */
  readonly cutAfterBinary?: number | undefined
  /** Flip the first byte of this binary frame (counted from 1). */
  readonly corruptBinary?: number | undefined
}

export interface Relay {
  readonly url: string
  /** The text messages the client sent, per connection. */
  readonly sent: ReadonlyArray<ReadonlyArray<string>>
  /** From now on, drop the server's messages: the client's calls stay pending. */
  readonly hold: Effect.Effect<void>
  /** Waits until `count` server messages were dropped since the relay started. */
  readonly awaitDropped: (count: number) => Effect.Effect<void>
}

/** A raw `ws` server on a free port of 127.0.0.1, in the current scope (its clients are dropped at the end). */
export const listenWs: Effect.Effect<WS.WebSocketServer, never, Scope.Scope> = Effect.acquireRelease(
  Effect.async<WS.WebSocketServer>((resume) => {
    const listening = new WS.WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false })
    listening.once("listening", () => resume(Effect.succeed(listening)))
  }),
  (listening) =>
    Effect.async<void>((resume) => {
      for (const client of listening.clients) client.terminate()
      listening.close(() => resume(Effect.void))
    })
)

/** The `ws://127.0.0.1:<port>` of a listening server. */
export const urlOf = (server: WS.WebSocketServer): string => {
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  return `ws://127.0.0.1:${port}`
}

const asBuffer = (data: WS.RawData): Buffer =>
  Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)

const copyClose = (to: WS.WebSocket, code: number, reason: Buffer) => {
  if (to.readyState === WS.WebSocket.CLOSING || to.readyState === WS.WebSocket.CLOSED) return
  if (to.readyState === WS.WebSocket.CONNECTING || code === 1006) to.terminate()
  else if (code === 1005) to.close()
  else to.close(code, reason)
}

interface RelayState {
  readonly target: string
  readonly faults: (connection: number) => Faults
  readonly sent: Array<Array<string>>
  held: boolean
  dropped: number
}

/** One client connection: a fresh upstream connection to the target, relayed both ways. */
const relayOnConnection = (state: RelayState, down: WS.WebSocket) => {
  const texts: Array<string> = []
  const fault = state.faults(state.sent.length)
  state.sent.push(texts)
  let binaries = 0
  let cut = false
  const up = new WS.WebSocket(state.target, { perMessageDeflate: false })
  const early: Array<{ readonly bytes: Buffer; readonly binary: boolean }> = []
  down.on("message", (data: WS.RawData, binary: boolean) => {
    const bytes = asBuffer(data)
    if (!binary) texts.push(bytes.toString("utf8"))
    if (up.readyState === WS.WebSocket.OPEN) up.send(bytes, { binary })
    else early.push({ bytes, binary })
  })
  up.on("open", () => {
    for (const message of early.splice(0)) up.send(message.bytes, { binary: message.binary })
  })
  up.on("message", (data: WS.RawData, binary: boolean) => {
    if (cut) return
    if (state.held) {
      state.dropped++
      return
    }
    const bytes = asBuffer(data)
    if (!binary) return down.send(bytes, { binary: false })
    binaries++
    const frame = binaries === fault.corruptBinary ? Buffer.from(bytes) : bytes
    if (frame !== bytes) frame.writeUInt8(frame.readUInt8(0) ^ 0xff, 0)
    if (binaries !== fault.cutAfterBinary) return down.send(frame, { binary: true })
    cut = true
    // Once the frame is written, drop both sides without a close frame.
    down.send(frame, { binary: true }, () =>
      setTimeout(() => {
        down.terminate()
        up.terminate()
      }, 5)
    )
  })
  up.on("close", (code: number, reason: Buffer) => copyClose(down, code, reason))
  down.on("close", (code: number, reason: Buffer) => copyClose(up, code, reason))
  up.on("error", () => {})
  down.on("error", () => {})
}

/** A relay to `target` in the current scope; `faults(n)` applies to the server's frames on its n-th connection. */
export const relay = (
  target: string,
  faults: (connection: number) => Faults = () => ({})
): Effect.Effect<Relay, never, Scope.Scope> =>
  Effect.gen(function* () {
    const state: RelayState = { target, faults, sent: [], held: false, dropped: 0 }
    const server = yield* listenWs
    server.on("connection", (down: WS.WebSocket) => relayOnConnection(state, down))
    return {
      url: urlOf(server),
      sent: state.sent,
      hold: Effect.sync(() => {
        state.held = true
      }),
      awaitDropped: (count) => eventually(Effect.sync(() => state.dropped >= count))
    }
  })
