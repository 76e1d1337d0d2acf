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
  CLUSTER_USERS,
  type ClusterSecrets,
  clusterUsers,
  monitorUser,
  newClusterSecrets,
  replicationConf,
} from "./acl.ts";
import { type RedisRoutes, startRedisRoutes } from "./edge.ts";
import {
  freePort,
  loadFunctions,
  type Managed,
  managedConfFile,
  type RedisOptions,
  type Supervised,
  startRedis,
  superviseWebdis,
  waitForSubscribeDoor,
  webdisConfig,
} from "./native.ts";
import { redisCommand } from "./resp.ts";
import { type Sentinels, startSentinels } from "./sentinel.ts";

export const TOPOLOGY_KINDS = ["single", "replicated", "sharded"] as const;
export type TopologyKind = (typeof TOPOLOGY_KINDS)[number];

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
  /** The node that starts as the primary (after a failover, Sentinel's word counts). */
  primary: string;
  replicas: string[];
  commandDoor: string;
  subscribeDoors: string[];
  /**
   * Failover (replicated): Sentinels watch the nodes, and the command door dials
   * a TCP route (HAProxy, src/server/edge.ts) that reaches only the node whose
   * health check says role:master. Every node then has the same users
   * (src/server/acl.ts), so a role change never changes what a door can do.
   */
  failover?: { sentinelPorts: number[]; routePort: number; dir: string };
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
  /**
   * Sentinel failover for replicated topologies (default true there; never for
   * single or sharded): 3 sentinels, a route to the primary for the command door.
   */
  failover?: boolean;
  /** Where Redis nodes and doors run (default 127.0.0.1, no wrapper). */
  redisAt?: Place;
  doorsAt?: Place;
  /**
   * Folder of shard 0's primary, relative to the run's folder (default "redis";
   * `up` keeps its AOF in the data folder itself, as it always had).
   */
  primaryDir?: string;
  /** Ports wanted for shard 0 (`up`'s defaults); anything else gets `port()`. */
  ports?: {
    primary?: number;
    replica?: number;
    command?: number;
    subscribe?: number;
    /** Replicas after the first (a failover shard's nodes keep their ports across runs). */
    replicas?: number[];
    sentinels?: number[];
    route?: number;
  };
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
  if (!(TOPOLOGY_KINDS as readonly string[]).includes(kind))
    throw new TopologyError(`unknown topology "${String(kind)}"`);
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
    if (kind === "replicated" && p.failover !== false) {
      const sentinelPorts = [0, 1, 2].map((i) => (first ? p.ports?.sentinels?.[i] : undefined));
      shard.failover = {
        sentinelPorts: await Promise.all(sentinelPorts.map((n) => want(n, first))),
        routePort: await want(p.ports?.route, first),
        dir: `${base}sentinels`,
      };
    }
    for (let r = 0; r < replicas; r++) {
      const suffix = replicas === 1 ? "" : `-${r}`;
      const replica: RedisNode = {
        id: `${id}-replica${suffix}`,
        shard: id,
        role: "replica",
        place: redisAt,
        port: await want(r === 0 ? p.ports?.replica : p.ports?.replicas?.[r - 1], first),
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

/** The soft open-file limit of process `pid` (default: this one), from /proc; undefined where unreadable. */
export function openFileLimit(pid: number | "self" = "self"): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/limits`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Followers one subscription door can hold: Webdis needs 2 fds per WebSocket
 * subscriber (the client's socket and its own Redis connection to the replica),
 * and the replica one client slot each, up to maxclients (Redis lowers it to its
 * fd limit minus 32).
 */
export const doorCapacity = (webdisFds: number, replicaFds: number, maxclients = DEFAULT_MAXCLIENTS) =>
  Math.max(0, Math.min(Math.floor((webdisFds - 16) / 2), Math.min(maxclients, replicaFds - 32)));

/** Redis's own default `maxclients`. */
export const DEFAULT_MAXCLIENTS = 10_000;

/**
 * `maxclients` for a replica behind a subscription door: as many as the fd limit
 * allows (never below Redis's default), so the replica is not the tighter bound
 * on its door's followers.
 */
export const replicaMaxclients = (fds = openFileLimit()) =>
  fds === undefined ? DEFAULT_MAXCLIENTS : Math.max(DEFAULT_MAXCLIENTS, fds - 32);

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
  /** appendonly on the primaries (default true; every node of a failover shard). */
  aof?: boolean;
  /** maxmemory of the primaries (noeviction); unset: no limit. */
  maxmemory?: string;
  /** Extra webdis.json fields for command doors (e.g. verbosity). */
  webdis?: Record<string, unknown>;
  /** Tests: SHA-256 of the replicas' `inspector` user's password (RedisOptions.inspectorSha256). */
  inspectorSha256?: string;
  /** Sentinel timings for failover shards (tests fail over in about a second). */
  sentinel?: { downAfterMs?: number; failoverTimeoutMs?: number };
  /** The run's passwords (default: fresh random ones); only hashes reach argv. */
  secrets?: ClusterSecrets;
  log?: (line: string) => void;
}

export interface RunningTopology {
  readonly topology: Topology;
  readonly dir: string;
  /** The run's passwords (users of src/server/acl.ts): `admin` for FUNCTION LOAD, `monitor` for status. */
  readonly secrets: ClusterSecrets;
  /** The Redis node's process now (a restart gives a new one). */
  redis(id: string): Managed;
  /** The door's supervisor (undefined while stopped with stopDoor). */
  door(id: string): Supervised | undefined;
  /** A failover shard's sentinels. */
  sentinels(shard: string): Sentinels | undefined;
  /** A failover shard's route to the primary (its HAProxy). */
  route(shard: string): RedisRoutes | undefined;
  /** The node that was the shard's primary when the run started (a failover shard may have moved it). */
  primaryAtStart(shard: string): string;
  /** How each Redis node is started, for a restart on the same port and folder. */
  redisOptions(id: string): RedisOptions;
  /** Starts a stopped or killed Redis node again (same port and folder; a failover node keeps Sentinel's role). */
  startRedis(id: string): Promise<Managed>;
  /** A command on node `id` as the admin user where the default user may not (failover shards, replicas). */
  admin(id: string, ...args: (string | number)[]): Promise<unknown>;
  stopDoor(id: string, signal?: NodeJS.Signals): Promise<void>;
  startDoor(id: string): Promise<Supervised>;
  doorUrl(id: string): string;
  shards(): ShardDoors[];
  /** Stops every process (thawing frozen ones first). */
  stop(): Promise<void>;
}

const alive = (m: Managed) => m.process.exitCode === null && m.process.signalCode === null;

/** Whether node `id` belongs to a shard with Sentinel failover. */
const inFailoverShard = (t: Topology, id: string) =>
  t.shards.some((s) => s.failover && (s.primary === id || s.replicas.includes(id)));

/**
 * How Redis node `id` is started (the native runner and the containers runner
 * alike). Without failover: a primary with AOF and maxmemory, a replica of its
 * primary with the subscribe-only default user, both with the status reader.
 * With failover: every node the same (AOF, the same users, the role in a
 * config file Sentinel rewrites). `dir` is the run's folder.
 */
export function redisOptionsFor(
  t: Topology,
  id: string,
  o: Pick<RunOptions, "dir" | "aof" | "maxmemory" | "inspectorSha256"> & { secrets?: ClusterSecrets },
): RedisOptions {
  const n = byId(t.redis, id);
  const common = { port: n.port, dir: join(o.dir, n.dir), host: n.place.host, wrap: n.place.wrap };
  const of = n.replicaOf === undefined ? undefined : byId(t.redis, n.replicaOf).port;
  if (o.secrets && inFailoverShard(t, id)) {
    return {
      ...common,
      aof: o.aof ?? true,
      maxmemory: o.maxmemory,
      replicaOf: of,
      inspectorSha256: o.inspectorSha256,
      sentinelManaged: { users: clusterUsers(o.secrets), conf: replicationConf(o.secrets) },
    };
  }
  const users = o.secrets ? [monitorUser(o.secrets.monitor)] : [];
  if (n.role === "primary") return { ...common, aof: o.aof ?? true, maxmemory: o.maxmemory, users };
  return { ...common, replicaOf: of, inspectorSha256: o.inspectorSha256, users, maxclients: replicaMaxclients() };
}

/**
 * Door `id`'s Webdis config: webdis.json or webdis.subscribe.json, pointed at
 * its Redis node; a failover shard's command door at the route to the primary,
 * as the `relay` user (Webdis 0.1.13+: redis_auth as [user, pass]).
 */
export function doorConfigFor(
  t: Topology,
  id: string,
  o: Pick<RunOptions, "dir" | "webdis"> & { secrets?: ClusterSecrets },
  logfile = join(o.dir, byId(t.doors, id).logName),
): Record<string, unknown> {
  const d = byId(t.doors, id);
  const r = byId(t.redis, d.redis);
  const extra = d.kind === "command" ? (o.webdis ?? {}) : {};
  const failover = t.shards.find((s) => s.id === d.shard)?.failover;
  if (d.kind === "command" && failover) {
    if (!o.secrets) throw new TopologyError(`door ${id} dials a failover route: the run's secrets are needed`);
    return {
      ...webdisConfig({ redisPort: failover.routePort, port: d.port, logfile, ...extra }, d.kind),
      redis_host: "127.0.0.1",
      redis_auth: [CLUSTER_USERS.relay, o.secrets.relay],
      http_host: d.place.host,
    };
  }
  return {
    ...webdisConfig({ redisPort: r.port, port: d.port, logfile, ...extra }, d.kind),
    redis_host: r.place.host,
    http_host: d.place.host,
  };
}

