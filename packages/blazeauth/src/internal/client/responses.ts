/**
 * Responses → domain values: a matched message is decoded with its usecase's Schema, its status
 * checked (§1.4), and the fields a caller needs are required here (§1.5: a missing required field is
 * `malformed_response`, never an invented default).
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as ClientError from "../../ClientError.js"
import * as Expiry from "../../Expiry.js"
import * as Model from "../../Model.js"
import * as Status from "../../Status.js"
import * as Usecase from "../../Usecase.js"
import * as Payload from "../payload.js"

/** A message matched to a call: its raw payload and when it arrived (Clock millis). */
export interface Received {
  readonly payload: { readonly [key: string]: unknown }
  readonly receivedAt: number
  /** A pending `blacklist` resolved by the server's close (4203 or 1000), with no response. */
  readonly resolvedByClose: boolean
}

/** A field that an error status must carry (§3.2: 2 with 5, 16 with 101–103, 17 with 203). */
export interface ErrorFields {
  readonly codes: ReadonlyArray<number>
  readonly field: string
}

/** `create_account` with status 5 carries `retry_after`. */
export const retryAfterOnError: ErrorFields = { codes: [5], field: "retry_after" }
/** `get_current_license` with 101–103 carries the license. */
export const licenseOnError: ErrorFields = { codes: [101, 102, 103], field: "license" }
/** `get_current_account` with 203 carries the account. */
export const accountOnError: ErrorFields = { codes: [203], field: "login" }

/** A response that does not fit its usecase. */
export const malformed = (usecase: string, detail: string) => new ClientError.MalformedResponse({ usecase, detail })

const missing = (usecase: string, field: string) => malformed(usecase, `["${field}"]: is missing`)

/** A field the caller needs, present or `MalformedResponse`. */
export const need = <A>(
  usecase: string,
  field: string,
  value: A | undefined
): Either.Either<A, ClientError.MalformedResponse> =>
  value === undefined ? Either.left(missing(usecase, field)) : Either.right(value)

const statusOf = (response: unknown): Status.Status | undefined =>
  Predicate.hasProperty(response, "status") && response.status instanceof Status.Status ? response.status : undefined

/** The payload a `StatusError` carries: the decoded fields without the (bigint) id, so it prints as JSON. */
const withoutId = (response: object): object => Payload.without(response, "id")

/**
 * Decodes a response payload and checks its status: a field of the wrong type is `MalformedResponse`,
 * an error status is `StatusError` carrying the decoded payload (after checking the fields that status
 * must carry). An absent status is success (§1.4).
 */
export const decodeChecked = <U extends Usecase.Any>(
  usecase: U,
  received: Received,
  fieldsOnError?: ErrorFields
): Either.Either<Usecase.Response<U>, ClientError.CallError> =>
  Either.flatMap(
    Either.mapLeft(Usecase.decodeResponse(usecase, received.payload), (error) =>
      malformed(usecase.name, Usecase.describeError(error))
    ),
    (response): Either.Either<Usecase.Response<U>, ClientError.CallError> => {
      const status = statusOf(response)
      if (status === undefined || status.isSuccess) return Either.right(response)
      if (
        fieldsOnError !== undefined &&
        fieldsOnError.codes.includes(status.code) &&
        !Predicate.hasProperty(response, fieldsOnError.field)
      ) {
        return Either.left(missing(usecase.name, fieldsOnError.field))
      }
      return Either.left(new ClientError.StatusError({ usecase: usecase.name, status, payload: withoutId(response) }))
    }
  )

/** Unix seconds of a Clock instant, for `Expiry.fromTimeLeft`. */
const seconds = (millis: number): number => Math.floor(millis / 1000)

/** The license fields of a response (`auth_by_license`, `get_current_license`). */
export type LicenseFields = Omit<Usecase.Response<typeof Usecase.AuthByLicense>, "id">
/** The account fields of a response (`auth_by_credentials`, `get_current_account`). */
export type AccountFields = Omit<Usecase.Response<typeof Usecase.AuthByCredentials>, "id">

/** License fields → `LicenseInfo`; a relative `time_left` is read against `receivedAt`. */
export const toLicenseInfo = (
  usecase: string,
  fields: LicenseFields,
  receivedAt: number
): Either.Either<Model.LicenseInfo, ClientError.MalformedResponse> =>
  Either.map(
    need(usecase, "license", fields.license),
    (license) =>
      new Model.LicenseInfo({
        license,
        levels: fields.levels ?? [],
        comment: fields.comment ?? null,
        ipAddress: fields.ip_address ?? null,
        expiry: Expiry.fromTimeLeft(fields.time_left, seconds(receivedAt))
      })
  )

