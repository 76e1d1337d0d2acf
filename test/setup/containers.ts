/**
 * The test stack as two containers (testcontainers): Redis and Webdis on the
 * host network, listening on free ports on 127.0.0.1, our webdis.json and Lua
 * library copied in, Redis's data folder bind-mounted from a host temp folder.
 *
 * Images: RELAY_REDIS_IMAGE / RELAY_WEBDIS_IMAGE, default the local images
 * `scripts/build-images` makes from the host's Debian binaries. The commands
 * are `redis-server <flags>` and `webdis <config>` (found on the image's
 * PATH), so the official `redis:7` image and `nicolas/webdis` fit as well
 * (see docs/testing-containers.md).
 *
 * Needs a Linux Docker engine on this host (host networking); see
 * scripts/docker-engine.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import type { StartedTestContainer } from "testcontainers";
import { newClusterSecrets } from "../../src/server/acl.ts";
import { bundleLua } from "../../src/server/lua.ts";
import { redisArgs, repoRoot, waitForSubscribeDoor } from "../../src/server/native.ts";
import { redisCommand } from "../../src/server/resp.ts";
import { doorConfigFor, planTopology, redisOptionsFor } from "../../src/server/topology.ts";
import { pidAlive, within } from "../support/util.ts";
import { inspector } from "./inspector.ts";
import type { Stack, StackOptions, Target } from "./types.ts";

// No Ryuk (its image cannot be pulled here; we remove our containers
// ourselves) and no bridge network to ask for the host. A developer can
// override both.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= "127.0.0.1";

export const redisImage = () => process.env.RELAY_REDIS_IMAGE || "mission-relay/redis:local";
export const webdisImage = () => process.env.RELAY_WEBDIS_IMAGE || "mission-relay/webdis:local";

/** Inside the containers. */
const WEBDIS_CONFIG_PATH = "/etc/mission-relay/webdis.json";
const FUNCTIONS_PATH = "/etc/mission-relay/relay.lua";
const DATA_DIR = "/data";

const REDIS_READY = /Ready to accept connections/;
const WEBDIS_READY = /Webdis .* up and running/;
const STARTUP_TIMEOUT_MS = 30_000;

export interface ContainerStackOptions extends StackOptions {
  /** The function library to FUNCTION LOAD REPLACE. Default: bundleLua(). */
  functions?: string;
  /** Base webdis.json. Default: the repo's webdis.json. Ports, hosts and log file are set here. */
  webdisConfig?: Record<string, unknown>;
}

type TC = typeof import("testcontainers");
let tc: Promise<TC> | undefined;
/** Loaded lazily, after the env above is set, and only in containers mode. */
const testcontainers = (): Promise<TC> => {
  tc ??= import("testcontainers");
  return tc;
};

let available: Promise<boolean> | undefined;
/**
 * True when a Docker engine answers and both images exist locally (we never
 * pull implicitly: set the image names to something present). Cached.
 */
export function containersAvailable(): Promise<boolean> {
  available ??= (async () => {
    try {
      return await within(
        (async () => {
          const { getContainerRuntimeClient, ImageName } = await testcontainers();
          const client = await getContainerRuntimeClient();
          for (const image of [redisImage(), webdisImage()]) {
            if (!(await client.image.exists(ImageName.fromString(image)))) return false;
          }
          return true;
        })(),
        10_000,
        "looking for a Docker engine",
      );
    } catch {
      return false;
    }
  })();
  return available;
}

/** Why containersAvailable() is false, for skip messages. */
export async function whyUnavailable(): Promise<string | undefined> {
  try {
    const { getContainerRuntimeClient, ImageName } = await testcontainers();
    const client = await within(getContainerRuntimeClient(), 10_000, "looking for a Docker engine");
    const missing: string[] = [];
    for (const image of [redisImage(), webdisImage()]) {
      if (!(await client.image.exists(ImageName.fromString(image)))) missing.push(image);
    }
    if (missing.length) return `images missing: ${missing.join(", ")} (run scripts/build-images)`;
    return undefined;
  } catch (e) {
    return `no reachable Docker engine (${(e as Error).message.split("\n")[0]}); run: eval "$(scripts/docker-engine start)"`;
  }
}

