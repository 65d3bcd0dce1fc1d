/**
 * The protocol references in docs/ against the code: every `§x.y` that a source, test or benchmark cites
 * is a heading of the reference it belongs to (docs/rwws.md or docs/blazeauth.md), and every JSON example
 * the Blazeauth codec tests check is printed in docs/blazeauth.md exactly as they check it.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as Spec from "../packages/blazeauth/test/support/spec.js"

const root = fileURLToPath(new URL("..", import.meta.url))

/** Where the sources live; `dist` and `node_modules` are not sources. */
const roots = ["packages", "test", "bench", "examples"]

const sectionPattern = /§[0-9A-Z]+(?:\.[0-9]+)*/g

const sourceFiles = (directory: string): ReadonlyArray<string> =>
  Fs.readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = Path.join(directory, entry.name)
    if (entry.isDirectory()) return entry.name === "dist" || entry.name === "node_modules" ? [] : sourceFiles(path)
    return entry.name.endsWith(".ts") ? [path] : []
  })

/**
 * The protocol a file's citations refer to: the one whose package or test it is. The wire package cites
 * RFC 6455 only; the CLI's shared module cites rwws's ping bound.
 */
const protocolOf = (relative: string): "rwws" | "blazeauth" | undefined => {
  if (relative.startsWith("packages/wire/")) return undefined
  if (/(^|\/)rwws|Rwws\.ts$|^packages\/cli\/src\/Cli\.ts$/.test(relative)) return "rwws"
  return "blazeauth"
}

const headings = (protocol: string): ReadonlySet<string> =>
  new Set(
    Fs.readFileSync(Path.join(root, "docs", `${protocol}.md`), "utf8")
      .split("\n")
      .filter((line) => /^#{1,6} §/.test(line))
      .flatMap((line) => line.match(sectionPattern)?.slice(0, 1) ?? [])
  )

describe("docs", () => {
  it("every § cited in the sources is a heading of its protocol reference", () => {
    const known = { rwws: headings("rwws"), blazeauth: headings("blazeauth") }
    const missing: Array<string> = []
    let cited = 0
    for (const file of roots.flatMap((directory) => sourceFiles(Path.join(root, directory)))) {
      const relative = Path.relative(root, file).split(Path.sep).join("/")
      const protocol = protocolOf(relative)
      if (protocol === undefined) continue
      for (const section of new Set(Fs.readFileSync(file, "utf8").match(sectionPattern) ?? [])) {
        cited++
        if (!known[protocol].has(section)) missing.push(`${relative}: ${section} (docs/${protocol}.md)`)
      }
    }
    assert.isAbove(cited, 0)
    assert.deepStrictEqual(missing, [])
  })

  it("docs/blazeauth.md prints every JSON example the codec tests check, byte for byte", () => {
    const text = Fs.readFileSync(Path.join(root, "docs", "blazeauth.md"), "utf8")
    const absent = Spec.examples.filter(([, , example]) => !text.includes(example)).map(([, where]) => where)
    assert.isAbove(Spec.examples.length, 0)
    assert.deepStrictEqual(absent, [])
  })
})
