/**
 * The `protokernel blazeauth download` contract (README, "The `protokernel` command"), checked against the built
 * binary and a `protokernel blazeauth serve` on 127.0.0.1: the file written atomically and verified,
 * one stdout line, progress on stderr, one stderr line and no file at PATH on any failure, no secret
 * ever printed, usage errors exit 2.
 */
import { randomBytes } from "node:crypto"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it, type TestContext } from "vitest"
import { sha256 } from "./kit/bytes.js"
import { lines, protokernel, runToEnd } from "./support/cli.js"
import { designExample } from "./support/design-fixtures.js"

const listening = /^listening ws:\/\/127\.0\.0\.1:\d+$/
const apiKey = "BA0123456789ABCDEFGHI"
const license = "ABCDEF-123456"
const password = "strong-password"
const MiB = 1024 * 1024

/** A fresh directory, removed when the test ends. */
const temporary = (context: TestContext, prefix: string) => {
  const directory = mkdtempSync(join(tmpdir(), prefix))
  context.onTestFinished(() => rmSync(directory, { recursive: true, force: true }))
  return directory
}

/** A fixtures file (the README example) whose `big.bin` holds `bytes` random bytes. */
const fixtures = (context: TestContext, bytes: number) => {
  const directory = temporary(context, "protokernel-download-fixtures-")
  const big = randomBytes(bytes)
  writeFileSync(join(directory, "big.bin"), big)
  const file = join(directory, "fixtures.json")
  writeFileSync(file, JSON.stringify(designExample))
  return { file, big }
}

/** An empty directory for the download. */
const outDirectory = (context: TestContext) => temporary(context, "protokernel-download-out-")

const serve = async (context: TestContext, fixturesFile: string, args: ReadonlyArray<string> = [], port = 0) => {
  const run = protokernel(context, [
    "blazeauth",
    "serve",
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--fixtures",
    fixturesFile,
    ...args
  ])
  const url = (await run.line(listening)).slice("listening ".length)
  return { run, url }
}

const download = (url: string, args: ReadonlyArray<string>) => [
  "blazeauth",
  "download",
  url,
  "--api-key",
  apiKey,
  "--client-id",
  "desktop-main",
  ...args
]

/** A port nothing listens on. */
const closedPort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
    server.on("error", reject)
  })

/** Resolves once `check` holds, polling every 10 ms. */
const until = (check: () => boolean, timeoutMs = 10_000) =>
  new Promise<void>((resolve, reject) => {
    const started = Date.now()
    const poll = () => {
      if (check()) return resolve()
      if (Date.now() - started > timeoutMs) return reject(new Error("condition not met in time"))
      setTimeout(poll, 10)
    }
    poll()
  })

/** A download's temporary file in `directory` has received some bytes. */
const partialIn = (directory: string) => () =>
  readdirSync(directory).some((name) => statSync(join(directory, name)).size > 0)

const progressLine =
  /^big\.bin: \d{1,3}% \(\d+\.\d [KMG]iB of 1\.0 MiB\), (\d+(\.\d)? [KMG]?i?B|--)\/s, ETA (\d+:\d\d|--:--)$/
const doneLine = /^big\.bin: 1\.0 MiB in \d+\.\d s, \d+(\.\d)? [KMG]?i?B\/s$/

