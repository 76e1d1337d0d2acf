/** The pure parts of `status` and /metrics: INFO parsing, lag, problems, the rendered text. */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { publishesOf, RoleWatch, renderMetrics } from "../../src/server/metrics.ts";
import {
  countFollowers,
  DescriptionError,
  describeTopology,
  formatStatus,
  loadDescription,
  type NodeStatus,
  parseCommandstats,
  parseErrorstats,
  parseInfo,
  parseSentinelMasters,
  problemsOf,
  replicationOf,
  type Status,
  topologyDescriptionSchema,
  withLag,
} from "../../src/server/status.ts";
import { planTopology } from "../../src/server/topology.ts";

// As Redis 7.0.15 prints them (INFO replication, errorstats, commandstats; CRLF line ends).
const PRIMARY_INFO = [
  "# Server",
  "redis_version:7.0.15",
  "server_time_usec:1700000000123456",
  "# Replication",
  "role:master",
  "connected_slaves:2",
  "slave0:ip=127.0.0.1,port=6391,state=online,offset=1000,lag=0",
  "slave1:ip=172.17.0.3,port=6392,state=wait_bgsave,offset=400,lag=3",
  "master_failover_state:no-failover",
  "master_replid:4a3c8e1d",
  "master_repl_offset:1234",
  "# Memory",
  "used_memory:1048576",
  "# Stats",
  "expired_keys:7",
  "# Errorstats",
  "errorstat_STALE:count=3",
  "errorstat_QUOTA:count=1",
  "errorstat_ERR:count=2",
  "# Commandstats",
  "cmdstat_fcall:calls=20,usec=900,usec_per_call=45.00,rejected_calls=1,failed_calls=4",
  "cmdstat_fcall_ro:calls=5,usec=100,usec_per_call=20.00,rejected_calls=0,failed_calls=0",
  "cmdstat_set:calls=6,usec=30,usec_per_call=5.00,rejected_calls=0,failed_calls=0",
  "cmdstat_rpush:calls=9,usec=30,usec_per_call=3.33,rejected_calls=0,failed_calls=0",
  "cmdstat_client|list:calls=2,usec=30,usec_per_call=15.00,rejected_calls=0,failed_calls=0",
  "",
].join("\r\n");

const REPLICA_INFO = [
  "# Replication",
  "role:slave",
  "master_host:127.0.0.1",
  "master_port:6390",
  "master_link_status:up",
  "master_last_io_seconds_ago:1",
  "master_sync_in_progress:0",
  "slave_repl_offset:1000",
  "master_repl_offset:1000",
  "",
].join("\r\n");

