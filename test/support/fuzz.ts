/**
 * Runs per property: small and fixed for `npm test`, larger through `FUZZ_RUNS=N npm run fuzz`.
 */
export const fuzzRuns = (ciDefault = 200): number => {
  const fromEnv = Number(process.env["FUZZ_RUNS"])
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : ciDefault
}

/** fast-check parameters for `it.prop`: fixed run count, and a seed from `FUZZ_SEED` to replay a failure. */
export const fuzzParameters = (ciDefault = 200): { readonly numRuns: number; readonly seed?: number } => {
  const seed = Number(process.env["FUZZ_SEED"])
  return Number.isInteger(seed) ? { numRuns: fuzzRuns(ciDefault), seed } : { numRuns: fuzzRuns(ciDefault) }
}