describe.concurrent("protokernel blazeauth download", () => {
  it("downloads with a license: PATH holds the file, one stdout line with size and SHA-256, exit 0", async (context) => {
    const { file, big } = fixtures(context, MiB + 123)
    const server = await serve(context, file)
    const directory = outDirectory(context)
    const out = join(directory, "big.bin")
    const result = await runToEnd(
      context,
      download(server.url, ["--license", license, "--file", "big.bin", "--out", out])
    )
    expect(result.code).toBe(0)
    expect(lines(result.stdout)).toEqual([`saved ${out} (${MiB + 123} bytes, sha256 ${sha256(big)})`])
    expect(readFileSync(out).equals(big)).toBe(true)
    expect(readdirSync(directory)).toEqual(["big.bin"])
    expect(result.stdout + result.stderr).not.toContain(license)
    expect(result.stdout + result.stderr).not.toContain(apiKey)
  })

  it("downloads with --login/--password, replacing an existing PATH", async (context) => {
    const { file } = fixtures(context, 10)
    const server = await serve(context, file)
    const directory = outDirectory(context)
    const out = join(directory, "client.bin")
    writeFileSync(out, "an older version")
    const result = await runToEnd(
      context,
      download(server.url, ["--login", "demo_user", "--password", password, "--file", "client.bin", "--out", out])
    )
    expect(result.code).toBe(0)
    expect(lines(result.stdout)).toEqual([`saved ${out} (3 bytes, sha256 ${sha256(Buffer.from([0, 1, 2]))})`])
    expect([...readFileSync(out)]).toEqual([0, 1, 2])
    expect(result.stdout + result.stderr).not.toContain(password)
    expect(readdirSync(directory)).toEqual(["client.bin"])
  })

  it("an unknown file: one stderr line naming file_not_found, exit 1, no PATH", async (context) => {
    const { file } = fixtures(context, 10)
    const server = await serve(context, file)
    const directory = outDirectory(context)
    const out = join(directory, "missing.bin")
    const result = await runToEnd(
      context,
      download(server.url, ["--license", license, "--file", "missing.bin", "--out", out])
    )
    expect(result.code).toBe(1)
    expect(result.stdout).toBe("")
    expect(lines(result.stderr)).toEqual([expect.stringContaining("file_not_found")])
    expect(existsSync(out)).toBe(false)
    expect(readdirSync(directory)).toEqual([])
  })

  it("a failure leaves an existing PATH untouched", async (context) => {
    const { file } = fixtures(context, 10)
    const server = await serve(context, file)
    const directory = outDirectory(context)
    const out = join(directory, "missing.bin")
    writeFileSync(out, "keep me")
    const result = await runToEnd(
      context,
      download(server.url, ["--license", license, "--file", "missing.bin", "--out", out])
    )
    expect(result.code).toBe(1)
    expect(readFileSync(out, "utf8")).toBe("keep me")
    expect(readdirSync(directory)).toEqual(["missing.bin"])
  })

  it("a bad license: one stderr line, exit 1, no secret printed, no PATH", async (context) => {
    const { file } = fixtures(context, 10)
    const server = await serve(context, file)
    const directory = outDirectory(context)
    const out = join(directory, "big.bin")
    const secret = "WRONG-LICENSE-SECRET-42"
    const result = await runToEnd(
      context,
      download(server.url, ["--license", secret, "--file", "big.bin", "--out", out])
    )
    expect(result.code).toBe(1)
    expect(result.stdout).toBe("")
    expect(lines(result.stderr)).toEqual([expect.stringContaining("license_invalid")])
    expect(result.stderr).not.toContain(secret)
    expect(result.stderr).not.toContain(apiKey)
    expect(readdirSync(directory)).toEqual([])
  })

  it("a bad password: one stderr line, exit 1, the password not printed", async (context) => {
    const { file } = fixtures(context, 10)
    const server = await serve(context, file)
    const directory = outDirectory(context)
    const secret = "not-the-password-77"
    const result = await runToEnd(
      context,
      download(server.url, [
        "--login",
        "demo_user",
        "--password",
        secret,
        "--file",
        "big.bin",
        "--out",
        join(directory, "x")
      ])
    )
    expect(result.code).toBe(1)
    expect(lines(result.stderr)).toHaveLength(1)
    expect(result.stdout + result.stderr).not.toContain(secret)
    expect(readdirSync(directory)).toEqual([])
  })

  it("a refused connection: one stderr line, exit 1, no PATH", async (context) => {
    const directory = outDirectory(context)
    const out = join(directory, "big.bin")
    const result = await runToEnd(
      context,
      download(`ws://127.0.0.1:${await closedPort()}`, ["--license", license, "--file", "big.bin", "--out", out])
    )
    expect(result.code).toBe(1)
    expect(lines(result.stderr)).toEqual([expect.stringMatching(/^download failed: cannot connect to ws:\/\/127/)])
    expect(readdirSync(directory)).toEqual([])
  })

  it("usage errors exit 2 with one stderr line, printing no secret", async (context) => {
    const url = "ws://127.0.0.1:9"
    const out = join(outDirectory(context), "x")
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
      [["--license", license, "--login", "demo_user", "--password", password], "not both"],
      [["--license", license, "--password", password], "not both"],
      [[], "give --license, or --login and --password"],
      [["--login", "demo_user"], "--login needs --password"],
      [["--password", password], "--password needs --login"]
    ]
    for (const [auth, message] of cases) {
      const result = await runToEnd(context, download(url, [...auth, "--file", "big.bin", "--out", out]))
      expect(result.code, auth.join(" ")).toBe(2)
      expect(result.stdout).toBe("")
      expect(lines(result.stderr)).toEqual([expect.stringContaining(message)])
      expect(result.stderr).not.toContain(license)
      expect(result.stderr).not.toContain(password)
      expect(existsSync(out)).toBe(false)
    }
    const shortId = await runToEnd(context, [
      "blazeauth",
      "download",
      url,
      "--api-key",
      apiKey,
      "--client-id",
      "ab",
      "--license",
      license,
      "--file",
      "big.bin",
      "--out",
      out
    ])
    expect(shortId.code).toBe(2)
    expect(lines(shortId.stderr)).toEqual(["invalid --client-id: must have 4 to 64 characters, has 2"])
  })

  it("non-TTY stderr: throttled plain progress lines, then a final line", async (context) => {
    const { file, big } = fixtures(context, MiB)
    // 64 chunks of 16 KiB, 40 ms apart: about 2.6 s.
    const server = await serve(context, file, ["--chunk-size", "16384", "--chunk-delay-ms", "40"])
    const out = join(outDirectory(context), "big.bin")
    const result = await runToEnd(
      context,
      download(server.url, ["--license", license, "--file", "big.bin", "--out", out])
    )
    expect(result.code).toBe(0)
    expect(readFileSync(out).equals(big)).toBe(true)
    expect(result.stderr).not.toContain("\r")
    const progress = lines(result.stderr)
    expect(progress.length).toBeGreaterThanOrEqual(2)
    // At most one line per 10 % step, plus the final line.
    expect(progress.length).toBeLessThanOrEqual(11)
    expect(progress.at(-1)).toMatch(doneLine)
    const percents = progress.slice(0, -1).map((line) => {
      expect(line).toMatch(progressLine)
      return Number(/: (\d+)%/.exec(line)?.[1])
    })
    // Each line in a new 10 % step.
    const steps = percents.map((percent) => Math.floor(percent / 10))
    expect(new Set(steps).size).toBe(steps.length)
    expect([...steps].sort((a, b) => a - b)).toEqual(steps)
  })

  it("--progress bar draws one line in place with \\r and ends it with a newline; --progress none is silent", async (context) => {
    const { file } = fixtures(context, MiB)
    const server = await serve(context, file, ["--chunk-size", "65536", "--chunk-delay-ms", "40"])
    const directory = outDirectory(context)
    const bar = await runToEnd(
      context,
      download(server.url, [
        "--license",
        license,
        "--file",
        "big.bin",
        "--out",
        join(directory, "a"),
        "--progress",
        "bar"
      ])
    )
    expect(bar.code).toBe(0)
    expect(bar.stderr.split("\n")).toEqual([expect.any(String), ""])
    const frames = bar.stderr.slice(0, -1).split("\r").slice(1)
    expect(frames.length).toBeGreaterThanOrEqual(2)
    for (const frame of frames)
      expect(frame).toMatch(/^big\.bin \[[#-]+\] +\d+%  \d+(\.\d)? (B|KiB|MiB) \/ 1\.0 MiB  .*\x1b\[K$/)
    expect(frames.at(-1)).toMatch(/\[#+\] 100%  1\.0 MiB \/ 1\.0 MiB  .*\/s  in \d+\.\d s\x1b\[K$/)

    const none = await runToEnd(
      context,
      download(server.url, [
        "--license",
        license,
        "--file",
        "big.bin",
        "--out",
        join(directory, "b"),
        "--progress",
        "none"
      ])
    )
    expect(none.code).toBe(0)
    expect(none.stderr).toBe("")
    expect(lines(none.stdout)).toHaveLength(1)
  })

  it("the server dies mid-download: after the reconnection attempts, one reason line, exit 1, nothing left behind", async (context) => {
    const { file } = fixtures(context, MiB)
    const server = await serve(context, file, ["--chunk-size", "16384", "--chunk-delay-ms", "40"])
    const directory = outDirectory(context)
    const out = join(directory, "big.bin")
    const run = protokernel(
      context,
      download(server.url, ["--license", license, "--file", "big.bin", "--out", out, "--reconnect-attempts", "1"])
    )
    await until(partialIn(directory))
    server.run.child.kill("SIGKILL")
    const exited = await run.exited
    expect(exited.code).toBe(1)
    expect(run.stdout()).toBe("")
    const stderr = lines(run.stderr())
    expect(stderr.at(-1)).toMatch(/^download failed: cannot connect to ws:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED.*$/)
    expect(stderr).toContainEqual(expect.stringMatching(/reconnecting in \d+\.\d s \(attempt 1 of 1\)$/))
    expect(existsSync(out)).toBe(false)
    expect(readdirSync(directory)).toEqual([])
  })

  it("the server restarts mid-download: the client reconnects and resumes, the file is complete", async (context) => {
    const { file, big } = fixtures(context, MiB)
    const args = ["--chunk-size", "16384", "--chunk-delay-ms", "30"]
    const first = await serve(context, file, args)
    const port = Number(new URL(first.url).port)
    const directory = outDirectory(context)
    const out = join(directory, "big.bin")
    const run = protokernel(context, download(first.url, ["--license", license, "--file", "big.bin", "--out", out]))
    await until(partialIn(directory))
    first.run.child.kill("SIGKILL")
    await first.run.exited
    await serve(context, file, args, port)
    const exited = await run.exited
    expect(run.stderr()).toMatch(/connection lost 1006; reconnecting in \d+\.\d s \(attempt 1 of 5\)/)
    expect(exited.code).toBe(0)
    expect(lines(run.stdout())).toEqual([`saved ${out} (${MiB} bytes, sha256 ${sha256(big)})`])
    expect(readFileSync(out).equals(big)).toBe(true)
    expect(readdirSync(directory)).toEqual(["big.bin"])
  })

  it("an --out in a missing directory: one stderr line, exit 1", async (context) => {
    const { file } = fixtures(context, 10)
    const server = await serve(context, file)
    const directory = outDirectory(context)
    const out = join(directory, "no", "such", "dir", "big.bin")
    const result = await runToEnd(
      context,
      download(server.url, ["--license", license, "--file", "big.bin", "--out", out])
    )
    expect(result.code).toBe(1)
    expect(lines(result.stderr)).toEqual([expect.stringMatching(/^download failed: cannot write /)])
    expect(readdirSync(directory)).toEqual([])
  })

  it("an --out that is a directory: refused before downloading, one stderr line, exit 1", async (context) => {
    const { file } = fixtures(context, 10)
    const server = await serve(context, file)
    const directory = outDirectory(context)
    const result = await runToEnd(
      context,
      download(server.url, ["--license", license, "--file", "big.bin", "--out", directory])
    )
    expect(result.code).toBe(1)
    expect(lines(result.stderr)).toEqual([`download failed: cannot write ${directory}: it is a directory`])
    expect(readdirSync(directory)).toEqual([])
  })

  it("--max-bytes: a larger file fails at once naming the limit, exit 1, nothing written", async (context) => {
    const { file } = fixtures(context, MiB)
    const server = await serve(context, file)
    const directory = outDirectory(context)
    const out = join(directory, "big.bin")
    const result = await runToEnd(
      context,
      download(server.url, ["--license", license, "--file", "big.bin", "--out", out, "--max-bytes", "1000"])
    )
    expect(result.code).toBe(1)
    expect(lines(result.stderr)).toEqual([
      `download failed: file too large: big.bin has ${MiB} bytes, the limit is 1000`
    ])
    expect(readdirSync(directory)).toEqual([])
  })
})
