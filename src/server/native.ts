/**
 * Native redis-server and webdis processes on 127.0.0.1, for `mission-relay up`
 * and the native test stack. Node-only by design (child processes, files).
 */
import { type ChildProcess, spawn } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleLua } from "./lua.ts";
import { redisCommand } from "./resp.ts";
import { chooseWebdis } from "./webdis-bin.ts";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** A port the kernel hands out for listen(0), released at once. */
function kernelPort(): Promise<number> {
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

/** Whether a server could listen on 127.0.0.1:`port` now. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/**
 * Ports below the kernel's ephemeral range (Linux's ip_local_port_range), or
 * undefined where it cannot be read. Outgoing connections and listen(0) take
 * their ports from that range, so a port picked there can be taken by anyone
 * between the pick and the server's bind.
 */
function quietRange(): [number, number] | undefined {
  try {
    const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    return low && low > 11_025 ? [low - 10_000, low - 1] : undefined;
  } catch {
    return undefined;
  }
}

/** A port claim in the shared folder (one per machine, never emptied) is honoured this long. */
const CLAIM_MS = 15 * 60_000;

/** Claims `port` in `dir` (one file per port, made exclusively); false if another process holds it. */
function claim(dir: string, port: number): boolean {
  const file = join(dir, String(port));
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, String(process.pid), { flag: "wx" });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") return true; // no folder to share: nothing to coordinate
    try {
      if (Date.now() - statSync(file).mtimeMs < CLAIM_MS) return false;
      writeFileSync(file, String(process.pid));
      return true;
    } catch {
      return false;
    }
  }
}

/** Ports this process handed out: a stack plans all its ports before starting any server. */
const handedOut = new Set<number>();

/**
 * A port nothing listens on now, for a server about to start: below the
 * ephemeral range where it can, never the same one twice in a process, and,
 * when MISSION_RELAY_PORT_CLAIMS names a folder (vitest.config.ts sets it),
 * never one another process claimed there in the last 15 minutes (where the
 * range cannot be read, or 200 tries find nothing, the kernel's pick, unclaimed). CI once
 * gave two test workers' stacks the same port: one's Webdis could not bind and
 * the other's requests reached a Redis that refused them.
 */
