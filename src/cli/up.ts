/**
 * `mission-relay up`: the whole product on one machine. Starts a topology
 * (src/server/topology.ts: Redis nodes and Webdis doors) on 127.0.0.1 with the
 * HAProxy edge in front of each shard's doors, serves the web UI, prints the
 * URLs and runs until Ctrl-C, then stops everything.
 */
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { CLUSTER_USERS, writePrivate } from "../server/acl.ts";
import { DEFAULT_LIMITS, type Edge, rmemMax, SERVER_RCVBUF, startEdge } from "../server/edge.ts";
import { type MetricsServer, startMetricsServer } from "../server/metrics.ts";
import { findBinary, freePort, repoRoot } from "../server/native.ts";
import { DOOR_HOST, quickackRoute } from "../server/quickack.ts";
import { describeTopology, loadDescription } from "../server/status.ts";
import {
  doorCapacity,
  openFileLimit,
  planShape,
  planTopology,
  type RunningTopology,
  replicaMaxclients,
  startTopology,
  type TopologyKind,
} from "../server/topology.ts";
import { serveWeb } from "../server/web.ts";
import { chooseWebdis, describeWebdis, FIXED_WEBDIS, hasDoorFixes, type WebdisChoice } from "../server/webdis-bin.ts";

export interface UpOptions {
  /** Public port of the command door (the edge's; Webdis's own are internal). */
  port?: number;
  /** Public port of the subscription door (Webdis with WebSockets, in front of the replica). */
  subscribePort?: number;
  /**
   * false: no edge, Webdis itself on the public ports (development only: it
   * serves GET forms, text/html, no per-client limits, no slowloris timeouts).
   */
  edge?: boolean;
  redisPort?: number;
  webPort?: number;
  dataDir: string;
  /** Redis maxmemory of the primary (noeviction); default 256mb. */
  maxmemory?: string;
  install?: boolean;
  log?: (line: string) => void;
  /** single (default), replicated (a primary and N replicas, each with a subscription door) or sharded. */
  topology?: TopologyKind;
  /** Replicas per shard (replicated: default 2). */
  replicas?: number;
  /** Shards (sharded: default 2). */
  shards?: number;
  /** Port of /metrics and /healthz (default 9464, or a free one). */
  metricsPort?: number;
  /** A raster tile server for the web UI's map ("https://host/{z}/{x}/{y}.png"): in its relay-config.json and CSP img-src. */
  tileUrl?: string | undefined;
}

/**
 * Redis's memory cap for `up`: room for thousands of ordinary streams (a 200 KB plan
 * with patch-sized history is well under 1 MB) and for a few at the limits (a stream of
 * 1 MiB states with 32 in its history holds ~35 MB), far below a small server's RAM.
 */
export const DEFAULT_MAXMEMORY = "256mb";

export interface Running {
  /** Shard 0's doors. */
  webdisUrl: string;
  subscribeUrl: string;
  /** Every shard's public doors, in shard order. */
  shards: { id: string; url: string; subscribeUrls: string[] }[];
  webUrl: string | undefined;
  redisPort: number;
  stop(): Promise<void>;
}

async function portOrFree(wanted: number | undefined, fallback: number, explicit: boolean): Promise<number> {
  const port = wanted ?? fallback;
  const free = await new Promise<boolean>((res) => {
    const s = createServer();
    s.once("error", () => res(false));
    s.listen(port, "127.0.0.1", () => s.close(() => res(true)));
  });
  if (free) return port;
  if (explicit) throw new Error(`port ${port} on 127.0.0.1 is in use; pick another`);
  return freePort();
}

