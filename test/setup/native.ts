/** The test stack as native processes on free ports: Redis, its subscription replica, two Webdis doors. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
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
} from "../../src/server/native.ts";
import { redisCommand } from "../../src/server/resp.ts";
import { chooseWebdis } from "../../src/server/webdis-bin.ts";
import { inspector } from "./inspector.ts";
import type { Stack, StackOptions, Target } from "./types.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const alive = (m: Managed) => m.process.exitCode === null && m.process.signalCode === null;

/** Polls a door with PING until it answers (a supervised door comes back by itself). */
async function doorAnswers(url: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const r = await fetch(`${url}/`, { method: "POST", body: "PING", signal: AbortSignal.timeout(1_000) });
      if (r.ok && (await r.text()).includes("PONG")) return;
    } catch {}
    await sleep(25);
  }
  throw new Error(`door ${url} did not answer PING within ${timeoutMs} ms`);
}

export async function startNativeStack(opts: StackOptions = {}): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), "relay-stack-"));
  const dataDir = join(dir, "redis");
  const replicaDir = join(dir, "replica");
  const [redisPort, replicaPort, webdisPort, subscribePort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const aof = opts.aof ?? true;
  // Without a placement everything is on 127.0.0.1 in our own namespace.
  const redisAt = opts.placement?.redis ?? { host: "127.0.0.1", wrap: undefined };
  const doorsAt = opts.placement?.doors ?? { host: "127.0.0.1", wrap: undefined };
  const primaryOpts: RedisOptions = { port: redisPort, dir: dataDir, aof, host: redisAt.host, wrap: redisAt.wrap };
  const replicaOpts: RedisOptions = {
    port: replicaPort,
    dir: replicaDir,
    replicaOf: redisPort,
    host: redisAt.host,
    wrap: redisAt.wrap,
    inspectorSha256: inspector.sha256,
  };
  const config = {
    ...webdisConfig({ redisPort, port: webdisPort, logfile: join(dir, "webdis.log"), ...opts.webdis }),
    redis_host: redisAt.host,
    http_host: doorsAt.host,
  };
  const subConfig = {
    ...webdisConfig(
      { redisPort: replicaPort, port: subscribePort, logfile: join(dir, "webdis-subscribe.log") },
      "subscribe",
    ),
    redis_host: redisAt.host,
    http_host: doorsAt.host,
  };
  // Supervised, as `mission-relay up` runs them: a door that crashes comes back.
  const log = (l: string) => console.warn(`[stack:native] ${l}`);
  const superviseDoor = (i: 0 | 1) =>
    i === 0
      ? superviseWebdis(config, dir, "webdis.json", log, doorsAt.wrap)
      : superviseWebdis(subConfig, dir, "webdis-subscribe.json", log, doorsAt.wrap);
  const webdisUrl = `http://${doorsAt.host}:${webdisPort}`;
  const subscribeUrl = `http://${doorsAt.host}:${subscribePort}`;
  // A start-up that fails half way stops what it started (startStack then tries new ports).
  const started: { stop(): Promise<void> }[] = [];
  let redis: Managed;
  let replica: Managed;
  let doors: (Supervised | undefined)[];
  try {
    redis = await startRedis(primaryOpts);
    started.push(redis);
    await loadFunctions(redisPort, redisAt.host);
    replica = await startRedis(replicaOpts);
    started.push(replica);
    const settled = await Promise.allSettled([superviseDoor(0), superviseDoor(1)]);
    doors = settled.map((r) => (r.status === "fulfilled" ? r.value : undefined));
    for (const d of doors) if (d) started.push(d);
    const failed = settled.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    await waitForSubscribeDoor(redisPort, subscribeUrl, 10_000, redisAt.host);
  } catch (e) {
    await Promise.all(started.map((x) => x.stop().catch(() => {})));
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }

  const doorIndex = (t: Target): 0 | 1 => (t === "command-door" ? 0 : 1);
  const doorUrl = (t: Target) => (t === "command-door" ? webdisUrl : subscribeUrl);
  const server = (t: "primary" | "replica") => (t === "primary" ? redis : replica);

  const stack: Stack = {
    mode: "native",
    webdisUrl,
    subscribeUrl,
    webdisVersion: chooseWebdis().version,
    redisPort,
    webdisPort,
    replicaPort,
    dataDir,
    redis: (...args) => redisCommand(redisPort, args, { host: redisAt.host }),
    replica: (...args) => redisCommand(replicaPort, args, { host: redisAt.host, auth: inspector.auth }),
    async killWebdis() {
      await Promise.all(doors.map((d) => d?.stop("SIGKILL")));
      doors.fill(undefined);
    },
    async startWebdis() {
      doors[0] ??= await superviseDoor(0);
      doors[1] ??= await superviseDoor(1);
    },
    async restartWebdis() {
      await stack.killWebdis();
      await stack.startWebdis();
    },
    async restartRedis() {
      // SIGTERM: Redis flushes its AOF before it exits, as on a clean restart.
      redis.process.kill("SIGCONT");
      await redis.stop("SIGTERM");
      redis = await startRedis(primaryOpts);
    },
    async logs() {
      const files = {
        redis: join(dataDir, "redis.log"),
        replica: join(replicaDir, "replica.log"),
        webdis: join(dir, "webdis.log"),
        "webdis-subscribe": join(dir, "webdis-subscribe.log"),
      };
      return Object.fromEntries(
        Object.entries(files).map(([k, f]) => [k, existsSync(f) ? readFileSync(f, "latin1") : ""]),
      );
    },
    async pauseRedis() {
      redis.process.kill("SIGSTOP");
    },
    async resumeRedis() {
      redis.process.kill("SIGCONT");
    },
    async signal(target, sig) {
      if (target === "primary" || target === "replica") {
        const m = server(target);
        if (!alive(m)) return;
        if (sig === "SIGKILL") await m.stop("SIGKILL");
        else m.process.kill(sig);
        return;
      }
      doors[doorIndex(target)]?.signal(sig);
    },
    async door(target) {
      const pid = doors[doorIndex(target)]?.pid;
      if (pid === undefined) throw new Error(`${target} is not running`);
      const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
      return { rssBytes: Number(kb) * 1024, incarnation: String(pid) };
    },
    async start(target) {
      if (target === "primary" || target === "replica") {
        const m = server(target);
        if (alive(m)) {
          m.process.kill("SIGCONT");
          return;
        }
        // Same port and folder: the primary replays its AOF, the replica syncs from it.
        if (target === "primary") redis = await startRedis(primaryOpts);
        else replica = await startRedis(replicaOpts);
        return;
      }
      const i = doorIndex(target);
      const d = doors[i];
      if (!d) doors[i] = await superviseDoor(i);
      else d.signal("SIGCONT");
      await doorAnswers(doorUrl(target));
    },
    async stop() {
      for (const m of [redis, replica]) if (alive(m)) m.process.kill("SIGCONT");
      for (const d of doors) d?.signal("SIGCONT");
      await Promise.all([...doors.map((d) => d?.stop()), replica.stop(), redis.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return stack;
}
