/**
 * Webdis's own bugs that an outsider can reach through the doors (issue 12,
 * attacks 1, 3 and 3b). Webdis 0.1.22 (Debian trixie's, our default since
 * scripts/install-webdis) fixes them; 0.1.9 (bookworm's) has them, so on a
 * stack running 0.1.9 these tests skip and say so: SECURITY.md tells those
 * users what they risk. Each was seen failing on 0.1.9 (RELAY_WEBDIS=system
 * with the skip removed: see the commit).
 */
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { hasDoorFixes } from "../../src/server/webdis-bin.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { sleep } from "../support/util.ts";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ aof: false });
  if (!hasDoorFixes(stack.webdisVersion)) {
    console.warn(
      `[webdis-bugs] skipped: this stack runs Webdis ${stack.webdisVersion}, which has these bugs (SECURITY.md); the default is 0.1.22 (scripts/install-webdis)`,
    );
  }
});
afterAll(async () => {
  await stack?.stop();
});

const MiB = 1024 * 1024;
const hostPort = (url: string) => {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
};

/** A raw TCP socket that has done the WebSocket handshake on the subscription door. */
async function rawWebSocket(): Promise<Socket> {
  const { host, port } = hostPort(stack.subscribeUrl);
  const s = connect(port, host);
  s.on("error", () => {}); // the door may reset it: that is what we test
  await new Promise<void>((resolve, reject) => {
    s.once("connect", () => {
      s.write(
        `GET /.json HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://${host}\r\n\r\n`,
      );
    });
    let head = "";
    const onData = (d: Buffer) => {
      head += d.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      s.off("data", onData);
      if (head.startsWith("HTTP/1.1 101")) resolve();
      else reject(new Error(`no upgrade: ${head.split("\r\n")[0]}`));
    };
    s.on("data", onData);
    s.once("error", reject);
  });
  return s;
}

/** A follower-like WebSocket subscribed to `channel`; collects what it receives. */
async function subscriber(channel: string): Promise<{ ws: WebSocket; got: string[]; closed: () => boolean }> {
  const ws = new WebSocket(`${stack.subscribeUrl.replace(/^http/, "ws")}/.json`, { origin: stack.subscribeUrl });
  const got: string[] = [];
  let closed = false;
  ws.on("message", (d) => got.push(d.toString()));
  ws.on("close", () => {
    closed = true;
  });
  ws.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  ws.send(JSON.stringify(["SUBSCRIBE", channel]));
  await waitUntil(() => got.some((m) => m.includes('"subscribe"')), "the subscription is confirmed");
  return { ws, got, closed: () => closed };
}

async function waitUntil(ok: () => boolean, what: string, ms = 10_000) {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`timed out: ${what}`);
    await sleep(25);
  }
}

/** A message published on the primary reaches the subscriber (through the replica and the door). */
async function stillServes(sub: { got: string[] }, channel: string) {
  const token = `alive-${Math.random().toString(36).slice(2)}`;
  await waitUntil(() => {
    void stack.redis("PUBLISH", channel, token);
    return sub.got.some((m) => m.includes(token));
  }, "a message after the attack reaches the follower that was there before it");
}

const skip = () => !hasDoorFixes(stack.webdisVersion);

