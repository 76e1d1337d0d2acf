/**
 * The topology planner (src/server/topology.ts) is pure but for the ports it
 * is handed: what each kind lays out, and the shapes it refuses.
 */
import { describe, expect, it } from "vitest";
import {
  doorCapacity,
  planShape,
  planTopology,
  replicaMaxclients,
  shardDoors,
  TopologyError,
} from "../../src/server/topology.ts";

/** Ports 20000, 20001, ... in the order the planner asks for them. */
const counter = () => {
  let next = 20_000;
  return async () => next++;
};

describe("planShape", () => {
  it("fills in each kind's defaults", () => {
    expect(planShape({})).toEqual({ kind: "single", replicas: 1, shards: 1 });
    expect(planShape({ kind: "replicated" })).toEqual({ kind: "replicated", replicas: 2, shards: 1 });
    expect(planShape({ kind: "sharded" })).toEqual({ kind: "sharded", replicas: 1, shards: 2 });
    expect(planShape({ kind: "sharded", shards: 3, replicas: 2 })).toEqual({ kind: "sharded", replicas: 2, shards: 3 });
  });

  it("refuses shapes that do not fit the kind, with a typed error", () => {
    for (const bad of [
      { kind: "single" as const, replicas: 2 },
      { kind: "replicated" as const, shards: 2 },
      { kind: "replicated" as const, replicas: 0 },
      { kind: "sharded" as const, shards: 9 },
      { kind: "sharded" as const, replicas: 1.5 },
      { kind: "ring" as never },
    ]) {
      expect(() => planShape(bad), JSON.stringify(bad)).toThrow(TopologyError);
    }
  });
});

describe("planTopology", () => {
  it("single: a primary, one replica, a command door on the primary and a subscription door on the replica", async () => {
    const t = await planTopology({}, counter());
    expect(t.redis.map((n) => [n.id, n.role, n.dir, n.replicaOf])).toEqual([
      ["s0-primary", "primary", "redis", undefined],
      ["s0-replica", "replica", "replica", "s0-primary"],
    ]);
    expect(t.doors.map((d) => [d.id, d.kind, d.redis, d.configName])).toEqual([
      ["s0-command", "command", "s0-primary", "webdis.json"],
      ["s0-subscribe", "subscribe", "s0-replica", "webdis-subscribe.json"],
    ]);
    // Every port distinct.
    const ports = [...t.redis, ...t.doors].map((n) => n.port);
    expect(new Set(ports).size).toBe(ports.length);
  });

  it("replicated: every replica has its own subscription door, all on the one primary", async () => {
    const t = await planTopology({ kind: "replicated", replicas: 3 }, counter());
    const replicas = t.redis.filter((n) => n.role === "replica");
    expect(replicas.map((n) => n.id)).toEqual(["s0-replica-0", "s0-replica-1", "s0-replica-2"]);
    expect(new Set(replicas.map((n) => n.replicaOf))).toEqual(new Set(["s0-primary"]));
    const subs = t.doors.filter((d) => d.kind === "subscribe");
    expect(subs.map((d) => d.redis)).toEqual(replicas.map((n) => n.id));
    expect(new Set(subs.map((d) => d.configName)).size).toBe(3);
    expect(t.shards[0]?.subscribeDoors).toEqual(subs.map((d) => d.id));
  });

  it("sharded: independent groups with folders of their own, and each shard's doors for the client", async () => {
    const t = await planTopology({ kind: "sharded", shards: 3, doorsAt: { host: "127.0.0.2" } }, counter());
    expect(t.shards.map((s) => s.id)).toEqual(["s0", "s1", "s2"]);
    for (const s of t.shards) {
      const primary = t.redis.find((n) => n.id === s.primary);
      expect(primary?.dir).toBe(`${s.id}/redis`);
      for (const r of s.replicas) expect(t.redis.find((n) => n.id === r)?.replicaOf).toBe(s.primary);
    }
    const doors = shardDoors(t);
    expect(doors).toHaveLength(3);
    for (const d of doors) {
      expect(d.url).toMatch(/^http:\/\/127\.0\.0\.2:\d+$/);
      expect(d.subscribeUrls).toHaveLength(1);
    }
    expect(new Set(doors.map((d) => d.url)).size).toBe(3);
  });

  it("gives shard 0 the ports and primary folder asked for (up's defaults), the rest free ones", async () => {
    const t = await planTopology(
      { kind: "sharded", ports: { primary: 6390, replica: 6391, command: 7379, subscribe: 7380 }, primaryDir: "." },
      counter(),
    );
    const port = (id: string) => [...t.redis, ...t.doors].find((n) => n.id === id)?.port;
    expect([port("s0-primary"), port("s0-replica"), port("s0-command"), port("s0-subscribe")]).toEqual([
      6390, 6391, 7379, 7380,
    ]);
    expect(t.redis.find((n) => n.id === "s0-primary")?.dir).toBe(".");
    expect(port("s1-primary")).toBeGreaterThanOrEqual(20_000);
    expect(t.redis.find((n) => n.id === "s1-primary")?.dir).toBe("s1/redis");
  });
});

describe("sizing", () => {
  it("a door holds one follower per 2 of Webdis's fds, bounded by the replica's clients", () => {
    expect(doorCapacity(20_000, 20_000, 19_968)).toBe(9_992);
    // The replica is the tighter bound when its maxclients is low.
    expect(doorCapacity(20_000, 20_000, 5_000)).toBe(5_000);
    // Or when its own fd limit is.
    expect(doorCapacity(20_000, 1_024)).toBe(992);
    expect(doorCapacity(10, 10)).toBe(0);
  });

  it("replicas get maxclients as high as their fd limit allows, never below Redis's default", () => {
    expect(replicaMaxclients(65_536)).toBe(65_504);
    expect(replicaMaxclients(1_024)).toBe(10_000);
    // Without an argument: this process's own limit.
    expect(replicaMaxclients()).toBeGreaterThanOrEqual(10_000);
  });
});