export async function freePort(): Promise<number> {
  const range = quietRange();
  const dir = process.env.MISSION_RELAY_PORT_CLAIMS;
  for (let tries = 0; range && tries < 200; tries++) {
    const p = range[0] + Math.floor(Math.random() * (range[1] - range[0] + 1));
    if (handedOut.has(p) || (dir && !claim(dir, p)) || !(await canListen(p))) continue;
    handedOut.add(p);
    return p;
  }
  for (;;) {
    const p = await kernelPort();
    if (!handedOut.has(p)) {
      handedOut.add(p);
      return p;
    }
  }
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

/** Waits until `probe` holds; a child that never got ready is killed (else it would keep the port). */
async function waitFor(what: string, probe: () => Promise<boolean>, child: ChildProcess, timeoutMs = 10_000) {
  try {
    await waitUntilReady(what, probe, child, timeoutMs);
  } catch (e) {
    child.kill("SIGKILL");
    throw e;
  }
}

async function waitUntilReady(what: string, probe: () => Promise<boolean>, child: ChildProcess, timeoutMs: number) {
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

// Every server we start dies with us, even when a caller never got to stop it
// (a test worker torn down mid-test, an exception in start-up).
const children = new Set<ChildProcess>();
let exitHook = false;
export function adopt(child: ChildProcess): void {
  children.add(child);
  child.once("exit", () => children.delete(child));
  if (exitHook) return;
  exitHook = true;
  process.once("exit", () => {
    for (const c of children) {
      try {
        c.kill("SIGKILL");
      } catch {}
    }
  });
}

/** Wraps an adopted child as a Managed process (stop with SIGTERM, then SIGKILL). */
export function manage(child: ChildProcess): Managed {
  adopt(child);
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
  /**
   * Start a replica of the primary on this port for the subscription door:
   * no persistence, and a default user that may only SUBSCRIBE, UNSUBSCRIBE
   * and PING (Webdis 0.1.9 skips its own ACL for WebSocket frames, so Redis
   * itself has to refuse everything else).
   */
  replicaOf?: number;
  /**
   * Tests only: SHA-256 (hex) of a password for an extra `inspector` user on
   * the replica, so a test can read what the subscribe-only door could not
   * (keyspace, INFO commandstats, ACL). Only the hash reaches argv.
   */
  inspectorSha256?: string;
  /**
   * Address to listen on and to reach it at (the replica also finds its
   * primary there). Default 127.0.0.1; the fault tests use an address inside
   * a network namespace.
   */
  host?: string;
  /** A command the server is started through, e.g. `ip netns exec NS` (fault tests). */
  wrap?: string[];
  /**
   * Primary only: Redis `maxmemory` (e.g. "256mb"), with `maxmemory-policy noeviction`.
   * Evicting would drop some of a stream's keys (its state, its meta) and silently
   * corrupt it; with noeviction a writing function is refused before it runs (OOM), so
   * it writes nothing and the client gets FULL. Unset: no limit (test stacks).
   */
  maxmemory?: string;
  /**
   * A data node of a replicated topology that Sentinel manages (src/server/sentinel.ts,
   * users from src/server/acl.ts). Every node, primary or replica, then gets the same
   * `users` (the default user among them: a role change must not change what a door
   * can do), `min-replicas-to-write` / `min-replicas-max-lag`, and `<dir>/redis.conf`
   * (mode 0600) holding `conf` (plaintext secrets such as masterauth: never argv) and
   * the role: `replicaOf` is only where the node starts. Sentinel rewrites that file
   * (CONFIG REWRITE) when it changes a node's role, so a restarted node keeps the role
   * Sentinel gave it; the server runs under umask 077 so the rewrite stays 0600.
   */
  sentinelManaged?: SentinelManagedNode;
  /**
   * Extra users for a node outside Sentinel's care (`--user` rules, password
   * hashes only), e.g. the status reader (src/server/acl.ts monitorUser).
   */
  users?: string[][];
  /** Redis `maxclients` (replicas behind a subscription door: one client per follower). */
  maxclients?: number;
}

export interface SentinelManagedNode {
  /** ACL rules per user, as for `--user` (password hashes only, `#<sha256>`). */
  users: string[][];
  /** Config-file lines with secrets (masteruser / masterauth). */
  conf: string;
  /** Default 1: a primary with no replica in reach refuses writes. */
  minReplicasToWrite?: number;
  /** Seconds since a replica's last ack for it to count; default 2. */
  minReplicasMaxLagS?: number;
}

/** The config file of a Sentinel-managed node (see RedisOptions.sentinelManaged). */
export const managedConfFile = (dir: string) => join(dir, "redis.conf");

/**
 * Pure: the config file a managed node starts with. `previous` is the file as the
 * last run (or Sentinel's CONFIG REWRITE) left it: its replicaof line wins, and a
 * file without one is a node Sentinel promoted. Everything else is written fresh, so
 * users and secrets of an earlier run never linger (ACL rules add up, passwords too).
 */
export function managedConf(o: RedisOptions, previous: string | undefined): string {
  const conf = o.sentinelManaged?.conf ?? "";
  const kept = previous === undefined ? undefined : /^replicaof .*$/im.exec(previous)?.[0];
  const initial = o.replicaOf === undefined ? undefined : `replicaof ${o.host ?? "127.0.0.1"} ${o.replicaOf}`;
  const role = previous === undefined ? initial : kept;
  return `# Written by src/server/native.ts; Sentinel rewrites it on role changes.\n${conf}${role ? `${role}\n` : ""}`;
}

/** The replica's extra user in test stacks (see RedisOptions.inspectorSha256). */
export const INSPECTOR_USER = "inspector";

/** The subscription replica's default user: pub/sub on any channel, no keys, nothing else. */
export const SUBSCRIBE_ONLY_USER = [
  "default",
  "on",
  "nopass",
  "resetkeys",
  "resetchannels",
  "&*",
  "-@all",
  "+subscribe",
  "+unsubscribe",
  "+ping",
  "+select",
];

export function redisArgs(
  {
    port,
    dir,
    aof = true,
    replicaOf,
    host = "127.0.0.1",
    inspectorSha256,
    maxmemory,
    wrap,
    sentinelManaged,
    users = [],
    maxclients,
  }: RedisOptions,
  logfile = join(dir, "redis.log"),
): string[] {
  const common = ["--bind", host, "--port", String(port), "--dir", dir, "--save", "", "--daemonize", "no"];
  // Protected mode refuses every peer but loopback. It is off only for a server the fault
  // tests start inside a network namespace they made (`wrap`): that address is reachable
  // only from their own namespaces, and the doors there must get in. Never for `up`.
  const tail = [
    ...(maxclients ? ["--maxclients", String(maxclients)] : []),
    "--logfile",
    logfile,
    "--protected-mode",
    wrap ? "no" : "yes",
  ];
  const memory = maxmemory ? ["--maxmemory", maxmemory, "--maxmemory-policy", "noeviction"] : [];
  const inspector = [
    ...(inspectorSha256 ? ["--user", INSPECTOR_USER, "on", `#${inspectorSha256}`, "~*", "&*", "+@all"] : []),
    ...users.flatMap((u) => ["--user", ...u]),
  ];
  const managed = sentinelManaged;
  if (managed) {
    // The role is in the config file (Sentinel's to change), never in argv.
    return [
      managedConfFile(dir),
      ...common,
      "--appendonly",
      aof ? "yes" : "no",
      ...memory,
      "--replica-read-only",
      "yes",
      "--min-replicas-to-write",
      String(managed.minReplicasToWrite ?? 1),
      "--min-replicas-max-lag",
      String(managed.minReplicasMaxLagS ?? 2),
      ...managed.users.flatMap((u) => ["--user", ...u]),
      ...inspector,
      ...tail,
    ];
  }
  if (replicaOf === undefined)
    return [
      ...common,
      "--appendonly",
      aof ? "yes" : "no",
      ...memory,
      ...users.flatMap((u) => ["--user", ...u]),
      ...tail,
    ];
  return [
    ...common,
    "--appendonly",
    "no",
    "--replicaof",
    host,
    String(replicaOf),
    "--replica-read-only",
    "yes",
    "--user",
    ...SUBSCRIBE_ONLY_USER,
    ...inspector,
    ...tail,
  ];
}

/** spawn, through `wrap` when given (`ip netns exec NS` execs, so the pid is the server's). */
function spawnWrapped(wrap: string[] | undefined, bin: string, args: string[], o: Parameters<typeof spawn>[2]) {
  const [first, ...rest] = wrap ?? [];
  return first ? spawn(first, [...rest, bin, ...args], o) : spawn(bin, args, o);
}

export async function startRedis(o: RedisOptions): Promise<Managed> {
  const bin = findBinary("redis-server");
  if (!bin) throw new Error(missingHelp("redis-server"));
  const { port, dir, replicaOf, host = "127.0.0.1" } = o;
  mkdirSync(dir, { recursive: true });
  const args = redisArgs(o, join(dir, replicaOf === undefined ? "redis.log" : "replica.log"));
  let child: ChildProcess;
  if (o.sentinelManaged) {
    const file = managedConfFile(dir);
    writeFileSync(file, managedConf(o, existsSync(file) ? readFileSync(file, "utf8") : undefined), { mode: 0o600 });
    chmodSync(file, 0o600);
    // umask 077: CONFIG REWRITE re-creates the file with 0666 & ~umask, and it holds masterauth.
    child = spawnWrapped(o.wrap, "/bin/sh", ["-c", 'umask 077 && exec "$0" "$@"', bin, ...args], { stdio: "ignore" });
  } else {
    child = spawnWrapped(o.wrap, bin, args, { stdio: "ignore" });
  }
  adopt(child);
  await waitFor(
    "redis-server",
    async () => (await redisCommand(port, ["PING"], { host, timeoutMs: 500 })) === "PONG",
    child,
  );
  return manage(child);
}

export type Door = "command" | "subscribe";

/**
 * Our webdis.json (the command door) or webdis.subscribe.json (the
 * subscription door), with the ports and log file of this run.
 */
export function webdisConfig(
  over: { redisPort: number; port: number; logfile: string } & Record<string, unknown>,
  door: Door = "command",
) {
  const file = door === "command" ? "webdis.json" : "webdis.subscribe.json";
  const base = JSON.parse(readFileSync(join(repoRoot, file), "utf8")) as Record<string, unknown>;
  const { redisPort, port, ...rest } = over;
  return { ...base, ...rest, redis_port: redisPort, http_port: port, http_host: "127.0.0.1", daemonize: false };
}

export async function startWebdis(
  config: Record<string, unknown>,
  dir: string,
  name = "webdis.json",
  wrap?: string[],
): Promise<Managed> {
  const { bin } = chooseWebdis();
  const host = config.http_host;
  const port = config.http_port;
  // Webdis given a config it cannot read listens on 0.0.0.0:7379 with its
  // defaults: say where it must bind, check the file is there, then check
  // where it did bind.
  if (typeof host !== "string" || !host || host === "0.0.0.0" || host === "::" || typeof port !== "number") {
    throw new Error(`webdis config ${name}: http_host must be one address (not a wildcard) and http_port a number`);
  }
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  // 0600: a command door's config may hold redis_auth (replicated topologies).
  writeFileSync(file, JSON.stringify(config, null, 2), { mode: 0o600 });
  chmodSync(file, 0o600);
  if (!existsSync(file)) throw new Error(`webdis config ${file} was not written`);
  const child = spawnWrapped(wrap, bin, [file], { stdio: "ignore", cwd: dir });
  adopt(child);
  const url = `http://${host}:${port}/`;
  await waitFor(
    "webdis",
    async () => {
      const r = await fetch(url, { method: "POST", body: "PING", signal: AbortSignal.timeout(500) });
      return r.ok && (await r.text()).includes("PONG");
    },
    child,
  );
  const where = child.pid === undefined ? undefined : listeningOn(child.pid);
  if (where && (where.length !== 1 || where[0] !== `${host}:${port}`)) {
    child.kill("SIGKILL");
    throw new Error(`webdis listens on ${where.join(", ") || "nothing"}, not only ${host}:${port}: refusing to run it`);
  }
  return manage(child);
}

/** One TCP socket of a process, from /proc: addresses as "127.0.0.1:7379", the kernel's state ("0A" LISTEN, "01" ESTABLISHED). */
interface ProcSocket {
  local: string;
  remote: string;
  state: string;
}

/**
 * The TCP sockets process `pid` holds (its socket inodes matched against its
 * network namespace's tables); undefined where there is no /proc to read.
 */
function procSockets(pid: number): ProcSocket[] | undefined {
  let inodes: Set<string>;
  try {
    inodes = new Set(
      readdirSync(`/proc/${pid}/fd`)
        .map((fd) => {
          try {
            return readlinkSync(`/proc/${pid}/fd/${fd}`).match(/^socket:\[(\d+)\]$/)?.[1];
          } catch {
            return undefined; // closed meanwhile
          }
        })
        .filter((x): x is string => x !== undefined),
    );
  } catch {
    return undefined;
  }
  const out: ProcSocket[] = [];
  for (const table of ["tcp", "tcp6"]) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      // sl local_address rem_address st ... inode (field 9).
      const f = line.trim().split(/\s+/);
      if (!inodes.has(f[9] ?? "")) continue;
      out.push({ local: procAddress(f[1] ?? ""), remote: procAddress(f[2] ?? ""), state: f[3] ?? "" });
    }
  }
  return out;
}

