/**
 * Helpers for the reference server tests: fixtures, the server on the in-memory network (virtual time)
 * or on `ws`, and raw clients that send exact texts and record every frame the server sends.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Fixtures from "@protokernel/blazeauth/Fixtures"
import * as Server from "@protokernel/blazeauth/Server"
import { Transport, MemoryTransport, WsTransport } from "@protokernel/wire"
import { assert } from "@effect/vitest"
import { Effect, Either, Layer, TestClock } from "effect"
import type { Scope } from "effect"
import { base64 } from "../../../../test/kit/bytes.js"
import { withLiveTimeout } from "../../../../test/kit/eventually.js"
import { rawConnect } from "../../../../test/kit/rawPeer.js"

// ---- constants ------------------------------------------------------------------------------------

export const API_KEY = "BA0123456789ABCDEFGHI"
export const OTHER_KEY = "BA-OTHER-APPLICATION-KEY"
export const SLEEPY_KEY = "BA-PAUSED-APPLICATION-KEY"
export const CLIENT_ID = "desktop-main"
/** 2^64 − 1: the push id. */
export const MAX_ID = "18446744073709551615"

/** The virtual clock of every memory test starts here (Unix milliseconds). */
export const T0_MS = 1_750_000_000_000
export const T0 = T0_MS / 1000

/** The file of the worked examples (§4.10). */
export const FILE_TEXT = "0123456789abcdefghij"
export const FILE_SHA = "6bc14bdc4517a7a682c6910de2e2946eb8e1ecd04090728fef6d092a7ceb62c5"
export const GHIJ_SHA = "975ca72b6bdf0e938bcc214727c939f7fc64109ee8f14add455a2364e8d1451f"
export const EMPTY_SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
export const ALPHA_TEXT = "ABCDEFGHIJKLMNOPQRST"

// ---- fixtures -------------------------------------------------------------------------------------

type Mutable<T> = { -readonly [K in keyof T]: T[K] }
export type AppInput = Mutable<Fixtures.Input["applications"][number]>

/** The main application of most tests, "Demo"; `overrides` replace whole fields. */
export const demoApp = (overrides: Partial<AppInput> = {}): AppInput => ({
  api_key: API_KEY,
  name: "Demo",
  version: "1.0.0",
  blacklisted_client_ids: ["banned-device"],
  licenses: [
    { key: "ABCDEF-123456", levels: ["pro"], comment: "main seat", duration_seconds: 86400 },
    { key: "LIFETIME-0001", levels: ["life"], duration_seconds: 0 },
    { key: "SHORT-000060", levels: ["short"], duration_seconds: 60 },
    { key: "PAUSED-00001", paused: true, duration_seconds: 86400 },
    // Blacklisted and paused: 103 comes first.
    { key: "BLACK-000001", blacklisted: true, paused: true, duration_seconds: 86400 },
    { key: "BOUND-000001", activated: true, client_id: "other-device", duration_seconds: 86400 },
    { key: "ACTIVE-00001", activated: true, client_id: CLIENT_ID, duration_seconds: 86400 },
    // Activated at the server's start; expires 60 s later.
    { key: "EXPIRING-001", activated: true, client_id: CLIENT_ID, duration_seconds: 60 },
    { key: "LINKED-00001", account: "linked_user", levels: ["pro"], duration_seconds: 86400 },
    { key: "FRESH-000001", levels: ["gold"], comment: "fresh one", duration_seconds: 3600 },
    { key: "FRESH-000002", levels: ["silver"], duration_seconds: 7200 },
    { key: "FRESH-000003", duration_seconds: 0 },
    { key: "SECOND-00001", levels: ["pro"], comment: "second seat", duration_seconds: 86400 },
    // Longer than 64 characters: refused by length although it exists.
    { key: "L".repeat(65), duration_seconds: 0 }
  ],
  accounts: [
    { login: "demo_user", password: "strong-password", credentials_type: 0, levels: ["basic"], comment: "seeded" },
    { login: "user@example.com", password: "strong-password", credentials_type: 1 },
    { login: "blocked_user", password: "strong-password", blacklisted: true },
    { login: "linked_user", password: "strong-password", levels: ["basic", "pro"] },
    { login: "needs_license", password: "strong-password", license_required: true, ip_address: "198.51.100.7" }
  ],
  variables: [
    { name: "launcher_config", content: '{"featureFlag":true}' },
    { name: "secret_cfg", content: "s3cr3t", auth_required: true },
    { name: "paused_var", content: "x", paused: true },
    { name: "paused_secret", content: "y", paused: true, auth_required: true },
    // Seeded, but a name under 3 characters is never looked up (400).
    { name: "ab", content: "too short" }
  ],
  files: [
    { name: "client.bin", content_base64: base64(FILE_TEXT) },
    { name: "alpha.bin", content_base64: base64(ALPHA_TEXT) },
    { name: "empty.bin", content_base64: "" }
  ],
  ...overrides
})

