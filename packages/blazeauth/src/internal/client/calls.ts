/**
 * The client's calls as one table derived from the usecase catalogue (`Usecase.ts`): per usecase, how
 * the request fields are built from the method's arguments (or why a local pre-check refuses them)
 * and how the response becomes the method's value. `runOn` is the one template they all share.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import type * as Client from "../../Client.js"
import type * as ClientError from "../../ClientError.js"
import type * as Model from "../../Model.js"
import * as Usecase from "../../Usecase.js"
import * as Connection from "./connection.js"
import * as Responses from "./responses.js"

/** A request's fields without its id. */
export type Fields<U extends Usecase.Any> = Omit<Usecase.Request<U>, "id">

/** One call: a usecase, its request builder and its response mapping. */
export interface Call<U extends Usecase.Any, Args extends ReadonlyArray<unknown>, A> {
  readonly usecase: U
  /** The request's fields, or the local pre-check that refuses the arguments (nothing is sent). */
  readonly request: (...args: Args) => Fields<U> | Either.Either<Fields<U>, ClientError.InvalidArgument>
  readonly response: (received: Responses.Received) => Either.Either<A, ClientError.CallError>
  /** A close that means the request was applied (4203 or 1000 for `blacklist`) resolves the call. */
  readonly appliedOnClose?: boolean
  /** What a success makes of the session's authorization: a kind, or none (`logout`). */
  readonly authorizes?: Client.AuthorizationKind | "none"
}

const call = <U extends Usecase.Any, Args extends ReadonlyArray<unknown>, A>(row: Call<U, Args, A>) => row

const acknowledged =
  <U extends Usecase.Any>(usecase: U, fieldsOnError?: Responses.ErrorFields) =>
  (received: Responses.Received): Either.Either<void, ClientError.CallError> =>
    Either.map(Responses.decodeChecked(usecase, received, fieldsOnError), () => undefined)

const license =
  (usecase: typeof Usecase.AuthByLicense | typeof Usecase.GetCurrentLicense) =>
  (received: Responses.Received): Either.Either<Model.LicenseInfo, ClientError.CallError> =>
    Either.flatMap(
      Responses.decodeChecked(
        usecase,
        received,
        usecase === Usecase.GetCurrentLicense ? Responses.licenseOnError : undefined
      ),
      (fields) => Responses.toLicenseInfo(usecase.name, fields, received.receivedAt)
    )

const account =
  (usecase: typeof Usecase.AuthByCredentials | typeof Usecase.GetCurrentAccount) =>
  (received: Responses.Received): Either.Either<Model.AccountInfo, ClientError.CallError> =>
    Either.flatMap(
      Responses.decodeChecked(
        usecase,
        received,
        usecase === Usecase.GetCurrentAccount ? Responses.accountOnError : undefined
      ),
      (fields) => Responses.toAccountInfo(usecase.name, fields, received.receivedAt)
    )

/**
 * Every call the client makes, keyed by the client method (plus `initialize` and
 * `stopFileTransfer`, which the session and downloads make).
 */
