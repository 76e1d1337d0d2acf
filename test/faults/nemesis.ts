/**
 * The fault campaign's nemesis: a seeded schedule of faults (pure, so a seed
 * replays the same schedule) and a runner that applies it to a stack, one
 * fault at a time, each lifted before the next.
 */
import { readdirSync, statSync, truncateSync } from "node:fs";
import { join } from "node:path";
import type { Stack, Target } from "../setup/types.ts";
import type { DelayProxy, NetLab } from "./net.ts";

/** mulberry32: small, fast, good enough to pick faults; the same seed gives the same numbers. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type FaultKind =
  | `kill:${Target}`
  | `freeze:${Target}`
  | "restart:primary"
  /** kill -9 of the primary with the AOF's tail lost (a power cut: writes not yet fsynced). */
  | "crash:primary"
  | "latency"
  // kernel (network namespaces)
  | "partition:door-primary"
  | "partition:door-replica"
  | "reset:door-redis"
  | "blackhole:client-door"
  | "halfopen:client-subscribe-door"
  | "loss:client-door"
  | "loss:door-redis"
  | "throttle:client-door"
  | "throttle:door-redis"
  // userspace, in the delay proxies (where the kernel layer is missing)
  | "blackhole:proxy"
  | "halfopen:proxy";

const TARGETS: Target[] = ["primary", "replica", "command-door", "subscribe-door"];

/** The faults a stack can take: process faults always; kernel ones with a NetLab, else their userspace stand-ins. */
export function faultKinds(kernel: boolean): FaultKind[] {
  const process: FaultKind[] = [
    ...TARGETS.map((t) => `kill:${t}` as const),
    ...TARGETS.map((t) => `freeze:${t}` as const),
    "restart:primary",
    "crash:primary",
    "latency",
  ];
  if (!kernel) return [...process, "blackhole:proxy", "halfopen:proxy"];
  return [
    ...process,
    "partition:door-primary",
    "partition:door-replica",
    "reset:door-redis",
    "blackhole:client-door",
    "halfopen:client-subscribe-door",
    "loss:client-door",
    "loss:door-redis",
    "throttle:client-door",
    "throttle:door-redis",
  ];
}

export interface Fault {
  /** ms after the campaign started. */
  at: number;
  kind: FaultKind;
  /** How long the fault holds before it is lifted. */
  holdMs: number;
  /** Per-fault parameter: latency ms, loss probability, throttle rate. */
  param?: number;
}

/**
 * The schedule for `seed`: faults back to back over `durationMs` (after a
 * warm-up, so the stream is on disk before the first kill -9), 0.3-2.5 s
 * each with 0.3-1.5 s of calm between.
 */
export function schedule(seed: number, durationMs: number, kinds: FaultKind[], warmupMs = 2_500): Fault[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)] as T;
  const between = (lo: number, hi: number) => Math.round(lo + r() * (hi - lo));
  const out: Fault[] = [];
  for (let at = warmupMs; ; ) {
    const kind = pick(kinds);
    const holdMs = between(300, 2_500);
    if (at + holdMs > durationMs) break;
    const param = kind.startsWith("latency")
      ? between(150, 900)
      : kind === "crash:primary"
        ? between(200, 4_000) // bytes of AOF lost: a few publishes' worth
        : kind.startsWith("loss")
          ? Math.round((0.05 + r() * 0.2) * 100) / 100
          : kind.startsWith("throttle")
            ? between(16, 96)
            : undefined;
    out.push({ at, kind, holdMs, ...(param === undefined ? {} : { param }) });
    at += holdMs + between(300, 1_500);
  }
  return out;
}

export const describeFault = (f: Fault): string =>
  `t+${(f.at / 1000).toFixed(1)}s ${f.kind}${f.param === undefined ? "" : `(${f.param})`} ${f.holdMs}ms`;

export interface Targets {
  stack: Stack;
  lab?: NetLab;
  /** The proxies in front of the doors (latency; black holes where there is no lab). */
  proxies: { command: DelayProxy; subscribe: DelayProxy };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A fault's apply or heal that has not finished in this long is stuck (a door's legitimate
 * restart is bounded at about 85 s: test/setup/containers.ts start()): the run fails
 * naming it, instead of running out the test's timeout with nothing said (a
 * containers-mode campaign once hung for 250 s after its schedule).
 */
const STEP_BOUND_MS = 120_000;

