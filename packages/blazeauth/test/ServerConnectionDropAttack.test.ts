/**
 * What many connections start ends with them, under attack (spec §1.1: one connection is one session;
 * §4.4 rule 7): over real `ws` on 127.0.0.1, 20 clients each pipeline 50 downloads of a 4 MiB file on
 * disk, stop reading, and drop their sockets without a close frame. No stream reads on for a closed
 * connection, every file handle is closed, `transfer_count` counts only the downloads whose every pair
 * the server's transport took, and requests that arrive behind a close are never run.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Fixtures from "@protokernel/blazeauth/Fixtures"
import * as Server from "@protokernel/blazeauth/Server"
import { Transport, WsTransport } from "@protokernel/wire"
import { assert, describe, it } from "@effect/vitest"
import { Effect, FiberRef, Layer } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import WebSocket from "ws"
import { observedFile } from "./support/observedFile.js"
import { fixtures, msg, payloadOf, withLicense } from "./support/server.js"
import { eventually } from "../../../test/kit/eventually.js"

const connections = 20
const requestsPerConnection = 50
const chunkSize = 64 * 1024
const bigSize = 4 * 1024 * 1024
const license = "ABCDEF-123456"

/** What the server did with files and connections, as seen from its file system and transport server. */
interface Probe {
  opens: number
  closes: number
  reads: number
  /** Opens and reads started for a connection whose server side was already closed or closing. */
  opensAfterClose: number
  readsAfterClose: number
  /** The most reads one file handle started for a closed connection. */
  mostReadsAfterCloseOnOneHandle: number
  /** Terminal status-1 headers whose write the server's transport accepted: downloads sent in full. */
  completedSends: number
  /** Download headers the server's transport accepted. */
  headerSends: number
  readonly serverSides: Array<Transport.Transport>
}

const makeProbe = (): Probe => ({
  opens: 0,
  closes: 0,
  reads: 0,
  opensAfterClose: 0,
  readsAfterClose: 0,
  mostReadsAfterCloseOnOneHandle: 0,
  completedSends: 0,
  headerSends: 0,
  serverSides: []
})

/**
 * The server's side of the connection a fiber works for. Every fiber a connection's handler forks
 * inherits it, so a read on disk can be charged to its connection.
 */
const servedConnection = FiberRef.unsafeMake<Transport.Transport | undefined>(undefined)

const connectionClosed: Effect.Effect<boolean> = Effect.flatMap(FiberRef.get(servedConnection), (transport) =>
  transport === undefined ? Effect.succeed(false) : Effect.map(transport.isOpen, (open) => !open)
)

const countedFile = (probe: Probe, file: FileSystem.File, handle: { readsAfterClose: number }): FileSystem.File =>
  observedFile(
    file,
    Effect.map(connectionClosed, (closed) => {
      probe.reads++
      if (closed) {
        probe.readsAfterClose++
        handle.readsAfterClose++
        probe.mostReadsAfterCloseOnOneHandle = Math.max(probe.mostReadsAfterCloseOnOneHandle, handle.readsAfterClose)
      }
    })
  )

/** Node's file system with opens, closes and reads counted (the startup checksums use `stream`). */
const countingFileSystem = (probe: Probe): Layer.Layer<FileSystem.FileSystem> =>
  Layer.effect(
    FileSystem.FileSystem,
    Effect.map(FileSystem.FileSystem, (fs) => ({
      ...fs,
      open: (path: string, options?: FileSystem.OpenFileOptions) =>
        Effect.gen(function* () {
          if (yield* connectionClosed) probe.opensAfterClose++
          const file = yield* fs.open(path, options)
          probe.opens++
          yield* Effect.addFinalizer(() => Effect.sync(() => probe.closes++))
          return countedFile(probe, file, { readsAfterClose: 0 })
        })
    }))
  ).pipe(Layer.provide(NodeFileSystem.layer))

const isRecord = (value: unknown): value is { readonly [key: string]: unknown } =>
  typeof value === "object" && value !== null

/** Counts the download headers (and the terminal successful ones) in frames the transport took. */
const countSent = (probe: Probe, frames: ReadonlyArray<Transport.Frame>): void => {
  const first = frames[0]
  if (typeof first !== "string" || !first.includes('"transfer_id"')) return
  const parsed: unknown = JSON.parse(first)
  const payload = isRecord(parsed) ? parsed["payload"] : undefined
  if (!isRecord(payload)) return
  probe.headerSends++
  if (payload["status"] === 1) probe.completedSends++
}

