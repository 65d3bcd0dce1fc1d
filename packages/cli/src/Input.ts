/**
 * Checks of command-line values that no server needs to see to be wrong: server URLs and rwws access
 * keys. Each failure is a usage error (exit 2) whose one line names the problem, never a secret.
 *
 * @since 0.1.0
 */
import * as AccessKey from "@protokernel/rwws/AccessKey"
import * as Either from "effect/Either"
import type * as Redacted from "effect/Redacted"
import * as CliError from "./CliError.js"

/**
 * The URL schemes a WebSocket client can connect to.
 *
 * @since 0.1.0
 * @category constants
 */
export const webSocketSchemes: ReadonlyArray<string> = ["ws:", "wss:"]

/**
 * A server URL as given: it must parse and use `ws:` or `wss:`.
 *
 * @since 0.1.0
 * @category validation
 */
export const serverUrl = (text: string): Either.Either<string, CliError.CliError> => {
  if (!URL.canParse(text)) {
    return Either.left(CliError.usage(`invalid url ${JSON.stringify(text)}: not a URL (e.g. ws://127.0.0.1:8080)`))
  }
  const { protocol } = new URL(text)
  return webSocketSchemes.includes(protocol)
    ? Either.right(text)
    : Either.left(
        CliError.usage(`invalid url ${JSON.stringify(text)}: the scheme must be ws: or wss:, not ${protocol}`)
      )
}

/**
 * An rwws access key from `option` (e.g. `--key`): base64 of 1 to 127 bytes (rwws spec §2.4). The
 * message says what is wrong with the key, never the key.
 *
 * @since 0.1.0
 * @category validation
 */
export const accessKey = (
  key: Redacted.Redacted<string>,
  option: string
): Either.Either<Redacted.Redacted<string>, CliError.CliError> =>
  Either.match(AccessKey.decode(key), {
    onLeft: (error) => Either.left(CliError.usage(`invalid ${option}: ${error.message}`)),
    onRight: () => Either.right(key)
  })
