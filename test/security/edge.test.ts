/**
 * The edge (src/server/edge.ts): a real haproxy in front of the real stack's
 * two Webdis doors (in containers mode the doors are on 127.0.0.1 host ports
 * too, so a native haproxy in front works in both modes). Issue 12: only our
 * request shapes reach Webdis, every reply is JSON and nosniff, bodies are
 * bounded, slowloris sockets are closed, pipelined replies come back in order,
 * per-client limits, subscribers that stop reading are cut before Webdis
 * buffers for them, and a real leader and followers work through it.
 *
 * RELAY_EDGE_BYPASS=1 points every test at the Webdis doors themselves (no
 * edge): that is how each test was seen to fail without the edge.
 * haproxy missing: skipped with a reason, except under CI=true (a failure).
 */
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { randomHex } from "../../src/core/secrets.ts";
import { createRelay, type Follower } from "../../src/node.ts";
import { COMMAND_BODY_MAX, type Edge, type EdgeOptions, SUBSCRIBE_BODY_MAX, startEdge } from "../../src/server/edge.ts";
import { findBinary } from "../../src/server/native.ts";
import { hasDoorFixes } from "../../src/server/webdis-bin.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { rawRequest, uniqueName, waitForSeq, waitForStatus } from "../support/util.ts";
import { baseKeyBytes, encodeAll, eventually, rawStream, sealedOf, sleep } from "./support.ts";

const haveHaproxy = findBinary("haproxy") !== undefined;
if (!haveHaproxy) {
  if (process.env.CI === "true") throw new Error("CI=true but haproxy is not installed (apt-get install -y haproxy)");
  console.warn("[edge] skipped: haproxy is not installed (apt-get install -y haproxy)");
}
const bypass = process.env.RELAY_EDGE_BYPASS === "1";

/** Small bounds, so the tests of timeouts and limits are short. */
const STRICT: Pick<EdgeOptions, "timeouts" | "limits"> = {
  timeouts: { httpRequestMs: 1_000, clientMs: 2_000, tunnelMs: 3_000 },
  limits: { connect: 5, reconnect: 3, stop: 3, start: 4, periodSeconds: 60, connectionsPerClient: 4 },
};

let stack: Stack;
/** The edge with its defaults, and one with STRICT bounds. */
let edge: Edge;
let strict: Edge;
/** The stack's two Webdis doors, as the edge's backends. */
let doors: Pick<EdgeOptions, "commandBackend" | "subscribeBackend">;
const log = (l: string) => console.warn(`[edge] haproxy: ${l}`);
const urls = (e: Edge) =>
  bypass ? { cmd: stack.webdisUrl, sub: stack.subscribeUrl } : { cmd: e.commandUrl, sub: e.subscribeUrl };
const portOf = (url: string) => Number(new URL(url).port);

beforeAll(async () => {
  if (!haveHaproxy) return;
  stack = await startStack();
  const backend = (url: string) => ({ host: new URL(url).hostname, port: portOf(url) });
  doors = { commandBackend: backend(stack.webdisUrl), subscribeBackend: backend(stack.subscribeUrl) };
  [edge, strict] = await Promise.all([startEdge({ ...doors, log }), startEdge({ ...doors, ...STRICT, log })]);
  console.log(
    `[edge] haproxy in front of ${stack.mode} doors, Webdis ${stack.webdisVersion}${bypass ? " (BYPASSED)" : ""}`,
  );
});
afterAll(async () => {
  await Promise.all([edge?.stop(), strict?.stop()]);
  await stack?.stop();
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One HTTP request on its own connection, from `localAddress` (a distinct client to the edge). */
function send(
  base: string,
  o: { method?: string; path?: string; body?: string; headers?: Record<string, string>; localAddress?: string },
): Promise<Reply> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.body !== undefined && !("transfer-encoding" in headers)) {
      headers["content-length"] = String(Buffer.byteLength(o.body));
    }
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        method: o.method ?? "POST",
        path: o.path ?? "/",
        headers,
        agent: false,
        localAddress: o.localAddress,
      },
      (res) => {
        let text = "";
        res.setEncoding("latin1");
        res.on("data", (c: string) => {
          text += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.setTimeout(15_000, () => req.destroy(new Error(`no reply from ${base}${o.path ?? "/"} within 15 s`)));
    req.on("error", reject);
    req.end(o.body);
  });
}