/**
 * The primary of failover shard `s` as its nodes' redis.conf files say after
 * start: the node without a `replicaof` line (Sentinel rewrites the files on
 * every role change; a fresh run has only the planned primary without one).
 * Two without one (the old primary was down when the last run ended, before
 * Sentinel could demote it): the one the replicas point at wins, and the other
 * is told to replicate it, so the run never starts with two primaries.
 */
async function currentPrimary(
  t: Topology,
  s: Shard,
  dir: string,
  admin: (id: string, ...args: (string | number)[]) => Promise<unknown>,
  log: (line: string) => void,
): Promise<string> {
  const members = [s.primary, ...s.replicas].map((id) => byId(t.redis, id));
  const pointsAt = new Map<string, number | undefined>();
  for (const n of members) {
    const file = managedConfFile(join(dir, n.dir));
    const text = existsSync(file) ? readFileSync(file, "utf8") : "";
    const m = /^replicaof \S+ (\d+)$/im.exec(text);
    pointsAt.set(n.id, m ? Number(m[1]) : undefined);
  }
  const candidates = members.filter((n) => pointsAt.get(n.id) === undefined);
  if (candidates.length === 1) return (candidates[0] as RedisNode).id;
  if (candidates.length === 0) throw new TopologyError(`shard ${s.id}: no node is a primary in its redis.conf`);
  const votes = (n: RedisNode) => [...pointsAt.values()].filter((p) => p === n.port).length;
  const winner = [...candidates].sort((a, b) => votes(b) - votes(a) || (a.id === s.primary ? -1 : 1))[0] as RedisNode;
  for (const n of candidates.filter((x) => x.id !== winner.id)) {
    log(`${n.id} was a primary too when the last run ended; it now replicates ${winner.id}`);
    await admin(n.id, "REPLICAOF", winner.place.host, winner.port);
  }
  return winner.id;
}

