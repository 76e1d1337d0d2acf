import { randomBytes } from "node:crypto";
import { Agent, request } from "node:http";
/**
 * Tools for the security suite: an attacker's view of Webdis (raw HTTP and
 * WebSocket, any bytes, no client library) and an operator's view of Redis
 * (a binary-safe dump of every database, to prove that a refused call changed
 * nothing).
 */
import { Redis } from "ioredis";
import { expect } from "vitest";
import WebSocket from "ws";
import { randomHex } from "../../src/core/secrets.ts";
import type { Stack } from "../setup/types.ts";
import { uniqueName } from "../support/util.ts";

/** Percent-encodes every byte: binary, control characters and `/` `.` all travel intact. */
export function encodeAll(value: string | Buffer): string {
  const b = typeof value === "string" ? Buffer.from(value, "utf8") : value;
  return b.toString("hex").replace(/../g, "%$&");
}

/** `relay:{name}` with `%`, `{`, `}` escaped, over raw bytes (same as base_key in Lua). */
export function baseKeyBytes(name: string | Buffer): Buffer {
  const b = typeof name === "string" ? Buffer.from(name, "utf8") : name;
  const parts: Buffer[] = [Buffer.from("relay:{")];
  for (const byte of b) {
    if (byte === 0x25 || byte === 0x7b || byte === 0x7d) parts.push(Buffer.from(`%${byte.toString(16).toUpperCase()}`));
    else parts.push(Buffer.from([byte]));
  }
  parts.push(Buffer.from("}"));
  return Buffer.concat(parts);
}

export interface HttpReply {
  status: number;
  text: string;
}

/**
 * One raw HTTP request to Webdis on a connection of its own; never throws on a
 * status, only on a network error or after `timeoutMs`.
 *
 * Why not a shared keep-alive pool (fetch): Webdis can write an answer on a
 * connection after that connection's request was already answered (CI run 52:
 * from a mutated publish on, every fuzz case read the answer of the case before
 * it, until a 38-byte publish got a 1 MiB publish's TOO_LARGE), and a reused
 * connection then judges each case on another case's reply. Webdis 0.1.9 and
 * 0.1.22 free the client of a `Connection: close` request before its command
 * is answered and answer 413/400 while a command of the same connection may
 * still run (SECURITY.md, "Webdis oddities"). A fresh connection per request,
 * asking for keep-alive (so both versions answer) and destroyed once its
 * answer is read, leaves no later request to read a stray one. The product
 * path has the edge in front (`http-reuse never`, one Webdis connection per
 * client connection); this suite attacks bare Webdis on purpose.
 */
