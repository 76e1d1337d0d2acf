/**
 * One topology, assembled once. A topology is data (which Redis nodes, which
 * doors, on which host and port, each shard's primary and replicas) made by a
 * pure planner, and one runner that starts it as native processes. `mission-relay
 * up`, the native test stack, the cluster tests and the bench all start what
 * they run through here, so a fix to how a door or a replica is started lands
 * once.
 *
 *   single      one primary, one subscribe-only replica, a command door on the
 *               primary and a subscription door on the replica (as since v1)
 *   replicated  one primary and N replicas, each replica with its own
 *               subscription door (fan-out: PUBLISH on the primary reaches the
 *               subscribers of every replica through replication)
 *   sharded     S independent shards, each a `single` or `replicated` group;
 *               clients pick a stream's shard by hashing its name
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  freePort,
  loadFunctions,
  type Managed,
  type RedisOptions,
  type Supervised,
  startRedis,
  superviseWebdis,
  waitForSubscribeDoor,
  webdisConfig,
} from "./native.ts";

export type TopologyKind = "single" | "replicated" | "sharded";
export const TOPOLOGY_KINDS: readonly TopologyKind[] = ["single", "replicated", "sharded"];

/** Where a process runs: its address, and (fault tests) a command it is started through. */
export interface Place {
  host: string;
  wrap?: string[];
}

export interface RedisNode {
  /** `<shard>-primary`, `<shard>-replica-<i>`. */
  id: string;
  shard: string;
  role: "primary" | "replica";
  place: Place;
  port: number;
  /** Folder of its data and log (relative to the run's folder). */
  dir: string;
  /** Replicas: the node they replicate. */
  replicaOf?: string;
}

export interface DoorNode {
  /** `<shard>-command`, `<shard>-subscribe-<i>`. */
  id: string;
  shard: string;
  kind: "command" | "subscribe";
  place: Place;
  port: number;
  /** The Redis node it talks to: the command door the primary, a subscription door its replica. */
  redis: string;
  /** Its config file's name (in the run's folder) and its log file. */
  configName: string;
  logName: string;
}

export interface Shard {
  id: string;
  primary: string;
  replicas: string[];
  commandDoor: string;
  subscribeDoors: string[];
}

export interface Topology {
  kind: TopologyKind;
  shards: Shard[];
  redis: RedisNode[];
  doors: DoorNode[];
}

export interface TopologyPlan {
  kind?: TopologyKind;
  /** Replicas (each with a subscription door) per shard: 1 for single, default 2 for replicated. */
  replicas?: number;
  /** Shards for sharded (default 2); 1 otherwise. */
  shards?: number;
  /** Where Redis nodes and doors run (default 127.0.0.1, no wrapper). */
  redisAt?: Place;
  doorsAt?: Place;
  /**
   * Folder of shard 0's primary, relative to the run's folder (default "redis";
   * `up` keeps its AOF in the data folder itself, as it always had).
   */
  primaryDir?: string;
  /** Ports wanted for shard 0 (`up`'s defaults); anything else gets `port()`. */
  ports?: { primary?: number; replica?: number; command?: number; subscribe?: number };
}

export class TopologyError extends Error {
  override name = "TopologyError";
}

/** Bounds that keep a one-machine demo inside one machine's limits (fds, memory). */
export const MAX_REPLICAS = 8;
export const MAX_SHARDS = 8;

/** What the plan asks for, checked: a typed error for nonsense, defaults filled in. */
export function planShape(p: TopologyPlan): { kind: TopologyKind; replicas: number; shards: number } {
  const kind = p.kind ?? "single";
  if (!TOPOLOGY_KINDS.includes(kind)) throw new TopologyError(`unknown topology "${String(kind)}"`);
  const replicas = p.replicas ?? (kind === "replicated" ? 2 : 1);
  const shards = p.shards ?? (kind === "sharded" ? 2 : 1);
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > MAX_REPLICAS)
    throw new TopologyError(`replicas must be 1..${MAX_REPLICAS}`);
  if (!Number.isInteger(shards) || shards < 1 || shards > MAX_SHARDS)
    throw new TopologyError(`shards must be 1..${MAX_SHARDS}`);
  if (kind === "single" && replicas !== 1) throw new TopologyError("a single topology has one replica");
  if (kind !== "sharded" && shards !== 1) throw new TopologyError(`a ${kind} topology has one shard`);
  return { kind, replicas, shards };
}

/**
 * The topology as data. Pure but for `port()`, which hands out free ports
 * (injected so tests of the planner need no sockets).
 */
