/**
 * The replicated topology for the cluster tests, as native processes on free
 * 127.0.0.1 ports: a primary and 2 replicas (the same users on every node:
 * src/server/acl.ts), 3 sentinels (quorum 2), the edge with its
 * `redis-primary` route, a command Webdis dialing that route as `relay`, and a
 * subscription Webdis straight on each replica. One small assembly on purpose:
 * the topology module (src/server/topology.ts) will take its place.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CLUSTER_USERS,
  type ClusterSecrets,
  clusterUsers,
  newClusterSecrets,
  replicationConf,
} from "../../src/server/acl.ts";
import { type Edge, startEdge, waitForRedisRoute } from "../../src/server/edge.ts";
import {
  freePort,
  loadFunctions,
  type Managed,
  type RedisOptions,
  type Supervised,
  startRedis,
  superviseWebdis,
  webdisConfig,
} from "../../src/server/native.ts";
import { redisCommand } from "../../src/server/resp.ts";
import { type Sentinels, startSentinels } from "../../src/server/sentinel.ts";
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
  proc: Managed | undefined;
}

export interface Cluster {
  readonly secrets: ClusterSecrets;
  readonly nodes: Node[];
  readonly sentinels: Sentinels;
  readonly edge: Edge;
  /** The route the command Webdis dials (the edge's redis-primary frontend). */
  readonly routePort: number;
  /** The client's command door (through the edge). */
  readonly commandUrl: string;
  /** Subscription doors, straight on nodes 1 and 2 (index = node index - 1). */
  readonly doorUrls: string[];
  readonly doors: Supervised[];
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
  const secrets = newClusterSecrets();
  const users = clusterUsers(secrets);
  const adminAuth = { user: CLUSTER_USERS.admin, password: secrets.admin };
  const started: { stop(): Promise<void> }[] = [];
  const ports = [await freePort(), await freePort(), await freePort()];
  const nodes: Node[] = ports.map((port, i) => ({
    port,
    proc: undefined,
    opts: {
      port,
      dir: join(dir, `node${i}`),
      aof: true,
      replicaOf: i === 0 ? undefined : ports[0],
      sentinelManaged: { users, conf: replicationConf(secrets) },
    },
  }));
  const admin = (i: number, ...args: string[]) =>
    redisCommand(nodes[i]?.port as number, args, { auth: adminAuth, timeoutMs: 2_000 });
  const role = async (i: number) => /role:(\w+)/.exec(String(await admin(i, "INFO", "replication")))?.[1] ?? "?";
  try {
    for (const n of nodes) {
      n.proc = await startRedis(n.opts);
      started.push({ stop: () => n.proc?.stop() ?? Promise.resolve() });
    }
    for (const i of [1, 2]) {
      await poll(
        `replica ${i} in sync`,
        async () => /master_link_status:up/.test(String(await admin(i, "INFO", "replication"))),
        15_000,
      );
    }
    // After the replicas: with min-replicas-to-write 1, the primary refuses writes until one is in sync.
    await loadFunctions(ports[0] as number, "127.0.0.1", adminAuth);
    const sentinels = await startSentinels({
      primary: { port: ports[0] as number },
      downAfterMs: o.downAfterMs ?? 1_000,
      failoverTimeoutMs: o.failoverTimeoutMs ?? 4_000,
      secrets,
      dir: join(dir, "sentinels"),
      replicas: 2,
    });
    started.push(sentinels);
    const [routePort, commandWebdisPort, door1, door2] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const edge = await startEdge({
      dir: join(dir, "edge"),
      commandBackend: { host: "127.0.0.1", port: commandWebdisPort },
      subscribeBackend: [
        { host: "127.0.0.1", port: door1 as number },
        { host: "127.0.0.1", port: door2 as number },
      ],
      limits: { connect: 100_000, reconnect: 100_000, stop: 100_000, start: 100_000, connectionsPerClient: 2_000 },
      redisRoutes: [
        {
          name: "redis-primary",
          port: routePort as number,
          nodes: ports.map((port) => ({ host: "127.0.0.1", port })),
          check: { user: CLUSTER_USERS.check, password: secrets.check },
        },
      ],
      log: (l) => console.warn(`[cluster:edge] ${l}`),
    });
    started.push(edge);
    await waitForRedisRoute(routePort as number, { user: CLUSTER_USERS.check, password: secrets.check });
    const log = (l: string) => console.warn(`[cluster] ${l}`);
    const command = await superviseWebdis(
      {
        ...webdisConfig({
          redisPort: routePort as number,
          port: commandWebdisPort as number,
          logfile: join(dir, "webdis.log"),
        }),
        redis_auth: [CLUSTER_USERS.relay, secrets.relay],
      },
      dir,
      "webdis.json",
      log,
    );
    started.push(command);
    const doors: Supervised[] = [];
    for (const [i, port] of [
      [1, door1],
      [2, door2],
    ] as const) {
      const d = await superviseWebdis(
        webdisConfig(
          { redisPort: ports[i] as number, port: port as number, logfile: join(dir, `webdis-sub${i}.log`) },
          "subscribe",
        ),
        dir,
        `webdis-sub${i}.json`,
        log,
      );
      started.push(d);
      doors.push(d);
    }
    const cluster: Cluster = {
      secrets,
      nodes,
      sentinels,
      edge,
      routePort: routePort as number,
      commandUrl: edge.commandUrl,
      doorUrls: [`http://127.0.0.1:${door1}`, `http://127.0.0.1:${door2}`],
      doors,
      admin,
      role,
      sentinelConf: (port) => join(dir, "sentinels", `sentinel-${port}.conf`),
      async primaryIndex() {
        const p = await sentinels.primary();
        return ports.indexOf(p.port);
      },
      async restart(i) {
        const n = nodes[i] as Node;
        n.proc = await startRedis(n.opts);
      },
      async stop() {
        for (const n of nodes) n.proc?.process.kill("SIGCONT");
        await Promise.all([...started].reverse().map((s) => s.stop().catch(() => {})));
        rmSync(dir, { recursive: true, force: true });
      },
    };
    return cluster;
  } catch (e) {
    await Promise.all([...started].reverse().map((s) => s.stop().catch(() => {})));
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