/** Polls until `probe` is true; throws `what` after `timeoutMs`. */
async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > end) throw new TopologyError(`${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts a topology as native processes: primaries (functions loaded), their
 * replicas, for failover shards the sentinels and the route to the primary,
 * then the doors (supervised: a door that crashes comes back), and waits until
 * every subscription door delivers a message published on its primary. A
 * start that fails half way stops what it started.
 */
export async function startTopology(t: Topology, o: RunOptions): Promise<RunningTopology> {
  const log = o.log ?? (() => {});
  const secrets = o.secrets ?? newClusterSecrets();
  const adminAuth = { user: CLUSTER_USERS.admin, password: secrets.admin };
  const checkAuth = { user: CLUSTER_USERS.check, password: secrets.check };
  const procs = new Map<string, Managed>();
  const doors = new Map<string, Supervised | undefined>();
  const sentinels = new Map<string, Sentinels>();
  /** A failover shard's primary as this run found it (see currentPrimary). */
  const primaryNow = new Map<string, string>();
  const routes = new Map<string, RedisRoutes>();
  const redisOptions = (id: string) => redisOptionsFor(t, id, { ...o, secrets });
  const node = (id: string) => byId(t.redis, id);
  // Nodes of failover shards have an admin user; elsewhere the primary's default user can do it all.
  const admin = (id: string, ...args: (string | number)[]) => {
    const n = node(id);
    const auth = inFailoverShard(t, id) ? adminAuth : undefined;
    return redisCommand(n.port, args, { host: n.place.host, auth, timeoutMs: 5_000 });
  };
  const startDoor = async (id: string) => {
    const d = byId(t.doors, id);
    const s = await superviseWebdis(doorConfigFor(t, id, { ...o, secrets }), o.dir, d.configName, log, d.place.wrap);
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
    await Promise.all([...routes.values(), ...sentinels.values()].map((x) => x.stop().catch(() => {})));
    // Replicas first: a primary that goes first makes them log reconnect errors.
    const replicasFirst = [...t.redis].sort((a, b) => (a.role === b.role ? 0 : a.role === "replica" ? -1 : 1));
    for (const n of replicasFirst) await procs.get(n.id)?.stop();
  };
  try {
    for (const s of t.shards) {
      const primary = node(s.primary);
      await startNode(primary.id);
      if (!s.failover) await loadFunctions(primary.port, primary.place.host);
    }
    // Settled, not Promise.all: a replica that fails must not leave the others starting
    // after stop() has run (they would outlive the failed start).
    const replicas = await Promise.allSettled(t.redis.filter((x) => x.role === "replica").map((n) => startNode(n.id)));
    const failedReplica = replicas.find((r) => r.status === "rejected");
    if (failedReplica) throw (failedReplica as PromiseRejectedResult).reason;
    for (const s of t.shards.filter((x) => x.failover)) {
      const f = s.failover as NonNullable<Shard["failover"]>;
      // After a failover in an earlier run the planned primary may be a replica now:
      // the roles Sentinel wrote into each node's redis.conf count (currentPrimary).
      const primary = node(await currentPrimary(t, s, o.dir, admin, log));
      primaryNow.set(s.id, primary.id);
      // With min-replicas-to-write 1 the primary refuses writes (FUNCTION LOAD too)
      // until a replica is in sync.
      for (const r of [s.primary, ...s.replicas].filter((x) => x !== primary.id)) {
        await until(
          `replica ${r} in sync`,
          async () => /master_link_status:up/.test(String(await admin(r, "INFO", "replication"))),
          20_000,
        );
      }
      // In sync is not yet "good" for min-replicas-max-lag (a replica's ack is up to
      // a second old, more on a loaded box): NOREPLICAS is retried for a while.
      let loadError: unknown;
      await until(
        `FUNCTION LOAD on ${primary.id}`,
        () =>
          loadFunctions(primary.port, primary.place.host, adminAuth).then(
            () => true,
            (e: unknown) => {
              loadError = e;
              if (/NOREPLICAS/.test(String(e))) return false;
              throw e;
            },
          ),
        20_000,
      ).catch((e: unknown) => {
        throw loadError ?? e;
      });
      sentinels.set(
        s.id,
        await startSentinels({
          primary: { host: primary.place.host, port: primary.port },
          ports: [...f.sentinelPorts],
          downAfterMs: o.sentinel?.downAfterMs,
          failoverTimeoutMs: o.sentinel?.failoverTimeoutMs,
          secrets,
          dir: join(o.dir, f.dir),
          replicas: s.replicas.length,
        }),
      );
      const members = [s.primary, ...s.replicas].map(node);
      routes.set(
        s.id,
        await startRedisRoutes({
          routes: [
            {
              name: `${s.id}-primary`,
              port: f.routePort,
              nodes: members.map((n) => ({ host: n.place.host, port: n.port })),
              check: checkAuth,
            },
          ],
          dir: join(o.dir, f.dir),
          log: (l) => log(`route ${s.id}: ${l}`),
        }),
      );
    }
    const settled = await Promise.allSettled(t.doors.map((d) => startDoor(d.id)));
    const failed = settled.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    await Promise.all(
      t.doors
        .filter((d) => d.kind === "subscribe")
        .map((d) => {
          const primary = node(primaryNow.get(d.shard) ?? node(d.redis).replicaOf ?? "");
          const auth = inFailoverShard(t, primary.id) ? adminAuth : undefined;
          return waitForSubscribeDoor(primary.port, doorUrl(d), 10_000, primary.place.host, auth);
        }),
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    topology: t,
    dir: o.dir,
    secrets,
    redis(id) {
      const m = procs.get(id);
      if (!m) throw new TopologyError(`redis node ${id} never started`);
      return m;
    },
    door: (id) => doors.get(id),
    sentinels: (shard) => sentinels.get(shard),
    route: (shard) => routes.get(shard),
    primaryAtStart: (shard) => primaryNow.get(shard) ?? byId(t.shards, shard).primary,
    redisOptions,
    startRedis: startNode,
    admin,
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
