/**
 * The web UI's static server (used by `mission-relay up` and the browser
 * tests): web/dist, plus /relay-config.json naming the doors.
 *
 * It is the page's origin, so it decides what the page may talk to: the
 * Content-Security-Policy's connect-src lists exactly the doors in
 * relay-config.json, so even a page tricked into another relay address (a
 * phishing link) cannot send a verifier anywhere else. Every reply carries the
 * same headers, and no request can throw out of the handler: a bad path is a
 * 400, never a crash that would take `up` (and its Redis) down.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { extname, isAbsolute, join, relative, resolve } from "node:path";
import { allDoors, configJson, parseConfig, type RelayConfigInput } from "../core/config.ts";
import { tileOrigin } from "./tile-origin.ts";

export interface WebDoors {
  /** The command door. */
  url: string;
  /** The subscription door (WebSockets), when there is one. */
  subscribeUrl?: string | undefined;
  /**
   * Several doors or shards (src/core/config.ts: `{urls, subscribeUrls}` or
   * `{shards}`): served as relay-config.json instead of url/subscribeUrl, and
   * every door of it is in connect-src.
   */
  config?: RelayConfigInput | undefined;
  /**
   * A raster tile server for the page's map (`up --tile-url`): served in
   * relay-config.json as `map`, and its one origin is added to the CSP's img-src.
   */
  map?: { tileUrl: string; attribution?: string | undefined; maxZoom?: number | undefined } | undefined;
}

/** The doors as the client's config: `config` when given, else the one command and subscription door. */
function doorsConfig(doors: WebDoors): RelayConfigInput {
  if (doors.config) return configJson(parseConfig(doors.config, "web doors"));
  return doors.subscribeUrl ? { url: doors.url, subscribeUrl: doors.subscribeUrl } : { url: doors.url };
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".map": "application/json",
};

/** The origins the page may connect to: each door over HTTP, and the subscription door over WebSocket too. */
export function connectSources(doors: WebDoors): string[] {
  const out = new Set<string>();
  const all = doors.config ? allDoors(parseConfig(doors.config, "web doors")) : undefined;
  const command = all ? all.command : [doors.url];
  const subscribe = all ? all.subscribe : doors.subscribeUrl ? [doors.subscribeUrl] : [];
  for (const raw of command) out.add(new URL(raw).origin);
  for (const raw of subscribe) {
    const u = new URL(raw);
    out.add(u.origin);
    out.add(`${u.protocol === "https:" ? "wss:" : "ws:"}//${u.host}`);
  }
  return [...out];
}

/**
 * The img-src sources: the page's own and data: (a background image is read from
 * a local file as a data: URL), plus the tile server's one origin when there is one.
 * A tile URL that is not http(s) opens nothing (the page refuses it too).
 */
export function imageSources(doors: WebDoors): string[] {
  const tiles = doors.map ? tileOrigin(doors.map.tileUrl) : undefined;
  return ["'self'", "data:", ...(tiles ? [tiles] : [])];
}

/** Headers on every reply: no inline script, no framing, no referrer, no sniffing. */
export function securityHeaders(doors: WebDoors): Record<string, string> {
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src ${imageSources(doors).join(" ")}`,
    `connect-src 'self' ${connectSources(doors).join(" ")}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join("; ");
  return {
    "content-security-policy": csp,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
  };
}

/** The file under `root` a request path names, or undefined when it is not a usable path inside root. */
export function resolvePath(root: string, rawUrl: string | undefined): string | undefined {
  let path: string;
  try {
    path = decodeURIComponent(new URL(rawUrl ?? "/", "http://x").pathname);
  } catch {
    return undefined; // `GET /%`: a malformed escape
  }
  if (path.includes("\0")) return undefined;
  const file = resolve(root, `.${path}`);
  const rel = relative(resolve(root), file);
  if (rel.startsWith("..") || isAbsolute(rel)) return undefined;
  return file;
}

export function webHandler(root: string, doors: WebDoors): (req: IncomingMessage, res: ServerResponse) => void {
  const headers = securityHeaders(doors);
  const config = JSON.stringify(doors.map ? { ...doorsConfig(doors), map: doors.map } : doorsConfig(doors));
  const send = (res: ServerResponse, status: number, type: string, body: string | Buffer, extra = {}) => {
    res.writeHead(status, { ...headers, "content-type": type, "content-length": Buffer.byteLength(body), ...extra });
    res.end(body);
  };
  return (req, res) => {
    try {
      if (req.method !== "GET" && req.method !== "HEAD") {
        send(res, 405, "text/plain; charset=utf-8", "method not allowed\n", { allow: "GET, HEAD" });
        return;
      }
      if ((req.url ?? "/").split("?")[0] === "/relay-config.json") {
        send(res, 200, "application/json", config, { "cache-control": "no-store" });
        return;
      }
      let file = resolvePath(root, req.url);
      if (!file) {
        send(res, 400, "text/plain; charset=utf-8", "bad path\n");
        return;
      }
      // Client-side routes (#/follow/..., unknown paths) get the page itself.
      if (!existsSync(file) || statSync(file).isDirectory()) file = join(root, "index.html");
      // For HEAD, Node sends the headers (with this body's length) and drops the body.
      send(res, 200, TYPES[extname(file)] ?? "application/octet-stream", readFileSync(file));
    } catch {
      // A vanished file, an unreadable folder: an error for this request only.
      if (!res.headersSent) send(res, 500, "text/plain; charset=utf-8", "server error\n");
      else res.destroy();
    }
  };
}

/**
 * Serves `root` on host:port (port 0: a free one). `onError` hears server-level
 * errors after start-up (e.g. EMFILE when a flood of sockets uses up the file
 * descriptors): they are reported, never thrown, so they cannot end `up`.
 */
export function serveWeb(
  root: string,
  doors: WebDoors,
  port: number,
  host = "127.0.0.1",
  onError: (e: Error) => void = () => {},
): Promise<Server> {
  const server = createServer(webHandler(root, doors));
  // Slow or garbled clients: a bounded wait for headers, then a plain 400; idle
  // keep-alive sockets go soon; a cap on open sockets keeps descriptors for the rest.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  server.maxConnections = 1_000;
  server.on("clientError", (_e, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
    else socket.destroy();
  });
  return new Promise((res, rej) => {
    server.once("error", rej);
    server.listen(port, host, () => {
      server.off("error", rej);
      server.on("error", onError);
      res(server);
    });
  });
}
