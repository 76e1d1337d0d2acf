/**
 * `mission-relay up`: the whole product on one machine. Starts redis-server and
 * webdis on 127.0.0.1, loads the function library, serves the web UI, prints
 * the URLs and runs until Ctrl-C, then stops both.
 */
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { type Edge, rmemMax, SERVER_RCVBUF, startEdge } from "../server/edge.ts";
import {
  findBinary,
  freePort,
  loadFunctions,
  type Managed,
  repoRoot,
  type Supervised,
  startRedis,
  superviseWebdis,
  waitForSubscribeDoor,
  webdisConfig,
} from "../server/native.ts";
import { DOOR_HOST, quickackRoute } from "../server/quickack.ts";
import { redisCommand } from "../server/resp.ts";
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
}

/**
 * Redis's memory cap for `up`: room for thousands of ordinary streams (a 200 KB plan
 * with patch-sized history is well under 1 MB) and for a few at the limits (a stream of
 * 1 MiB states with 32 in its history holds ~35 MB), far below a small server's RAM.
 */
export const DEFAULT_MAXMEMORY = "256mb";

export interface Running {
  webdisUrl: string;
  subscribeUrl: string;
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

export async function up(o: UpOptions): Promise<Running> {
  const log = o.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  const maxmemory = o.maxmemory ?? DEFAULT_MAXMEMORY;
  const withEdge = o.edge ?? true;
  const webdisBin = ensureInstalled(o.install, withEdge, log);
  const redisPort = await portOrFree(o.redisPort, 6390, o.redisPort !== undefined);
  const replicaPort = await portOrFree(undefined, redisPort + 1, false);
  // The public ports; with the edge, Webdis listens on free ports only the edge dials.
  const publicPort = await portOrFree(o.port, 7379, o.port !== undefined);
  const publicSubscribePort = await portOrFree(o.subscribePort, publicPort + 1, o.subscribePort !== undefined);
  const webdisPort = withEdge ? await freePort() : publicPort;
  const subscribePort = withEdge ? await freePort() : publicSubscribePort;
  let edge: Edge | undefined;
  // Behind the edge the doors get an address of their own with a quickack route (when we may).
  const dropRoute = withEdge ? quickackRoute(DOOR_HOST, log) : undefined;
  const doorHost = dropRoute ? DOOR_HOST : "127.0.0.1";
  let redis: Managed | undefined;
  let replica: Managed | undefined;
  let webdis: Supervised | undefined;
  let subscribeDoor: Supervised | undefined;
  let web: Server | undefined;
  const stop = async () => {
    try {
      web?.close();
      await edge?.stop();
      await Promise.all([webdis?.stop(), subscribeDoor?.stop()]);
      await replica?.stop();
      await redis?.stop();
    } finally {
      dropRoute?.();
    }
  };
  try {
    redis = await startRedis({ port: redisPort, dir: o.dataDir, aof: true, maxmemory });
    await loadFunctions(redisPort);
    const version = await redisCommand(redisPort, ["FCALL_RO", "relay_version", "0"]);
    replica = await startRedis({ port: replicaPort, dir: join(o.dataDir, "replica"), replicaOf: redisPort });
    webdis = await superviseWebdis(
      {
        ...webdisConfig({ redisPort, port: webdisPort, logfile: join(o.dataDir, "webdis.log") }),
        http_host: doorHost,
      },
      o.dataDir,
      "webdis.json",
      log,
    );
    const subConfig = {
      ...webdisConfig(
        { redisPort: replicaPort, port: subscribePort, logfile: join(o.dataDir, "webdis-subscribe.log") },
        "subscribe",
      ),
      http_host: doorHost,
    };
    subscribeDoor = await superviseWebdis(subConfig, o.dataDir, "webdis-subscribe.json", log);
    await waitForSubscribeDoor(redisPort, `http://${doorHost}:${subscribePort}`);
    let webdisUrl = `http://${doorHost}:${webdisPort}`;
    let subscribeUrl = `http://${doorHost}:${subscribePort}`;
    if (withEdge) {
      raiseRcvbufCap(log);
      edge = await startEdge({
        commandPort: publicPort,
        subscribePort: publicSubscribePort,
        commandBackend: { host: doorHost, port: webdisPort },
        subscribeBackend: { host: doorHost, port: subscribePort },
        dir: join(o.dataDir, "edge"),
        log: (l) => log(`edge: ${l}`),
      });
      webdisUrl = edge.commandUrl;
      subscribeUrl = edge.subscribeUrl;
    }
    const dist = join(repoRoot, "web", "dist");
    let webUrl: string | undefined;
    if (existsSync(join(dist, "index.html"))) {
      const webPort = await portOrFree(o.webPort, 8080, o.webPort !== undefined);
      web = await serveWeb(dist, { url: webdisUrl, subscribeUrl }, webPort, "127.0.0.1", (e) =>
        log(`web UI server: ${e.message}`),
      );
      webUrl = `http://127.0.0.1:${webPort}/`;
    }
    log(
      `redis   127.0.0.1:${redisPort}  (data in ${o.dataDir}, AOF on, maxmemory ${maxmemory} noeviction, relay functions v${String(version)})`,
    );
    log(`replica 127.0.0.1:${replicaPort}  (subscribe-only default user)`);
    log(`webdis  ${describeWebdis(webdisBin)}: ${webdisBin.bin}`);
    if (edge) {
      log(`webdis  ${doorHost}:${webdisPort} and ${doorHost}:${subscribePort}  the doors, for the edge only`);
      log(`edge    ${webdisUrl}  command door (set RELAY_URL to this for the CLI)`);
      log(`edge    ${subscribeUrl}  subscription door, WebSockets (RELAY_SUBSCRIBE_URL)`);
    } else {
      log(`webdis  ${webdisUrl}  command door, no edge (development only; RELAY_URL)`);
      log(`webdis  ${subscribeUrl}  subscription door, no edge (RELAY_SUBSCRIBE_URL)`);
    }
    log(webUrl ? `web UI  ${webUrl}` : "web UI  not built (run npm run build:web)");
    return { webdisUrl, subscribeUrl, webUrl, redisPort, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