// Safety net: containers still registered when the process exits (a suite
// that never called stop(), a crash) are removed with the docker CLI.
const live = new Set<string>();
let exitHookInstalled = false;
function track(id: string) {
  live.add(id);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    if (live.size === 0) return;
    spawnSync("docker", ["rm", "-f", "-v", ...live], { stdio: "ignore", timeout: 20_000 });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const LABEL = "mission-relay.test-stack";
const TMP_PREFIX = "relay-containers-";
let reaped: Promise<void> | undefined;
/**
 * Removes test-stack containers left running by an earlier test process on
 * this host that died without cleaning up (SIGKILL, Ctrl-C): same hostname
 * label, and that process is gone. Once per process.
 */
function reapStale(client: Awaited<ReturnType<TC["getContainerRuntimeClient"]>>): Promise<void> {
  reaped ??= (async () => {
    const running = await client.container.list();
    for (const c of running) {
      const labels = c.Labels ?? {};
      if (labels[LABEL] !== "1" || labels["mission-relay.host"] !== hostname()) continue;
      const pid = Number(labels["mission-relay.pid"]);
      if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || pidAlive(pid)) continue;
      console.log(`[stack:containers] removing stale container ${c.Id.slice(0, 12)} of dead test process ${pid}`);
      await client.container
        .getById(c.Id)
        .remove({ force: true, v: true })
        .catch(() => {});
      // Its temp folder (the bind-mounted Redis data folder's parent).
      for (const m of c.Mounts ?? []) {
        const parent = dirname(m.Source ?? "");
        if (dirname(parent) === tmpdir() && basename(parent).startsWith(TMP_PREFIX)) {
          rmSync(parent, { recursive: true, force: true });
        }
      }
    }
  })().catch(() => {});
  return reaped;
}

type DockerContainer = ReturnType<Awaited<ReturnType<TC["getContainerRuntimeClient"]>>["container"]["getById"]>;

/** The container's whole log so far (stdout and stderr), byte for byte as latin1. */
async function logText(c: DockerContainer): Promise<string> {
  const raw = (await c.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
  return Buffer.isBuffer(raw) ? raw.toString("latin1") : String(raw);
}

/** How many times `pattern` occurs in the container's whole log so far. */
async function countInLog(c: DockerContainer, pattern: RegExp): Promise<number> {
  return (await logText(c)).match(new RegExp(pattern.source, "g"))?.length ?? 0;
}

/**
 * Runs `action` (start, restart) and waits until the container logs `pattern`
 * once more than before. (testcontainers' own restart() waits for the log
 * "since StartedAt", but the first lines can carry an earlier timestamp than
 * StartedAt, so it sometimes misses them and then removes the container.)
 */
async function actAndWaitForLog(c: DockerContainer, pattern: RegExp, action: () => Promise<unknown>) {
  const before = await countInLog(c, pattern);
  await action();
  const until = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < until) {
    if ((await countInLog(c, pattern)) > before) return;
    const state = (await c.inspect()).State;
    if (!state.Running && !state.Restarting) {
      throw new Error(`container ${c.id.slice(0, 12)} exited (code ${state.ExitCode}) before logging ${pattern}`);
    }
    await sleep(20);
  }
  throw new Error(`container ${c.id.slice(0, 12)} did not log ${pattern} within ${STARTUP_TIMEOUT_MS} ms`);
}

/**
 * Until `c` is no longer running, asked with inspect and bounded: docker's own wait
 * for "not-running" never returns if something starts the container before it is asked.
 */
async function stopped(c: DockerContainer, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!(await c.inspect()).State.Running) return;
    await sleep(20);
  }
  throw new Error(`container ${c.id.slice(0, 12)} still running ${timeoutMs} ms after SIGKILL`);
}

/** Webdis says "up and running" just before its loop starts: confirm with one PING over HTTP. */
async function webdisAnswers(url: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const r = await fetch(`${url}/`, { method: "POST", body: "PING", signal: AbortSignal.timeout(1_000) });
      const text = await r.text();
      if (r.ok && text.includes("PONG")) return;
      last = new Error(`HTTP ${r.status}: ${text.slice(0, 200)}`);
    } catch (e) {
      last = e;
    }
    await sleep(20);
  }
  throw new Error(`webdis at ${url} did not answer PING within ${timeoutMs} ms: ${String(last)}`);
}

