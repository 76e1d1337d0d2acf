/**
 * 3. Fan-out: N followers (the client's own Follower state machine and
 * transports, with a pre-derived password verifier so 5,000 joins do not cost
 * 5,000 PBKDF2 runs) on the WebSocket and on the HTTP stream. The leader side
 * publishes K changes (FCALL relay_publish over keep-alive HTTP, sealed patches
 * made the leader's way: lib/sealed.ts SealedWriter); for each we
 * take the time until every follower has it (and each follower's own delay).
 * Webdis gets a fresh process per run, so its RSS delta is the followers'.
 */
import http from "node:http";
import WebSocket from "ws";
import { openChange, openReply } from "../../src/core/content.ts";
import { Follower } from "../../src/core/follower.ts";
import { defaultBackoff, httpCommander } from "../../src/core/http.ts";
import {
  httpStreamSubscriber,
  type Subscriber,
  type WebSocketFactory,
  webSocketSubscriber,
} from "../../src/core/subscribe.ts";
import { connectReply } from "../../src/core/wire.ts";
import type { Ctx } from "../lib/ctx.ts";
import { makePlan } from "../lib/plan.ts";
import { Scenario } from "../lib/report.ts";
import { publishAck, publishBody, type SealedStream, SealedWriter, startSealedStream } from "../lib/sealed.ts";
import { hex, post, type WebdisInstance } from "../lib/stack.ts";
import { CpuMeter, mean, percentile, pool, rssKiB, sleep, until } from "../lib/stats.ts";

export interface FanoutRun {
  transport: "websocket" | "http-stream";
  followers: number;
  connected: number;
  joinSeconds: number;
  allP50: number | null;
  allP99: number | null;
  eachP50: number | null;
  eachP99: number | null;
  missed: number;
  webdisRssDeltaKiB: number;
  redisRssDeltaKiB: number;
  redisUsedDeltaB: number;
  redisClientsDelta: number;
  webdisCpuMsPerPublish: number;
  redisCpuMsPerPublish: number;
  benchCpuMsPerPublish: number;
  /** Subscribers sit on the replica behind the subscription door. */
  onReplica: boolean;
  primaryRssDeltaKiB: number;
  replicaCpuMsPerPublish: number;
}