/** The TCP addresses process `pid` listens on ("127.0.0.1:7379"); undefined where there is no /proc. */
export function listeningOn(pid: number): string[] | undefined {
  return procSockets(pid)
    ?.filter((x) => x.state === "0A")
    .map((x) => x.local)
    .sort();
}

/** How many established TCP connections process `pid` holds to `port` (any address); 0 without /proc. */
export function connectionsTo(pid: number, port: number): number {
  return procSockets(pid)?.filter((x) => x.state === "01" && x.remote.endsWith(`:${port}`)).length ?? 0;
}

/** "0100007F:1CD3" -> "127.0.0.1:7379" (IPv4 in host byte order; IPv6 kept hex). */
function procAddress(a: string): string {
  const [hex = "", portHex = "0"] = a.split(":");
  const port = Number.parseInt(portHex, 16);
  if (hex.length !== 8) return `[${hex}]:${port}`;
  const ip = [6, 4, 2, 0].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)).join(".");
  return `${ip}:${port}`;
}

export interface Supervised {
  /** Stops the process for good (no restart). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** How many times it was restarted after an unexpected exit. */
  readonly restarts: number;
  /** Signals the running process (fault tests); after SIGKILL the supervisor restarts it. */
  signal(signal: NodeJS.Signals): void;
  /** The running process's pid (a restart gives a new one). */
  readonly pid: number | undefined;
}

