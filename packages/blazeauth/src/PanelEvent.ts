/**
 * Panel events (docs/blazeauth.md §5): server pushes of type 18 with id 2^64 − 1. Decoding is tolerant: a
 * non-integer `event_type` drops the event, an `event_type` outside 0..14 is delivered as unknown, a
 * `content` that is not an object is `{}`, and entries whose values are not strings are dropped.
 *
 * @since 0.1.0
 */
import * as Uint64 from "@protokernel/wire/Uint64"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Envelope from "./Envelope.js"
import * as Field from "./Field.js"

/**
 * Event names by number. None are published yet; the number is the stable contract.
 *
 * @since 0.1.0
 * @category constants
 */
export const names: ReadonlyMap<number, string> = new Map()

/**
 * The highest documented event type.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_EVENT_TYPE = 14

/**
 * A panel event as delivered to subscribers.
 *
 * @since 0.1.0
 * @category models
 */
export class PanelEvent extends Schema.Class<PanelEvent>("@protokernel/blazeauth/PanelEvent")({
  eventType: Schema.Int,
  content: Field.StringMapFromSelf
}) {
  /** Whether the number is outside the documented 0..14. */
  get isKnown(): boolean {
    return this.eventType >= 0 && this.eventType <= MAX_EVENT_TYPE
  }

  /** The event's name when one is known. */
  get name(): Option.Option<string> {
    return Option.fromNullable(names.get(this.eventType))
  }
}

/**
 * The wire payload of a panel event.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Payload = Schema.Struct({
  id: Uint64.Uint64,
  event_type: Field.Int32,
  content: Schema.optionalWith(Field.StringMap, { exact: true })
}).annotations({ identifier: "panel event" })

const decodePayload = Schema.decodeUnknownEither(Payload, { errors: "first" })
const encodePayload = Schema.encodeEither(Payload)

/**
 * Decodes the payload of a type-18 push; fails only when `event_type` is missing or not an int32.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (payload: unknown): Either.Either<PanelEvent, ParseResult.ParseError> =>
  Either.map(
    decodePayload(payload),
    (decoded) =>
      new PanelEvent({ eventType: decoded.event_type, content: decoded.content ?? {} }, { disableValidation: true })
  )

/**
 * The canonical text of a panel event push.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = (event: PanelEvent): string =>
  Either.match(encodePayload({ id: Envelope.PUSH_ID, event_type: event.eventType, content: event.content }), {
    onLeft: () => Envelope.encode(18, { id: Uint64.MAX, event_type: event.eventType, content: {} }),
    onRight: (wire) => Envelope.encode(18, wire)
  })
