/**
 * One request Schema and one response Schema per usecase 0..18 (docs/blazeauth.md §3, §4), keyed by `type`.
 *
 * Both sides of every Schema keep docs/blazeauth.md's field names. The encoded side is the wire form (JSON
 * values, integers as `number`/`bigint`/digit strings); the decoded side has `bigint` ids, `Status`
 * values and `Redacted` secrets. Every field that docs/blazeauth.md requires only for some statuses is
 * optional here: which ones a caller needs is the client's business (§1.5). Encoding emits the keys
 * in field-table order with `id` first, and leaves absent optional fields out.
 *
 * @since 0.1.0
 */
import * as FastCodec from "@protokernel/wire/FastCodec"
import * as Uint64 from "@protokernel/wire/Uint64"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Envelope from "./Envelope.js"
import * as Field from "./Field.js"
import * as Status from "./Status.js"

const optional = <S extends Schema.Schema.All>(schema: S) => Schema.optionalWith(schema, { exact: true })
const NullableString = Schema.NullOr(Schema.String)
const status = { status: optional(Status.StatusFromWire) }

/**
 * A usecase: its number, its name and its two payload Schemas (each with `id` first).
 *
 * @since 0.1.0
 * @category models
 */
export interface Usecase<
  Type extends number,
  Name extends string,
  Request extends Schema.Struct.Fields,
  Response extends Schema.Struct.Fields
> {
  readonly type: Type
  readonly name: Name
  readonly request: Schema.Struct<{ readonly id: typeof Uint64.Uint64 } & Request>
  readonly response: Schema.Struct<{ readonly id: typeof Uint64.Uint64 } & Response>
}

const make = <
  const Type extends number,
  const Name extends string,
  Request extends Schema.Struct.Fields,
  Response extends Schema.Struct.Fields
>(
  type: Type,
  name: Name,
  request: Request,
  response: Response
): Usecase<Type, Name, Request, Response> => ({
  type,
  name,
  request: Schema.Struct({ id: Uint64.Uint64, ...request }).annotations({ identifier: `${name} request` }),
  response: Schema.Struct({ id: Uint64.Uint64, ...response }).annotations({ identifier: `${name} response` })
})

const licenseFields = {
  license: optional(Field.Secret),
  levels: optional(Field.Levels),
  comment: optional(NullableString),
  ip_address: optional(NullableString),
  time_left: optional(Field.I53),
  ...status
}

const accountFields = {
  login: optional(Schema.String),
  levels: optional(Field.Levels),
  comment: optional(NullableString),
  ip_address: optional(NullableString),
  time_left: optional(Field.I53),
  license_required: optional(Schema.Boolean),
  ...status
}

/**
 * The stream header (§4.3): every type-8 message the server sends, for `transfer_file` and
 * `resume_file_transfer` alike.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TransferHeader = Schema.Struct({
  id: Uint64.Uint64,
  transfer_id: Schema.String,
  binary_data: optional(Schema.Boolean),
  chunk_size: Field.Int32,
  offset: Field.U53,
  file_size: optional(Field.I53),
  status: optional(Status.StatusFromWire),
  file_checksum: optional(Schema.String),
  range_checksum: optional(Schema.String)
}).annotations({ identifier: "transfer header" })

/**
 * #0: keepalive; the response has no `status`.
 *
 * @since 0.1.0
 * @category usecases
 */
export const Ping = make(0, "ping", {}, {})

/**
 * #1: opens the session for an application. `client_id` shorter than 4 characters is an invalid body.
 *
 * @since 0.1.0
 * @category usecases
 */
export const Initialize = make(
  1,
  "initialize",
  { socket_api_key: Field.Secret, client_id: Field.StringMinLength(4) },
  { app_name: optional(Schema.String), app_version: optional(Schema.String), ...status }
)

/**
 * #2: creates an account.
 *
 * @since 0.1.0
 * @category usecases
 */
export const CreateAccount = make(
  2,
  "create_account",
  {
    login: Schema.String,
    password: Field.Secret,
    comment: optional(NullableString),
    license: optional(Schema.NullOr(Field.Secret)),
    credentials_type: Field.Int32
  },
  { retry_after: optional(Field.I53), ...status }
)

/**
 * #3: authorizes the session with a license.
 *
 * @since 0.1.0
 * @category usecases
 */
export const AuthByLicense = make(3, "auth_by_license", { license: Field.Secret }, licenseFields)

/**
 * #4: authorizes the session with an account.
 *
 * @since 0.1.0
 * @category usecases
 */
export const AuthByCredentials = make(
  4,
  "auth_by_credentials",
  {
    login: Schema.String,
    password: Field.Secret,
    license: optional(Schema.NullOr(Field.Secret)),
    credentials_type: Field.Int32
  },
  accountFields
)

/**
 * #5: links a license to the authorized account.
 *
 * @since 0.1.0
 * @category usecases
 */
export const LinkLicenseToAccount = make(5, "link_license_to_account", { license: Field.Secret }, status)

/**
 * #6: drops the authorization; the session stays initialized.
 *
 * @since 0.1.0
 * @category usecases
 */
