/**
 * 8. Webdis 0.1.9 (system) vs 0.1.22 (packaged), HTTP PUBLISH -> WebSocket
 * subscriber, 32 B and 2 KB messages, side by side in one run.
 *
 * Each version gets its own throwaway redis-server and a Webdis (webdis.json
 * plus PUBLISH and WebSockets) on free ports, picked through RELAY_WEBDIS the way
 * chooseWebdis() reads it. Two loads:
 *   closed loop: one publish, wait until the subscriber has it, 2 ms pause (scenario 2's loop);
 *   open loop:   one publish every 5 ms whatever happened to the last one (a leader dragging).
 * Why both: the stall this measures (docs/webdis-latency.md) needs a frame written
 * while the previous one is still unacknowledged. Webdis never sets TCP_NODELAY on
 * its client sockets, so Nagle holds that frame until the subscriber's delayed ACK
 * fires (40 ms on Linux). The open loop makes that overlap happen often.
 *
 * Two paths per version, same loads, same Webdis: "direct" (the subscriber dials
 * Webdis) and "edge" (it dials the subscription door of an HAProxy edge from
 * startEdge() whose backends are that Webdis, as `mission-relay up` serves it).
 * The publisher always POSTs straight to Webdis: the edge refuses PUBLISH by design.
 * Through the edge, HAProxy's socket towards Webdis is the one that receives
 * and may delay its ACKs, so the stall can move there.
 *
 * BENCH_WEBDIS_HOST=127.0.0.2 (any 127.x address) puts Redis and Webdis there (the
 * edge stays on 127.0.0.1, its public address), so a run can measure the
 * deploy-side fix: a `quickack 1` route for just that address
 * (docs/webdis-latency.md), e.g. inside a network namespace. Directly, the route
 * acts on the subscriber's socket; through the edge, on HAProxy's.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { commandBody } from "../../src/core/wire.ts";
import { type Edge, startEdge } from "../../src/server/edge.ts";
import { freePort, type Managed, startRedis, startWebdis, webdisConfig } from "../../src/server/native.ts";
import { chooseWebdis } from "../../src/server/webdis-bin.ts";
import type { Ctx } from "../lib/ctx.ts";
import { Scenario } from "../lib/report.ts";
import { percentile, sleep, until } from "../lib/stats.ts";

const SIZES = [32, 2048] as const;
const HOST = process.env.BENCH_WEBDIS_HOST || "127.0.0.1";
/** Where the edge listens: the public address, never the door's own one. */
const EDGE_HOST = "127.0.0.1";
const WAIT_MS = 3_000;

interface Version {
  key: "v09" | "v022";
  env: "system" | "packaged";
}
/** How the subscriber reaches Webdis. Figure keys: `<version>_<load>_<size>` direct, `<version>_edge_...` via the edge. */
const PATHS = [
  { key: "", label: "direct" },
  { key: "edge_", label: "via edge" },
] as const;
const LOADS = ["closed", "open"] as const;
const VERSIONS: Version[] = [
  { key: "v09", env: "system" },
  { key: "v022", env: "packaged" },
];

/** The Webdis RELAY_WEBDIS=`want` picks, or why there is none. */
function pick(want: string): { version: string } | { missing: string } {
  const saved = process.env.RELAY_WEBDIS;
  process.env.RELAY_WEBDIS = want;
  try {
    return { version: chooseWebdis().version };
  } catch (e) {
    return { missing: (e as Error).message };
  } finally {
    if (saved === undefined) delete process.env.RELAY_WEBDIS;
    else process.env.RELAY_WEBDIS = saved;
  }
}

/** redis-server + Webdis `want` on free ports; PUBLISH allowed, WebSockets on. */
async function startPair(want: string, dir: string): Promise<{ url: string; port: number; procs: Managed[] }> {
  const redisPort = await freePort();
  const redis = await startRedis({ port: redisPort, dir: join(dir, "redis"), aof: false, host: HOST });
  const port = await freePort();
  const acl = [{ disabled: ["*"] }, { enabled: ["SUBSCRIBE", "UNSUBSCRIBE", "PING", "PUBLISH"] }];
  const base = webdisConfig({ redisPort, port, logfile: join(dir, "webdis.log"), acl, websockets: true });
  const config = { ...base, redis_host: HOST, http_host: HOST };
  const saved = process.env.RELAY_WEBDIS;
  process.env.RELAY_WEBDIS = want; // chooseWebdis() inside startWebdis reads it
  try {
    const webdis = await startWebdis(config, join(dir, "webdis"));
    return { url: `http://${HOST}:${port}`, port, procs: [webdis, redis] };
  } catch (e) {
    await redis.stop("SIGKILL");
    throw e;
  } finally {
    if (saved === undefined) delete process.env.RELAY_WEBDIS;
    else process.env.RELAY_WEBDIS = saved;
  }
}

