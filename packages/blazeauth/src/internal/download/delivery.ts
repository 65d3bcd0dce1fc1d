/**
 * The bytes on their way to a download's consumer: offered by the receive loop, taken all at once by
 * the consumer's pull, then closed. It holds `capacity` bytes at most: an offer past it returns the
 * wait for room, and the receive loop (so the socket) waits on it. At least one offer is always taken
 * in, so a chunk larger than the capacity still passes.
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as ClientError from "../../ClientError.js"

/** The queue's state. */
export interface Delivery {
  items: Array<Uint8Array>
  held: number
  /** The bound: `capacity`, or no bound once a stop is under way or the download concluded. */
  limit: number
  closed: Exit.Exit<void, ClientError.TransferError> | undefined
  consumer: (() => void) | undefined
  producer: (() => void) | undefined
  /** The consumer's pull: every byte held, or the wait for some, or the close. */
  readonly take: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<ClientError.TransferError>>
}

/** An empty queue bound to `capacity` bytes. */
export const make = (capacity: number): Delivery => {
  const delivery: Delivery = {
    items: [],
    held: 0,
    limit: capacity,
    closed: undefined,
    consumer: undefined,
    producer: undefined,
    take: Effect.suspend(() => take(delivery))
  }
  return delivery
}

const wakeConsumer = (delivery: Delivery): void => {
  const resume = delivery.consumer
  delivery.consumer = undefined
  resume?.()
}

const wakeProducer = (delivery: Delivery): void => {
  if (delivery.producer === undefined || delivery.held > delivery.limit) return
  const resume = delivery.producer
  delivery.producer = undefined
  resume()
}

const waitFor = (register: (resume: (() => void) | undefined) => void): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    register(() => resume(Effect.void))
    return Effect.sync(() => register(undefined))
  })

const take = (delivery: Delivery): Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<ClientError.TransferError>> => {
  if (delivery.items.length > 0) {
    const chunk = delivery.items
    delivery.items = []
    delivery.held = 0
    wakeProducer(delivery)
    return Effect.succeed(Chunk.unsafeFromArray(chunk))
  }
  const closed = delivery.closed
  if (closed !== undefined) {
    return Exit.isSuccess(closed) ? Effect.fail(Option.none()) : Effect.failCause(Cause.map(closed.cause, Option.some))
  }
  return Effect.zipRight(
    waitFor((resume) => {
      delivery.consumer = resume
    }),
    delivery.take
  )
}

/** Offers bytes; an Effect when the consumer must make room first. Bytes offered after the close are dropped. */
export const offer = (delivery: Delivery, bytes: Uint8Array): Effect.Effect<void> | undefined => {
  if (delivery.closed !== undefined) return undefined
  delivery.items.push(bytes)
  delivery.held += bytes.byteLength
  wakeConsumer(delivery)
  if (delivery.held <= delivery.limit || delivery.held === bytes.byteLength) return undefined
  return waitFor((resume) => {
    delivery.producer = resume
  })
}

/** No bound from now on (a stop is under way, or the download concluded): a waiting offer goes on. */
export const unbind = (delivery: Delivery): void => {
  delivery.limit = Number.POSITIVE_INFINITY
  wakeProducer(delivery)
}

/** No more bytes: only the first close counts, and the bytes offered before it are still taken. */
export const close = (delivery: Delivery, exit: Exit.Exit<void, ClientError.TransferError>): void => {
  if (delivery.closed !== undefined) return
  delivery.closed = exit
  wakeConsumer(delivery)
}
