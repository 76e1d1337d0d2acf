/**
 * Native redis-server and webdis processes on 127.0.0.1, for `mission-relay up`
 * and the native test stack. Node-only by design (child processes, files).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleLua } from "./lua.ts";
import { redisCommand } from "./resp.ts";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/** Finds a program on PATH or in the usual Debian folders; undefined if absent. */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/bin", "/usr/sbin", "/usr/local/bin"];
  for (const d of dirs) {
    if (d && existsSync(join(d, name))) return join(d, name);
  }
  return undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, probe: () => Promise<boolean>, child: ChildProcess, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited during start-up (code ${child.exitCode ?? child.signalCode})`);
    }
    if (await probe().catch(() => false)) return;
    await sleep(25);
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms`);
}

export interface Managed {
  readonly pid: number;
  readonly process: ChildProcess;
  /** SIGTERM, then SIGKILL after a grace period; resolves when the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

function manage(child: ChildProcess): Managed {
  const exited = new Promise<void>((r) => {
    if (child.exitCode !== null || child.signalCode !== null) r();
    else child.once("exit", () => r());
  });
  return {
    pid: child.pid ?? -1,
    process: child,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface RedisOptions {
  port: number;
  dir: string;
  aof?: boolean;
}

export async function startRedis({ port, dir, aof = true }: RedisOptions): Promise<Managed> {
  const bin = findBinary("redis-server");
  if (!bin) throw new Error(missingHelp("redis-server"));
  mkdirSync(dir, { recursive: true });
  const args = [
    "--bind",
    "127.0.0.1",
    "--port",
    String(port),
    "--dir",
    dir,
    "--appendonly",
    aof ? "yes" : "no",
    "--save",
    "",
    "--daemonize",
    "no",
    "--logfile",
    join(dir, "redis.log"),
    "--protected-mode",
    "yes",
  ];
  const child = spawn(bin, args, { stdio: "ignore" });
  await waitFor("redis-server", async () => (await redisCommand(port, ["PING"], { timeoutMs: 500 })) === "PONG", child);
  return manage(child);
}

/** Our webdis.json, with the ports and log file of this run. */
export function webdisConfig(over: { redisPort: number; port: number; logfile: string } & Record<string, unknown>) {
  const base = JSON.parse(readFileSync(join(repoRoot, "webdis.json"), "utf8")) as Record<string, unknown>;
  const { redisPort, port, ...rest } = over;
  return { ...base, ...rest, redis_port: redisPort, http_port: port, http_host: "127.0.0.1", daemonize: false };
}

export async function startWebdis(config: Record<string, unknown>, dir: string): Promise<Managed> {
  const bin = findBinary("webdis");
  if (!bin) throw new Error(missingHelp("webdis"));
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "webdis.json");
  writeFileSync(file, JSON.stringify(config, null, 2));
  const child = spawn(bin, [file], { stdio: "ignore", cwd: dir });
  const url = `http://127.0.0.1:${config.http_port}/`;
  await waitFor(
    "webdis",
    async () => {
      const r = await fetch(url, { method: "POST", body: "PING", signal: AbortSignal.timeout(500) });
      return r.ok && (await r.text()).includes("PONG");
    },
    child,
  );
  return manage(child);
}

/** FUNCTION LOAD REPLACE of our library; returns the library name. */
export async function loadFunctions(redisPort: number): Promise<string> {
  return String(await redisCommand(redisPort, ["FUNCTION", "LOAD", "REPLACE", bundleLua()]));
}

export function missingHelp(bin: string): string {
  const pkg = bin === "redis-server" ? "redis-server" : "webdis";
  return `${bin} is not installed. On Debian/Ubuntu: sudo apt-get install -y ${pkg} (or run \`mission-relay up --install\`)`;
}

export { dirname };
