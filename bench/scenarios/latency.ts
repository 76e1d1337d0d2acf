/**
 * 2. End-to-end latency: one publish -> one follower has it (same process, same
 * clock), after a warm-up, one publish at a time. Same ~1 KB plan everywhere.
 *   relay:      leader.publish(state) (FCALL relay_publish over HTTP) -> follower 'state' (WebSocket)
 *   raw Redis:  ioredis PUBLISH -> ioredis subscriber (the floor)
 *   Webdis:     POST PUBLISH through a bench-only Webdis with PUBLISH enabled -> WebSocket SUBSCRIBE
 *   Socket.IO:  emit('publish') with ack -> server stores seq+state in Redis, io.to(room).emit
 *               -> follower socket; with the Redis adapter, follower on a second server
 *               (cross-node, via Redis) and on the same server.
 */
import { Redis } from "ioredis";
import { io as ioClient, type Socket } from "socket.io-client";
import WebSocket from "ws";
import { commandBody } from "../../src/core/wire.ts";
import { createRelay } from "../../src/node.ts";
import type { Ctx } from "../lib/ctx.ts";
import { makePlan } from "../lib/plan.ts";
import { Scenario } from "../lib/report.ts";
import { startSocketIoServer } from "../lib/socketio.ts";
import { hex } from "../lib/stack.ts";
import { percentile, sleep, until } from "../lib/stats.ts";

const WAIT_MS = 5_000;

/** One-shot waiter for the follower side: resolve(rev) settles the pending sample. */
class Waiter {
  #want = -1;
  #res: ((t: number) => void) | undefined;
  next(rev: number): Promise<number> {
    this.#want = rev;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`rev ${rev} not received within ${WAIT_MS} ms`)), WAIT_MS);
      this.#res = (at) => {
        clearTimeout(t);
        resolve(at);
      };
    });
  }
  got(rev: number) {
    if (rev === this.#want && this.#res) {
      const r = this.#res;
      this.#res = undefined;
      r(performance.now());
    }
  }
}

async function sample(warm: number, n: number, once: (rev: number) => Promise<number>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < warm + n; i++) {
    const ms = await once(i + 1);
    if (i >= warm) out.push(ms);
    await sleep(2);
  }
  return out;
}

