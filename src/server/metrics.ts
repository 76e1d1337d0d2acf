/**
 * /metrics (Prometheus text format, prom-client) and /healthz for a running
 * topology. Every scrape collects afresh (collectStatus in ./status.ts) and
 * renders into a registry of its own, so a value is never older than the
 * scrape and nothing is kept between scrapes but the roles last seen (for
 * role changes, i.e. failovers as this process saw them).
 *
 * Counters come from Redis's own counters (INFO commandstats, errorstats,
 * stats): they start again at 0 when a node restarts, which Prometheus's
 * rate() and increase() take as a counter reset. No metric adds a write to
 * Redis or any work to a publish. docs/operating.md lists every series.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Counter, Gauge, Registry } from "prom-client";
import { collectStatus, type ProbeOptions, probeDoor, type Status, type Targets } from "./status.ts";

/** Role changes per node, as seen between scrapes (a failover changes two). */
export class RoleWatch {
  private readonly last = new Map<string, string>();
  readonly changes = new Map<string, number>();

  observe(s: Status): void {
    for (const n of s.nodes) {
      if (!this.changes.has(n.id)) this.changes.set(n.id, 0);
      if (!n.role) continue; // unreachable: no role seen, nothing changed yet
      const before = this.last.get(n.id);
      if (before !== undefined && before !== n.role) this.changes.set(n.id, (this.changes.get(n.id) ?? 0) + 1);
      this.last.set(n.id, n.role);
    }
  }
}

/**
 * Publishes accepted per primary, from the commands that write them: a change
 * is one RPUSH (the log), which only relay_publish runs; a whole state is one
 * SET (the snapshot), run by relay_publish and relay_heal (a heal re-publishes
 * the leader's state) and, until it gets a command of its own, by the tombstone
 * a stream leaves when it ends (lua/lib/6_expiry.lua): `state` counts those too.
 * test/unit/metrics.test.ts fails when lua/ calls either from anywhere else.
 * Per-function call counts do not exist in Redis 7 (FCALL is one command in
 * commandstats, whatever function it calls).
 */
export function publishesOf(commands: Record<string, { calls: number }> | undefined) {
  return { state: commands?.set?.calls ?? 0, change: commands?.rpush?.calls ?? 0 };
}