function ensureInstalled(install: boolean | undefined, edge: boolean, log: (l: string) => void) {
  const canApt = process.getuid?.() === 0 && findBinary("apt-get");
  const missing = ["redis-server", ...(edge ? ["haproxy"] : [])].filter((b) => !findBinary(b));
  if (missing.length) {
    const pkgs = missing.join(" ");
    if (!install || !canApt) {
      throw new Error(
        `${pkgs} not found. Install with: sudo apt-get install -y ${pkgs}` +
          (canApt ? " (or run mission-relay up --install)" : ""),
      );
    }
    log(`installing ${pkgs} with apt-get...`);
    for (const args of [["update"], ["install", "-y", ...missing]]) {
      const r = spawnSync("apt-get", args, {
        stdio: "inherit",
        env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      });
      if (r.status !== 0) throw new Error(`apt-get ${args[0]} failed`);
    }
  }
  let webdis: WebdisChoice | undefined;
  try {
    webdis = chooseWebdis();
  } catch (e) {
    if (!install) throw e;
  }
  // --install brings the newest packaged Webdis (no root needed) where the
  // one found is older or absent.
  if (install && (!webdis || !hasDoorFixes(webdis.version)) && process.env.RELAY_WEBDIS !== "system") {
    log(`installing Webdis ${FIXED_WEBDIS} from Debian's packages (scripts/install-webdis)...`);
    const r = spawnSync("bash", [join(repoRoot, "scripts", "install-webdis")], { stdio: "inherit" });
    if (r.status !== 0) throw new Error("scripts/install-webdis failed");
    webdis = chooseWebdis();
  }
  return webdis ?? chooseWebdis();
}

/**
 * The edge asks for a 4 MiB receive buffer towards Webdis so a subscriber that
 * stops reading leaves its bytes in the kernel, not in Webdis (src/server/edge.ts);
 * Linux caps it at net.core.rmem_max (208 KiB by default). Raised when we may
 * (root), which only lifts a ceiling; else startEdge warns.
 */
function raiseRcvbufCap(log: (l: string) => void) {
  const cap = rmemMax();
  if (cap === undefined || cap >= SERVER_RCVBUF || process.getuid?.() !== 0) return;
  try {
    writeFileSync("/proc/sys/net/core/rmem_max", String(SERVER_RCVBUF));
    log(`edge: raised net.core.rmem_max from ${cap} to ${SERVER_RCVBUF}`);
  } catch {
    // not allowed here (a container): startEdge says what that costs
  }
}

/** A topology's doors as the world sees them: the edge's ports, or the doors' own without one. */
interface PublicShard {
  id: string;
  url: string;
  subscribeUrl: string;
  /** The doors themselves (internal behind the edge). */
  doors: { command: string; subscribe: string[] };
}

