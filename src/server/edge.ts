/**
 * The edge: HAProxy (Debian's `haproxy` package) in front of both Webdis doors.
 * Webdis answers far more than our client needs (GET forms, `.html` suffixes,
 * `?jsonp=`, `?type=`, WebSockets that bypass its ACL, pipelined replies out
 * of order, late replies on the wrong socket), so only the few request shapes
 * our client sends get through, every reply is JSON, and slow or abusive
 * clients are cut. `edgeConfig` renders haproxy.cfg (pure); `startEdge` runs
 * it as a child process (`haproxy -db -f`), never as a system service.
 *
 * HAProxy rather than nginx: the same proxy routes a replicated shard's
 * command door to its primary (startRedisRoutes: TCP mode, health checks that
 * find the primary), and stick tables give per-client limits without modules.
 * See docs/edge.md and docs/failover.md.
 */
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OPS, type OpName } from "../core/ops.ts";
import { adopt, findBinary, freePort } from "./native.ts";
import { redisCommand } from "./resp.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * The command door's Webdis refuses requests over `http_max_request_size`
 * (4 MiB in webdis.json; it counts the request line and headers too). The edge
 * bounds the body a little below, so an oversize request is always our 413 and
 * never reaches Webdis. A 1 MiB state fully percent-encoded is ~3 MiB: it fits.
 */
export const WEBDIS_COMMAND_MAX_REQUEST = 4 * MiB;
/** Room for the request line and headers under Webdis's bound (HAProxy's own header limit is ~15 KiB). */
export const HEADER_ROOM = 16 * KiB;
export const COMMAND_BODY_MAX = WEBDIS_COMMAND_MAX_REQUEST - HEADER_ROOM;
/**
 * `SUBSCRIBE/<channel>` is ~50 bytes (the channel is 40 hex). The subscription
 * door's Webdis allows 4096 bytes per request; 1 KiB of body is plenty.
 */
export const SUBSCRIBE_BODY_MAX = 1 * KiB;

/**
 * The command lines our client sends (src/core/relay.ts: `FCALL` for every
 * function, `FCALL_RO` for the two read-only ones), exactly as `commandBody`
 * writes them. Nothing else reaches the command door, so a rate limit on a
 * function cannot be dodged by spelling it another way (lower case, `%5F`, a
 * `/0/` database prefix, `FCALL_RO`).
 */
export const RELAY_FUNCTIONS = Object.keys(OPS) as OpName[];
export const READ_ONLY_FUNCTIONS = RELAY_FUNCTIONS.filter((f) => OPS[f].readOnly);
/** Body prefixes the command door serves: our calls and `SUBSCRIBE/` (the HTTP stream). */
export const COMMAND_PREFIXES = [
  ...RELAY_FUNCTIONS.map((f) => `FCALL/${f}/`),
  ...READ_ONLY_FUNCTIONS.map((f) => `FCALL_RO/${f}/`),
  "SUBSCRIBE/",
];

/**
 * Webdis 0.1.9 never releases an HTTP-stream subscription whose client closed
 * while Webdis still held unsent bytes in its own memory: it keeps buffering
 * every later message for the dead client, without end (measured: RSS grows at
 * the publish rate after the close). A subscriber that stops reading makes the
 * edge stop reading from Webdis; from then on Webdis's bytes go into this
 * kernel buffer (set with SO_RCVBUF, doubled by the kernel, capped by
 * net.core.rmem_max) and Webdis's own socket buffer, not into Webdis. The edge
 * cuts such a reader after `timeout client`, so as long as publish rate x
 * timeout client fits in this buffer, Webdis holds nothing when the cut comes.
 */
export const SERVER_RCVBUF = 4 * MiB;