/**
 * Runs webdis and starts it again whenever it exits on its own. Webdis 0.1.9
 * can crash (we saw a segfault in hiredis) when Redis restarts under load;
 * clients ride out the short gap, but only if the door comes back.
 */
export async function superviseWebdis(
  config: Record<string, unknown>,
  dir: string,
  name = "webdis.json",
  log: (line: string) => void = () => {},
  wrap?: string[],
): Promise<Supervised> {
  let current = await startWebdis(config, dir, name, wrap);
  let stopping = false;
  let restarts = 0;
  const watch = (m: Managed) => {
    m.process.once("exit", (code, signal) => {
      if (stopping) return;
      void (async () => {
        for (let attempt = 1; !stopping; attempt++) {
          // Wait first: a Ctrl-C reaches Webdis (same process group) a moment
          // before our own stop(), and that exit is no crash to report.
          await sleep(Math.min(5_000, 100 * attempt));
          if (stopping) return;
          restarts++;
          log(`webdis (${name}) exited (${signal ?? code}); restarting`);
          try {
            current = await startWebdis(config, dir, name, wrap);
            if (stopping) {
              await current.stop();
              return;
            }
            watch(current);
            return;
          } catch (e) {
            log(`webdis (${name}) did not come back: ${(e as Error).message}`);
          }
        }
      })();
    });
  };
  watch(current);
  return {
    async stop(signal) {
      stopping = true;
      await current.stop(signal);
    },
    get restarts() {
      return restarts;
    },
    get pid() {
      return current.process.pid;
    },
    signal(signal) {
      const c = current.process;
      if (c.exitCode === null && c.signalCode === null) c.kill(signal);
    },
  };
}

