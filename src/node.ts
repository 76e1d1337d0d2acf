/** Node entry: the same API as `./index.ts`, with the `ws` WebSocket adapter and node:http for commands. */
import { keepAliveFetch, nodeWebSocket } from "./adapters/node.ts";
import { createRelay as createCore, type Relay, type RelayOptions } from "./core/relay.ts";

export * from "./index.ts";

export function createRelay(options: RelayOptions): Relay {
  return createCore({ webSocket: nodeWebSocket, ...options }, { commandFetch: keepAliveFetch as typeof fetch });
}