export interface EdgeTimeouts {
  /**
   * Whole request (headers and, with http-buffer-request, the buffered body):
   * a slowloris client that never finishes is closed. A real request is sent
   * at once; 10 s leaves room for a slow mobile link.
   */
  httpRequestMs: number;
  /** Idle keep-alive connection between requests (a browser reuses sooner). */
  keepAliveMs: number;
  /** Connecting to Webdis on the same host (it answers at once or is down). */
  connectMs: number;
  /**
   * The client side stopped taking data (it sends nothing after its request, so
   * this is a reader that does not read): while it lasts HAProxy stops reading
   * from Webdis and Webdis buffers every message in its own memory (attack 2),
   * so this is short: publish rate x this must fit in SERVER_RCVBUF (doubled by the
   * kernel: 8 MB), i.e. 2 MB/s, above a stream's default publish budget (16 MiB per
   * 10 s). A reader that keeps up never waits this long; one on a stalled link is cut
   * and its follower re-syncs.
   */
  clientMs: number;
  /**
   * Webdis sent nothing: a reply that takes long (a publish on a busy Redis), or
   * an HTTP-stream subscription between messages. Longer than the follower's
   * own silence limit (staleAfterMs, 45 s; leaders heartbeat every 15 s), so the
   * edge never cuts what the client would keep. Long on purpose: cutting a
   * Webdis connection before it answered is what makes Webdis 0.1.9 write the
   * late reply to another client's socket (attack 1).
   */
  serverMs: number;
  /**
   * A WebSocket after its upgrade, idle in both directions. A follower hears a
   * heartbeat every 15 s and closes a silent subscription itself after 45 s
   * (plus its 5 s check tick); 60 s never cuts a live one. It also cuts a
   * WebSocket reader that stopped reading, but only if it sends nothing either:
   * any byte from the client restarts it (HAProxy has no "not reading" timeout
   * for tunnels), so a deaf WebSocket can hold Webdis memory (SECURITY.md).
   */
  tunnelMs: number;
}

export const DEFAULT_TIMEOUTS: EdgeTimeouts = {
  httpRequestMs: 10_000,
  keepAliveMs: 5_000,
  connectMs: 5_000,
  clientMs: 4_000,
  serverMs: 60_000,
  tunnelMs: 60_000,
};

/** Per-client limits (per source address, or the forwarded one: docs/edge.md). */
export interface EdgeLimits {
  /** Calls per client per `periodSeconds`; the next one is 429 until the rate drops. */
  connect: number;
  reconnect: number;
  stop: number;
  start: number;
  periodSeconds: number;
  /** Open connections per client per door; over it, 429 (twice over: closed before a request). */
  connectionsPerClient: number;
  /** Open connections per door in all (HAProxy queues the rest in the kernel backlog). */
  maxConnections: number;
}

export const DEFAULT_LIMITS: EdgeLimits = {
  // A follower calls relay_connect to join and again to catch up after a gap or
  // a silence; 120 a minute leaves room for a few dozen followers behind one NAT.
  connect: 120,
  // Taking over or stopping a stream is a human action: a few a minute.
  reconnect: 20,
  stop: 20,
  // Starting streams: a person or a script making a handful; attack 9 made 20,000 in 7 s.
  start: 30,
  periodSeconds: 60,
  // One follower holds one subscription plus short requests; 100 is an office behind NAT.
  connectionsPerClient: 100,
  maxConnections: 4_000,
};

export interface Backend {
  host: string;
  port: number;
}

export interface EdgeConfigOptions {
  /** Where the edge listens (always an explicit address; default 127.0.0.1). */
  host?: string;
  commandPort: number;
  subscribePort: number;
  /** The Webdis doors behind the edge. */
  commandBackend: Backend;
  /**
   * One subscription door, or several (a replicated topology: one per replica).
   * Several are balanced by least connections, each followed by a TCP check,
   * so followers spread over the doors and a dead door gets no new ones.
   */
  subscribeBackend: Backend | Backend[];
  timeouts?: Partial<EdgeTimeouts>;
  limits?: Partial<EdgeLimits>;
  /**
   * The edge sits behind a TLS terminator or load balancer that speaks the
   * PROXY protocol: `src` (the key of every per-client limit) is then the real
   * client's address instead of the balancer's. See docs/edge.md.
   */
  acceptProxy?: boolean;
}

export interface RedisRoute {
  /** A config-safe name ("redis-primary"). */
  name: string;
  port: number;
  /** Every data node: the check picks the primary among them. */
  nodes: Backend[];
  /** The health-check user (INFO replication only: src/server/acl.ts) and its password. */
  check: { user: string; password: string };
  /**
   * Also require at least one connected replica: a primary without one refuses our
   * writes anyway (min-replicas-to-write 1), and an old primary thawed after a
   * failover has none, so it is not routed to in the moment before Sentinel demotes
   * it. Default true.
   */
  requireReplica?: boolean;
  /** Health-check interval; default 250 ms (fall 1, rise 1). */
  checkIntervalMs?: number;
}