export const table = {
  initialize: call({
    usecase: Usecase.Initialize,
    request: (apiKey: Redacted.Redacted<string>, clientId: string) => ({ socket_api_key: apiKey, client_id: clientId }),
    // Keepalive starts from the instant `initialize` succeeded.
    response: (received) =>
      Either.map(Responses.toApplication(received), (application) => ({
        application,
        receivedAt: received.receivedAt
      }))
  }),
  createAccount: call({
    usecase: Usecase.CreateAccount,
    request: (request: Client.CreateAccountRequest) => ({
      login: request.login,
      password: request.password,
      ...(request.comment === undefined ? {} : { comment: request.comment }),
      ...(request.license === undefined ? {} : { license: request.license }),
      credentials_type: request.credentialsType
    }),
    response: acknowledged(Usecase.CreateAccount, Responses.retryAfterOnError)
  }),
  authByLicense: call({
    usecase: Usecase.AuthByLicense,
    request: (license: Redacted.Redacted<string>) => ({ license }),
    response: license(Usecase.AuthByLicense),
    authorizes: "license"
  }),
  authByCredentials: call({
    usecase: Usecase.AuthByCredentials,
    request: (credentials: Client.Credentials) => ({
      login: credentials.login,
      password: credentials.password,
      ...(credentials.license === undefined ? {} : { license: credentials.license }),
      credentials_type: credentials.credentialsType ?? 0
    }),
    response: account(Usecase.AuthByCredentials),
    authorizes: "account"
  }),
  linkLicense: call({
    usecase: Usecase.LinkLicenseToAccount,
    request: (license: Redacted.Redacted<string>) => ({ license }),
    response: acknowledged(Usecase.LinkLicenseToAccount)
  }),
  logout: call({
    usecase: Usecase.Logout,
    request: () => ({}),
    response: acknowledged(Usecase.Logout),
    authorizes: "none"
  }),
  blacklist: call({
    usecase: Usecase.Blacklist,
    request: (comment?: string) => (comment === undefined ? {} : { comment }),
    response: (received) => (received.resolvedByClose ? Either.void : acknowledged(Usecase.Blacklist)(received)),
    appliedOnClose: true
  }),
  stopFileTransfer: call({
    usecase: Usecase.StopFileTransfer,
    request: (transferId: string, issueToken: boolean) =>
      issueToken ? { transfer_id: transferId, issue_token: true } : { transfer_id: transferId },
    response: (received) =>
      Either.map(Responses.decodeChecked(Usecase.StopFileTransfer, received), (response) =>
        Option.fromNullable(response.resume_token)
      )
  }),
  getFileMetadata: call({
    usecase: Usecase.GetFileMetadata,
    request: (filename: string) => ({ filename }),
    response: Responses.toFileMetadata
  }),
  getOnlineUsersCount: call({
    usecase: Usecase.GetOnlineUsersCount,
    request: () => ({}),
    response: (received) =>
      Either.flatMap(Responses.decodeChecked(Usecase.GetOnlineUsersCount, received), (response) =>
        Responses.need(Usecase.GetOnlineUsersCount.name, "online_users_count", response.online_users_count)
      )
  }),
  getVariable: call({
    usecase: Usecase.GetVariable,
    request: (name: string) => ({ name }),
    response: (received) =>
      Either.flatMap(Responses.decodeChecked(Usecase.GetVariable, received), (response) =>
        Responses.need(Usecase.GetVariable.name, "content", response.content)
      )
  }),
  setSessionValue: call({
    usecase: Usecase.SetSessionValue,
    request: (key: string, value: string, options?: Client.SessionValueOptions) =>
      Either.map(Responses.ttlSeconds(options?.ttl), (ttl) => ({ key, value, ttl })),
    response: acknowledged(Usecase.SetSessionValue)
  }),
  getSessionValue: call({
    usecase: Usecase.GetSessionValue,
    request: (key: string) => ({ key }),
    response: (received) =>
      Either.flatMap(Responses.decodeChecked(Usecase.GetSessionValue, received), (response) =>
        Responses.need(Usecase.GetSessionValue.name, "value", response.value)
      )
  }),
  getCurrentLicense: call({
    usecase: Usecase.GetCurrentLicense,
    request: () => ({}),
    response: license(Usecase.GetCurrentLicense)
  }),
  getCurrentAccount: call({
    usecase: Usecase.GetCurrentAccount,
    request: () => ({}),
    response: account(Usecase.GetCurrentAccount)
  }),
  panelEventSubscribe: call({
    usecase: Usecase.PanelEventSubscribe,
    request: () => ({}),
    response: acknowledged(Usecase.PanelEventSubscribe)
  })
}

/** The request fields of a row, or its pre-check's refusal. */
export const fieldsOf = <U extends Usecase.Any, Args extends ReadonlyArray<unknown>, A>(
  row: Call<U, Args, A>,
  args: Args
): Either.Either<Fields<U>, ClientError.InvalidArgument> => {
  const fields = row.request(...args)
  return Either.isEither(fields) ? fields : Either.right(fields)
}

/**
 * Sends a row's request with checked fields on `connection` and maps its response; the deadline is
 * the caller's (it started when the call was made).
 */
export const runOn = <U extends Usecase.Any, Args extends ReadonlyArray<unknown>, A>(
  connection: Connection.Connection,
  row: Call<U, Args, A>,
  fields: Fields<U>,
  deadline: number,
  millis: number = connection.config.requestTimeoutMillis
): Effect.Effect<A, ClientError.CallError> =>
  Effect.flatMap(
    Connection.request(
      connection,
      row.usecase,
      (id) => Usecase.encodeRequest(row.usecase, { ...fields, id } as Usecase.Request<U>),
      { deadline, millis, appliedOnClose: row.appliedOnClose === true }
    ),
    row.response
  )
