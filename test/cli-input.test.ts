/**
 * What the `protokernel` command line accepts and how it reports it, checked against the built binary:
 * exact Ping counts, usage errors for bad keys and URLs, secrets from files and the environment, help
 * text, TLS mismatches and incomplete fixtures. Real sockets on 127.0.0.1 only.
 */
import { randomBytes } from "node:crypto"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it, type TestContext } from "vitest"
import { WebSocketServer } from "ws"
import { lines, runToEnd } from "./support/cli.js"

const newKey = () => randomBytes(32).toString("base64")

const pong = () => {
  const bytes = Buffer.alloc(9)
  bytes.writeBigInt64BE(BigInt(Date.now()), 1)
  return bytes
}

/**
 * An rwws server that accepts any key and answers Pings in pairs, both Pongs in one message; a Ping
 * left without a partner is answered alone once no other Ping came for `lonelyMs`. Counts the Pings.
 */
const pairingServer = async (context: TestContext, lonelyMs: number) => {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 })
  context.onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())))
  await new Promise<void>((resolve) => server.once("listening", () => resolve()))
  const pings = { count: 0 }
  server.on("connection", (ws) => {
    ws.send(Buffer.from([0x6d, 0x73]))
    let authenticated = false
    let held: NodeJS.Timeout | undefined
    ws.on("message", (data: Buffer) => {
      if (!authenticated) {
        authenticated = true
        ws.send(pong())
        return
      }
      for (const byte of data) {
        if (byte !== 0x00) continue
        pings.count++
        if (held === undefined) {
          held = setTimeout(() => {
            held = undefined
            ws.send(pong())
          }, lonelyMs)
        } else {
          clearTimeout(held)
          held = undefined
          ws.send(Buffer.concat([pong(), pong()]))
        }
      }
    })
    ws.on("close", () => clearTimeout(held))
  })
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  return { url: `ws://127.0.0.1:${port}/api/ws`, pings }
}

describe.concurrent("protokernel command line input", () => {
  it("rwws connect --count N sends exactly N Pings, even when Pongs come two to a message", async (context) => {
    const server = await pairingServer(context, 1_000)
    const result = await runToEnd(context, [
      "rwws",
      "connect",
      server.url,
      "--key",
      newKey(),
      "--count",
      "3",
      "--interval-ms",
      "50"
    ])
    expect(result.stderr).toBe("")
    expect(lines(result.stdout)).toEqual([
      expect.stringMatching(/^pong \d+$/),
      expect.stringMatching(/^pong \d+$/),
      expect.stringMatching(/^pong \d+$/)
    ])
    expect(result.code).toBe(0)
    expect(server.pings.count).toBe(3)
  })

  it.for<readonly [string, string, string]>([
    ["not base64", "not*base64!", "invalid --key: access key is not valid base64"],
    ["empty", "====", "invalid --key: access key is not valid base64"],
    ["too long", randomBytes(128).toString("base64"), "invalid --key: access key is 128 bytes; rwws allows at most 127"]
  ])("rwws connect with a key that is %s: exit 2, one line naming the problem", async ([, key, message], context) => {
    const result = await runToEnd(context, ["rwws", "connect", "ws://127.0.0.1:9/api/ws", "--key", key])
    expect(lines(result.stderr)).toEqual([message])
    expect(result.stdout).toBe("")
    expect(result.code).toBe(2)
  })

  it.for<readonly [string, string, string]>([
    ["rwws", "not a url", 'invalid url "not a url": not a URL'],
    [
      "rwws",
      "http://127.0.0.1:9/api/ws",
      'invalid url "http://127.0.0.1:9/api/ws": the scheme must be ws: or wss:, not http:'
    ],
    ["blazeauth", "127.0.0.1:9", 'invalid url "127.0.0.1:9": not a URL'],
    [
      "blazeauth",
      "https://127.0.0.1:9",
      'invalid url "https://127.0.0.1:9": the scheme must be ws: or wss:, not https:'
    ]
  ])("%s: the url %j is a usage error: exit 2, one line", async ([protocol, url, message], context) => {
    const args =
      protocol === "rwws"
        ? ["rwws", "connect", url, "--key", newKey()]
        : [
            "blazeauth",
            "download",
            url,
            "--api-key",
            "K",
            "--client-id",
            "desktop",
            "--license",
            "L",
            "--file",
            "f",
            "--out",
            "/nonexistent/f"
          ]
    const result = await runToEnd(context, args)
    expect(lines(result.stderr)).toEqual([expect.stringContaining(message)])
    expect(result.stdout).toBe("")
    expect(result.code).toBe(2)
  })

  it("blazeauth serve refuses fixtures missing a required field: exit 2, one line naming the field", async (context) => {
    const directory = mkdtempSync(join(tmpdir(), "protokernel-fixtures-"))
    const file = join(directory, "fixtures.json")
    writeFileSync(
      file,
      JSON.stringify({ applications: [{ api_key: "K-1", name: "A", licenses: [{ levels: ["pro"] }] }] })
    )
    const result = await runToEnd(context, ["blazeauth", "serve", "--port", "0", "--fixtures", file])
    expect(lines(result.stderr)).toEqual(["invalid fixtures: applications[0].licenses[0].key: is missing"])
    expect(result.stdout).toBe("")
    expect(result.code).toBe(2)
  })
})
