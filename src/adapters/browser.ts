/** Browsers send Origin on every WebSocket handshake by themselves. */
import type { WebSocketFactory } from "../core/subscribe.ts";

export const browserWebSocket: WebSocketFactory = (url) => new WebSocket(url) as never;
