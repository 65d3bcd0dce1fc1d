/**
 * The `{type, payload}` envelope (docs/blazeauth.md §1.2) on lossless JSON. `decode` classifies a text frame the
 * way both receive-rule tables need (§1.5, §1.6); `encode` writes the canonical form: compact, `type`
 * then `payload`, payload keys in the order the caller built them.
 *
 * @since 0.1.0
 */
import * as Json from "@protokernel/wire/Json"
import * as Uint64 from "@protokernel/wire/Uint64"
import * as Either from "effect/Either"
import type * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/**
 * The lowest and highest usecase numbers.
 *
 * @since 0.1.0
 * @category constants
 */
export const MIN_TYPE = 0

/**
 * @since 0.1.0
 * @category constants
 */
export const MAX_TYPE = 18

/**
 * The id of server pushes (panel events): 2^64 − 1.
 *
 * @since 0.1.0
 * @category constants
 */
export const PUSH_ID: Uint64.Uint64 = Uint64.make(Uint64.MAX)

/**
 * A decoded envelope: an integer `type` (possibly outside 0..18) and an object `payload`, whose
 * fields are still raw JSON values.
 *
 * @since 0.1.0
 * @category models
 */
export interface Envelope {
  readonly type: number
  readonly payload: { readonly [key: string]: unknown }
}

/**
 * Why a text frame is not an envelope.
 *
 * @since 0.1.0
 * @category models
 */
export type Fault = "not_json" | "not_object" | "missing_type" | "invalid_type" | "missing_payload" | "invalid_payload"

/**
 * A text frame that is not an envelope.
 *
 * @since 0.1.0
 * @category errors
 */
export class EnvelopeError extends Schema.TaggedError<EnvelopeError>("@protokernel/blazeauth/EnvelopeError")(
  "EnvelopeError",
  {
    fault: Schema.Literal(
      "not_json",
      "not_object",
      "missing_type",
      "invalid_type",
      "missing_payload",
      "invalid_payload"
    ),
    detail: Schema.String
  }
) {
  override get message(): string {
    return this.detail
  }
}

const fail = (fault: Fault, detail: string) => Either.left(new EnvelopeError({ fault, detail }))

/**
 * Decodes a text frame into an envelope. An integer `type` of any size is accepted here (one above
 * int32 is simply outside 0..18); a string, fraction or exponent is not an integer.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (text: string): Either.Either<Envelope, EnvelopeError> => {
  let parsed: Either.Either<unknown, Json.JsonError>
  if (Json.isPlain(text)) parsed = Json.parsePlain(text)
  else {
    const leading = withLeadingId(text)
    if (leading !== undefined) return leading
    parsed = Json.parseLossless(text)
  }
  if (Either.isLeft(parsed)) return fail("not_json", parsed.left.message)
  return fromJson(parsed.right)
}

/**
 * The canonical form starts `{"type":N,"payload":{"id":…`. When that id is the only long integer of
 * the text (panel events carry 2^64 − 1), it is read from its digits and the rest goes to `JSON.parse`
 * with a short number in its place: the same result as the lossless parser, about twice as fast. Texts
 * with any other `"id"` or `"payload"` (a duplicate key would win) or another long number take the
 * general path.
 */
const leadingId = /^\{"type":-?\d{1,10},"payload":\{"id":(\d{16,20})(?=[,}])/

const withLeadingId = (text: string): Either.Either<Envelope, EnvelopeError> | undefined => {
  const match = leadingId.exec(text)
  if (match === null) return undefined
  const digits = match[1]!
  const end = match[0].length
  const rest = text.slice(end)
  if (rest.includes('"id"') || rest.includes('"payload"') || !Json.isPlain(rest)) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(`${text.slice(0, end - digits.length)}0${rest}`)
  } catch {
    return undefined
  }
  const envelope = fromJson(parsed)
  if (Either.isLeft(envelope)) return envelope
  const value = Number(digits)
  const payload = { ...envelope.right.payload, id: Number.isSafeInteger(value) ? value : BigInt(digits) }
  return Either.right({ type: envelope.right.type, payload })
}

/**
 * Checks a parsed JSON value as an envelope.
 *
 * @since 0.1.0
 * @category decoding
 */
export const fromJson = (value: unknown): Either.Either<Envelope, EnvelopeError> => {
  if (!Json.isObject(value)) return fail("not_object", "message is not a JSON object")
  const type = value["type"]
  if (type === undefined) return fail("missing_type", "'type' is missing")
  const payload = value["payload"]
  if (typeof type === "bigint") {
    // Far outside 0..18; the exact value no longer matters.
    if (!Json.isObject(payload)) return payloadFault(payload)
    return Either.right({ type: type < 0n ? -1 : Number.MAX_SAFE_INTEGER, payload })
  }
  if (typeof type !== "number" || !Number.isInteger(type)) return fail("invalid_type", "'type' is not an integer")
  if (!Json.isObject(payload)) return payloadFault(payload)
  return Either.right({ type: type === 0 ? 0 : type, payload })
}

const payloadFault = (payload: unknown) =>
  payload === undefined
    ? fail("missing_payload", "'payload' is missing")
    : fail("invalid_payload", "'payload' is not an object")

/**
 * Whether a type is a usecase number (0..18).
 *
 * @since 0.1.0
 * @category guards
 */
export const isKnownType = (type: number): boolean => type >= MIN_TYPE && type <= MAX_TYPE

/**
 * The `payload.id` of an envelope, or `None` when it is missing or not a uint64.
 *
 * @since 0.1.0
 * @category decoding
 */
export const id = (envelope: Envelope): Option.Option<Uint64.Uint64> => Uint64.fromJson(envelope.payload["id"])

/**
 * The canonical text of an envelope whose payload is already in wire form (keys in field-table order,
 * `id` first).
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = (type: number, payload: object): string => Json.stringify({ type, payload })
