/**
 * mission-relay: stream one leader's live state to many followers through
 * Webdis + Redis. This entry runs in browsers and Deno; Node gets `./node.ts`
 * (same API, with a WebSocket that Webdis accepts).
 */
import { browserWebSocket } from "./adapters/browser.ts";
import { denoWebSocket } from "./adapters/deno.ts";
import { createRelay as createCore, type Relay, type RelayOptions } from "./core/relay.ts";
import type { WebSocketFactory } from "./core/subscribe.ts";

export type { ChangeText } from "./core/content.ts";
export { TabElection, type TabElectionEvents, type TabElectionOptions } from "./core/election.ts";
export * from "./core/errors.ts";
export type { Follower, FollowerEvents, FollowerStatus, FollowerUpdate, ReasonCode } from "./core/follower.ts";
export type {
  Leader,
  LeaderEvents,
  LeaderReason,
  LeaderStatus,
  PublishResult,
  SavedLeader,
} from "./core/leader.ts";
export { changeText, type MakeChange, savedLeaderSchema } from "./core/leader.ts";
export type { Relay, RelayOptions } from "./core/relay.ts";
export { relayOptionsSchema } from "./core/relay.ts";
export type { TransportName, WebSocketFactory, WebSocketLike } from "./core/subscribe.ts";
export { baseKey, encodeArg, type ListPage, MAX_NAME_BYTES, type StreamInfo } from "./core/wire.ts";

function defaultWebSocket(): WebSocketFactory | undefined {
  if ("Deno" in globalThis) return denoWebSocket;
  if (typeof WebSocket === "function" && typeof document !== "undefined") return browserWebSocket;
  return undefined; // no WebSocket that can send Origin: the HTTP stream is used
}

/**
 * Deno's WebSocket works with Webdis, but Webdis never answers the close
 * handshake and Deno cannot drop the socket, so each closed subscription would
 * keep a socket (and the process) alive: Deno prefers the HTTP stream.
 */
function defaultTransports(): RelayOptions["transports"] {
  return "Deno" in globalThis ? ["http-stream", "websocket"] : undefined;
}

export function createRelay(options: RelayOptions): Relay {
  return createCore({ webSocket: defaultWebSocket(), transports: defaultTransports(), ...options });
}