/** The server's side of a connection, with the frames its transport accepted counted. */
const observedTransport = (probe: Probe, transport: Transport.Transport): Transport.Transport => ({
  frames: transport.frames,
  receive: transport.receive,
  send: (frame) => Effect.tap(transport.send(frame), () => countSent(probe, [frame])),
  sendAll: (frames) => Effect.tap(transport.sendAll(frames), () => countSent(probe, frames)),
  trySend: (frame) => {
    const sent = transport.trySend(frame)
    if (sent) countSent(probe, [frame])
    return sent
  },
  close: transport.close,
  unsent: transport.unsent,
  terminate: transport.terminate,
  closed: transport.closed,
  isOpen: transport.isOpen,
  remoteAddress: transport.remoteAddress
})

/** The `ws` transport server; each connection's handler runs with its server side in `servedConnection`. */
const observedWsServer = (probe: Probe): Layer.Layer<Transport.TransportServer, Transport.ListenError> =>
  Layer.effect(
    Transport.TransportServer,
    Effect.map(Transport.TransportServer, (server) =>
      Transport.TransportServer.of({
        url: server.url,
        port: server.port,
        run: (handler, options) =>
          server.run((raw) => {
            const transport = observedTransport(probe, raw)
            probe.serverSides.push(transport)
            return Effect.locally(handler(transport), servedConnection, transport)
          }, options)
      })
    )
  ).pipe(Layer.provide(WsTransport.layerServer({ path: "/", sendHighWaterMark: chunkSize })))

const serverLayer = (probe: Probe, directory: string) =>
  Layer.unwrapEffect(
    Effect.map(
      Fixtures.decode(fixtures({ files: [{ name: "big.bin", path: "big.bin" }] }), directory),
      // One read per chunk, so that every chunk a stream takes from the file shows as a read.
      (decoded) => Server.layer({ fixtures: decoded, chunkSize, readAheadBytes: chunkSize })
    )
  ).pipe(
    Layer.provide(observedWsServer(probe)),
    Layer.provide(countingFileSystem(probe)),
    Layer.merge(WsTransport.layerConnector),
    Layer.orDie
  )

// ---- attacking clients (raw `ws`, to stop reading and to drop the socket without a close frame) ----

interface Attacker {
  readonly socket: WebSocket
  /** Headers of big.bin downloads received, and those that ended it with status 1. */
  headers: number
  completed: number
}

const onAttackerMessage = (attacker: Attacker, data: WebSocket.RawData, isBinary: boolean): void => {
  if (isBinary) return
  const payload = payloadOf(data.toString())
  if (payload["transfer_id"] === undefined) return
  attacker.headers++
  if (payload["status"] === 1) attacker.completed++
}

/** Opens a connection, initializes it and authorizes it with the license. */
const openAuthorized = (url: string): Promise<Attacker> =>
  new Promise((resolve, reject) => {
    const socket = new WebSocket(url)
    const attacker: Attacker = { socket, headers: 0, completed: 0 }
    let answered = 0
    socket.on("error", reject)
    socket.on("open", () => {
      socket.send(msg(1, { id: 1, socket_api_key: "BA0123456789ABCDEFGHI", client_id: "desktop-main" }))
      socket.send(msg(3, { id: 2, license }))
    })
    socket.on("message", (data, isBinary) => {
      if (answered < 2) {
        if (payloadOf(data.toString())["status"] !== 1) reject(new Error(`refused: ${data.toString()}`))
        if (++answered === 2) resolve(attacker)
        return
      }
      onAttackerMessage(attacker, data, isBinary)
    })
  })

const downloadRequests = (): Array<string> =>
  Array.from({ length: requestsPerConnection }, (_, i) => msg(8, { id: 100 + i, filename: "big.bin" }))

/** Resolves once the attacker has received `count` download headers. */
const headersReceived = (attacker: Attacker, count: number): Promise<void> =>
  new Promise((resolve) => {
    const check = () => {
      if (attacker.headers < count) return
      attacker.socket.off("message", check)
      resolve()
    }
    attacker.socket.on("message", check)
    check()
  })

/** File descriptors of this process open on `file` (Linux exposes them under /proc/self/fd). */
const descriptorsOn = (file: string): number | undefined => {
  if (!Fs.existsSync("/proc/self/fd")) return undefined
  return Fs.readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return Fs.readlinkSync(`/proc/self/fd/${fd}`) === file
    } catch {
      return false
    }
  }).length
}