/** Demo plus "Other" (a second application) and "Sleepy" (a paused one). */
export const fixtures = (demo: Partial<AppInput> = {}, more: ReadonlyArray<AppInput> = []): Fixtures.Input => ({
  applications: [
    demoApp(demo),
    {
      api_key: OTHER_KEY,
      name: "Other",
      version: "2.0.0",
      licenses: [{ key: "OTHER-LICENSE", duration_seconds: 0 }]
    },
    { api_key: SLEEPY_KEY, name: "Sleepy", paused: true },
    ...more
  ]
})

// ---- servers --------------------------------------------------------------------------------------

export interface Setup {
  readonly fixtures?: Fixtures.Input | undefined
  /** Relative file `path`s are resolved against this directory. */
  readonly baseDirectory?: string | undefined
  readonly options?: Omit<Server.Options, "fixtures"> | undefined
}

const serverOptions = (setup: Setup) =>
  Effect.map(Fixtures.decode(setup.fixtures ?? fixtures(), setup.baseDirectory), (decoded): Server.Options => ({
    ...setup.options,
    fixtures: decoded
  }))

/** The server on the in-memory network: deadlines follow the `TestClock`. */
export const memoryLayer = (setup: Setup = {}): Layer.Layer<Server.BlazeauthServer | Transport.Connector> =>
  Layer.unwrapEffect(Effect.map(serverOptions(setup), Server.layer)).pipe(
    Layer.provideMerge(MemoryTransport.layer()),
    Layer.provide(NodeFileSystem.layer),
    Layer.orDie
  )

/** The server over `ws` on 127.0.0.1 (free port) and the `ws` connector. */
export const wsLayer = (setup: Setup = {}): Layer.Layer<Server.BlazeauthServer | Transport.Connector> =>
  Layer.merge(Layer.unwrapEffect(Effect.map(serverOptions(setup), Server.layerWs)), WsTransport.layerConnector).pipe(
    Layer.orDie
  )

/** Sets the virtual clock to `T0_MS`, then runs `body` against a fresh memory server. */
export const withServer =
  (setup: Setup = {}) =>
  <A, E, R>(body: Effect.Effect<A, E, R>) =>
    Effect.zipRight(TestClock.setTime(T0_MS), Effect.provide(body, memoryLayer(setup)))

// ---- raw clients ----------------------------------------------------------------------------------

/** How a frame shows in assertions: text as is, binary as `bin:` + its bytes as latin1 characters. */
export const show = (frame: Transport.Frame): string =>
  typeof frame === "string" ? frame : `bin:${Buffer.from(frame).toString("latin1")}`

export interface Closed {
  readonly code: number
  readonly reason: string
}

export interface RawClient {
  readonly transport: Transport.Transport
  /** Sends a frame; dies when the connection is closed. */
  readonly send: (frame: Transport.Frame) => Effect.Effect<void>
  /** The next frame; dies on a close or after 10 s of real time without one. */
  readonly next: Effect.Effect<Transport.Frame>
  /** The next frame, which must be text. */
  readonly text: Effect.Effect<string>
  /** The next frame, which must be binary. */
  readonly binary: Effect.Effect<Uint8Array>
  /** Sends a text and returns the next text frame. */
  readonly call: (text: string) => Effect.Effect<string>
  /** Takes `count` frames, shown with `show`. */
  readonly take: (count: number) => Effect.Effect<Array<string>>
  /** Every remaining frame (shown) and the close. */
  readonly rest: Effect.Effect<{ readonly frames: Array<string>; readonly close: Closed }>
  /** The close; fails the test if any frame comes before it. */
  readonly closed: Effect.Effect<Closed>
  /** Whether the connection is still open. */
  readonly isOpen: Effect.Effect<boolean>
}

/** Opens a raw connection to the server in context. */
export const connect: Effect.Effect<RawClient, never, Server.BlazeauthServer | Transport.Connector | Scope.Scope> =
  Effect.gen(function* () {
    const server = yield* Server.BlazeauthServer
    const peer = yield* Effect.orDie(rawConnect(server.url))
    const transport = peer.transport
    const take = withLiveTimeout(peer.take, "a frame or a close")
    const next = Effect.flatMap(
      take,
      Either.match({
        onLeft: (close) => Effect.dieMessage(`expected a frame, got close ${close.code} '${close.reason}'`),
        onRight: Effect.succeed
      })
    )
    const text = Effect.flatMap(next, (frame) =>
      typeof frame === "string" ? Effect.succeed(frame) : Effect.dieMessage(`expected text, got ${show(frame)}`)
    )
    const binary = Effect.flatMap(next, (frame) =>
      typeof frame === "string" ? Effect.dieMessage(`expected binary, got ${frame}`) : Effect.succeed(frame)
    )
    const send = (frame: Transport.Frame) =>
      Effect.catchAll(transport.send(frame), (close) =>
        Effect.dieMessage(`cannot send: closed ${close.code} '${close.reason}'`)
      )
    const rest = Effect.gen(function* () {
      const frames: Array<string> = []
      while (true) {
        const item = yield* take
        if (Either.isLeft(item)) return { frames, close: { code: item.left.code, reason: item.left.reason } }
        frames.push(show(item.right))
      }
    })
    return {
      transport,
      send,
      next,
      text,
      binary,
      call: (message: string) => Effect.zipRight(send(message), text),
      take: (count: number) => Effect.forEach(Array.from({ length: count }), () => Effect.map(next, show)),
      rest,
      closed: Effect.map(rest, ({ close, frames }) => {
        assert.deepStrictEqual(frames, [], "no frame before the close")
        return close
      }),
      isOpen: transport.isOpen
    } satisfies RawClient
  })

