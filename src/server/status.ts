/**
 * `mission-relay status` and the data behind /metrics: what each Redis node
 * and door of a running topology is doing, read from Redis itself (INFO,
 * CLIENT LIST, ZCARD) and from one PING per door. Nothing here writes to
 * Redis or adds work to a publish: every number is one Redis already keeps.
 *
 * Three layers, so the parsing can be tested without a server:
 *   pure      parseInfo, replicationOf, parseErrorstats, parseCommandstats,
 *             countFollowers, parseSentinelMasters, formatStatus
 *   probes    probeNode, probeDoor, probeSentinel (one node each, never throw)
 *   whole     collectStatus(targets): every probe at once, then lag and problems
 *
 * The topology description (`.relay/topology.json`, written by `up`) says what
 * to probe; its schema is here. The monitor user's password sits in a 0600
 * file it names (passFile), never in the description and never printed.
 */
import { readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import * as z from "zod/mini";
import { redisCommand } from "./resp.ts";
import { doorUrl, shardDoors, TOPOLOGY_KINDS, type Topology } from "./topology.ts";

// ---------------------------------------------------------------- description

/**
 * A Webdis door (probed with PING through it), or a public port of the edge in
 * front of the doors (probed with a GET the edge itself refuses as JSON: it
 * answers, whatever is behind it; the doors behind it are probed as doors).
 */
const DOOR_KINDS = ["command", "subscribe", "edge"] as const;
type DoorKind = (typeof DOOR_KINDS)[number];
const id = z.string().check(z.regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1-64 of A-Z a-z 0-9 . _ -"));
const host = z.string().check(z.minLength(1), z.maxLength(255));
const port = z.number().check(z.int(), z.gte(1), z.lte(65535));
const httpUrl = z.url({ protocol: /^https?$/ });
/** A Redis user and the file holding its password (mode 0600; relative to the description's folder). */
const authSchema = z.object({ user: z.string().check(z.minLength(1)), passFile: z.string().check(z.minLength(1)) });

export const topologyDescriptionSchema = z.object({
  kind: z.enum(TOPOLOGY_KINDS),
  /** What a client needs (relay-config.json's `shards`). */
  shards: z.array(z.object({ id, url: httpUrl, subscribeUrls: z.array(httpUrl) })),
  /** Every Redis node; `role` is the role it was started with (Sentinel may change it). */
  nodes: z.array(
    z.object({
      id,
      shard: id,
      role: z.enum(["primary", "replica"]),
      host,
      port,
      /** This node's monitor user, when it differs from the top-level `auth`. */
      auth: z.optional(authSchema),
    }),
  ),
  /** Every Webdis door; `redis` is the node it talks to (followers per door come from it). */
  doors: z.array(z.object({ id, shard: id, kind: z.enum(DOOR_KINDS), url: httpUrl, redis: z.optional(id) })),
  /** Sentinels watching the primaries (replicated topologies with failover). */
  sentinels: z.optional(z.array(z.object({ id, host, port, auth: z.optional(authSchema) }))),
  /** The monitor user on every node (see docs/operating.md for its ACL). Without it, the default user. */
  auth: z.optional(authSchema),
});
export type TopologyDescription = z.infer<typeof topologyDescriptionSchema>;

export const DEFAULT_DESCRIPTION = ".relay/topology.json";

/**
 * The description of a planned topology, for `up` to write. `auth` names the
 * monitor user and its password file (written by `up`, mode 0600).
 */
export function describeTopology(
  t: Topology,
  extra: {
    auth?: TopologyDescription["auth"];
    sentinels?: TopologyDescription["sentinels"];
    /** The edge's public doors, per shard (what clients dial under `up`). */
    edges?: { id: string; shard: string; url: string }[];
  } = {},
): TopologyDescription {
  return {
    kind: t.kind,
    shards: shardDoors(t),
    nodes: t.redis.map((n) => ({ id: n.id, shard: n.shard, role: n.role, host: n.place.host, port: n.port })),
    doors: [
      ...t.doors.map((d) => ({ id: d.id, shard: d.shard, kind: d.kind, url: doorUrl(d), redis: d.redis })),
      ...(extra.edges ?? []).map((e) => ({ ...e, kind: "edge" as const })),
    ],
    ...(extra.sentinels ? { sentinels: extra.sentinels } : {}),
    ...(extra.auth ? { auth: extra.auth } : {}),
  };
}

export class DescriptionError extends Error {
  override name = "DescriptionError";
}

/** Reads a password file, refusing one that others can read (as ssh does with keys). */
export function readPassFile(path: string): string {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    throw new DescriptionError(`password file ${path} cannot be read`);
  }
  if ((mode & 0o077) !== 0)
    throw new DescriptionError(
      `password file ${path} is readable by others (mode ${(mode & 0o777).toString(8)}): chmod 600 it`,
    );
  const text = readFileSync(path, "utf8").replace(/\r?\n$/, "");
  if (!text) throw new DescriptionError(`password file ${path} is empty`);
  return text;
}

/** The description as probe targets; password files are resolved against `baseDir` and read. */
export function targetsFromDescription(d: TopologyDescription, baseDir: string): Targets {
  const auth = (a: TopologyDescription["auth"]) =>
    a ? { user: a.user, pass: readPassFile(resolve(baseDir, a.passFile)) } : undefined;
  const shared = auth(d.auth);
  return {
    nodes: d.nodes.map((n) => ({ id: n.id, shard: n.shard, host: n.host, port: n.port, auth: auth(n.auth) ?? shared })),
    doors: d.doors.map((x) => ({ id: x.id, shard: x.shard, kind: x.kind, url: x.url, redis: x.redis })),
    sentinels: d.sentinels?.map((s) => ({ id: s.id, host: s.host, port: s.port, auth: auth(s.auth) })),
  };
}

/** Reads and checks a description file; the error says which field is wrong, never a secret. */
export function loadDescription(file: string): { description: TopologyDescription; targets: Targets } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : "is not readable JSON";
    throw new DescriptionError(`topology description ${file} ${why} (does \`mission-relay up\` run?)`);
  }
  const parsed = topologyDescriptionSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DescriptionError(
      `topology description ${file}: ${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}`,
    );
  }
  return { description: parsed.data, targets: targetsFromDescription(parsed.data, dirname(file)) };
}