export async function latency(ctx: Ctx): Promise<Scenario> {
  const sc = new Scenario(2, "End-to-end latency, publish -> follower has it");
  const { stack, quick } = ctx;
  const warm = quick ? 20 : 50;
  const n = quick ? 80 : 400;
  const base = makePlan(1024, 11);
  const stateOf = (rev: number) => ({ ...base, rev });
  const record = (key: string, label: string, xs: number[]) => {
    sc.fig(`${key}_p50`, `${label} p50`, percentile(xs, 50), "ms");
    sc.fig(`${key}_p99`, `${label} p99`, percentile(xs, 99), "ms");
  };

  // --- relay (the product's client): HTTP stream on the command door, WebSocket on the subscription door ---
  const relayRun = async (subscribeUrl: string | undefined, transport: "websocket" | "http-stream") => {
    const relay = createRelay({ url: stack.webdis.url, subscribeUrl, transports: [transport], heartbeatMs: 0 });
    const name = `lat-${hex(4)}`;
    const leader = await relay.start(name, { password: "bench-pw", code: "bench-code" });
    const follower = await relay.connect(name, { password: "bench-pw" });
    try {
      await until("follower live", () => follower.status === "live", 10_000);
      if (follower.transport !== transport) throw new Error(`follower uses ${follower.transport}, not ${transport}`);
      const w = new Waiter();
      follower.on("state", (u) => w.got((u.state as { rev?: number }).rev ?? -1));
      return await sample(warm, n, async (rev) => {
        const got = w.next(rev);
        const t0 = performance.now();
        leader.publish(stateOf(rev)).catch(() => {});
        return (await got) - t0;
      });
    } finally {
      follower.disconnect();
      await leader.stop().catch(() => {});
    }
  };
  record(
    "relay",
    "relay: leader.publish -> follower (HTTP stream, command door)",
    await relayRun(undefined, "http-stream"),
  );
  const wsWebdis = await stack.wsWebdis();
  record(
    "relay_ws",
    `relay: leader.publish -> follower (WebSocket, ${stack.wsLabel})`,
    await relayRun(wsWebdis.url, "websocket"),
  );

  // --- raw Redis pub/sub (floor) ---
  {
    const pub = new Redis({ port: stack.redisPort, host: "127.0.0.1" });
    const sub = new Redis({ port: stack.redisPort, host: "127.0.0.1" });
    const ch = `raw-${hex(8)}`;
    await sub.subscribe(ch);
    const w = new Waiter();
    sub.on("message", (_c: string, msg: string) => w.got((JSON.parse(msg) as { state: { rev: number } }).state.rev));
    const xs = await sample(warm, n, async (rev) => {
      const got = w.next(rev);
      const t0 = performance.now();
      void pub.publish(ch, JSON.stringify({ v: 1, t: "state", seq: rev, ts: Date.now(), state: stateOf(rev) }));
      return (await got) - t0;
    });
    record("redis", "raw Redis pub/sub (ioredis)", xs);
    pub.disconnect();
    sub.disconnect();
  }

  // --- Webdis PUBLISH -> WebSocket (bench-only Webdis with PUBLISH enabled) ---
  {
    const acl = [
      { disabled: ["*"] },
      { enabled: ["FCALL", "FCALL_RO", "SUBSCRIBE", "UNSUBSCRIBE", "PING", "PUBLISH"] },
    ];
    const wd = await stack.startWebdis("publish", { acl, websockets: true });
    try {
      const ch = `wd-${hex(8)}`;
      const ws = new WebSocket(`ws://127.0.0.1:${wd.port}/.json`, { origin: wd.url });
      const w = new Waiter();
      let subscribed = false;
      ws.on("message", (data) => {
        const frame = JSON.parse(String(data)) as { SUBSCRIBE?: [string, string, unknown] };
        const body = frame.SUBSCRIBE;
        if (!body) return;
        if (body[0] === "subscribe") subscribed = true;
        else if (body[0] === "message") w.got((JSON.parse(String(body[2])) as { state: { rev: number } }).state.rev);
      });
      await new Promise<void>((r, j) => {
        ws.once("open", () => r());
        ws.once("error", j);
      });
      ws.send(JSON.stringify(["SUBSCRIBE", ch]));
      await until("webdis subscribe", () => subscribed, 5_000);
      const xs = await sample(warm, n, async (rev) => {
        const got = w.next(rev);
        const t0 = performance.now();
        const body = commandBody("PUBLISH", [
          ch,
          JSON.stringify({ v: 1, t: "state", seq: rev, ts: Date.now(), state: stateOf(rev) }),
        ]);
        void fetch(`${wd.url}/`, {
          method: "POST",
          body,
          headers: { "content-type": "text/plain;charset=UTF-8" },
        }).then((r) => r.text());
        return (await got) - t0;
      });
      record("webdis", "Webdis PUBLISH (HTTP) -> WebSocket", xs);
      ws.terminate();
    } finally {
      await wd.proc.stop("SIGKILL");
    }
  }

  // --- Socket.IO + @socket.io/redis-adapter, two servers ---
  {
    const [a, b] = await Promise.all([startSocketIoServer(stack.redisPort), startSocketIoServer(stack.redisPort)]);
    const sockets: Socket[] = [];
    const connect = async (url: string) => {
      const s = ioClient(url, { transports: ["websocket"], reconnection: false });
      sockets.push(s);
      await new Promise<void>((r, j) => {
        s.once("connect", () => r());
        s.once("connect_error", j);
      });
      return s;
    };
    try {
      const room = `sio-${hex(6)}`;
      const leader = await connect(a.url);
      for (const [key, label, url] of [
        ["sio_cross", "Socket.IO + Redis adapter, follower on another server", b.url],
        ["sio_same", "Socket.IO + Redis adapter, follower on the same server", a.url],
      ] as const) {
        const follower = await connect(url);
        await follower.timeout(5_000).emitWithAck("join", room);
        const w = new Waiter();
        follower.on("state", (m: { state: { rev: number } }) => w.got(m.state.rev));
        const xs = await sample(warm, n, async (rev) => {
          const got = w.next(rev);
          const t0 = performance.now();
          void leader
            .timeout(5_000)
            .emitWithAck("publish", { room, state: stateOf(rev) })
            .catch(() => {});
          return (await got) - t0;
        });
        record(key, label, xs);
        follower.disconnect();
      }
    } finally {
      for (const s of sockets) s.disconnect();
      await Promise.all([a.stop(), b.stop()]);
    }
  }

  sc.ratio("relay_vs_webdis_p50", "relay (HTTP stream) p50 / Webdis PUBLISH->WS p50", "relay_p50", "webdis_p50");
  sc.ratio("relay_ws_vs_webdis_p50", "relay (WebSocket) p50 / Webdis PUBLISH->WS p50", "relay_ws_p50", "webdis_p50");
  sc.ratio("relay_vs_sio_p50", "relay (HTTP stream) p50 / Socket.IO cross-server p50", "relay_p50", "sio_cross_p50");
  sc.ratio(
    "relay_ws_vs_sio_p50",
    "relay (WebSocket) p50 / Socket.IO cross-server p50",
    "relay_ws_p50",
    "sio_cross_p50",
  );
  sc.ratio("relay_vs_sio_same_p50", "relay p50 / Socket.IO same-server p50", "relay_p50", "sio_same_p50");
  sc.ratio("relay_vs_redis_p50", "relay p50 / raw Redis pub/sub p50", "relay_p50", "redis_p50");
  sc.ratio("relay_vs_webdis_p99", "relay p99 / Webdis PUBLISH->WS p99", "relay_p99", "webdis_p99");
  const r1 = sc.get("relay_p50");
  const wd = sc.get("webdis_p50");
  const sio = sc.get("sio_cross_p50");
  const ratio = r1 !== null && wd ? r1 / wd : null;
  sc.target(
    "e2e_vs_webdis",
    "e2e p50 (HTTP stream, command door) <= 1.5x raw Webdis PUBLISH->WS",
    "<= 1.5 x",
    ratio,
    "x",
    ratio === null ? null : ratio <= 1.5,
  );
  const rw = sc.get("relay_ws_p50");
  const ratioWs = rw !== null && wd ? rw / wd : null;
  sc.target(
    "e2e_ws_vs_webdis",
    "e2e p50 (WebSocket transport) <= 1.5x raw Webdis PUBLISH->WS",
    "<= 1.5 x",
    ratioWs,
    "x",
    ratioWs === null ? null : ratioWs <= 1.5,
  );
  sc.target(
    "e2e_vs_socketio",
    "e2e p50 (HTTP stream, command door) below Socket.IO (cross-server, Redis adapter)",
    `< ${sio?.toFixed(2) ?? "?"} ms`,
    r1,
    "ms",
    r1 === null || sio === null ? null : r1 < sio,
  );
  sc.target(
    "e2e_ws_vs_socketio",
    "e2e p50 (WebSocket) below Socket.IO (cross-server, Redis adapter)",
    `< ${sio?.toFixed(2) ?? "?"} ms`,
    rw,
    "ms",
    rw === null || sio === null ? null : rw < sio,
  );
  sc.note(
    `HTTP stream: the command door (webdis.json), the client's default without subscribeUrl. WebSocket: the ${stack.wsLabel}` +
      (stack.wsKind === "door" ? " (PUBLISH reaches it through replication)." : "."),
  );
  sc.note(
    `${warm} warm-up publishes, then ${n} samples, one publish in flight, 2 ms apart; ~1 KB plan state; all clients in the bench process.`,
  );
  return sc;
}