async function bounded<T>(what: string, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${STEP_BOUND_MS} ms`)), STEP_BOUND_MS);
  });
  try {
    return await Promise.race([p, stuck]);
  } finally {
    clearTimeout(timer);
  }
}

/** The primary's incremental AOF file (Redis 7 multi-part AOF). */
export function incrAof(dataDir: string): string {
  const dir = join(dataDir, "appendonlydir");
  const incr = readdirSync(dir).filter((f) => f.endsWith(".incr.aof"));
  if (incr.length !== 1) throw new Error(`expected one incr AOF in ${dir}, found ${incr.join(", ") || "none"}`);
  return join(dir, incr[0] as string);
}

/**
 * The AOF tail lost: the primary is killed, its incr AOF cut back to `keptBytes`
 * (what it held at the point the test chose), and started again. Resolves with the
 * seq `name` is at afterwards, as relay_list says.
 */
export async function loseAofTail(
  stack: Stack,
  aof: string,
  keptBytes: number,
  name: string,
): Promise<number | undefined> {
  await stack.signal("primary", "SIGKILL");
  if (statSync(aof).size <= keptBytes) throw new Error("the AOF did not grow after the point to go back to");
  truncateSync(aof, keptBytes);
  await stack.start("primary");
  const listed = String(await stack.redis("FCALL_RO", "relay_list", "0", "-", "100"));
  return (JSON.parse(listed) as { streams: { name: string; seq: number }[] }).streams.find((x) => x.name === name)?.seq;
}

const portOf = (url: string) => Number(new URL(url).port);

/** Applies one fault; resolves with its heal. */
async function apply(f: Fault, t: Targets): Promise<() => Promise<void>> {
  const { stack, lab, proxies } = t;
  const doorPorts = [stack.webdisPort, portOf(stack.subscribeUrl)];
  const needLab = () => {
    if (!lab) throw new Error(`${f.kind} needs network namespaces`);
    return lab;
  };
  const [verb, what] = f.kind.split(":") as [string, string];
  switch (verb) {
    case "kill": {
      const target = what as Target;
      await stack.signal(target, "SIGKILL");
      // Doors come back by themselves (supervised); Redis when we start it.
      return () => stack.start(target);
    }
    case "freeze": {
      const target = what as Target;
      await stack.signal(target, "SIGSTOP");
      return () => stack.start(target);
    }
    case "restart":
      await stack.restartRedis();
      return async () => {};
    case "crash": {
      // A plain kill -9 loses nothing (Redis has written every acknowledged write
      // to the page cache); a power cut loses what was not fsynced. Cut the AOF's
      // tail, at any byte: Redis loads what is whole and drops a torn MULTI/EXEC.
      const aof = incrAof(stack.dataDir); // before the kill: if this throws, nothing is down
      await stack.signal("primary", "SIGKILL");
      try {
        truncateSync(aof, Math.max(0, statSync(aof).size - (f.param ?? 1_000)));
      } catch (e) {
        await stack.start("primary");
        throw e;
      }
      return () => stack.start("primary");
    }
    case "latency":
      for (const p of [proxies.command, proxies.subscribe]) p.delayMs = f.param ?? 300;
      return async () => {
        for (const p of [proxies.command, proxies.subscribe]) p.delayMs = 0;
      };
    case "partition":
      return needLab().block("door-redis", [what === "door-primary" ? stack.redisPort : stack.replicaPort], {
        kind: "drop",
      });
    case "reset":
      return needLab().block("door-redis", [stack.redisPort, stack.replicaPort], { kind: "reset" });
    case "loss":
      return needLab().block(
        what === "client-door" ? "client-door" : "door-redis",
        what === "client-door" ? doorPorts : [stack.redisPort, stack.replicaPort],
        { kind: "loss", probability: f.param ?? 0.2 },
      );
    case "throttle":
      return needLab().throttle(what === "client-door" ? "client-door" : "door-redis", `${f.param ?? 64}kbit`);
    case "blackhole":
      if (what === "proxy") {
        for (const p of [proxies.command, proxies.subscribe]) p.blackhole();
        return async () => {
          for (const p of [proxies.command, proxies.subscribe]) p.heal();
        };
      }
      return needLab().block("client-door", doorPorts, { kind: "drop" });
    case "halfopen": {
      // The door dies while nothing gets through: its resets are lost, and the
      // clients' connections to it stay open on their side only.
      let heal: () => Promise<void>;
      if (what === "proxy") {
        proxies.subscribe.blackhole();
        heal = async () => proxies.subscribe.heal();
      } else heal = await needLab().block("client-door", [portOf(stack.subscribeUrl)], { kind: "drop" });
      await stack.signal("subscribe-door", "SIGKILL");
      return async () => {
        // The link first: the door's supervisor checks it from our side of the link.
        await heal();
        await stack.start("subscribe-door");
      };
    }
  }
  throw new Error(`unknown fault ${f.kind}`);
}

export interface NemesisRun {
  /** Faults applied (each also lifted). */
  applied: Fault[];
  /** When the last fault was lifted (Date.now()). */
  lastHeal: number;
  /** Heals that failed (the stack may be broken: the campaign fails on any). */
  errors: string[];
}

/** Runs the schedule from `start` (Date.now()); every fault is lifted, even when applying one failed. */
export async function runNemesis(
  faults: Fault[],
  t: Targets,
  start: number,
  log: (line: string) => void = () => {},
): Promise<NemesisRun> {
  const applied: Fault[] = [];
  const errors: string[] = [];
  let lastHeal = Date.now();
  for (const f of faults) {
    const wait = start + f.at - Date.now();
    if (wait > 0) await sleep(wait);
    let heal: (() => Promise<void>) | undefined;
    const at = `${f.kind} (t+${(f.at / 1000).toFixed(1)}s)`;
    try {
      heal = await bounded(`applying ${at}`, apply(f, t));
      applied.push(f);
      await sleep(f.holdMs);
    } finally {
      const healStart = Date.now();
      await (heal ? bounded(`the heal of ${at}`, heal()) : Promise.resolve()).catch((e) => {
        errors.push(`heal of ${f.kind} failed: ${(e as Error).message}`);
        log(errors[errors.length - 1] as string);
      });
      // A slow heal (a door or Redis slow to come back on a loaded box) is where a
      // campaign's time goes: say so, so a run that overruns shows why.
      const took = Date.now() - healStart;
      if (took > 5_000) log(`heal of ${at} took ${took} ms`);
      await bounded(`lifting the network faults after ${at}`, t.lab?.healAll() ?? Promise.resolve());
      lastHeal = Date.now();
    }
  }
  return { applied, lastHeal, errors };
}
