/**
 * 10. Fan-out over 1, 2 and 4 subscription doors (issue 15): a `replicated`
 * topology (src/server/topology.ts) per door count, each replica behind its
 * own subscription door, all three running side by side. The same number of
 * bare `ws` subscribers on each, spread round-robin over its doors (the
 * client's own door choice is not in the tree yet: see bench/README.md), and
 * the publishes interleaved across the three so they share the box's load
 * alike. For each publish: the time until every subscriber has it; for each
 * door: Webdis CPU per delivered message (it should stay flat as doors are
 * added: each door carries its share of the followers), and each replica's.
 *
 * Raw subscribers, not the client's Follower: 1,000 Followers cost the bench
 * ~250 ms of its own CPU per publish (scenario 3), which would hide the doors.
 * A raw subscriber only looks for the publish's seq in the frame.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import WebSocket from "ws";
import type { Follower } from "../../src/index.ts";
import { createRelay } from "../../src/node.ts";
import { doorCapacity, replicaMaxclients } from "../../src/server/topology.ts";
import type { Ctx } from "../lib/ctx.ts";
import { makePlan } from "../lib/plan.ts";
import { Scenario } from "../lib/report.ts";
import { publishAck, publishBody, type SealedStream, SealedWriter, startSealedStream } from "../lib/sealed.ts";
import { BenchStack, hex, post } from "../lib/stack.ts";
import { cpuMs, percentile, pool, rssKiB, sleep, until } from "../lib/stats.ts";

export const DOOR_COUNTS = [1, 2, 4] as const;

/** One door count's topology with its subscribers joined, and what was measured on it. */
interface Setup {
  doors: number;
  stack: BenchStack;
  stream: SealedStream;
  writer: SealedWriter;
  agent: http.Agent;
  sockets: WebSocket[];
  rev: number;
  subscribed: number;
  joinSeconds: number;
  /** Per publish being measured: the seq looked for, and when each socket had it. */
  want: number;
  got: number[];
  delivered: number[];
  webdisCpuMs: number[];
  replicaCpuMs: number[];
  primaryCpuMs: number;
  benchCpuMs: number;
  all: number[];
  each: number[];
  missed: number;
  measured: number;
  webdisRssDeltaKiB: number[];
  /** Followers the doors could hold at most, from their limits (see `doorCapacity`). */
  capacity: number;
}

