/** The test stack as native redis-server + webdis processes on free ports. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  freePort,
  loadFunctions,
  type Managed,
  startRedis,
  startWebdis,
  webdisConfig,
} from "../../src/server/native.ts";
import { redisCommand } from "../../src/server/resp.ts";
import type { Stack, StackOptions } from "./types.ts";

export async function startNativeStack(opts: StackOptions = {}): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), "relay-stack-"));
  const dataDir = join(dir, "redis");
  const redisPort = await freePort();
  const webdisPort = await freePort();
  const aof = opts.aof ?? true;
  let redis: Managed = await startRedis({ port: redisPort, dir: dataDir, aof });
  await loadFunctions(redisPort);
  const config = webdisConfig({ redisPort, port: webdisPort, logfile: join(dir, "webdis.log"), ...opts.webdis });
  let webdis: Managed | undefined = await startWebdis(config, dir);

  const stack: Stack = {
    mode: "native",
    webdisUrl: `http://127.0.0.1:${webdisPort}`,
    redisPort,
    webdisPort,
    dataDir,
    redis: (...args) => redisCommand(redisPort, args),
    async killWebdis() {
      await webdis?.stop("SIGKILL");
      webdis = undefined;
    },
    async startWebdis() {
      if (!webdis) webdis = await startWebdis(config, dir);
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
    async pauseRedis() {
      redis.process.kill("SIGSTOP");
    },
    async resumeRedis() {
      redis.process.kill("SIGCONT");
    },
    async stop() {
      redis.process.kill("SIGCONT");
      await Promise.all([webdis?.stop(), redis.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return stack;
}
