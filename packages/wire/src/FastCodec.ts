/**
 * A fast path beside a `Schema`, never instead of it. Running a Schema costs about 0.5–1.5 µs per
 * transformed field, several times what `JSON.parse` spends on a whole typical message. For a payload
 * Struct whose fields all have a known Schema, a plain loop reads each field with the same function the
 * Schema uses and builds the same object (keys in field order, unknown keys left out, absent optional
 * keys left absent). The fast path only ever accepts: at the first field it does not accept, it
 * declines and the Schema decides, so every failure and every unusual value still gets exactly the
 * Schema's result.
 *
 * Which Schemas are "known" is data: a protocol passes tables of field converters keyed by the field
 * Schema's AST (its uint64, status or secret fields), on top of the neutral ones here.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as AST from "effect/SchemaAST"
import * as Json from "./Json.js"

/**
 * What a field converter returns for a value it does not accept.
 *
 * @since 0.1.0
 * @category constants
 */
export const declined: unique symbol = Symbol.for("@protokernel/wire/FastCodec/declined")

/**
 * Turns a field's value from one side to the other, or returns {@link declined}.
 *
 * @since 0.1.0
 * @category models
 */
export type Convert = (value: unknown) => unknown

/**
 * Field converters by the AST of the field's Schema.
 *
 * @since 0.1.0
 * @category models
 */
export type Table = ReadonlyMap<AST.AST, Convert>

/**
 * The readers (wire → domain) and writers (domain → wire) a codec may use. A writer checks what the
 * Schema's encoding checks; anything else declines and the Schema encodes.
 *
 * @since 0.1.0
 * @category models
 */
export interface Tables {
  readonly readers: Table
  readonly writers: Table
}

/**
 * A decoder and an encoder for one Schema, fast path first.
 *
 * @since 0.1.0
 * @category models
 */
export interface Codec {
  readonly decode: (payload: unknown) => Either.Either<object, ParseResult.ParseError>
  readonly encode: (payload: object) => Either.Either<object, ParseResult.ParseError>
}

/**
 * A converter from a function that answers with an `Option`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromOption =
  <A>(read: (value: unknown) => Option.Option<A>): Convert =>
  (value) => {
    const result = read(value)
    return Option.isSome(result) ? result.value : declined
  }

/**
 * A writer for numbers that are integers in [`min`, `max`].
 *
 * @since 0.1.0
 * @category constructors
 */
export const integerWriter =
  (min: number, max: number): Convert =>
  (value) =>
    typeof value === "number" && Number.isInteger(value) && value >= min && value <= max ? value : declined

const string: Convert = (value) => (typeof value === "string" ? value : declined)
const boolean: Convert = (value) => (typeof value === "boolean" ? value : declined)

/**
 * The protocol-neutral converters (`Schema.String`, `Schema.Boolean`); the same both ways.
 *
 * @since 0.1.0
 * @category constants
 */
export const neutral: Tables = {
  readers: new Map([
    [Schema.String.ast, string],
    [Schema.Boolean.ast, boolean]
  ]),
  writers: new Map([
    [Schema.String.ast, string],
    [Schema.Boolean.ast, boolean]
  ])
}

/**
 * The neutral tables with a protocol's rows added (a protocol's row wins).
 *
 * @since 0.1.0
 * @category constructors
 */
export const tables = (extra: {
  readonly readers: Iterable<readonly [AST.AST, Convert]>
  readonly writers: Iterable<readonly [AST.AST, Convert]>
}): Tables => ({
  readers: new Map([...neutral.readers, ...extra.readers]),
  writers: new Map([...neutral.writers, ...extra.writers])
})

/**
 * The converter of a field's AST from a table: a known Schema, `NullOr` of one, or a filter on one (the
 * filter always checks the domain value: after reading, before writing); `undefined` otherwise.
 *
 * @since 0.1.0
 * @category constructors
 */
export const converterOf =
  (table: Table, direction: "decode" | "encode") =>
  (ast: AST.AST): Convert | undefined => {
    const of = converterOf(table, direction)
    const known = table.get(ast)
    if (known !== undefined) return known
    if (AST.isUnion(ast) && ast.types.length === 2) {
      const [first, second] = ast.types
      const isNull = (member: AST.AST) => AST.isLiteral(member) && member.literal === null
      const other = isNull(first!) ? second! : isNull(second!) ? first! : undefined
      const convert = other === undefined ? undefined : of(other)
      return convert === undefined ? undefined : (value) => (value === null ? null : convert(value))
    }
    if (AST.isRefinement(ast)) {
      const convert = of(ast.from)
      if (convert === undefined) return undefined
      const passes = (domain: unknown) => domain !== declined && Option.isNone(ast.filter(domain, {}, ast))
      return direction === "decode"
        ? (value) => {
            const domain = convert(value)
            return passes(domain) ? domain : declined
          }
        : (value) => {
            // The wire converter checks the value's type first: a refinement's filter may assume it.
            const wire = convert(value)
            return wire !== declined && passes(value) ? wire : declined
          }
    }
    return undefined
  }

/**
 * Converts well-formed values of a plain Struct field by field (keys in field order, unknown keys left
 * out, absent optional keys left absent); `undefined` for other Schemas. The result declines (is
 * `undefined`) at the first field it does not accept.
 *
 * @since 0.1.0
 * @category constructors
 */
export const structConverter = (
  ast: AST.AST,
  of: (ast: AST.AST) => Convert | undefined
): ((value: unknown) => object | undefined) | undefined => {
  if (!AST.isTypeLiteral(ast) || ast.indexSignatures.length > 0) return undefined
  const fields: Array<{ readonly name: string; readonly isOptional: boolean; readonly convert: Convert }> = []
  for (const property of ast.propertySignatures) {
    const convert = of(property.type)
    if (typeof property.name !== "string" || convert === undefined) return undefined
    fields.push({ name: property.name, isOptional: property.isOptional, convert })
  }
  return (value) => {
    if (!Json.isObject(value)) return undefined
    const out: Record<string, unknown> = {}
    for (const { convert, isOptional, name } of fields) {
      if (!Object.prototype.hasOwnProperty.call(value, name)) {
        if (isOptional) continue
        return undefined
      }
      const converted = convert(value[name])
      if (converted === declined) return undefined
      out[name] = converted
    }
    return out
  }
}

/**
 * The fast path's result when it accepts the value, else the Schema's.
 *
 * @since 0.1.0
 * @category combinators
 */
export const preferFast =
  <I>(
    fast: ((value: I) => object | undefined) | undefined,
    schema: (value: I) => Either.Either<object, ParseResult.ParseError>
  ) =>
  (value: I): Either.Either<object, ParseResult.ParseError> => {
    const result = fast === undefined ? undefined : fast(value)
    return result === undefined ? schema(value) : Either.right(result)
  }

/**
 * A codec for `schema`: parsers are built once (`errors: "first"` stops at the first bad field), and
 * each side tries its fast path first, running the Schema only when the fast path declines.
 *
 * @since 0.1.0
 * @category constructors
 */
export const compile = (schema: Schema.Schema.AnyNoContext, known: Tables = neutral): Codec => ({
  decode: preferFast(
    structConverter(schema.ast, converterOf(known.readers, "decode")),
    Schema.decodeUnknownEither(schema, { errors: "first" })
  ),
  encode: preferFast(structConverter(schema.ast, converterOf(known.writers, "encode")), Schema.encodeEither(schema))
})
