/**
 * The `protokernel blazeauth serve` contract (README, "The `protokernel` command"), checked against the built
 * binary on 127.0.0.1: one `listening ws://HOST:PORT` stdout line, the fixtures served, a clean stop.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it, type TestContext } from "vitest"
import { WebSocket } from "ws"
import { lines, protokernel, runToEnd } from "./support/cli.js"
import { designExample } from "./support/design-fixtures.js"

const listening = /^listening ws:\/\/127\.0\.0\.1:\d+$/

/** A fixtures file in a fresh directory, with `big.bin` beside it. */
const fixturesFile = (): string => {
  const directory = mkdtempSync(join(tmpdir(), "protokernel-fixtures-"))
  writeFileSync(join(directory, "big.bin"), Buffer.from("0123456789abcdefghij"))
  const file = join(directory, "fixtures.json")
  writeFileSync(file, JSON.stringify(designExample))
  return file
}

const serve = async (context: TestContext, args: ReadonlyArray<string>) => {
  const run = protokernel(context, ["blazeauth", "serve", "--host", "127.0.0.1", "--port", "0", ...args])
  const url = (await run.line(listening)).slice("listening ".length)
  return { run, url }
}

/** Sends texts one after another, collecting `count` text answers, and the close if one comes. */
const converse = (url: string, texts: ReadonlyArray<string>, count: number, context: TestContext) =>
  new Promise<{ answers: Array<string>; ws: WebSocket }>((resolve, reject) => {
    const ws = new WebSocket(url)
    context.onTestFinished(() => ws.terminate())
    const answers: Array<string> = []
    ws.on("open", () => texts.forEach((text) => ws.send(text)))
    ws.on("message", (data: Buffer, binary: boolean) => {
      answers.push(binary ? `<binary ${data.toString("hex")}>` : data.toString("utf8"))
      if (answers.length === count) resolve({ answers, ws })
    })
    ws.on("error", reject)
  })

const closeOf = (ws: WebSocket) =>
  new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on("close", (code, reason) => resolve({ code, reason: reason.toString("utf8") }))
  )

describe.concurrent("protokernel blazeauth serve", () => {
  it("serves the fixtures: initialize, variable, license, metadata of a file on disk", async (context) => {
    const server = await serve(context, ["--fixtures", fixturesFile()])
    const { answers } = await converse(
      server.url,
      [
        '{"type":1,"payload":{"id":1,"socket_api_key":"BA0123456789ABCDEFGHI","client_id":"desktop-main"}}',
        '{"type":13,"payload":{"id":2,"name":"launcher_config"}}',
        '{"type":3,"payload":{"id":3,"license":"ABCDEF-123456"}}',
        '{"type":11,"payload":{"id":4,"filename":"big.bin"}}'
      ],
      4,
      context
    )
    expect(answers[0]).toBe('{"type":1,"payload":{"id":1,"app_name":"Demo","app_version":"1.0.0","status":1}}')
    expect(answers[1]).toBe('{"type":13,"payload":{"id":2,"content":"{}","status":1}}')
    expect(answers[2]).toMatch(
      /^\{"type":3,"payload":\{"id":3,"license":"ABCDEF-123456","levels":\["pro"\],"comment":null,"ip_address":"127\.0\.0\.1","time_left":\d{10},"status":1\}\}$/
    )
    expect(answers[3]).toBe(
      '{"type":11,"payload":{"id":4,"checksum":"6bc14bdc4517a7a682c6910de2e2946eb8e1ecd04090728fef6d092a7ceb62c5","size":20,"transfer_count":0,"last_transferred_at":null,"status":1}}'
    )
    expect(server.run.stdoutLines()).toEqual([expect.stringMatching(listening)])
  })

  it("--chunk-size sets the download chunks", async (context) => {
    const server = await serve(context, ["--fixtures", fixturesFile(), "--chunk-size", "2"])
    const { answers } = await converse(
      server.url,
      [
        '{"type":1,"payload":{"id":1,"socket_api_key":"BA0123456789ABCDEFGHI","client_id":"desktop-main"}}',
        '{"type":3,"payload":{"id":2,"license":"ABCDEF-123456"}}',
        '{"type":8,"payload":{"id":3,"filename":"client.bin"}}'
      ],
      6,
      context
    )
    expect(answers[2]).toMatch(
      /^\{"type":8,"payload":\{"id":3,"transfer_id":"[0-9a-f]{32}","binary_data":true,"chunk_size":2,"offset":0,"file_size":3\}\}$/
    )
    expect(answers[3]).toBe("<binary 0001>")
    expect(answers[4]).toMatch(/"chunk_size":1,"offset":2,"status":1,/)
    expect(answers[5]).toBe("<binary 02>")
  })

  it("--init-deadline-ms: an idle session is closed 4202 with the rounded-up seconds", async (context) => {
    const server = await serve(context, ["--fixtures", fixturesFile(), "--init-deadline-ms", "300"])
    const ws = new WebSocket(server.url)
    context.onTestFinished(() => ws.terminate())
    expect(await closeOf(ws)).toEqual({
      code: 4202,
      reason: "session wasn't initialized in 1 seconds after connection"
    })
  })

  it("another path gets HTTP 404", async (context) => {
    const server = await serve(context, ["--fixtures", fixturesFile()])
    const status = await new Promise<number | undefined>((resolve) => {
      const ws = new WebSocket(`${server.url}/api/ws`)
      context.onTestFinished(() => ws.terminate())
      ws.on("unexpected-response", (_request, response) => resolve(response.statusCode))
      ws.on("error", () => resolve(undefined))
    })
    expect(status).toBe(404)
  })

  it("SIGTERM closes sessions with 1000 and exits 0", async (context) => {
    const server = await serve(context, ["--fixtures", fixturesFile()])
    const { ws } = await converse(
      server.url,
      ['{"type":1,"payload":{"id":1,"socket_api_key":"BA0123456789ABCDEFGHI","client_id":"desktop-main"}}'],
      1,
      context
    )
    const closed = closeOf(ws)
    server.run.child.kill("SIGTERM")
    expect(await closed).toEqual({ code: 1000, reason: "" })
    expect(await server.run.exited).toEqual({ code: 0, signal: null })
  })

  it("a missing fixtures file is a usage error (exit 2, one stderr line)", async (context) => {
    const result = await runToEnd(context, [
      "blazeauth",
      "serve",
      "--fixtures",
      join(tmpdir(), "no-such-fixtures.json")
    ])
    expect(result.code).toBe(2)
    expect(result.stdout).toBe("")
    expect(lines(result.stderr)).toEqual([expect.stringContaining("invalid fixtures: cannot read")])
  })

  it("invalid fixtures are a usage error naming the problem", async (context) => {
    const directory = mkdtempSync(join(tmpdir(), "protokernel-fixtures-"))
    const file = join(directory, "fixtures.json")
    writeFileSync(file, JSON.stringify({ applications: [{ name: "NoKey" }] }))
    const result = await runToEnd(context, ["blazeauth", "serve", "--fixtures", file])
    expect(result.code).toBe(2)
    expect(lines(result.stderr)).toEqual([expect.stringContaining("NoKey has no api_key")])
  })
})
