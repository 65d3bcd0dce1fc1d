/**
 * The program behind `protokernel blazeauth serve`, as a plain Effect over checked options; `Cli`
 * parses the command line into these options.
 *
 * @since 0.1.0
 */
import * as Server from "@protokernel/blazeauth/Server"
import * as Console from "effect/Console"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as CliError from "./CliError.js"

/**
 * Options of `blazeauth serve`. Left out: the spec's values (init deadline 15 s, chunks of 64 KiB).
 *
 * @since 0.1.0
 * @category models
 */
export interface ServeOptions {
  readonly host: string
  /** 0 picks a free port. */
  readonly port: number
  /** The fixtures JSON file; file paths inside it are relative to it. */
  readonly fixtures: string
  readonly initDeadline: Option.Option<Duration.Duration>
  readonly chunkSize: Option.Option<number>
}

/**
 * The stdout line `serve` prints once it accepts connections, e.g. `listening ws://127.0.0.1:41234`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const listeningLine = (url: string): string => `listening ${url}`

/**
 * Serves Blazeauth until interrupted: loads the fixtures, prints `listening ws://HOST:PORT` on stdout
 * when ready, then waits; interruption (SIGINT/SIGTERM) closes open sessions with 1000 and stops
 * listening. Bad fixtures or options fail with exit code 2, a port in use with 1.
 *
 * @since 0.1.0
 * @category programs
 */
export const serve = (options: ServeOptions): Effect.Effect<never, CliError.CliError> =>
  Effect.gen(function* () {
    const fixtures = yield* Server.loadFixtures(options.fixtures).pipe(
      Effect.mapError((error) => CliError.usage(error.message))
    )
    const server = Server.layerWs({
      host: options.host,
      port: options.port,
      fixtures,
      initDeadline: Option.getOrUndefined(options.initDeadline),
      chunkSize: Option.getOrUndefined(options.chunkSize)
    }).pipe(
      Layer.mapError((error) =>
        error._tag === "ListenError" ? CliError.failure(error.message) : CliError.usage(error.message)
      )
    )
    return yield* Effect.gen(function* () {
      const blazeauth = yield* Server.BlazeauthServer
      yield* Console.log(listeningLine(blazeauth.url))
      return yield* Effect.never
    }).pipe(Effect.provide(server))
  })
