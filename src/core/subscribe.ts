/**
 * Live updates: one subscription per follower, over WebSocket (`/.json`) or,
 * where a WebSocket cannot be used, over Webdis's chunked HTTP stream
 * (`POST /` with `SUBSCRIBE/<channel>`: the channel stays out of the URL).
 */
import { NetworkError, type RelayError } from "./errors.ts";

export type TransportName = "websocket" | "http-stream";

export interface SubscriptionHandlers {
  /** The server confirmed the subscription; messages from now on arrive. */
  onOpen(): void;
  onMessage(payload: string): void;
  /** The subscription ended without `close()` being called. */
  onDrop(error: RelayError): void;
}

export interface Subscription {
  readonly transport: TransportName;
  close(): void;
}

/** The part of the WebSocket API we use; browsers, Deno and `ws` all provide it. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** Drops the connection at once (`ws` has it; browsers do not need it). */
  terminate?(): void;
}

/** Opens a WebSocket to `url` that Webdis accepts (it needs an Origin header). */
export type WebSocketFactory = (url: string, origin: string) => WebSocketLike;

export interface Subscriber {
  readonly name: TransportName;
  /** The door it subscribes through (for status and tests). */
  readonly url?: string;
  subscribe(channel: string, handlers: SubscriptionHandlers): Subscription;
}

type Frame = { SUBSCRIBE?: unknown };

/** Handles one decoded Webdis frame; true when it confirmed the subscription. */
function dispatch(frame: Frame, channel: string, h: SubscriptionHandlers): boolean {
  const body = frame.SUBSCRIBE;
  if (!Array.isArray(body) || body[1] !== channel) return false;
  if (body[0] === "subscribe") {
    h.onOpen();
    return true;
  }
  if (body[0] === "message" && typeof body[2] === "string") h.onMessage(body[2]);
  return false;
}

function wsUrl(base: string): string {
  const u = new URL(base);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  u.pathname = `${u.pathname.replace(/\/$/, "")}/.json`;
  return u.toString();
}

export function webSocketSubscriber(baseUrl: string, factory: WebSocketFactory, openTimeoutMs = 5_000): Subscriber {
  const url = wsUrl(baseUrl);
  const origin = new URL(baseUrl).origin;
  return {
    name: "websocket",
    url: baseUrl,
    subscribe(channel, h) {
      let closed = false;
      let opened = false;
      let ws: WebSocketLike;
      const drop = (why: string) => {
        if (closed) return;
        closed = true;
        clearTimeout(timer);
        try {
          ws.close();
        } catch {}
        h.onDrop(new NetworkError(why));
      };
      const timer = setTimeout(() => drop(`WebSocket did not open within ${openTimeoutMs} ms`), openTimeoutMs);
      try {
        ws = factory(url, origin);
      } catch (e) {
        clearTimeout(timer);
        throw new NetworkError("cannot open a WebSocket", e);
      }
      ws.onopen = () => ws.send(JSON.stringify(["SUBSCRIBE", channel]));
      ws.onmessage = (ev) => {
        if (closed || typeof ev.data !== "string") return;
        let frame: Frame;
        try {
          frame = JSON.parse(ev.data) as Frame;
        } catch {
          return;
        }
        if (dispatch(frame, channel, h) && !opened) {
          opened = true;
          clearTimeout(timer);
        }
      };
      ws.onerror = () => drop("WebSocket error");
      ws.onclose = () => drop("WebSocket closed");
      return {
        transport: "websocket",
        close() {
          if (closed) return;
          closed = true;
          clearTimeout(timer);
          try {
            if (ws.readyState === 1) ws.send(JSON.stringify(["UNSUBSCRIBE", channel]));
            ws.close(1000);
          } catch {}
          // Webdis never answers a close handshake; where we can, drop the socket
          // rather than wait for the 30 s close timeout.
          if (ws.terminate) setTimeout(() => ws.terminate?.(), 50);
        },
      };
    },
  };
}

/**
 * Splits a stream of back-to-back JSON objects (Webdis sends `{...}{...}`
 * with no separator, and chunks may cut anywhere) into whole objects.
 */
export class JsonObjectSplitter {
  #buf = "";
  #depth = 0;
  #inString = false;
  #escaped = false;
  #start = 0;
  #scanned = 0;

  push(text: string): string[] {
    this.#buf += text;
    const out: string[] = [];
    const s = this.#buf;
    for (let i = this.#scanned; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (c === 92) this.#escaped = true;
        else if (c === 34) this.#inString = false;
      } else if (c === 34) this.#inString = true;
      else if (c === 123 || c === 91) {
        if (this.#depth === 0) this.#start = i;
        this.#depth++;
      } else if (c === 125 || c === 93) {
        this.#depth--;
        if (this.#depth === 0) out.push(s.slice(this.#start, i + 1));
      }
    }
    if (this.#depth === 0) {
      this.#buf = "";
      this.#scanned = 0;
    } else {
      this.#buf = s.slice(this.#start);
      this.#scanned = this.#buf.length;
      this.#start = 0;
    }
    return out;
  }
}

export function httpStreamSubscriber(
  baseUrl: string,
  doFetch: typeof fetch = (...a) => fetch(...a),
  openTimeoutMs = 5_000,
): Subscriber {
  const url = baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`;
  return {
    name: "http-stream",
    url: baseUrl,
    subscribe(channel, h) {
      const abort = new AbortController();
      let closed = false;
      const drop = (why: string, cause?: unknown) => {
        if (closed) return;
        closed = true;
        clearTimeout(timer);
        abort.abort();
        h.onDrop(new NetworkError(why, cause));
      };
      const timer = setTimeout(() => drop(`subscription did not open within ${openTimeoutMs} ms`), openTimeoutMs);
      (async () => {
        const res = await doFetch(url, { method: "POST", body: `SUBSCRIBE/${channel}`, signal: abort.signal });
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        const split = new JsonObjectSplitter();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const text of split.push(value)) {
            if (closed) return;
            let frame: Frame;
            try {
              frame = JSON.parse(text) as Frame;
            } catch {
              continue;
            }
            if (dispatch(frame, channel, h)) clearTimeout(timer);
          }
        }
        drop("subscription stream ended");
      })().catch((e) => drop("subscription stream failed", e));
      return {
        transport: "http-stream",
        close() {
          if (closed) return;
          closed = true;
          clearTimeout(timer);
          abort.abort();
        },
      };
    },
  };
}