export async function planTopology(p: TopologyPlan, port: () => Promise<number> = freePort): Promise<Topology> {
  const { kind, replicas, shards } = planShape(p);
  const redisAt = p.redisAt ?? { host: "127.0.0.1" };
  const doorsAt = p.doorsAt ?? { host: "127.0.0.1" };
  const want = async (n: number | undefined, first: boolean) => (first && n ? n : port());
  const t: Topology = { kind, shards: [], redis: [], doors: [] };
  for (let s = 0; s < shards; s++) {
    const id = `s${s}`;
    const first = s === 0;
    // Shard 0 of a one-shard topology keeps the folder names a single stack always had.
    const base = shards === 1 ? "" : `${id}/`;
    const primary: RedisNode = {
      id: `${id}-primary`,
      shard: id,
      role: "primary",
      place: redisAt,
      port: await want(p.ports?.primary, first),
      dir: first && p.primaryDir !== undefined ? p.primaryDir : `${base}redis`,
    };
    t.redis.push(primary);
    const command: DoorNode = {
      id: `${id}-command`,
      shard: id,
      kind: "command",
      place: doorsAt,
      port: await want(p.ports?.command, first),
      redis: primary.id,
      configName: `${base}webdis.json`,
      logName: `${base}webdis.log`,
    };
    t.doors.push(command);
    const shard: Shard = { id, primary: primary.id, replicas: [], commandDoor: command.id, subscribeDoors: [] };
    for (let r = 0; r < replicas; r++) {
      const suffix = replicas === 1 ? "" : `-${r}`;
      const replica: RedisNode = {
        id: `${id}-replica${suffix}`,
        shard: id,
        role: "replica",
        place: redisAt,
        port: await want(r === 0 ? p.ports?.replica : undefined, first),
        dir: `${base}replica${suffix}`,
        replicaOf: primary.id,
      };
      const door: DoorNode = {
        id: `${id}-subscribe${suffix}`,
        shard: id,
        kind: "subscribe",
        place: doorsAt,
        port: await want(r === 0 ? p.ports?.subscribe : undefined, first),
        redis: replica.id,
        configName: `${base}webdis-subscribe${suffix}.json`,
        logName: `${base}webdis-subscribe${suffix}.log`,
      };
      t.redis.push(replica);
      t.doors.push(door);
      shard.replicas.push(replica.id);
      shard.subscribeDoors.push(door.id);
    }
    t.shards.push(shard);
  }
  return t;
}

export const doorUrl = (d: DoorNode) => `http://${d.place.host}:${d.port}`;

function byId<T extends { id: string }>(list: T[], id: string): T {
  const x = list.find((n) => n.id === id);
  if (!x) throw new TopologyError(`no node ${id} in the topology`);
  return x;
}

/** What a client needs to reach one shard (relay-config.json's `shards`, `status`). */
export interface ShardDoors {
  id: string;
  url: string;
  subscribeUrls: string[];
}

export function shardDoors(t: Topology): ShardDoors[] {
  return t.shards.map((s) => ({
    id: s.id,
    url: doorUrl(byId(t.doors, s.commandDoor)),
    subscribeUrls: s.subscribeDoors.map((d) => doorUrl(byId(t.doors, d))),
  }));
}

export interface RunOptions {
  /** The run's folder: data, configs and logs go below it. */
  dir: string;
  /** appendonly on the primaries (default true). */
  aof?: boolean;
  /** maxmemory of the primaries (noeviction); unset: no limit. */
  maxmemory?: string;
  /** Extra webdis.json fields for command doors (e.g. verbosity). */
  webdis?: Record<string, unknown>;
  /** Tests: SHA-256 of the replicas' `inspector` user's password (RedisOptions.inspectorSha256). */
  inspectorSha256?: string;
  log?: (line: string) => void;
}

export interface RunningTopology {
  readonly topology: Topology;
  readonly dir: string;
  /** The Redis node's process now (a restart gives a new one). */
  redis(id: string): Managed;
  /** The door's supervisor (undefined while stopped with stopDoor). */
  door(id: string): Supervised | undefined;
  /** How each Redis node is started, for a restart on the same port and folder. */
  redisOptions(id: string): RedisOptions;
  /** Starts a stopped or killed Redis node again (same port and folder). */
  startRedis(id: string): Promise<Managed>;
  stopDoor(id: string, signal?: NodeJS.Signals): Promise<void>;
  startDoor(id: string): Promise<Supervised>;
  doorUrl(id: string): string;
  shards(): ShardDoors[];
  /** Stops every process (thawing frozen ones first). */
  stop(): Promise<void>;
}