/** Account fields → `AccountInfo`; a relative `time_left` is read against `receivedAt`. */
export const toAccountInfo = (
  usecase: string,
  fields: AccountFields,
  receivedAt: number
): Either.Either<Model.AccountInfo, ClientError.MalformedResponse> =>
  Either.map(
    need(usecase, "login", fields.login),
    (login) =>
      new Model.AccountInfo({
        login,
        levels: fields.levels ?? [],
        comment: fields.comment ?? null,
        ipAddress: fields.ip_address ?? null,
        expiry: Expiry.fromTimeLeft(fields.time_left, seconds(receivedAt)),
        licenseRequired: fields.license_required ?? false
      })
  )

/** The `initialize` response → the session's application. */
export const toApplication = (received: Received): Either.Either<Model.Application, ClientError.CallError> =>
  Either.gen(function* () {
    const response = yield* decodeChecked(Usecase.Initialize, received)
    return new Model.Application({
      name: yield* need(Usecase.Initialize.name, "app_name", response.app_name),
      version: yield* need(Usecase.Initialize.name, "app_version", response.app_version)
    })
  })

/** The `get_file_metadata` response → `FileMetadata`. */
export const toFileMetadata = (received: Received): Either.Either<Model.FileMetadata, ClientError.CallError> =>
  Either.gen(function* () {
    const name = Usecase.GetFileMetadata.name
    const response = yield* decodeChecked(Usecase.GetFileMetadata, received)
    return new Model.FileMetadata({
      checksum: yield* need(name, "checksum", response.checksum),
      size: yield* need(name, "size", response.size),
      transferCount: yield* need(name, "transfer_count", response.transfer_count),
      lastTransferredAt: response.last_transferred_at ?? null
    })
  })

/** A session value's lifetime in whole seconds (rounded up), `null` for the server's default. */
export const ttlSeconds = (
  ttl: Duration.DurationInput | undefined
): Either.Either<number | null, ClientError.InvalidArgument> => {
  if (ttl === undefined) return Either.right(null)
  const duration = Duration.decodeUnknown(ttl)
  if (Option.isNone(duration) || !Duration.isFinite(duration.value)) {
    return Either.left(new ClientError.InvalidArgument({ argument: "ttl", detail: "must be a finite duration" }))
  }
  return Either.right(Math.ceil(Duration.toMillis(duration.value) / 1000))
}

/** Whether a `StatusError` payload holds license fields. */
const isLicenseFields = (payload: unknown): payload is LicenseFields =>
  Predicate.hasProperty(payload, "license") && Redacted.isRedacted(payload.license)

/** Whether a `StatusError` payload holds account fields. */
const isAccountFields = (payload: unknown): payload is AccountFields =>
  Predicate.hasProperty(payload, "login") && typeof payload.login === "string"

/** The `retry_after` of a `create_account` answered with status 5 (`too_many_requests`). */
export const retryAfter = (error: ClientError.CallError): Option.Option<Duration.Duration> =>
  error._tag === "StatusError" &&
  error.status.code === Status.codes.too_many_requests &&
  Predicate.hasProperty(error.payload, "retry_after") &&
  typeof error.payload.retry_after === "number"
    ? Option.some(Duration.seconds(error.payload.retry_after))
    : Option.none()

/** The license fields of a `StatusError` (101–103), a relative `time_left` read against now. */
export const licenseInfoOf = (error: ClientError.CallError): Effect.Effect<Option.Option<Model.LicenseInfo>> =>
  Effect.map(Clock.currentTimeMillis, (now) =>
    error._tag === "StatusError" && isLicenseFields(error.payload)
      ? Either.getRight(toLicenseInfo(error.usecase, error.payload, now))
      : Option.none()
  )

/** The account fields of a `StatusError` (203), a relative `time_left` read against now. */
export const accountInfoOf = (error: ClientError.CallError): Effect.Effect<Option.Option<Model.AccountInfo>> =>
  Effect.map(Clock.currentTimeMillis, (now) =>
    error._tag === "StatusError" && isAccountFields(error.payload)
      ? Either.getRight(toAccountInfo(error.usecase, error.payload, now))
      : Option.none()
  )
