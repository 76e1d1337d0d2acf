/**
 * Deno's WebSocket sends no Origin by default, and Webdis only completes a
 * handshake that has one; Deno accepts a non-standard `headers` option.
 */
import type { WebSocketFactory } from "../core/subscribe.ts";

type DenoWebSocket = new (url: string, options: { headers: Record<string, string> }) => WebSocket;

export const denoWebSocket: WebSocketFactory = (url, origin) =>
  new (WebSocket as unknown as DenoWebSocket)(url, { headers: { origin } }) as never;
