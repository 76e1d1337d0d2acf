/**
 * Redis Sentinel (`redis-server <conf> --sentinel`, the binary Debian's
 * redis-server and redis-sentinel packages both ship) watching the data nodes
 * of a replicated topology: when the primary is down for `downAfterMs` in the
 * eyes of `quorum` sentinels, one of them promotes a replica and repoints the
 * others. The command door follows through the edge's `redis-primary` route
 * (src/server/edge.ts), not through Sentinel itself: Webdis cannot ask
 * Sentinel anything. See docs/failover.md.
 */
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { CLUSTER_USERS, type ClusterSecrets, sha256Hex, writePrivate } from "./acl.ts";
import { findBinary, freePort, type Managed, manage, missingHelp } from "./native.ts";
import { redisCommand } from "./resp.ts";

export interface SentinelOptions {
  /** The name Sentinel knows the primary by (SENTINEL get-master-addr-by-name). */
  masterName?: string;
  /** Where the primary is when the sentinels start. */
  primary: { host?: string; port: number };
  /** How many sentinels (3: a majority survives one lost). */
  count?: number;
  /** Sentinels that must agree the primary is down (2 of 3). */
  quorum?: number;
  /**
   * No valid reply for this long and a sentinel deems a node down. Tests use ~1 s;
   * the default (5 s) rides out a busy box without failing over for a hiccup.
   */
  downAfterMs?: number;
  /**
   * Bound on one failover attempt (and twice it between attempts on the same
   * primary). Default 60 s; tests use a few seconds.
   */
  failoverTimeoutMs?: number;
  secrets: ClusterSecrets;
  /** Folder for the sentinels' config files (0600: they hold passwords) and logs. */
  dir: string;
  /** Ports to listen on; free ones are picked when missing. */
  ports?: number[];
  host?: string;
}

export const SENTINEL_DEFAULTS = {
  masterName: "relay",
  count: 3,
  quorum: 2,
  downAfterMs: 5_000,
  failoverTimeoutMs: 60_000,
};

export interface Sentinels {
  readonly masterName: string;
  readonly ports: readonly number[];
  readonly processes: readonly Managed[];
  /** The primary's address as the first sentinel that answers says it. */
  primary(): Promise<{ host: string; port: number }>;
  /** One SENTINEL command on sentinel `i` (authenticated). */
  command(i: number, ...args: string[]): Promise<unknown>;
  stop(): Promise<void>;
}

/** Pure: one sentinel's config file (it holds auth-pass and requirepass: written 0600). */
export function sentinelConf(
  o: Required<Pick<SentinelOptions, "masterName" | "quorum" | "downAfterMs" | "failoverTimeoutMs">> & {
    port: number;
    host: string;
    dir: string;
    primary: { host: string; port: number };
    secrets: ClusterSecrets;
  },
): string {
  const m = o.masterName;
  return [
    "# Written by src/server/sentinel.ts; Sentinel rewrites it as it learns.",
    `port ${o.port}`,
    `bind ${o.host}`,
    "protected-mode yes",
    "daemonize no",
    `dir ${o.dir}`,
    `logfile ${join(o.dir, `sentinel-${o.port}.log`)}`,
    // Clients of the sentinels (and the sentinels among themselves) need this password:
    // a local process must not be able to SENTINEL FAILOVER or SENTINEL SET.
    `requirepass ${o.secrets.sentinels}`,
    `sentinel sentinel-pass ${o.secrets.sentinels}`,
    // `mission-relay status` and /metrics read SENTINEL MASTERS as this user: the
    // sentinels' own password could SENTINEL FAILOVER / SET / REMOVE (hash only here).
    `user ${CLUSTER_USERS.monitor} on #${sha256Hex(o.secrets.monitor)} -@all +ping +sentinel|masters +sentinel|master`,
    `sentinel monitor ${m} ${o.primary.host} ${o.primary.port} ${o.quorum}`,
    `sentinel down-after-milliseconds ${m} ${o.downAfterMs}`,
    `sentinel failover-timeout ${m} ${o.failoverTimeoutMs}`,
    `sentinel parallel-syncs ${m} 1`,
    `sentinel auth-user ${m} ${CLUSTER_USERS.sentinel}`,
    `sentinel auth-pass ${m} ${o.secrets.sentinel}`,
    "",
  ].join("\n");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the sentinels and resolves once each one knows the primary, the other
 * sentinels and at least `replicas` replicas (default 0), so a failover can be
 * agreed on from then on.
 */
export async function startSentinels(o: SentinelOptions & { replicas?: number }): Promise<Sentinels> {
  const bin = findBinary("redis-server");
  if (!bin) throw new Error(missingHelp("redis-server"));
  const d = { ...SENTINEL_DEFAULTS, ...stripUndefined(o) };
  const host = o.host ?? "127.0.0.1";
  const primary = { host: o.primary.host ?? "127.0.0.1", port: o.primary.port };
  mkdirSync(o.dir, { recursive: true });
  const ports = o.ports ?? [];
  while (ports.length < d.count) ports.push(await freePort());
  const processes: Managed[] = [];
  const auth = { user: "default", password: o.secrets.sentinels };
  const command = (i: number, ...args: string[]) =>
    redisCommand(ports[i] as number, args, { host, auth, timeoutMs: 2_000 });
  const stop = async () => {
    await Promise.all(processes.map((p) => p.stop()));
  };
  try {
    for (const port of ports) {
      const file = join(o.dir, `sentinel-${port}.conf`);
      writePrivate(file, sentinelConf({ ...d, port, host, dir: o.dir, primary, secrets: o.secrets }));
      // umask 077: Sentinel rewrites its file (new epochs, replicas it found) with 0666 & ~umask.
      const child = spawn("/bin/sh", ["-c", 'umask 077 && exec "$0" "$@"', bin, file, "--sentinel"], {
        stdio: "ignore",
      });
      processes.push(manage(child));
    }
    const until = Date.now() + 20_000;
    for (let i = 0; i < ports.length; i++) {
      for (;;) {
        const p = processes[i] as Managed;
        if (p.process.exitCode !== null || p.process.signalCode !== null)
          throw new Error(`sentinel on port ${ports[i]} exited during start-up (see its log in ${o.dir})`);
        const ready = await sentinelKnows(command, i, d.masterName, d.count - 1, o.replicas ?? 0).catch(() => false);
        if (ready) break;
        if (Date.now() > until) throw new Error(`sentinel on port ${ports[i]} did not find its peers within 20 s`);
        await sleep(100);
      }
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    masterName: d.masterName,
    ports,
    processes,
    command,
    async primary() {
      let last: unknown;
      for (let i = 0; i < ports.length; i++) {
        try {
          const r = (await command(i, "SENTINEL", "get-master-addr-by-name", d.masterName)) as string[] | null;
          if (r) return { host: r[0] as string, port: Number(r[1]) };
        } catch (e) {
          last = e;
        }
      }
      throw new Error(`no sentinel knows the primary (${(last as Error | undefined)?.message ?? "no answer"})`);
    },
    stop,
  };
}

/** True once sentinel `i` sees the master up, `peers` other sentinels and `replicas` replicas. */
async function sentinelKnows(
  command: (i: number, ...a: string[]) => Promise<unknown>,
  i: number,
  name: string,
  peers: number,
  replicas: number,
): Promise<boolean> {
  const sentinels = (await command(i, "SENTINEL", "sentinels", name)) as unknown[];
  const known = (await command(i, "SENTINEL", "replicas", name)) as unknown[];
  return sentinels.length >= peers && known.length >= replicas;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
