/**
 * Download progress for people: sizes in B/KiB/MiB/GiB, rates, ETAs, a redrawn bar for a terminal and
 * throttled plain lines for logs. Everything but `Reporter` and `stderr` is pure, so the output can be
 * tested without a terminal or a clock.
 *
 * - `bar` (a terminal): one line redrawn in place with `\r` at most every `barIntervalMillis`, ended by
 *   a newline.
 * - `lines` (a pipe or a file): a line when the download reaches a new multiple of 10 % (every
 *   `linesIntervalMillis` when the size is unknown), never two lines within `linesIntervalMillis`, and
 *   always a final line.
 * - `none`: nothing.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"

/**
 * Where a download stands, with what is needed for its rate: the position it started from (a resumed
 * download starts later) and the time since it started.
 *
 * @since 0.1.0
 * @category models
 */
export interface Snapshot {
  readonly filename: string
  /** Bytes of the file held, counted from offset 0. */
  readonly position: number
  readonly fileSize: Option.Option<number>
  /** The position when the measurement started. */
  readonly startPosition: number
  readonly elapsedMillis: number
}

/**
 * How progress is shown: `auto` is `bar` on a terminal and `lines` otherwise.
 *
 * @since 0.1.0
 * @category models
 */
export type Mode = "auto" | "bar" | "lines" | "none"

/**
 * The modes, for the command line.
 *
 * @since 0.1.0
 * @category constants
 */
export const modes = ["auto", "bar", "lines", "none"] as const satisfies ReadonlyArray<Mode>

/**
 * The shortest time between two redraws of the bar (10 a second).
 *
 * @since 0.1.0
 * @category constants
 */
export const barIntervalMillis = 100

/**
 * The shortest time between two plain progress lines.
 *
 * @since 0.1.0
 * @category constants
 */
export const linesIntervalMillis = 1_000

/**
 * Plain lines are printed when the download reaches a new multiple of this percentage.
 *
 * @since 0.1.0
 * @category constants
 */
export const linesStepPercent = 10

const units = ["KiB", "MiB", "GiB", "TiB"] as const

/**
 * A byte count for people: `512 B`, `1.5 KiB`, `4.0 MiB`, `1.2 GiB` (powers of 1024, one decimal).
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatBytes = (bytes: number): string => {
  if (!Number.isFinite(bytes) || bytes < 1024) return `${Math.max(0, Math.round(bytes))} B`
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  // 1023.96 KiB rounds to "1024.0 KiB": show it as the next unit instead.
  if (Number(value.toFixed(1)) >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(1)} ${units[unit]}`
}

/**
 * A transfer rate: `1.3 MiB/s`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatRate = (bytesPerSecond: number): string => `${formatBytes(bytesPerSecond)}/s`

/**
 * A remaining time as a clock: `0:07`, `12:34`, `1:02:03` (seconds rounded up); `--:--` when unknown.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatEta = (seconds: Option.Option<number>): string =>
  Option.match(
    Option.filter(seconds, (s) => Number.isFinite(s) && s >= 0),
    {
      onNone: () => "--:--",
      onSome: (s) => {
        const total = Math.ceil(s)
        const hours = Math.floor(total / 3600)
        const minutes = Math.floor((total % 3600) / 60)
        const rest = String(total % 60).padStart(2, "0")
        return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`
      }
    }
  )

/**
 * An elapsed time: `0.3 s`, `12.0 s`, then as a clock (`1:05`).
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatElapsed = (millis: number): string =>
  millis < 60_000 ? `${(Math.max(0, millis) / 1000).toFixed(1)} s` : formatEta(Option.some(millis / 1000))

/**
 * The average rate since the start in bytes per second; none before any time has passed or any byte
 * arrived.
 *
 * @since 0.1.0
 * @category accessors
 */
export const rate = (snapshot: Snapshot): Option.Option<number> => {
  const transferred = snapshot.position - snapshot.startPosition
  return snapshot.elapsedMillis > 0 && transferred > 0
    ? Option.some((transferred * 1000) / snapshot.elapsedMillis)
    : Option.none()
}

/**
 * The fraction done, 0 to 1, once the size is known (an empty file is done).
 *
 * @since 0.1.0
 * @category accessors
 */
