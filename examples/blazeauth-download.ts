/**
 * Downloading a protected file with the Blazeauth client, against an embedded reference server on
 * 127.0.0.1: `downloadToFile` streams the file into a temporary file next to the destination, verifies
 * its SHA-256 and renames it into place, emitting the progress on the way. The client authorizes with
 * a license on every connection and resumes the download if the connection drops.
 *
 * Type-checked by `npm test`, and run by test/examples.test.ts.
 */
import { FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { Client, Fixtures, Server } from "@protokernel/blazeauth"
import { Console, Context, Effect, Layer, Option, Redacted, Ref, Stream } from "effect"
import { createHash, randomBytes } from "node:crypto"
import { join } from "node:path"

/** The file the server protects: 1 MiB of random bytes. */
const content = randomBytes(1024 * 1024)

/** The reference server's data: one application with a license and the file. */
export const fixtures = {
  applications: [
    {
      api_key: "BA0123456789ABCDEFGHI",
      name: "Demo",
      version: "1.0.0",
      licenses: [{ key: "ABCDEF-123456", levels: ["pro"], comment: "main seat", duration_seconds: 86400 }],
      files: [{ name: "client.bin", content_base64: content.toString("base64") }]
    }
  ]
}

/** What the program saw, for the caller (and the example's test) to check. */
export interface Summary {
  readonly size: number
  /** The SHA-256 of the saved file equals the checksum of `getFileMetadata`. */
  readonly checksumMatches: boolean
  /** The saved file holds exactly the served bytes. */
  readonly identical: boolean
  /** The percentages the progress printed. */
  readonly printed: ReadonlyArray<number>
}

/** The client side: metadata, then the download into a temporary directory with a progress line per quarter. */
export const program = Effect.gen(function* () {
  const client = yield* Client.BlazeauthClient
  const fs = yield* FileSystem.FileSystem
  const metadata = yield* client.getFileMetadata("client.bin")
  yield* Console.log(`client.bin: ${metadata.size} bytes, sha256 ${metadata.checksum}`)

  const directory = yield* fs.makeTempDirectoryScoped({ prefix: "blazeauth-download-" })
  const path = join(directory, "client.bin")
  const printed = yield* Ref.make<ReadonlyArray<number>>([])
  yield* client.downloadToFile("client.bin", path).pipe(
    Stream.runForEach((progress) => {
      const percent = Option.match(progress.fileSize, {
        onNone: () => 0,
        onSome: (size) => Math.floor((100 * progress.position) / Math.max(size, 1))
      })
      return Effect.flatMap(Ref.get(printed), (shown) =>
        Math.floor(percent / 25) > Math.floor((shown.at(-1) ?? 0) / 25)
          ? Effect.zipRight(
              Ref.set(printed, [...shown, percent]),
              Console.log(
                `  ${percent}% (${progress.position} of ${Option.getOrElse(progress.fileSize, () => 0)} bytes)`
              )
            )
          : Effect.void
      )
    })
  )
  // The stream ended: the file is in place and its checksums were verified by the client.
  const saved = yield* fs.readFile(path)
  const sha256 = createHash("sha256").update(saved).digest("hex")
  yield* Console.log(`saved ${path}: sha256 ${sha256}`)

  const summary: Summary = {
    size: saved.length,
    checksumMatches: sha256 === metadata.checksum,
    identical: Buffer.from(saved).equals(content),
    printed: yield* Ref.get(printed)
  }
  return summary
}).pipe(Effect.scoped)

/**
 * A server on a free port with the fixtures above, a client for it that authorizes with the license
 * and resumes dropped downloads, and Node's file system: the layers an app or a suite builds.
 */
export const layer = Layer.unwrapScoped(
  Effect.gen(function* () {
    const data = yield* Fixtures.decode(fixtures)
    // 16 chunks of 64 KiB, 5 ms apart, so that the progress has something to show on 127.0.0.1.
    const built = yield* Layer.build(Server.layerWs({ fixtures: data, chunkSize: 64 * 1024, chunkDelay: "5 millis" }))
    const server = Context.get(built, Server.BlazeauthServer)
    const client = Client.layerWs({
      url: server.url,
      apiKey: Redacted.make("BA0123456789ABCDEFGHI"),
      clientId: "desktop-main",
      auth: Client.Authorization.license(Redacted.make("ABCDEF-123456")),
      reconnect: { maxAttempts: 5 }
    })
    return Layer.mergeAll(client, NodeFileSystem.layer, Layer.succeedContext(built))
  })
)

/** The program with its layers: server, client and file system; all close when it ends. */
export const main = program.pipe(Effect.provide(layer))
