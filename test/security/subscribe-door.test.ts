/**
 * The subscription door: Webdis with WebSockets on, in front of a replica whose
 * default user may only SUBSCRIBE, UNSUBSCRIBE and PING. Webdis 0.1.9 runs any
 * command that arrives in a WebSocket frame, whatever its ACL says, so here
 * Redis itself must refuse everything else. Proven with raw frames and a dump
 * of the primary's keyspace and function list before and after.
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createRelay } from "../../src/node.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { uniqueName, waitForStatus } from "../support/util.ts";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ aof: false });
});
afterAll(async () => {
  await stack?.stop();
});

async function keyspace(): Promise<string> {
  const keys = ((await stack.redis("KEYS", "*")) as string[]).sort();
  const parts: string[] = [];
  for (const k of keys) parts.push(`${k}=${String(await stack.redis("TYPE", k))}`);
  return parts.join("\n");
}

/** Sends one frame on a fresh socket; resolves with every message until the socket closes (or 1 s). */
function frame(cmd: unknown[]): Promise<string[]> {
  const url = `${stack.subscribeUrl.replace(/^http/, "ws")}/.json`;
  const ws = new WebSocket(url, { origin: stack.subscribeUrl });
  const got: string[] = [];
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      ws.terminate();
      resolve(got);
    };
    const timer = setTimeout(done, 1_000);
    ws.on("open", () => ws.send(JSON.stringify(cmd)));
    ws.on("message", (d) => got.push(d.toString()));
    ws.on("close", done);
    ws.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

describe("subscription door", () => {
  const attacks: unknown[][] = [
    ["SET", "owned", "1"],
    ["FLUSHALL"],
    ["KEYS", "*"],
    ["HGETALL", "relay:index"],
    ["CONFIG", "SET", "appendonly", "no"],
    ["FUNCTION", "LOAD", "#!lua name=evil\nredis.register_function('x', function() return 1 end)"],
    ["EVAL", "return redis.call('FLUSHALL')", "0"],
    ["FCALL", "relay_version", "0"],
    ["PUBLISH", "chan", "forged"],
    ["PSUBSCRIBE", "*"],
    ["REPLICAOF", "NO", "ONE"],
    ["ACL", "SETUSER", "default", "+@all"],
    ["DEBUG", "SLEEP", "1"],
    ["SHUTDOWN"],
    ["CLIENT", "LIST"],
    ["MONITOR"],
  ];

  it("refuses every non-subscribe command sent over a WebSocket, and nothing changes", async () => {
    const name = uniqueName("door");
    const relay = createRelay({ url: stack.webdisUrl, heartbeatMs: 0 });
    const leader = await relay.start(name, { password: "pw", code: "code" });
    await leader.publish({ plan: 1 });
    const before = await keyspace();
    const functionsBefore = JSON.stringify(await stack.redis("FUNCTION", "LIST"));
    for (const cmd of attacks) {
      const replies = await frame(cmd);
      const text = replies.join("\n");
      // Redis answers NOPERM (or Webdis answers nothing); never a result.
      expect(text, `${String(cmd[0])} over WebSocket`).not.toMatch(/\[true|"OK"|"PONG"|relay:|"message"/);
      if (replies.length > 0) expect(text).toMatch(/NOPERM/);
    }
    expect(await keyspace()).toBe(before);
    expect(JSON.stringify(await stack.redis("FUNCTION", "LIST"))).toBe(functionsBefore);
    expect(await stack.redis("CONFIG", "GET", "appendonly")).toEqual(["appendonly", "no"]);
    // The door still works for its one job.
    const f = await createRelay({ url: stack.webdisUrl, subscribeUrl: stack.subscribeUrl, heartbeatMs: 0 }).connect(
      name,
      {
        password: "pw",
      },
    );
    await waitForStatus(f, "live");
    expect(f.transport).toBe("websocket");
    await leader.publish({ plan: 2 });
    await new Promise<void>((r) => f.on("state", () => r()));
    expect(f.state).toEqual({ plan: 2 });
    f.disconnect();
    await leader.stop();
  });

  it("refuses everything but SUBSCRIBE, UNSUBSCRIBE and PING over HTTP too", async () => {
    for (const body of ["GET/x", "KEYS/*", "FCALL/relay_version/0", "PSUBSCRIBE/*", "PUBLISH/a/b", "FLUSHALL"]) {
      const res = await fetch(`${stack.subscribeUrl}/`, { method: "POST", body });
      expect(res.status, body).toBe(403);
    }
    const ping = await fetch(`${stack.subscribeUrl}/`, { method: "POST", body: "PING" });
    expect(await ping.json()).toEqual({ PING: [true, "PONG"] });
  });

  it("the command door has WebSockets off", async () => {
    const url = `${stack.webdisUrl.replace(/^http/, "ws")}/.json`;
    const ws = new WebSocket(url, { origin: stack.webdisUrl });
    const opened = await new Promise<boolean>((r) => {
      ws.on("open", () => r(true));
      ws.on("error", () => r(false));
      ws.on("close", () => r(false));
      setTimeout(() => r(false), 2_000);
    });
    ws.terminate();
    expect(opened).toBe(false);
  });
});