const idsByStack = new WeakMap<Stack, { redis: string; webdis: string }>();
/** The container ids behind a containers-mode stack (tests, diagnostics). */
export const containerIdsOf = (stack: Stack) => idsByStack.get(stack);

export async function startContainerStack(opts: ContainerStackOptions = {}): Promise<Stack> {
  if (opts.placement) throw new Error("a network-namespace placement needs the native stack");
  const { GenericContainer, Wait, getContainerRuntimeClient } = await testcontainers();
  const client = await getContainerRuntimeClient();
  const aof = opts.aof ?? true;
  const functions = opts.functions ?? bundleLua();
  const baseConfig =
    opts.webdisConfig ?? (JSON.parse(readFileSync(join(repoRoot, "webdis.json"), "utf8")) as Record<string, unknown>);

  const dir = mkdtempSync(join(tmpdir(), TMP_PREFIX));
  const dataDir = join(dir, "redis");
  mkdirSync(dataDir);
  // The single topology, as `mission-relay up` and the native stack run it
  // (src/server/topology.ts): the same nodes, ports, Redis arguments and door
  // configs, here as containers on the host network (freePort never hands out a port twice).
  const topology = await planTopology({ kind: "single" });
  // The run's passwords, as startTopology makes them (only the monitor user's hash reaches argv).
  const secrets = newClusterSecrets();
  const [shard] = topology.shards;
  if (!shard) throw new Error("the single topology has no shard");
  const portOf = (id: string) => [...topology.redis, ...topology.doors].find((n) => n.id === id)?.port ?? 0;
  const redisPort = portOf(shard.primary);
  const webdisPort = portOf(shard.commandDoor);
  const replicaId = shard.replicas[0] ?? "";
  const subscribeId = shard.subscribeDoors[0] ?? "";
  const replicaPort = portOf(replicaId);
  const subscribePort = portOf(subscribeId);
  const webdisUrl = `http://127.0.0.1:${webdisPort}`;
  const subscribeUrl = `http://127.0.0.1:${subscribePort}`;
  // Run as the host user so files in the bind-mounted data folder are ours.
  const user = typeof process.getuid === "function" ? `${process.getuid()}:${process.getgid?.() ?? 0}` : undefined;

  const extra = opts.webdis ?? {};
  const config = {
    ...doorConfigFor(topology, shard.commandDoor, { dir }, "/dev/stdout"),
    // A test may hand a whole webdis.json of its own (opts.webdisConfig).
    ...(opts.webdisConfig ? { ...baseConfig, redis_port: redisPort, http_port: webdisPort } : {}),
    ...extra,
    redis_host: "127.0.0.1",
    http_host: "127.0.0.1",
    daemonize: false,
    // Log to the container's stdout so the log-message wait strategy sees it.
    logfile: "/dev/stdout",
    // "up and running" is logged at level 3 (INFO); requests only at 4+, so
    // this costs nothing on the hot path.
    verbosity: Math.max(3, Number(extra.verbosity ?? baseConfig.verbosity ?? 0)),
  };

  await reapStale(client);
  const labels = { [LABEL]: "1", "mission-relay.pid": String(process.pid), "mission-relay.host": hostname() };
  const redisDef = new GenericContainer(redisImage())
    .withNetworkMode("host")
    .withLabels({ ...labels, "mission-relay.role": "redis" })
    .withCommand([
      "redis-server",
      // Logs to stdout (logfile ""), data in the bind-mounted folder.
      ...redisArgs({ ...redisOptionsFor(topology, shard.primary, { dir, aof, secrets }), dir: DATA_DIR }, ""),
    ])
    .withBindMounts([{ source: dataDir, target: DATA_DIR, mode: "rw" }])
    .withCopyContentToContainer([{ content: functions, target: FUNCTIONS_PATH, mode: 0o644 }])
    .withWaitStrategy(Wait.forLogMessage(REDIS_READY))
    .withStartupTimeout(STARTUP_TIMEOUT_MS);
  // The subscription door: a replica whose default user may only subscribe,
  // and a second Webdis (WebSockets on) in front of it.
  const subConfig = { ...doorConfigFor(topology, subscribeId, { dir }, "/dev/stdout"), verbosity: 3 };
  const replicaDef = new GenericContainer(redisImage())
    .withNetworkMode("host")
    .withLabels({ ...labels, "mission-relay.role": "replica" })
    .withCommand([
      "redis-server",
      ...redisArgs(
        { ...redisOptionsFor(topology, replicaId, { dir, inspectorSha256: inspector.sha256, secrets }), dir: "/tmp" },
        "",
      ),
    ])
    .withWaitStrategy(Wait.forLogMessage(/MASTER <-> REPLICA sync: Finished with success/))
    .withStartupTimeout(STARTUP_TIMEOUT_MS);
  const subDef = new GenericContainer(webdisImage())
    .withNetworkMode("host")
    .withLabels({ ...labels, "mission-relay.role": "webdis-subscribe" })
    .withCommand(["webdis", WEBDIS_CONFIG_PATH])
    .withCopyContentToContainer([
      { content: JSON.stringify(subConfig, null, 2), target: WEBDIS_CONFIG_PATH, mode: 0o644 },
    ])
    .withWaitStrategy(Wait.forLogMessage(WEBDIS_READY))
    .withStartupTimeout(STARTUP_TIMEOUT_MS);
  const webdisDef = new GenericContainer(webdisImage())
    .withNetworkMode("host")
    .withLabels({ ...labels, "mission-relay.role": "webdis" })
    .withCommand(["webdis", WEBDIS_CONFIG_PATH])
    .withCopyContentToContainer([{ content: JSON.stringify(config, null, 2), target: WEBDIS_CONFIG_PATH, mode: 0o644 }])
    .withWaitStrategy(Wait.forLogMessage(WEBDIS_READY))
    .withStartupTimeout(STARTUP_TIMEOUT_MS);
  if (user) {
    for (const d of [redisDef, webdisDef, replicaDef, subDef]) d.withUser(user);
  }

  let redis: StartedTestContainer | undefined;
  let webdis: StartedTestContainer | undefined;
  let replica: StartedTestContainer | undefined;
  let subDoor: StartedTestContainer | undefined;
  const removeAll = async () => {
    for (const c of [subDoor, webdis, replica, redis]) {
      if (!c) continue;
      const id = c.getId();
      const dc = client.container.getById(id);
      try {
        await dc.remove({ force: true, v: true });
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode !== 404) throw e;
      }
      live.delete(id);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    redis = await redisDef.start();
    track(redis.getId());
    await redisCommand(redisPort, ["FUNCTION", "LOAD", "REPLACE", functions]);
    webdis = await webdisDef.start();
    track(webdis.getId());
    await webdisAnswers(webdisUrl);
    replica = await replicaDef.start();
    track(replica.getId());
    subDoor = await subDef.start();
    track(subDoor.getId());
    await waitForSubscribeDoor(redisPort, subscribeUrl);
  } catch (e) {
    await removeAll().catch(() => {});
    throw e;
  }
  const redisC: StartedTestContainer = redis;
  const webdisC: StartedTestContainer = webdis;
  const subDocker = client.container.getById(subDoor.getId());

  console.log(
    `[stack:containers] redis ${redisImage()} ${redisC.getId().slice(0, 12)} 127.0.0.1:${redisPort}` +
      ` | webdis ${webdisImage()} ${webdisC.getId().slice(0, 12)} 127.0.0.1:${webdisPort}` +
      ` | replica ${replica.getId().slice(0, 12)} 127.0.0.1:${replicaPort}` +
      ` | subscribe door ${subDoor.getId().slice(0, 12)} 127.0.0.1:${subscribePort}`,
  );

  const webdisDocker = client.container.getById(webdisC.getId());
  // scripts/build-images labels the image "webdis <Debian version>" (a container carries its image's labels).
  const label = (await webdisDocker.inspect()).Config.Labels?.["mission-relay.version"];
  const webdisVersion = label?.match(/^webdis (\S+)$/)?.[1] ?? "unknown";
  const redisDocker = client.container.getById(redisC.getId());
  const replicaDocker = client.container.getById(replica.getId());
  let redisPaused = false;
  /** Frozen with docker pause (the cgroup freezer: like SIGSTOP, for every process inside). */
  const paused = new Set<Target>();
  const containerOf = (t: Target) =>
    ({ primary: redisDocker, replica: replicaDocker, "command-door": webdisDocker, "subscribe-door": subDocker })[t];
  const ignoreConflict = (e: unknown) => {
    // 409: not running / already paused or not paused: the wanted end state already holds.
    if ((e as { statusCode?: number }).statusCode !== 409) throw e;
  };
  /**
   * Thaws `t` if it is frozen. Docker answers unpausing a container that is not
   * paused with a 500 (not a 409), so ask first: a door can die on its own
   * (Webdis 0.1.9 segfaults when its Redis goes) and come back unfrozen.
   */
  const thaw = async (t: Target) => {
    if (!paused.delete(t)) return;
    const c = containerOf(t);
    if ((await c.inspect()).State.Paused) await c.unpause().catch(ignoreConflict);
  };

  // A supervisor for the doors, as a restart policy would be in production:
  // Webdis 0.1.9 can segfault (in hiredis) when Redis restarts under load.
  // doorsWanted: off between killWebdis and startWebdis. holds: calls in supervisorHeldOff,
  // counted so overlapping ones (two doors killed or started at once) cannot switch it back
  // on while another still holds it off.
  let doorsWanted = true;
  let holds = 0;
  let reviving: Promise<void> | undefined;
  const held = () => !doorsWanted || holds > 0;
  const supervisor = setInterval(() => {
    if (held() || reviving) return;
    reviving = (async () => {
      for (const [d, url] of [
        [webdisDocker, webdisUrl],
        [subDocker, subscribeUrl],
      ] as const) {
        const state = (await d.inspect()).State;
        if (held() || state.Running || state.Restarting) continue;
        console.warn(`[stack:containers] webdis ${d.id.slice(0, 12)} exited (code ${state.ExitCode}); restarting`);
        await actAndWaitForLog(d, WEBDIS_READY, () => d.start());
        await webdisAnswers(url);
      }
    })()
      // Said, not thrown: the next tick tries again, and a test waiting on the door
      // (start()) fails with this in the log instead of a bare timeout.
      .catch((e: unknown) => console.warn(`[stack:containers] restarting a door failed: ${String(e)}`))
      .finally(() => {
        reviving = undefined;
      });
  }, 250);
  supervisor.unref();
  /** Runs `act` with the supervisor off, once an attempt it is in the middle of has finished. */
  const supervisorHeldOff = async (act: () => Promise<void>) => {
    holds++;
    try {
      await reviving;
      await act();
    } finally {
      holds--;
    }
  };

  const stack: Stack = {
    mode: "containers",
    webdisUrl,
    subscribeUrl,
    webdisVersion,
    redisPort,
    webdisPort,
    replicaPort,
    dataDir,
    redis: (...args) => redisCommand(redisPort, args),
    replica: (...args) => redisCommand(replicaPort, args, { auth: inspector.auth }),
    async killWebdis() {
      doorsWanted = false;
      await reviving;
      for (const d of [webdisDocker, subDocker]) {
        try {
          await d.kill({ signal: "SIGKILL" });
        } catch (e) {
          // 409: not running (already killed).
          if ((e as { statusCode?: number }).statusCode !== 409) throw e;
        }
        await stopped(d);
      }
    },
    async startWebdis() {
      // The supervisor stays off (doorsWanted is false after killWebdis) until both
      // doors are up, so it never starts a container this is starting too.
      await reviving;
      for (const [d, url] of [
        [webdisDocker, webdisUrl],
        [subDocker, subscribeUrl],
      ] as const) {
        if ((await d.inspect()).State.Running) continue;
        await actAndWaitForLog(d, WEBDIS_READY, () => d.start());
        await webdisAnswers(url);
      }
      doorsWanted = true;
    },
    async restartWebdis() {
      await stack.killWebdis();
      await stack.startWebdis();
    },
    async restartRedis() {
      if (redisPaused) await stack.resumeRedis();
      // docker restart: SIGTERM (Redis flushes its AOF), up to 10 s, then start; same ports.
      await actAndWaitForLog(redisDocker, REDIS_READY, () => redisDocker.restart({ t: 10 }));
      await redisCommand(redisPort, ["PING"]);
    },
    async logs() {
      const all = { redis: redisDocker, replica: replicaDocker, webdis: webdisDocker, "webdis-subscribe": subDocker };
      const texts = await Promise.all(Object.values(all).map(logText));
      return Object.fromEntries(Object.keys(all).map((k, i) => [k, texts[i] ?? ""]));
    },
    async pauseRedis() {
      await redisDocker.pause();
      redisPaused = true;
      paused.add("primary");
    },
    async resumeRedis() {
      await redisDocker.unpause();
      redisPaused = false;
      paused.delete("primary");
    },
    async signal(target, sig) {
      const c = containerOf(target);
      if (sig === "SIGSTOP") {
        // A door that is down (it died; the supervisor may be bringing it back)
        // has nothing to freeze: a no-op. Never wait for the supervisor here: a
        // start it is in the middle of can itself wait on a door frozen earlier.
        if ((target === "command-door" || target === "subscribe-door") && !(await c.inspect()).State.Running) return;
        let frozen = true;
        await c.pause().catch((e) => {
          ignoreConflict(e); // not running: there is nothing to freeze
          frozen = false;
        });
        if (frozen) paused.add(target);
        if (frozen && target === "primary") redisPaused = true;
        return;
      }
      if (sig === "SIGCONT") {
        await thaw(target);
        if (target === "primary") redisPaused = false;
        return;
      }
      // SIGKILL (a paused container is thawed first, as the kernel would deliver it).
      await thaw(target);
      if (target === "primary") redisPaused = false;
      const kill = async () => {
        await c.kill({ signal: "SIGKILL" }).catch(ignoreConflict);
        await stopped(c);
      };
      // A door's supervisor is held off until it is down: had it started the door
      // again between the kill and docker's wait for "not-running", that wait would
      // never return (a containers-mode campaign hung 250 s after kill:subscribe-door).
      if (target === "command-door" || target === "subscribe-door") await supervisorHeldOff(kill);
      else await kill();
    },
    async door(target) {
      const c = containerOf(target);
      const [info, stats] = await Promise.all([c.inspect(), c.stats({ stream: false })]);
      // The cgroup's usage less its page cache: what the process holds.
      const m = stats.memory_stats as { usage?: number; stats?: { inactive_file?: number } };
      return { rssBytes: (m.usage ?? 0) - (m.stats?.inactive_file ?? 0), incarnation: info.State.StartedAt };
    },
    async start(target) {
      const c = containerOf(target);
      await thaw(target);
      if (target === "primary") redisPaused = false;
      if (target === "command-door" || target === "subscribe-door") {
        // The supervisor restarts a killed door: hold it off, let an attempt it is in
        // the middle of finish, then start the door here if it is still down (the
        // supervisor was off, had not got to it yet, or its attempt failed). Waiting
        // on the supervisor alone once let a failed attempt run out a test's 30 s.
        const url = target === "command-door" ? webdisUrl : subscribeUrl;
        await supervisorHeldOff(async () => {
          if (!(await c.inspect()).State.Running) await actAndWaitForLog(c, WEBDIS_READY, () => c.start());
        });
        await webdisAnswers(url, 15_000).catch(async (e: unknown) => {
          const state = (await c.inspect()).State;
          const log = (await logText(c)).split("\n").slice(-5).join(" | ");
          throw new Error(`${String(e)}; ${target} running=${state.Running} exit=${state.ExitCode}; log: ${log}`);
        });
        return;
      }
      if ((await c.inspect()).State.Running) return;
      // Same ports; the primary's data folder is bind-mounted, so it replays its AOF.
      await actAndWaitForLog(c, REDIS_READY, () => c.start());
      await redisCommand(target === "primary" ? redisPort : replicaPort, ["PING"]);
    },
    async stop() {
      doorsWanted = false;
      clearInterval(supervisor);
      await reviving;
      for (const t of paused)
        await containerOf(t)
          .unpause()
          .catch(() => {});
      paused.clear();
      await removeAll();
    },
  };
  idsByStack.set(stack, { redis: redisC.getId(), webdis: webdisC.getId() });
  return stack;
}
