/**
 * Node quirks. Node's global WebSocket sends no Origin header, so Webdis never
 * completes its handshake; the `ws` package lets us set one. Node's global
 * fetch costs ~1.2 ms of CPU per small request here (against ~0.26 ms for
 * node:http on a keep-alive agent, bench/README.md "Client profile"), and
 * commands are small requests, so they go through `keepAliveFetch`; the
 * streaming subscription keeps the global fetch.
 */
import http from "node:http";
import https from "node:https";
import WebSocket from "ws";
import type { WebSocketFactory } from "../core/subscribe.ts";

export const nodeWebSocket: WebSocketFactory = (url, origin) => new WebSocket(url, { origin }) as never;

// An idle socket is dropped after 3 s, before the edge's 4 s client timeout closes it
// under a request (docs/edge.md); idle pooled sockets never keep the process alive.
const pool = { keepAlive: true, maxSockets: 256, timeout: 3_000 };
const agents = { "http:": new http.Agent(pool), "https:": new https.Agent(pool) };

/** The part of fetch the command door needs (a POST with a text body, its status, headers and text), on node:http. */
export function keepAliveFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  const url = new URL(String(input));
  const signal = init.signal ?? undefined;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const mod = url.protocol === "https:" ? https : http;
    const agent = url.protocol === "https:" ? agents["https:"] : agents["http:"];
    const req = mod.request(
      url,
      { method: init.method ?? "GET", headers: init.headers as http.OutgoingHttpHeaders, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          // Never throw from an event handler: a reply Response cannot hold rejects instead.
          try {
            const status = res.statusCode ?? 502;
            const headers = new Headers();
            for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers.set(k, String(v));
            const empty = status === 204 || status === 304 || status < 200;
            resolve(new Response(empty ? null : Buffer.concat(chunks), { status: Math.max(200, status), headers }));
          } catch (e) {
            reject(e);
          }
        });
      },
    );
    const abort = () => req.destroy(signal?.reason instanceof Error ? signal.reason : new Error("aborted"));
    signal?.addEventListener("abort", abort, { once: true });
    req.on("close", () => signal?.removeEventListener("abort", abort));
    req.on("error", reject);
    req.end(typeof init.body === "string" ? init.body : undefined);
  });
}
