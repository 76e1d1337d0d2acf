/**
 * Real network faults for the fault tests: two network namespaces made for one
 * run, the doors in one and Redis (primary and replica) in the other, so
 * that loss, black holes, resets, partitions and throttling happen in the
 * kernel, on the links between the test (the clients, in our own namespace)
 * and the doors, and between the doors and Redis.
 *
 *   test process ──veth── [ns …d: both doors] ──veth── [ns …r: primary + replica]
 *   169.254.X.1          169.254.X.2   169.254.X.5        169.254.X.6
 *
 * Addresses are link-local (169.254.X.0/29, X picked per run, never .169) and
 * only routed between these namespaces, so no test traffic leaves them. Needs
 * root and iproute2 + iptables; netUnavailable() says why not otherwise.
 *
 * This kernel has no netem, so fixed latency cannot come from tc: latency
 * comes from DelayProxy (a userspace TCP proxy in front of a door). Reordering
 * cannot be produced here at all (and TCP would hide it from the app anyway).
 */
import { execFile, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import type { Placement } from "../setup/types.ts";
import { pidAlive } from "../support/util.ts";

const PREFIX = "rlf";

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(" ")}: ${String(stderr).trim() || err.message}`));
      else resolve(String(stdout));
    });
  });
}

const has = (bin: string) => spawnSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" }).status === 0;

/** Why kernel network faults cannot run here, or undefined when they can. */
export function netUnavailable(): string | undefined {
  if (process.platform !== "linux") return "network namespaces need Linux";
  if (process.getuid?.() !== 0) return "network namespaces need root (run as root, as CI does)";
  for (const bin of ["ip", "iptables", "tc"])
    if (!has(bin)) return `${bin} is not installed (apt-get install iproute2 iptables)`;
  const probe = `${PREFIX}-probe-${process.pid}`;
  const made = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8" });
  if (made.status !== 0) return `ip netns add failed: ${made.stderr.trim()}`;
  const ipt = spawnSync("ip", ["netns", "exec", probe, "iptables", "-w", "-L", "-n"], { encoding: "utf8" });
  spawnSync("ip", ["netns", "del", probe]);
  if (ipt.status !== 0) return `iptables does not work in a namespace: ${ipt.stderr.trim()}`;
  return undefined;
}

/** Deletes namespaces an earlier run left behind (its process is gone); their veths go with them. */
export async function sweepStale(): Promise<void> {
  const out = await run("ip", ["netns", "list"]).catch(() => "");
  for (const line of out.split("\n")) {
    const name = line.split(" ")[0] ?? "";
    const m = name.match(/^rlf-(\d+)-/);
    if (m && !pidAlive(Number(m[1]))) await run("ip", ["netns", "del", name]).catch(() => {});
  }
}

export type Link = "client-door" | "door-redis";
export type Block =
  /** Packets vanish both ways: open connections go silent (black hole / partition, half-open TCP). */
  | { kind: "drop" }
  /** Every packet is answered with a TCP reset: open connections break, new ones are refused. */
  | { kind: "reset" }
  /** Each packet is lost with this probability, both ways (TCP retransmits). */
  | { kind: "loss"; probability: number };

export interface NetLab {
  readonly placement: Placement;
  /** Our end of the client link: where the clients' packets come from. */
  readonly clientAddr: string;
  readonly doorsAddr: string;
  readonly redisAddr: string;
  /**
   * Puts `block` on `link` for traffic to and from `ports` (door ports for the
   * client link, Redis ports for the other); returns the heal.
   */
  block(link: Link, ports: number[], block: Block): Promise<() => Promise<void>>;
  /** A token bucket (tc tbf) on both ends of `link`: a slow, queueing link. */
  throttle(link: Link, rate: string): Promise<() => Promise<void>>;
  /** Removes every rule and qdisc this lab added (the namespaces stay). */
  healAll(): Promise<void>;
  /**
   * What the faults did so far: packets our iptables rules dropped or reset, and
   * how often a token bucket held packets back. Proves a fault really bit.
   */
  counters(): Promise<{ dropped: number; overlimits: number }>;
  destroy(): Promise<void>;
}

/** Two namespaces and their links, named and addressed for this run only. */
export async function makeNetLab(): Promise<NetLab> {
  await sweepStale();
  const id = randomBytes(3).toString("hex").slice(0, 5);
  const nsD = `${PREFIX}-${process.pid}-${id}-d`;
  const nsR = `${PREFIX}-${process.pid}-${id}-r`;
  // veth names: at most 15 characters.
  const [vRoot, vDoor, vDoorR, vRedis] = ["a", "b", "c", "e"].map((s) => `${PREFIX}${id}${s}`) as [
    string,
    string,
    string,
    string,
  ];
  const used = await run("ip", ["-4", "-o", "addr"]).catch(() => "");
  let x = 0;
  for (let tries = 0; tries < 50; tries++) {
    const c = 1 + ((randomBytes(1)[0] as number) % 254);
    if (c !== 169 && !used.includes(`169.254.${c}.`)) {
      x = c;
      break;
    }
  }
  if (!x) throw new Error("no free 169.254.X.0/29 for the test namespaces");
  const a = (n: number) => `169.254.${x}.${n}`;
  const inD = (...args: string[]) => run("ip", ["netns", "exec", nsD, ...args]);
  const inR = (...args: string[]) => run("ip", ["netns", "exec", nsR, ...args]);
  const lab = { destroyed: false };
  const destroy = async () => {
    if (lab.destroyed) return;
    lab.destroyed = true;
    for (const ns of [nsD, nsR]) await run("ip", ["netns", "del", ns]).catch(() => {});
    await run("ip", ["link", "del", vRoot]).catch(() => {});
  };
  process.once("exit", () => {
    if (lab.destroyed) return;
    for (const ns of [nsD, nsR]) spawnSync("ip", ["netns", "del", ns]);
  });
  try {
    await run("ip", ["netns", "add", nsD]);
    await run("ip", ["netns", "add", nsR]);
    await run("ip", ["link", "add", vRoot, "type", "veth", "peer", "name", vDoor, "netns", nsD]);
    await run("ip", ["link", "add", vDoorR, "netns", nsD, "type", "veth", "peer", "name", vRedis, "netns", nsR]);
    await run("ip", ["addr", "add", `${a(1)}/30`, "dev", vRoot]);
    await run("ip", ["link", "set", vRoot, "up"]);
    await inD("ip", "addr", "add", `${a(2)}/30`, "dev", vDoor);
    await inD("ip", "addr", "add", `${a(5)}/30`, "dev", vDoorR);
    for (const d of ["lo", vDoor, vDoorR]) await inD("ip", "link", "set", d, "up");
    await inR("ip", "addr", "add", `${a(6)}/30`, "dev", vRedis);
    for (const d of ["lo", vRedis]) await inR("ip", "link", "set", d, "up");
    // The test inspects Redis (stack.redis) through the doors' namespace.
    await inD("sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
    await inR("ip", "route", "add", "default", "via", a(5));
    await run("ip", ["route", "add", `${a(4)}/30`, "via", a(2)]);
  } catch (e) {
    await destroy();
    throw e;
  }

  // Every rule we add, so healAll can take exactly those away.
  const rules = new Set<() => Promise<void>>();
  const remember = (undo: () => Promise<void>) => {
    const once = async () => {
      if (!rules.delete(once)) return;
      await undo();
    };
    rules.add(once);
    return once;
  };

  const iptables = async (ns: string, specs: string[][]) => {
    for (const s of specs) await run("ip", ["netns", "exec", ns, "iptables", "-w", "-I", ...s]);
    return async () => {
      for (const s of specs) await run("ip", ["netns", "exec", ns, "iptables", "-w", "-D", ...s]).catch(() => {});
    };
  };

  const action = (b: Block): string[] =>
    b.kind === "drop"
      ? ["-j", "DROP"]
      : b.kind === "reset"
        ? ["-j", "REJECT", "--reject-with", "tcp-reset"]
        : ["-m", "statistic", "--mode", "random", "--probability", String(b.probability), "-j", "DROP"];

  return {
    placement: {
      redis: { host: a(6), wrap: ["ip", "netns", "exec", nsR] },
      doors: { host: a(2), wrap: ["ip", "netns", "exec", nsD] },
    },
    clientAddr: a(1),
    doorsAddr: a(2),
    redisAddr: a(6),
    async block(link, ports, b) {
      // Rules sit on the server's side: the doors' namespace for the client link,
      // Redis's for the other, matched on the peer address, so the test's own
      // inspection of Redis (which is routed, from 169.254.X.1) is not cut.
      const [ns, peer] = link === "client-door" ? [nsD, a(1)] : [nsR, a(5)];
      const specs: string[][] = [];
      for (const p of ports) {
        const port = String(p);
        specs.push(["INPUT", "-s", peer, "-p", "tcp", "--dport", port, ...action(b)]);
        // A reset answers what comes in; a drop or loss hits both ways.
        if (b.kind !== "reset") specs.push(["OUTPUT", "-d", peer, "-p", "tcp", "--sport", port, ...action(b)]);
      }
      return remember(await iptables(ns, specs));
    },
    async throttle(link, rate) {
      const ends: [string | undefined, string][] =
        link === "client-door"
          ? [
              [undefined, vRoot],
              [nsD, vDoor],
            ]
          : [
              [nsD, vDoorR],
              [nsR, vRedis],
            ];
      const tc = (ns: string | undefined, args: string[]) =>
        ns ? run("ip", ["netns", "exec", ns, "tc", ...args]) : run("tc", args);
      for (const [ns, dev] of ends) {
        await tc(ns, ["qdisc", "replace", "dev", dev, "root", "tbf", "rate", rate, "burst", "4kb", "latency", "2s"]);
      }
      return remember(async () => {
        for (const [ns, dev] of ends) await tc(ns, ["qdisc", "del", "dev", dev, "root"]).catch(() => {});
      });
    },
    async counters() {
      let dropped = 0;
      let overlimits = 0;
      for (const ns of [nsD, nsR]) {
        const out = await run("ip", ["netns", "exec", ns, "iptables", "-w", "-L", "-v", "-n", "-x"]);
        for (const line of out.split("\n")) {
          const m = line.trim().match(/^(\d+)\s+\d+\s+(DROP|REJECT)\b/);
          if (m) dropped += Number(m[1]);
        }
      }
      const qdiscs = [
        ...(await run("tc", ["-s", "qdisc", "show", "dev", vRoot])).split("\n"),
        ...(await inD("tc", "-s", "qdisc", "show")).split("\n"),
        ...(await inR("tc", "-s", "qdisc", "show")).split("\n"),
      ];
      for (const line of qdiscs) {
        const m = line.match(/overlimits (\d+)/);
        if (m) overlimits += Number(m[1]);
      }
      return { dropped, overlimits };
    },
    async healAll() {
      for (const undo of [...rules]) await undo();
    },
    destroy,
  };
}

// ---------------------------------------------------------------------------
// Latency (and, where the kernel layer is missing, black holes) in userspace.

/**
 * A TCP proxy on 127.0.0.1 in front of one door. Every chunk, both ways, is
 * held `delayMs` (order kept per connection): added latency on a live link.
 * blackhole() holds everything and hides a server-side close (the client's
 * connection stays open, silent: half-open once the server side is gone);
 * heal() lets the held bytes through, and a connection whose server side died
 * meanwhile is reset at the client's next write, as a kernel would.
 */
export class DelayProxy {
  delayMs = 0;
  #server: Server;
  #port = 0;
  #holes = false;
  #pairs = new Set<{ down: Socket; up: Socket; upGone: boolean; held: (() => void)[] }>();

  constructor(
    readonly targetHost: string,
    readonly targetPort: number,
  ) {
    this.#server = createServer((down) => this.#accept(down));
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  listen(): Promise<this> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(0, "127.0.0.1", () => {
        const addr = this.#server.address();
        this.#port = typeof addr === "object" && addr ? addr.port : 0;
        resolve(this);
      });
    });
  }

  blackhole(): void {
    this.#holes = true;
  }

  heal(): void {
    this.#holes = false;
    this.delayMs = 0;
    for (const p of this.#pairs) for (const f of p.held.splice(0)) f();
  }

  /** Drops every open connection with a reset. */
  resetAll(): number {
    const n = this.#pairs.size;
    for (const p of this.#pairs) {
      p.down.resetAndDestroy();
      p.up.destroy();
    }
    this.#pairs.clear();
    return n;
  }

  #accept(down: Socket) {
    const up = tcpConnect({ host: this.targetHost, port: this.targetPort });
    const pair = { down, up, upGone: false, held: [] as (() => void)[] };
    this.#pairs.add(pair);
    // Ordered, delayed delivery: each chunk leaves no earlier than the previous one.
    const lanes = { toUp: 0, toDown: 0 };
    const later = (lane: keyof typeof lanes, f: () => void) => {
      const send = () => {
        const at = Math.max(Date.now() + this.delayMs, lanes[lane]);
        lanes[lane] = at;
        const wait = at - Date.now();
        if (wait <= 0) f();
        else setTimeout(f, wait);
      };
      if (this.#holes) pair.held.push(send);
      else send();
    };
    const end = () => {
      this.#pairs.delete(pair);
      down.destroy();
      up.destroy();
    };
    down.on("data", (d) => {
      if (pair.upGone) {
        // The server side is gone and nobody told the client: its write meets a reset.
        this.#pairs.delete(pair);
        down.resetAndDestroy();
        return;
      }
      later("toUp", () => up.writable && up.write(d));
    });
    up.on("data", (d) => later("toDown", () => down.writable && down.write(d)));
    const upClosed = () => {
      if (this.#holes) {
        pair.upGone = true; // hidden: half-open from here on
        return;
      }
      later("toDown", end);
    };
    up.on("close", upClosed);
    up.on("error", () => {});
    down.on("error", () => {});
    down.on("close", () => {
      this.#pairs.delete(pair);
      up.destroy();
    });
  }

  close(): Promise<void> {
    this.resetAll();
    return new Promise((r) => this.#server.close(() => r()));
  }
}
