/**
 * The `protokernel` CLI contract (DESIGN.md, "Contracts"), checked against the built binary: every
 * test spawns `node packages/cli/bin/protokernel.js …` on real sockets (127.0.0.1, port 0). Needs
 * `tsc -b` first (`npm test` does that).
 */
import { spawn, type ChildProcess } from "node:child_process"
import { randomBytes } from "node:crypto"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it, type TestContext } from "vitest"
import { WebSocket } from "ws"

const bin = fileURLToPath(new URL("../packages/cli/bin/protokernel.js", import.meta.url))
const listening = /^listening ws:\/\/127\.0\.0\.1:\d+\/api\/ws$/

interface Exited {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

interface Run {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  readonly stdoutLines: () => ReadonlyArray<string>
  readonly exited: Promise<Exited>
  /** Resolves with the first stdout line matching `pattern`. */
  readonly line: (pattern: RegExp, timeoutMs?: number) => Promise<string>
}

const running = new Set<ChildProcess>()

const kill = (child: ChildProcess) => {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
}

afterAll(() => running.forEach(kill))

const lines = (text: string) => text.split("\n").filter((line) => line !== "")

/** Spawns the CLI; the child is killed when the test ends (pass/fail/timeout). */
const protokernel = (context: TestContext, args: ReadonlyArray<string>): Run => {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] })
  running.add(child)
  context.onTestFinished(() => {
    kill(child)
    running.delete(child)
  })
  let stdout = ""
  let stderr = ""
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
  const exited = new Promise<Exited>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })))
  const line = (pattern: RegExp, timeoutMs = 10_000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const found = lines(stdout).find((l) => pattern.test(l))
        if (found === undefined) return false
        clearTimeout(timer)
        child.stdout?.off("data", check)
        resolve(found)
        return true
      }
      const timer = setTimeout(() => {
        child.stdout?.off("data", check)
        reject(new Error(`no stdout line matching ${pattern} in ${timeoutMs} ms; stdout=${stdout} stderr=${stderr}`))
      }, timeoutMs)
      if (!check()) {
        child.stdout?.on("data", check)
        void exited.then(() => setImmediate(() => check()))
      }
    })
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    stdoutLines: () => lines(stdout),
    exited,
    line
  }
}

/** Runs the CLI to its end. */
const runToEnd = async (context: TestContext, args: ReadonlyArray<string>) => {
  const run = protokernel(context, args)
  const exit = await run.exited
  return { ...exit, stdout: run.stdout(), stderr: run.stderr() }
}

/** Starts `rwws serve` and waits for its url. */
const serve = async (context: TestContext, args: ReadonlyArray<string>) => {
  const run = protokernel(context, ["rwws", "serve", "--host", "127.0.0.1", "--port", "0", ...args])
  const url = (await run.line(listening)).slice("listening ".length)
  return { run, url }
}

const newKey = () => randomBytes(32).toString("base64")

describe.concurrent("protokernel CLI", () => {
  it("--help exits 0 and lists the rwws commands", async (context) => {
    const result = await runToEnd(context, ["--help"])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain("rwws")
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

  it("demo shows pongs and the revocation (3004), exits 0", async (context) => {
    const result = await runToEnd(context, ["demo"])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/pong #1/)
    expect(result.stdout).toContain("3004")
    expect(result.stderr).toBe("")
  })
})
