/**
 * Resume tokens (§4.8): 256 random bits, used once, expiring, bound to the identity, the application,
 * the `transfer_id`, the file version and the stop offset; the checks of §4.7 in order (309, 3).
 *
 * @internal
 */
import * as Redacted from "effect/Redacted"
import * as Crypto from "node:crypto"
import type * as Status from "../../Status.js"
import type { Identity } from "../../Server.js"
import type * as Directory from "../directory.js"

/** @internal */
export interface ResumeToken {
  readonly application: string
  readonly identity: string
  readonly transferId: string
  readonly file: Directory.FileVersion
  readonly offset: number
  readonly expiresAt: number
}

/** @internal Tokens not used yet, by their text. */
export type Store = Map<string, ResumeToken>

/** @internal A token's binding to an identity: one license key or one login, from any connection. */
export const identityKey = (identity: Identity): string =>
  identity._tag === "License" ? `license:${Redacted.value(identity.key)}` : `account:${identity.login}`

/** @internal Issues a token for a stream stopped at `offset`. */
export const issue = (
  store: Store,
  fields: Omit<ResumeToken, "expiresAt" | "identity"> & { readonly identity: Identity },
  now: number,
  lifetime: number
): string => {
  const token = Crypto.randomBytes(32).toString("base64url")
  store.set(token, { ...fields, identity: identityKey(fields.identity), expiresAt: now + lifetime })
  return token
}

/**
 * @internal Checks a resume request in the order of §4.7. The quota check comes next, with the caller,
 * which then uses the token up (a 304 leaves it usable).
 */
export const check = (
  store: Store,
  request: {
    readonly token: string
    readonly transferId: string
    readonly identity: Identity
    readonly app: Directory.ApplicationState
  },
  now: number
): ResumeToken | Status.KnownName => {
  const token = store.get(request.token)
  if (token === undefined) return "resume_token_invalid"
  if (token.expiresAt <= now) {
    store.delete(request.token)
    return "resume_token_invalid"
  }
  if (token.application !== request.app.name || token.identity !== identityKey(request.identity)) {
    return "not_authorized"
  }
  const file = request.app.files.get(token.file.name)
  if (token.transferId !== request.transferId || file === undefined || file.current !== token.file) {
    return "resume_token_invalid"
  }
  return token
}

/** @internal A token is used once. */
export const use = (store: Store, token: string): void => {
  store.delete(token)
}
