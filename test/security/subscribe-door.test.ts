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
import { uniqueName, waitForSeq, waitForStatus } from "../support/util.ts";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ aof: false });
});
afterAll(async () => {
  await stack?.stop();
});

async function keyspace(on: Stack["redis"]): Promise<string> {
  const keys = ((await on("KEYS", "*")) as string[]).sort();
  const parts: string[] = [];
  for (const k of keys) parts.push(`${k}=${String(await on("TYPE", k))}`);
  return parts.join("\n");
}

/** The replica's INFO commandstats: per command, how often it ran and how often Redis refused it. */
async function commandStats(): Promise<Map<string, { calls: number; rejected: number }>> {
  const info = String(await stack.replica("INFO", "commandstats"));
  const stats = new Map<string, { calls: number; rejected: number }>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),.*rejected_calls=(\d+)/gm)) {
    stats.set(m[1] as string, { calls: Number(m[2]), rejected: Number(m[3]) });
  }
  return stats;
}

/** What an attacker could change on the replica behind the door. */
async function replicaState(): Promise<string> {
  const repl = String(await stack.replica("INFO", "replication"));
  return JSON.stringify({
    role: /^role:(\w+)/m.exec(repl)?.[1],
    link: /^master_link_status:(\w+)/m.exec(repl)?.[1],
    keys: await keyspace(stack.replica),
    functions: await stack.replica("FUNCTION", "LIST"),
    acl: await stack.replica("ACL", "LIST"),
    appendonly: await stack.replica("CONFIG", "GET", "appendonly"),
  });
}

/**
 * Sends one frame on a fresh socket; resolves with every message until the
 * socket closes, 400 ms after the first reply (Webdis 0.1.22 keeps the socket
 * open after a refusal), or 2 s.
 */
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
    const timer = setTimeout(done, 2_000);
    ws.on("open", () => ws.send(JSON.stringify(cmd)));
    ws.on("message", (d) => {
      if (got.push(d.toString()) === 1) setTimeout(done, 400);
    });
    ws.on("close", done);
    ws.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** INFO commandstats' name for a command: `config|set` for subcommands. */
const statName = (cmd: unknown[]) => {
  const [c, sub] = cmd.map((x) => String(x).toLowerCase());
  const containers = ["config", "function", "acl", "client"];
  return c && containers.includes(c) && sub ? `${c}|${sub}` : (c as string);
};

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

  it("refuses every non-subscribe command sent over a WebSocket, and nothing changes", {
    timeout: 90_000,
  }, async () => {
    const name = uniqueName("door");
    const relay = createRelay({ url: stack.webdisUrl, heartbeatMs: 0 });
    const leader = await relay.start(name, { password: "pw", code: "code" });
    await leader.publish({ plan: 1 });
    await stack.redis("WAIT", 1, 5_000); // the replica has the stream before we look at it
    const before = await keyspace(stack.redis);
    const functionsBefore = JSON.stringify(await stack.redis("FUNCTION", "LIST"));
    const replicaBefore = await replicaState();
    expect(replicaBefore).toContain(name); // the replica really holds the stream: a real target
    const statsBefore = await commandStats();
    let answered = 0;
    for (const cmd of attacks) {
      const text = (await frame(cmd)).join("\n");
      // Never a result. When a reply comes it is Redis's refusal: NOPERM from
      // the ACL, or DEBUG's own check, which Redis makes before the ACL; or
      // Webdis 0.1.22's text frame for a refused PSUBSCRIBE.
      expect(text, `${String(cmd[0])} over WebSocket`).not.toMatch(/\[true|"OK"|"PONG"|relay:|"message"/);
      if (text) {
        expect(text, `${String(cmd[0])} over WebSocket`).toMatch(
          /NOPERM|DEBUG command not allowed|^Service Unavailable$/,
        );
        answered++;
      }
    }
    // Webdis 0.1.9 loses replies (and sometimes frames) after a request a
    // client dropped (PSUBSCRIBE and MONITOR never answer), so a missing reply
    // proves nothing: the replica's own counters do. No attack ever ran there.
    const statsAfter = await commandStats();
    for (const cmd of attacks) {
      const s = statName(cmd);
      expect(statsAfter.get(s)?.calls ?? 0, `${s} ran on the replica`).toBe(statsBefore.get(s)?.calls ?? 0);
    }
    const rejected = attacks.filter(
      (cmd) => (statsAfter.get(statName(cmd))?.rejected ?? 0) > (statsBefore.get(statName(cmd))?.rejected ?? 0),
    );
    // Most frames reached Redis and were refused there (not just unanswered).
    expect(rejected.length + answered).toBeGreaterThan(0);
    expect(rejected.length, "attacks Redis refused").toBeGreaterThanOrEqual(attacks.length / 2);
    // Nothing changed: not the replica the attacks hit, not the primary.
    await stack.redis("WAIT", 1, 5_000);
    expect(await replicaState()).toBe(replicaBefore);
    expect(await keyspace(stack.redis)).toBe(before);
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
    // Listen before publishing: on a loaded box the change can arrive before
    // the publish's own reply (a listener added after it waited forever: CI run 24).
    const arrived = waitForSeq(f, 2, 20_000);
    await leader.publish({ plan: 2 });
    await arrived;
    expect(f.state).toEqual({ plan: 2 });
    f.disconnect();
    await leader.stop();
  });

  it("refuses everything but SUBSCRIBE, UNSUBSCRIBE and PING over HTTP too", async () => {
    for (const body of ["GET/x", "KEYS/*", "FCALL/relay_version/0", "PSUBSCRIBE/*", "PUBLISH/a/b", "FLUSHALL"]) {
      const res = await fetch(`${stack.subscribeUrl}/`, { method: "POST", body, signal: AbortSignal.timeout(5_000) });
      expect(res.status, body).toBe(403);
    }
    const ping = await fetch(`${stack.subscribeUrl}/`, {
      method: "POST",
      body: "PING",
      signal: AbortSignal.timeout(5_000),
    });
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