export const fraction = (snapshot: Snapshot): Option.Option<number> =>
  Option.map(snapshot.fileSize, (size) => (size <= 0 ? 1 : Math.min(1, Math.max(0, snapshot.position / size))))

/**
 * The whole percentage done (rounded down, so 100 means every byte), once the size is known.
 *
 * @since 0.1.0
 * @category accessors
 */
export const percent = (snapshot: Snapshot): Option.Option<number> =>
  Option.map(fraction(snapshot), (f) => Math.floor(f * 100))

/**
 * Seconds left at the current rate, once both the size and a rate are known.
 *
 * @since 0.1.0
 * @category accessors
 */
export const eta = (snapshot: Snapshot): Option.Option<number> =>
  Option.flatMap(snapshot.fileSize, (size) =>
    Option.map(rate(snapshot), (bytesPerSecond) => Math.max(0, size - snapshot.position) / bytesPerSecond)
  )

const sizePart = (snapshot: Snapshot): string =>
  Option.match(snapshot.fileSize, {
    onNone: () => formatBytes(snapshot.position),
    onSome: (size) => `${formatBytes(snapshot.position)} / ${formatBytes(size)}`
  })

const ratePart = (snapshot: Snapshot): string =>
  Option.match(rate(snapshot), { onNone: () => "--/s", onSome: formatRate })

const percentPart = (snapshot: Snapshot): string =>
  Option.match(percent(snapshot), { onNone: () => "", onSome: (p) => `${String(p).padStart(3)}%` })

/**
 * A bar of `width` characters, `fraction` of it filled: `[######------]` (brackets included).
 *
 * @since 0.1.0
 * @category formatting
 */
export const bar = (done: number, width: number): string => {
  const inner = Math.max(0, width - 2)
  const filled = Math.min(inner, Math.max(0, Math.floor(done * inner)))
  return `[${"#".repeat(filled)}${"-".repeat(inner - filled)}]`
}

/**
 * The width to draw for when a terminal reports none or 0 columns (some do, e.g. over a serial line or
 * in containers without a size): the classic 80.
 *
 * @since 0.1.0
 * @category constants
 */
export const fallbackColumns = 80

/**
 * The usable width of a terminal from what it reports: `fallbackColumns` when it reports nothing, 0 or
 * less, since a bar squeezed into no room would draw nothing at all.
 *
 * @since 0.1.0
 * @category formatting
 */
export const terminalColumns = (reported: number | undefined): number =>
  reported !== undefined && Number.isFinite(reported) && reported > 0 ? reported : fallbackColumns

/**
 * The line of a terminal's progress bar, at most `columns - 1` characters (so it never wraps):
 * `client.bin [#####-----]  42%  1.7 MiB / 4.0 MiB  1.2 MiB/s  ETA 0:02`. `done` shows the total
 * time instead of the ETA. On narrow terminals the bar goes first, then the ETA, the rate and the sizes.
 * A width of 0 (or less) means the terminal did not say: see `terminalColumns`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const renderBar = (snapshot: Snapshot, columns: number, done = false): string => {
  const tail = done ? `in ${formatElapsed(snapshot.elapsedMillis)}` : `ETA ${formatEta(eta(snapshot))}`
  const parts = [percentPart(snapshot), sizePart(snapshot), ratePart(snapshot), tail].filter((part) => part !== "")
  const stats = parts.join("  ")
  const room = terminalColumns(columns) - 1
  // The bar's width is set by the widest numbers, so that it does not move while they change.
  const widest = Option.match(snapshot.fileSize, {
    onNone: () => "1023.9 KiB  1023.9 KiB/s  ETA --:--",
    onSome: (total) => `100%  1023.9 KiB / ${formatBytes(total)}  1023.9 KiB/s  ETA 00:00`
  })
  const barWidth = Math.min(32, room - snapshot.filename.length - Math.max(widest.length, stats.length) - 2)
  if (barWidth >= 8) {
    return `${snapshot.filename} ${bar(
      Option.getOrElse(fraction(snapshot), () => 0),
      barWidth
    )} ${stats}`
  }
  for (let kept = parts.length; kept > 0; kept--) {
    const line = `${snapshot.filename} ${parts.slice(0, kept).join("  ")}`
    if (line.length <= room) return line
  }
  return snapshot.filename.slice(0, room)
}

/**
 * A plain progress line: `client.bin: 40% (1.6 MiB of 4.0 MiB), 1.3 MiB/s, ETA 0:02`; without a
 * known size: `client.bin: 1.6 MiB, 1.3 MiB/s`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const renderLine = (snapshot: Snapshot): string =>
  Option.match(snapshot.fileSize, {
    onNone: () => `${snapshot.filename}: ${formatBytes(snapshot.position)}, ${ratePart(snapshot)}`,
    onSome: (size) =>
      `${snapshot.filename}: ${Option.getOrElse(percent(snapshot), () => 0)}% (${formatBytes(snapshot.position)} of ${formatBytes(size)}), ${ratePart(snapshot)}, ETA ${formatEta(eta(snapshot))}`
  })

/**
 * The last plain line of a finished download: `client.bin: 4.0 MiB in 3.1 s, 1.3 MiB/s`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const renderDone = (snapshot: Snapshot): string =>
  `${snapshot.filename}: ${formatBytes(snapshot.position)} in ${formatElapsed(snapshot.elapsedMillis)}, ${ratePart(snapshot)}`

/**
 * What the throttle remembers: when the last output was written and which 10 % step it showed.
 *
 * @since 0.1.0
 * @category models
 */