export function http(
  stack: Stack,
  method: "GET" | "POST" | "PUT" | "OPTIONS" | "DELETE",
  path: string,
  body?: string | Buffer,
  timeoutMs = 10_000,
): Promise<HttpReply> {
  const url = new URL(`${stack.webdisUrl}${path}`);
  const bytes = body === undefined ? undefined : typeof body === "string" ? Buffer.from(body, "utf8") : body;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  return new Promise<HttpReply>((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        method,
        agent,
        headers: bytes === undefined ? {} : { "content-length": String(bytes.length) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(bytes);
  }).finally(() => agent.destroy());
}

/** FCALL through the door as an attacker would: POST / with every byte percent-encoded. */
export async function rawFcall(
  stack: Stack,
  fn: string | Buffer,
  keys: (string | Buffer)[],
  args: (string | Buffer)[],
  opts: { command?: string; numkeys?: string } = {},
): Promise<{ status: number; ok: boolean; value: unknown; error?: string }> {
  const command = opts.command ?? "FCALL";
  const line = [
    command,
    encodeAll(fn),
    opts.numkeys ?? String(keys.length),
    ...keys.map(encodeAll),
    ...args.map(encodeAll),
  ].join("/");
  const r = await http(stack, "POST", "/", line);
  if (r.status !== 200) return { status: r.status, ok: false, value: undefined, error: `HTTP ${r.status}` };
  let body: Record<string, unknown> | undefined;
  try {
    body = JSON.parse(r.text) as Record<string, unknown>;
  } catch {
    body = undefined;
  }
  const v = body?.[command];
  if (v === undefined) {
    // Seen under heavy load with >1 MiB arguments: a 200 whose JSON does not name
    // the command. Not a success; the caller still checks that nothing changed.
    return { status: r.status, ok: false, value: undefined, error: `UNEXPECTED ${r.text.slice(0, 120)}` };
  }
  if (Array.isArray(v) && v.length === 2 && v[0] === false && typeof v[1] === "string") {
    return { status: r.status, ok: false, value: v, error: v[1] };
  }
  return { status: r.status, ok: true, value: v };
}

/** A stream started straight through the door, with a leader token we know (for raw publishes). */
export interface RawStream {
  name: string;
  token: string;
  /** The stream's seq as this test last saw it: the base seq of the next rawPublish. */
  seq: number;
}

/** relay_start through the door with random verifiers and a known token; fails the test if refused. */
export async function rawStream(stack: Stack, prefix: string): Promise<RawStream> {
  const s = { name: uniqueName(prefix), token: randomHex(24), seq: 0 };
  const r = await rawFcall(
    stack,
    "relay_start",
    [baseKeyBytes(s.name)],
    [s.name, randomHex(32), randomHex(32), randomHex(24), s.token],
  );
  expect(r.ok, r.error).toBe(true);
  return s;
}

/**
 * `n` random base64url characters: what Lua takes for sealed content (it checks
 * only the form: [A-Za-z0-9_-], 38..max_state bytes). No follower can open it,
 * which is fine for tests of what Lua accepts and refuses.
 */
export function sealedOf(n = 64): string {
  return randomBytes(Math.ceil((n * 3) / 4))
    .toString("base64url")
    .slice(0, n);
}

/**
 * relay_publish through the door (term 1): `content` as kind `kind` ("s": a
 * whole state, the default) on base seq `base` (default: the seq this test last
 * saw, `s.seq`, which a new change moves on). A string base or kind is sent as
 * it is, for tests of bad ones.
 */
export async function rawPublish(
  stack: Stack,
  s: RawStream,
  content: string | Buffer,
  opts: { base?: number | string; kind?: string; op?: string } = {},
) {
  const args = [s.name, s.token, "1", opts.op ?? randomHex(16), String(opts.base ?? s.seq), opts.kind ?? "s", content];
  const r = await rawFcall(stack, "relay_publish", [baseKeyBytes(s.name)], args);
  if (r.ok) {
    const v = JSON.parse(String(r.value)) as { seq: number; duplicate: boolean };
    if (!v.duplicate) s.seq = v.seq;
  }
  return r;
}

/** The first word of a Redis error ("INVALID", "ERR", ...). */
export const codeOf = (error: string | undefined) => (error ?? "").split(" ")[0];

/** A binary-safe Redis connection to one database (tests only); the caller disconnects it. */
export function redisDb(stack: Stack, db = 0): Redis {
  return new Redis({ host: "127.0.0.1", port: stack.redisPort, db, lazyConnect: false, maxRetriesPerRequest: 1 });
}

// One kept-open connection per (port, db) for snapshots, so a fuzz run costs no handshakes.
const kept = new Map<string, Redis>();
function keptDb(stack: Stack, db: number): Redis {
  const id = `${stack.redisPort}/${db}`;
  let r = kept.get(id);
  if (!r) {
    r = redisDb(stack, db);
    kept.set(id, r);
  }
  return r;
}

/** Closes the snapshot connections of `stack` (call before stack.stop()). */
export function closeSnapshots(stack: Stack): void {
  for (const [id, r] of kept) {
    if (id.startsWith(`${stack.redisPort}/`)) {
      r.disconnect();
      kept.delete(id);
    }
  }
}

/**
 * Every key of every database: name (hex), type and DUMP payload (hex). DUMP
 * holds the value and its encoding but not the TTL, so idle timers that tick
 * during a test do not show up as a change.
 */
export async function snapshot(stack: Stack): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const info = String(await stack.redis("INFO", "keyspace"));
  const dbs = [...info.matchAll(/^db(\d+):keys=/gm)].map((m) => Number(m[1]));
  for (const db of dbs) {
    const r = keptDb(stack, db);
    {
      const keys = await r.keysBuffer("*");
      const pipe = r.pipeline();
      for (const k of keys) {
        pipe.type(k);
        pipe.dumpBuffer(k);
      }
      const res = (await pipe.exec()) ?? [];
      keys.forEach((k, i) => {
        const type = res[2 * i]?.[1];
        const dump = res[2 * i + 1]?.[1] as Buffer | null;
        if (dump === null) return; // expired between KEYS and DUMP
        out.set(`${db}:${k.toString("hex")}`, `${type}:${dump?.toString("hex")}`);
      });
    }
  }
  return out;
}

