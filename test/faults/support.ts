/**
 * Fault-injection helpers: transports and fetch wrappers the tests can sever,
 * stall or lie through, plus the assertions every fault test ends with.
 */

import { once } from "node:events";
import { createServer, connect as netConnect, type Socket } from "node:net";
import { afterAll, beforeAll, expect } from "vitest";
import WebSocket from "ws";
import { fold, openChange, openChanges } from "../../src/core/content.ts";
import { applyChange } from "../../src/core/follower/delta.ts";
import { derivePasswordKeys } from "../../src/core/seal.ts";
import { sealedEnvelope } from "../../src/core/wire.ts";
import type { Follower, FollowerStatus, FollowerUpdate, Leader, WebSocketFactory } from "../../src/node.ts";
import { type Stack, type StackOptions, startStack } from "../setup/stack.ts";
import { sleep } from "../support/util.ts";

/** Fast retries so a fault test does not wait on production backoff. */
export const fastBackoff = (n: number): number => Math.min(400, 25 * 2 ** n);

export const creds = { password: "fault-pw", code: "fault-code" };

// ---------------------------------------------------------------------------
// A WebSocket factory whose sockets the test can cut or stop reading.

export interface ControlledWebSockets {
  factory: WebSocketFactory;
  readonly open: Set<WebSocket>;
  /** Tears every open socket down without a close handshake (like a dropped link). */
  sever(): number;
  /** Stops reading from the sockets open now (new ones read): TCP back-pressure reaches Webdis. */
  pause(): void;
  resume(): void;
  /** How many sockets were ever opened. */
  readonly opened: number;
  /** While blocked, new sockets go nowhere (the link is down), as if Webdis were unreachable. */
  blocked: boolean;
}

export function controlledWebSockets(): ControlledWebSockets {
  const open = new Set<WebSocket>();
  let opened = 0;
  const c: ControlledWebSockets = {
    open,
    blocked: false,
    get opened() {
      return opened;
    },
    factory: (url, origin) => {
      // Port 1 on loopback refuses at once: a link that is down.
      const ws = new WebSocket(c.blocked ? "ws://127.0.0.1:1/.json" : url, { origin });
      opened++;
      open.add(ws);
      ws.on("close", () => open.delete(ws));
      return ws as never;
    },
    sever() {
      const n = open.size;
      for (const ws of open) ws.terminate();
      return n;
    },
    pause() {
      for (const ws of open) ws.pause();
    },
    resume() {
      for (const ws of open) ws.resume();
    },
  };
  return c;
}

// ---------------------------------------------------------------------------
// A TCP proxy in front of a door: a network path the test can cut, or make
// refuse WebSockets (as a proxy that does not pass upgrades does) while plain
// HTTP, the chunked stream included, still goes through.

export interface DoorProxy {
  /** Base URL to give the client instead of the door's. */
  readonly url: string;
  /** While true, a WebSocket upgrade gets 403 (what Webdis itself answers with WebSockets off). */
  refuseWebSockets: boolean;
  /** WebSocket upgrades asked for through this proxy, refused or passed. */
  readonly upgrades: number;
  /** Cuts every connection open now, both ways (a dropped link). */
  sever(): number;
  close(): Promise<void>;
}

const HEAD_END = "\r\n\r\n";