describe("INFO parsing", () => {
  it("reads a primary's replication: its offset and each replica as it sees it", () => {
    const r = replicationOf(parseInfo(PRIMARY_INFO));
    expect(r).toEqual({
      role: "primary",
      offset: 1234,
      replicas: [
        { ip: "127.0.0.1", port: 6391, state: "online", offset: 1000, lag: 0 },
        { ip: "172.17.0.3", port: 6392, state: "wait_bgsave", offset: 400, lag: 3 },
      ],
    });
  });

  it("reads a replica's link and applied offset; a link down or never up says so", () => {
    expect(replicationOf(parseInfo(REPLICA_INFO))).toEqual({
      role: "replica",
      offset: 1000,
      replicas: [],
      link: { host: "127.0.0.1", port: 6390, up: true, lastIoSecondsAgo: 1 },
    });
    const down = REPLICA_INFO.replace("link_status:up", "link_status:down").replace(
      "io_seconds_ago:1",
      "io_seconds_ago:-1",
    );
    expect(replicationOf(parseInfo(down))?.link).toEqual({ host: "127.0.0.1", port: 6390, up: false });
    expect(replicationOf(parseInfo("# Replication\r\nrole:sentinel\r\n"))).toBeUndefined();
  });

  it("reads errors by code and command counts; publishes are the SETs and RPUSHes", () => {
    const info = parseInfo(PRIMARY_INFO);
    expect(parseErrorstats(info)).toEqual({ STALE: 3, QUOTA: 1, ERR: 2 });
    const cmds = parseCommandstats(info);
    expect(cmds.fcall).toEqual({ calls: 20, failed: 4, rejected: 1 });
    expect(cmds["client|list"]?.calls).toBe(2);
    expect(publishesOf(cmds)).toEqual({ state: 6, change: 9 });
    expect(publishesOf(undefined)).toEqual({ state: 0, change: 0 });
  });

  it("counts subscribed connections, not Sentinel's hello subscriptions nor plain clients", () => {
    const list = [
      "id=5 addr=127.0.0.1:5000 laddr=127.0.0.1:6391 fd=9 name= age=3 idle=0 flags=P db=0 sub=1 psub=0 ssub=0 multi=-1 user=default cmd=subscribe",
      "id=6 addr=127.0.0.1:5001 laddr=127.0.0.1:6391 fd=10 name= age=3 idle=0 flags=P db=0 sub=0 psub=2 ssub=0 multi=-1 user=default cmd=psubscribe",
      "id=7 addr=127.0.0.1:5002 laddr=127.0.0.1:6391 fd=11 name=sentinel-1a2b3c4d-pubsub age=9 idle=0 flags=P db=0 sub=1 psub=0 ssub=0 multi=-1 user=sentinel cmd=subscribe",
      "id=8 addr=127.0.0.1:5003 laddr=127.0.0.1:6391 fd=12 name= age=1 idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 user=default cmd=ping",
      "",
    ].join("\n");
    expect(countFollowers(list)).toBe(2);
    expect(countFollowers("")).toBe(0);
  });

  it("reads SENTINEL MASTERS (flat field/value arrays)", () => {
    const reply = [
      [
        "name",
        "s0",
        "ip",
        "127.0.0.1",
        "port",
        "6390",
        "flags",
        "master",
        "num-slaves",
        "2",
        "num-other-sentinels",
        "2",
        "quorum",
        "2",
        "config-epoch",
        "3",
      ],
      ["name", "s1", "ip", "127.0.0.1", "port", "6400", "flags", "s_down,master", "num-slaves", "1"],
      "garbage",
    ];
    expect(parseSentinelMasters(reply)).toEqual([
      {
        name: "s0",
        ip: "127.0.0.1",
        port: 6390,
        flags: ["master"],
        replicas: 2,
        otherSentinels: 2,
        quorum: 2,
        configEpoch: 3,
      },
      {
        name: "s1",
        ip: "127.0.0.1",
        port: 6400,
        flags: ["s_down", "master"],
        replicas: 1,
        otherSentinels: 0,
        quorum: 0,
        configEpoch: 0,
      },
    ]);
    expect(parseSentinelMasters("ERR")).toEqual([]);
  });
});

const node = (over: Partial<NodeStatus> & Pick<NodeStatus, "id">): NodeStatus => ({
  shard: "s0",
  host: "127.0.0.1",
  port: 1,
  reachable: true,
  ...over,
});

const must = <T>(v: T | undefined): T => {
  if (v === undefined) throw new Error("parsed nothing");
  return v;
};

/** The lua/ files (relative) that call `command`. */
function callersOf(command: string): string[] {
  const root = join(import.meta.dirname, "..", "..", "lua");
  const files = readdirSync(root, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".lua"));
  const call = new RegExp(`redis\\.p?call\\(\\s*['"]${command}['"]`, "i");
  return files.filter((f) => call.test(readFileSync(join(root, f), "utf8"))).sort();
}

describe("what relay_publishes_total counts (lua/ as it is)", () => {
  it("a change is an RPUSH only relay_publish runs; a state a SET of publish, heal and the end tombstone", () => {
    expect(callersOf("RPUSH")).toEqual(["publish.lua"]);
    // Another caller would count as a publish: change publishesOf and docs/operating.md with it.
    expect(callersOf("SET")).toEqual(["heal.lua", "lib/6_expiry.lua", "publish.lua"]);
  });
});

