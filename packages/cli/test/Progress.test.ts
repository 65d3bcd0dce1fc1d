/**
 * The download progress of `protokernel blazeauth download`: formatting (bytes, rates, ETAs, bar and
 * lines), throttling, and the reporter on an in-memory output under `TestClock`.
 */
import { Progress } from "@protokernel/cli"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, TestClock } from "effect"

const MiB = 1024 * 1024

const snapshot = (overrides: Partial<Progress.Snapshot> = {}): Progress.Snapshot => ({
  filename: "client.bin",
  position: 0,
  fileSize: Option.some(4 * MiB),
  startPosition: 0,
  elapsedMillis: 0,
  ...overrides
})

/** An output that records what is written. */
const memory = (isTTY: boolean, columns = 80) => {
  const written: Array<string> = []
  const output: Progress.Output = {
    isTTY,
    columns,
    write: (text) => Effect.sync(() => void written.push(text))
  }
  return { output, written, text: () => written.join("") }
}

describe("Progress formatting", () => {
  it("formatBytes: bytes below 1 KiB, then powers of 1024 with one decimal", () => {
    const cases: ReadonlyArray<readonly [number, string]> = [
      [0, "0 B"],
      [1, "1 B"],
      [1023, "1023 B"],
      [1024, "1.0 KiB"],
      [1536, "1.5 KiB"],
      [MiB - 1, "1.0 MiB"],
      [4 * MiB, "4.0 MiB"],
      [1.5 * 1024 * MiB, "1.5 GiB"],
      [5 * 1024 * 1024 * MiB, "5.0 TiB"],
      [4096 * 1024 * 1024 * MiB, "4096.0 TiB"]
    ]
    for (const [bytes, expected] of cases) assert.strictEqual(Progress.formatBytes(bytes), expected, String(bytes))
  })

  it("formatRate and formatElapsed", () => {
    assert.strictEqual(Progress.formatRate(1.25 * MiB), "1.3 MiB/s")
    assert.strictEqual(Progress.formatRate(100), "100 B/s")
    assert.strictEqual(Progress.formatElapsed(0), "0.0 s")
    assert.strictEqual(Progress.formatElapsed(312), "0.3 s")
    assert.strictEqual(Progress.formatElapsed(59_900), "59.9 s")
    assert.strictEqual(Progress.formatElapsed(65_000), "1:05")
  })

  it("formatEta: a clock rounded up to the second, or --:--", () => {
    const cases: ReadonlyArray<readonly [Option.Option<number>, string]> = [
      [Option.none(), "--:--"],
      [Option.some(Infinity), "--:--"],
      [Option.some(Number.NaN), "--:--"],
      [Option.some(0), "0:00"],
      [Option.some(6.2), "0:07"],
      [Option.some(754), "12:34"],
      [Option.some(3723), "1:02:03"]
    ]
    for (const [seconds, expected] of cases) assert.strictEqual(Progress.formatEta(seconds), expected)
  })

  it("rate, percent and eta from a snapshot", () => {
    const halfway = snapshot({ position: 2 * MiB, elapsedMillis: 2000 })
    assert.deepStrictEqual(Progress.rate(halfway), Option.some(MiB))
    assert.deepStrictEqual(Progress.percent(halfway), Option.some(50))
    assert.deepStrictEqual(Progress.eta(halfway), Option.some(2))
    // A resumed download measures its rate from where it started.
    const resumed = snapshot({ position: 3 * MiB, startPosition: 2 * MiB, elapsedMillis: 500 })
    assert.deepStrictEqual(Progress.rate(resumed), Option.some(2 * MiB))
    assert.deepStrictEqual(Progress.eta(resumed), Option.some(0.5))
    // No time or no bytes yet: no rate, no ETA; no size: no percentage.
    assert.deepStrictEqual(Progress.rate(snapshot()), Option.none())
    assert.deepStrictEqual(Progress.eta(snapshot({ elapsedMillis: 1000 })), Option.none())
    assert.deepStrictEqual(Progress.percent(snapshot({ fileSize: Option.none() })), Option.none())
    // 99.9 % is not 100 %; an empty file is done.
    assert.deepStrictEqual(Progress.percent(snapshot({ position: 4 * MiB - 1 })), Option.some(99))
    assert.deepStrictEqual(Progress.percent(snapshot({ fileSize: Option.some(0) })), Option.some(100))
  })

  it("renderLine and renderDone", () => {
    assert.strictEqual(
      Progress.renderLine(snapshot({ position: 1.6 * MiB, elapsedMillis: 1250 })),
      "client.bin: 40% (1.6 MiB of 4.0 MiB), 1.3 MiB/s, ETA 0:02"
    )
    assert.strictEqual(
      Progress.renderLine(snapshot({ position: 1.6 * MiB, elapsedMillis: 1250, fileSize: Option.none() })),
      "client.bin: 1.6 MiB, 1.3 MiB/s"
    )
    assert.strictEqual(Progress.renderLine(snapshot()), "client.bin: 0% (0 B of 4.0 MiB), --/s, ETA --:--")
    assert.strictEqual(
      Progress.renderDone(snapshot({ position: 4 * MiB, elapsedMillis: 3100 })),
      "client.bin: 4.0 MiB in 3.1 s, 1.3 MiB/s"
    )
  })

  it("renderBar keeps the bar's width while the numbers change", () => {
    const widths = [
      snapshot({ position: 100, elapsedMillis: 10 }),
      snapshot({ position: 900 * 1024, elapsedMillis: 9000 }),
      snapshot({ position: 2 * MiB, elapsedMillis: 100 }),
      snapshot({ position: 4 * MiB - 1, elapsedMillis: 600_000 })
    ].map((s) => /\[[#-]+\]/.exec(Progress.renderBar(s, 80))?.[0].length)
    assert.deepStrictEqual(new Set(widths).size, 1)
  })

  it("bar fills its width in proportion", () => {
    assert.strictEqual(Progress.bar(0, 12), "[----------]")
    assert.strictEqual(Progress.bar(0.5, 12), "[#####-----]")
    assert.strictEqual(Progress.bar(1, 12), "[##########]")
    assert.strictEqual(Progress.bar(2, 6), "[####]")
  })

  it("renderBar on a terminal that reports 0 columns draws for 80", () => {
    const halfway = snapshot({ position: 2 * MiB, elapsedMillis: 2000 })
    assert.strictEqual(Progress.renderBar(halfway, 0), Progress.renderBar(halfway, 80))
    assert.match(Progress.renderBar(halfway, 0), /^client\.bin \[#+-+\]  50%/)
    assert.strictEqual(Progress.terminalColumns(0), 80)
    assert.strictEqual(Progress.terminalColumns(undefined), 80)
    assert.strictEqual(Progress.terminalColumns(132), 132)
  })

  it("renderBar fits the terminal: a bar when there is room, none on a narrow one, never a wrap", () => {
    const halfway = snapshot({ position: 2 * MiB, elapsedMillis: 2000 })
    const wide = Progress.renderBar(halfway, 100)
    assert.strictEqual(wide, "client.bin [###############---------------]  50%  2.0 MiB / 4.0 MiB  1.0 MiB/s  ETA 0:02")
    assert.isBelow(wide.length, 100)
    const medium = Progress.renderBar(halfway, 80)
    assert.match(medium, /^client\.bin \[#+-+\]  50%  2\.0 MiB \/ 4\.0 MiB  1\.0 MiB\/s  ETA 0:02$/)
    assert.isBelow(medium.length, 80)
    assert.strictEqual(Progress.renderBar(halfway, 60), "client.bin  50%  2.0 MiB / 4.0 MiB  1.0 MiB/s  ETA 0:02")
    assert.strictEqual(Progress.renderBar(halfway, 40), "client.bin  50%  2.0 MiB / 4.0 MiB")
    assert.strictEqual(Progress.renderBar(halfway, 20), "client.bin  50%")
    assert.strictEqual(Progress.renderBar(halfway, 8), "client.")
    assert.match(
      Progress.renderBar(snapshot({ position: 4 * MiB, elapsedMillis: 2000 }), 80, true),
      /\[#+\] 100%  4\.0 MiB \/ 4\.0 MiB  2\.0 MiB\/s  in 2\.0 s$/
    )
  })
})

describe("Progress throttling", () => {
  it("nextLine: a line per new 10 % step, none within a second of the last", () => {
    // 4 MiB in 64 chunks over 6.4 s: lines at 1.0 s (15 %), 2.0 s (31 %), … each in a new step; 100 % at
    // 6.4 s is too close to the last one (the reporter's final line shows the end).
    let throttle = Progress.initialThrottle
    const shown: Array<readonly [number, number]> = []
    for (let chunk = 1; chunk <= 64; chunk++) {
      const current = snapshot({ position: chunk * 64 * 1024, elapsedMillis: chunk * 100 })
      const due = Progress.nextLine(throttle, current)
      if (Option.isSome(due)) {
        throttle = due.value
        shown.push([current.elapsedMillis, Option.getOrThrow(Progress.percent(current))])
      }
    }
    assert.deepStrictEqual(shown, [
      [1000, 15],
      [2000, 31],
      [3000, 46],
      [4000, 62],
      [5000, 78],
      [6000, 93]
    ])
  })

  it("nextLine: a fast download shows no line before a second has passed; a slow one, one per step", () => {
    const fast = snapshot({ position: 4 * MiB, elapsedMillis: 900 })
    assert.deepStrictEqual(Progress.nextLine(Progress.initialThrottle, fast), Option.none())
    const after = { lastMillis: 10_000, lastStep: 3 }
    assert.deepStrictEqual(
      Progress.nextLine(after, snapshot({ position: 1.3 * MiB, elapsedMillis: 60_000 })),
      Option.none()
    )
    assert.deepStrictEqual(
      Progress.nextLine(after, snapshot({ position: 1.7 * MiB, elapsedMillis: 60_000 })),
      Option.some({ lastMillis: 60_000, lastStep: 4 })
    )
    // Unknown size: once a second.
    assert.isTrue(Option.isSome(Progress.nextLine(after, snapshot({ fileSize: Option.none(), elapsedMillis: 11_000 }))))
    // Other steps and intervals (the demo's quarters).
    assert.deepStrictEqual(
      Progress.nextLine(Progress.initialThrottle, snapshot({ position: 1 * MiB, elapsedMillis: 10 }), {
        intervalMillis: 0,
        stepPercent: 25
      }),
      Option.some({ lastMillis: 10, lastStep: 1 })
    )
  })

  it("nextRedraw: at most once per 100 ms", () => {
    const at = (elapsedMillis: number) => snapshot({ elapsedMillis })
    assert.deepStrictEqual(Progress.nextRedraw(Progress.initialThrottle, at(50)), Option.none())
    const first = Progress.nextRedraw(Progress.initialThrottle, at(100))
    assert.deepStrictEqual(first, Option.some({ lastMillis: 100, lastStep: 0 }))
    assert.deepStrictEqual(Progress.nextRedraw(Option.getOrThrow(first), at(199)), Option.none())
    assert.isTrue(Option.isSome(Progress.nextRedraw(Option.getOrThrow(first), at(200))))
  })

  it("resolveMode: auto is a bar on a terminal, lines otherwise", () => {
    assert.strictEqual(Progress.resolveMode("auto", memory(true).output), "bar")
    assert.strictEqual(Progress.resolveMode("auto", memory(false).output), "lines")
    assert.strictEqual(Progress.resolveMode("none", memory(true).output), "none")
  })
})

describe("Progress.makeReporter", () => {
  const feed = (reporter: Progress.Reporter, steps: number, stepMillis: number) =>
    Effect.forEach(
      Array.from({ length: steps }, (_, i) => i + 1),
      (i) =>
        Effect.zipRight(
          TestClock.adjust(stepMillis),
          reporter.update({ position: (i * 4 * MiB) / steps, fileSize: Option.some(4 * MiB) })
        ),
      { discard: true }
    )

  it.effect("lines: throttled lines, then a final line", () =>
    Effect.gen(function* () {
      const out = memory(false)
      const reporter = yield* Progress.makeReporter(out.output, "auto", "client.bin")
      yield* reporter.update({ position: 0, fileSize: Option.some(4 * MiB) })
      yield* feed(reporter, 20, 150)
      yield* reporter.finish
      yield* reporter.update({ position: 4 * MiB, fileSize: Option.some(4 * MiB) })
      assert.deepStrictEqual(out.text().split("\n"), [
        "client.bin: 35% (1.4 MiB of 4.0 MiB), 1.3 MiB/s, ETA 0:02",
        "client.bin: 70% (2.8 MiB of 4.0 MiB), 1.3 MiB/s, ETA 0:01",
        "client.bin: 4.0 MiB in 3.0 s, 1.3 MiB/s",
        ""
      ])
    })
  )

  it.effect("bar: redrawn in place with \\r at most every 100 ms, ended by a newline", () =>
    Effect.gen(function* () {
      const out = memory(true, 100)
      const reporter = yield* Progress.makeReporter(out.output, "auto", "client.bin")
      yield* reporter.update({ position: 0, fileSize: Option.some(4 * MiB) })
      yield* feed(reporter, 40, 25)
      yield* reporter.finish
      assert.strictEqual(out.written.length, 11)
      for (const frame of out.written) assert.match(frame, /^\rclient\.bin \[[#-]+\] +\d+%.*\x1b\[K\n?$/)
      assert.isTrue(out.text().endsWith("100%  4.0 MiB / 4.0 MiB  4.0 MiB/s  in 1.0 s\x1b[K\n"))
      assert.strictEqual(out.text().split("\n").length, 2)
    })
  )

  it.effect("bar: a notice gets its own line and the bar comes back; abort ends a drawn bar", () =>
    Effect.gen(function* () {
      const out = memory(true)
      const reporter = yield* Progress.makeReporter(out.output, "bar", "client.bin")
      yield* reporter.update({ position: 0, fileSize: Option.some(4 * MiB) })
      yield* TestClock.adjust(200)
      yield* reporter.update({ position: MiB, fileSize: Option.some(4 * MiB) })
      yield* reporter.notice("connection lost 1006; reconnecting in 1.0 s (attempt 1 of 5)")
      yield* TestClock.adjust(10)
      yield* reporter.update({ position: MiB + 1, fileSize: Option.some(4 * MiB) })
      yield* reporter.abort
      yield* reporter.abort
      const frames = out.written
      assert.strictEqual(frames.length, 4)
      assert.match(frames[0] ?? "", /^\rclient\.bin .* 25% /)
      assert.strictEqual(frames[1], "\rconnection lost 1006; reconnecting in 1.0 s (attempt 1 of 5)\x1b[K\n")
      assert.match(frames[2] ?? "", /^\rclient\.bin .* 25% /)
      assert.strictEqual(frames[3], "\n")
    })
  )

  it.effect(
    "the clock starts with the reporter: a one-chunk download still has a rate; no update is an empty file",
    () =>
      Effect.gen(function* () {
        const one = memory(false)
        const reporter = yield* Progress.makeReporter(one.output, "lines", "client.bin")
        yield* TestClock.adjust(500)
        yield* reporter.update({ position: MiB, fileSize: Option.some(MiB) })
        yield* reporter.finish
        assert.deepStrictEqual(one.written, ["client.bin: 1.0 MiB in 0.5 s, 2.0 MiB/s\n"])

        const empty = memory(true)
        const bar = yield* Progress.makeReporter(empty.output, "bar", "empty.bin")
        yield* TestClock.adjust(20)
        yield* bar.finish
        assert.match(empty.text(), /^\rempty\.bin \[#+\] 100%  0 B \/ 0 B  --\/s  in 0\.0 s\x1b\[K\n$/)
      })
  )

  it.effect("abort writes nothing when no bar is drawn; none writes nothing at all", () =>
    Effect.gen(function* () {
      const lines = memory(false)
      const reporter = yield* Progress.makeReporter(lines.output, "lines", "client.bin")
      yield* reporter.update({ position: 0, fileSize: Option.some(4 * MiB) })
      yield* reporter.abort
      assert.deepStrictEqual(lines.written, [])

      const none = memory(true)
      const silent = yield* Progress.makeReporter(none.output, "none", "client.bin")
      yield* silent.update({ position: 0, fileSize: Option.some(4 * MiB) })
      yield* TestClock.adjust(5000)
      yield* silent.update({ position: 4 * MiB, fileSize: Option.some(4 * MiB) })
      yield* silent.notice("reconnecting")
      yield* silent.finish
      assert.deepStrictEqual(none.written, [])
    })
  )
})
