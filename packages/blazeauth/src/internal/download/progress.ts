/**
 * A download's progress listeners. Each waits for the next change; a slow listener sees the latest
 * progress only, never a backlog.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Download from "../../Download.js"

/** The listeners waiting for the next change. */
export interface Notifier {
  waiters: Array<() => void>
}

/** A notifier with no listener. */
export const make = (): Notifier => ({ waiters: [] })

/** Wakes every waiting listener. */
export const notify = (notifier: Notifier): void => {
  if (notifier.waiters.length === 0) return
  const waiters = notifier.waiters
  notifier.waiters = []
  for (const wake of waiters) wake()
}

const changed = (notifier: Notifier): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const wake = () => resume(Effect.void)
    notifier.waiters.push(wake)
    return Effect.sync(() => {
      notifier.waiters = notifier.waiters.filter((waiter) => waiter !== wake)
    })
  })

/** Where a listener stands: the last progress it emitted, and whether that was the final one. */
interface Listener {
  emitted: Download.Progress | undefined
  emittedFinal: boolean
}

const pull = (
  notifier: Notifier,
  listener: Listener,
  now: () => Download.Progress,
  final: () => boolean
): Effect.Effect<Download.Progress, Option.Option<never>> =>
  Effect.suspend(() => {
    if (listener.emittedFinal) return Effect.fail(Option.none())
    const current = now()
    const last = final()
    const emitted = listener.emitted
    if (
      emitted === undefined ||
      emitted.position !== current.position ||
      Option.isNone(emitted.fileSize) !== Option.isNone(current.fileSize) ||
      last
    ) {
      listener.emittedFinal = last
      listener.emitted = current
      return Effect.succeed(current)
    }
    return Effect.flatMap(changed(notifier), () => pull(notifier, listener, now, final))
  })

/** The current progress, then every change, until `final` holds (that progress emitted last). */
export const stream = (
  notifier: Notifier,
  now: () => Download.Progress,
  final: () => boolean
): Stream.Stream<Download.Progress> =>
  Stream.suspend(() => {
    const listener: Listener = { emitted: undefined, emittedFinal: false }
    return Stream.repeatEffectOption(pull(notifier, listener, now, final))
  })