export const Logout = make(6, "logout", {}, status)

/**
 * #7: blacklists the session's `client_id` (and its license or account); the server then closes 4203.
 *
 * @since 0.1.0
 * @category usecases
 */
export const Blacklist = make(7, "blacklist", { comment: optional(Schema.String) }, status)

/**
 * #8: starts a download; answered by stream headers (`TransferHeader`).
 *
 * @since 0.1.0
 * @category usecases
 */
export const TransferFile = make(
  8,
  "transfer_file",
  { filename: Schema.String, offset: optional(Field.U53) },
  TransferHeader.fields
)

/**
 * #9: stops a stream, optionally asking for a resume token.
 *
 * @since 0.1.0
 * @category usecases
 */
export const StopFileTransfer = make(
  9,
  "stop_file_transfer",
  { transfer_id: Schema.String, issue_token: optional(Schema.Boolean) },
  { resume_token: optional(Field.Secret), ...status }
)

/**
 * #10: resumes a stopped stream with its token; answered by stream headers.
 *
 * @since 0.1.0
 * @category usecases
 */
export const ResumeFileTransfer = make(
  10,
  "resume_file_transfer",
  { transfer_id: Schema.String, resume_token: Field.Secret },
  TransferHeader.fields
)

/**
 * #11: a file's checksum, size and transfer statistics.
 *
 * @since 0.1.0
 * @category usecases
 */
export const GetFileMetadata = make(
  11,
  "get_file_metadata",
  { filename: Schema.String },
  {
    checksum: optional(Schema.String),
    size: optional(Field.U53),
    transfer_count: optional(Field.Int32),
    last_transferred_at: optional(Schema.NullOr(Field.I53)),
    ...status
  }
)

/**
 * #12: the number of open, initialized sessions of the application.
 *
 * @since 0.1.0
 * @category usecases
 */
export const GetOnlineUsersCount = make(
  12,
  "get_online_users_count",
  {},
  { online_users_count: optional(Field.Int32), ...status }
)

/**
 * #13: a variable's content.
 *
 * @since 0.1.0
 * @category usecases
 */
export const GetVariable = make(
  13,
  "get_variable",
  { name: Schema.String },
  { content: optional(Schema.String), ...status }
)

/**
 * #14: stores a value in the connection's session store. An empty key is an invalid body.
 *
 * @since 0.1.0
 * @category usecases
 */
export const SetSessionValue = make(
  14,
  "set_session_value",
  { key: Field.StringMinLength(1), value: Schema.String, ttl: optional(Schema.NullOr(Field.I53)) },
  status
)

/**
 * #15: reads a value from the session store. An empty key is an invalid body.
 *
 * @since 0.1.0
 * @category usecases
 */
export const GetSessionValue = make(
  15,
  "get_session_value",
  { key: Field.StringMinLength(1) },
  { value: optional(Schema.String), ...status }
)

/**
 * #16: the session's license as it is now.
 *
 * @since 0.1.0
 * @category usecases
 */
export const GetCurrentLicense = make(16, "get_current_license", {}, licenseFields)

/**
 * #17: the session's account as it is now.
 *
 * @since 0.1.0
 * @category usecases
 */
export const GetCurrentAccount = make(17, "get_current_account", {}, accountFields)

/**
 * #18: reserved no-op; a Gen B/C `subscribed` field is accepted and ignored.
 *
 * @since 0.1.0
 * @category usecases
 */
export const PanelEventSubscribe = make(18, "panel_event_subscribe", {}, status)

/**
 * Every usecase, indexed by its number.
 *
 * @since 0.1.0
 * @category usecases
 */
export const all = [
  Ping,
  Initialize,
  CreateAccount,
  AuthByLicense,
  AuthByCredentials,
  LinkLicenseToAccount,
  Logout,
  Blacklist,
  TransferFile,
  StopFileTransfer,
  ResumeFileTransfer,
  GetFileMetadata,
  GetOnlineUsersCount,
  GetVariable,
  SetSessionValue,
  GetSessionValue,
  GetCurrentLicense,
  GetCurrentAccount,
  PanelEventSubscribe
] as const

/**
 * Any usecase.
 *
 * @since 0.1.0
 * @category models
 */
export type Any = (typeof all)[number]

/**
 * The decoded request payload of a usecase.
 *
 * @since 0.1.0
 * @category models
 */
export type Request<U extends Any> = Schema.Schema.Type<U["request"]>

/**
 * The decoded response payload of a usecase.
 *
 * @since 0.1.0
 * @category models
 */
export type Response<U extends Any> = Schema.Schema.Type<U["response"]>

// The fast path (see wire's FastCodec) knows the field Schemas used above through these tables.

// The common id (a small positive integer) skips the general reader's allocations.
const isPositiveSafe = (value: unknown): value is number =>
  typeof value === "number" && value > 0 && Number.isSafeInteger(value)

const readUint64 = FastCodec.fromOption(Uint64.fromJson)

const isString = (value: unknown): value is string => typeof value === "string"