export async function doorProxy(doorUrl: string): Promise<DoorProxy> {
  const door = new URL(doorUrl);
  const open = new Set<Socket>();
  let upgrades = 0;
  const track = (s: Socket) => {
    open.add(s);
    s.on("close", () => open.delete(s));
    s.on("error", () => s.destroy());
  };
  const server = createServer((client) => {
    track(client);
    let head = Buffer.alloc(0);
    // Only the first request of a connection is looked at: `ws` opens a new connection per socket.
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      if (!head.includes(HEAD_END) && head.length < 16_384) return;
      client.off("data", onData);
      const isUpgrade = /^upgrade:\s*websocket\s*$/im.test(head.toString("latin1"));
      if (isUpgrade) upgrades++;
      if (isUpgrade && p.refuseWebSockets) {
        client.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
      }
      const upstream = netConnect(Number(door.port), door.hostname);
      track(upstream);
      upstream.on("close", () => client.destroy());
      client.on("close", () => upstream.destroy());
      upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
    };
    client.on("data", onData);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  const p: DoorProxy = {
    url: `http://127.0.0.1:${port}`,
    refuseWebSockets: false,
    get upgrades() {
      return upgrades;
    },
    sever() {
      const n = open.size;
      for (const s of open) s.destroy();
      return n;
    },
    async close() {
      p.sever();
      await new Promise((r) => server.close(r));
    },
  };
  return p;
}

// ---------------------------------------------------------------------------
// A fetch wrapper: sees every request body, can stall subscription streams and
// cut or delay command replies.

export type FetchAction =
  | { kind: "pass" }
  /** Let the server process the request, then fail as if the connection dropped before the reply. */
  | { kind: "drop-reply" }
  /** Hold the request this long before it is sent (the client may time out meanwhile). */
  | { kind: "delay-send"; ms: number };

export interface ControlledFetch {
  fetch: typeof fetch;
  /** Bodies of every command sent (subscriptions excluded), in order. */
  readonly bodies: string[];
  /** Replies (text) of delayed requests, settled once they reached the server. */
  readonly late: Promise<string>[];
  /** Decides per command request; default pass. */
  onCommand: (body: string) => FetchAction;
  /** Stops reading the subscription streams open now (back-pressure), or resumes them. */
  pauseStreams(): void;
  resumeStreams(): void;
  /** Errors every open subscription stream (a dropped chunked response). */
  severStreams(): number;
}

export function controlledFetch(): ControlledFetch {
  // Each open subscription stream: its controller and, while paused, a gate to wait on.
  interface Tap {
    ctl: ReadableStreamDefaultController<Uint8Array>;
    gate?: Promise<void>;
    open?: () => void;
  }
  const taps = new Set<Tap>();
  const c: ControlledFetch = {
    bodies: [],
    late: [],
    onCommand: () => ({ kind: "pass" }),
    pauseStreams() {
      for (const t of taps) if (!t.gate) t.gate = new Promise((r) => (t.open = r));
    },
    resumeStreams() {
      for (const t of taps) {
        t.open?.();
        t.gate = undefined;
      }
    },
    severStreams() {
      const n = taps.size;
      for (const t of taps) {
        try {
          t.ctl.error(new TypeError("terminated"));
        } catch {}
        t.open?.();
      }
      taps.clear();
      return n;
    },
    fetch: async (input, init) => {
      const body = typeof init?.body === "string" ? init.body : "";
      if (body.startsWith("SUBSCRIBE/")) {
        const res = await fetch(input, init);
        if (!res.body) return res;
        const reader = res.body.getReader();
        let tap!: Tap;
        const gated = new ReadableStream<Uint8Array>(
          {
            start(ctl) {
              tap = { ctl };
              taps.add(tap);
            },
            async pull(ctl) {
              // While paused nobody reads the real body: undici stops reading the socket.
              while (tap.gate) await tap.gate;
              try {
                const { value, done } = await reader.read();
                if (done) {
                  taps.delete(tap);
                  ctl.close();
                } else ctl.enqueue(value);
              } catch (e) {
                taps.delete(tap);
                ctl.error(e);
              }
            },
            cancel(reason) {
              taps.delete(tap);
              tap.open?.();
              return reader.cancel(reason).catch(() => {});
            },
          },
          { highWaterMark: 0 },
        );
        return new Response(gated, { status: res.status, headers: res.headers });
      }
      c.bodies.push(body);
      const action = c.onCommand(body);
      if (action.kind === "delay-send") {
        // The caller's timeout fires meanwhile (it sees the abort), but the request
        // still reaches the server later, as a packet stuck in a queue would.
        const { signal, ...rest } = init ?? {};
        const late = sleep(action.ms).then(() => fetch(input, rest));
        c.late.push(late.then((r) => r.text()));
        return new Promise<Response>((resolve, reject) => {
          if (signal?.aborted) return reject(signal.reason);
          signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
          late.then(resolve, reject);
        });
      }
      const res = await fetch(input, init);
      if (action.kind === "drop-reply") {
        await res.text(); // the server has answered: the change happened
        throw new TypeError("fetch failed", {
          cause: Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }),
        });
      }
      return res;
    },
  };
  return c;
}

/** The decoded FCALL arguments of a POST body (`FCALL/relay_publish/1/key/...`). */
export function commandArgs(body: string): string[] {
  return body.split("/").map((a) => decodeURIComponent(a));
}

/** One relay_publish request as it went out (ARGV: name, token, term, op, base seq, kind, sealed content). */
export interface SentPublish {
  op: string;
  base: number;
  kind: "s" | "p";
  /** The sealed bytes: a retry must send these again, byte for byte. */
  content: string;
}

