/**
 * Failover on native processes (test/cluster/support.ts): kill -9 the primary
 * while a leader publishes through the command door (the edge's redis-primary
 * route follows Sentinel's promotion), the promoted replica's subscription door
 * stays subscribe-only, SIGSTOP the new primary for 15 s (the old one comes back
 * as a replica and refuses writes), and a killed replica and its door come back.
 * The steps share one cluster and run in order. Timings are printed; the
 * bounds asserted are twice the goals.
 */
import { readFileSync, statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { randomHex } from "../../src/core/secrets.ts";
import { baseKey } from "../../src/core/wire.ts";
import { createRelay, type Leader, type Relay } from "../../src/node.ts";
import { managedConfFile } from "../../src/server/native.ts";
import { redisCommand } from "../../src/server/resp.ts";
import { uniqueName } from "../support/util.ts";
import { type Cluster, canRun, poll, publisher, skipReason, sleep, startCluster } from "./support.ts";

const creds = { password: "cluster-pw", code: "cluster-code" };
let cluster: Cluster;
let relay: Relay;
let leader: Leader;
let name: string;

/** Kills or freezes the primary while publishing; resolves with ms from the fault to the first publish sent after it being accepted. */
async function publishThrough(fault: () => Promise<void>, what: string): Promise<number> {
  const p = publisher(leader);
  try {
    await poll("publishes before the fault", async () => p.acks.length >= 3, 10_000);
    const sentBefore = p.sent;
    const at = Date.now();
    await fault();
    const ack = await poll(
      "a publish sent after the fault is accepted",
      async () => p.acks.find((a) => a.n > sentBefore),
      40_000,
    );
    const ms = ack.at - at;
    console.log(
      `[cluster] ${what}: publishing resumed ${ms} ms after the fault (errors meanwhile: ${summary(p.errors)})`,
    );
    return ms;
  } finally {
    await p.stop();
  }
}

/** "GATEWAY x12, TIMEOUT x2" */
function summary(codes: string[]): string {
  const n = new Map<string, number>();
  for (const c of codes) n.set(c, (n.get(c) ?? 0) + 1);
  return [...n].map(([c, k]) => `${c} x${k}`).join(", ") || "none";
}

/** Sends raw command frames over a WebSocket to a subscription door (Webdis skips its ACL for frames). */
async function wsFrames(doorUrl: string, frames: unknown[][]): Promise<string[]> {
  const ws = new WebSocket(`${doorUrl.replace(/^http/, "ws")}/.json`, { origin: doorUrl });
  const got: string[] = [];
  ws.on("message", (d) => got.push(String(d)));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  for (const f of frames) {
    if (ws.readyState !== WebSocket.OPEN) break;
    ws.send(JSON.stringify(f));
    await sleep(100);
  }
  ws.terminate();
  return got;
}

const d = canRun ? describe.sequential : describe.skip;
if (!canRun) console.warn(`[cluster] skipped: ${skipReason}`);

d("replicated topology: Sentinel failover behind the edge's redis-primary route", () => {
  beforeAll(async () => {
    const t = Date.now();
    cluster = await startCluster();
    console.log(`[cluster] primary + 2 replicas + 3 sentinels + edge + 3 Webdis up in ${Date.now() - t} ms`);
    relay = createRelay({
      url: cluster.commandUrl,
      heartbeatMs: 0,
      timeoutMs: 2_000,
      backoff: (n) => Math.min(400, 25 * 2 ** n),
    });
    name = uniqueName("failover");
    leader = await relay.start(name, creds);
    await leader.publish({ n: 0 });
  }, 90_000);

  afterAll(async () => {
    await leader?.stop().catch(() => {});
    await cluster?.stop();
  });

  it("keeps secrets out of argv and in 0600 files", async () => {
    const s = cluster.secrets;
    const plain = [s.relay, s.replication, s.sentinel, s.check, s.admin, s.monitor, s.sentinels];
    // Every process: data nodes, sentinels, the route's HAProxy, the edge, every Webdis.
    const pids = cluster.pids();
    expect(pids.length).toBeGreaterThanOrEqual(3 + 3 + 1 + 1 + 3);
    for (const pid of pids) {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "latin1");
      for (const pw of plain) expect(argv.includes(pw), `pid ${pid}'s argv holds a password`).toBe(false);
    }
    for (const n of cluster.nodes) expect(statSync(managedConfFile(n.opts.dir)).mode & 0o777).toBe(0o600);
    // The files that do hold one: the route's config (the check user's) and the command door's (relay's).
    for (const f of cluster.secretFiles) {
      expect(readFileSync(f, "utf8").includes(s.check) || readFileSync(f, "utf8").includes(s.relay), f).toBe(true);
      expect(statSync(f).mode & 0o777, f).toBe(0o600);
    }
  });

  it("the default user is subscribe-only on the primary too", async () => {
    const p = cluster.nodes[0]?.port as number;
    await expect(redisCommand(p, ["SET", "relay:x", "1"])).rejects.toThrow(/NOPERM/);
    await expect(redisCommand(p, ["FCALL", "relay_version", "0"])).rejects.toThrow(/NOPERM/);
    // The relay user calls functions, and nothing else.
    const relayAuth = { auth: { user: "relay", password: cluster.secrets.relay } };
    await expect(redisCommand(p, ["FUNCTION", "FLUSH"], relayAuth)).rejects.toThrow(/NOPERM/);
    await expect(redisCommand(p, ["SET", "other", "1"], relayAuth)).rejects.toThrow(/NOPERM/);
    // The operator's limits cannot be lifted from the command door's user.
    await expect(redisCommand(p, ["HSET", "relay:config", "fail_limit", "0"], relayAuth)).rejects.toThrow(/NOPERM/);
    expect(await redisCommand(p, ["FCALL_RO", "relay_version", "0"], relayAuth)).toBeTruthy();
  });

  it("the monitor user (status, /metrics) reads the sentinels and cannot steer them", async () => {
    const monitor = { auth: { user: "monitor", password: cluster.secrets.monitor } };
    const port = cluster.sentinels.ports[0] as number;
    expect(String(await redisCommand(port, ["SENTINEL", "MASTERS"], monitor))).toContain("relay");
    await expect(redisCommand(port, ["SENTINEL", "FAILOVER", "relay"], monitor)).rejects.toThrow(/NOPERM/);
    await expect(redisCommand(port, ["SENTINEL", "SET", "relay", "quorum", "1"], monitor)).rejects.toThrow(/NOPERM/);
    // On a data node: INFO, nothing that writes.
    const node = cluster.nodes[0]?.port as number;
    expect(String(await redisCommand(node, ["INFO", "replication"], monitor))).toMatch(/role:/);
    await expect(redisCommand(node, ["SET", "relay:index", "x"], monitor)).rejects.toThrow(/NOPERM/);
  });

  it("kill -9 of the primary mid-stream: publishing resumes through the same URL", async () => {
    const ms = await publishThrough(
      () => cluster.nodes[0]?.proc?.stop("SIGKILL") ?? Promise.resolve(),
      "kill -9 primary",
    );
    expect(ms).toBeLessThan(20_000);
    expect([1, 2]).toContain(await cluster.primaryIndex());
  }, 60_000);

  it("the promoted replica's subscription door still refuses SET, CONFIG, FLUSHALL and FCALL relay_start", async () => {
    const i = await cluster.primaryIndex();
    expect(await cluster.role(i)).toBe("master");
    const door = cluster.doorUrls[i - 1] as string;
    await cluster.admin(i, "ACL", "LOG", "RESET");
    const before = await cluster.admin(i, "DBSIZE");
    const frames = [
      ["SET", "relay:owned", "1"],
      ["CONFIG", "SET", "min-replicas-to-write", "0"],
      ["FLUSHALL"],
      ["FCALL", "relay_start", "1", "relay:{x}", "x", "a", "b", "c", "d"],
    ];
    await wsFrames(door, frames);
    for (const f of frames) {
      const r = await fetch(`${door}/`, { method: "POST", body: f.map(encodeURIComponent).join("/") });
      await r.text();
      expect(r.ok, `${f[0]} over HTTP`).toBe(false);
    }
    expect(await cluster.admin(i, "EXISTS", "relay:owned")).toBe(0);
    expect(await cluster.admin(i, "CONFIG", "GET", "min-replicas-to-write")).toEqual(["min-replicas-to-write", "1"]);
    expect(await cluster.admin(i, "DBSIZE")).toBe(before);
    // Each frame reached Redis and was refused there (the door's Webdis let them through).
    const log = JSON.stringify(await cluster.admin(i, "ACL", "LOG"));
    for (const c of ["set", "config|set", "flushall", "fcall"]) expect(log).toContain(`"${c}"`);
  });

  it("the killed primary comes back as a replica and refuses writes", async () => {
    await cluster.restart(0);
    await poll("node 0 a replica again", async () => (await cluster.role(0)) === "slave", 30_000);
    await expect(cluster.admin(0, "SET", "relay:x", "1")).rejects.toThrow(/READONLY/);
  }, 40_000);

  it("SIGSTOP of the primary for 15 s: Sentinel fails over, the thawed one is demoted and takes no writes", async () => {
    const i = await cluster.primaryIndex();
    const node = cluster.nodes[i];
    const ms = await publishThrough(async () => {
      node?.proc?.process.kill("SIGSTOP");
    }, "SIGSTOP primary");
    expect(ms).toBeLessThan(20_000);
    const promoted = await cluster.primaryIndex();
    expect(promoted).not.toBe(i);
    const stoppedFor = 15_000 - ms;
    if (stoppedFor > 0) await sleep(stoppedFor);
    const p = publisher(leader);
    try {
      const thawed = Date.now();
      node?.proc?.process.kill("SIGCONT");
      await poll("the thawed primary demoted", async () => (await cluster.role(i)) === "slave", 30_000);
      console.log(`[cluster] SIGSTOP: the thawed primary was a replica again ${Date.now() - thawed} ms after SIGCONT`);
      await expect(cluster.admin(i, "SET", "relay:x", "1")).rejects.toThrow(/READONLY/);
      // A well-formed relay_start as the command door's user: refused for the role, not the form.
      const fresh = uniqueName("thawed");
      await expect(
        redisCommand(
          node?.port as number,
          [
            "FCALL",
            "relay_start",
            "1",
            baseKey(fresh),
            fresh,
            randomHex(32),
            randomHex(32),
            randomHex(24),
            randomHex(24),
          ],
          { auth: { user: "relay", password: cluster.secrets.relay } },
        ),
      ).rejects.toThrow(/READONLY/);
      const sent = p.sent;
      await poll("publishing goes on after the thaw", async () => p.acks.some((a) => a.n > sent), 20_000);
    } finally {
      await p.stop();
    }
    expect(await cluster.primaryIndex()).toBe(promoted);
  }, 90_000);

  it("a killed replica and its subscription door restart and the replica rejoins", async () => {
    const primary = await cluster.primaryIndex();
    const i = primary === 1 ? 2 : 1;
    await cluster.nodes[i]?.proc?.stop("SIGKILL");
    cluster.doors[i - 1]?.signal("SIGKILL");
    await cluster.restart(i);
    await poll(
      "the replica in sync",
      async () => /master_link_status:up/.test(String(await cluster.admin(i, "INFO", "replication"))),
      20_000,
    );
    // A message published on the primary comes out of the restarted door.
    const door = cluster.doorUrls[i - 1] as string;
    await poll(
      "a message through the restarted door",
      async () => {
        const ctl = new AbortController();
        const channel = `probe${Date.now()}`;
        try {
          const res = await fetch(`${door}/`, { method: "POST", body: `SUBSCRIBE/${channel}`, signal: ctl.signal });
          const reader = res.body?.getReader();
          if (!res.ok || !reader) return false;
          await reader.read(); // the subscribe confirmation
          await cluster.admin(primary, "PUBLISH", channel, "hello");
          const timer = setTimeout(() => ctl.abort(), 2_000);
          const { value } = await reader.read();
          clearTimeout(timer);
          return new TextDecoder().decode(value).includes("hello");
        } finally {
          ctl.abort();
        }
      },
      20_000,
      250,
    );
  }, 60_000);

  it("files Sentinel rewrote on the way (node and sentinel configs, with masterauth and auth-pass) are still 0600", async () => {
    const rewritten = (f: string) => readFileSync(f, "utf8").includes("Generated by CONFIG REWRITE");
    const nodes = cluster.nodes.map((n) => managedConfFile(n.opts.dir));
    expect(nodes.filter(rewritten).length).toBeGreaterThan(0);
    const sentinels = cluster.sentinels.ports.map((p) => cluster.sentinelConf(p));
    expect(sentinels.filter(rewritten).length).toBe(sentinels.length);
    for (const f of [...nodes, ...sentinels]) expect(statSync(f).mode & 0o777, f).toBe(0o600);
  });
});