const known = FastCodec.tables({
  readers: [
    [Uint64.Uint64.ast, (value) => (isPositiveSafe(value) ? BigInt(value) : readUint64(value))],
    [Field.U53.ast, FastCodec.fromOption(Field.u53FromJson)],
    [Field.I53.ast, FastCodec.fromOption(Field.i53FromJson)],
    [Field.Int32.ast, FastCodec.fromOption(Field.int32FromJson)],
    [
      Status.StatusFromWire.ast,
      (value) => {
        if (typeof value !== "number" || !Number.isInteger(value) || value < -2147483648 || value > 2147483647) {
          return FastCodec.declined
        }
        return Status.fromCode(value === 0 ? 0 : value)
      }
    ],
    [Field.Secret.ast, (value) => (typeof value === "string" ? Redacted.make(value) : FastCodec.declined)],
    [Field.Levels.ast, FastCodec.fromOption(Field.levelsFromJson)]
  ],
  writers: [
    [
      Uint64.Uint64.ast,
      (value) =>
        typeof value === "bigint" && value >= 0n && value <= Uint64.MAX ? Uint64.toJson(value) : FastCodec.declined
    ],
    [Field.U53.ast, FastCodec.integerWriter(0, Field.MAX_SAFE)],
    [Field.I53.ast, FastCodec.integerWriter(-Field.MAX_SAFE, Field.MAX_SAFE)],
    [Field.Int32.ast, FastCodec.integerWriter(-2147483648, 2147483647)],
    [Status.StatusFromWire.ast, (value) => (value instanceof Status.Status ? value.code : FastCodec.declined)],
    [
      Field.Secret.ast,
      (value) => {
        if (!Redacted.isRedacted(value)) return FastCodec.declined
        const secret = Redacted.value(value)
        return typeof secret === "string" ? secret : FastCodec.declined
      }
    ],
    [Field.Levels.ast, (value) => (Array.isArray(value) && value.every(isString) ? value : FastCodec.declined)]
  ]
})

const compile = (schema: Schema.Schema.AnyNoContext) => FastCodec.compile(schema, known)

const requestCodecs = all.map((usecase) => compile(usecase.request))
const responseCodecs = all.map((usecase) => compile(usecase.response))
const headerCodec = compile(TransferHeader)

/**
 * Decodes a request payload (raw JSON values) of a usecase.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeRequest = <U extends Any>(
  usecase: U,
  payload: unknown
): Either.Either<Request<U>, ParseResult.ParseError> =>
  requestCodecs[usecase.type]!.decode(payload) as Either.Either<Request<U>, ParseResult.ParseError>

/**
 * Decodes a response payload (raw JSON values) of a usecase.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeResponse = <U extends Any>(
  usecase: U,
  payload: unknown
): Either.Either<Response<U>, ParseResult.ParseError> =>
  responseCodecs[usecase.type]!.decode(payload) as Either.Either<Response<U>, ParseResult.ParseError>

/**
 * Decodes a stream header payload.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeHeader = (payload: unknown): Either.Either<typeof TransferHeader.Type, ParseResult.ParseError> =>
  headerCodec.decode(payload) as Either.Either<typeof TransferHeader.Type, ParseResult.ParseError>

/**
 * The canonical text of a request envelope.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeRequest = <U extends Any>(
  usecase: U,
  payload: Request<U>
): Either.Either<string, ParseResult.ParseError> =>
  Either.map(requestCodecs[usecase.type]!.encode(payload), (wire) => Envelope.encode(usecase.type, wire))

/**
 * The canonical text of a response envelope.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeResponse = <U extends Any>(
  usecase: U,
  payload: Response<U>
): Either.Either<string, ParseResult.ParseError> =>
  Either.map(responseCodecs[usecase.type]!.encode(payload), (wire) => Envelope.encode(usecase.type, wire))

/**
 * The canonical text of a request or response envelope from a value checked only at run time, for
 * peers that build payloads dynamically (mocks, fuzzers); a value the Schema rejects is a `Left`.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeUnknown = (
  side: "request" | "response",
  usecase: Any,
  payload: object
): Either.Either<string, ParseResult.ParseError> =>
  Either.map((side === "request" ? requestCodecs : responseCodecs)[usecase.type]!.encode(payload), (wire) =>
    Envelope.encode(usecase.type, wire)
  )

/**
 * The canonical text of a stream header (a type-8 envelope).
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeHeader = (payload: typeof TransferHeader.Type): Either.Either<string, ParseResult.ParseError> =>
  Either.map(headerCodec.encode(payload), (wire) => Envelope.encode(TransferFile.type, wire))

/**
 * Where a decoding error is, e.g. `["payload"]["client_id"]: Expected string`, without the value that
 * was received: a field may hold a secret, so errors and logs name fields only.
 *
 * @since 0.1.0
 * @category errors
 */
export const describeError = (error: ParseResult.ParseError): string => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  if (issue === undefined) return "invalid"
  const path = issue.path.map((key) => `[${JSON.stringify(String(key))}]`).join("")
  return `${path === "" ? "payload" : path}: ${issue._tag === "Missing" ? "is missing" : "has the wrong type or is out of range"}`
}
