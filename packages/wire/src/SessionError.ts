/**
 * The errors every protocol's client shares: a connection that closed, a client its owner closed, and
 * options a client refuses. Each protocol re-exports them from its own `ClientError` module.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * The connection closed: `initiator` says which side started the close (`"remote"` for a lost
 * connection, 1006, too), so that a reconnect policy judges only the closes the peer chose.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionClosed extends Schema.TaggedError<ConnectionClosed>("@protokernel/wire/ConnectionClosed")(
  "ConnectionClosed",
  {
    code: Schema.Int,
    reason: Schema.String,
    initiator: Schema.Literal("local", "remote")
  }
) {
  override get message(): string {
    const who = this.initiator === "local" ? "closed by the client" : this.code === 1006 ? "connection lost" : "closed"
    return `${who} ${this.code}${this.reason === "" ? "" : ` '${this.reason}'`}`
  }
}

/**
 * What every call fails with once the owner closed the client.
 *
 * @since 0.1.0
 * @category errors
 */
export class ClientClosed extends Schema.TaggedError<ClientClosed>("@protokernel/wire/ClientClosed")(
  "ClientClosed",
  {}
) {
  override get message(): string {
    return "the client is closed"
  }
}

/**
 * An option a client refuses, named by its path (e.g. `reconnect.jitter`), with why.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidOptions extends Schema.TaggedError<InvalidOptions>("@protokernel/wire/InvalidOptions")(
  "InvalidOptions",
  { option: Schema.String, detail: Schema.String }
) {
  override get message(): string {
    return `invalid option ${this.option}: ${this.detail}`
  }
}