/**
 * The check's one request, pipelined: AUTH, INFO replication, QUIT. Redis closes
 * after QUIT, so the check sees the whole answer and a node that does not match
 * fails at once, not after `timeout check` (HAProxy waits for more data while a
 * regex has not matched on an open connection). HAProxy's parser turns the
 * backslash escapes into spaces and CR LF.
 */
const checkRequest = (user: string, password: string) =>
  `${["AUTH", user, password].join("\\ ")}\\r\\nINFO\\ replication\\r\\nQUIT\\r\\n`;

/**
 * What the check expects, from the first byte: AUTH's +OK (a wrong password gets
 * WRONGPASS, and INFO then runs as the default user, who may not), INFO's length
 * and section lines, then role:master and, unless told otherwise, a connected replica.
 */
const checkExpect = (requireReplica: boolean) =>
  `^[+]OK\\r\\n[^\\r]*\\r\\n[^\\r]*\\r\\nrole:master\\r\\n${requireReplica ? "connected_slaves:[1-9]" : ""}`;

/**
 * A TCP route: the check AUTHs as the check user, asks INFO replication and
 * expects role:master (and a connected replica), every `inter`. One failed
 * check marks a node down and `on-marked-down shutdown-sessions` cuts every
 * connection through it, so Webdis's pooled connections to a demoted or dead
 * primary are closed and it reconnects, through the route, to the new one.
 * HAProxy 2.6 counts a server UP until its first check: wait for the route to
 * settle (waitForRedisRoute) before anything dials it.
 */
export function redisRouteConfig(r: RedisRoute, host: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(r.name))
    throw new Error(`redis route name ${JSON.stringify(r.name)} is not config-safe`);
  for (const w of [r.check.user, r.check.password]) {
    if (!/^[A-Za-z0-9_-]+$/.test(w))
      throw new Error(`redis route ${r.name}: check user and password must be [A-Za-z0-9_-]`);
  }
  return [
    `frontend ${r.name}`,
    `  bind ${host}:${r.port}`,
    `  default_backend ${r.name}_nodes`,
    "",
    `backend ${r.name}_nodes`,
    "  option tcp-check",
    "  tcp-check connect",
    `  tcp-check send ${checkRequest(r.check.user, r.check.password)}`,
    `  tcp-check expect rstring ${checkExpect(r.requireReplica !== false)}`,
    `  default-server inter ${ms(r.checkIntervalMs ?? 250)} fall 1 rise 1 on-marked-down shutdown-sessions`,
    ...r.nodes.map((n, i) => `  server node${i} ${n.host}:${n.port} check`),
  ].join("\n");
}

/**
 * Resolves once `times` connections in a row through the route reach a primary
 * (INFO replication as the check user): every node's first check has run, and
 * the replicas HAProxy counted UP at start are down.
 */
export async function waitForRedisRoute(
  port: number,
  check: { user: string; password: string },
  { host = "127.0.0.1", timeoutMs = 15_000, times = 8 } = {},
): Promise<void> {
  const until = Date.now() + timeoutMs;
  let inRow = 0;
  while (inRow < times) {
    if (Date.now() > until) throw new Error(`redis route on port ${port} found no primary within ${timeoutMs} ms`);
    const info = await redisCommand(port, ["INFO", "replication"], { host, auth: check, timeoutMs: 1_000 }).catch(
      () => "",
    );
    if (/role:master/.test(String(info))) inRow++;
    else {
      inRow = 0;
      await sleep(50);
    }
  }
}

/**
 * Defaults for the Redis routes (a later defaults section applies to the proxies
 * after it). Webdis's pooled connections sit idle for long: no short client or
 * server timeout; TCP keep-alive finds dead peers.
 */
const REDIS_DEFAULTS = `defaults redis_tcp
  mode tcp
  log global
  timeout connect 1s
  timeout check 1s
  timeout client 1h
  timeout server 1h
  option clitcpka
  option srvtcpka`;

/** Statuses HAProxy's H1 parser itself may answer with (mux_h1.c h1_send_error). */
const PARSER_STATUSES = [400, 408, 413, 500, 501];

