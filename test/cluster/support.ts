/**
 * The replicated topology for the cluster tests (src/server/topology.ts, as
 * `mission-relay up --topology replicated` runs it) on free 127.0.0.1 ports: a
 * primary and 2 replicas (the same users on every node: src/server/acl.ts), 3
 * sentinels (quorum 2), the route to the primary that the command Webdis dials
 * as `relay`, a subscription Webdis straight on each replica, and the edge in
 * front of the doors.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Leader } from "../../src/node.ts";
import type { ClusterSecrets } from "../../src/server/acl.ts";
import { type Edge, startEdge } from "../../src/server/edge.ts";
import type { Managed, RedisOptions, Supervised } from "../../src/server/native.ts";
import type { Sentinels } from "../../src/server/sentinel.ts";
import { planTopology, type RunningTopology, startTopology } from "../../src/server/topology.ts";
import { chooseWebdis, hasDoorFixes } from "../../src/server/webdis-bin.ts";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every `everyMs` until it returns something other than undefined/false; throws after `timeoutMs`. */
export async function poll<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs: number,
  everyMs = 100,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`${what}: not within ${timeoutMs} ms (${String(last ?? "")})`);
    await sleep(everyMs);
  }
}

export interface Node {
  readonly port: number;
  readonly opts: RedisOptions;
  readonly proc: Managed | undefined;
}

export interface Cluster {
  readonly secrets: ClusterSecrets;
  readonly nodes: Node[];
  readonly sentinels: Sentinels;
  readonly edge: Edge;
  /** The route the command Webdis dials (its own HAProxy: startRedisRoutes). */
  readonly routePort: number;
  /** The client's command door (through the edge). */
  readonly commandUrl: string;
  /** Subscription doors, straight on nodes 1 and 2 (index = node index - 1). */
  readonly doorUrls: string[];
  readonly doors: Supervised[];
  /** The command door's Webdis (it holds the relay user's password in its config). */
  readonly commandDoor: Supervised | undefined;
  /** Files that hold a plaintext secret and must be 0600: the route's config, the command door's. */
  readonly secretFiles: string[];
  /** Pids of every process of the topology and the edge. */
  pids(): number[];
  /** Sentinel's config file for the sentinel on `port`. */
  sentinelConf(port: number): string;
  /** A command as the admin user on node `i`. */
  admin(i: number, ...args: string[]): Promise<unknown>;
  /** `role:master` / `role:slave` of node `i`, as its INFO replication says. */
  role(i: number): Promise<string>;
  /** Index of the node Sentinel calls the primary. */
  primaryIndex(): Promise<number>;
  /** Starts node `i` again on its port and folder (it comes back in the role Sentinel last gave it). */
  restart(i: number): Promise<void>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  downAfterMs?: number;
  failoverTimeoutMs?: number;
}

const webdis = chooseWebdis();
/** Webdis 0.1.9 can AUTH only as the default user, which is subscribe-only here. */
export const canRun = hasDoorFixes(webdis.version);
export const skipReason = `replicated topology needs Webdis >= 0.1.22 (redis_auth as [user, pass]); have ${webdis.version}`;

export async function startCluster(o: ClusterOptions = {}): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), "relay-cluster-"));
  // The replicated topology of src/server/topology.ts, as `up --topology replicated`
  // runs it: nodes s0-primary, s0-replica-0, s0-replica-1 (indexes 0, 1, 2), a
  // subscription door on each replica, the sentinels and the route to the primary.
  const topology = await planTopology({ kind: "replicated", replicas: 2 });
  const [shard] = topology.shards;
  if (!shard?.failover) throw new Error("the replicated topology has no failover");
  const ids = [shard.primary, ...shard.replicas];
  let run: RunningTopology;
  try {
    run = await startTopology(topology, {
      dir,
      aof: true,
      sentinel: { downAfterMs: o.downAfterMs ?? 1_000, failoverTimeoutMs: o.failoverTimeoutMs ?? 4_000 },
      log: (l) => console.warn(`[cluster] ${l}`),
    });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const started: { stop(): Promise<void> }[] = [];
  try {
    const backend = (url: string) => ({ host: new URL(url).hostname, port: Number(new URL(url).port) });
    const [doors] = run.shards();
    const edge = await startEdge({
      dir: join(dir, "edge"),
      commandBackend: backend(doors?.url ?? ""),
      subscribeBackend: (doors?.subscribeUrls ?? []).map(backend),
      limits: { connect: 100_000, reconnect: 100_000, stop: 100_000, start: 100_000, connectionsPerClient: 2_000 },
      log: (l) => console.warn(`[cluster:edge] ${l}`),
    });
    started.push(edge);
    const sentinels = run.sentinels(shard.id);
    if (!sentinels) throw new Error("no sentinels");
    const nodes: Node[] = ids.map((id) => ({
      get port() {
        return run.redisOptions(id).port;
      },
      get opts() {
        return run.redisOptions(id);
      },
      get proc() {
        return run.redis(id);
      },
    }));
    const admin = (i: number, ...args: string[]) => run.admin(ids[i] ?? "", ...args);
    const role = async (i: number) => /role:(\w+)/.exec(String(await admin(i, "INFO", "replication")))?.[1] ?? "?";
    const cluster: Cluster = {
      secrets: run.secrets,
      nodes,
      sentinels,
      edge,
      routePort: shard.failover.routePort,
      commandUrl: edge.commandUrl,
      doorUrls: shard.subscribeDoors.map((d) => run.doorUrl(d)),
      get doors() {
        return shard.subscribeDoors.map((d) => run.door(d)).filter((x): x is Supervised => x !== undefined);
      },
      get commandDoor() {
        return run.door(shard.commandDoor);
      },
      secretFiles: [
        run.route(shard.id)?.configFile ?? "",
        join(dir, topology.doors.find((x) => x.id === shard.commandDoor)?.configName ?? ""),
      ],
      pids: () =>
        [
          ...ids.map((id) => run.redis(id).pid),
          ...sentinels.processes.map((p) => p.pid),
          run.route(shard.id)?.pid ?? -1,
          edge.pid,
          ...topology.doors.map((x) => run.door(x.id)?.pid ?? -1),
        ].filter((p) => p > 0),
      admin,
      role,
      sentinelConf: (port) => join(dir, shard.failover?.dir ?? "", `sentinel-${port}.conf`),
      async primaryIndex() {
        const p = await sentinels.primary();
        return nodes.findIndex((n) => n.port === p.port);
      },
      async restart(i) {
        await run.startRedis(ids[i] ?? "");
      },
      async stop() {
        await Promise.all([...started].reverse().map((x) => x.stop().catch(() => {})));
        await run.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
    return cluster;
  } catch (e) {
    await Promise.all([...started].reverse().map((x) => x.stop().catch(() => {})));
    await run.stop();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** A background publisher: one publish at a time, every ~100 ms, acks and errors kept. */
export function publisher(l: Leader) {
  let n = 0;
  let running = true;
  const acks: { n: number; at: number }[] = [];
  const errors: string[] = [];
  const done = (async () => {
    while (running) {
      const k = ++n;
      try {
        await l.publish({ n: k, at: Date.now() });
        acks.push({ n: k, at: Date.now() });
      } catch (e) {
        errors.push((e as { code?: string }).code ?? String(e));
        if (l.status === "closed" || l.status === "replaced") return;
      }
      await sleep(100);
    }
  })();
  return {
    acks,
    errors,
    get sent() {
      return n;
    },
    async stop() {
      running = false;
      await done;
    },
  };
}