export async function runFanout(
  ctx: Ctx,
  transport: "websocket" | "http-stream",
  count: number,
  publishes: number,
  raw = false,
): Promise<FanoutRun> {
  const { stack } = ctx;
  let wd: WebdisInstance;
  if (transport === "websocket") wd = await stack.restartWsWebdis();
  else {
    await stack.restartMainWebdis();
    wd = stack.webdis;
  }
  // The password's keys are derived once: every follower shares the verifier and content key.
  const stream: SealedStream = await startSealedStream(stack, "fan", "bench-pw");
  const writer = new SealedWriter(stream);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const base = makePlan(1024, 5);
  let rev = 0;
  const publish = async () => {
    rev++;
    const { args, json } = await writer.change({ ...base, rev });
    const r = await post(agent, stack.webdis.port, publishBody(stream, hex(16), args));
    const ack = r.status === 200 ? publishAck(r.text) : undefined;
    if (!ack) throw new Error(`publish failed: ${r.status} ${r.text.slice(0, 300)}`);
    writer.acked(json, ack);
    return rev;
  };
  await publish(); // the followers join a stream with a state

  const sockets: WebSocket[] = [];
  const factory: WebSocketFactory = (url, origin) => {
    const w = new WebSocket(url, { origin });
    sockets.push(w);
    return w as never;
  };
  // relay_connect goes through the command door; subscriptions through `wd`.
  const commander = httpCommander({ url: stack.webdis.url, timeoutMs: 30_000 });
  const subPid = transport === "websocket" ? stack.wsRedisPid : stack.redis.pid;
  const onReplica = subPid !== stack.redis.pid;
  const subscriber: Subscriber =
    transport === "websocket"
      ? webSocketSubscriber(wd.url, factory, 30_000)
      : httpStreamSubscriber(wd.url, undefined, 30_000);
  const sync = async (epoch: string | undefined, lastSeq: number) => {
    const raw = await commander.call(
      "FCALL",
      ["relay_connect", "1", stream.key, stream.name, stream.pw, epoch ?? "-", String(lastSeq), "-"],
      { retries: 3 },
    );
    return openReply(stream.contentKey, stream.name, connectReply.parse(JSON.parse(String(raw))));
  };

  // The replica's default user may only SUBSCRIBE: no INFO there, so RSS only.
  const info0 = await stack.info("memory");
  const clients0 = Number((await stack.info("clients")).connected_clients);
  const rssP0 = rssKiB(stack.redis.pid);
  const rssW0 = rssKiB(wd.proc.pid);
  const rssR0 = rssKiB(subPid);

  const followers: Follower[] = [];
  let want = -1;
  let times: number[] = [];
  const t0 = performance.now();
  if (raw) {
    // Baseline: bare `ws` subscribers on the same Webdis and channel, no client code,
    // a substring check instead of JSON parsing (the plan is sealed: rev N is seq N here).
    let subscribed = 0;
    await pool(Array.from({ length: count }), 50, async () => {
      const w = new WebSocket(`${wd.url.replace("http:", "ws:")}/.json`, { origin: wd.url });
      sockets.push(w);
      w.on("message", (data: Buffer) => {
        const text = data.toString();
        if (text.includes('"subscribe"')) subscribed++;
        else if (text.includes(`"seq\\":${want},`)) times.push(performance.now());
      });
      await new Promise<void>((r) => {
        w.once("open", () => r());
        w.once("error", () => r());
      });
      w.send(JSON.stringify(["SUBSCRIBE", stream.channel]));
    });
    await until("raw subscribers", () => subscribed >= count, 60_000, 50).catch(() => {});
  } else
    await pool(Array.from({ length: count }), 50, async () => {
      const f = new Follower({
        name: stream.name,
        sync,
        open: (env) => openChange(stream.contentKey, stream.name, env),
        subscribers: [subscriber],
        staleAfterMs: 600_000,
        backoff: defaultBackoff,
      });
      followers.push(f);
      await f.open().catch(() => {});
    });
  await until(
    `${count} ${transport} followers live`,
    () => followers.every((f) => f.status === "live"),
    60_000 + count * 20,
    50,
  ).catch((e: Error) => ctx.log(`  ${e.message}: ${followers.filter((f) => f.status === "live").length} live`));
  const joinSeconds = (performance.now() - t0) / 1000;
  const live: unknown[] = raw
    ? sockets.filter((w) => w.readyState === WebSocket.OPEN)
    : followers.filter((f) => f.status === "live");
  await sleep(500);
  const rssW1 = rssKiB(wd.proc.pid);
  const rssR1 = rssKiB(subPid);
  const rssP1 = rssKiB(stack.redis.pid);
  const info1 = await stack.info("memory");
  const clients1 = Number((await stack.info("clients")).connected_clients);

  // Per publish: when each follower had it.
  for (const f of followers) {
    f.on("state", (u) => {
      if ((u.state as { rev?: number }).rev === want) times.push(performance.now());
    });
  }
  const all: number[] = [];
  const each: number[] = [];
  let missed = 0;
  // one warm-up publish (first messages after SUBSCRIBE can arrive late)
  for (let i = 0; i < publishes + 1; i++) {
    times = [];
    want = rev + 1;
    const cpu0 = process.cpuUsage();
    const meter = new CpuMeter({ webdis: wd.proc.pid, redis: stack.redis.pid, sub: subPid });
    const start = performance.now();
    await publish();
    await until("all followers updated", () => times.length >= live.length, 30_000, 2).catch(() => {});
    if (i > 0) {
      missed += live.length - times.length;
      all.push(Math.max(...times) - start);
      for (const t of times) each.push(t - start);
      const c = meter.read().cpu;
      const cpu1 = process.cpuUsage(cpu0);
      cpuW.push(c.webdis ?? 0);
      cpuR.push(c.redis ?? 0);
      cpuS.push(onReplica ? (c.sub ?? 0) : Number.NaN);
      cpuB.push((cpu1.user + cpu1.system) / 1000);
    }
    await sleep(200);
  }

  for (const f of followers) f.disconnect();
  for (const s of sockets) s.terminate();
  agent.destroy();
  await until(
    "connections gone",
    async () => Number((await stack.info("clients")).connected_clients) <= clients0 + 5,
    15_000,
    200,
  ).catch(() => {});

  return {
    transport,
    followers: count,
    connected: live.length,
    joinSeconds,
    allP50: percentile(all, 50),
    allP99: percentile(all, 99),
    eachP50: percentile(each, 50),
    eachP99: percentile(each, 99),
    missed,
    webdisRssDeltaKiB: rssW1 - rssW0,
    redisRssDeltaKiB: rssR1 - rssR0,
    redisUsedDeltaB: onReplica ? Number.NaN : Number(info1.used_memory) - Number(info0.used_memory),
    redisClientsDelta: onReplica ? Number.NaN : clients1 - clients0,
    onReplica,
    primaryRssDeltaKiB: rssP1 - rssP0,
    replicaCpuMsPerPublish: mean(cpuS.splice(0)) ?? Number.NaN,
    webdisCpuMsPerPublish: mean(cpuW.splice(0)) ?? Number.NaN,
    redisCpuMsPerPublish: mean(cpuR.splice(0)) ?? Number.NaN,
    benchCpuMsPerPublish: mean(cpuB.splice(0)) ?? Number.NaN,
  };
}
const cpuW: number[] = [];
const cpuR: number[] = [];
const cpuB: number[] = [];
const cpuS: number[] = [];