// ---------------------------------------------------------------- targets and results

export interface RedisAuth {
  user: string;
  pass: string;
}
export interface NodeTarget {
  id: string;
  shard: string;
  host: string;
  port: number;
  auth?: RedisAuth;
}
export interface DoorTarget {
  id: string;
  shard: string;
  kind: DoorKind;
  url: string;
  /** The Redis node behind it: its subscribers are the door's followers. */
  redis?: string;
}
export interface SentinelTarget {
  id: string;
  host: string;
  port: number;
  auth?: RedisAuth;
}
export interface Targets {
  nodes: NodeTarget[];
  doors: DoorTarget[];
  sentinels?: SentinelTarget[];
}

export interface ReplicaSeen {
  ip: string;
  port: number;
  state: string;
  offset: number;
  /** Seconds since the replica's last ack, as the primary says. */
  lag: number;
}

export interface Replication {
  role: "primary" | "replica";
  /** master_repl_offset: bytes of the replication stream this node has (replica: has applied). */
  offset: number;
  /** Primary: its replicas as it sees them. */
  replicas: ReplicaSeen[];
  /** Replica: its link to the primary. */
  link?: { host: string; port: number; up: boolean; lastIoSecondsAgo?: number };
}

export interface CommandStat {
  calls: number;
  failed: number;
  rejected: number;
}

export interface NodeStatus {
  id: string;
  shard: string;
  host: string;
  port: number;
  reachable: boolean;
  /** Why not reachable, or why a read was refused (never a secret). */
  error?: string;
  role?: "primary" | "replica";
  replication?: Replication;
  /** Replicas: the primary's offset minus this replica's, bytes (undefined when no primary answers). */
  lagBytes?: number;
  /** Primaries: live streams (ZCARD relay:index). */
  streams?: number;
  /** Primaries: streams whose deadline in relay:deadline passed (expired, or live with a renewal due). */
  streamsDue?: number;
  /** Pub/sub connections (followers; Sentinel's own are not counted). */
  followers?: number;
  usedMemory?: number;
  /** INFO errorstats: error replies by their first word (our Lua codes: STALE, QUOTA, ...). */
  errors?: Record<string, number>;
  /** INFO commandstats (commands run by our functions count too). */
  commands?: Record<string, CommandStat>;
  /** INFO stats expired_keys: keys dropped by their TTL (the backstop, not the sweep). */
  expiredKeys?: number;
}

