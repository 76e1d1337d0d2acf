/**
 * Node's global WebSocket sends no Origin header, so Webdis never completes
 * its handshake; the `ws` package lets us set one.
 */
import WebSocket from "ws";
import type { WebSocketFactory } from "../core/subscribe.ts";

export const nodeWebSocket: WebSocketFactory = (url, origin) => new WebSocket(url, { origin }) as never;