/** Shared with scenario 4 (memory per follower). */
export const fanoutRuns: FanoutRun[] = [];

export async function fanout(ctx: Ctx): Promise<Scenario> {
  const sc = new Scenario(3, "Fan-out: time until all followers have a change");
  const sizes = ctx.quick ? [1000] : [100, 1000, 5000];
  const publishes = ctx.quick ? 4 : 10;
  const fdLimit = Number((await import("node:child_process")).execSync("sh -c 'ulimit -n'").toString().trim());
  const runs: [transport: "websocket" | "http-stream", n: number, raw: boolean][] = [];
  // quick: the HTTP stream with 200 (joining 1,000 of them alone can take 5-15 s on a busy box)
  for (const transport of ["websocket", "http-stream"] as const)
    for (const n of sizes) runs.push([transport, ctx.quick && transport === "http-stream" ? 200 : n, false]);
  if (!ctx.quick) runs.push(["websocket", 1000, true]);
  for (const [transport, n, raw] of runs) {
    // each follower: 1 fd here; Webdis: 2 (client + its Redis connection); Redis: 1
    if (n * 2 + 200 > fdLimit) {
      sc.note(`${transport} x ${n}: skipped, the file-descriptor limit is ${fdLimit} (needs ~${n * 2 + 200})`);
      continue;
    }
    ctx.log(`  ${transport} x ${n}...`);
    const r = await runFanout(ctx, transport, n, publishes, raw);
    if (!raw) fanoutRuns.push(r);
    ctx.log(
      `    joined ${r.connected}/${n} in ${r.joinSeconds.toFixed(1)} s; all updated p50 ${r.allP50?.toFixed(1)} ms p99 ${r.allP99?.toFixed(1)} ms; missed ${r.missed}`,
    );
    const k = `${raw ? "rawws" : transport === "websocket" ? "ws" : "hs"}_${n}`;
    const t = raw ? "baseline: bare ws subscribers" : transport === "websocket" ? "WebSocket" : "HTTP stream";
    sc.fig(`${k}_connected`, `${t} x ${n}: followers live`, r.connected, "followers");
    sc.fig(`${k}_all_p50`, `${t} x ${n}: all updated p50`, r.allP50, "ms");
    sc.fig(`${k}_all_p99`, `${t} x ${n}: all updated p99`, r.allP99, "ms");
    sc.fig(`${k}_each_p50`, `${t} x ${n}: per-follower delay p50`, r.eachP50, "ms");
    sc.fig(`${k}_missed`, `${t} x ${n}: updates missed`, r.missed, "count");
    sc.fig(`${k}_webdis_rss`, `${t} x ${n}: Webdis RSS delta`, r.webdisRssDeltaKiB / 1024, "MiB");
    sc.fig(
      `${k}_redis_rss`,
      `${t} x ${n}: ${r.onReplica ? "replica" : "Redis"} RSS delta`,
      r.redisRssDeltaKiB / 1024,
      "MiB",
    );
    sc.fig(`${k}_webdis_cpu`, `${t} x ${n}: Webdis CPU per publish`, r.webdisCpuMsPerPublish, "ms");
    sc.fig(`${k}_redis_cpu`, `${t} x ${n}: Redis (primary) CPU per publish`, r.redisCpuMsPerPublish, "ms");
    if (r.onReplica) sc.fig(`${k}_replica_cpu`, `${t} x ${n}: replica CPU per publish`, r.replicaCpuMsPerPublish, "ms");
    sc.fig(`${k}_bench_cpu`, `${t} x ${n}: bench (followers) CPU per publish`, r.benchCpuMsPerPublish, "ms");
    sc.fig(`${k}_join`, `${t} x ${n}: time to join all`, r.joinSeconds, "s");
  }
  const target = (k: string, label: string) => {
    const v = sc.get(k);
    sc.target(k, label, "<= 50 ms", v, "ms", v === null ? null : v <= 50);
  };
  sc.note(
    `WebSocket runs use the ${ctx.stack.wsLabel}; HTTP-stream runs use the command door (webdis.json, the default without subscribeUrl).`,
  );
  if (!ctx.quick)
    sc.ratio(
      "ws_vs_raw_1000",
      "WebSocket x 1000 all-updated p50 / bare ws subscribers",
      "ws_1000_all_p50",
      "rawws_1000_all_p50",
    );
  target("hs_1000_all_p99", "1,000 followers (HTTP stream, command door) all updated within 50 ms p99");
  target("ws_1000_all_p99", "1,000 followers (WebSocket) all updated within 50 ms p99");
  sc.note(
    `${publishes} publishes of a ~1 KB plan per run after one warm-up, 200 ms apart. All followers live in this one Node process, ` +
      "so 'all updated' includes the bench parsing every copy on one core (see 'bench CPU per publish').",
  );
  return sc;
}