/**
 * Waits until a message published on the primary comes out of the
 * subscription door: the replica is in sync and the door works end to end.
 */
export async function waitForSubscribeDoor(
  primaryPort: number,
  doorUrl: string,
  timeoutMs = 10_000,
  primaryHost = "127.0.0.1",
  /** Who publishes the probe on the primary (a Sentinel-managed node's default user cannot). */
  auth?: { user: string; password: string },
): Promise<void> {
  const channel = `relay:probe:${Math.random().toString(16).slice(2)}`;
  const until = Date.now() + timeoutMs;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const res = await fetch(`${doorUrl}/`, { method: "POST", body: `SUBSCRIBE/${channel}`, signal: abort.signal });
    if (!res.ok || !res.body) throw new Error(`subscription door answered HTTP ${res.status}`);
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let seen = "";
    const publisher = (async () => {
      while (Date.now() < until && !abort.signal.aborted) {
        await redisCommand(primaryPort, ["PUBLISH", channel, "probe"], { host: primaryHost, auth }).catch(() => {});
        await sleep(50);
      }
    })();
    while (Date.now() < until) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += dec.decode(value, { stream: true });
      if (seen.includes('"message"')) {
        abort.abort();
        await publisher;
        return;
      }
    }
    throw new Error("no message came through the subscription door");
  } catch (e) {
    if (abort.signal.aborted) throw new Error(`no message came through the subscription door within ${timeoutMs} ms`);
    throw e;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

/** FUNCTION LOAD REPLACE of our library; returns the library name. */
export async function loadFunctions(
  redisPort: number,
  host = "127.0.0.1",
  auth?: { user: string; password: string },
): Promise<string> {
  return String(await redisCommand(redisPort, ["FUNCTION", "LOAD", "REPLACE", bundleLua()], { host, auth }));
}

export function missingHelp(bin: string): string {
  const pkg = bin === "redis-server" ? "redis-server" : "webdis";
  return `${bin} is not installed. On Debian/Ubuntu: sudo apt-get install -y ${pkg} (or run \`mission-relay up --install\`)`;
}

export { dirname };