/** A bare `ws` subscriber; `onMessage(seq, at)` for every pub/sub message ("<seq> <padding>"). */
async function subscribe(wsUrl: string, channel: string, onMessage: (seq: number, at: number) => void) {
  const ws = new WebSocket(wsUrl, { origin: "http://127.0.0.1" });
  let subscribed = false;
  ws.on("message", (data) => {
    const at = performance.now();
    let body: unknown;
    try {
      body = (JSON.parse(String(data)) as { SUBSCRIBE?: unknown }).SUBSCRIBE;
    } catch {
      return;
    }
    if (!Array.isArray(body)) return;
    if (body[0] === "subscribe") subscribed = true;
    else if (body[0] === "message") onMessage(Number.parseInt(String(body[2]), 10), at);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  ws.send(JSON.stringify(["SUBSCRIBE", channel]));
  await until("webdis subscribe", () => subscribed, 5_000);
  return ws;
}

/** TcpExtDelayedACKs from /proc/net/netstat text ("TcpExt: names..." then "TcpExt: values..."). */
export function parseDelayedAcks(netstat: string): number | null {
  const rows = netstat.split("\n").filter((l) => l.startsWith("TcpExt:"));
  const names = rows[0]?.split(/\s+/) ?? [];
  const values = rows[1]?.split(/\s+/) ?? [];
  const v = Number(values[names.indexOf("DelayedACKs")]);
  return names.includes("DelayedACKs") && Number.isFinite(v) ? v : null;
}

/**
 * Delayed ACKs sent so far in this network namespace: the stall's fingerprint
 * (docs/webdis-latency.md). Exact inside a namespace of the bench's own; on the
 * host it also counts everyone else's traffic.
 */
function delayedAcks(): number | null {
  try {
    return parseDelayedAcks(readFileSync("/proc/net/netstat", "utf8"));
  } catch {
    return null;
  }
}

/** A message of exactly `size` bytes that starts with its sequence number. */
const message = (seq: number, size: number) => {
  const head = `${seq} `;
  return head + "x".repeat(Math.max(0, size - head.length));
};

/** Publishes via Webdis at `publishUrl`, a subscriber on `wsUrl` (Webdis itself or the edge) receives. */
async function measure(publishUrl: string, wsUrl: string, quick: boolean) {
  const channel = `ver-${process.pid}-${new URL(wsUrl).port}`;
  const sent = new Map<number, number>();
  const got = new Map<number, number>();
  let waiting: { seq: number; done: () => void } | undefined;
  const ws = await subscribe(wsUrl, channel, (seq, at) => {
    got.set(seq, at);
    if (waiting?.seq === seq) waiting.done();
  });
  const publish = (seq: number, size: number) => {
    sent.set(seq, performance.now());
    void fetch(publishUrl, {
      method: "POST",
      body: commandBody("PUBLISH", [channel, message(seq, size)]),
    })
      .then((r) => r.text())
      .catch(() => {});
  };
  const latencies = (from: number, to: number) => {
    const xs: number[] = [];
    let lost = 0;
    for (let s = from; s < to; s++) {
      const t0 = sent.get(s);
      const t1 = got.get(s);
      if (t0 === undefined) continue;
      if (t1 === undefined) lost++;
      else xs.push(t1 - t0);
    }
    return { xs, lost };
  };
  const out: Record<string, { p50: number | null; p99: number | null; n: number; lost: number; acks: number | null }> =
    {};
  const acksSince = (from: number | null) => {
    const now = delayedAcks();
    return from === null || now === null ? null : now - from;
  };
  let seq = 1;
  try {
    for (const size of SIZES) {
      // closed loop
      const warm = quick ? 10 : 20;
      const n = quick ? 120 : 300;
      const start = seq + warm;
      const acks0 = delayedAcks();
      for (let i = 0; i < warm + n; i++, seq++) {
        const s = seq;
        const arrived = new Promise<void>((resolve) => {
          waiting = { seq: s, done: resolve };
          if (got.has(s)) resolve();
        });
        publish(s, size);
        await Promise.race([arrived, sleep(WAIT_MS)]);
        await sleep(2);
      }
      const closed = latencies(start, seq);
      out[`closed_${size}`] = { ...stats(closed.xs), lost: closed.lost, acks: acksSince(acks0) };
      // open loop: one publish every 5 ms
      const openN = quick ? 240 : 600;
      const openStart = seq;
      const acks1 = delayedAcks();
      for (let i = 0; i < openN; i++, seq++) {
        publish(seq, size);
        await sleep(5);
      }
      const last = seq - 1;
      await until("open-loop tail", () => got.has(last), WAIT_MS).catch(() => {});
      const open = latencies(openStart, seq);
      out[`open_${size}`] = { ...stats(open.xs), lost: open.lost, acks: acksSince(acks1) };
    }
  } finally {
    ws.terminate();
  }
  return out;
}

const stats = (xs: number[]) => ({ p50: percentile(xs, 50), p99: percentile(xs, 99), n: xs.length });

const loadLabel = (load: (typeof LOADS)[number]) => (load === "closed" ? "one at a time" : "every 5 ms");

export async function webdisVersions(ctx: Ctx): Promise<Scenario> {
  // Loopback only: the bench never listens anywhere else.
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(HOST)) throw new Error("BENCH_WEBDIS_HOST must be a 127.x.y.z address");
  const sc = new Scenario(
    8,
    "Webdis 0.1.9 vs 0.1.22: HTTP PUBLISH -> WebSocket, direct and via the edge, 32 B and 2 KB",
  );
  const labels: string[] = [];
  const edgeWarnings = new Set<string>();
  for (const v of VERSIONS) {
    const found = pick(v.env);
    if ("missing" in found) {
      sc.note(`RELAY_WEBDIS=${v.env}: skipped (${found.missing})`);
      continue;
    }
    labels.push(`${v.env} = Webdis ${found.version}`);
    const dir = mkdtempSync(join(tmpdir(), `relay-bench-ver-${v.env}-`));
    const pair = await startPair(v.env, dir);
    let edge: Edge | undefined;
    try {
      // Both doors on this one Webdis: only the subscription door is used (a
      // WebSocket upgrade to /.json); the command door would refuse PUBLISH anyway.
      const backend = { host: HOST, port: pair.port };
      edge = await startEdge({
        host: EDGE_HOST,
        commandBackend: backend,
        subscribeBackend: backend,
        dir: join(dir, "edge"),
        log: (line) => edgeWarnings.add(line.trim()),
      });
      const edgeWs = `${edge.subscribeUrl.replace(/^http/, "ws")}/.json`;
      ctx.log(`  webdis ${found.version} (${v.env}) on ${pair.url}, edge on ${edge.subscribeUrl}`);
      const results: Record<string, Awaited<ReturnType<typeof measure>>> = {};
      // Direct first, then via the edge: each gets the whole size x load grid.
      results[""] = await measure(`${pair.url}/`, `ws://${HOST}:${pair.port}/.json`, ctx.quick);
      results.edge_ = await measure(`${pair.url}/`, edgeWs, ctx.quick);
      // Printed so that direct and via edge of one size and load are next to each other.
      for (const load of LOADS) {
        for (const size of SIZES) {
          for (const path of PATHS) {
            const m = results[path.key]?.[`${load}_${size}`];
            if (!m) continue;
            const what = `${found.version.replace(/[+~].*/, "")} ${path.label} ${size} B ${loadLabel(load)}`;
            const lost = m.lost ? `; ${m.lost} not received` : "";
            const acks = m.acks === null ? "" : `; ${m.acks} delayed ACKs`;
            const key = `${v.key}_${path.key}${load}_${size}`;
            sc.fig(`${key}_p50`, `${what}: p50`, m.p50, "ms");
            sc.fig(`${key}_p99`, `${what}: p99`, m.p99, "ms", `${m.n} samples${lost}${acks}`);
          }
        }
      }
    } finally {
      await edge?.stop();
      for (const p of pair.procs) await p.stop("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  }
  for (const path of PATHS) {
    for (const load of LOADS) {
      sc.ratio(
        `${path.key}open_2k_p99_${load}`,
        `2 KB p99 ${loadLabel(load)}, ${path.label}: 0.1.22 / 0.1.9`,
        `v022_${path.key}${load}_2048_p99`,
        `v09_${path.key}${load}_2048_p99`,
      );
    }
  }
  for (const v of VERSIONS) {
    sc.ratio(
      `${v.key}_edge_open_2k_p50`,
      `${v.key === "v09" ? "0.1.9" : "0.1.22"} 2 KB p50 every 5 ms: via edge / direct`,
      `${v.key}_edge_open_2048_p50`,
      `${v.key}_open_2048_p50`,
    );
  }
  sc.note(labels.join("; "));
  sc.note(
    `Each version: its own redis-server (no AOF) and Webdis (webdis.json + PUBLISH + WebSockets) on free ports of ${HOST}; a bare \`ws\` subscriber; POST PUBLISH via fetch, always straight to Webdis.`,
  );
  sc.note(
    `"via edge": the subscriber dials the subscription door of startEdge() (HAProxy, shipped config) on ${EDGE_HOST}, whose backends are that Webdis; HAProxy's socket towards Webdis then receives and may delay its ACKs.`,
  );
  sc.note(
    "Cause of the 2 KB tail (docs/webdis-latency.md): no TCP_NODELAY on Webdis's client sockets + the receiver's delayed ACK (40 ms); 0.1.22 trips it far more often. Fix: a `quickack 1` route to the door's own address on the receiving host (BENCH_WEBDIS_HOST).",
  );
  sc.note(
    "delayed ACKs: TcpExtDelayedACKs of this network namespace over each measurement (warm-up included); exact only in a namespace of the bench's own, on the host it counts every process's traffic.",
  );
  for (const w of edgeWarnings) sc.note(`haproxy: ${w.slice(0, 300)}`);
  return sc;
}
