/**
 * The topologies start for real (src/server/topology.ts, native processes):
 * in `replicated`, a publish on the primary reaches followers behind every
 * replica's own subscription door (fan-out through replication); in `sharded`,
 * each shard is a group of its own (a stream started on one is unknown to the
 * others). The edge in front of several subscription doors spreads followers
 * over them.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compareNames } from "../../src/core/shards.ts";
import { createRelay, type Follower, type Leader } from "../../src/node.ts";
import { type Edge, startEdge } from "../../src/server/edge.ts";
import { connectionsTo, repoRoot } from "../../src/server/native.ts";
import { redisCommand } from "../../src/server/resp.ts";
import { planTopology, type RunningTopology, startTopology } from "../../src/server/topology.ts";
import { fastBackoff } from "../faults/support.ts";
import { sleep, uniqueName, waitFor } from "../support/util.ts";

const creds = { password: "topology-pw", code: "topology-code" };
/** Leaders are closed and followers disconnected after each group. */
const opened: (Leader | Follower)[] = [];
const track = <T extends Leader | Follower>(x: T): T => {
  opened.push(x);
  return x;
};
const closeAll = async () => {
  for (const x of opened.splice(0)) {
    await Promise.resolve("disconnect" in x ? x.disconnect() : x.close()).catch(() => {});
  }
};

/** Waits until the follower's state has `n` as its `n`. */
const seen = async (f: Follower, n: number) =>
  (f.state as { n?: number } | undefined)?.n === n ||
  waitFor(f, (u) => ((u.state as { n?: number })?.n === n ? u : undefined), 10_000);

describe("replicated: one primary, three replicas, a subscription door each", () => {
  let run: RunningTopology;
  let edge: Edge;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "relay-topo-"));
    run = await startTopology(await planTopology({ kind: "replicated", replicas: 3 }), { dir, aof: false });
    const [shard] = run.shards();
    if (!shard) throw new Error("no shard");
    const backend = (u: string) => ({ host: new URL(u).hostname, port: Number(new URL(u).port) });
    edge = await startEdge({
      commandBackend: backend(shard.url),
      subscribeBackend: shard.subscribeUrls.map(backend),
      limits: { connectionsPerClient: 2_000, connect: 100_000, reconnect: 100_000, stop: 100_000, start: 100_000 },
    });
  }, 60_000);
  afterAll(async () => {
    await closeAll();
    await edge?.stop();
    await run?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a publish reaches followers on every replica's door", async () => {
    const [shard] = run.shards();
    const urls = shard?.subscribeUrls ?? [];
    expect(urls).toHaveLength(3);
    const name = uniqueName("fanout");
    const leader: Leader = track(
      await createRelay({ url: shard?.url ?? "", heartbeatMs: 0, backoff: fastBackoff }).start(name, creds),
    );
    await leader.publish({ n: 1 });
    const followers = await Promise.all(
      urls.map(async (subscribeUrl) =>
        track(
          await createRelay({ url: shard?.url ?? "", subscribeUrl, heartbeatMs: 0, backoff: fastBackoff }).connect(
            name,
            { password: creds.password },
          ),
        ),
      ),
    );
    await Promise.all(followers.map((f) => seen(f, 1)));
    await leader.publish({ n: 2 });
    await Promise.all(followers.map((f) => seen(f, 2)));
    // Behind each door, a replica whose default user can do nothing but subscribe.
    for (const r of run.topology.redis.filter((n) => n.role === "replica")) {
      await expect(redisCommand(r.port, ["GET", "relay:index"]), r.id).rejects.toThrow(/NOPERM/);
    }
  });

  it("the edge spreads followers over the doors (least connections)", async () => {
    const [shard] = run.shards();
    const name = uniqueName("spread");
    const leader = track(
      await createRelay({ url: shard?.url ?? "", heartbeatMs: 0, backoff: fastBackoff }).start(name, creds),
    );
    await leader.publish({ n: 1 });
    const relay = createRelay({
      url: edge.commandUrl,
      subscribeUrl: edge.subscribeUrl,
      heartbeatMs: 0,
      backoff: fastBackoff,
    });
    // Webdis holds a pool of Redis connections plus one per WebSocket subscriber:
    // the subscribers per door are the connections to its replica beyond those before.
    const subs = run.topology.doors.filter((d) => d.kind === "subscribe");
    const connections = () =>
      Promise.all(
        subs.map((d) => {
          const pid = run.door(d.id)?.pid;
          const port = run.topology.redis.find((n) => n.id === d.redis)?.port ?? 0;
          return pid === undefined ? 0 : connectionsTo(pid, port);
        }),
      );
    const before = await connections();
    const followers: Follower[] = [];
    for (let i = 0; i < 6; i++) followers.push(track(await relay.connect(name, { password: creds.password })));
    await Promise.all(followers.map((f) => seen(f, 1)));
    const after = await connections();
    const perDoor = after.map((n, i) => n - (before[i] ?? 0));
    // Six followers, three doors: none left empty, none with all of them.
    expect(
      perDoor.every((n) => n >= 1),
      `per door ${perDoor}`,
    ).toBe(true);
    expect(Math.max(...perDoor), `per door ${perDoor}`).toBeLessThan(6);
    await leader.publish({ n: 2 });
    await Promise.all(followers.map((f) => seen(f, 2)));

    // A replica dies: Webdis keeps its door's WebSockets open, deaf. The edge's
    // check (PING through the door) marks the door down and cuts its sessions, so
    // its followers reconnect through the edge to a live door long before their
    // own silence watchdog (45 s by default) would notice.
    const victim = subs.findIndex((_, i) => (perDoor[i] ?? 0) > 0);
    const victimNode = subs[victim]?.redis ?? "";
    const killedAt = Date.now();
    await run.redis(victimNode).stop("SIGKILL");
    let n = 2;
    do {
      await leader.publish({ n: ++n });
      await sleep(250);
    } while (Date.now() - killedAt < 20_000 && !followers.every((f) => (f.state as { n?: number })?.n === n));
    const movedMs = Date.now() - killedAt;
    console.log(
      `[cluster] a replica behind ${perDoor[victim]} followers killed: all had the newest state after ${movedMs} ms`,
    );
    expect(
      followers.map((f) => (f.state as { n?: number })?.n),
      "every follower at the newest state",
    ).toEqual(followers.map(() => n));
    expect(movedMs, "the goal is 10 s").toBeLessThan(20_000);
    await run.startRedis(victimNode);
  }, 60_000);
});