export interface DoorStatus {
  id: string;
  shard: string;
  kind: DoorKind;
  url: string;
  up: boolean;
  error?: string;
  /** Subscribers on the door's Redis node. */
  followers?: number;
}

export interface SentinelMaster {
  name: string;
  ip: string;
  port: number;
  flags: string[];
  replicas: number;
  otherSentinels: number;
  quorum: number;
  /** The epoch of the configuration in force: a failover that succeeds gives it a new, higher one. */
  configEpoch: number;
}

export interface SentinelStatus {
  id: string;
  host: string;
  port: number;
  reachable: boolean;
  error?: string;
  masters: SentinelMaster[];
}

export interface Status {
  /** ISO time the collection started. */
  at: string;
  ok: boolean;
  nodes: NodeStatus[];
  doors: DoorStatus[];
  sentinels: SentinelStatus[];
  /** What is down or broken, one line each (non-empty means not ok). */
  problems: string[];
}

// ---------------------------------------------------------------- pure parsing

/** INFO's `key:value` lines (section headers and blank lines skipped). */
export function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith("#")) continue;
    const i = line.indexOf(":");
    if (i > 0) out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}

/** `a=1,b=x` (INFO's nested values) as a map. */
export function parseFields(value: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of value.split(",")) {
    const i = part.indexOf("=");
    if (i > 0) out.set(part.slice(0, i), part.slice(i + 1));
  }
  return out;
}

const num = (v: string | undefined): number | undefined => {
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
};

/** INFO replication as a role, an offset, and the replicas (primary) or the link (replica). */
export function replicationOf(info: Map<string, string>): Replication | undefined {
  const role = info.get("role");
  if (role !== "master" && role !== "slave") return undefined;
  const offset = num(info.get("master_repl_offset")) ?? num(info.get("slave_repl_offset")) ?? 0;
  if (role === "master") {
    const replicas: ReplicaSeen[] = [];
    for (const [k, v] of info) {
      if (!/^slave\d+$/.test(k)) continue;
      const f = parseFields(v);
      replicas.push({
        ip: f.get("ip") ?? "",
        port: num(f.get("port")) ?? 0,
        state: f.get("state") ?? "",
        offset: num(f.get("offset")) ?? 0,
        lag: num(f.get("lag")) ?? 0,
      });
    }
    return { role: "primary", offset, replicas };
  }
  const io = num(info.get("master_last_io_seconds_ago"));
  return {
    role: "replica",
    // A replica's applied offset; master_repl_offset on a replica is the same number.
    offset: num(info.get("slave_repl_offset")) ?? offset,
    replicas: [],
    link: {
      host: info.get("master_host") ?? "",
      port: num(info.get("master_port")) ?? 0,
      up: info.get("master_link_status") === "up",
      // -1: never heard from the primary.
      ...(io !== undefined && io >= 0 ? { lastIoSecondsAgo: io } : {}),
    },
  };
}

/** INFO errorstats: `errorstat_STALE:count=3` -> { STALE: 3 }. */
export function parseErrorstats(info: Map<string, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of info) {
    if (!k.startsWith("errorstat_")) continue;
    out[k.slice("errorstat_".length)] = num(parseFields(v).get("count")) ?? 0;
  }
  return out;
}

/** INFO commandstats: `cmdstat_fcall:calls=3,...,failed_calls=1` -> { fcall: { calls: 3, failed: 1, rejected: 0 } }. */
export function parseCommandstats(info: Map<string, string>): Record<string, CommandStat> {
  const out: Record<string, CommandStat> = {};
  for (const [k, v] of info) {
    if (!k.startsWith("cmdstat_")) continue;
    const f = parseFields(v);
    out[k.slice("cmdstat_".length)] = {
      calls: num(f.get("calls")) ?? 0,
      failed: num(f.get("failed_calls")) ?? 0,
      rejected: num(f.get("rejected_calls")) ?? 0,
    };
  }
  return out;
}

