/**
 * What a connection starts ends with it (docs/blazeauth.md §1.1: one connection is one session; §4.4 rule 7): over
 * real `ws`, a client asks for several downloads of a file on disk and drops the connection. Its
 * streams stop reading at once, every file handle they opened is closed, requests still queued are not
 * run, and `transfer_count` counts only the downloads whose bytes were all sent.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Fixtures from "@protokernel/blazeauth/Fixtures"
import * as Server from "@protokernel/blazeauth/Server"
import { Transport, WsTransport } from "@protokernel/wire"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Layer } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { observedFile } from "./support/observedFile.js"
import { fixtures, msg, payloadOf, readStream, withLicense } from "./support/server.js"
import { base64 } from "../../../test/kit/bytes.js"
import { eventually } from "../../../test/kit/eventually.js"

/** What the server did with files and connections, as seen from the outside. */
interface Probe {
  opens: number
  closes: number
  reads: number
  /** Reads started while the server's side of a connection was closed or closing. */
  readsAfterClose: number
  /** The server's side of each accepted connection. */
  readonly connections: Array<Transport.Transport>
  /** When set, the next open waits for `release` (a slow disk), after completing `reached`. */
  gate: { readonly reached: Deferred.Deferred<void>; readonly release: Deferred.Deferred<void> } | undefined
}

const makeProbe = (): Probe => ({ opens: 0, closes: 0, reads: 0, readsAfterClose: 0, connections: [], gate: undefined })

const anyClosed = (probe: Probe): Effect.Effect<boolean> =>
  Effect.map(
    Effect.forEach(probe.connections, (connection) => connection.isOpen),
    (open) => open.some((isOpen) => !isOpen)
  )

const countedFile = (probe: Probe, file: FileSystem.File): FileSystem.File =>
  observedFile(
    file,
    Effect.map(anyClosed(probe), (closed) => {
      probe.reads++
      if (closed) probe.readsAfterClose++
    })
  )

/** Node's file system, with opens, closes and reads counted (the server's startup checksums use `stream`). */
const countingFileSystem = (probe: Probe): Layer.Layer<FileSystem.FileSystem> =>
  Layer.effect(
    FileSystem.FileSystem,
    Effect.map(FileSystem.FileSystem, (fs) => ({
      ...fs,
      open: (path: string, options?: FileSystem.OpenFileOptions) =>
        Effect.gen(function* () {
          const gate = probe.gate
          if (gate !== undefined) {
            probe.gate = undefined
            yield* Deferred.succeed(gate.reached, undefined)
            yield* Deferred.await(gate.release)
          }
          const file = yield* fs.open(path, options)
          probe.opens++
          yield* Effect.addFinalizer(() => Effect.sync(() => probe.closes++))
          return countedFile(probe, file)
        })
    }))
  ).pipe(Layer.provide(NodeFileSystem.layer))

/** The `ws` transport server, recording the server's side of every connection. */
const observedWsServer = (probe: Probe): Layer.Layer<Transport.TransportServer, Transport.ListenError> =>
  Layer.effect(
    Transport.TransportServer,
    Effect.map(Transport.TransportServer, (server) =>
      Transport.TransportServer.of({
        url: server.url,
        port: server.port,
        run: (handler, options) =>
          server.run(
            (transport) =>
              Effect.zipRight(
                Effect.sync(() => probe.connections.push(transport)),
                handler(transport)
              ),
            options
          )
      })
    )
  ).pipe(Layer.provide(WsTransport.layerServer({ path: "/", sendHighWaterMark: chunkSize })))

const chunkSize = 1024
const bigSize = 4 * 1024 * 1024

const serverLayer = (probe: Probe, directory: string) =>
  Layer.unwrapEffect(
    Effect.map(
      Fixtures.decode(
        fixtures({
          files: [
            { name: "big.bin", path: "big.bin" },
            { name: "small.bin", content_base64: base64("one chunk") }
          ]
        }),
        directory
      ),
      (decoded) => Server.layer({ fixtures: decoded, chunkSize, readAheadBytes: chunkSize, chunkDelay: "2 millis" })
    )
  ).pipe(
    Layer.provide(observedWsServer(probe)),
    Layer.provide(countingFileSystem(probe)),
    Layer.merge(WsTransport.layerConnector),
    Layer.orDie
  )

const metadata = (text: string) => {
  const payload = payloadOf(text)
  return { transferCount: payload["transfer_count"], lastTransferredAt: payload["last_transferred_at"] }
}

describe("BlazeauthServer: a connection's end", () => {
  it.scopedLive(
    "a dropped connection stops its streams, closes their files, runs no queued request and counts no partial transfer",
    () => {
      const probe = makeProbe()
      const directory = Fs.mkdtempSync(Path.join(Os.tmpdir(), "protokernel-connection-end-"))
      Fs.writeFileSync(
        Path.join(directory, "big.bin"),
        new Uint8Array(bigSize).map((_, i) => (i * 7) & 0xff)
      )
      return Effect.gen(function* () {
        const server = yield* Server.BlazeauthServer
        const client = yield* withLicense("ABCDEF-123456")
        // One complete download: it counts.
        yield* client.send(msg(8, { id: 5, filename: "small.bin" }))
        assert.strictEqual((yield* readStream(client)).status, 1)

        yield* Effect.forEach([10, 11, 12], (id) => client.send(msg(8, { id, filename: "big.bin" })), {
          discard: true
        })
        const started = new Set<unknown>()
        while (started.size < 3) {
          const frame = yield* client.next
          if (typeof frame === "string" && payloadOf(frame)["file_size"] === bigSize)
            started.add(payloadOf(frame)["id"])
        }
        // The next open waits, as on a slow disk, until the connection is gone; two more requests queue behind it.
        const gate = { reached: yield* Deferred.make<void>(), release: yield* Deferred.make<void>() }
        probe.gate = gate
        yield* client.send(msg(8, { id: 13, filename: "big.bin" }))
        yield* client.send(msg(8, { id: 14, filename: "small.bin" }))
        yield* Deferred.await(gate.reached)
        yield* client.transport.terminate()
        const serverSide = probe.connections[0]
        if (serverSide === undefined) return assert.fail("no connection was accepted")
        yield* serverSide.closed
        yield* Deferred.succeed(gate.release, undefined)
        yield* eventually(Effect.map(server.sessions, (sessions) => sessions.length === 0))

        assert.strictEqual(probe.readsAfterClose, 0, "no read started after the connection closed")
        assert.strictEqual(probe.closes, probe.opens, "every file handle was closed")
        assert.isAtLeast(probe.opens, 3, "each running stream had opened the file")
        assert.isBelow(probe.reads, (3 * bigSize) / chunkSize, "no stream read the whole file")
        const reads = probe.reads

        const later = yield* withLicense("ABCDEF-123456")
        const big = metadata(yield* later.call(msg(11, { id: 3, filename: "big.bin" })))
        const small = metadata(yield* later.call(msg(11, { id: 4, filename: "small.bin" })))
        assert.deepStrictEqual(big, { transferCount: 0, lastTransferredAt: null }, "no download of big.bin completed")
        assert.strictEqual(small.transferCount, 1, "only the download received in full counts")
        assert.strictEqual(probe.reads, reads, "the stopped streams stay stopped")
      }).pipe(
        Effect.provide(serverLayer(probe, directory)),
        Effect.ensuring(Effect.sync(() => Fs.rmSync(directory, { recursive: true, force: true })))
      )
    }
  )
})
