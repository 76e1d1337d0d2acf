/**
 * 4. Memory. Per stream: INFO memory used_memory before and after 10,000
 * relay_start calls (idle streams: meta hash, `{}` state, index and deadline
 * entries), divided by the count. Then streams that published: the same for
 * streams holding a ~2 KB plan and 32 edits since (sealed sizes, protocol v2:
 * a snapshot and the changes since). Per follower: Redis and Webdis RSS deltas from scenario 3's runs
 * (or a 1,000-follower WebSocket run if scenario 3 did not run).
 */
import { Redis } from "ioredis";
import { baseKey } from "../../src/core/wire.ts";
import type { Ctx } from "../lib/ctx.ts";
import { makePlan } from "../lib/plan.ts";
import { Scenario } from "../lib/report.ts";
import { publishAck, publishArgs, RawStream, sealedSizes } from "../lib/sealed.ts";
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
  const names: string[] = [];
  const actives: RawStream[] = [];
  // 10,000 idle streams plus the busy ones exceed the default max_streams (10,000 live):
  // the cap is lifted for this scenario and put back afterwards.
  const cap = await redis.hget("relay:config", "max_streams");
  await redis.hset("relay:config", "max_streams", "0");
  try {
    const count = 10_000;
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

    // Streams that published: a ~2 KB plan (sealed size), then 32 one-waypoint edits
    // (sealed patches of a realistic size), with a whole state whenever the server asks.
    const active = quick ? 100 : 1000;
    const edits = 32;
    const plan = makePlan(2048, 9);
    const planJson = JSON.stringify(plan);
    const { state: stateBytes, edits: changeBytes } = await sealedSizes(plan, 8);
    const p = redis.pipeline();
    for (let i = 0; i < active; i++) {
      const name = `busy-${i}-${hex(4)}`;
      const token = hex(24);
      const handle = { name, key: baseKey(name), pw: "", code: "", token, term: 1, channel: "", epoch: "" };
      actives.push(new RawStream(handle, stateBytes, changeBytes));
      p.call("FCALL", "relay_start", "1", baseKey(name), name, hex(32), hex(32), hex(24), token);
    }
    await p.exec();
    const before2 = await used();
    for (let round = 0; round < edits + 1; round++) {
      const q = redis.pipeline();
      const sent = actives.map((a) => {
        const { opId, args } = a.next();
        q.call("FCALL", ...publishArgs(a.stream, opId, args));
        return args.kind;
      });
      const res = (await q.exec()) ?? [];
      for (const [i, [err, reply]] of res.entries()) {
        if (err) throw err;
        (actives[i] as RawStream).ack(sent[i] as "s" | "p", publishAck(String(reply)));
      }
    }
    const after2 = await used();
    const wholes = actives.reduce((a, r) => a + r.sent.s, 0) / active;
    sc.fig("state_bytes", "plan JSON size of the busy streams", planJson.length, "B");
    sc.fig("sealed_state_bytes", "sealed size of that plan", stateBytes, "B");
    sc.fig(
      "per_busy_stream",
      `Redis used_memory per stream after a whole state and ${edits} edits`,
      (after2 - before2) / active,
      "B",
    );
    sc.fig("wholes_per_stream", "whole states sent per stream (first + asked for)", wholes, "count");
    sc.ratio("busy_vs_state", "busy stream memory / plan JSON size", "per_busy_stream", "state_bytes");
    sc.note(
      "Protocol v2: a stream keeps its last whole state (snapshot) and the sealed changes since, whose bytes the server keeps below about the snapshot's " +
        "(then it asks for a whole state, which empties the log). Blobs of the sealed sizes (Lua sees only their form); scenario 9 measures a 200 KB plan through the client.",
    );
  } finally {
    // Clean up, also after a failure: the bench's streams go (the functions stay; they are not keys).
    const mine = new Set([...names, ...actives.map((a) => a.stream.name)]);
    const del = redis.pipeline();
    for (const n of mine) {
      const b = baseKey(n);
      del.del(`${b}:meta`, `${b}:snap`, `${b}:log`);
      del.zrem("relay:index", n);
      del.zrem("relay:deadline", n);
    }
    await del.exec();
    let cursor = "0";
    do {
      const [next, kv] = (await redis.hscan("relay:skeleton", cursor, "COUNT", 1000)) as [string, string[]];
      cursor = next;
      const gone = kv.filter((_, i) => i % 2 === 0 && mine.has(kv[i + 1] as string));
      if (gone.length) await redis.hdel("relay:skeleton", ...gone);
    } while (cursor !== "0");
    if (cap === null) await redis.hdel("relay:config", "max_streams");
    else await redis.hset("relay:config", "max_streams", cap);
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