describe("lag and problems", () => {
  const primary = node({
    id: "s0-primary",
    port: 6390,
    role: "primary",
    replication: replicationOf(parseInfo(PRIMARY_INFO)),
  });
  const replica = node({
    id: "s0-replica",
    port: 6391,
    role: "replica",
    replication: replicationOf(parseInfo(REPLICA_INFO)),
  });

  it("a replica's lag is its primary's offset minus the offset the primary saw it at", () => {
    const [, r] = withLag([primary, { ...replica, replication: { ...must(replica.replication), offset: 1 } }]);
    expect(r?.lagBytes).toBe(234); // 1234 - 1000 (the primary's view), not 1234 - 1
    // A replica the primary does not list (another address, same port twice): its own offset.
    const other = node({ ...replica, id: "s0-replica-1", port: 6399 });
    expect(withLag([primary, other])[1]?.lagBytes).toBe(234);
    // In containers the primary sees the replica's container address: one on that port is it.
    const far = node({ ...replica, id: "s0-replica-2", port: 6392, host: "127.0.0.1" });
    expect(withLag([primary, far])[1]?.lagBytes).toBe(834);
    // No primary answers: no lag (unknown, not 0).
    expect(withLag([replica])[0]?.lagBytes).toBeUndefined();
  });

  it("names what is down: an unreachable node, a broken link, a shard without primary, a door, a sentinel", () => {
    const linkDown = {
      ...replica,
      replication: { ...must(replica.replication), link: { host: "h", port: 1, up: false } },
    };
    expect(problemsOf({ nodes: [primary, replica], doors: [], sentinels: [] })).toEqual([]);
    const p = problemsOf({
      nodes: [node({ id: "s0-primary", reachable: false, error: "ECONNREFUSED" }), linkDown],
      doors: [
        {
          id: "s0-subscribe",
          shard: "s0",
          kind: "subscribe",
          url: "http://127.0.0.1:9",
          up: false,
          error: "no answer in time",
        },
      ],
      sentinels: [
        { id: "sentinel-0", host: "h", port: 1, reachable: false, error: "ECONNREFUSED", masters: [] },
        {
          id: "sentinel-1",
          host: "h",
          port: 2,
          reachable: true,
          masters: parseSentinelMasters([["name", "s0", "flags", "o_down,master"]]),
        },
      ],
    });
    expect(p).toEqual([
      "s0-primary: Redis does not answer (ECONNREFUSED)",
      "s0-replica: replication link to its primary is down",
      "shard s0: no primary answers",
      "s0-subscribe: door does not answer http://127.0.0.1:9 (no answer in time)",
      "sentinel-0: sentinel does not answer (ECONNREFUSED)",
      "sentinel-1: sees primary s0 down (o_down,master)",
    ]);
    expect(problemsOf({ nodes: [primary, { ...primary, id: "s0-replica" }], doors: [], sentinels: [] })).toEqual([
      "shard s0: 2 primaries (s0-primary, s0-replica)",
    ]);
  });
});

/** Prometheus text format, strictly enough to catch a malformed line: name{labels} value. */
function parseExposition(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("# HELP ") || line.startsWith("# TYPE ")) continue;
    const m =
      /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+]+|NaN)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    out.set(`${m[1]}${m[2] ?? ""}`, Number(m[3]));
  }
  return out;
}