/** The relay_publish requests among `bodies`, in order. */
export function publishesIn(bodies: readonly string[]): SentPublish[] {
  return bodies
    .filter((b) => b.startsWith("FCALL/relay_publish/"))
    .map((b) => {
      const a = commandArgs(b);
      return { op: a[7] as string, base: Number(a[8]), kind: a[9] as "s" | "p", content: a[10] as string };
    });
}

/** A stream's content key (the password's HKDF half): what lets a test read sealed bytes it captured. */
export async function contentKey(name: string, password = creds.password): Promise<CryptoKey> {
  return (await derivePasswordKeys(name, password)).content;
}

/**
 * The state each captured publish stands for: "s" opens to the state, "p" to
 * a patch applied to the state of its base (from an earlier capture, or {} at
 * seq 0). Opening proves the bytes are the leader's seal for that place.
 */
export async function statesOf(
  key: CryptoKey,
  name: string,
  epoch: string,
  sent: readonly SentPublish[],
): Promise<unknown[]> {
  const at = new Map<number, unknown>([[0, {}]]);
  const out: unknown[] = [];
  for (const p of sent) {
    const seq = p.base + 1;
    const change = await openChange(key, name, { v: 2, t: "state", epoch, seq, ts: 0, k: p.kind, c: p.content });
    const r = applyChange({ seq: p.base, epoch, state: at.get(p.base) }, change);
    if (r.kind !== "state") throw new Error(`captured change for seq ${seq} does not apply to its base`);
    at.set(seq, r.state);
    out.push(r.state);
  }
  return out;
}

/** What Redis holds for a stream (relay:{t}:snap + relay:{t}:log, opened and folded) and its seq. */
export async function serverState(
  stack: Stack,
  name: string,
  key: CryptoKey,
): Promise<{ seq: number; state: unknown }> {
  const base = `relay:{${name}}`;
  const [epoch, seq] = (await stack.redis("HMGET", `${base}:meta`, "epoch", "seq")) as [string, string];
  const snap = (await stack.redis("GET", `${base}:snap`)) as string | null;
  const log = (await stack.redis("LRANGE", `${base}:log`, "0", "-1")) as string[];
  const envs = [...(snap ? [snap] : []), ...log].map((e) => sealedEnvelope.parse(JSON.parse(e)));
  const at = fold({ epoch, seq: Number(seq) }, await openChanges(key, name, epoch, envs));
  return { seq: at.seq, state: at.state };
}

// ---------------------------------------------------------------------------
// Recording and assertions.

export interface StatusEvent {
  status: FollowerStatus;
  previous: FollowerStatus;
  code: string;
  reason: string;
}

/** A state the follower showed, with the status it was in then ("live": from the channel, not a sync). */
export type RecordedUpdate = FollowerUpdate & { during: FollowerStatus };

export interface Recorder {
  updates: RecordedUpdate[];
  statuses: StatusEvent[];
  /** The status path, e.g. ["live","offline","connecting","catching-up","live"]. */
  path(): FollowerStatus[];
}

export function recordAll(f: Follower): Recorder {
  const updates: RecordedUpdate[] = [];
  const statuses: StatusEvent[] = [];
  f.on("state", (u) => updates.push({ ...u, during: f.status }));
  f.on("status", (s) => statuses.push({ status: s.status, previous: s.previous, code: s.code, reason: s.reason }));
  return { updates, statuses, path: () => statuses.map((s) => s.status) };
}

/** The leader's acknowledged states by seq (its `published` events): what each seq holds. */
export function recordPublished(leader: Leader): Map<number, unknown> {
  const bySeq = new Map<number, unknown>();
  leader.on("published", (p) => bySeq.set(p.seq, JSON.parse(JSON.stringify(p.state))));
  return bySeq;
}

/**
 * Nothing lost, as the follower showed it: every state is the one the leader
 * published at that seq, and seqs are skipped only while not live. A sync's
 * catch-up applies its run of changes and shows the last one only (a joiner may
 * get a thousand); a live follower applies each message, so a skip while live
 * is a change lost.
 */
export function expectFaithful(rec: Recorder, published: ReadonlyMap<number, unknown>): void {
  for (const [i, u] of rec.updates.entries()) {
    expect(published.has(u.seq), `seq ${u.seq} was never acknowledged to the leader`).toBe(true);
    expect(u.state, `the state shown at seq ${u.seq}`).toEqual(published.get(u.seq));
    const prev = rec.updates[i - 1];
    if (prev && prev.epoch === u.epoch && u.seq > prev.seq + 1)
      expect(u.during, `seq ${prev.seq} -> ${u.seq} while live: a change was lost`).not.toBe("live");
  }
}