const bigCount = Effect.gen(function* () {
  const client = yield* withLicense(license)
  return payloadOf(yield* client.call(msg(11, { id: 3, filename: "big.bin" })))["transfer_count"]
})

const withDirectory = <A, E, R>(body: (directory: string, file: string) => Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const directory = Fs.mkdtempSync(Path.join(Os.tmpdir(), "protokernel-drop-attack-"))
    const file = Path.join(directory, "big.bin")
    Fs.writeFileSync(
      file,
      new Uint8Array(bigSize).map((_, i) => (i * 7) & 0xff)
    )
    return Effect.ensuring(
      body(directory, file),
      Effect.sync(() => Fs.rmSync(directory, { recursive: true, force: true }))
    )
  })

describe("BlazeauthServer: connections dropped under attack", () => {
  it.scopedLive(
    "20 connections × 50 pipelined downloads dropped without a close frame: no read after the drop, no handle left, no partial transfer counted",
    () => {
      const probe = makeProbe()
      return withDirectory((directory, file) =>
        Effect.gen(function* () {
          const server = yield* Server.BlazeauthServer
          const attackers = yield* Effect.promise(() =>
            Promise.all(Array.from({ length: connections }, () => openAuthorized(server.url)))
          )
          for (const attacker of attackers) for (const request of downloadRequests()) attacker.socket.send(request)
          // Each client reads a few headers, then stops reading: the server's writes back up, its
          // streams are mid-file and requests still wait in its queue.
          yield* Effect.promise(() =>
            Promise.all(
              attackers.map((attacker) =>
                headersReceived(attacker, 3).then(() => {
                  attacker.socket.pause()
                })
              )
            )
          )
          for (const attacker of attackers) attacker.socket.terminate()
          yield* Effect.forEach(probe.serverSides, (side) => side.closed, { discard: true })
          yield* eventually(Effect.map(server.sessions, (sessions) => sessions.length === 0))
          yield* eventually(Effect.sync(() => probe.closes === probe.opens))

          assert.strictEqual(probe.opensAfterClose, 0, "no file was opened for a closed connection")
          // A stream checks its connection before each chunk; the chunk it was taking when the socket
          // dropped may still start its read, but no stream starts another one.
          assert.isAtMost(probe.mostReadsAfterCloseOnOneHandle, 1, "no stream read on past its current chunk")
          assert.isAtMost(probe.readsAfterClose, probe.opens, "at most one read per open handle after the drop")
          assert.strictEqual(probe.closes, probe.opens, "every file handle was closed")
          assert.isAtLeast(probe.opens, connections, "each connection had a stream reading the file")
          assert.isBelow(
            probe.reads,
            (connections * requestsPerConnection * bigSize) / chunkSize,
            "the requests were not all read through"
          )
          const descriptors = descriptorsOn(file)
          if (descriptors !== undefined) assert.strictEqual(descriptors, 0, "no descriptor is open on the file")

          const reads = probe.reads
          const received = attackers.reduce((sum, attacker) => sum + attacker.completed, 0)
          const count = yield* bigCount
          assert.strictEqual(count, probe.completedSends, "transfer_count = downloads whose every pair was sent")
          assert.isAtLeast(probe.completedSends, received, "every download a client received in full was sent")
          assert.isBelow(probe.completedSends, connections * requestsPerConnection, "not every request completed")
          assert.strictEqual(probe.reads, reads, "the stopped streams stay stopped")
        }).pipe(Effect.provide(serverLayer(probe, directory)))
      )
    }
  )

  it.scopedLive("downloads requested in the same write as a close frame are never started", () => {
    const probe = makeProbe()
    return withDirectory((directory) =>
      Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const attackers = yield* Effect.promise(() =>
          Promise.all(Array.from({ length: connections }, () => openAuthorized(server.url)))
        )
        const headersBefore = probe.headerSends
        for (const attacker of attackers) {
          for (const request of downloadRequests()) attacker.socket.send(request)
          attacker.socket.close(1000)
        }
        yield* Effect.forEach(probe.serverSides, (side) => side.closed, { discard: true })
        yield* eventually(Effect.map(server.sessions, (sessions) => sessions.length === 0))

        assert.strictEqual(probe.headerSends, headersBefore, "no download header was written")
        assert.strictEqual(probe.opens, 0, "the file was never opened")
        assert.strictEqual(probe.reads, 0, "the file was never read")
        assert.strictEqual(yield* bigCount, 0, "no download was counted")
      }).pipe(Effect.provide(serverLayer(probe, directory)))
    )
  })
})
