/**
 * The rwws reference server: hello, authentication in docs/rwws.md's check order, the keepalive
 * deadline, revocation, and docs/rwws.md's close codes for every kind of bad input.
 *
 * @since 0.1.0
 */
import * as Deadline from "@protokernel/wire/Deadline"
import * as ServerSession from "@protokernel/wire/ServerSession"
import * as Transport from "@protokernel/wire/Transport"
import * as WsTransport from "@protokernel/wire/WsTransport"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type * as AccessKey from "./AccessKey.js"
import * as CloseCode from "./CloseCode.js"
import * as Handshake from "./Handshake.js"
import * as KeyStore from "./KeyStore.js"
import * as Packet from "./Packet.js"
import * as Settings from "./Settings.js"

/**
 * Server options; durations default to the values of docs/rwws.md (§7).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** From the hello to the auth Pong. Default 30 s. */
  readonly authDeadline?: Duration.DurationInput | undefined
  /** The client must ping at least this often. Default 30 s. */
  readonly pingLimit?: Duration.DurationInput | undefined
  /** Tolerance added to `pingLimit`. Default 2 s. */
  readonly pingGrace?: Duration.DurationInput | undefined
  /** Settings the server accepts. Default: the protocol's (none yet). */
  readonly registry?: Settings.Registry | undefined
  /** The endpoint path, for `url`. Default `/api/ws`. */
  readonly path?: string | undefined
  /** The largest message, text or binary; larger ones close with 1009. Default 64 KiB. */
  readonly maxMessageBytes?: number | undefined
}

/**
 * A running rwws reference server: its URL, revocation and the count of live sessions.
 *
 * @since 0.1.0
 * @category tags
 */
export class RwwsServer extends Context.Tag("@protokernel/rwws/RwwsServer")<
  RwwsServer,
  {
    /** Where clients connect, e.g. `ws://127.0.0.1:41234/api/ws`. */
    readonly url: string
    /**
     * Revokes a key and closes every live session using it with 3004, waiting for their closing
     * handshakes; returns how many were closed. A lookup of the key still in flight is asked again.
     */
    readonly revoke: (
      key: Redacted.Redacted<string>
    ) => Effect.Effect<number, AccessKey.InvalidAccessKey | KeyStore.KeyStoreError>
    /** How many connections are authenticated now. */
    readonly sessions: Effect.Effect<number>
  }
>() {}

