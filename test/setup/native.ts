/** The test stack as native processes on free ports: Redis, its subscription replica, two Webdis doors. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  freePort,
  loadFunctions,
  type Managed,
  type Supervised,
  startRedis,
  superviseWebdis,
  waitForSubscribeDoor,
  webdisConfig,
} from "../../src/server/native.ts";
import { redisCommand } from "../../src/server/resp.ts";
import type { Stack, StackOptions } from "./types.ts";

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
  let redis: Managed = await startRedis({ port: redisPort, dir: dataDir, aof });
  await loadFunctions(redisPort);
  const replica: Managed = await startRedis({ port: replicaPort, dir: replicaDir, replicaOf: redisPort });
  const config = webdisConfig({ redisPort, port: webdisPort, logfile: join(dir, "webdis.log"), ...opts.webdis });
  const subConfig = webdisConfig(
    { redisPort: replicaPort, port: subscribePort, logfile: join(dir, "webdis-subscribe.log") },
    "subscribe",
  );
  // Supervised, as `mission-relay up` runs them: a door that crashes comes back.
  const log = (l: string) => console.warn(`[stack:native] ${l}`);
  const startDoors = () =>
    Promise.all([
      superviseWebdis(config, dir, "webdis.json", log),
      superviseWebdis(subConfig, dir, "webdis-subscribe.json", log),
    ]);
  const doors: (Supervised | undefined)[] = await startDoors();
  const subscribeUrl = `http://127.0.0.1:${subscribePort}`;
  await waitForSubscribeDoor(redisPort, subscribeUrl);

  const stack: Stack = {
    mode: "native",
    webdisUrl: `http://127.0.0.1:${webdisPort}`,
    subscribeUrl,
    redisPort,
    webdisPort,
    replicaPort,
    dataDir,
    redis: (...args) => redisCommand(redisPort, args),
    async killWebdis() {
      await Promise.all(doors.map((d) => d?.stop("SIGKILL")));
      doors.fill(undefined);
    },
    async startWebdis() {
      doors[0] ??= await superviseWebdis(config, dir, "webdis.json", log);
      doors[1] ??= await superviseWebdis(subConfig, dir, "webdis-subscribe.json", log);
    },
    async restartWebdis() {
      await stack.killWebdis();
      await stack.startWebdis();
    },
    async restartRedis() {
      // SIGTERM: Redis flushes its AOF before it exits, as on a clean restart.
      await redis.stop("SIGTERM");
      redis = await startRedis({ port: redisPort, dir: dataDir, aof });
    },
    async logs() {
      const files = {
        redis: join(dataDir, "redis.log"),
        replica: join(replicaDir, "redis.log"),
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
    async stop() {
      redis.process.kill("SIGCONT");
      await Promise.all([...doors.map((d) => d?.stop()), replica.stop(), redis.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return stack;
}
