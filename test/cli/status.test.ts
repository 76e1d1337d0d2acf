/**
 * `mission-relay status`, collectStatus and /metrics against a real stack: a
 * stream, a publish and a follower show up as numbers Redis itself keeps, and
 * a frozen subscription door shows up as down (table, exit code, /healthz).
 */
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRelay, type Follower } from "../../src/node.ts";
import { type MetricsServer, startMetricsServer } from "../../src/server/metrics.ts";
import { redisCommand } from "../../src/server/resp.ts";
import { collectStatus, type Status, type Targets, type TopologyDescription } from "../../src/server/status.ts";
import { inspector } from "../setup/inspector.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { sleep, uniqueName } from "../support/util.ts";

const root = join(import.meta.dirname, "..", "..");

let stack: Stack;
let dir: string;
let targets: Targets;
let descriptionFile: string;
let metrics: MetricsServer | undefined;
let follower: Follower | undefined;

beforeAll(async () => {
  stack = await startStack();
  dir = mkdtempSync(join(tmpdir(), "relay-status-"));
  const pass = join(dir, "monitor.pass");
  writeFileSync(pass, `${inspector.auth.password}\n`, { mode: 0o600 });
  chmodSync(pass, 0o600);
  const nodes = [
    { id: "s0-primary", shard: "s0", role: "primary" as const, host: "127.0.0.1", port: stack.redisPort },
    // The test stack's replica: its default user may only subscribe, so status reads it as `inspector`.
    { id: "s0-replica", shard: "s0", role: "replica" as const, host: "127.0.0.1", port: stack.replicaPort },
  ];
  const doors = [
    { id: "s0-command", shard: "s0", kind: "command" as const, url: stack.webdisUrl, redis: "s0-primary" },
    { id: "s0-subscribe", shard: "s0", kind: "subscribe" as const, url: stack.subscribeUrl, redis: "s0-replica" },
  ];
  const description: TopologyDescription = {
    kind: "single",
    shards: [{ id: "s0", url: stack.webdisUrl, subscribeUrls: [stack.subscribeUrl] }],
    nodes: nodes.map((n) =>
      n.role === "replica" ? { ...n, auth: { user: inspector.auth.user, passFile: "monitor.pass" } } : n,
    ),
    doors,
  };
  descriptionFile = join(dir, "topology.json");
  writeFileSync(descriptionFile, JSON.stringify(description));
  targets = {
    nodes: nodes.map((n) =>
      n.role === "replica" ? { ...n, auth: { user: inspector.auth.user, pass: inspector.auth.password } } : n,
    ),
    doors,
  };
});
afterAll(async () => {
  follower?.disconnect();
  await metrics?.close();
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function cli(args: string[]) {
  const child = execFile(process.execPath, ["--import", "tsx", join(root, "src", "cli", "mission-relay.ts"), ...args], {
    cwd: root,
    timeout: 30_000,
  });
  child.stdin?.end();
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => (stdout += d));
  child.stderr?.on("data", (d) => (stderr += d));
  const code = await new Promise<number>((r) => child.on("close", (c) => r(c ?? -1)));
  return { code, stdout, stderr };
}

/** Polls collectStatus until `ok` holds (bounded), returning the last status either way. */
async function statusWhen(ok: (s: Status) => boolean, ms = 20_000): Promise<Status> {
  const until = Date.now() + ms;
  for (;;) {
    const s = await collectStatus(targets);
    if (ok(s) || Date.now() > until) return s;
    await sleep(100);
  }
}

/** Prometheus text: `name{labels}` -> value (sample lines only). */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    out.set(m[1] as string, Number(m[2]));
  }
  return out;
}

const node = (s: Status, id: string) => s.nodes.find((n) => n.id === id);
const door = (s: Status, id: string) => s.doors.find((d) => d.id === id);