export interface Throttle {
  readonly lastMillis: number
  readonly lastStep: number
}

/**
 * The throttle at the start of a download (`elapsedMillis` 0, step 0: nothing shown yet).
 *
 * @since 0.1.0
 * @category constructors
 */
export const initialThrottle: Throttle = { lastMillis: 0, lastStep: 0 }

/**
 * Whether a plain line is due for `snapshot`, and the throttle after it: a new multiple of
 * `stepPercent` was reached (or, with no known size, `intervalMillis` passed), and the last line is at
 * least `intervalMillis` old.
 *
 * @since 0.1.0
 * @category throttling
 */
export const nextLine = (
  throttle: Throttle,
  snapshot: Snapshot,
  options: { readonly intervalMillis?: number | undefined; readonly stepPercent?: number | undefined } = {}
): Option.Option<Throttle> => {
  const intervalMillis = options.intervalMillis ?? linesIntervalMillis
  const stepPercent = options.stepPercent ?? linesStepPercent
  if (snapshot.elapsedMillis - throttle.lastMillis < intervalMillis) return Option.none()
  const step = Option.match(percent(snapshot), {
    onNone: () => throttle.lastStep,
    onSome: (p) => Math.floor(p / stepPercent)
  })
  const due = Option.isNone(snapshot.fileSize) || step > throttle.lastStep
  return due ? Option.some({ lastMillis: snapshot.elapsedMillis, lastStep: step }) : Option.none()
}

/**
 * Whether the bar is due for a redraw, and the throttle after it: at most once per `intervalMillis`
 * (the first time `intervalMillis` after the start, so a short download draws only its final bar).
 *
 * @since 0.1.0
 * @category throttling
 */
export const nextRedraw = (
  throttle: Throttle,
  snapshot: Snapshot,
  intervalMillis: number = barIntervalMillis
): Option.Option<Throttle> =>
  snapshot.elapsedMillis - throttle.lastMillis < intervalMillis
    ? Option.none()
    : Option.some({ lastMillis: snapshot.elapsedMillis, lastStep: throttle.lastStep })

/**
 * Where progress goes: a writer and whether it is a terminal (and how wide).
 *
 * @since 0.1.0
 * @category models
 */
export interface Output {
  readonly isTTY: boolean
  readonly columns: number
  readonly write: (text: string) => Effect.Effect<void>
}

/**
 * The process's stderr.
 *
 * @since 0.1.0
 * @category constructors
 */
export const stderr: Effect.Effect<Output> = Effect.sync(() => ({
  isTTY: process.stderr.isTTY === true,
  columns: terminalColumns(process.stderr.columns),
  write: (text: string) =>
    Effect.sync(() => {
      process.stderr.write(text)
    })
}))

/**
 * The mode `auto` stands for on this output.
 *
 * @since 0.1.0
 * @category accessors
 */
export const resolveMode = (mode: Mode, output: Output): Exclude<Mode, "auto"> =>
  mode === "auto" ? (output.isTTY ? "bar" : "lines") : mode

/**
 * Shows a download's progress on an output.
 *
 * @since 0.1.0
 * @category models
 */