export async function up(o: UpOptions): Promise<Running> {
  const log = o.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  const maxmemory = o.maxmemory ?? DEFAULT_MAXMEMORY;
  const withEdge = o.edge ?? true;
  const shape = planShape({ kind: o.topology, replicas: o.replicas, shards: o.shards });
  const webdisBin = ensureInstalled(o.install, withEdge, log);
  // A failover shard's command door logs in to Redis as the relay user: [user, pass]
  // in redis_auth, which Webdis understands from 0.1.13 (0.1.9 can only AUTH as default).
  if (shape.kind === "replicated" && !hasDoorFixes(webdisBin.version)) {
    throw new Error(
      `the replicated topology needs Webdis ${FIXED_WEBDIS} or later (its doors log in as a named Redis user); ` +
        `this is ${describeWebdis(webdisBin)}: run mission-relay up --install, or unset RELAY_WEBDIS`,
    );
  }
  const redisPort = await portOrFree(o.redisPort, 6390, o.redisPort !== undefined);
  const replicaPort = await portOrFree(undefined, redisPort + 1, false);
  // The public ports; with the edge, Webdis listens on free ports only the edge dials.
  const publicPort = await portOrFree(o.port, 7379, o.port !== undefined);
  const publicSubscribePort = await portOrFree(o.subscribePort, publicPort + 1, o.subscribePort !== undefined);
  // Behind the edge the doors get an address of their own with a quickack route (when we may).
  const dropRoute = withEdge ? quickackRoute(DOOR_HOST, log) : undefined;
  const doorHost = dropRoute ? DOOR_HOST : "127.0.0.1";
  const topology = await planTopology({
    ...shape,
    doorsAt: { host: doorHost },
    // The first shard keeps the folder layout `up` always had: AOF in the data folder itself.
    primaryDir: ".",
    ports: {
      primary: redisPort,
      replica: replicaPort,
      // Fixed ports next to the primary's (or free ones if taken) for a replicated shard: the
      // roles Sentinel writes into each node's redis.conf name ports, so a restart from the
      // same data folder must find the same nodes there.
      ...(shape.kind === "replicated"
        ? {
            replicas: await Promise.all(
              Array.from({ length: shape.replicas - 1 }, (_, i) => portOrFree(undefined, redisPort + 2 + i, false)),
            ),
            route: await portOrFree(undefined, redisPort + 10, false),
            sentinels: await Promise.all([11, 12, 13].map((d) => portOrFree(undefined, redisPort + d, false))),
          }
        : {}),
      ...(withEdge ? {} : { command: publicPort, subscribe: publicSubscribePort }),
    },
  });
  let run: RunningTopology | undefined;
  const edges: Edge[] = [];
  let web: Server | undefined;
  let metrics: MetricsServer | undefined;
  const stop = async () => {
    try {
      web?.close();
      await metrics?.close();
      await Promise.all(edges.map((e) => e.stop()));
      await run?.stop();
    } finally {
      dropRoute?.();
    }
  };
  try {
    run = await startTopology(topology, { dir: o.dataDir, aof: true, maxmemory, log });
    const version = await run.admin(topology.shards[0]?.primary ?? "", "FCALL_RO", "relay_version", "0");
    const shards: PublicShard[] = [];
    if (withEdge) raiseRcvbufCap(log);
    for (const [i, s] of run.shards().entries()) {
      const doors = { command: s.url, subscribe: s.subscribeUrls };
      if (!withEdge) {
        shards.push({ id: s.id, url: s.url, subscribeUrl: s.subscribeUrls[0] ?? s.url, doors });
        continue;
      }
      const backend = (url: string) => ({ host: new URL(url).hostname, port: Number(new URL(url).port) });
      // One edge per shard: shard 0 on the public ports, the others on free ones.
      const edge = await startEdge({
        commandPort: i === 0 ? publicPort : 0,
        subscribePort: i === 0 ? publicSubscribePort : 0,
        commandBackend: backend(s.url),
        subscribeBackend: s.subscribeUrls.map(backend),
        dir: join(o.dataDir, i === 0 ? "edge" : `edge-${s.id}`),
        log: (l) => log(`edge ${s.id}: ${l}`),
      });
      edges.push(edge);
      shards.push({ id: s.id, url: edge.commandUrl, subscribeUrl: edge.subscribeUrl, doors });
    }
    const [first] = shards;
    if (!first) throw new Error("the topology has no shard");
    // What `mission-relay status` and /metrics read: every node and door, the monitor
    // user's password (and the sentinels') in 0600 files beside it, never in the JSON.
    const description = describeTopology(topology, {
      auth: { user: CLUSTER_USERS.monitor, passFile: "monitor.pass" },
      // The public ports too: a dead edge must not look healthy because the doors behind it are.
      edges: withEdge
        ? shards.flatMap((s) => [
            { id: `${s.id}-edge-command`, shard: s.id, url: s.url },
            { id: `${s.id}-edge-subscribe`, shard: s.id, url: s.subscribeUrl },
          ])
        : [],
      sentinels: topology.shards.flatMap((s) =>
        (s.failover?.sentinelPorts ?? []).map((port, i) => ({
          id: `${s.id}-sentinel-${i}`,
          host: "127.0.0.1",
          port,
          auth: { user: CLUSTER_USERS.monitor, passFile: "monitor.pass" },
        })),
      ),
    });
    writePrivate(join(o.dataDir, "monitor.pass"), `${run.secrets.monitor}\n`);
    // A replicated shard's default user can only subscribe: operators (relay:config,
    // FUNCTION LOAD) log in as admin, its password in a 0600 file.
    if (topology.shards.some((s) => s.failover)) writePrivate(join(o.dataDir, "admin.pass"), `${run.secrets.admin}\n`);
    const descriptionFile = join(o.dataDir, "topology.json");
    writeFileSync(descriptionFile, `${JSON.stringify(description, null, 2)}\n`);
    const metricsPort = await portOrFree(o.metricsPort, 9464, o.metricsPort !== undefined);
    metrics = await startMetricsServer({
      port: metricsPort,
      targets: loadDescription(descriptionFile).targets,
    });
    const dist = join(repoRoot, "web", "dist");
    let webUrl: string | undefined;
    if (existsSync(join(dist, "index.html"))) {
      const webPort = await portOrFree(o.webPort, 8080, o.webPort !== undefined);
      // Several shards: the page gets each shard's public doors (src/core/config.ts).
      const config =
        shards.length > 1
          ? { shards: shards.map((s) => ({ id: s.id, url: s.url, subscribeUrls: [s.subscribeUrl] })) }
          : undefined;
      web = await serveWeb(
        dist,
        {
          url: first.url,
          subscribeUrl: first.subscribeUrl,
          config,
          map: o.tileUrl ? { tileUrl: o.tileUrl } : undefined,
        },
        webPort,
        "127.0.0.1",
        (e) => log(`web UI server: ${e.message}`),
      );
      webUrl = `http://127.0.0.1:${webPort}/`;
    }
    const kind = `${topology.kind} topology: ${topology.shards.length} shard(s), ${shape.replicas} replica(s) each`;
    log(`${kind}; relay functions v${String(version)}; webdis ${describeWebdis(webdisBin)}: ${webdisBin.bin}`);
    const primaries = new Set(topology.shards.map((s) => run?.primaryAtStart(s.id)));
    for (const n of topology.redis) {
      const what = primaries.has(n.id)
        ? `primary, data in ${join(o.dataDir, n.dir)}, AOF on, maxmemory ${maxmemory} noeviction`
        : "replica, subscribe-only default user";
      log(`redis   ${n.place.host}:${n.port}  ${n.id}: ${what}`);
    }
    for (const s of shards) {
      const tag = shards.length > 1 ? ` (${s.id})` : "";
      if (withEdge) {
        log(`webdis  ${[s.doors.command, ...s.doors.subscribe].join(" ")}  the doors${tag}, for the edge only`);
        log(`edge    ${s.url}  command door${tag} (RELAY_URL)`);
        log(`edge    ${s.subscribeUrl}  subscription door${tag}, WebSockets (RELAY_SUBSCRIBE_URL)`);
      } else {
        log(`webdis  ${s.url}  command door${tag}, no edge (development only; RELAY_URL)`);
        log(`webdis  ${s.doors.subscribe.join(" ")}  subscription door(s)${tag}, no edge (RELAY_SUBSCRIBE_URL)`);
      }
    }
    // Sizing: what one subscription door can hold with this machine's limits.
    const fds = openFileLimit();
    if (fds !== undefined) {
      const perDoor = doorCapacity(fds, fds, replicaMaxclients(fds));
      const doors = shards.reduce((n, s) => n + s.doors.subscribe.length, 0);
      log(
        `sizing  ~${perDoor} followers per subscription door, ~${perDoor * doors} in all (open-file limit ${fds}: ` +
          `Webdis takes 2 per follower; replicas get maxclients ${replicaMaxclients(fds)}); more: ulimit -n, --replicas` +
          (withEdge ? `; the edge admits ${DEFAULT_LIMITS.maxConnections} connections per door frontend` : ""),
      );
    }
    log(webUrl ? `web UI  ${webUrl}` : "web UI  not built (run npm run build:web)");
    log(`metrics ${metrics.url}/metrics  Prometheus; ${metrics.url}/healthz`);
    log(`status  mission-relay status --topology ${descriptionFile}`);
    if (shards.length > 1) {
      const clientFile = join(o.dataDir, "relay-config.json");
      writeFileSync(
        clientFile,
        `${JSON.stringify({ shards: shards.map((s) => ({ id: s.id, url: s.url, subscribeUrls: [s.subscribeUrl] })) }, null, 2)}\n`,
      );
      log(`clients RELAY_CONFIG=${clientFile} (every shard's doors; the CLI hashes each stream to its shard)`);
    }
    return {
      webdisUrl: first.url,
      subscribeUrl: first.subscribeUrl,
      shards: shards.map((s) => ({ id: s.id, url: s.url, subscribeUrls: [s.subscribeUrl] })),
      webUrl,
      redisPort,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