/**
 * Followers in a `CLIENT LIST [TYPE pubsub]` reply: connections subscribed to
 * something, less Sentinel's own hello subscriptions (named `sentinel-…`).
 * Each Webdis subscriber has a Redis connection of its own, so this is the
 * number of followers on the node.
 */
export function countFollowers(clientList: string): number {
  let n = 0;
  for (const line of clientList.split(/\r?\n/)) {
    if (!line.trim()) continue;
    const f = new Map(
      line.split(" ").map((p) => {
        const i = p.indexOf("=");
        return [p.slice(0, i), p.slice(i + 1)] as const;
      }),
    );
    const subs = (num(f.get("sub")) ?? 0) + (num(f.get("psub")) ?? 0) + (num(f.get("ssub")) ?? 0);
    if (subs <= 0) continue;
    if ((f.get("name") ?? "").startsWith("sentinel-")) continue;
    n++;
  }
  return n;
}

/** `SENTINEL MASTERS`: one flat [field, value, ...] array per master. */
export function parseSentinelMasters(reply: unknown): SentinelMaster[] {
  if (!Array.isArray(reply)) return [];
  return reply.flatMap((entry) => {
    if (!Array.isArray(entry)) return [];
    const f = new Map<string, string>();
    for (let i = 0; i + 1 < entry.length; i += 2) f.set(String(entry[i]), String(entry[i + 1]));
    const name = f.get("name");
    if (!name) return [];
    return [
      {
        name,
        ip: f.get("ip") ?? "",
        port: num(f.get("port")) ?? 0,
        flags: (f.get("flags") ?? "").split(",").filter(Boolean),
        replicas: num(f.get("num-slaves")) ?? 0,
        otherSentinels: num(f.get("num-other-sentinels")) ?? 0,
        quorum: num(f.get("quorum")) ?? 0,
        configEpoch: num(f.get("config-epoch")) ?? 0,
      },
    ];
  });
}

// ---------------------------------------------------------------- probes

export interface ProbeOptions {
  /** Per Redis command and per door PING (default 2,000 ms). */
  timeoutMs?: number;
}

const why = (e: unknown): string => {
  const err = e as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  if (err?.name === "TimeoutError" || err?.name === "AbortError") return "no answer in time";
  return err?.cause?.code ?? err?.code ?? (err instanceof Error ? err.message : String(e));
};

/** The INFO sections we read, in one command (Redis 7 takes several). */
const INFO_SECTIONS = ["server", "replication", "clients", "memory", "stats", "errorstats", "commandstats"];

/** One node: INFO, its subscribers and (primaries) its streams. Never throws. */
export async function probeNode(t: NodeTarget, o: ProbeOptions = {}): Promise<NodeStatus> {
  const base: NodeStatus = { id: t.id, shard: t.shard, host: t.host, port: t.port, reachable: false };
  const call = (args: (string | number)[]) =>
    redisCommand(t.port, args, {
      host: t.host,
      timeoutMs: o.timeoutMs ?? 2_000,
      auth: t.auth ? { user: t.auth.user, password: t.auth.pass } : undefined,
    });
  let info: Map<string, string>;
  try {
    info = parseInfo(String(await call(["INFO", ...INFO_SECTIONS])));
  } catch (e) {
    return { ...base, error: why(e) };
  }
  const replication = replicationOf(info);
  const status: NodeStatus = {
    ...base,
    reachable: true,
    role: replication?.role,
    replication,
    usedMemory: num(info.get("used_memory")),
    errors: parseErrorstats(info),
    commands: parseCommandstats(info),
    expiredKeys: num(info.get("expired_keys")),
  };
  const refused: string[] = [];
  /** One more read; a refusal (an ACL without it, a timeout) is noted, the rest still counts. */
  const read = (args: (string | number)[], use: (reply: unknown) => void, orElse?: () => boolean) =>
    call(args).then(use, (e) => {
      if (!orElse?.()) refused.push(`${args.slice(0, 2).join(" ")}: ${why(e)}`);
    });
  const reads = [
    read(
      ["CLIENT", "LIST", "TYPE", "pubsub"],
      (r) => {
        status.followers = countFollowers(String(r));
      },
      // Redis 7.4+ counts them in INFO clients (Sentinel's hello connections too); 7.0 does not.
      () => {
        status.followers = num(info.get("pubsub_clients"));
        return status.followers !== undefined;
      },
    ),
  ];
  if (replication?.role === "primary") {
    // The server's clock (INFO server), as the Lua compares deadlines with TIME.
    const nowMs = Math.floor((num(info.get("server_time_usec")) ?? Date.now() * 1000) / 1000);
    reads.push(
      read(["ZCARD", "relay:index"], (r) => {
        status.streams = Number(r);
      }),
      read(["ZCOUNT", "relay:deadline", "-inf", nowMs], (r) => {
        status.streamsDue = Number(r);
      }),
    );
  }
  await Promise.all(reads);
  if (refused.length) status.error = refused.join("; ");
  return status;
}