describe("sharded: three independent groups", () => {
  let run: RunningTopology;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "relay-topo-"));
    run = await startTopology(await planTopology({ kind: "sharded", shards: 3 }), { dir, aof: false });
  }, 60_000);
  afterAll(async () => {
    await closeAll();
    await run?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("each shard serves its own streams; a stream started on one is unknown to the others", async () => {
    const [a, b] = run.shards();
    if (!a || !b) throw new Error("three shards expected");
    expect(a.url).not.toBe(b.url);
    const name = uniqueName("shard");
    const leader = track(
      await createRelay({ url: a.url, subscribeUrl: a.subscribeUrls[0], heartbeatMs: 0 }).start(name, creds),
    );
    await leader.publish({ n: 1 });
    const f = track(
      await createRelay({ url: a.url, subscribeUrl: a.subscribeUrls[0], heartbeatMs: 0 }).connect(name, {
        password: creds.password,
      }),
    );
    await seen(f, 1);
    const other = createRelay({ url: b.url, heartbeatMs: 0 });
    await expect(other.connect(name, { password: creds.password })).rejects.toMatchObject({ code: "NOT_FOUND" });
    const [pa, pb] = run.topology.shards.map((s) => run.topology.redis.find((n) => n.id === s.primary)?.port ?? 0);
    expect(await redisCommand(pa ?? 0, ["ZCARD", "relay:index"])).toBe(1);
    expect(await redisCommand(pb ?? 0, ["ZCARD", "relay:index"])).toBe(0);
    await leader.stop();
  });

  it("a sharded client puts each stream on its hash's shard; list-streams --all shows every stream once, in order", async () => {
    const shards = run.shards();
    const relay = createRelay({ shards, heartbeatMs: 0 });
    // Two names per shard, found by the hash every client computes (bounded search).
    const names: string[] = [];
    for (let k = 0; k < 200 && names.length < 2 * shards.length; k++) {
      const candidate = uniqueName(`sh${k}`);
      const home = relay.shardOf(candidate);
      if (names.filter((x) => relay.shardOf(x) === home).length < 2) names.push(candidate);
    }
    expect(names).toHaveLength(2 * shards.length);
    for (const n of names) track(await relay.start(n, creds));
    // Each stream is on its shard's primary and nowhere else.
    for (const [i, s] of run.topology.shards.entries()) {
      const port = run.topology.redis.find((n) => n.id === s.primary)?.port ?? 0;
      const here = (await redisCommand(port, ["ZRANGE", "relay:index", "0", "-1"])) as string[];
      const want = names.filter((x) => relay.shardOf(x) === shards[i]?.id).sort(compareNames);
      expect([...here].sort(compareNames), s.id).toEqual(want);
    }
    const file = join(dir, "relay-config.json");
    writeFileSync(file, JSON.stringify({ shards }));
    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ["--import", "tsx", join(repoRoot, "src", "cli", "list-streams.ts"), "--json", "--all", "--count", "2"],
        { cwd: repoRoot, env: { ...process.env, RELAY_CONFIG: file, RELAY_URL: "" }, timeout: 60_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}: ${stderr}`)) : resolve(stdout)),
      );
    });
    const listed = JSON.parse(out) as { streams: { name: string }[] };
    expect(listed.streams.map((x) => x.name)).toEqual([...names].sort(compareNames));
  }, 60_000);
});
