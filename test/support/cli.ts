/**
 * Spawning the built `protokernel` binary from tests: stdout/stderr capture, waiting for a stdout
 * line, and cleanup when the test ends.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { fileURLToPath } from "node:url"
import { afterAll, type TestContext } from "vitest"

const bin = fileURLToPath(new URL("../../packages/cli/bin/protokernel.js", import.meta.url))

/** How the process ended. */
export interface Exited {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/** A running CLI process. */
export interface Run {
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

export const lines = (text: string) => text.split("\n").filter((line) => line !== "")

/** Spawns the CLI; the child is killed when the test ends (pass/fail/timeout). */
export const protokernel = (context: TestContext, args: ReadonlyArray<string>): Run => {
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
export const runToEnd = async (context: TestContext, args: ReadonlyArray<string>) => {
  const run = protokernel(context, args)
  const exit = await run.exited
  return { ...exit, stdout: run.stdout(), stderr: run.stderr() }
}