describe("status and /metrics on a real stack", () => {
  it("counts a stream, its publishes and its follower; every door up", { timeout: 90_000 }, async () => {
    const relay = createRelay({ url: stack.webdisUrl, subscribeUrl: stack.subscribeUrl, heartbeatMs: 0 });
    const name = uniqueName("status");
    const leader = await relay.start(name, { password: "pw", code: "code" });
    await leader.publish({ step: 1 });
    await leader.publish({ step: 1, more: [1, 2, 3] });
    follower = await relay.connect(name, { password: "pw" });
    leader.close();
    // A refused call: its code shows up in errorstats (INVALID: a malformed publish).
    await expect(redisCommand(stack.redisPort, ["FCALL", "relay_publish", 1, "relay:x", "n"])).rejects.toThrow(
      /^INVALID/,
    );

    const s = await statusWhen((x) => (node(x, "s0-replica")?.followers ?? 0) >= 1);
    expect(s.problems).toEqual([]);
    expect(s.ok).toBe(true);
    const primary = node(s, "s0-primary");
    const replica = node(s, "s0-replica");
    expect(primary).toMatchObject({ reachable: true, role: "primary", streams: 1 });
    expect(replica).toMatchObject({ reachable: true, role: "replica" });
    expect(replica?.replication?.link?.up).toBe(true);
    expect(replica?.lagBytes).toBeGreaterThanOrEqual(0);
    expect(replica?.followers).toBeGreaterThanOrEqual(1);
    expect(primary?.usedMemory).toBeGreaterThan(0);
    expect(s.doors.map((d) => [d.id, d.up])).toEqual([
      ["s0-command", true],
      ["s0-subscribe", true],
    ]);
    expect(door(s, "s0-subscribe")?.followers).toBeGreaterThanOrEqual(1);

    metrics = await startMetricsServer({ port: 0, targets });
    const r = await fetch(`${metrics.url}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = samples(await r.text());
    expect(m.get('relay_streams{shard="s0"}')).toBe(1);
    expect(m.get('relay_node_up{node="s0-replica",shard="s0"}')).toBe(1);
    expect(m.get('relay_node_primary{node="s0-primary",shard="s0"}')).toBe(1);
    expect(m.get('relay_door_up{door="s0-subscribe",shard="s0",kind="subscribe"}')).toBe(1);
    expect(m.get('relay_door_followers{door="s0-subscribe",shard="s0"}')).toBeGreaterThanOrEqual(1);
    expect(m.get('relay_replication_link_up{node="s0-replica",shard="s0"}')).toBe(1);
    expect(m.get('relay_replication_lag_bytes{node="s0-replica",shard="s0"}')).toBeGreaterThanOrEqual(0);
    const published =
      (m.get('relay_publishes_total{node="s0-primary",shard="s0",kind="state"}') ?? 0) +
      (m.get('relay_publishes_total{node="s0-primary",shard="s0",kind="change"}') ?? 0);
    expect(published).toBe(2);
    expect(m.get('relay_errors_total{node="s0-primary",shard="s0",code="INVALID"}')).toBeGreaterThanOrEqual(1);
    expect(m.get('relay_function_calls_total{node="s0-primary",shard="s0"}')).toBeGreaterThanOrEqual(4);
    const h = await fetch(`${metrics.url}/healthz`);
    expect(h.status).toBe(200);
    expect(await h.json()).toMatchObject({ ok: true });

    const table = await cli(["status", "--topology", descriptionFile]);
    expect(table.stderr).toBe("");
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^NODE\s+SHARD\s+ROLE/);
    expect(table.stdout).toMatch(/s0-primary\s+s0\s+primary\s+up\s+-\s+-\s+1\s/);
    expect(table.stdout).toMatch(/s0-subscribe\s+s0\s+subscribe\s+up/);
    expect(table.stdout).not.toContain(inspector.auth.password);
    const json = await cli(["status", "--json", "--topology", descriptionFile]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, problems: [] });
    expect(json.stdout).not.toContain(inspector.auth.password);
  });

  it("a frozen subscription door is down: status exits 1 and names it, /healthz is 503", {
    timeout: 90_000,
  }, async () => {
    follower?.disconnect();
    follower = undefined;
    await stack.signal("subscribe-door", "SIGSTOP");
    try {
      const s = await statusWhen((x) => door(x, "s0-subscribe")?.up === false);
      expect(door(s, "s0-subscribe")?.up).toBe(false);
      expect(door(s, "s0-command")?.up).toBe(true);
      expect(s.ok).toBe(false);
      expect(s.problems).toEqual([expect.stringMatching(/^s0-subscribe: door does not answer/)]);

      if (!metrics) throw new Error("the metrics server of the test before is not running");
      const h = await fetch(`${metrics.url}/healthz`);
      expect(h.status).toBe(503);
      expect((await h.json()).doors).toContainEqual(expect.objectContaining({ id: "s0-subscribe", up: false }));
      const m = samples(await (await fetch(`${metrics.url}/metrics`)).text());
      expect(m.get('relay_door_up{door="s0-subscribe",shard="s0",kind="subscribe"}')).toBe(0);

      const r = await cli(["status", "--topology", descriptionFile]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/s0-subscribe\s+s0\s+subscribe\s+DOWN/);
      expect(r.stderr).toMatch(/^mission-relay: s0-subscribe: door does not answer/m);
    } finally {
      await stack.start("subscribe-door");
    }
  });

  it("a missing or unreadable description is one line and exit 1", { timeout: 60_000 }, async () => {
    const r = await cli(["status", "--topology", join(dir, "absent.json")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^mission-relay: topology description .*absent\.json does not exist/);
  });
});