/** Calls of the commands a refused request would have run, on the primary and on the replica. */
async function reached(): Promise<Record<string, number>> {
  const parse = (info: unknown, prefix: string) => {
    const out: Record<string, number> = {};
    for (const m of String(info).matchAll(/^cmdstat_([a-z_|]+):calls=(\d+)/gm)) out[`${prefix}${m[1]}`] = Number(m[2]);
    return out;
  };
  const all = {
    ...parse(await stack.redis("INFO", "commandstats"), "primary:"),
    ...parse(await stack.replica("INFO", "commandstats"), "replica:"),
  };
  const watched = ["primary:fcall", "primary:fcall_ro", "primary:ping", "replica:subscribe", "replica:psubscribe"];
  return Object.fromEntries(watched.map((k) => [k, all[k] ?? 0]));
}

function expectJsonReply(r: Reply, what: string): void {
  expect(r.headers["content-type"], what).toBe("application/json");
  expect(r.headers["x-content-type-options"], what).toBe("nosniff");
}

/** The edge's own refusal: an error status and a JSON body naming a code. */
function expectRefused(r: Reply, what: string): void {
  expect(r.status, `${what}: ${r.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
  expectJsonReply(r, what);
  expect((JSON.parse(r.text) as { error?: unknown }).error, what).toMatch(/^[A-Z_0-9]+$/);
}

describe.skipIf(!haveHaproxy)("the edge", () => {
  it("refuses every other request shape on the command door, as JSON, and none reaches Webdis (attack 6)", async () => {
    const { cmd } = urls(edge);
    const form = { "content-type": "text/plain", origin: "http://attacker.invalid" };
    const cases: [string, Parameters<typeof send>[1]][] = [
      [".html suffix (GET)", { method: "GET", path: "/FCALL_RO/relay_list/0/-/100.html" }],
      [".xhtml suffix (GET)", { method: "GET", path: "/FCALL_RO/relay_version/0.xhtml" }],
      ["?jsonp= (GET)", { method: "GET", path: "/FCALL_RO/relay_version/0?jsonp=alert(document.domain)" }],
      ["?type=text/html (GET)", { method: "GET", path: "/FCALL_RO/relay_version/0?type=text/html" }],
      ["command in the path (POST)", { path: "/FCALL_RO/relay_version/0.html", body: "" }],
      ["?type= on POST /", { path: "/?type=text/html", body: "FCALL_RO/relay_version/0" }],
      ["?jsonp= on POST /", { path: "/?jsonp=x", body: "FCALL_RO/relay_version/0" }],
      [
        "<form enctype=text/plain> (a navigation)",
        {
          body: "FCALL_RO/relay_list/0/-/100.html=x",
          headers: { ...form, "sec-fetch-mode": "navigate", "sec-fetch-dest": "document" },
        },
      ],
      ["<form enctype=text/plain> (no fetch metadata)", { body: "FCALL_RO/relay_version/0.html=x", headers: form }],
      ["PUT", { method: "PUT", body: "FCALL_RO/relay_version/0" }],
      ["OPTIONS", { method: "OPTIONS" }],
      ["HEAD", { method: "HEAD" }],
      ["DELETE", { method: "DELETE" }],
      ["PING", { body: "PING" }],
      ["lower-case fcall_ro", { body: "fcall_ro/relay_version/0" }],
      ["percent-encoded name", { body: "FCALL_RO/relay%5Fversion/0" }],
      ["database prefix", { body: "/0/FCALL_RO/relay_version/0" }],
      ["FCALL_RO of a limited function", { body: "FCALL_RO/relay_connect/1/x/y/z" }],
      ["another command", { body: "FCALL/other_function/0" }],
      ["chunked body", { body: "FCALL_RO/relay_version/0", headers: { "transfer-encoding": "chunked" } }],
      ["no body", { body: "" }],
      [
        "a WebSocket upgrade",
        {
          method: "GET",
          path: "/.json",
          headers: { upgrade: "websocket", connection: "upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" },
        },
      ],
      ["a WebSocket upgrade on POST", { body: "FCALL_RO/relay_version/0", headers: { upgrade: "websocket" } }],
    ];
    const before = await reached();
    for (const [what, c] of cases) {
      const r = await send(cmd, c);
      expect(r.headers["content-type"], what).not.toMatch(/html|javascript/);
      if (c.method === "HEAD") {
        expect(r.status, what).toBe(405);
        expectJsonReply(r, what);
      } else expectRefused(r, what);
    }
    // What HAProxy's own parser refuses (malformed, an upgrade without a key, two
    // lengths) it closes without a reply: never its built-in text/html page.
    for (const raw of [
      "GET /.json HTTP/1.1\r\nHost: edge\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: edge\r\nBad header\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: edge\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nPING!",
      "GET /<script> HTTP/1.1\r\n\r\n",
    ]) {
      const got = await rawRequest(portOf(cmd), raw, 3_000);
      expect(got, raw).not.toMatch(/text\/html|<html/i);
      if (got) expect(got, raw).toMatch(/content-type: application\/json/i);
    }
    expect(await reached()).toEqual(before);
  });

  it("refuses everything but SUBSCRIBE/<channel> and the /.json upgrade on the subscription door", async () => {
    const { sub } = urls(edge);
    const ws = { upgrade: "websocket", connection: "upgrade", "sec-websocket-version": "13", origin: sub };
    const key = { "sec-websocket-key": Buffer.from(randomHex(8)).toString("base64") };
    const cases: [string, Parameters<typeof send>[1]][] = [
      ["GET /SUBSCRIBE/x", { method: "GET", path: "/SUBSCRIBE/x" }],
      ["GET /.json without upgrade", { method: "GET", path: "/.json" }],
      ["upgrade elsewhere", { method: "GET", path: "/x.json", headers: { ...ws, ...key } }],
      ["upgrade with a query", { method: "GET", path: "/.json?jsonp=x", headers: { ...ws, ...key } }],
      ["PING", { body: "PING" }],
      ["a suffix", { body: "SUBSCRIBE/chan.html" }],
      ["two channels", { body: "SUBSCRIBE/a/b" }],
      // PCRE's $ matches before a final newline; the rule ends with \z.
      ["a trailing newline", { body: "SUBSCRIBE/chan\n" }],
      ["PSUBSCRIBE", { body: "PSUBSCRIBE/*" }],
      ["UNSUBSCRIBE", { body: "UNSUBSCRIBE/a" }],
      ["?type=", { path: "/?type=text/html", body: "SUBSCRIBE/chan" }],
      ["a command", { body: "FCALL_RO/relay_version/0" }],
    ];
    const before = await reached();
    for (const [what, c] of cases) expectRefused(await send(sub, c), what);
    expect(await reached()).toEqual(before);
  });

  it("answers what it lets through as JSON and nosniff too, HTTP stream included", async () => {
    const { cmd, sub } = urls(edge);
    for (const base of [cmd]) {
      const r = await send(base, { body: "FCALL_RO/relay_version/0" });
      expect(r.status).toBe(200);
      expectJsonReply(r, "relay_version");
      expect(JSON.parse(r.text)).toHaveProperty("FCALL_RO");
    }
    // A suffix past the part of the body the edge inspects (its 16 KiB buffer) reaches
    // Webdis, which answers it as text/html: the edge still says application/json.
    const late = await send(cmd, { body: `FCALL_RO/relay_version/0/${"x".repeat(40_000)}.html` });
    expect(late.status, late.text.slice(0, 200)).toBe(200);
    expectJsonReply(late, "a suffix beyond the inspected part");
    for (const base of [cmd, sub]) {
      // On Webdis 0.1.9 (CI's second pass) a connection the edge opens right after the
      // .html request above can be cut by Webdis mid-answer (its late replies land on a
      // socket it has given to another client: SECURITY.md, attack 1; CI runs 23-40 and
      // 63 saw "other side closed" here once each). The edge never forwards such bytes as
      // an answer; one more try on a new connection is enough to check the headers.
      const subscribe = () =>
        fetch(`${base}/`, {
          method: "POST",
          body: `SUBSCRIBE/${uniqueName("hdr")}`,
          signal: AbortSignal.timeout(5_000),
        });
      const res = await subscribe().catch((e: Error) => {
        if (hasDoorFixes(stack.webdisVersion)) throw e;
        return subscribe();
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/json");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      await res.body?.cancel();
    }
  });

  it("refuses a body over the bound with 413 before it reaches Webdis; the bound itself passes", async () => {
    const { cmd, sub } = urls(edge);
    const pad = (prefix: string, n: number) => prefix + "x".repeat(n - prefix.length);
    const before = await reached();
    // Headers that announce one byte over the bound, then the first 100 KB: the edge
    // decides once its buffer is full. (Writing all 4 MiB would race its reply with
    // EPIPE: it closes as soon as it answered.)
    const head = `POST / HTTP/1.1\r\nHost: edge\r\nContent-Length: ${COMMAND_BODY_MAX + 1}\r\n\r\n`;
    const raw = await rawRequest(portOf(cmd), head + pad("FCALL/relay_publish/1/", 100_000), 10_000);
    const [headers = "", body = ""] = raw.split("\r\n\r\n");
    expect(headers, raw.slice(0, 300)).toMatch(/^HTTP\/1\.1 413 /);
    expect(headers).toMatch(/content-type: application\/json/i);
    expect(headers).toMatch(/x-content-type-options: nosniff/i);
    expect(JSON.parse(body)).toMatchObject({ error: "TOO_LARGE" });
    const subOver = await send(sub, { body: pad("SUBSCRIBE/", SUBSCRIBE_BODY_MAX + 1) });
    expect(subOver.status, subOver.text.slice(0, 200)).toBe(413);
    expect(await reached()).toEqual(before);
    // Exactly the bound reaches Webdis (and Lua refuses it: not a valid call).
    const at = await send(cmd, { body: pad("FCALL/relay_publish/1/", COMMAND_BODY_MAX) });
    expect(at.status, at.text.slice(0, 200)).toBe(200);
    expect(at.text).toContain('"FCALL"');
  });

  it("closes slowloris sockets (headers or body never finished) within timeout http-request", async () => {
    const { cmd } = urls(strict);
    const port = portOf(cmd);
    const t0 = Date.now();
    let answered = "";
    // Distinct client addresses, so the per-client connection cap plays no part here.
    const socks = Array.from({ length: 20 }, (_, i) => {
      const s = connect({ host: "127.0.0.1", port, localAddress: `127.0.1.${i + 1}` });
      s.on("error", () => {});
      s.on("data", (d) => {
        answered += d.toString("latin1");
      });
      const closed = new Promise<number>((r) => s.once("close", () => r(Date.now() - t0)));
      const head = "POST / HTTP/1.1\r\nHost: edge\r\n";
      s.once("connect", () => s.write(i % 2 ? head : `${head}Content-Length: 100\r\n\r\nFCALL/relay_ver`));
      // Keep trickling: a header line (or a body byte) every 200 ms, never done.
      const timer = setInterval(() => s.writable && s.write(i % 2 ? `X-Slow-${Date.now()}: 1\r\n` : "x"), 200);
      s.once("close", () => clearInterval(timer));
      return { s, closed, timer };
    });
    const gone = await Promise.race([Promise.all(socks.map((x) => x.closed)), sleep(15_000).then(() => undefined)]);
    for (const x of socks) {
      clearInterval(x.timer);
      x.s.destroy();
    }
    expect(gone, "slowloris sockets still open after 15 s").toBeDefined();
    expect(answered).not.toMatch(/text\/html|<html/i);
    console.log(
      `[edge] 20 slowloris sockets closed within ${Math.max(...(gone ?? []))} ms (timeout http-request 1000 ms)`,
    );
  });

  it("answers pipelined requests in order (attack 14)", async () => {
    const { cmd } = urls(edge);
    const s = await rawStream(stack, "pipe");
    // A heavy publish: 900 KB of sealed content as a whole state, each on the
    // seq the one before it made (so both land only if they run in order).
    let base = 0;
    const heavy = () =>
      [
        "FCALL",
        "relay_publish",
        "1",
        encodeAll(baseKeyBytes(s.name)),
        encodeAll(s.name),
        encodeAll(s.token),
        "1",
        randomHex(16),
        String(base++),
        "s",
        sealedOf(900_000),
      ].join("/");
    const light = "FCALL_RO/relay_version/0";
    const order = [heavy(), light, light, heavy(), light, light];
    const wire = order
      .map((b) => `POST / HTTP/1.1\r\nHost: edge\r\nContent-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`)
      .join("");
    const replies = await new Promise<string[]>((resolve) => {
      const sock: Socket = connect({ host: "127.0.0.1", port: portOf(cmd) });
      let buf = Buffer.alloc(0);
      const got: string[] = [];
      const done = () => {
        clearTimeout(timer);
        sock.destroy();
        resolve(got);
      };
      const timer = setTimeout(done, 20_000);
      sock.on("error", done);
      sock.on("connect", () => sock.write(wire));
      sock.on("data", (d) => {
        buf = Buffer.concat([buf, d]);
        for (;;) {
          const h = buf.indexOf("\r\n\r\n");
          if (h < 0) break;
          const n = Number(/content-length: *(\d+)/i.exec(buf.subarray(0, h).toString())?.[1] ?? Number.NaN);
          if (!(n >= 0) || buf.length < h + 4 + n) break;
          got.push(buf.subarray(h + 4, h + 4 + n).toString());
          buf = buf.subarray(h + 4 + n);
        }
        if (got.length === order.length) done();
      });
    });
    const named = replies.map((r) => Object.keys(JSON.parse(r) as object)[0]);
    expect(named).toEqual(order.map((b) => (b.startsWith("FCALL/") ? "FCALL" : "FCALL_RO")));
    const published = replies.filter((r) => r.startsWith('{"FCALL":')).map((r) => JSON.parse(r).FCALL);
    expect(published.map((v) => JSON.parse(String(v)).seq)).toEqual([1, 2]);
  });

  it("limits relay_connect, reconnect, stop and start per client address with a JSON 429; other clients go on", async () => {
    const { cmd } = urls(strict);
    const limits = STRICT.limits as Required<NonNullable<EdgeOptions["limits"]>>;
    const fns = [
      ["relay_connect", limits.connect],
      ["relay_reconnect", limits.reconnect],
      ["relay_stop", limits.stop],
      ["relay_start", limits.start],
    ] as const;
    let addr = 2;
    for (const [fn, limit] of fns) {
      const flooder = `127.0.0.${addr++}`;
      const other = `127.0.0.${addr++}`;
      const name = uniqueName("rl");
      // Lua refuses these calls (bad arguments); the edge only counts them.
      const body = `FCALL/${fn}/1/${encodeAll(baseKeyBytes(name))}/${encodeAll(name)}/${randomHex(32)}`;
      for (let i = 0; i < limit; i++) {
        const r = await send(cmd, { body, localAddress: flooder });
        expect(r.status, `${fn} #${i + 1}: ${r.text.slice(0, 200)}`).toBe(200);
      }
      const limited = await send(cmd, { body, localAddress: flooder });
      expect(limited.status, `${fn} over the limit: ${limited.text.slice(0, 200)}`).toBe(429);
      expectRefused(limited, fn);
      expect(JSON.parse(limited.text)).toMatchObject({ error: "RATE_LIMITED" });
      expect(limited.headers["retry-after"]).toBe(String(limits.periodSeconds));
      // Another client is not limited; the flooder's other calls are not either.
      expect((await send(cmd, { body, localAddress: other })).status).toBe(200);
      expect((await send(cmd, { body: "FCALL_RO/relay_version/0", localAddress: flooder })).status).toBe(200);
    }
  });

  it("caps open connections per client address with a JSON 429", async () => {
    const { cmd } = urls(strict);
    const cap = STRICT.limits?.connectionsPerClient as number;
    const holder = "127.0.0.20";
    // Each HTTP-stream subscription holds its connection open.
    const held = await Promise.all(
      Array.from({ length: cap }, async () => {
        const abort = new AbortController();
        await new Promise<void>((resolve, reject) => {
          const u = new URL(cmd);
          const body = `SUBSCRIBE/${uniqueName("cap")}`;
          const req = request(
            {
              host: u.hostname,
              port: u.port,
              method: "POST",
              path: "/",
              agent: false,
              localAddress: holder,
              headers: { "content-length": String(body.length) },
              signal: abort.signal,
            },
            (res) => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))),
          );
          req.on("error", () => {});
          req.end(body);
        });
        return abort;
      }),
    );
    try {
      const over = await send(cmd, { body: "FCALL_RO/relay_version/0", localAddress: holder });
      expect(over.status, over.text).toBe(429);
      expectRefused(over, "connection cap");
      expect(JSON.parse(over.text)).toMatchObject({ error: "TOO_MANY_CONNECTIONS" });
      expect((await send(cmd, { body: "FCALL_RO/relay_version/0", localAddress: "127.0.0.21" })).status).toBe(200);
    } finally {
      for (const a of held) a.abort();
    }
  });

  it("carries a real leader and followers (WebSocket, HTTP stream on either door) end to end", async () => {
    const { cmd, sub } = urls(edge);
    const relay = createRelay({ url: cmd, subscribeUrl: sub, heartbeatMs: 0 });
    const viaSubStream = createRelay({ url: cmd, subscribeUrl: sub, transports: ["http-stream"], heartbeatMs: 0 });
    const viaCmdStream = createRelay({ url: cmd, heartbeatMs: 0 });
    const name = uniqueName("e2e");
    const creds = { password: randomHex(8), code: randomHex(8) };
    const leader = await relay.start(name, creds);
    const followers: Follower[] = [];
    try {
      for (const r of [relay, viaSubStream, viaCmdStream]) followers.push(await r.connect(name, creds));
      expect(followers.map((f) => f.transport)).toEqual(["websocket", "http-stream", "http-stream"]);
      for (const f of followers) await waitForStatus(f, "live");
      for (let i = 1; i <= 3; i++) await leader.publish({ title: `plan ${i}`, waypoints: [{ x: i, y: 2 * i }] });
      for (const f of followers) {
        await waitForSeq(f, 3, 10_000);
        expect(f.state).toEqual({ title: "plan 3", waypoints: [{ x: 3, y: 6 }] });
      }
      const page = await relay.list({ count: 100 });
      expect(page.streams.map((s) => s.name)).toContain(name);
      await leader.stop();
      for (const f of followers) await waitForStatus(f, "ended", 10_000);
    } finally {
      for (const f of followers) f.disconnect();
      leader.close();
    }
  });

  it("keeps a follower on its door through a quiet leader when its doors are edges (they refuse the probe's PING: no sign of a dead door)", async () => {
    const { cmd } = urls(edge);
    // Two edges with the default timeouts in front of the same stack, as two doors (not
    // the strict one: its 3 s tunnel timeout cuts a quiet WebSocket, which is another
    // matter): the follower probes its door after 1 s of silence (heartbeats expected
    // every 500 ms; this leader sends none).
    const second = await startEdge({ ...doors, log });
    const subscribeUrls = [urls(edge).sub, urls(second).sub];
    const quiet = createRelay({ url: cmd, heartbeatMs: 0 });
    const watchful = createRelay({ urls: [cmd], subscribeUrls, heartbeatMs: 500, staleAfterMs: 60_000 });
    const name = uniqueName("quiet");
    const creds = { password: randomHex(8), code: randomHex(8) };
    const leader = await quiet.start(name, creds);
    const follower = await watchful.connect(name, creds);
    try {
      await waitForStatus(follower, "live");
      const door = follower.door;
      const changes: string[] = [];
      follower.on("status", (e) => changes.push(`${e.status}: ${e.reason ?? e.code}`));
      await sleep(4_000);
      expect(changes, "the follower left a door that works").toEqual([]);
      expect(follower.door).toBe(door);
      await leader.publish({ title: "after the quiet", waypoints: [] });
      await waitForSeq(follower, 1, 5_000);
    } finally {
      follower.disconnect();
      leader.close();
      await second.stop();
    }
  });

  // Last in the file: a failure here can leave the subscription door holding memory.
  it("cuts subscribers that stop reading before Webdis buffers for them (attack 2), and says the bound", async () => {
    const { sub } = urls(strict);
    // One channel per kind, so a failure says which kind the edge did not cut.
    const channels = { http: uniqueName("deaf-http"), ws: uniqueName("deaf-ws") };
    const numsub = async (channel: string) =>
      Number(((await stack.replica("PUBSUB", "NUMSUB", channel)) as unknown[])[1]);
    const subscribed = async () => ({ http: await numsub(channels.http), ws: await numsub(channels.ws) });
    const rss = async () => (await stack.door("subscribe-door")).rssBytes;
    const MiB = 1024 * 1024;
    // 4 HTTP-stream and 2 WebSocket subscribers that never read a byte.
    const deaf: Socket[] = [];
    for (let i = 0; i < 4; i++) {
      const s = connect({ host: "127.0.0.1", port: portOf(sub), localAddress: `127.0.2.${i + 1}` });
      s.pause();
      s.on("error", () => {});
      const body = `SUBSCRIBE/${channels.http}`;
      s.write(`POST / HTTP/1.1\r\nHost: edge\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      deaf.push(s);
    }
    const sockets: WebSocket[] = [];
    for (let i = 0; i < 2; i++) {
      const ws = new WebSocket(`${sub.replace(/^http/, "ws")}/.json`, {
        origin: sub,
        localAddress: `127.0.3.${i + 1}`,
      });
      ws.on("error", () => {});
      await new Promise((r) => ws.once("open", r));
      ws.send(JSON.stringify(["SUBSCRIBE", channels.ws]));
      sockets.push(ws);
    }
    // A subscriber that reads, on the same door: the messages do flow through it. An HTTP
    // stream: Webdis 0.1.9 breaks WebSocket frames over 65,535 bytes (webdis-notes.md).
    let heard = 0;
    const readerBody = `SUBSCRIBE/${channels.http}`;
    const reader = request(
      {
        host: "127.0.0.1",
        port: portOf(sub),
        method: "POST",
        path: "/",
        agent: false,
        localAddress: "127.0.3.9",
        headers: { "content-length": String(readerBody.length) },
      },
      (res) => res.on("data", (d: Buffer) => (heard += d.length)),
    );
    reader.on("error", () => {});
    reader.end(readerBody);
    expect(
      await eventually(async () => (await numsub(channels.http)) === 5 && (await numsub(channels.ws)) === 2, 5_000),
    ).toBe(true);
    for (const ws of sockets) (ws as unknown as { _socket: Socket })._socket.pause();
    const base = await rss();
    // 2 MiB/s in 64 KiB messages on each channel, paced by the clock (no bursts): above a
    // stream's default publish budget (16 MiB per 10 s), and within the bound the edge
    // documents (rate x the longest cut timeout, tunnel 3 s here, fits the 8 MiB
    // tune.rcvbuf.server gives: src/server/edge.ts). Past that bound Webdis buffers for
    // the deaf subscribers at the cut, and then never lets them go.
    const message = "x".repeat(64 * 1024);
    const every = (message.length / (2 * MiB)) * 1000;
    let published = 0;
    let publishing = true;
    const t0 = Date.now();
    const publisher = (async () => {
      for (let n = 1; publishing; n++) {
        await Promise.all([
          stack.redis("PUBLISH", channels.http, message),
          stack.redis("PUBLISH", channels.ws, message),
        ]);
        published += message.length;
        await sleep(Math.max(0, t0 + n * every - Date.now()));
      }
    })();
    try {
      // The subscription counts show the cut early (Redis drops them when Webdis lets go);
      // they are not the verdict: Webdis can keep a cut client's Redis subscription
      // without holding anything for it (seen once natively, door RSS flat).
      await eventually(
        async () => {
          const n = await subscribed();
          return n.http === 1 && n.ws === 0;
        },
        15_000,
        100,
      );
      const cutMs = Date.now() - t0;
      const atCut = await rss();
      const left = await subscribed();
      // Keep publishing: a cut subscriber must cost Webdis nothing more.
      const more = published;
      await sleep(3_000);
      const after = await rss();
      const rate = (published / MiB) * (1000 / (Date.now() - t0));
      publishing = false;
      await publisher;
      // The verdict: read now. A subscriber the edge cut drains what its kernel holds
      // and sees the end; one it did not cut would still be streaming.
      const ended = await Promise.all([
        ...deaf.map(
          (d) =>
            new Promise<boolean>((resolve) => {
              const timer = setTimeout(() => resolve(false), 5_000);
              d.once("close", () => {
                clearTimeout(timer);
                resolve(true);
              });
              d.on("data", () => {});
              d.resume();
            }),
        ),
        ...sockets.map(
          (ws) =>
            new Promise<boolean>((resolve) => {
              if (ws.readyState === WebSocket.CLOSED) return resolve(true);
              const timer = setTimeout(() => resolve(false), 5_000);
              ws.once("close", () => {
                clearTimeout(timer);
                resolve(true);
              });
              (ws as unknown as { _socket: Socket })._socket.resume();
            }),
        ),
      ]);
      const open = { http: ended.slice(0, 4).filter((e) => !e).length, ws: ended.slice(4).filter((e) => !e).length };
      console.log(
        `[edge] 6 deaf subscribers (4 HTTP stream, 2 WebSocket), ${rate.toFixed(1)} MiB/s each: ` +
          `subscriptions gone after ${cutMs} ms (Redis still counts ${left.http} HTTP, the reader's included, and ${left.ws} WebSocket); ` +
          `subscription door RSS ${(base / MiB).toFixed(1)} -> ${(atCut / MiB).toFixed(1)} MiB -> ` +
          `${(after / MiB).toFixed(1)} MiB after ${((published - more) / MiB).toFixed(1)} MiB more per subscriber had been published`,
      );
      const why =
        `at ${rate.toFixed(1)} MiB/s, ${open.http} of 4 HTTP-stream and ${open.ws} of 2 WebSocket deaf subscribers ` +
        `were not cut by the edge; the reading one heard ${(heard / MiB).toFixed(1)} MiB`;
      expect(open, why).toEqual({ http: 0, ws: 0 });
      // Webdis 0.1.9 delivers none of these 64 KiB messages to a reader (only the subscribe
      // reply), so there the check says only that it stays bounded.
      if (hasDoorFixes(stack.webdisVersion))
        expect(heard, "the reading subscriber heard the messages").toBeGreaterThan(10 * message.length);
      // Had they stayed subscribed, Webdis would hold 6 x all of it. Generous: allocator noise.
      expect(after - base).toBeLessThan(24 * MiB);
    } finally {
      publishing = false;
      await publisher;
      for (const s of deaf) s.destroy();
      for (const ws of sockets) ws.terminate();
      reader.destroy();
    }
    // Up to 15 s for the cut, 3 s more watched, 5 s to read: a test timeout below that
    // would leave the publisher flooding the doors into the next tests.
  }, 60_000);
});
