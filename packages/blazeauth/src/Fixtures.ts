/**
 * The data the reference server starts from: applications with their keys, licenses, accounts,
 * variables and files. The JSON format is the one of the `--fixtures` file (extra fields are allowed);
 * `decode` takes the same shape as a value, for servers embedded in tests and programs.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Json from "@protokernel/wire/Json"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as NodePath from "node:path"

const optionalWithDefault = <S extends Schema.Schema.AnyNoContext>(schema: S, value: () => Schema.Schema.Type<S>) =>
  Schema.optionalWith(schema, { default: value })

const NonNegativeInt = Schema.Int.pipe(Schema.nonNegative())

/**
 * A license as seeded. `duration_seconds` 0 is a lifetime license; the expiry clock starts at
 * activation. `activated` licenses start activated (now, by the server clock), bound to `client_id`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const License = Schema.Struct({
  key: Schema.String,
  levels: optionalWithDefault(Schema.Array(Schema.String), () => []),
  comment: optionalWithDefault(Schema.NullOr(Schema.String), () => null),
  duration_seconds: optionalWithDefault(NonNegativeInt, () => 0),
  paused: optionalWithDefault(Schema.Boolean, () => false),
  blacklisted: optionalWithDefault(Schema.Boolean, () => false),
  activated: optionalWithDefault(Schema.Boolean, () => false),
  client_id: optionalWithDefault(Schema.NullOr(Schema.String), () => null),
  /** Login of the account the license is linked to (which also activates it). */
  account: optionalWithDefault(Schema.NullOr(Schema.String), () => null)
})

/**
 * An account as seeded; the password is stored only as a hash by the server.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Account = Schema.Struct({
  login: Schema.String,
  password: Schema.String,
  credentials_type: optionalWithDefault(Schema.Literal(0, 1), () => 0 as const),
  levels: optionalWithDefault(Schema.Array(Schema.String), () => []),
  comment: optionalWithDefault(Schema.NullOr(Schema.String), () => null),
  license_required: optionalWithDefault(Schema.Boolean, () => false),
  blacklisted: optionalWithDefault(Schema.Boolean, () => false),
  ip_address: optionalWithDefault(Schema.NullOr(Schema.String), () => null)
})

/**
 * A variable; `auth_required` variables need an authorized session (status 3 otherwise).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Variable = Schema.Struct({
  name: Schema.String,
  content: Schema.String,
  auth_required: optionalWithDefault(Schema.Boolean, () => false),
  paused: optionalWithDefault(Schema.Boolean, () => false)
})

/**
 * A protected file: inline bytes (`content_base64`) or a file on disk (`path`, relative to the
 * fixtures file), served without loading it whole.
 *
 * @since 0.1.0
 * @category schemas
 */
export const File = Schema.Union(
  Schema.Struct({ name: Schema.String, content_base64: Schema.String }),
  Schema.Struct({ name: Schema.String, path: Schema.String })
)

/**
 * Per-application quotas; 0 or absent = unlimited.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Quotas = Schema.Struct({
  sessions: optionalWithDefault(NonNegativeInt, () => 0),
  accounts: optionalWithDefault(NonNegativeInt, () => 0),
  blacklists: optionalWithDefault(NonNegativeInt, () => 0),
  transfer_bytes: optionalWithDefault(NonNegativeInt, () => 0)
})

/**
 * An application: its socket API key(s), name and version, and what it owns.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Application = Schema.Struct({
  api_key: Schema.optionalWith(Schema.String, { exact: true }),
  api_keys: optionalWithDefault(Schema.Array(Schema.String), () => []),
  name: Schema.String,
  version: optionalWithDefault(Schema.String, () => "1.0.0"),
  accounts_require_license: optionalWithDefault(Schema.Boolean, () => false),
  paused: optionalWithDefault(Schema.Boolean, () => false),
  quotas: optionalWithDefault(Quotas, () => ({ sessions: 0, accounts: 0, blacklists: 0, transfer_bytes: 0 })),
  blacklisted_client_ids: optionalWithDefault(Schema.Array(Schema.String), () => []),
  licenses: optionalWithDefault(Schema.Array(License), () => []),
  accounts: optionalWithDefault(Schema.Array(Account), () => []),
  variables: optionalWithDefault(Schema.Array(Variable), () => []),
  files: optionalWithDefault(Schema.Array(File), () => [])
})

/**
 * The whole fixtures document.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FixturesDocument = Schema.Struct({ applications: Schema.Array(Application) })

/**
 * The fixtures document as a value (defaults applied).
 *
 * @since 0.1.0
 * @category models
 */
export type Document = typeof FixturesDocument.Type

/**
 * The fixtures document as written (defaults optional).
 *
 * @since 0.1.0
 * @category models
 */