export interface Reporter {
  /** A new position. */
  readonly update: (progress: {
    readonly position: number
    readonly fileSize: Option.Option<number>
  }) => Effect.Effect<void>
  /** A line between progress updates (e.g. a reconnection), on a line of its own. */
  readonly notice: (line: string) => Effect.Effect<void>
  /**
   * The download finished: the final bar (and its newline) or the final line. Without any update
   * before, the file was empty.
   */
  readonly finish: Effect.Effect<void>
  /** The download failed or was interrupted: ends a drawn bar with a newline, so the reason gets its own line. */
  readonly abort: Effect.Effect<void>
}

interface ReporterState {
  readonly latest: Option.Option<Snapshot>
  readonly throttle: Throttle
  /** A bar is on screen without its newline. */
  readonly drawn: boolean
  readonly ended: boolean
}

/**
 * A reporter for `filename` in `mode` (`auto` resolved against the output). Its clock starts now; its
 * rate counts the bytes from `startPosition` (default 0: a download from the start).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeReporter = (
  output: Output,
  mode: Mode,
  filename: string,
  options: { readonly startPosition?: number | undefined } = {}
): Effect.Effect<Reporter> =>
  Effect.gen(function* () {
    const resolved = resolveMode(mode, output)
    const startPosition = options.startPosition ?? 0
    const startMillis = yield* Clock.currentTimeMillis
    const state = yield* Ref.make<ReporterState>({
      latest: Option.none(),
      throttle: initialThrottle,
      drawn: false,
      ended: false
    })
    const draw = (line: string) => output.write(`\r${line}\x1b[K`)
    const snapshotAt = (
      now: number,
      progress: { readonly position: number; readonly fileSize: Option.Option<number> }
    ): Snapshot => ({
      filename,
      position: progress.position,
      fileSize: progress.fileSize,
      startPosition,
      elapsedMillis: now - startMillis
    })

    const update: Reporter["update"] = (progress) =>
      resolved === "none"
        ? Effect.void
        : Effect.flatMap(Clock.currentTimeMillis, (now) =>
            Effect.flatten(
              Ref.modify(state, (current): [Effect.Effect<void>, ReporterState] => {
                if (current.ended) return [Effect.void, current]
                const snapshot = snapshotAt(now, progress)
                const next = { ...current, latest: Option.some(snapshot) }
                const due =
                  resolved === "bar" ? nextRedraw(current.throttle, snapshot) : nextLine(current.throttle, snapshot)
                return Option.match(due, {
                  onNone: () => [Effect.void, next],
                  onSome: (throttle) =>
                    resolved === "bar"
                      ? [draw(renderBar(snapshot, output.columns)), { ...next, throttle, drawn: true }]
                      : [output.write(`${renderLine(snapshot)}\n`), { ...next, throttle }]
                })
              })
            )
          )

    const notice = (line: string) =>
      resolved === "none"
        ? Effect.void
        : Effect.flatten(
            Ref.modify(state, (current): [Effect.Effect<void>, ReporterState] => [
              output.write(current.drawn ? `\r${line}\x1b[K\n` : `${line}\n`),
              // The bar is drawn again by the next update, whenever it comes.
              {
                ...current,
                drawn: false,
                throttle: resolved === "bar" ? { ...current.throttle, lastMillis: -Infinity } : current.throttle
              }
            ])
          )

    const finish = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.flatten(
        Ref.modify(state, (current): [Effect.Effect<void>, ReporterState] => {
          const ended = { ...current, ended: true, drawn: false }
          if (current.ended || resolved === "none") return [Effect.void, ended]
          const last = Option.getOrElse(current.latest, () => ({
            position: startPosition,
            fileSize: Option.some(startPosition)
          }))
          const snapshot = snapshotAt(now, last)
          return [
            resolved === "bar"
              ? output.write(`\r${renderBar(snapshot, output.columns, true)}\x1b[K\n`)
              : output.write(`${renderDone(snapshot)}\n`),
            ended
          ]
        })
      )
    )

    const abort = Effect.flatten(
      Ref.modify(state, (current): [Effect.Effect<void>, ReporterState] => [
        current.drawn ? output.write("\n") : Effect.void,
        { ...current, ended: true, drawn: false }
      ])
    )

    return { update, notice, finish, abort }
  })
