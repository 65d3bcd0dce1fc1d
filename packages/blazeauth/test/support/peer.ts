/**
 * Scripted Blazeauth servers for client tests: each connection to the in-memory network becomes a
 * `Peer` that a test drives by hand (read the next request, answer it, push, close, drop). Timers stay
 * virtual, so deadlines are tested with `TestClock`.
 */
import * as Envelope from "@protokernel/blazeauth/Envelope"
import * as Json from "@protokernel/wire/Json"
import * as Transport from "@protokernel/wire/Transport"
import * as Uint64 from "@protokernel/wire/Uint64"
import { Effect, Either, Option, Queue, Ref, type Scope } from "effect"
import { rawPeer } from "../../../../test/kit/rawPeer.js"

/** A request as the server received it: the exact text and its decoded parts. */
export interface Request {
  readonly text: string
  readonly type: number
  readonly id: bigint
  readonly payload: { readonly [key: string]: unknown }
}

/** The server side of one connection. */
export interface Peer {
  /** 0 for the first connection, then 1, 2, … */
  readonly index: number
  readonly transport: Transport.Transport
  /** Every frame received so far: text as is, binary as `<binary N>`. */
  readonly received: Array<string>
  /** The next frame from the client; fails with the close once every earlier frame was taken. */
  readonly next: Effect.Effect<Transport.Frame, Transport.CloseError>
  /** The next frame as a request envelope (dies on anything else). */
  readonly request: Effect.Effect<Request, Transport.CloseError>
  /** Whether the client sent a frame that no `next`/`request` took yet. */
  readonly hasPending: Effect.Effect<boolean>
  readonly send: (frame: Transport.Frame) => Effect.Effect<void>
  /** Sends `{"type":request.type,"payload":{"id":request.id,...fields}}`. */
  readonly reply: (request: Request, fields?: Record<string, unknown>) => Effect.Effect<void>
  /** Sends a type-18 push with id MAX. */
  readonly push: (eventType: unknown, content?: unknown) => Effect.Effect<void>
  readonly close: (code: number, reason?: string) => Effect.Effect<void>
  /** Drops the connection without a close frame: the client sees 1006. */
  readonly drop: Effect.Effect<void>
  /** The close as this side saw it (code and reason of the client's close frame, initiator "remote"). */
  readonly closed: Effect.Effect<Transport.CloseError>
}

/** A server that hands out its connections as peers. */
export interface Server {
  /** The next connection (waits for it). */
  readonly accept: Effect.Effect<Peer>
  /** Connections made so far. */
  readonly connections: Effect.Effect<number>
}

const ignoreClosed = <E>(effect: Effect.Effect<unknown, E>): Effect.Effect<void> => Effect.ignore(effect)

const asRequest = (frame: Transport.Frame): Effect.Effect<Request> => {
  if (typeof frame !== "string") return Effect.dieMessage("expected a text frame, got a binary one")
  const envelope = Envelope.decode(frame)
  if (Either.isLeft(envelope)) return Effect.dieMessage(`not an envelope: ${frame}`)
  const id = Envelope.id(envelope.right)
  if (Option.isNone(id)) return Effect.dieMessage(`no valid id: ${frame}`)
  return Effect.succeed({ text: frame, type: envelope.right.type, id: id.value, payload: envelope.right.payload })
}

/** Starts a scripted server on the `TransportServer` in context (use `MemoryTransport.layer()`). */
export const makeServer: Effect.Effect<Server, never, Transport.TransportServer | Scope.Scope> = Effect.gen(
  function* () {
    const server = yield* Transport.TransportServer
    const peers = yield* Queue.unbounded<Peer>()
    const count = yield* Ref.make(0)
    yield* Effect.forkScoped(
      server.run((transport) =>
        Effect.gen(function* () {
          const index = yield* Ref.getAndUpdate(count, (n) => n + 1)
          const received: Array<string> = []
          const raw = yield* rawPeer(transport, (frame) =>
            received.push(typeof frame === "string" ? frame : `<binary ${frame.byteLength}>`)
          )
          const send = (frame: Transport.Frame) => ignoreClosed(transport.send(frame))
          const peer: Peer = {
            index,
            transport,
            received,
            next: raw.next,
            request: Effect.flatMap(raw.next, asRequest),
            hasPending: raw.hasPending,
            send,
            reply: (request, fields = {}) => send(Envelope.encode(request.type, { id: request.id, ...fields })),
            push: (eventType, content) =>
              send(
                Json.stringify({
                  type: 18,
                  payload:
                    content === undefined
                      ? { id: Uint64.MAX, event_type: eventType }
                      : { id: Uint64.MAX, event_type: eventType, content }
                })
              ),
            close: (code, reason = "") => ignoreClosed(transport.close(code, reason)),
            drop: ignoreClosed(transport.terminate()),
            closed: raw.closed
          }
          yield* Queue.offer(peers, peer)
          yield* raw.closed
        })
      )
    )
    return { accept: Queue.take(peers), connections: Ref.get(count) }
  }
)

/** The answers of a well-behaved server, by request type. */
export const standardAnswer = (request: Request): Record<string, unknown> | undefined => {
  switch (request.type) {
    case 0:
      return {}
    case 1:
      return { app_name: "Demo", app_version: "1.0.0", status: 1 }
    case 3:
      return {
        license: request.payload["license"],
        levels: ["pro"],
        comment: null,
        ip_address: "203.0.113.10",
        time_left: 0,
        status: 1
      }
    case 4:
      return {
        login: request.payload["login"],
        levels: ["basic"],
        comment: null,
        ip_address: null,
        time_left: 0,
        license_required: false,
        status: 1
      }
    case 12:
      return { online_users_count: 1, status: 1 }
    default:
      return { status: 1 }
  }
}

/** Answers every request with `answer` (no reply when it gives `undefined`) until the connection closes. */
export const serve = (
  peer: Peer,
  answer: (request: Request) => Record<string, unknown> | undefined = standardAnswer
): Effect.Effect<void> =>
  peer.request.pipe(
    Effect.flatMap((request) => {
      const fields = answer(request)
      return fields === undefined ? Effect.void : peer.reply(request, fields)
    }),
    Effect.forever,
    Effect.ignore
  )