/** A process's soft limit on open files (/proc/<pid>/limits); NaN when unreadable. */
function fdLimitOf(pid: number): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/limits`, "utf8"));
    return m ? Number(m[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Round-robin: follower i on door i mod n (stable per follower, none left on the first only). */
export const doorFor = (i: number, doors: number) => i % doors;

async function setUp(ctx: Ctx, doors: number, followers: number): Promise<Setup> {
  // No Sentinel: the fan-out path (replica -> its door -> subscribers) is the same with or
  // without it, and three topologies with 3 sentinels and a route each would only load the box.
  const stack = await BenchStack.start({ kind: "replicated", replicas: doors, failover: false });
  try {
    const stream = await startSealedStream(stack, "doors", "bench-pw");
    const s: Setup = {
      doors,
      stack,
      stream,
      writer: new SealedWriter(stream),
      agent: new http.Agent({ keepAlive: true, maxSockets: 2 }),
      sockets: [],
      rev: 0,
      subscribed: 0,
      joinSeconds: 0,
      want: -1,
      got: [],
      delivered: new Array(doors).fill(0),
      webdisCpuMs: new Array(doors).fill(0),
      replicaCpuMs: new Array(doors).fill(0),
      primaryCpuMs: 0,
      benchCpuMs: 0,
      all: [],
      each: [],
      missed: 0,
      measured: 0,
      webdisRssDeltaKiB: [],
      capacity: 0,
    };
    await publish(s);
    const urls = stack.subscribeDoors.map((d) => d.url);
    const rss0 = stack.subscribeDoors.map((d) => rssKiB(d.proc.pid));
    const t0 = performance.now();
    await pool(
      Array.from({ length: followers }, (_, i) => i),
      50,
      async (i) => {
        const door = doorFor(i, doors);
        const url = urls[door] ?? "";
        const w = new WebSocket(`${url.replace("http:", "ws:")}/.json`, { origin: url });
        s.sockets.push(w);
        w.on("message", (data: Buffer) => {
          const text = data.toString();
          if (text.includes('"subscribe"')) s.subscribed++;
          else if (s.want > 0 && text.includes(`"seq\\":${s.want},`)) {
            s.got.push(performance.now());
            s.delivered[door] = (s.delivered[door] ?? 0) + 1;
          }
        });
        w.on("error", () => {});
        await new Promise<void>((r) => {
          w.once("open", () => r());
          w.once("error", () => r());
        });
        if (w.readyState === WebSocket.OPEN) w.send(JSON.stringify(["SUBSCRIBE", stream.channel]));
      },
    );
    await until(`${followers} subscribers on ${doors} door(s)`, () => s.subscribed >= followers, 60_000, 50).catch(
      (e: Error) => ctx.log(`  ${e.message}: ${s.subscribed} subscribed`),
    );
    s.joinSeconds = (performance.now() - t0) / 1000;
    await sleep(300);
    s.webdisRssDeltaKiB = stack.subscribeDoors.map((d, i) => rssKiB(d.proc.pid) - (rss0[i] ?? 0));
    const replicas = stack.replicas;
    s.capacity = sum(
      stack.subscribeDoors.map((d, i) =>
        doorCapacity(
          fdLimitOf(d.proc.pid),
          fdLimitOf(replicas[i]?.pid ?? -1),
          replicaMaxclients(fdLimitOf(replicas[i]?.pid ?? -1)),
        ),
      ),
    );
    return s;
  } catch (e) {
    await stack.stop();
    throw e;
  }
}

async function publish(s: Setup): Promise<void> {
  s.rev++;
  const { args, json } = await s.writer.change({ ...makePlan(1024, 5), rev: s.rev });
  const r = await post(s.agent, s.stack.webdis.port, publishBody(s.stream, hex(16), args));
  const ack = r.status === 200 ? publishAck(r.text) : undefined;
  if (!ack) throw new Error(`publish failed: ${r.status} ${r.text.slice(0, 300)}`);
  s.writer.acked(json, ack);
}

/** One publish, timed until every subscriber of this setup has it; CPU summed per door. */
async function measureOne(s: Setup, record: boolean): Promise<void> {
  const webdisPids = s.stack.subscribeDoors.map((d) => d.proc.pid);
  const replicaPids = s.stack.replicas.map((r) => r.pid);
  const w0 = webdisPids.map(cpuMs);
  const r0 = replicaPids.map(cpuMs);
  const p0 = cpuMs(s.stack.redis.pid);
  const b0 = process.cpuUsage();
  const delivered0 = [...s.delivered];
  s.got = [];
  s.want = s.writer.seq + 1;
  const start = performance.now();
  await publish(s);
  await until("all subscribers updated", () => s.got.length >= s.subscribed, 30_000, 2).catch(() => {});
  if (!record) {
    s.delivered = delivered0;
    return;
  }
  const b1 = process.cpuUsage(b0);
  s.measured++;
  s.missed += s.subscribed - s.got.length;
  if (s.got.length) s.all.push(Math.max(...s.got) - start);
  for (const t of s.got) s.each.push(t - start);
  webdisPids.forEach((pid, i) => {
    s.webdisCpuMs[i] = (s.webdisCpuMs[i] ?? 0) + cpuMs(pid) - (w0[i] ?? 0);
  });
  replicaPids.forEach((pid, i) => {
    s.replicaCpuMs[i] = (s.replicaCpuMs[i] ?? 0) + cpuMs(pid) - (r0[i] ?? 0);
  });
  s.primaryCpuMs += cpuMs(s.stack.redis.pid) - p0;
  s.benchCpuMs += (b1.user + b1.system) / 1000;
}

/**
 * The client's own door choice (createRelay with every subscription door: each
 * follower ranks the doors by rendezvous over a random id of its own): how the
 * followers spread over the doors, and one publish until all of them have it.
 * Few of them: each connect runs PBKDF2.
 */
async function clientSpread(ctx: Ctx, s: Setup, count: number) {
  const doorUrls = s.stack.subscribeDoors.map((d) => d.url);
  const relay = createRelay({ url: s.stack.webdis.url, subscribeUrls: doorUrls, heartbeatMs: 0 });
  const followers: Follower[] = [];
  try {
    await pool(Array.from({ length: count }), 4, async () => {
      const f = await relay.connect(s.stream.name, { password: "bench-pw" }).catch(() => undefined);
      if (f) followers.push(f);
    });
    await until("client followers live", () => followers.every((f) => f.status === "live"), 30_000, 50).catch(
      (e: Error) => ctx.log(`  ${e.message}`),
    );
    const perDoor = doorUrls.map((u) => followers.filter((f) => f.door === u && f.status === "live").length);
    const want = s.rev + 1;
    const got: number[] = [];
    for (const f of followers)
      f.on("state", (u) => {
        if ((u.state as { rev?: number }).rev === want) got.push(performance.now());
      });
    const start = performance.now();
    await publish(s);
    await until("client followers updated", () => got.length >= followers.length, 30_000, 2).catch(() => {});
    const all = got.length === followers.length && got.length ? Math.max(...got) - start : null;
    return { perDoor, live: sum(perDoor), all, webSocket: followers.filter((f) => f.transport === "websocket").length };
  } finally {
    for (const f of followers) f.disconnect();
  }
}

async function tearDown(s: Setup): Promise<void> {
  for (const w of s.sockets) w.terminate();
  s.agent.destroy();
  await s.stack.stop();
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

export async function doors(ctx: Ctx): Promise<Scenario> {
  const sc = new Scenario(10, "Fan-out over 1, 2 and 4 subscription doors (replicated topology)");
  const followers = ctx.quick ? 600 : 3000;
  const publishes = ctx.quick ? 5 : 12;
  const fdLimit = Number((await import("node:child_process")).execSync("sh -c 'ulimit -n'").toString().trim());
  // The bench holds every subscriber of the three setups at once (1 fd each); the 1-door
  // Webdis holds 2 per subscriber (the client's socket and its own Redis connection).
  const need = followers * DOOR_COUNTS.length + 500;
  if (need > fdLimit || followers * 2 + 200 > fdLimit) {
    sc.note(`skipped: the file-descriptor limit is ${fdLimit} (needs ~${need})`);
    return sc;
  }
  const setups: Setup[] = [];
  try {
    for (const n of DOOR_COUNTS) {
      ctx.log(`  ${n} door(s): starting a replicated topology, ${followers} subscribers...`);
      const s = await setUp(ctx, n, followers);
      setups.push(s);
      ctx.log(`    ${s.subscribed}/${followers} subscribed in ${s.joinSeconds.toFixed(1)} s`);
    }
    // One warm-up publish each, then the measured ones interleaved: 1, 2, 4, 1, 2, 4, ...
    for (const s of setups) await measureOne(s, false);
    for (let i = 0; i < publishes; i++)
      for (const s of setups) {
        await measureOne(s, true);
        await sleep(150);
      }
    const four = setups.find((s) => s.doors === 4);
    if (four) {
      const n = ctx.quick ? 24 : 80;
      ctx.log(`  ${n} client followers on the 4 doors (their own choice)...`);
      const c = await clientSpread(ctx, four, n);
      ctx.log(`    per door ${c.perDoor.join(" / ")}; all updated in ${c.all?.toFixed(1)} ms`);
      sc.fig("client_live", `client followers (createRelay, ${n}, 4 doors): live`, c.live, "followers");
      sc.fig("client_ws", "client followers: on the WebSocket", c.webSocket, "followers");
      c.perDoor.forEach((k, d) => {
        sc.fig(`client_door${d}`, `client followers: on door ${d}`, k, "followers");
      });
      sc.fig("client_all", "client followers: one publish, all updated", c.all, "ms");
      // Random ids: the counts vary run to run (binomial); what must hold is that no door is
      // left empty and the first does not get most of them (with 24, by chance < 1 % of runs).
      const spreadOk = c.perDoor.every((k) => k > 0) && (c.perDoor[0] ?? 0) < c.live / 2;
      sc.target(
        "client_spread",
        "client followers spread over the 4 doors (none empty, under half on the first)",
        "every door",
        Math.min(...c.perDoor),
        "followers (fewest on a door)",
        c.live ? spreadOk : null,
      );
    }
  } finally {
    for (const s of setups) await tearDown(s);
  }

  for (const s of setups) {
    const n = s.doors;
    const k = `d${n}`;
    const delivered = sum(s.delivered);
    const p99 = percentile(s.all, 99);
    ctx.log(
      `    ${n} door(s): all updated p50 ${percentile(s.all, 50)?.toFixed(1)} ms p99 ${p99?.toFixed(1)} ms; missed ${s.missed}`,
    );
    sc.fig(`${k}_followers`, `${n} door(s): followers served (subscribed)`, s.subscribed, "followers");
    sc.fig(
      `${k}_capacity`,
      `${n} door(s): followers the doors could hold (fds, maxclients)`,
      Number.isFinite(s.capacity) ? s.capacity : null,
      "followers",
    );
    sc.fig(`${k}_all_p50`, `${n} door(s): all updated p50`, percentile(s.all, 50), "ms");
    sc.fig(`${k}_all_p99`, `${n} door(s): all updated p99`, p99, "ms");
    sc.fig(`${k}_each_p50`, `${n} door(s): per-follower delay p50`, percentile(s.each, 50), "ms");
    sc.fig(`${k}_missed`, `${n} door(s): updates missed`, s.missed, "count");
    sc.fig(
      `${k}_webdis_us_per_msg`,
      `${n} door(s): Webdis CPU per delivered message, all doors`,
      delivered ? (1000 * sum(s.webdisCpuMs)) / delivered : null,
      "µs",
    );
    for (let d = 0; d < n; d++) {
      const got = s.delivered[d] ?? 0;
      sc.fig(
        `${k}_door${d}_webdis_us_per_msg`,
        `${n} door(s): door ${d} Webdis CPU per delivered message`,
        got ? (1000 * (s.webdisCpuMs[d] ?? 0)) / got : null,
        "µs",
        `${got} messages`,
      );
    }
    sc.fig(
      `${k}_replica_us_per_msg`,
      `${n} door(s): replica CPU per delivered message, all replicas`,
      delivered ? (1000 * sum(s.replicaCpuMs)) / delivered : null,
      "µs",
    );
    sc.fig(
      `${k}_primary_ms_per_publish`,
      `${n} door(s): primary CPU per publish`,
      s.measured ? s.primaryCpuMs / s.measured : null,
      "ms",
    );
    sc.fig(
      `${k}_bench_ms_per_publish`,
      `${n} door(s): bench (subscribers) CPU per publish`,
      s.measured ? s.benchCpuMs / s.measured : null,
      "ms",
    );
    sc.fig(
      `${k}_webdis_rss_per_follower`,
      `${n} door(s): Webdis RSS per follower, all doors`,
      s.subscribed ? sum(s.webdisRssDeltaKiB) / s.subscribed : null,
      "KiB",
    );
    sc.fig(`${k}_join`, `${n} door(s): time to subscribe all`, s.joinSeconds, "s");
  }
  sc.ratio("p99_2_vs_1", "all updated p99, 2 doors / 1 door", "d2_all_p99", "d1_all_p99");
  sc.ratio("p99_4_vs_1", "all updated p99, 4 doors / 1 door", "d4_all_p99", "d1_all_p99");
  sc.ratio(
    "cpu_4_vs_1",
    "Webdis CPU per delivered message, 4 doors / 1 door",
    "d4_webdis_us_per_msg",
    "d1_webdis_us_per_msg",
  );
  const flat = sc.result.ratios.find((r) => r.key === "cpu_4_vs_1")?.value ?? null;
  sc.target(
    "cpu_flat",
    "Webdis CPU per delivered message stays flat from 1 to 4 doors",
    "<= 1.25 x",
    flat,
    "x",
    flat === null ? null : flat <= 1.25,
  );
  sc.note(
    `${followers} bare ws subscribers per door count, round-robin over the doors (subscriber i on door i mod n); ` +
      `${publishes} publishes of a ~1 KB plan (sealed patches, the leader's way) per door count after one warm-up, ` +
      "interleaved across the three topologies, which run side by side (each its own primary, replicas and doors).",
  );
  sc.note(
    "CPU from /proc in 10 ms ticks, summed over the measured publishes (publish until all updated) and divided by the messages each door delivered. " +
      "On this box the doors, replicas and the bench share 2 cores: more doors spread the work over more processes but not over more cores.",
  );
  return sc;
}
