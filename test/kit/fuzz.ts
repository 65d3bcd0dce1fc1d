/**
 * Property-test settings from the environment: `FUZZ_RUNS=N` raises the run count (`npm run fuzz`),
 * `FUZZ_SEED=S` replays the seed a failure printed (fast-check prints it with the counterexample).
 */

/** Runs per property: small and fixed for `npm test`, larger through `FUZZ_RUNS=N npm run fuzz`. */
export const fuzzRuns = (ciDefault = 200): number => {
  const fromEnv = Number(process.env["FUZZ_RUNS"])
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : ciDefault
}

/** The seed of a sampled test: `FUZZ_SEED` when set, else the test's fixed one (print it with each case). */
export const fuzzSeed = (fallback: number): number => Number(process.env["FUZZ_SEED"] ?? fallback)

/** fast-check parameters for `it.prop`: fixed run count, and a seed from `FUZZ_SEED` to replay a failure. */
export const fuzzParameters = (ciDefault = 200): { readonly numRuns: number; readonly seed?: number } => {
  const seed = Number(process.env["FUZZ_SEED"])
  return Number.isInteger(seed) ? { numRuns: fuzzRuns(ciDefault), seed } : { numRuns: fuzzRuns(ciDefault) }
}
