/** The test stack as native processes on free ports: Redis, its subscription replica, two Webdis doors. */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Managed } from "../../src/server/native.ts";
import { redisCommand } from "../../src/server/resp.ts";
import { planTopology, type RunningTopology, startTopology, topologyLogs } from "../../src/server/topology.ts";
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
  // Without a placement everything is on 127.0.0.1 in our own namespace.
  const redisAt = opts.placement?.redis ?? { host: "127.0.0.1" };
  const doorsAt = opts.placement?.doors ?? { host: "127.0.0.1" };
  // The single topology, as `mission-relay up` runs it (src/server/topology.ts).
  const topology = await planTopology({ kind: "single", redisAt, doorsAt });
  const log = (l: string) => console.warn(`[stack:native] ${l}`);
  let run: RunningTopology;
  try {
    run = await startTopology(topology, {
      dir,
      aof: opts.aof ?? true,
      webdis: opts.webdis,
      inspectorSha256: inspector.sha256,
      log,
    });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const [shard] = topology.shards;
  if (!shard) throw new Error("the single topology has no shard");
  const ids: Record<Target, string> = {
    primary: shard.primary,
    replica: shard.replicas[0] ?? "",
    "command-door": shard.commandDoor,
    "subscribe-door": shard.subscribeDoors[0] ?? "",
  };
  const port = (t: Target) => {
    const n = [...topology.redis, ...topology.doors].find((x) => x.id === ids[t]);
    if (!n) throw new Error(`no ${t} in the topology`);
    return n.port;
  };
  const [redisPort, replicaPort, webdisPort] = [port("primary"), port("replica"), port("command-door")];
  const webdisUrl = run.doorUrl(ids["command-door"]);
  const subscribeUrl = run.doorUrl(ids["subscribe-door"]);
  const dataDir = join(dir, "redis");
  const doorTargets = ["command-door", "subscribe-door"] as const;

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
      await Promise.all(doorTargets.map((t) => run.stopDoor(ids[t], "SIGKILL")));
    },
    async startWebdis() {
      for (const t of doorTargets) if (!run.door(ids[t])) await run.startDoor(ids[t]);
    },
    async restartWebdis() {
      await stack.killWebdis();
      await stack.startWebdis();
    },
    async restartRedis() {
      // SIGTERM: Redis flushes its AOF before it exits, as on a clean restart.
      const m = run.redis(ids.primary);
      m.process.kill("SIGCONT");
      await m.stop("SIGTERM");
      await run.startRedis(ids.primary);
    },
    async logs() {
      return topologyLogs(run);
    },
    async pauseRedis() {
      run.redis(ids.primary).process.kill("SIGSTOP");
    },
    async resumeRedis() {
      run.redis(ids.primary).process.kill("SIGCONT");
    },
    async signal(target, sig) {
      if (target === "primary" || target === "replica") {
        const m = run.redis(ids[target]);
        if (!alive(m)) return;
        if (sig === "SIGKILL") await m.stop("SIGKILL");
        else m.process.kill(sig);
        return;
      }
      run.door(ids[target])?.signal(sig);
    },
    async door(target) {
      const pid = run.door(ids[target])?.pid;
      if (pid === undefined) throw new Error(`${target} is not running`);
      const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
      return { rssBytes: Number(kb) * 1024, incarnation: String(pid) };
    },
    async start(target) {
      if (target === "primary" || target === "replica") {
        const m = run.redis(ids[target]);
        if (alive(m)) {
          m.process.kill("SIGCONT");
          return;
        }
        // Same port and folder: the primary replays its AOF, the replica syncs from it.
        await run.startRedis(ids[target]);
        return;
      }
      const d = run.door(ids[target]);
      if (!d) await run.startDoor(ids[target]);
      else d.signal("SIGCONT");
      await doorAnswers(target === "command-door" ? webdisUrl : subscribeUrl);
    },
    async stop() {
      await run.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return stack;
}
