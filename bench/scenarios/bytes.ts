/**
 * 5. Bytes on the wire for a ~200 KB plan with small edits (move, rename,
 * insert, delete one waypoint). Measured: every byte through counting TCP
 * proxies in front of Webdis, for the leader's publish (request + reply) and
 * for one follower on the HTTP stream. Computed for comparison: what the same
 * edit would weigh sent as a whole sealed state.
 */
import { createServer, type Server, connect as tcpConnect } from "node:net";
import WebSocket from "ws";
import { diff } from "../../src/core/patch.ts";
import { createRelay } from "../../src/node.ts";
import type { Ctx } from "../lib/ctx.ts";
import { makePlan, type Plan, rng, smallEdit } from "../lib/plan.ts";
import { Scenario } from "../lib/report.ts";
import { blob, publishBody, sealedSizes } from "../lib/sealed.ts";
import { hex, webdisCall } from "../lib/stack.ts";
import { mean, sleep, until } from "../lib/stats.ts";

/** Largest message (frame payload) that a WebSocket subscriber receives intact, probing 64 KB +- a little. */
async function wsFrameLimit(ctx: Ctx): Promise<number | null> {
  const acl = [{ disabled: ["*"] }, { enabled: ["SUBSCRIBE", "PUBLISH", "PING"] }];
  const wd = await ctx.stack.startWebdis("frames", { acl, websockets: true });
  let best: number | null = null;
  try {
    for (const payload of [1_000, 65_000, 65_535, 65_536, 70_000, 200_000]) {
      const ws = new WebSocket(`ws://127.0.0.1:${wd.port}/.json`, { origin: wd.url });
      const ok = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), 3_000);
        const done = (v: boolean) => {
          clearTimeout(t);
          resolve(v);
        };
        ws.on("error", () => done(false));
        ws.on("close", () => done(false));
        ws.on("message", (d) => {
          const s = String(d);
          if (s.includes('"subscribe"')) {
            // frame payload = {"SUBSCRIBE":["message","big","<x...>"]} = 34 bytes + message
            void webdisCall(wd.url, "PUBLISH", ["big", "x".repeat(payload - 34)]).catch(() => done(false));
          } else done(s.length === payload);
        });
        ws.on("open", () => ws.send(JSON.stringify(["SUBSCRIBE", "big"])));
      });
      ws.terminate();
      if (ok) best = payload;
      else break;
    }
  } finally {
    await wd.proc.stop("SIGKILL");
  }
  return best;
}

interface Proxy {
  port: number;
  up: number; // client -> server
  down: number; // server -> client
  close(): void;
}

function countingProxy(targetPort: number): Promise<Proxy> {
  return new Promise((resolve) => {
    const p: Proxy = { port: 0, up: 0, down: 0, close: () => {} };
    const conns = new Set<import("node:net").Socket>();
    const server: Server = createServer((c) => {
      const u = tcpConnect({ host: "127.0.0.1", port: targetPort });
      conns.add(c).add(u);
      c.on("data", (d) => {
        p.up += d.length;
        u.write(d);
      });
      u.on("data", (d) => {
        p.down += d.length;
        c.write(d);
      });
      const end = () => {
        c.destroy();
        u.destroy();
      };
      c.on("close", end).on("error", end);
      u.on("close", end).on("error", end);
    });
    p.close = () => {
      for (const s of conns) s.destroy();
      server.close();
    };
    server.listen(0, "127.0.0.1", () => {
      const a = server.address();
      p.port = typeof a === "object" && a ? a.port : 0;
      resolve(p);
    });
  });
}