const ms = (n: number) => `${Math.max(1, Math.round(n))}ms`;

/** A JSON body for HAProxy's own replies (config-quoted; no quotes of ours inside). */
const json = (code: string, message: string) => `'{"error":"${code}","message":"${message}"}'`;

/** One refusal: `http-request deny` with a JSON body. */
const deny = (status: number, code: string, message: string, cond: string, extra = "") =>
  `  http-request deny status ${status} content-type application/json string ${json(code, message)}${extra} ${cond}`;

function limitRules(limits: EdgeLimits): string[] {
  const limited: [number, keyof EdgeLimits, string][] = [
    [0, "connect", "relay_connect"],
    [1, "reconnect", "relay_reconnect"],
    [2, "stop", "relay_stop"],
    [3, "start", "relay_start"],
  ];
  const out: string[] = [];
  for (const [idx, key, fn] of limited) {
    const acl = `is_${key}`;
    out.push(`  acl ${acl} req.body -m beg FCALL/${fn}/`);
    // Checked before counting: a refused call is not counted, so a client that
    // keeps trying while limited gets through again once its rate drops.
    out.push(
      deny(
        429,
        "RATE_LIMITED",
        `too many ${fn} calls from this address`,
        `if ${acl} { sc_gpc_rate(${idx},0) ge ${limits[key]} }`,
        ` hdr Retry-After ${limits.periodSeconds}`,
      ),
    );
    out.push(`  http-request sc-inc-gpc(${idx},0) if ${acl}`);
  }
  return out;
}

/** The per-client tracking both doors share, each with its own table. */
function trackingRules(table: string, limits: EdgeLimits): string[] {
  return [
    // IPv6 clients count per /64 (one subscriber line holds a whole /64: per
    // address, one attacker would be endless clients); IPv4 per address.
    `  tcp-request connection track-sc0 src,ipmask(32,64) table ${table}`,
    // A client that opens sockets and sends nothing (slowloris) never reaches the
    // HTTP rules: past twice its cap, its connections are closed at once.
    `  tcp-request connection reject if { sc_conn_cur(0) gt ${2 * limits.connectionsPerClient} }`,
    deny(
      429,
      "TOO_MANY_CONNECTIONS",
      "too many open connections from this address",
      `if { sc_conn_cur(0) gt ${limits.connectionsPerClient} }`,
    ),
  ];
}

/** Replies: always JSON, never sniffed, never cached, never framed, never a document that runs anything. */
const replyHeaders = [
  "  http-after-response set-header Content-Type application/json unless { status 101 }",
  "  http-after-response set-header X-Content-Type-Options nosniff",
  "  http-after-response set-header Cache-Control no-store",
  `  http-after-response set-header Content-Security-Policy "default-src 'none'; frame-ancestors 'none'"`,
];

/** Refusals common to both doors: no query string, no navigation (a form post, a link), an exact Content-Length. */
function shapeRules(): string[] {
  return [
    deny(400, "BAD_REQUEST", "no query string is accepted", "if { query -m found }"),
    // Fetch metadata: a browser navigating to the door (a <form> post, a link, a
    // frame) is never our client, which only uses fetch and WebSocket.
    deny(
      403,
      "FORBIDDEN",
      "navigations are not served",
      "if { req.hdr(sec-fetch-mode) -i navigate } || { req.hdr(sec-fetch-dest) -i document iframe frame embed object }",
    ),
  ];
}

/** A POST body must have exactly one Content-Length (no chunked upload that could not be bounded up front). */
function bodyRules(max: number): string[] {
  return [
    deny(400, "LENGTH_REQUIRED", "a Content-Length is required", "unless { req.hdr_cnt(content-length) eq 1 }"),
    deny(413, "TOO_LARGE", `the body is over ${max} bytes`, `if { req.body_size gt ${max} }`),
  ];
}

