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
 * BENCH_WEBDIS_HOST=127.0.0.2 (any 127.x address) puts Redis and Webdis there, so a
 * run can measure the deploy-side fix: a `quickack 1` route for just that address
 * (docs/webdis-latency.md), e.g. inside a network namespace.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { commandBody } from "../../src/core/wire.ts";
import { freePort, type Managed, startRedis, startWebdis, webdisConfig } from "../../src/server/native.ts";
import { chooseWebdis } from "../../src/server/webdis-bin.ts";
import type { Ctx } from "../lib/ctx.ts";
import { Scenario } from "../lib/report.ts";
import { percentile, sleep, until } from "../lib/stats.ts";

const SIZES = [32, 2048] as const;
const HOST = process.env.BENCH_WEBDIS_HOST || "127.0.0.1";
const WAIT_MS = 3_000;

interface Version {
  key: "v09" | "v022";
  env: "system" | "packaged";
}
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
async function subscribe(port: number, channel: string, onMessage: (seq: number, at: number) => void) {
  const ws = new WebSocket(`ws://${HOST}:${port}/.json`, { origin: "http://127.0.0.1" });
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

/** A message of exactly `size` bytes that starts with its sequence number. */
const message = (seq: number, size: number) => {
  const head = `${seq} `;
  return head + "x".repeat(Math.max(0, size - head.length));
};

async function measure(port: number, quick: boolean) {
  const channel = `ver-${process.pid}-${port}`;
  const sent = new Map<number, number>();
  const got = new Map<number, number>();
  let waiting: { seq: number; done: () => void } | undefined;
  const ws = await subscribe(port, channel, (seq, at) => {
    got.set(seq, at);
    if (waiting?.seq === seq) waiting.done();
  });
  const publish = (seq: number, size: number) => {
    sent.set(seq, performance.now());
    void fetch(`http://${HOST}:${port}/`, {
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
  const out: Record<string, { p50: number | null; p99: number | null; n: number; lost: number }> = {};
  let seq = 1;
  try {
    for (const size of SIZES) {
      // closed loop
      const warm = quick ? 10 : 20;
      const n = quick ? 120 : 300;
      const start = seq + warm;
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
      out[`closed_${size}`] = { ...stats(closed.xs), lost: closed.lost };
      // open loop: one publish every 5 ms
      const openN = quick ? 240 : 600;
      const openStart = seq;
      for (let i = 0; i < openN; i++, seq++) {
        publish(seq, size);
        await sleep(5);
      }
      const last = seq - 1;
      await until("open-loop tail", () => got.has(last), WAIT_MS).catch(() => {});
      const open = latencies(openStart, seq);
      out[`open_${size}`] = { ...stats(open.xs), lost: open.lost };
    }
  } finally {
    ws.terminate();
  }
  return out;
}

const stats = (xs: number[]) => ({ p50: percentile(xs, 50), p99: percentile(xs, 99), n: xs.length });

export async function webdisVersions(ctx: Ctx): Promise<Scenario> {
  // Loopback only: the bench never listens anywhere else.
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(HOST)) throw new Error("BENCH_WEBDIS_HOST must be a 127.x.y.z address");
  const sc = new Scenario(8, "Webdis 0.1.9 vs 0.1.22: HTTP PUBLISH -> WebSocket, 32 B and 2 KB");
  const labels: string[] = [];
  for (const v of VERSIONS) {
    const found = pick(v.env);
    if ("missing" in found) {
      sc.note(`RELAY_WEBDIS=${v.env}: skipped (${found.missing})`);
      continue;
    }
    labels.push(`${v.env} = Webdis ${found.version}`);
    const dir = mkdtempSync(join(tmpdir(), `relay-bench-ver-${v.env}-`));
    const pair = await startPair(v.env, dir);
    try {
      ctx.log(`  webdis ${found.version} (${v.env}) on ${pair.url}`);
      const r = await measure(pair.port, ctx.quick);
      for (const load of ["closed", "open"] as const) {
        for (const size of SIZES) {
          const m = r[`${load}_${size}`];
          if (!m) continue;
          const what = `${found.version.replace(/[+~].*/, "")} ${size} B ${load === "closed" ? "one at a time" : "every 5 ms"}`;
          const lost = m.lost ? `; ${m.lost} not received` : "";
          sc.fig(`${v.key}_${load}_${size}_p50`, `${what}: p50`, m.p50, "ms");
          sc.fig(`${v.key}_${load}_${size}_p99`, `${what}: p99`, m.p99, "ms", `${m.n} samples${lost}`);
        }
      }
    } finally {
      for (const p of pair.procs) await p.stop("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  }
  for (const load of ["closed", "open"] as const) {
    sc.ratio(
      `open_2k_p99_${load}`,
      `2 KB p99 ${load === "closed" ? "one at a time" : "every 5 ms"}: 0.1.22 / 0.1.9`,
      `v022_${load}_2048_p99`,
      `v09_${load}_2048_p99`,
    );
  }
  sc.note(labels.join("; "));
  sc.note(
    `Each version: its own redis-server (no AOF) and Webdis (webdis.json + PUBLISH + WebSockets) on free ports of ${HOST}; a bare \`ws\` subscriber; POST PUBLISH via fetch.`,
  );
  sc.note(
    "Cause of the 2 KB tail (docs/webdis-latency.md): no TCP_NODELAY on Webdis's client sockets + the subscriber's delayed ACK (40 ms); 0.1.22 trips it far more often.",
  );
  return sc;
}