describe("Webdis's own bugs, through the doors", () => {
  it("an 8-byte WebSocket frame with a 2^38 length does not crash the subscription door (attack 3)", async (ctx) => {
    if (skip()) ctx.skip();
    const channel = `wsbug-${Date.now()}`;
    const victim = await subscriber(channel);
    const before = await stack.door("subscribe-door");
    for (let i = 0; i < 5; i++) {
      const s = await rawWebSocket();
      s.write(Buffer.from([0x81, 0xff, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00]));
      await sleep(100);
      s.destroy();
    }
    await sleep(500);
    expect((await stack.door("subscribe-door")).incarnation, "the door process is the same one").toBe(
      before.incarnation,
    );
    expect(victim.closed(), "the follower connected before the attack is still connected").toBe(false);
    await stillServes(victim, channel);
    victim.ws.terminate();
  });

  // Not covered here: one frame that claims 256 MiB and then sends it. Webdis
  // 0.1.22 has no frame size limit (ws_peek_data in src/websocket.c waits for
  // the whole frame in its read buffer, copying it out on every read): 64 MiB
  // written grew the door by ~37 MiB. That bound belongs to the edge (SECURITY.md).
  it("an unfinished frame and thousands of fragments leave the door's memory flat (attack 3b)", async (ctx) => {
    if (skip()) ctx.skip();
    const channel = `wsmem-${Date.now()}`;
    const victim = await subscriber(channel);
    const before = await stack.door("subscribe-door");
    // A 60 KB text frame without FIN, then 3,000 one-byte continuation frames (masked, as a client must).
    // Webdis 0.1.9 kept +112 MiB of it, never freed.
    const a = await rawWebSocket();
    const mask = Buffer.from([1, 2, 3, 4]);
    const frame = (opcode: number, fin: boolean, payload: Buffer) => {
      const len = payload.length;
      const head =
        len < 126
          ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | len])
          : Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 126, len >> 8, len & 0xff]);
      const body = Buffer.from(payload.map((b, i) => b ^ (mask[i % 4] as number)));
      return Buffer.concat([head, mask, body]);
    };
    a.write(frame(0x1, false, Buffer.alloc(60_000, 0x61)));
    for (let i = 0; i < 3_000; i++) a.write(frame(0x0, false, Buffer.from([0x61])));
    await sleep(1_000);
    const during = await stack.door("subscribe-door");
    a.destroy();
    const grew = during.rssBytes - before.rssBytes;
    console.log(
      `[webdis-bugs] subscription door memory: ${(before.rssBytes / MiB).toFixed(1)} MiB before, +${(grew / MiB).toFixed(1)} MiB under a 60 KB frame without FIN and 3,000 one-byte fragments`,
    );
    expect(during.incarnation, "the door process is the same one").toBe(before.incarnation);
    expect(grew, "door memory growth").toBeLessThan(16 * MiB);
    expect(victim.closed()).toBe(false);
    await stillServes(victim, channel);
    victim.ws.terminate();
  });

  it("a dropped request's late reply never reaches another client's socket (attack 1)", async (ctx) => {
    if (skip()) ctx.skip();
    const { host, port } = hostPort(stack.webdisUrl);
    const leaked: string[] = [];
    for (let trial = 0; trial < 5; trial++) {
      const secret = `victim-${trial}-${Math.random().toString(36).slice(2)}`;
      // Redis busy: the victim's request waits in Webdis for its reply.
      await stack.signal("primary", "SIGSTOP");
      const attackers: Socket[] = [];
      const heard: string[] = [];
      try {
        // The victim's own socket (fetch's pool would keep it for reuse), dropped mid-flight.
        const victim = connect(port, host);
        victim.on("error", () => {});
        await new Promise((r) => victim.once("connect", r));
        const body = `PING/${secret}`;
        victim.write(`POST / HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
        await sleep(200);
        victim.destroy(); // a mobile network drops it
        await sleep(50);
        // The attacker now holds fresh, idle sockets (the freed fd numbers).
        for (let i = 0; i < 20; i++) {
          const s = connect(port, host);
          s.on("error", () => {});
          s.on("data", (d) => heard.push(d.toString("latin1")));
          attackers.push(s);
        }
        await sleep(200);
      } finally {
        await stack.signal("primary", "SIGCONT");
      }
      await sleep(700);
      for (const s of attackers) s.destroy();
      if (heard.join("").includes(secret)) leaked.push(`trial ${trial}`);
    }
    expect(leaked, "a victim's reply arrived on the attacker's idle sockets").toEqual([]);
    // And the door still answers its real clients.
    const r = await fetch(`${stack.webdisUrl}/`, { method: "POST", body: "PING", signal: AbortSignal.timeout(5_000) });
    expect(await r.json()).toEqual({ PING: [true, "PONG"] });
  });
});
