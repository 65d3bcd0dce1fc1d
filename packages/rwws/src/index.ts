/**
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as AccessKey from "./AccessKey.js"

/** @since 0.1.0 */
export * as Client from "./Client.js"

/** @since 0.1.0 */
export * as ClientError from "./ClientError.js"

/** @since 0.1.0 */
export * as CloseCode from "./CloseCode.js"

/** @since 0.1.0 */
export * as Handshake from "./Handshake.js"

/** @since 0.1.0 */
export * as KeyStore from "./KeyStore.js"

/** @since 0.1.0 */
export * as Packet from "./Packet.js"

/** @since 0.1.0 */
export * as PacketError from "./PacketError.js"

/** @since 0.1.0 */
export * as Server from "./Server.js"

/** @since 0.1.0 */
export * as Settings from "./Settings.js"