/** A door answers when `POST /` with body PING gets PONG back. Never throws. */
/** The edge answers a GET on its doors itself: 405 with a JSON body (src/server/edge.ts). */
async function probeEdge(t: DoorTarget, base: DoorStatus, o: ProbeOptions): Promise<DoorStatus> {
  try {
    const r = await fetch(new URL("/", t.url), { signal: AbortSignal.timeout(o.timeoutMs ?? 2_000) });
    await r.text();
    if (r.status === 405 && r.headers.get("content-type") === "application/json") return { ...base, up: true };
    return { ...base, error: `HTTP ${r.status}, not the edge's own refusal` };
  } catch (e) {
    return { ...base, error: why(e) };
  }
}

export async function probeDoor(t: DoorTarget, o: ProbeOptions = {}): Promise<DoorStatus> {
  const base: DoorStatus = { id: t.id, shard: t.shard, kind: t.kind, url: t.url, up: false };
  if (t.kind === "edge") return probeEdge(t, base, o);
  try {
    const r = await fetch(new URL("/", t.url), {
      method: "POST",
      body: "PING",
      signal: AbortSignal.timeout(o.timeoutMs ?? 2_000),
    });
    const text = await r.text();
    if (r.ok && text.includes("PONG")) return { ...base, up: true };
    return { ...base, error: `HTTP ${r.status} without PONG` };
  } catch (e) {
    return { ...base, error: why(e) };
  }
}

export async function probeSentinel(t: SentinelTarget, o: ProbeOptions = {}): Promise<SentinelStatus> {
  const base = { id: t.id, host: t.host, port: t.port };
  try {
    const reply = await redisCommand(t.port, ["SENTINEL", "MASTERS"], {
      host: t.host,
      timeoutMs: o.timeoutMs ?? 2_000,
      auth: t.auth ? { user: t.auth.user, password: t.auth.pass } : undefined,
    });
    return { ...base, reachable: true, masters: parseSentinelMasters(reply) };
  } catch (e) {
    return { ...base, reachable: false, error: why(e), masters: [] };
  }
}

// ---------------------------------------------------------------- the whole

/**
 * Replication lag of each replica: its primary's offset minus the replica's,
 * both from the primary's one INFO (the same instant), falling back to the
 * replica's own offset when the primary does not list it.
 */
export function withLag(nodes: NodeStatus[]): NodeStatus[] {
  return nodes.map((n) => {
    if (n.role !== "replica" || !n.replication) return n;
    const primary = nodes.find((p) => p.shard === n.shard && p.role === "primary" && p.replication);
    if (!primary?.replication) return n;
    // The primary names a replica by the address it connected from (in containers, not ours).
    const samePort = primary.replication.replicas.filter((r) => r.port === n.port);
    const seen = samePort.find((r) => r.ip === n.host) ?? (samePort.length === 1 ? samePort[0] : undefined);
    const offset = seen?.offset ?? n.replication.offset;
    return { ...n, lagBytes: Math.max(0, primary.replication.offset - offset) };
  });
}