describe("/metrics text", () => {
  const status: Status = {
    at: new Date(0).toISOString(),
    ok: false,
    nodes: withLag([
      node({
        id: "s0-primary",
        port: 6390,
        role: "primary",
        replication: replicationOf(parseInfo(PRIMARY_INFO)),
        streams: 4,
        streamsDue: 1,
        followers: 0,
        usedMemory: 1048576,
        errors: parseErrorstats(parseInfo(PRIMARY_INFO)),
        commands: parseCommandstats(parseInfo(PRIMARY_INFO)),
        expiredKeys: 7,
      }),
      node({
        id: "s0-replica",
        port: 6391,
        role: "replica",
        replication: replicationOf(parseInfo(REPLICA_INFO)),
        followers: 3,
      }),
      node({ id: "s1-primary", shard: "s1", reachable: false, error: "ECONNREFUSED" }),
    ]),
    doors: [
      { id: "s0-command", shard: "s0", kind: "command", url: "http://127.0.0.1:1", up: true },
      { id: "s0-subscribe", shard: "s0", kind: "subscribe", url: "http://127.0.0.1:2", up: false, followers: 3 },
    ],
    sentinels: [],
    problems: [],
  };

  it("renders every series from a status, each line well formed", async () => {
    const { text, contentType } = await renderMetrics(status);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = parseExposition(text);
    expect(m.get('relay_node_up{node="s0-primary",shard="s0"}')).toBe(1);
    expect(m.get('relay_node_up{node="s1-primary",shard="s1"}')).toBe(0);
    expect(m.get('relay_node_primary{node="s0-replica",shard="s0"}')).toBe(0);
    expect(m.get('relay_streams{shard="s0"}')).toBe(4);
    expect(m.get('relay_streams_due{shard="s0"}')).toBe(1);
    expect(m.get('relay_publishes_total{node="s0-primary",shard="s0",kind="state"}')).toBe(6);
    expect(m.get('relay_publishes_total{node="s0-primary",shard="s0",kind="change"}')).toBe(9);
    expect(m.get('relay_errors_total{node="s0-primary",shard="s0",code="STALE"}')).toBe(3);
    expect(m.get('relay_function_calls_total{node="s0-primary",shard="s0"}')).toBe(25);
    expect(m.get('relay_function_failed_calls_total{node="s0-primary",shard="s0"}')).toBe(4);
    expect(m.get('relay_replication_lag_bytes{node="s0-replica",shard="s0"}')).toBe(234);
    expect(m.get('relay_replication_link_up{node="s0-replica",shard="s0"}')).toBe(1);
    expect(m.get('relay_replication_last_io_seconds{node="s0-replica",shard="s0"}')).toBe(1);
    expect(m.get('relay_node_followers{node="s0-replica",shard="s0"}')).toBe(3);
    expect(m.get('relay_door_followers{door="s0-subscribe",shard="s0"}')).toBe(3);
    expect(m.get('relay_door_up{door="s0-command",shard="s0",kind="command"}')).toBe(1);
    expect(m.get('relay_door_up{door="s0-subscribe",shard="s0",kind="subscribe"}')).toBe(0);
    expect(m.get('relay_expired_keys_total{node="s0-primary",shard="s0"}')).toBe(7);
    expect(m.get('relay_node_memory_used_bytes{node="s0-primary",shard="s0"}')).toBe(1048576);
    expect(text).toContain("# TYPE relay_publishes_total counter");
    expect(text).toContain("# TYPE relay_streams gauge");
    // A node that is down has no role, lag or streams: absent, not 0.
    expect([...m.keys()].filter((k) => k.includes("s1-primary")).sort()).toEqual([
      'relay_node_up{node="s1-primary",shard="s1"}',
      'relay_role_changes_total{node="s1-primary",shard="s1"}',
    ]);
  });

  it("counts role changes between scrapes (a failover: the primary becomes a replica and back)", async () => {
    const roles = new RoleWatch();
    const as = (role: "primary" | "replica", reachable = true): Status => ({
      ...status,
      nodes: [node({ id: "s0-a", reachable, ...(reachable ? { role } : {}) })],
    });
    for (const s of [as("primary"), as("primary", false), as("replica"), as("replica"), as("primary")])
      roles.observe(s);
    const m = parseExposition((await renderMetrics(as("primary"), roles)).text);
    expect(m.get('relay_role_changes_total{node="s0-a",shard="s0"}')).toBe(2);
  });

  it("the table shows each node and door, DOWN in capitals", () => {
    const t = formatStatus(status);
    expect(t).toMatch(/^NODE\s+SHARD\s+ROLE\s+STATE\s+LAG\s+LINK\s+STREAMS\s+FOLLOWERS\s+MEMORY/);
    expect(t).toMatch(/s0-replica\s+s0\s+replica\s+up\s+234B\s+up 1s\s+-\s+3/);
    expect(t).toMatch(/s1-primary\s+s1\s+-\s+DOWN/);
    expect(t).toMatch(/s0-subscribe\s+s0\s+subscribe\s+DOWN\s+3\s+http:\/\/127\.0\.0\.1:2/);
  });
});