/** Keys (readable) that differ between two snapshots. */
export function changedKeys(a: Map<string, string>, b: Map<string, string>): string[] {
  const names = new Set([...a.keys(), ...b.keys()]);
  const show = (k: string) => {
    const [db, hex] = k.split(":");
    return `${db}:${Buffer.from(hex ?? "", "hex").toString("utf8")}`;
  };
  return [...names].filter((k) => a.get(k) !== b.get(k)).map(show);
}

/**
 * Both servers answer: Redis over RESP, Webdis over HTTP (PING through the
 * door, on a connection of its own like every `http()`: after a huge request
 * the unread rest of a reused connection would be parsed as the next request).
 */
export async function bothAlive(stack: Stack): Promise<void> {
  const pong = await stack.redis("PING");
  if (pong !== "PONG") throw new Error(`redis answered ${String(pong)}`);
  const r = await http(stack, "POST", "/", "PING", 5_000);
  if (r.status !== 200 || !r.text.includes("PONG")) throw new Error(`webdis answered ${r.status} ${r.text}`);
}

/** A raw WebSocket to Webdis (with the Origin header its handshake needs). */
export function openSocket(
  stack: Stack,
  path = "/.json",
): Promise<{ ws: WebSocket; messages: string[]; closed: Promise<number> }> {
  const url = `${stack.webdisUrl.replace(/^http/, "ws")}${path}`;
  const ws = new WebSocket(url, { origin: stack.webdisUrl });
  const messages: string[] = [];
  ws.on("message", (d) => messages.push(d.toString()));
  const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("websocket did not open")), 5_000);
    ws.once("open", () => {
      clearTimeout(t);
      resolve({ ws, messages, closed });
    });
    ws.once("error", (e) => {
      clearTimeout(t);
      reject(e);
    });
    ws.once("close", () => {
      clearTimeout(t);
      reject(new Error("websocket closed before it opened"));
    });
  });
}

/** Subscribes over a raw WebSocket; returns the payloads of `message` frames seen so far. */
export async function wsSubscribe(stack: Stack, channels: string[]) {
  const s = await openSocket(stack);
  for (const c of channels) s.ws.send(JSON.stringify(["SUBSCRIBE", c]));
  const payloads = () =>
    s.messages
      .map((m) => JSON.parse(m) as { SUBSCRIBE?: unknown[] })
      .filter((m) => Array.isArray(m.SUBSCRIBE) && m.SUBSCRIBE[0] === "message")
      .map((m) => ({ channel: String(m.SUBSCRIBE?.[1]), payload: String(m.SUBSCRIBE?.[2]) }));
  const confirmed = async (ms = 3_000) => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      const n = s.messages.filter((m) => m.includes('"subscribe"')).length;
      if (n >= channels.length) return;
      await sleep(20);
    }
    throw new Error(`only some of ${channels.length} subscriptions were confirmed`);
  };
  return { ...s, payloads, confirmed };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Redis connected_clients, for "the socket left nothing behind" checks. */
export async function connectedClients(stack: Stack): Promise<number> {
  const info = String(await stack.redis("INFO", "clients"));
  return Number(/connected_clients:(\d+)/.exec(info)?.[1]);
}

/** Waits until `probe` is true or `ms` passed; returns the last probe result. */
export async function eventually(probe: () => Promise<boolean>, ms = 5_000, step = 50): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await probe()) return true;
    await sleep(step);
  }
  return probe();
}
