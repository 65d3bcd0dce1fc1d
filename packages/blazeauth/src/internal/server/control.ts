/**
 * The control interface of the reference server (§2.3 closes 4100–4102, §5 panel events): list the
 * sessions, push an event to an application's sessions, pause, resume or delete an application,
 * disconnect sessions, replace a file with a new version.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as CloseCode from "../../CloseCode.js"
import * as Field from "../../Field.js"
import * as PanelEvent from "../../PanelEvent.js"
import type {
  BlazeauthServer,
  InvalidPanelEvent,
  SessionInfo,
  SessionSelector,
  UnknownApplication
} from "../../Server.js"
import type * as Directory from "../directory.js"
import type { Connection } from "./connection.js"
import { connectionsOf, type ServerContext } from "./context.js"
import * as FileReader from "./fileReader.js"
import * as Send from "./send.js"

/** @internal */
export const sessions = (server: ServerContext): Effect.Effect<ReadonlyArray<SessionInfo>> =>
  Effect.sync(() =>
    [...server.connections].map((connection) => ({
      id: connection.id,
      remoteAddress: connection.remoteAddress,
      application: connection.app?.name ?? null,
      clientId: connection.clientId,
      identity: connection.identity
    }))
  )

const closeAll = (targets: ReadonlyArray<Connection>, code: CloseCode.Code): Effect.Effect<number> =>
  Effect.as(
    Effect.forEach(targets, (connection) => Send.close(connection, code, CloseCode.reasons[code]), {
      concurrency: "unbounded",
      discard: true
    }),
    targets.length
  )

/** @internal Pushes an event to every initialized session of the application; returns how many got it. */
export const pushPanelEvent = (
  server: ServerContext,
  app: Directory.ApplicationState,
  event: PanelEvent.PanelEvent
): Effect.Effect<number> =>
  Effect.suspend(() => {
    const text = PanelEvent.encode(event)
    const targets = connectionsOf(server, app)
    return Effect.as(
      Effect.forEach(targets, (connection) => Send.write(connection, [text]), {
        concurrency: "unbounded",
        discard: true
      }),
      targets.length
    )
  })

/** @internal Its sessions close with 4101, and its keys' `initialize` too until it is resumed. */
export const pauseApplication = (server: ServerContext, app: Directory.ApplicationState): Effect.Effect<number> =>
  Effect.suspend(() => {
    app.paused = true
    return closeAll(connectionsOf(server, app), CloseCode.codes.applicationPaused)
  })

/** @internal */
export const resumeApplication = (app: Directory.ApplicationState): Effect.Effect<void> =>
  Effect.sync(() => {
    app.paused = false
  })

/** @internal Its sessions close with 4102; its keys then answer status 2. */
export const deleteApplication = (server: ServerContext, app: Directory.ApplicationState): Effect.Effect<number> =>
  Effect.suspend(() => {
    app.deleted = true
    return closeAll(connectionsOf(server, app), CloseCode.codes.applicationDeleted)
  })

const matches = (connection: Connection, selector: SessionSelector): boolean =>
  (selector.id === undefined || connection.id === selector.id) &&
  (selector.application === undefined || connection.app?.name === selector.application) &&
  (selector.clientId === undefined || connection.clientId === selector.clientId)

/** @internal Closes the selected sessions with 4100; returns how many. */
export const disconnect = (server: ServerContext, selector: SessionSelector): Effect.Effect<number> =>
  Effect.suspend(() =>
    closeAll(
      [...server.connections].filter((connection) => matches(connection, selector)),
      CloseCode.codes.disconnectedFromPanel
    )
  )

/** @internal A new version of a file: streams of the old one go on, its resume tokens no longer pass. */
export const putFile = (
  server: ServerContext,
  app: Directory.ApplicationState,
  name: string,
  content: Uint8Array
): Effect.Effect<void> =>
  Effect.sync(() => {
    const version = FileReader.bytesVersion(name, content.slice(), server.nextFileVersion++)
    const file = app.files.get(name)
    if (file === undefined) app.files.set(name, { current: version, transferCount: 0, lastTransferredAt: null })
    else file.current = version
  })

/** @internal The errors of the control interface, made by the public module that declares them. */
export interface Errors {
  readonly unknownApplication: (application: string) => UnknownApplication
  readonly invalidPanelEvent: (eventType: number) => InvalidPanelEvent
}

/** @internal The control interface over a running server. */
export const make = (server: ServerContext, url: string, errors: Errors): BlazeauthServer["Type"] => {
  const find = (name: string): Effect.Effect<Directory.ApplicationState, UnknownApplication> =>
    Effect.suspend(() => {
      const app = server.applications.get(name)
      return app === undefined || app.deleted ? Effect.fail(errors.unknownApplication(name)) : Effect.succeed(app)
    })
  return {
    url,
    sessions: sessions(server),
    pushPanelEvent: (application, event) =>
      Effect.flatMap(find(application), (app) =>
        Option.isNone(Field.int32FromJson(event.eventType))
          ? Effect.fail(errors.invalidPanelEvent(event.eventType))
          : pushPanelEvent(
              server,
              app,
              new PanelEvent.PanelEvent({ eventType: event.eventType, content: event.content ?? {} })
            )
      ),
    pauseApplication: (application) => Effect.flatMap(find(application), (app) => pauseApplication(server, app)),
    resumeApplication: (application) => Effect.flatMap(find(application), resumeApplication),
    deleteApplication: (application) => Effect.flatMap(find(application), (app) => deleteApplication(server, app)),
    disconnect: (selector) => disconnect(server, selector),
    putFile: (application, name, content) =>
      Effect.flatMap(find(application), (app) => putFile(server, app, name, content))
  }
}
