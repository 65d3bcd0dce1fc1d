/**
 * What the Blazeauth client returns: the domain side of the responses (docs/blazeauth.md §3, §4.9, §7), with the
 * defaults of §1.5 already applied and `time_left` already read as an `Expiry`.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Expiry from "./Expiry.js"

/**
 * An `Expiry` value as it is (no encoding): `Expiry.never` or `Expiry.at(seconds)`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ExpiryFromSelf: Schema.Schema<Expiry.Expiry> = Schema.declare(
  (value: unknown): value is Expiry.Expiry =>
    Predicate.hasProperty(value, "_tag") &&
    (value._tag === "Never" ||
      (value._tag === "At" && Predicate.hasProperty(value, "expiresAt") && typeof value.expiresAt === "number")),
  { identifier: "Expiry" }
)

const Levels = Schema.Array(Schema.String)
const NullableString = Schema.NullOr(Schema.String)

/**
 * The application a session is initialized for: the `app_name` and `app_version` of `initialize`.
 *
 * @since 0.1.0
 * @category models
 */
export class Application extends Schema.Class<Application>("@protokernel/blazeauth/Application")({
  name: Schema.String,
  version: Schema.String
}) {}

/**
 * A license as `auth_by_license` and `get_current_license` report it. `license` is the key (a
 * secret); `expiry` is `time_left` read at the moment the response arrived (§7.1).
 *
 * @since 0.1.0
 * @category models
 */
export class LicenseInfo extends Schema.Class<LicenseInfo>("@protokernel/blazeauth/LicenseInfo")({
  license: Schema.Redacted(Schema.String),
  levels: Levels,
  comment: NullableString,
  ipAddress: NullableString,
  expiry: ExpiryFromSelf
}) {
  /** Time left at `now` (Unix seconds); infinite when the license never expires. */
  remaining(now: number): Duration.Duration {
    return Expiry.remaining(this.expiry, now)
  }
}

/**
 * An account as `auth_by_credentials` and `get_current_account` report it. `expiry` comes from the
 * account's valid licenses (never when `licenseRequired` is false or one of them never expires).
 *
 * @since 0.1.0
 * @category models
 */
export class AccountInfo extends Schema.Class<AccountInfo>("@protokernel/blazeauth/AccountInfo")({
  login: Schema.String,
  levels: Levels,
  comment: NullableString,
  ipAddress: NullableString,
  expiry: ExpiryFromSelf,
  licenseRequired: Schema.Boolean
}) {
  /** Time left at `now` (Unix seconds); infinite when access never expires. */
  remaining(now: number): Duration.Duration {
    return Expiry.remaining(this.expiry, now)
  }
}

/**
 * A protected file as `get_file_metadata` reports it: the lowercase hex SHA-256 of the whole file,
 * its size in bytes, the number of completed downloads, and when the last one completed (Unix seconds).
 *
 * @since 0.1.0
 * @category models
 */
export class FileMetadata extends Schema.Class<FileMetadata>("@protokernel/blazeauth/FileMetadata")({
  checksum: Schema.String,
  size: Schema.Number,
  transferCount: Schema.Number,
  lastTransferredAt: Schema.NullOr(Schema.Number)
}) {
  /** The last completed download, if any. */
  get lastTransferred(): Option.Option<Date> {
    return this.lastTransferredAt === null ? Option.none() : Option.some(new Date(this.lastTransferredAt * 1000))
  }
}
