/**
 * 4. Memory. Per stream: INFO memory used_memory before and after 10,000
 * relay_start calls (idle streams: meta hash, `{}` state, index and deadline
 * entries), divided by the count. Then streams that published: the same for
 * streams holding a ~2 KB state and a full history (history = 32 envelopes by
 * default). Per follower: Redis and Webdis RSS deltas from scenario 3's runs
 * (or a 1,000-follower WebSocket run if scenario 3 did not run).
 */
import { Redis } from "ioredis";
import { baseKey } from "../../src/core/wire.ts";
import type { Ctx } from "../lib/ctx.ts";
import { makePlan } from "../lib/plan.ts";
import { Scenario } from "../lib/report.ts";
import { hex } from "../lib/stack.ts";
import { fanoutRuns, runFanout } from "./fanout.ts";

export async function memory(ctx: Ctx): Promise<Scenario> {
  const sc = new Scenario(4, "Memory per stream and per follower");
  const { stack, quick } = ctx;
  const redis = new Redis({ port: stack.redisPort, host: "127.0.0.1" });
  const used = async () => {
    await redis.call("MEMORY", "PURGE").catch(() => {});
    const text = String(await redis.call("INFO", "memory"));
    return Number(/used_memory:(\d+)/.exec(text)?.[1]);
  };
  try {
    const count = 10_000;
    const names: string[] = [];
    const before = await used();
    for (let i = 0; i < count; i += 500) {
      const p = redis.pipeline();
      for (let j = i; j < Math.min(count, i + 500); j++) {
        const name = `idle-${j}-${hex(4)}`;
        names.push(name);
        p.call("FCALL", "relay_start", "1", baseKey(name), name, hex(32), hex(32), hex(24), hex(24));
      }
      const res = await p.exec();
      const bad = res?.find(([e]) => e);
      if (bad) throw bad[0];
    }
    const after = await used();
    ctx.log(`  ${count} idle streams: ${((after - before) / count).toFixed(0)} B each`);
    sc.fig("streams", "idle streams created", count, "streams");
    sc.fig("per_idle_stream", "Redis used_memory per idle stream", (after - before) / count, "B");

    // Streams that published: ~2 KB state, history full (32 envelopes by default).
    const active = quick ? 100 : 1000;
    const history = Number((await redis.call("HGET", "relay:config", "history")) ?? 32) || 32;
    const plan = JSON.stringify(makePlan(2048, 9));
    const actives: { name: string; token: string }[] = [];
    const p = redis.pipeline();
    for (let i = 0; i < active; i++) {
      const name = `busy-${i}-${hex(4)}`;
      const token = hex(24);
      actives.push({ name, token });
      p.call("FCALL", "relay_start", "1", baseKey(name), name, hex(32), hex(32), hex(24), token);
    }
    await p.exec();
    const before2 = await used();
    for (let round = 0; round < history + 1; round++) {
      const q = redis.pipeline();
      for (const a of actives) {
        q.call(
          "FCALL",
          "relay_publish",
          "1",
          baseKey(a.name),
          a.name,
          a.token,
          "1",
          hex(16),
          plan.replace('"version":1', `"version":1,"r":${round}`),
        );
      }
      const res = await q.exec();
      const bad = res?.find(([e]) => e);
      if (bad) throw bad[0];
    }
    const after2 = await used();
    sc.fig("state_bytes", "state size of the busy streams", plan.length, "B");
    sc.fig(
      "per_busy_stream",
      `Redis used_memory per stream with a state and ${history} history envelopes`,
      (after2 - before2) / active,
      "B",
    );
    sc.ratio("busy_vs_state", "busy stream memory / state size", "per_busy_stream", "state_bytes");
    sc.note(
      `A stream that published keeps its state plus ${history} history envelopes (each a full state): ~${history + 1}x the state size in Redis. ` +
        "A 200 KB plan edited 32+ times holds ~6.6 MB; delta history (patches) would shrink this.",
    );

    // Clean up: the bench's streams go (the functions stay; they are not keys).
    const del = redis.pipeline();
    for (const n of [...names, ...actives.map((a) => a.name)]) {
      const b = baseKey(n);
      del.del(`${b}:meta`, `${b}:state`, `${b}:log`);
      del.zrem("relay:index", n);
      del.zrem("relay:deadline", n);
    }
    await del.exec();
  } finally {
    redis.disconnect();
  }

  // Per follower (Redis + Webdis), from the fan-out runs.
  let runs = fanoutRuns.filter((r) => r.followers >= 1000);
  if (!runs.length) runs = [await runFanout(ctx, "websocket", 1000, 1), await runFanout(ctx, "http-stream", 1000, 1)];
  for (const r of runs) {
    const t = r.transport === "websocket" ? "WebSocket" : "HTTP stream";
    const k = `${r.transport === "websocket" ? "ws" : "hs"}_${r.followers}`;
    sc.fig(
      `${k}_webdis_per`,
      `${t} follower (of ${r.followers}): Webdis RSS`,
      (r.webdisRssDeltaKiB * 1024) / r.connected,
      "B",
    );
    const where = r.onReplica ? "replica" : "Redis";
    sc.fig(
      `${k}_redis_per`,
      `${t} follower (of ${r.followers}): ${where} RSS`,
      (r.redisRssDeltaKiB * 1024) / r.connected,
      "B",
    );
    if (!r.onReplica) {
      sc.fig(
        `${k}_redis_used_per`,
        `${t} follower (of ${r.followers}): Redis used_memory`,
        r.redisUsedDeltaB / r.connected,
        "B",
      );
      sc.fig(
        `${k}_redis_conns`,
        `${t} follower (of ${r.followers}): Redis connections`,
        r.redisClientsDelta / r.connected,
        "conns",
      );
    }
  }
  if (runs.some((r) => r.onReplica))
    sc.note(
      "WebSocket followers sit on the subscription door's replica, whose default user may only SUBSCRIBE: no INFO there, so RSS only.",
    );
  sc.note(
    "Each subscriber costs Webdis one Redis connection (Redis connected_clients grows by one per follower): maxclients and fd limits bound followers per Redis.",
  );
  return sc;
}
