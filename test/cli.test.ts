/**
 * The `protokernel` CLI contract (README, "The `protokernel` command"), checked against the built binary: every
 * test spawns `node packages/cli/bin/protokernel.js …` on real sockets (127.0.0.1, port 0). Needs
 * `tsc -b` first (`npm test` does that).
 */
import { randomBytes } from "node:crypto"
import { describe, expect, it, type TestContext } from "vitest"
import { WebSocket } from "ws"
import { lines, protokernel, runToEnd } from "./support/cli.js"

const listening = /^listening ws:\/\/127\.0\.0\.1:\d+\/api\/ws$/

/** Starts `rwws serve` and waits for its url. */
const serve = async (context: TestContext, args: ReadonlyArray<string>) => {
  const run = protokernel(context, ["rwws", "serve", "--host", "127.0.0.1", "--port", "0", ...args])
  const url = (await run.line(listening)).slice("listening ".length)
  return { run, url }
}

const newKey = () => randomBytes(32).toString("base64")

describe.concurrent("protokernel CLI", () => {
  it("--help exits 0 and lists the blazeauth and rwws commands", async (context) => {
    const result = await runToEnd(context, ["--help"])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain("rwws")
    expect(result.stdout).toContain("blazeauth")
  })

  it("serve prints one listening line; connect prints N pongs, closes and exits 0", async (context) => {
    const key = newKey()
    const server = await serve(context, ["--key", newKey(), "--key", key])
    const result = await runToEnd(context, [
      "rwws",
      "connect",
      server.url,
      "--key",
      key,
      "--count",
      "2",
      "--interval-ms",
      "100"
    ])
    expect(result.stderr).toBe("")
    expect(lines(result.stdout)).toHaveLength(2)
    for (const line of lines(result.stdout)) expect(line).toMatch(/^pong \d+$/)
    expect(result.code).toBe(0)
    expect(result.stdout + result.stderr).not.toContain(key)
    expect(server.run.stdoutLines()).toEqual([expect.stringMatching(listening)])
  })

  it("a wrong key: 'closed 3001 …' on stderr, exit ≠ 0", async (context) => {
    const server = await serve(context, ["--key", newKey()])
    const key = newKey()
    const result = await runToEnd(context, ["rwws", "connect", server.url, "--key", key, "--count", "1"])
    expect(lines(result.stderr)).toEqual(["closed 3001 unauthorized: invalid access key"])
    expect(result.stdout).toBe("")
    expect(result.code).not.toBe(0)
    expect(result.stderr).not.toContain(key)
  })

  it("a key that is not base64: one stderr line, exit ≠ 0", async (context) => {
    const result = await runToEnd(context, ["rwws", "connect", "ws://127.0.0.1:9/api/ws", "--key", "not*base64!"])
    expect(lines(result.stderr)).toEqual([expect.stringContaining("access key is not valid base64")])
    expect(result.stderr).not.toContain("not*base64!")
    expect(result.code).not.toBe(0)
  })

  it("serve rejects an invalid --key with one stderr line, exit ≠ 0", async (context) => {
    const result = await runToEnd(context, ["rwws", "serve", "--port", "0", "--key", "not*base64!"])
    expect(result.stdout).toBe("")
    expect(lines(result.stderr)).toEqual([expect.stringContaining("access key is not valid base64")])
    expect(result.code).not.toBe(0)
  })

  it("connect refuses a ping interval over 30 s, exit ≠ 0", async (context) => {
    const result = await runToEnd(context, [
      "rwws",
      "connect",
      "ws://127.0.0.1:9/api/ws",
      "--key",
      newKey(),
      "--interval-ms",
      "30001"
    ])
    expect(result.stderr).toContain("--interval-ms")
    expect(result.code).not.toBe(0)
  })

  it("a refused connection: one stderr line, exit ≠ 0", async (context) => {
    const server = await serve(context, ["--key", newKey()])
    server.run.child.kill("SIGTERM")
    await server.run.exited
    const result = await runToEnd(context, ["rwws", "connect", server.url, "--key", newKey()])
    expect(lines(result.stderr)).toEqual([expect.stringContaining("cannot connect")])
    expect(result.code).not.toBe(0)
  })

  it("--ping-timeout-ms: a client pinging too rarely gets 'closed 3003 ping timeout…'", async (context) => {
    const key = newKey()
    const server = await serve(context, ["--key", key, "--ping-timeout-ms", "200"])
    const result = await runToEnd(context, [
      "rwws",
      "connect",
      server.url,
      "--key",
      key,
      "--count",
      "1",
      "--interval-ms",
      "2000"
    ])
    expect(lines(result.stderr)).toEqual([expect.stringMatching(/^closed 3003 ping timeout/)])
    expect(result.stdout).toBe("")
    expect(result.code).not.toBe(0)
  })

  it("SIGTERM: serve closes sessions with 1001 and exits 0", async (context) => {
    const key = newKey()
    const server = await serve(context, ["--key", key])
    const ws = new WebSocket(server.url)
    context.onTestFinished(() => ws.terminate())
    const authenticated = new Promise<void>((resolve, reject) => {
      let messages = 0
      ws.on("message", () => {
        messages++
        if (messages === 1) {
          const bytes = Buffer.from(key, "base64")
          ws.send(Buffer.concat([Buffer.from([0xb6, 0xc4, 0x00, bytes.length]), bytes]))
        } else if (messages === 2) resolve()
      })
      ws.on("error", reject)
    })
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      ws.on("close", (code, reason) => resolve({ code, reason: reason.toString("utf8") }))
    )
    await authenticated
    server.run.child.kill("SIGTERM")
    expect(await closed).toEqual({ code: 1001, reason: "server shutting down" })
    expect(await server.run.exited).toEqual({ code: 0, signal: null })
    expect(server.run.stdoutLines()).toEqual([expect.stringMatching(listening)])
  })

  it("SIGINT stops serve with exit 0", async (context) => {
    const server = await serve(context, [])
    server.run.child.kill("SIGINT")
    expect(await server.run.exited).toEqual({ code: 0, signal: null })
    // Without --key, a key is issued and shown on stderr only.
    expect(server.run.stderr()).toMatch(/^no --key given; issued access key: \S+\n$/)
    expect(server.run.stdoutLines()).toEqual([expect.stringMatching(listening)])
  })

  it("demo shows the Blazeauth session and a verified download, then pongs and the revocation (3004), exits 0", async (context) => {
    const result = await runToEnd(context, ["demo"])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/client initialized: application Demo 1\.0\.0/)
    expect(result.stdout).toMatch(/authorized by license <redacted>: levels pro, beta; expires \S+ \(in 30d\)/)
    expect(result.stdout).toMatch(/panel event 2 \{"version":"1\.2\.3"\} \(received during the download, at \d+%\)/)
    const checksum = /file client\.bin: 4\.0 MiB \(4194304 bytes\), sha256 ([0-9a-f]{64})/.exec(result.stdout)?.[1]
    expect(checksum).toBeDefined()
    expect(result.stdout).toContain(`verified: sha256 ${checksum} = the metadata's checksum`)
    expect(lines(result.stdout).filter((line) => /^ {2}client\.bin: \d+%/.test(line)).length).toBeLessThanOrEqual(4)
    expect(result.stdout).toMatch(/pong #1/)
    expect(result.stdout).toContain("3004")
    expect(result.stderr).toBe("")
  })
})
