import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const source = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src`, import.meta.url))

export default defineConfig({
  resolve: {
    // Tests run on the TypeScript sources; the built `dist` is what Node and users load.
    alias: ["wire", "rwws", "blazeauth", "cli"].flatMap((pkg) => [
      { find: new RegExp(`^@protokernel/${pkg}$`), replacement: `${source(pkg)}/index.ts` },
      { find: new RegExp(`^@protokernel/${pkg}/(.*)$`), replacement: `${source(pkg)}/$1.ts` }
    ])
  },
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts", "examples/**/*.test.ts"],
    setupFiles: ["./test/support/setup.ts"],
    reporters: ["default", "./test/support/summary-reporter.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks"
  }
})