export async function bytesOnTheWire(ctx: Ctx): Promise<Scenario> {
  const sc = new Scenario(5, "Bytes on the wire: ~200 KB plan, small edits");
  const { stack, quick } = ctx;
  const edits = quick ? 8 : 24;
  const pl = await countingProxy(stack.webdis.port);
  const ph = await countingProxy(stack.webdis.port);
  const url = (p: Proxy) => `http://127.0.0.1:${p.port}`;
  try {
    const name = `bytes-${hex(4)}`;
    const leaderRelay = createRelay({ url: url(pl), heartbeatMs: 0 });
    const leader = await leaderRelay.start(name, { password: "pw", code: "code" });
    let plan: Plan = makePlan(200_000, 21);
    await leader.publish(plan);
    const fHs = await createRelay({ url: url(ph), transports: ["http-stream"] }).connect(name, { password: "pw" });
    await until("follower live", () => fHs.status === "live", 10_000);
    await sleep(200);

    const r = rng(5);
    const m = { up: [] as number[], down: [] as number[], hs: [] as number[] };
    const est = { patch: [] as number[], full: [] as number[], fullReq: [] as number[], fullFrame: [] as number[] };
    for (let i = 0; i < edits; i++) {
      const next = smallEdit(plan, i, r);
      const a = { up: pl.up, down: pl.down, hs: ph.down };
      const seq = leader.seq + 1;
      await leader.publish(next);
      await until("follower updated", () => fHs.seq >= seq, 10_000).catch((e: Error) => {
        throw new Error(`${e.message}: want seq ${seq}, HTTP stream ${fHs.status} ${fHs.seq}`);
      });
      await sleep(30); // let trailing bytes (chunk ends) arrive
      m.up.push(pl.up - a.up);
      m.down.push(pl.down - a.down);
      m.hs.push(ph.down - a.hs);

      // What the same edit would weigh sent whole (computed): a sealed "s" of the state.
      const stateJson = JSON.stringify(next);
      const sealedWhole = blob((await sealedSizes(next)).state);
      const fullBody = publishBody(
        { name, key: "k".repeat(name.length + 8), token: "t".repeat(48), term: 1 } as never,
        "o".repeat(32),
        { base: seq - 1, kind: "s", content: sealedWhole },
      );
      const env = `{"v":2,"t":"state","epoch":"${leader.epoch}","seq":${seq},"ts":${Date.now()},"k":"s","c":"${sealedWhole}"}`;
      const frame = JSON.stringify({ SUBSCRIBE: ["message", "c".repeat(40), env] }).length;
      // one HTTP chunk per message: "<hex length>\r\n" + payload + "\r\n"
      const chunk = (n: number) => n + n.toString(16).length + 4;
      est.fullReq.push(fullBody.length);
      est.fullFrame.push(chunk(frame));
      est.patch.push(JSON.stringify(diff(plan, next)).length);
      est.full.push(stateJson.length);
      plan = next;
    }
    sc.fig(
      "state",
      "state (plan JSON)",
      mean(est.full),
      "B",
      `${plan.waypoints.length} waypoints; the web app caps plans at 500`,
    );
    sc.fig("req", "leader publish request per edit (measured, sealed patch)", mean(m.up), "B");
    sc.fig("reply", "leader publish reply (measured)", mean(m.down), "B");
    sc.fig(
      "req_full_eq",
      "leader request body if it sent the state whole (computed, no headers)",
      mean(est.fullReq),
      "B",
    );
    sc.fig("patch", "JSON Patch of one edit, plaintext (src/core/patch.ts diff)", mean(est.patch), "B");
    const measured = mean(m.hs) ?? 0;
    const fullEq = mean(est.fullFrame) ?? 0;
    sc.fig("hs_measured", "follower HTTP stream bytes per edit (measured)", measured, "B");
    sc.fig("hs_full_eq", "follower bytes per edit if it got the full state (computed)", fullEq, "B");
    sc.fig(
      "frame_overhead",
      "full-state message vs the plan JSON (deflate, seal, base64url, envelope; < 0: smaller)",
      (fullEq / (mean(est.full) ?? 1) - 1) * 100,
      "%",
    );
    sc.ratio("req_vs_state", "leader request bytes / state bytes (measured)", "req", "state", "%");
    const ratio = sc.ratio(
      "hs_measured_vs_full",
      "follower bytes: measured / full state",
      "hs_measured",
      "hs_full_eq",
      "%",
    );
    sc.target(
      "delta_bytes",
      "delta updates <= 5% of full-state bytes (follower, measured)",
      "<= 5 %",
      ratio,
      "%",
      ratio === null ? null : ratio <= 5,
    );
    sc.note(
      "Protocol v2: the leader sends sealed patches; every few hundred edits the server asks for a whole state (scenario 9 averages the upload over that cycle).",
    );
    sc.note(
      `${edits} edits (move, rename, insert, delete one waypoint in turn). Measured through counting TCP proxies; estimates are labelled.`,
    );
    fHs.disconnect();
    await leader.stop().catch(() => {});
  } finally {
    pl.close();
    ph.close();
  }
  sc.fig(
    "ws_max_frame",
    "largest pub/sub message Webdis 0.1.9 frames validly on a WebSocket",
    await wsFrameLimit(ctx),
    "B",
  );
  sc.note(
    "Webdis 0.1.9 writes a broken 64-bit length for WebSocket frames over 65,535 bytes (ws: 'payload length > 2^53 - 1'): " +
      "any full-state message of a plan over ~56 KB (a first publish, a publish without a smaller patch) breaks a WebSocket follower, " +
      "so the follower here uses the HTTP stream (see bench/experiments/ws-big-frames.ts).",
  );
  return sc;
}