/**
 * The largest message the server accepts; larger ones close with 1009.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxMessageBytes = 64 * 1024

const byteLength = (frame: Transport.Frame): number =>
  typeof frame === "string" ? Buffer.byteLength(frame) : frame.byteLength

const duration = (input: Duration.DurationInput | undefined, fallback: Duration.DurationInput) =>
  Duration.decode(input ?? fallback)

/**
 * Serves rwws on the `TransportServer` until the scope closes; open sessions then get 1001.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<RwwsServer["Type"], never, Scope.Scope | Transport.TransportServer | KeyStore.KeyStore> =>
  Effect.gen(function* () {
    const server = yield* Transport.TransportServer
    const keys = yield* KeyStore.KeyStore
    const authDeadline = duration(options.authDeadline, "30 seconds")
    const pingWindow = Duration.sum(duration(options.pingLimit, "30 seconds"), duration(options.pingGrace, "2 seconds"))
    const registry = options.registry ?? Settings.standard
    const maxBytes = options.maxMessageBytes ?? maxMessageBytes
    const live = new Map<KeyStore.KeyId, Set<Transport.Transport>>()
    // Counts revocations, so that a lookup overtaken by one is asked again instead of admitting the key.
    let revocations = 0

    const handle = (session: ServerSession.Session): Effect.Effect<void, never, Scope.Scope> =>
      Effect.gen(function* () {
        const { transport } = session
        let phase: "auth" | "verifying" | "ready" = "auth"

        const closeWith = (close: CloseCode.Close) => session.close(close)

        const sendPong = Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.ignore(transport.send(Packet.encodePong(BigInt(now))))
        )

        // "More than" the window: at exactly the limit the client is still on time.
        const armPingDeadline = Effect.flatMap(Clock.currentTimeMillis, (now) =>
          session.deadline(
            Deadline.after(now, pingWindow) + 1,
            CloseCode.server.pingTimeout(Duration.toMillis(pingWindow))
          )
        )

        const admit = (id: KeyStore.KeyId) =>
          Effect.gen(function* () {
            if (phase !== "verifying" || session.isClosing()) return
            phase = "ready"
            const sessions = live.get(id) ?? new Set()
            live.set(id, sessions.add(transport))
            yield* Effect.addFinalizer(() =>
              Effect.sync(() => sessions.delete(transport) && sessions.size === 0 && live.delete(id))
            )
            yield* sendPong
            // The ping deadline replaces the authentication deadline.
            yield* armPingDeadline
          })

        const lookup = (key: Uint8Array): Effect.Effect<Option.Option<KeyStore.KeyId>, KeyStore.KeyStoreError> =>
          Effect.suspend(() => {
            const before = revocations
            return Effect.flatMap(keys.verify(key), (id) =>
              Option.isSome(id) && revocations !== before ? lookup(key) : Effect.succeed(id)
            )
          })

        // Any failure of the store, a defect included, is the server's fault: 3005, never a hang.
        const verify = (key: Uint8Array): Effect.Effect<void, never, Scope.Scope> =>
          Effect.flatMap(Effect.exit(lookup(key)), (exit) =>
            Exit.match(exit, {
              onFailure: (cause) =>
                Effect.zipRight(Effect.logWarning("key store failed", cause), closeWith(CloseCode.server.serverError)),
              onSuccess: Option.match({
                onNone: () => (phase === "verifying" ? closeWith(CloseCode.server.invalidKey) : Effect.void),
                onSome: admit
              })
            })
          )

        // Frames after the close started never get here (ServerSession drops them).
        const onFrame = (frame: Transport.Frame): Effect.Effect<void, never, Scope.Scope> => {
          // Step −1 of §2.3, in every phase; `ws` enforces it too, other transports may not.
          if (byteLength(frame) > maxBytes) return closeWith(CloseCode.server.messageTooBig)
          switch (phase) {
            case "auth": {
              const auth = Handshake.decodeAuth(frame)
              if (Either.isLeft(auth)) return closeWith(auth.left)
              phase = "verifying"
              return session.fork(verify(auth.right))
            }
            case "ready": {
              if (typeof frame === "string") return closeWith(CloseCode.server.binaryFramesOnly)
              const packets = Packet.decodeClient(frame, registry)
              if (Either.isLeft(packets)) return closeWith(CloseCode.server.protocolError(packets.left.message))
              let pings = 0
              for (const packet of packets.right) if (packet._tag === "Ping") pings++
              if (pings === 0) return Effect.void
              return Effect.zipRight(Effect.repeatN(sendPong, pings - 1), armPingDeadline)
            }
            // While verifying, other messages are dropped.
            case "verifying":
              return Effect.void
          }
        }

        const helloAt = yield* Clock.currentTimeMillis
        yield* session.deadline(Deadline.after(helloAt, authDeadline), CloseCode.server.authTimedOut)
        yield* Effect.ignore(transport.send(Handshake.hello))
        yield* session.forEachFrame(onFrame)
      })

    const serve = (transport: Transport.Transport): Effect.Effect<void> =>
      ServerSession.run(transport, { internalError: CloseCode.server.serverError }, handle).pipe(
        Effect.annotateLogs({ module: "RwwsServer" })
      )

    yield* Effect.forkScoped(server.run(serve, { shutdownClose: CloseCode.server.shuttingDown }))

    return RwwsServer.of({
      url: `${server.url}${options.path ?? "/api/ws"}`,
      revoke: (key) =>
        Effect.gen(function* () {
          revocations++
          const id = yield* keys.revoke(key)
          if (Option.isNone(id)) return 0
          const sessions = [...(live.get(id.value) ?? [])]
          yield* Effect.forEach(
            sessions,
            (transport) => transport.close(CloseCode.server.keyRevoked.code, CloseCode.server.keyRevoked.reason),
            { concurrency: "unbounded", discard: true }
          )
          return sessions.length
        }),
      sessions: Effect.sync(() => {
        let count = 0
        for (const sessions of live.values()) count += sessions.size
        return count
      })
    })
  })

/**
 * The server on any `TransportServer`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<RwwsServer, never, Transport.TransportServer | KeyStore.KeyStore> =>
  Layer.scoped(RwwsServer, make(options))

/**
 * The server over `ws` on `host:port` (default 127.0.0.1, a free port), at `/api/ws`, with the 64 KiB
 * message limit.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWs = (
  options: Options & {
    readonly host?: string | undefined
    readonly port?: number | undefined
    /** The accept backlog; default `WsTransport.defaultBacklog`. */
    readonly backlog?: number | undefined
  } = {}
): Layer.Layer<RwwsServer, Transport.ListenError, KeyStore.KeyStore> =>
  layer(options).pipe(
    Layer.provide(
      WsTransport.layerServer({
        host: options.host,
        port: options.port,
        backlog: options.backlog,
        path: options.path ?? "/api/ws",
        maxMessageBytes: options.maxMessageBytes ?? maxMessageBytes
      })
    )
  )
