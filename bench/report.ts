/**
 * What every bench prints the same way: medians, and a table with one row per case.
 */

/** The median of `values` (mean of the two middle ones for an even count). */
export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/** Prints `rows` under `header`, the first column left-aligned and the others right-aligned. */
export const printTable = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): void => {
  const all = [header, ...rows]
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? "").length)))
  const line = (row: ReadonlyArray<string>) =>
    row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join("  ")
  console.log(line(header))
  console.log(widths.map((width) => "-".repeat(width)).join("  "))
  for (const row of rows) console.log(line(row))
}

/** A positive integer from the environment, or `fallback`. */
export const positiveInt = (name: string, fallback: number): number => {
  const value = Number(process.env[name])
  return Number.isInteger(value) && value > 0 ? value : fallback
}

/** The median of `times` runs of an asynchronous measurement. */
export const sample = async (times: number, run: () => Promise<number>): Promise<number> => {
  const values: Array<number> = []
  for (let i = 0; i < times; i++) values.push(await run())
  return median(values)
}

/** Rates of the kernel and its baseline measured in the same round. */
export interface Pair {
  readonly kernel: number
  readonly baseline: number
}

/**
 * Medians of `rounds` paired rounds after a warm-up (so both sides reach their optimised tiers); the side
 * that goes first alternates between rounds.
 */
export const medianPair = (rounds: number, round: (kernelFirst: boolean) => Pair): Pair => {
  for (let i = 0; i < 3; i++) round(i % 2 === 0)
  const kernel: Array<number> = []
  const baseline: Array<number> = []
  for (let i = 0; i < rounds; i++) {
    const result = round(i % 2 === 0)
    kernel.push(result.kernel)
    baseline.push(result.baseline)
  }
  return { kernel: median(kernel), baseline: median(baseline) }
}

/**
 * One round of both sides over `count` items, interleaved chunk by chunk (alternating which goes first),
 * so garbage collection and machine noise fall on both alike. Each side returns a checksum of the items
 * `from` (inclusive) to `to` (exclusive); the sums must agree, else `mismatch` is called. Returns
 * `units` per second for each side (`units`: what one full pass over the items counts as).
 */
export const interleavedRound = (options: {
  readonly count: number
  readonly chunk: number
  readonly units: number
  readonly kernelFirst: boolean
  readonly kernel: (from: number, to: number) => number
  readonly baseline: (from: number, to: number) => number
  readonly mismatch: (kernelSum: number, baselineSum: number) => never
}): Pair => {
  const { chunk, count } = options
  let kernelNanos = 0n
  let baselineNanos = 0n
  let kernelSum = 0
  let baselineSum = 0
  for (let from = 0; from < count; from += chunk) {
    const to = Math.min(from + chunk, count)
    const kernelGoesFirst = options.kernelFirst === ((from / chunk) % 2 === 0)
    for (let side = 0; side < 2; side++) {
      const start = process.hrtime.bigint()
      if ((side === 0) === kernelGoesFirst) {
        kernelSum = (kernelSum + options.kernel(from, to)) | 0
        kernelNanos += process.hrtime.bigint() - start
      } else {
        baselineSum = (baselineSum + options.baseline(from, to)) | 0
        baselineNanos += process.hrtime.bigint() - start
      }
    }
  }
  if (kernelSum !== baselineSum) options.mismatch(kernelSum, baselineSum)
  return {
    kernel: (options.units * 1e9) / Number(kernelNanos),
    baseline: (options.units * 1e9) / Number(baselineNanos)
  }
}

/** Stops a bench whose two sides disagree: its figures would mean nothing. */
export const fail = (name: string, detail: string): never => {
  throw new Error(`${name}: ${detail}`)
}

/** A small deterministic PRNG (xorshift32) giving numbers in [0, 1): the same data on every run. */
export const xorshift32 = (seed = 0x9e3779b9): (() => number) => {
  let state = seed
  return () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 0x1_0000_0000
  }
}
