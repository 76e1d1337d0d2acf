/**
 * Redis users of a replicated (Sentinel) topology. Every data node gets the
 * same users, so a role change never changes what a door can do: a replica
 * promoted behind a subscription door still has a subscribe-only default
 * user, and the command door reaches any primary as `relay`, a user that can
 * call our functions and nothing else. Passwords are random per run; only
 * their SHA-256 reaches argv (`#<hex>`); plaintext lives in 0600 files in the
 * data dir (masterauth, sentinel auth-pass, the route's haproxy-routes.cfg,
 * webdis.json, and `up`'s monitor.pass / sentinels.pass / admin.pass).
 */
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, writeFileSync } from "node:fs";
import { SUBSCRIBE_ONLY_USER } from "./native.ts";

/** User names (not secret). */
export const CLUSTER_USERS = {
  /** The command door's Webdis (redis_auth: [user, pass]; Webdis 0.1.22 and later). */
  relay: "relay",
  /** Replicas authenticate to their primary with it (masteruser / masterauth). */
  replication: "replicator",
  /** Sentinels monitor and reconfigure the data nodes with it. */
  sentinel: "sentinel",
  /** HAProxy's health check: INFO replication, nothing else. */
  check: "health",
  /** Operators and `up`: FUNCTION LOAD, status, tests' inspection. Password only in a 0600 file. */
  admin: "admin",
  /** `mission-relay status` and /metrics: INFO, client lists and the index's size, nothing that writes. */
  monitor: "monitor",
} as const;

export interface ClusterSecrets {
  relay: string;
  replication: string;
  sentinel: string;
  check: string;
  admin: string;
  monitor: string;
  /** `requirepass` of the sentinels themselves (they talk to each other with it). */
  sentinels: string;
}

/** Fresh random passwords (hex: no escaping in any config syntax). */
export function newClusterSecrets(): ClusterSecrets {
  const pw = () => randomBytes(24).toString("hex");
  return {
    relay: pw(),
    replication: pw(),
    sentinel: pw(),
    check: pw(),
    admin: pw(),
    monitor: pw(),
    sentinels: pw(),
  };
}

export const sha256Hex = (s: string) => createHash("sha256").update(s).digest("hex");

/**
 * Every command our Lua functions run (lua/*.lua, lua/lib/*.lua). Redis 7
 * checks a function's calls against the caller's ACL (commands, keys and
 * channels), so the relay user needs each of them; test/cluster/acl.test.ts
 * fails when the Lua uses one that is missing here.
 */
export const FUNCTION_COMMANDS = [
  "del",
  "expire",
  "get",
  "hdel",
  "hget",
  "hgetall",
  "hmget",
  "hset",
  "incr",
  "lrange",
  "pexpire",
  "pttl",
  "publish",
  "rpush",
  "set",
  "time",
  "zadd",
  "zcard",
  "zcount",
  "zrange",
  "zrem",
];

/**
 * The keys our functions touch (lua/lib/3_keys.lua, 0_names.lua, 1_config.lua):
 * each stream's `relay:{<name>}:*` keys, the index, the deadlines and the
 * look-alike skeletons; the operator's relay:config only to read.
 */
export const RELAY_KEYS = ["~relay:{*", "~relay:index", "~relay:deadline", "~relay:skeleton", "%R~relay:config"];

/**
 * ACL rules for `--user`, one list per user, the same on every node. Keys: our
 * `relay:` prefix only; channels: any (a stream's channel is 40 hex, no prefix).
 * The relay user cannot FUNCTION LOAD, CONFIG, FLUSHALL, or touch keys outside
 * RELAY_KEYS. It holds the commands our functions run (Redis checks them inside
 * functions too), so called directly they work on a stream's keys and the
 * index: the door's own ACL (FCALL, FCALL_RO, SUBSCRIBE, PING; HTTP only,
 * WebSockets off) keeps clients to our functions. relay:config is read-only to
 * it: the operator's limits cannot be lifted from the command door.
 */
export function clusterUsers(s: ClusterSecrets): string[][] {
  const u = CLUSTER_USERS;
  return [
    SUBSCRIBE_ONLY_USER,
    user(
      u.relay,
      s.relay,
      ...RELAY_KEYS,
      "&*",
      ...["fcall", "fcall_ro", "ping", "select", "subscribe", "unsubscribe", ...FUNCTION_COMMANDS].map((c) => `+${c}`),
    ),
    // Redis's documented minimum for a replica: PSYNC, REPLCONF, PING.
    user(u.replication, s.replication, "+psync", "+replconf", "+ping"),
    // Redis's documented minimum for Sentinel (hello messages on __sentinel__:hello).
    user(
      u.sentinel,
      s.sentinel,
      "&*",
      ...[
        "multi",
        "slaveof",
        "ping",
        "exec",
        "subscribe",
        "config|rewrite",
        "role",
        "publish",
        "info",
        "client|setname",
        "client|kill",
        "script|kill",
      ].map((c) => `+${c}`),
    ),
    user(u.check, s.check, "+info|replication", "+ping"),
    user(u.admin, s.admin, "~*", "&*", "+@all"),
    monitorUser(s.monitor),
  ];
}

/**
 * The status/metrics reader (src/server/status.ts): INFO, CLIENT LIST (followers
 * are pub/sub clients), ROLE, and the size of the stream index; read-only keys.
 * Also given to the nodes of topologies without Sentinel, whose replicas' default
 * user can only subscribe.
 */
export function monitorUser(password: string): string[] {
  return user(
    CLUSTER_USERS.monitor,
    password,
    "+info",
    "+ping",
    "+role",
    "+client|list",
    "+zcard",
    "+zcount",
    "%R~relay:index",
    "%R~relay:deadline",
  );
}

/** One user's `--user` rules: only what `rules` grant, the password as its SHA-256. */
function user(name: string, password: string, ...rules: string[]): string[] {
  return [name, "on", "resetpass", `#${sha256Hex(password)}`, "resetkeys", "resetchannels", "-@all", ...rules];
}

/** `--user <rules...>` for every cluster user (hashes only). */
export const clusterUserArgs = (s: ClusterSecrets): string[] =>
  clusterUsers(s).flatMap((rules) => ["--user", ...rules]);

/** The data nodes' config-file lines that hold a plaintext secret (never argv). */
export function replicationConf(s: ClusterSecrets): string {
  return `masteruser ${CLUSTER_USERS.replication}\nmasterauth ${s.replication}\n`;
}

/** Writes a file only its owner can read (secrets in config files). */
export function writePrivate(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600); // an existing file keeps its mode on write
}