/** The scrape's text: every series of docs/operating.md from one Status. */
export async function renderMetrics(s: Status, roles?: RoleWatch): Promise<{ text: string; contentType: string }> {
  const registry = new Registry();
  const registers = [registry];
  const gauge = (name: string, help: string, labelNames: string[]) => new Gauge({ name, help, labelNames, registers });
  const counter = (name: string, help: string, labelNames: string[]) =>
    new Counter({ name, help, labelNames, registers });

  const nodeUp = gauge("relay_node_up", "1 when the Redis node answers INFO, else 0", ["node", "shard"]);
  const primary = gauge("relay_node_primary", "1 when the node is a primary, 0 a replica (absent when down)", [
    "node",
    "shard",
  ]);
  const memory = gauge("relay_node_memory_used_bytes", "Redis used_memory", ["node", "shard"]);
  const followers = gauge("relay_node_followers", "Pub/sub connections (followers) on the node", ["node", "shard"]);
  const lag = gauge("relay_replication_lag_bytes", "The primary's replication offset minus the replica's", [
    "node",
    "shard",
  ]);
  const link = gauge("relay_replication_link_up", "1 when the replica's link to its primary is up", ["node", "shard"]);
  const lastIo = gauge("relay_replication_last_io_seconds", "Seconds since the replica last heard from its primary", [
    "node",
    "shard",
  ]);
  const streams = gauge("relay_streams", "Live streams (ZCARD relay:index on the primary)", ["shard"]);
  const due = gauge(
    "relay_streams_due",
    "Streams whose deadline in relay:deadline passed: expired and not swept yet, or live with a renewal due",
    ["shard"],
  );
  const publishes = counter(
    "relay_publishes_total",
    "Publishes accepted by the primary (kind state: a whole state, change: a patch)",
    ["node", "shard", "kind"],
  );
  const fcalls = counter("relay_function_calls_total", "FCALL and FCALL_RO calls (every relay function)", [
    "node",
    "shard",
  ]);
  const fcallsFailed = counter("relay_function_failed_calls_total", "FCALL and FCALL_RO calls that returned an error", [
    "node",
    "shard",
  ]);
  const errors = counter(
    "relay_errors_total",
    "Error replies by code (the first word: STALE, QUOTA, TOO_LARGE, ... and Redis's own, e.g. NOPERM)",
    ["node", "shard", "code"],
  );
  const expired = counter(
    "relay_expired_keys_total",
    "Keys Redis dropped at their TTL (the backstop for streams no call swept)",
    ["node", "shard"],
  );
  const roleChanges = counter("relay_role_changes_total", "Role changes of the node seen by this process (failovers)", [
    "node",
    "shard",
  ]);
  const doorUp = gauge(
    "relay_door_up",
    "1 when the door answers (PING through a Webdis door; the edge's own JSON refusal on an edge port), else 0",
    ["door", "shard", "kind"],
  );
  const doorFollowers = gauge("relay_door_followers", "Followers on the door's Redis node", ["door", "shard"]);
  const sentinelUp = gauge("relay_sentinel_up", "1 when the sentinel answers SENTINEL MASTERS", ["sentinel"]);
  const sentinelDown = gauge("relay_sentinel_primary_down", "1 when the sentinel flags the primary s_down or o_down", [
    "sentinel",
    "primary",
  ]);
  const sentinelEpoch = gauge(
    "relay_sentinel_config_epoch",
    "The primary's config epoch: each successful failover sets a higher one",
    ["sentinel", "primary"],
  );
  const sentinelReplicas = gauge("relay_sentinel_replicas", "Replicas the sentinel knows for the primary", [
    "sentinel",
    "primary",
  ]);

  for (const n of s.nodes) {
    const l = { node: n.id, shard: n.shard };
    nodeUp.set(l, n.reachable ? 1 : 0);
    roleChanges.inc(l, roles?.changes.get(n.id) ?? 0);
    if (!n.reachable) continue;
    if (n.role) primary.set(l, n.role === "primary" ? 1 : 0);
    if (n.usedMemory !== undefined) memory.set(l, n.usedMemory);
    if (n.followers !== undefined) followers.set(l, n.followers);
    if (n.expiredKeys !== undefined) expired.inc(l, n.expiredKeys);
    for (const [code, count] of Object.entries(n.errors ?? {})) errors.inc({ ...l, code }, count);
    const fcall = n.commands?.fcall;
    const fcallRo = n.commands?.fcall_ro;
    fcalls.inc(l, (fcall?.calls ?? 0) + (fcallRo?.calls ?? 0));
    fcallsFailed.inc(l, (fcall?.failed ?? 0) + (fcallRo?.failed ?? 0));
    if (n.role === "primary") {
      const p = publishesOf(n.commands);
      publishes.inc({ ...l, kind: "state" }, p.state);
      publishes.inc({ ...l, kind: "change" }, p.change);
      if (n.streams !== undefined) streams.set({ shard: n.shard }, n.streams);
      if (n.streamsDue !== undefined) due.set({ shard: n.shard }, n.streamsDue);
    }
    const r = n.replication?.link;
    if (n.role === "replica" && r) {
      link.set(l, r.up ? 1 : 0);
      if (r.lastIoSecondsAgo !== undefined) lastIo.set(l, r.lastIoSecondsAgo);
      if (n.lagBytes !== undefined) lag.set(l, n.lagBytes);
    }
  }
  for (const d of s.doors) {
    doorUp.set({ door: d.id, shard: d.shard, kind: d.kind }, d.up ? 1 : 0);
    if (d.followers !== undefined) doorFollowers.set({ door: d.id, shard: d.shard }, d.followers);
  }
  for (const x of s.sentinels) {
    sentinelUp.set({ sentinel: x.id }, x.reachable ? 1 : 0);
    for (const m of x.masters) {
      const l = { sentinel: x.id, primary: m.name };
      sentinelDown.set(l, m.flags.some((f) => f === "s_down" || f === "o_down") ? 1 : 0);
      sentinelEpoch.set(l, m.configEpoch);
      sentinelReplicas.set(l, m.replicas);
    }
  }
  return { text: await registry.metrics(), contentType: registry.contentType };
}

export interface Health {
  ok: boolean;
  doors: { id: string; shard: string; kind: string; up: boolean; error?: string }[];
}

/** /healthz: every door answers PING (only the doors: cheap enough for a load balancer's check). */
export async function health(targets: Targets, o: ProbeOptions = {}): Promise<Health> {
  const doors = await Promise.all(targets.doors.map((d) => probeDoor(d, o)));
  return {
    ok: doors.every((d) => d.up),
    doors: doors.map(({ id, shard, kind, up, error }) => ({ id, shard, kind, up, ...(error ? { error } : {}) })),
  };
}

export interface MetricsOptions extends ProbeOptions {
  /** What to scrape: the nodes, doors and sentinels (targetsFromDescription for a description file). */
  targets: Targets;
}

/** GET /metrics and GET /healthz; anything else 404. Mount it on any node:http server. */
export function metricsHandler(o: MetricsOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const roles = new RoleWatch();
  const send = (res: ServerResponse, code: number, type: string, body: string) => {
    res.writeHead(code, { "content-type": type, "cache-control": "no-store" });
    res.end(body);
  };
  return (req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const run = async () => {
      if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "text/plain", "GET only\n");
      if (path === "/metrics") {
        const status = await collectStatus(o.targets, o);
        roles.observe(status);
        const { text, contentType } = await renderMetrics(status, roles);
        return send(res, 200, contentType, text);
      }
      if (path === "/healthz") {
        const h = await health(o.targets, o);
        return send(res, h.ok ? 200 : 503, "application/json", `${JSON.stringify(h)}\n`);
      }
      send(res, 404, "text/plain", "not found: /metrics, /healthz\n");
    };
    run().catch((e) => send(res, 500, "text/plain", `${e instanceof Error ? e.message : String(e)}\n`));
  };
}

export interface MetricsServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** /metrics and /healthz on their own port (127.0.0.1 unless told otherwise; port 0: a free one). */
export async function startMetricsServer(o: MetricsOptions & { port: number; host?: string }): Promise<MetricsServer> {
  const host = o.host ?? "127.0.0.1";
  const server: Server = createServer(metricsHandler(o));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