export function edgeConfig(o: EdgeConfigOptions): string {
  const t = { ...DEFAULT_TIMEOUTS, ...o.timeouts };
  const l = { ...DEFAULT_LIMITS, ...o.limits };
  const host = o.host ?? "127.0.0.1";
  const bindOpts = o.acceptProxy ? " accept-proxy" : "";
  const table = (name: string) =>
    [
      `backend ${name}`,
      // type ipv6 holds IPv4 addresses too (mapped); gpc_rate(4, period): one
      // rate per limited function (connect, reconnect, stop, start).
      `  stick-table type ipv6 size 100k expire ${Math.max(l.periodSeconds * 2, 60)}s store conn_cur,gpc_rate(4,${l.periodSeconds}s)`,
    ].join("\n");
  return `# Generated by src/server/edge.ts (edgeConfig): the edge in front of both Webdis doors.
global
  # No request log: bodies carry verifiers and tokens, and we log nothing of them.
  log stderr format raw local0 warning
  # One thread is far more than Webdis can take (~22k FCALL/s); keeps the edge light on small boxes.
  nbthread 1
  maxconn ${2 * l.maxConnections}
  # Large enough for the request line, headers and the start of a body we inspect.
  tune.bufsize 16384
  # A deep kernel receive buffer towards Webdis (see SERVER_RCVBUF).
  tune.rcvbuf.server ${SERVER_RCVBUF}

defaults
  mode http
  log global
  timeout connect ${ms(t.connectMs)}
  timeout http-request ${ms(t.httpRequestMs)}
  timeout http-keep-alive ${ms(t.keepAliveMs)}
  timeout client ${ms(t.clientMs)}
  timeout server ${ms(t.serverMs)}
  timeout tunnel ${ms(t.tunnelMs)}
  timeout client-fin ${ms(t.keepAliveMs)}
  timeout server-fin ${ms(t.keepAliveMs)}
  # Wait for the body (up to the buffer) before the rules run, so they can read it and
  # a slow body is bounded by timeout http-request like slow headers are.
  option http-buffer-request
  # Never share a Webdis connection between clients: Webdis 0.1.9 can answer on a
  # connection after its request was given up (attack 1) or out of order (attack 14),
  # and that answer must only ever reach the client that asked.
  http-reuse never
  # Deliberately NOT "option abortonclose": when a client drops mid-request the edge
  # keeps its Webdis connection until Webdis answers, so the late reply is read and
  # dropped here instead of landing on a socket Webdis has since given to another client.
  # HAProxy's HTTP parser answers a request it cannot parse (400), a timeout before the
  # request was whole (408) and the like with a built-in text/html page, unless the
  # status is mapped to an empty file: then it closes without a reply. Never HTML.
${PARSER_STATUSES.map((s) => `  errorfile ${s} /dev/null`).join("\n")}
  # Replies HAProxy makes later (Webdis down: 502/503/504), as JSON.
${[403, 404, 405, 429, 502, 503, 504]
  .map(
    (s) =>
      `  http-error status ${s} content-type application/json string ${json(`HTTP_${s}`, "refused or failed at the edge")}`,
  )
  .join("\n")}

${table("per_client_command")}

${table("per_client_subscribe")}

frontend command_door
  bind ${host}:${o.commandPort}${bindOpts}
  maxconn ${l.maxConnections}
${trackingRules("per_client_command", l).join("\n")}
${replyHeaders.join("\n")}
${deny(405, "METHOD_NOT_ALLOWED", "only POST is served", "unless METH_POST")}
${deny(404, "NOT_FOUND", "only / is served", "unless { path / }")}
${deny(403, "FORBIDDEN", "no WebSocket on the command door", "if { req.hdr(upgrade) -m found }")}
${shapeRules().join("\n")}
${bodyRules(COMMAND_BODY_MAX).join("\n")}
  # Only our functions and SUBSCRIBE (the HTTP stream), spelled as our client spells
  # them; within the part of the body the edge sees, no '.' (an output-format
  # suffix) and no '?' (our client percent-encodes both inside arguments).
${deny(403, "FORBIDDEN", "this command is not served", `unless { req.body -m beg ${COMMAND_PREFIXES.join(" ")} }`)}
${deny(403, "FORBIDDEN", "raw . or ? in a command", "if { req.body -m sub . ? }")}
${limitRules(l).join("\n")}
  default_backend command_webdis

frontend subscribe_door
  bind ${host}:${o.subscribePort}${bindOpts}
  maxconn ${l.maxConnections}
${trackingRules("per_client_subscribe", l).join("\n")}
${replyHeaders.join("\n")}
${shapeRules().join("\n")}
  acl websocket_upgrade method GET
  acl websocket_upgrade_path path /.json
  acl websocket_upgrade_hdr req.hdr(upgrade) -i websocket
  http-request allow if websocket_upgrade websocket_upgrade_path websocket_upgrade_hdr
${deny(405, "METHOD_NOT_ALLOWED", "only POST and the WebSocket upgrade are served", "unless METH_POST")}
${deny(404, "NOT_FOUND", "only / is served", "unless { path / }")}
${bodyRules(SUBSCRIBE_BODY_MAX).join("\n")}
${deny(403, "FORBIDDEN", "only SUBSCRIBE/<channel> is served", "unless { req.body -m reg ^SUBSCRIBE/[A-Za-z0-9:_-]{1,128}\\z }")}
  default_backend subscribe_webdis

backend command_webdis
  server webdis ${o.commandBackend.host}:${o.commandBackend.port}

backend subscribe_webdis
${subscribeServers(o.subscribeBackend).join("\n")}
`;
}