export type Input = typeof FixturesDocument.Encoded

/**
 * Where a file's bytes come from.
 *
 * @since 0.1.0
 * @category models
 */
export type Source =
  { readonly _tag: "Bytes"; readonly bytes: Uint8Array } | { readonly _tag: "Path"; readonly path: string }

/**
 * Fixtures ready for a server: the document, with every file resolved to a `Source`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Fixtures {
  readonly document: Document
  readonly files: ReadonlyMap<string, ReadonlyMap<string, Source>>
}

/**
 * The fixtures cannot be used: unreadable file, invalid JSON or shape, duplicate names or keys.
 *
 * @since 0.1.0
 * @category errors
 */
export class FixturesError extends Schema.TaggedError<FixturesError>("@protokernel/blazeauth/FixturesError")(
  "FixturesError",
  { detail: Schema.String }
) {
  override get message(): string {
    return `invalid fixtures: ${this.detail}`
  }
}

const base64 = /^[A-Za-z0-9+/]*={0,2}$/

/** `["applications", 0, "licenses", 0, "key"]` → `applications[0].licenses[0].key`. */
const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path
    .map((segment, i) => (typeof segment === "number" ? `[${segment}]` : `${i === 0 ? "" : "."}${String(segment)}`))
    .join("")

/**
 * One line for a document that does not fit the schema: the first problem, at the path of the field
 * (`applications[0].licenses[0].key: is missing`).
 */
const describeParseError = (error: ParseResult.ParseError): string => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  if (issue === undefined) return "does not match the fixtures format"
  const message = issue.message.split("\n", 1)[0] ?? ""
  return issue.path.length === 0 ? message : `${formatPath(issue.path)}: ${message}`
}

/**
 * Checks a fixtures value and resolves its files; `path`s are taken relative to `baseDirectory`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const decode = (input: unknown, baseDirectory = "."): Effect.Effect<Fixtures, FixturesError> =>
  Effect.gen(function* () {
    const document = yield* Schema.decodeUnknown(FixturesDocument)(input).pipe(
      Effect.mapError((error) => new FixturesError({ detail: describeParseError(error) }))
    )
    const names = new Set<string>()
    const keys = new Set<string>()
    const files = new Map<string, Map<string, Source>>()
    for (const application of document.applications) {
      if (names.has(application.name)) return yield* duplicate("application name", application.name)
      names.add(application.name)
      const applicationKeys = [
        ...(application.api_key === undefined ? [] : [application.api_key]),
        ...application.api_keys
      ]
      if (applicationKeys.length === 0)
        return yield* new FixturesError({ detail: `${application.name} has no api_key` })
      for (const key of applicationKeys) {
        if (keys.has(key)) return yield* duplicate("api_key of", application.name)
        keys.add(key)
      }
      const licenseKeys = new Set<string>()
      for (const license of application.licenses) {
        if (licenseKeys.has(license.key)) return yield* duplicate(`license in ${application.name}`, "(key hidden)")
        licenseKeys.add(license.key)
      }
      const logins = new Set<string>()
      for (const account of application.accounts) {
        if (logins.has(account.login)) return yield* duplicate(`account in ${application.name}`, account.login)
        logins.add(account.login)
      }
      const sources = new Map<string, Source>()
      for (const file of application.files) {
        if (sources.has(file.name)) return yield* duplicate(`file in ${application.name}`, file.name)
        if ("content_base64" in file) {
          if (!base64.test(file.content_base64) || file.content_base64.length % 4 !== 0) {
            return yield* new FixturesError({ detail: `${file.name}: content_base64 is not base64` })
          }
          sources.set(file.name, { _tag: "Bytes", bytes: new Uint8Array(Buffer.from(file.content_base64, "base64")) })
        } else {
          sources.set(file.name, { _tag: "Path", path: NodePath.resolve(baseDirectory, file.path) })
        }
      }
      files.set(application.name, sources)
    }
    return { document, files }
  })

const duplicate = (what: string, name: string) =>
  Effect.fail(new FixturesError({ detail: `duplicate ${what} ${name}` }))

/**
 * Reads a fixtures JSON file; file paths inside it are relative to its directory.
 *
 * @since 0.1.0
 * @category constructors
 */
export const load = (file: string): Effect.Effect<Fixtures, FixturesError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs
      .readFileString(file)
      .pipe(Effect.mapError((error) => new FixturesError({ detail: `cannot read ${file}: ${error.message}` })))
    const parsed = Json.parse(text)
    if (Either.isLeft(parsed)) return yield* new FixturesError({ detail: `${file}: ${parsed.left.message}` })
    return yield* decode(parsed.right, NodePath.dirname(NodePath.resolve(file)))
  })