const alive = (m: Managed) => m.process.exitCode === null && m.process.signalCode === null;

/**
 * Starts a topology as native processes: primaries (functions loaded), their
 * replicas, then the doors (supervised: a door that crashes comes back), and
 * waits until every subscription door delivers a message published on its
 * primary. A start that fails half way stops what it started.
 */
export async function startTopology(t: Topology, o: RunOptions): Promise<RunningTopology> {
  const log = o.log ?? (() => {});
  const procs = new Map<string, Managed>();
  const doors = new Map<string, Supervised | undefined>();
  const redisOptions = (id: string): RedisOptions => {
    const n = byId(t.redis, id);
    const common = { port: n.port, dir: join(o.dir, n.dir), host: n.place.host, wrap: n.place.wrap };
    if (n.role === "primary") return { ...common, aof: o.aof ?? true, maxmemory: o.maxmemory };
    const of = byId(t.redis, n.replicaOf ?? "");
    return { ...common, replicaOf: of.port, inspectorSha256: o.inspectorSha256 };
  };
  const doorConfig = (d: DoorNode) => {
    const r = byId(t.redis, d.redis);
    const extra = d.kind === "command" ? (o.webdis ?? {}) : {};
    return {
      ...webdisConfig({ redisPort: r.port, port: d.port, logfile: join(o.dir, d.logName), ...extra }, d.kind),
      redis_host: r.place.host,
      http_host: d.place.host,
    };
  };
  const startDoor = async (id: string) => {
    const d = byId(t.doors, id);
    const s = await superviseWebdis(doorConfig(d), o.dir, d.configName, log, d.place.wrap);
    doors.set(id, s);
    return s;
  };
  const startNode = async (id: string) => {
    const m = await startRedis(redisOptions(id));
    procs.set(id, m);
    return m;
  };
  const stop = async () => {
    for (const m of procs.values()) if (alive(m)) m.process.kill("SIGCONT");
    for (const d of doors.values()) d?.signal("SIGCONT");
    await Promise.all([...doors.values()].map((d) => d?.stop().catch(() => {})));
    // Replicas first: a primary that goes first makes them log reconnect errors.
    const replicasFirst = [...t.redis].sort((a, b) => (a.role === b.role ? 0 : a.role === "replica" ? -1 : 1));
    for (const n of replicasFirst) await procs.get(n.id)?.stop();
  };
  try {
    for (const n of t.redis.filter((x) => x.role === "primary")) {
      await startNode(n.id);
      await loadFunctions(n.port, n.place.host);
    }
    await Promise.all(t.redis.filter((x) => x.role === "replica").map((n) => startNode(n.id)));
    const settled = await Promise.allSettled(t.doors.map((d) => startDoor(d.id)));
    const failed = settled.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    await Promise.all(
      t.doors
        .filter((d) => d.kind === "subscribe")
        .map((d) => {
          const primary = byId(t.redis, byId(t.redis, d.redis).replicaOf ?? "");
          return waitForSubscribeDoor(primary.port, doorUrl(d), 10_000, primary.place.host);
        }),
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    topology: t,
    dir: o.dir,
    redis(id) {
      const m = procs.get(id);
      if (!m) throw new TopologyError(`redis node ${id} never started`);
      return m;
    },
    door: (id) => doors.get(id),
    redisOptions,
    startRedis: startNode,
    async stopDoor(id, signal) {
      await doors.get(id)?.stop(signal);
      doors.set(id, undefined);
    },
    startDoor,
    doorUrl: (id) => doorUrl(byId(t.doors, id)),
    shards: () => shardDoors(t),
    stop,
  };
}

/** Each log of a run by a short name ("redis", "replica", "webdis", ...), latin1, "" when absent. */
export function topologyLogs(r: RunningTopology): Record<string, string> {
  const read = (f: string) => (existsSync(f) ? readFileSync(f, "latin1") : "");
  const out: Record<string, string> = {};
  for (const n of r.topology.redis) {
    const file = n.role === "primary" ? "redis.log" : "replica.log";
    out[n.dir.replace(/\//g, ":")] = read(join(r.dir, n.dir, file));
  }
  for (const d of r.topology.doors)
    out[d.logName.replace(/\.log$/, "").replace(/\//g, ":")] = read(join(r.dir, d.logName));
  return out;
}