/** A request or response text in canonical form: `{"type":…,"payload":{…}}` with keys as written. */
export const msg = (type: number, payload: object): string => JSON.stringify({ type, payload })

export const initText = (id: number, clientId = CLIENT_ID, key = API_KEY) =>
  msg(1, { id, socket_api_key: key, client_id: clientId })

export const demoInitOk = (id: number) => msg(1, { id, app_name: "Demo", app_version: "1.0.0", status: 1 })

/** A connection initialized for Demo with request id 1. */
export const initialized = (clientId = CLIENT_ID) =>
  Effect.gen(function* () {
    const client = yield* connect
    assert.strictEqual(yield* client.call(initText(1, clientId)), demoInitOk(1))
    return client
  })

/** The `status` of a response text (undefined when absent). */
export const statusOf = (text: string): unknown => payloadOf(text)["status"]

const isRecord = (value: unknown): value is { readonly [key: string]: unknown } =>
  typeof value === "object" && value !== null && !Array.isArray(value)

export const payloadOf = (text: string): { readonly [key: string]: unknown } => {
  const parsed: unknown = JSON.parse(text)
  const payload = isRecord(parsed) ? parsed["payload"] : undefined
  if (!isRecord(payload)) return assert.fail(`no payload: ${text}`)
  return payload
}

/** Initialized (id 1) and authorized with a license (id 2). */
export const withLicense = (license: string, clientId = CLIENT_ID) =>
  Effect.gen(function* () {
    const client = yield* initialized(clientId)
    const reply = yield* client.call(msg(3, { id: 2, license }))
    assert.strictEqual(statusOf(reply), 1, reply)
    return client
  })

/** Initialized (id 1) and authorized with an account (id 2). */
export const withAccount = (login: string, password = "strong-password", credentialsType = 0, clientId = CLIENT_ID) =>
  Effect.gen(function* () {
    const client = yield* initialized(clientId)
    const reply = yield* client.call(msg(4, { id: 2, login, password, credentials_type: credentialsType }))
    assert.strictEqual(statusOf(reply), 1, reply)
    return client
  })

/** Sends a ping with this id and checks that its response is the very next frame: nothing else was queued. */
export const expectQuiet = (client: RawClient, id = 999) =>
  Effect.gen(function* () {
    assert.strictEqual(yield* client.call(msg(0, { id })), msg(0, { id }), "only the ping response was pending")
  })

// ---- streams --------------------------------------------------------------------------------------

/**
 * Replaces transfer ids (32 lowercase hex) and resume tokens (43 base64url characters) with `T1`, `T2`, …
 * and `TOKEN1`, … in order of first appearance, checking their format; returns the frames and the
 * values found.
 */
export const normalize = (frames: ReadonlyArray<string>) => {
  const ids: Array<string> = []
  const tokens: Array<string> = []
  const out = frames.map((frame) =>
    frame
      .replace(/"transfer_id":"([^"]*)"/g, (_, id: string) => {
        assert.match(id, /^[0-9a-f]{32}$/, "a transfer id is 32 lowercase hex characters")
        if (!ids.includes(id)) ids.push(id)
        return `"transfer_id":"T${ids.indexOf(id) + 1}"`
      })
      .replace(/"resume_token":"([^"]*)"/g, (_, token: string) => {
        assert.match(token, /^[A-Za-z0-9_-]{43}$/, "a resume token is 43 base64url characters")
        if (!tokens.includes(token)) tokens.push(token)
        return `"resume_token":"TOKEN${tokens.indexOf(token) + 1}"`
      })
  )
  return { frames: out, ids, tokens }
}

/** A stream header as the server writes it; `extra` fields follow `offset` in the given order. */
export const header = (id: number, transferId: string, chunkSize: number, offset: number, extra: object = {}) =>
  msg(8, { id, transfer_id: transferId, binary_data: true, chunk_size: chunkSize, offset, ...extra })

/** The frames of a download until its terminal header (and its binary frame, if any). */
export const readStream = (client: RawClient) =>
  Effect.gen(function* () {
    const frames: Array<string> = []
    const bytes: Array<Uint8Array> = []
    while (true) {
      const text = yield* client.text
      frames.push(text)
      const payload = payloadOf(text)
      const chunkSize = payload["chunk_size"]
      if (typeof chunkSize === "number" && chunkSize > 0) {
        const chunk = yield* client.binary
        assert.strictEqual(chunk.byteLength, chunkSize, "the binary frame has chunk_size bytes")
        bytes.push(chunk)
        frames.push(show(chunk))
      }
      const status = payload["status"]
      if (status !== undefined && status !== 0) return { frames, bytes: Buffer.concat(bytes), status }
    }
  })