describe("the description file", () => {
  const dir = mkdtempSync(join(tmpdir(), "relay-desc-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, value: unknown) => {
    const f = join(dir, name);
    writeFileSync(f, typeof value === "string" ? value : JSON.stringify(value));
    return f;
  };
  const description = {
    kind: "single",
    shards: [{ id: "s0", url: "http://127.0.0.1:7379", subscribeUrls: ["http://127.0.0.1:7380"] }],
    nodes: [
      { id: "s0-primary", shard: "s0", role: "primary", host: "127.0.0.1", port: 6390 },
      { id: "s0-replica", shard: "s0", role: "replica", host: "127.0.0.1", port: 6391 },
    ],
    doors: [{ id: "s0-subscribe", shard: "s0", kind: "subscribe", url: "http://127.0.0.1:7380", redis: "s0-replica" }],
    auth: { user: "monitor", passFile: "monitor.pass" },
  };

  it("reads the monitor's password from a 0600 file next to it, and refuses one others can read", () => {
    const pass = join(dir, "monitor.pass");
    writeFileSync(pass, "s3cret-monitor\n", { mode: 0o600 });
    chmodSync(pass, 0o600);
    const { targets } = loadDescription(write("ok.json", description));
    expect(targets.nodes.map((n) => n.auth)).toEqual([
      { user: "monitor", pass: "s3cret-monitor" },
      { user: "monitor", pass: "s3cret-monitor" },
    ]);
    expect(targets.doors[0]?.redis).toBe("s0-replica");
    chmodSync(pass, 0o644);
    expect(() => loadDescription(join(dir, "ok.json"))).toThrow(/readable by others \(mode 644\)/);
  });

  it("describeTopology gives what `up` writes: every node and door, each door with its node", async () => {
    let next = 20_000;
    const t = await planTopology({ kind: "replicated", replicas: 2 }, async () => next++);
    const d = describeTopology(t, { auth: { user: "monitor", passFile: "monitor.pass" } });
    expect(topologyDescriptionSchema.parse(JSON.parse(JSON.stringify(d)))).toEqual(d);
    expect(d.nodes.map((n) => [n.id, n.role])).toEqual([
      ["s0-primary", "primary"],
      ["s0-replica-0", "replica"],
      ["s0-replica-1", "replica"],
    ]);
    expect(d.doors.map((x) => [x.id, x.redis])).toEqual([
      ["s0-command", "s0-primary"],
      ["s0-subscribe-0", "s0-replica-0"],
      ["s0-subscribe-1", "s0-replica-1"],
    ]);
    expect(d.shards).toEqual([{ id: "s0", url: d.doors[0]?.url, subscribeUrls: [d.doors[1]?.url, d.doors[2]?.url] }]);
  });

  it("says which field is wrong, and that a missing file means `up` is not running", () => {
    const bad = { ...description, nodes: [{ ...description.nodes[0], port: 70000 }] };
    expect(() => loadDescription(write("bad.json", bad))).toThrow(/bad\.json: nodes\.0\.port:/);
    expect(() => loadDescription(write("text.json", "not json"))).toThrow(DescriptionError);
    expect(() => loadDescription(join(dir, "absent.json"))).toThrow(/does not exist \(does `mission-relay up` run\?\)/);
  });
});