/** What is down, one line each: the reason `status` exits non-zero. */
export function problemsOf(s: Omit<Status, "problems" | "ok" | "at">): string[] {
  const out: string[] = [];
  for (const n of s.nodes) {
    if (!n.reachable) out.push(`${n.id}: Redis does not answer (${n.error ?? "unknown"})`);
    else if (n.role === "replica" && n.replication?.link && !n.replication.link.up)
      out.push(`${n.id}: replication link to its primary is down`);
  }
  for (const shard of new Set(s.nodes.map((n) => n.shard))) {
    const primaries = s.nodes.filter((n) => n.shard === shard && n.role === "primary");
    if (primaries.length === 0) out.push(`shard ${shard}: no primary answers`);
    if (primaries.length > 1)
      out.push(`shard ${shard}: ${primaries.length} primaries (${primaries.map((p) => p.id).join(", ")})`);
  }
  for (const d of s.doors) if (!d.up) out.push(`${d.id}: door does not answer ${d.url} (${d.error ?? "unknown"})`);
  for (const x of s.sentinels) {
    if (!x.reachable) out.push(`${x.id}: sentinel does not answer (${x.error ?? "unknown"})`);
    for (const m of x.masters)
      if (m.flags.some((f) => f === "s_down" || f === "o_down"))
        out.push(`${x.id}: sees primary ${m.name} down (${m.flags.join(",")})`);
  }
  return out;
}

/** Every probe at once; never throws (what failed is in `problems`). */
export async function collectStatus(targets: Targets, o: ProbeOptions = {}): Promise<Status> {
  const at = new Date().toISOString();
  const [rawNodes, rawDoors, sentinels] = await Promise.all([
    Promise.all(targets.nodes.map((n) => probeNode(n, o))),
    Promise.all(targets.doors.map((d) => probeDoor(d, o))),
    Promise.all((targets.sentinels ?? []).map((x) => probeSentinel(x, o))),
  ]);
  const nodes = withLag(rawNodes);
  const doors = rawDoors.map((d, i) => {
    const behind = targets.doors[i]?.redis;
    const followers = behind === undefined ? undefined : nodes.find((n) => n.id === behind)?.followers;
    return followers === undefined ? d : { ...d, followers };
  });
  const problems = problemsOf({ nodes, doors, sentinels });
  return { at, ok: problems.length === 0, nodes, doors, sentinels, problems };
}

// ---------------------------------------------------------------- the table

const bytes = (n: number | undefined): string => {
  if (n === undefined) return "-";
  if (n < 1024) return `${n}B`;
  const units = ["K", "M", "G", "T"];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)}${units[u]}`;
};

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** The human table of `mission-relay status` (problems are printed apart, on stderr). */
export function formatStatus(s: Status): string {
  const dash = (v: number | undefined) => (v === undefined ? "-" : String(v));
  const nodeRows = [["NODE", "SHARD", "ROLE", "STATE", "LAG", "LINK", "STREAMS", "FOLLOWERS", "MEMORY"]];
  for (const n of s.nodes) {
    const link = n.replication?.link;
    nodeRows.push([
      n.id,
      n.shard,
      n.role ?? "-",
      n.reachable ? "up" : "DOWN",
      n.role === "replica" ? bytes(n.lagBytes) : "-",
      link
        ? `${link.up ? "up" : "DOWN"}${link.lastIoSecondsAgo === undefined ? "" : ` ${link.lastIoSecondsAgo}s`}`
        : "-",
      dash(n.streams),
      dash(n.followers),
      bytes(n.usedMemory),
    ]);
  }
  const doorRows = [["DOOR", "SHARD", "KIND", "STATE", "FOLLOWERS", "URL"]];
  for (const d of s.doors) doorRows.push([d.id, d.shard, d.kind, d.up ? "up" : "DOWN", dash(d.followers), d.url]);
  const parts = [table(nodeRows), table(doorRows)];
  if (s.sentinels.length) {
    const rows = [["SENTINEL", "STATE", "PRIMARY", "AT", "FLAGS", "EPOCH"]];
    for (const x of s.sentinels) {
      if (!x.masters.length) rows.push([x.id, x.reachable ? "up" : "DOWN", "-", "-", "-", "-"]);
      for (const m of x.masters)
        rows.push([x.id, "up", m.name, `${m.ip}:${m.port}`, m.flags.join(","), String(m.configEpoch)]);
    }
    parts.push(table(rows));
  }
  return `${parts.join("\n\n")}\n`;
}