const ALLOWED: Record<FollowerStatus, FollowerStatus[]> = {
  connecting: ["live", "catching-up", "reset", "offline", "ended"],
  live: ["catching-up", "reset", "offline", "ended"],
  "catching-up": ["live", "reset", "offline", "ended"],
  reset: ["live", "offline", "ended", "catching-up"],
  offline: ["connecting", "ended"],
  ended: [],
};

/**
 * The applied sequence is clean: within an epoch seq strictly increases (so no
 * duplicates), every status event carries a reason, and each transition is one
 * the state machine allows.
 */
export function expectClean(rec: Recorder): void {
  const seen = new Set<string>();
  for (let i = 0; i < rec.updates.length; i++) {
    const u = rec.updates[i] as FollowerUpdate;
    const key = `${u.epoch}:${u.seq}`;
    expect(seen.has(key), `seq ${u.seq} applied twice`).toBe(false);
    seen.add(key);
    const prev = rec.updates[i - 1];
    if (prev && prev.epoch === u.epoch)
      expect(u.seq, `seq went from ${prev.seq} to ${u.seq}`).toBeGreaterThan(prev.seq);
  }
  let previous: FollowerStatus | undefined;
  for (const s of rec.statuses) {
    expect(s.reason, `status ${s.status} without a reason`).toMatch(/\S/);
    if (previous) expect(s.previous).toBe(previous);
    expect(ALLOWED[s.previous], `${s.previous} -> ${s.status}`).toContain(s.status);
    previous = s.status;
  }
}

/** Every update after a gap-free stretch is exactly seq + 1, except where a reset happened. */
export function expectContiguous(rec: Recorder, from: number, to: number): void {
  expect(rec.updates.map((u) => u.seq)).toEqual(Array.from({ length: to - from + 1 }, (_, i) => from + i));
}

/** Waits until every follower holds the leader's last state (same seq and same value). */
export async function expectConverged(leader: Leader, followers: Follower[], ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  for (const f of followers) {
    while (f.seq !== leader.seq || f.status !== "live") {
      if (Date.now() > until) {
        throw new Error(`follower at seq ${f.seq} (${f.status}), leader at seq ${leader.seq}`);
      }
      await sleep(20);
    }
    expect(f.state).toEqual(leader.state);
    expect(f.epoch).toBe(leader.epoch);
  }
}

export async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * `n` characters that do not compress (a seeded xorshift over base64url): a
 * change's text of 1 KiB or more is sealed deflated, so a repeated letter
 * would weigh nothing on the wire or in the log.
 */
export function noise(n: number, seed = 1): string {
  const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  let x = (seed * 2654435761) >>> 0 || 1;
  let out = "";
  for (let k = 0; k < n; k++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out += abc[(x >>> 0) & 63];
  }
  return out;
}

/**
 * Publishes states {i: 1..n} one after another (each awaited, so each is a
 * change), `pauseMs` apart; `during(i)` runs before publish i (inject faults).
 */
export async function publishSeries(
  leader: Leader,
  n: number,
  opts: { pauseMs?: number; pad?: number; during?: (i: number) => unknown } = {},
): Promise<void> {
  const pad = opts.pad ? noise(opts.pad) : undefined;
  for (let i = 1; i <= n; i++) {
    await opts.during?.(i);
    await leader.publish(pad ? { i, pad } : { i });
    if (opts.pauseMs) await sleep(opts.pauseMs);
  }
}

/**
 * One real stack per test file, and the leaders and followers a test opens,
 * closed when the file ends (whatever happened in between).
 */
export function useStack(opts?: StackOptions) {
  let current: Stack | undefined;
  const cleanup: (() => void)[] = [];
  beforeAll(async () => {
    current = await startStack(opts);
  });
  afterAll(async () => {
    for (const c of cleanup) c();
    await current?.stop();
  });
  return {
    get stack(): Stack {
      if (!current) throw new Error("the stack is not started yet (use it inside a test)");
      return current;
    },
    track<T extends Leader | Follower>(x: T): T {
      cleanup.push(() => ("disconnect" in x ? x.disconnect() : x.close()));
      return x;
    },
  };
}