function subscribeServers(b: Backend | Backend[]): string[] {
  if (!Array.isArray(b)) return [`  server webdis ${b.host}:${b.port}`];
  if (b.length === 1 && b[0]) return [`  server webdis ${b[0].host}:${b[0].port}`];
  return [
    // A follower holds its socket for hours: spread by how many each door holds now.
    "  balance leastconn",
    // The check asks through the door: PING reaches the door's replica (its
    // subscribe-only user may PING). A door whose replica died keeps its WebSockets
    // open but deaf (Webdis never closes them); marked down, its sessions are cut,
    // so its followers reconnect through the edge to a live door at once instead
    // of waiting for their silence watchdog.
    "  option httpchk",
    "  http-check send meth POST uri / ver HTTP/1.1 hdr host door hdr content-type text/plain body PING",
    "  http-check expect string PONG",
    "  default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions",
    ...b.map((x, i) => `  server webdis${i} ${x.host}:${x.port} check`),
  ];
}

export interface EdgeOptions extends Omit<EdgeConfigOptions, "commandPort" | "subscribePort"> {
  /** Ports to listen on; a free one is picked when missing or 0. */
  commandPort?: number;
  subscribePort?: number;
  /** Folder for haproxy.cfg; a temp folder (removed on stop) when missing. */
  dir?: string;
  /** Lines HAProxy writes to stderr (warnings, alerts); ignored when missing. */
  log?: (line: string) => void;
}

export interface Edge {
  /** The public doors: give these to clients (the Webdis ports are for the edge only). */
  readonly commandUrl: string;
  readonly subscribeUrl: string;
  readonly pid: number;
  readonly configFile: string;
  /** SIGTERM (hard stop: cuts open connections), SIGKILL after 5 s; resolves when gone. */
  stop(): Promise<void>;
}

export function missingHaproxyHelp(): string {
  return "haproxy is not installed. On Debian/Ubuntu: sudo apt-get install -y haproxy";
}

const sleep = (n: number) => new Promise((r) => setTimeout(r, n));

/** True once the edge answers with its own JSON refusal (a GET never reaches Webdis). */
async function answers(url: string): Promise<boolean> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(500) });
    await r.text();
    return r.status === 405 && r.headers.get("content-type") === "application/json";
  } catch {
    return false;
  }
}

/** The kernel's cap on SO_RCVBUF; SERVER_RCVBUF only takes effect up to it. */
export function rmemMax(): number | undefined {
  try {
    return Number(readFileSync("/proc/sys/net/core/rmem_max", "utf8").trim());
  } catch {
    return undefined;
  }
}

/**
 * Renders the config, has `haproxy -c` check it, runs `haproxy -db -f` (in
 * the foreground, as our child) and resolves once both doors answer.
 */
