import type { RunnerTask as Task, RunnerTestFile as File } from "vitest"
import type { Reporter } from "vitest/reporters"

const count = (tasks: ReadonlyArray<Task>, totals: { passed: number; failed: number; skipped: number }) => {
  for (const task of tasks) {
    if (task.type === "suite") count(task.tasks, totals)
    else if (task.result?.state === "pass") totals.passed++
    else if (task.result?.state === "fail") totals.failed++
    else totals.skipped++
  }
  return totals
}

/** Ends the run with one plain line, `tests: N passed, N failed, N skipped`, for tools that read it. */
export default class SummaryReporter implements Reporter {
  onFinished(files: ReadonlyArray<File> = []): void {
    const totals = count(files, { passed: 0, failed: 0, skipped: 0 })
    const failedFiles = files.filter((file) => file.result?.state === "fail" && file.tasks.length === 0).length
    process.stdout.write(
      `\ntests: ${totals.passed} passed, ${totals.failed + failedFiles} failed, ${totals.skipped} skipped\n`
    )
  }
}
