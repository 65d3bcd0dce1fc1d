// Entry of `npm run bench`: runs each compiled bench module in turn (build first with `npx tsc -b`).
// Every module exports `run(): Promise<void>` and prints its own table. Add new benches to the list.
const benches = [
  "./dist/rwws.js",
  "./dist/transport.js",
  "./dist/blazeauth-codec.js",
  "./dist/blazeauth-session.js",
  "./dist/blazeauth-download.js"
]

for (const path of benches) {
  const bench = await import(path)
  await bench.run()
}