export async function startEdge(o: EdgeOptions): Promise<Edge> {
  const bin = findBinary("haproxy");
  if (!bin) throw new Error(missingHaproxyHelp());
  const cap = rmemMax();
  if (cap !== undefined && cap < SERVER_RCVBUF) {
    o.log?.(
      `net.core.rmem_max is ${cap}: the edge's ${SERVER_RCVBUF}-byte buffer towards Webdis is cut to it, so a ` +
        `subscriber that stops reading can leave Webdis holding messages (sysctl -w net.core.rmem_max=${SERVER_RCVBUF})`,
    );
  }
  const host = o.host ?? "127.0.0.1";
  const commandPort = o.commandPort || (await freePort());
  const subscribePort = o.subscribePort || (await freePort());
  const own = o.dir === undefined;
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), "relay-edge-"));
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, "haproxy.cfg");
  // 0600: with Redis routes it holds the health-check user's password.
  writeFileSync(configFile, edgeConfig({ ...o, host, commandPort, subscribePort }), { mode: 0o600 });
  chmodSync(configFile, 0o600);
  const cleanup = () => {
    if (own) rmSync(dir, { recursive: true, force: true });
  };
  const check = spawnSync(bin, ["-c", "-q", "-f", configFile], { encoding: "utf8" });
  if (check.status !== 0) {
    cleanup();
    throw new Error(`haproxy -c refused the edge config: ${`${check.stderr}${check.stdout}`.trim().slice(0, 2000)}`);
  }
  const child = spawn(bin, ["-db", "-f", configFile], { stdio: ["ignore", "ignore", "pipe"] });
  adopt(child);
  let tail = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    tail = (tail + d).slice(-4000);
    for (const line of d.split("\n")) if (line.trim()) o.log?.(line);
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const stop = async () => {
    if (!gone()) child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
    cleanup();
  };
  const commandUrl = `http://${host}:${commandPort}`;
  const subscribeUrl = `http://${host}:${subscribePort}`;
  const until = Date.now() + 10_000;
  for (;;) {
    if (gone()) {
      await stop();
      throw new Error(`haproxy exited during start-up: ${tail.trim().slice(-1000)}`);
    }
    if ((await answers(commandUrl)) && (await answers(subscribeUrl))) break;
    if (Date.now() > until) {
      await stop();
      throw new Error("haproxy did not answer within 10 s");
    }
    await sleep(25);
  }
  return { commandUrl, subscribeUrl, pid: child.pid ?? -1, configFile, stop };
}

/** Pure: an HAProxy config holding only TCP routes to Redis (no HTTP doors). */
export function routesOnlyConfig(routes: RedisRoute[], host = "127.0.0.1"): string {
  return `# Generated by src/server/edge.ts (routesOnlyConfig): TCP routes to the current primary.
global
  log stderr format raw local0 warning
  nbthread 1

${REDIS_DEFAULTS}

${routes.map((r) => redisRouteConfig(r, host)).join("\n\n")}
`;
}

export interface RedisRoutes {
  readonly pid: number;
  readonly configFile: string;
  stop(): Promise<void>;
}

/**
 * A small HAProxy of its own for the Redis routes of a topology (src/server/
 * topology.ts), so the command door can follow failovers wherever the public
 * edge runs, or with none. Resolves once every route has settled on a primary
 * (waitForRedisRoute).
 */
export async function startRedisRoutes(o: {
  routes: RedisRoute[];
  dir: string;
  host?: string;
  log?: (line: string) => void;
}): Promise<RedisRoutes> {
  const bin = findBinary("haproxy");
  if (!bin) throw new Error(missingHaproxyHelp());
  const host = o.host ?? "127.0.0.1";
  mkdirSync(o.dir, { recursive: true });
  const configFile = join(o.dir, "haproxy-routes.cfg");
  // 0600: it holds the health-check user's password.
  writeFileSync(configFile, routesOnlyConfig(o.routes, host), { mode: 0o600 });
  chmodSync(configFile, 0o600);
  const check = spawnSync(bin, ["-c", "-q", "-f", configFile], { encoding: "utf8" });
  if (check.status !== 0) {
    throw new Error(`haproxy -c refused the routes config: ${`${check.stderr}${check.stdout}`.trim().slice(0, 2000)}`);
  }
  const child = spawn(bin, ["-db", "-f", configFile], { stdio: ["ignore", "ignore", "pipe"] });
  adopt(child);
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    // HAProxy says each server state change twice: as a log line and as a
    // "[WARNING] (pid) : ..." copy of it in the foreground. One is enough.
    for (const line of d.split("\n")) if (line.trim() && !/^\[(WARNING|ALERT|NOTICE)\]/.test(line)) o.log?.(line);
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    for (const r of o.routes) await waitForRedisRoute(r.port, r.check, { host });
  } catch (e) {
    await stop();
    throw e;
  }
  return { pid: child.pid ?? -1, configFile, stop };
}
