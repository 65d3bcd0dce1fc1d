/**
 * The reference server's fixtures (the README format, with its optional fields) and its configuration
 * errors: what decodes, what is refused, files on disk, and the README example served end to end.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Fixtures from "@protokernel/blazeauth/Fixtures"
import * as Server from "@protokernel/blazeauth/Server"
import { MemoryTransport } from "@protokernel/wire"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { designExample } from "../../../test/support/design-fixtures.js"
import { sha256 } from "../../../test/kit/bytes.js"
import { initText, msg, statusOf, withServer, connect, header, normalize } from "./support/server.js"

const tempDirectory = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "blazeauth-fixtures-"))),
  (directory) => Effect.sync(() => Fs.rmSync(directory, { recursive: true, force: true }))
)

const refused = (input: unknown, fragment: string) =>
  Effect.gen(function* () {
    const error = yield* Effect.flip(Fixtures.decode(input))
    assert.strictEqual(error._tag, "FixturesError")
    assert.include(error.message, fragment)
  })

const app = (fields: object) => ({ api_key: "K-1", name: "A", ...fields })

describe("Fixtures.decode", () => {
  it.effect("applies the defaults and resolves files (inline bytes, paths against the base directory)", () =>
    Effect.gen(function* () {
      const fixtures = yield* Fixtures.decode(designExample, "/srv/fixtures")
      const [demo] = fixtures.document.applications
      assert.strictEqual(demo?.accounts_require_license, false)
      assert.deepStrictEqual(demo?.quotas, { sessions: 0, accounts: 0, blacklists: 0, transfer_bytes: 0 })
      assert.deepStrictEqual(demo?.licenses[0], {
        key: "ABCDEF-123456",
        levels: ["pro"],
        comment: null,
        duration_seconds: 86400,
        paused: false,
        blacklisted: false,
        activated: false,
        client_id: null,
        account: null
      })
      assert.deepStrictEqual(demo?.accounts[0]?.ip_address, null)
      assert.deepStrictEqual(demo?.variables[0]?.paused, false)
      const files = fixtures.files.get("Demo")
      assert.deepStrictEqual(files?.get("client.bin"), { _tag: "Bytes", bytes: new Uint8Array([0, 1, 2]) })
      assert.deepStrictEqual(files?.get("big.bin"), { _tag: "Path", path: "/srv/fixtures/big.bin" })
      const minimal = yield* Fixtures.decode({ applications: [{ api_keys: ["K"], name: "M" }] })
      assert.strictEqual(minimal.document.applications[0]?.version, "1.0.0")
    })
  )

  it.effect("a missing required field is refused in one line that names it by its path", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [{ applications: [app({ licenses: [{ levels: ["pro"] }] })] }, "applications[0].licenses[0].key: is missing"],
        [{ applications: [app({ accounts: [{ login: "u" }] })] }, "applications[0].accounts[0].password: is missing"],
        [{ applications: [app({ variables: [{ name: "v" }] })] }, "applications[0].variables[0].content: is missing"],
        [{ applications: [{ api_key: "K-1" }] }, "applications[0].name: is missing"],
        [{}, "applications: is missing"]
      ]
      for (const [input, detail] of cases) {
        const error = yield* Effect.flip(Fixtures.decode(input))
        assert.strictEqual(error.message, `invalid fixtures: ${detail}`)
      }
    })
  )

  it.effect("refuses duplicates, applications without keys, bad base64 and wrong shapes", () =>
    Effect.gen(function* () {
      yield* refused({ applications: [app({}), app({ api_key: "K-2" })] }, "duplicate application name A")
      yield* refused({ applications: [app({}), app({ name: "B" })] }, "duplicate api_key")
      yield* refused({ applications: [app({ api_keys: ["K-1"] })] }, "duplicate api_key")
      yield* refused(
        { applications: [app({ licenses: [{ key: "LICENSE-1" }, { key: "LICENSE-1" }] })] },
        "duplicate license"
      )
      yield* refused(
        {
          applications: [
            app({
              accounts: [
                { login: "u", password: "p" },
                { login: "u", password: "q" }
              ]
            })
          ]
        },
        "duplicate account in A u"
      )
      yield* refused(
        {
          applications: [
            app({
              files: [
                { name: "f.bin", content_base64: "" },
                { name: "f.bin", path: "x" }
              ]
            })
          ]
        },
        "duplicate file in A f.bin"
      )
      yield* refused({ applications: [{ name: "NoKey" }] }, "NoKey has no api_key")
      yield* refused({ applications: [app({ files: [{ name: "f.bin", content_base64: "AAE" }] })] }, "not base64")
      yield* refused({ applications: [app({ files: [{ name: "f.bin", content_base64: "A$A=" }] })] }, "not base64")
      yield* refused({ applications: [app({ accounts: [{ login: "u", password: "p", credentials_type: 2 }] })] }, "")
      yield* refused({ applications: [app({ licenses: [{ key: "LICENSE-1", duration_seconds: -1 }] })] }, "")
      yield* refused({ applications: [app({ files: [{ name: "f.bin" }] })] }, "")
      yield* refused({ apps: [] }, "applications")
    })
  )

  it.scoped("load reads a JSON file and resolves paths against its directory; errors are FixturesErrors", () =>
    Effect.gen(function* () {
      const directory = yield* tempDirectory
      const file = Path.join(directory, "fixtures.json")
      Fs.writeFileSync(file, JSON.stringify(designExample))
      const loaded = yield* Server.loadFixtures(file)
      assert.deepStrictEqual(loaded.files.get("Demo")?.get("big.bin"), {
        _tag: "Path",
        path: Path.join(directory, "big.bin")
      })
      Fs.writeFileSync(file, "{not json")
      assert.strictEqual((yield* Effect.flip(Server.loadFixtures(file)))._tag, "FixturesError")
      const missing = yield* Effect.flip(Server.loadFixtures(Path.join(directory, "nope.json")))
      assert.include(missing.message, "cannot read")
    })
  )
})

describe("server configuration", () => {
  const build = (options: Omit<Server.Options, "fixtures">, input: unknown = designExample, base = "/nonexistent") =>
    Effect.gen(function* () {
      const fixtures = yield* Fixtures.decode(input, base)
      return yield* Layer.build(
        Server.layer({ ...options, fixtures }).pipe(
          Layer.provide(MemoryTransport.layer()),
          Layer.provide(NodeFileSystem.layer)
        )
      )
    })

  const simple = { applications: [{ api_key: "K", name: "A", files: [{ name: "a.bin", content_base64: "AA==" }] }] }

  it.scoped("refuses a chunk size outside 1..maxBinaryFrameBytes", () =>
    Effect.gen(function* () {
      for (const options of [
        { chunkSize: 0 },
        { chunkSize: 1024 * 1024 + 1 },
        { chunkSize: 100, maxBinaryFrameBytes: 99 }
      ]) {
        const error = yield* Effect.flip(build(options, simple))
        assert.strictEqual(error._tag, "ServerConfigError", JSON.stringify(options))
      }
      yield* build({ chunkSize: 1024 * 1024 }, simple)
    })
  )

  it.scoped("fails to start when a `path` file cannot be read", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(build({}))
      assert.strictEqual(error._tag, "FixturesError")
      assert.include(error.message, "big.bin")
    })
  )

  it.scoped("serves the README fixtures example end to end", () =>
    Effect.gen(function* () {
      const directory = yield* tempDirectory
      Fs.writeFileSync(Path.join(directory, "big.bin"), "big file content")
      yield* Effect.gen(function* () {
        const client = yield* connect
        assert.strictEqual(
          yield* client.call(initText(1, "desktop-main", "BA0123456789ABCDEFGHI")),
          msg(1, { id: 1, app_name: "Demo", app_version: "1.0.0", status: 1 })
        )
        assert.strictEqual(
          yield* client.call(msg(13, { id: 2, name: "launcher_config" })),
          msg(13, { id: 2, content: "{}", status: 1 })
        )
        assert.strictEqual(
          statusOf(
            yield* client.call(msg(4, { id: 3, login: "demo_user", password: "strong-password", credentials_type: 0 }))
          ),
          1
        )
        yield* client.send(msg(8, { id: 4, filename: "client.bin" }))
        const small = normalize(yield* client.take(2)).frames
        const checksum = sha256(new Uint8Array([0, 1, 2]))
        assert.deepStrictEqual(small, [
          header(4, "T1", 3, 0, { file_size: 3, status: 1, file_checksum: checksum, range_checksum: checksum }),
          "bin:\u0000\u0001\u0002"
        ])
        yield* client.send(msg(8, { id: 5, filename: "big.bin" }))
        assert.deepStrictEqual(normalize(yield* client.take(2)).frames, [
          header(5, "T1", 16, 0, {
            file_size: 16,
            status: 1,
            file_checksum: sha256("big file content"),
            range_checksum: sha256("big file content")
          }),
          "bin:big file content"
        ])
      }).pipe(withServer({ fixtures: designExample, baseDirectory: directory }))
    })
  )
})
