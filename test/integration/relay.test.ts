/**
 * Every operation and every error code through the real stack: the Node
 * client -> Webdis -> Redis functions, and back over pub/sub.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpCommander } from "../../src/core/http.ts";
import { deriveVerifier, randomHex } from "../../src/core/secrets.ts";
import { baseKey } from "../../src/core/wire.ts";
import { createRelay, type Follower, type Relay, RelayError } from "../../src/node.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { record, uniqueName, waitForSeq, waitForStatus } from "../support/util.ts";
import { fcallOn } from "./support.ts";

let stack: Stack;
let relay: Relay;
const open: { disconnect?: () => void; close?: () => void }[] = [];

beforeAll(async () => {
  stack = await startStack();
  relay = createRelay({ url: stack.webdisUrl, subscribeUrl: stack.subscribeUrl, heartbeatMs: 0 });
});

afterAll(async () => {
  for (const h of open) (h.disconnect ?? h.close)?.call(h);
  await stack?.stop();
});

async function expectCode(p: Promise<unknown>, code: string) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(RelayError);
  expect((err as RelayError).code).toBe(code);
  return err as RelayError;
}

const creds = { password: "pw-correct horse", code: "leader-code-42" };

async function follow(name: string, password = creds.password): Promise<Follower> {
  const f = await relay.connect(name, { password });
  open.push(f);
  return f;
}

describe("start / connect / publish / stop", () => {
  it("a follower gets the current state at once, then every change in order", async () => {
    const name = uniqueName();
    const leader = await relay.start(name, creds);
    open.push(leader);
    expect(leader.seq).toBe(0);
    await leader.publish({ title: "one", waypoints: [] });
    const f = await follow(name);
    expect(f.seq).toBe(1);
    expect(f.state).toEqual({ title: "one", waypoints: [] });
    const seen = record(f);
    await waitForStatus(f, "live");
    for (let i = 2; i <= 6; i++) await leader.publish({ title: `v${i}`, waypoints: [{ x: i, y: 0.5 }] });
    await waitForSeq(f, 6);
    expect(seen.map((u) => u.seq)).toEqual([2, 3, 4, 5, 6]);
    expect(f.state).toEqual({ title: "v6", waypoints: [{ x: 6, y: 0.5 }] });
  });

  it("an unchanged state publishes nothing", async () => {
    const name = uniqueName();
    const leader = await relay.start(name, creds);
    open.push(leader);
    const a = await leader.publish({ n: 1 });
    const b = await leader.publish({ n: 1 });
    expect(a).toEqual({ seq: 1, changed: true });
    expect(b).toEqual({ seq: 1, changed: false });
  });

  it("refuses a taken name and changes nothing", async () => {
    const name = uniqueName();
    const leader = await relay.start(name, creds);
    open.push(leader);
    await leader.publish({ keep: true });
    await expectCode(relay.start(name, { password: "other", code: "other" }), "NAME_TAKEN");
    const f = await follow(name);
    expect(f.state).toEqual({ keep: true });
  });

  it("two followers at once and one who joins late all end on the last state", async () => {
    const name = uniqueName();
    const leader = await relay.start(name, creds);
    open.push(leader);
    const [a, b] = await Promise.all([follow(name), follow(name)]);
    await Promise.all([waitForStatus(a, "live"), waitForStatus(b, "live")]);
    for (let i = 1; i <= 10; i++) await leader.publish({ i });
    const late = await follow(name);
    expect(late.state).toEqual({ i: 10 });
    await Promise.all([waitForSeq(a, 10), waitForSeq(b, 10)]);
    expect(a.state).toEqual({ i: 10 });
    expect(b.state).toEqual({ i: 10 });
  });

  it("stop while followers watch: they get ended, and the name is free again", async () => {
    const name = uniqueName();
    const leader = await relay.start(name, creds);
    const f = await follow(name);
    await waitForStatus(f, "live");
    const ended = new Promise((r) => f.on("ended", r));
    await leader.stop();
    expect(await ended).toEqual({ reason: "stopped" });
    expect(f.status).toBe("ended");
    await expectCode(relay.connect(name, { password: creds.password }), "NOT_FOUND");
    const again = await relay.start(name, { password: "new", code: "new" });
    open.push(again);
    expect(again.seq).toBe(0);
  });

  it("an async iterator yields the current state and then changes", async () => {
    const name = uniqueName();
    const leader = await relay.start(name, creds);
    open.push(leader);
    await leader.publish({ step: 1 });
    const f = await follow(name);
    const it = f[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual({ step: 1 });
    await waitForStatus(f, "live");
    await leader.publish({ step: 2 });
    expect((await it.next()).value).toEqual({ step: 2 });
    await leader.stop();
    expect((await it.next()).done).toBe(true);
  });
});

describe("reconnect and one leader", () => {
  it("a leader comes back with the current state; the old one is replaced", async () => {
    const name = uniqueName();
    const first = await relay.start(name, creds);
    await first.publish({ v: 1 });
    const second = await relay.reconnect(name, creds);
    open.push(second);
    expect(second.state).toEqual({ v: 1 });
    expect(second.seq).toBe(1);
    expect(second.term).toBe(first.term + 1);
    const replaced = new Promise((r) => first.on("replaced", r));
    await expectCode(first.publish({ v: "stale" }), "LEADER_REPLACED");
    await replaced;
    expect(first.status).toBe("replaced");
    await second.publish({ v: 2 });
    const f = await follow(name);
    expect(f.state).toEqual({ v: 2 });
  });

  it("wrong leader code: BAD_CODE for reconnect and stop, and the stream runs on", async () => {
    const name = uniqueName();
    const leader = await relay.start(name, creds);
    open.push(leader);
    await leader.publish({ v: 1 });
    const f = await follow(name);
    await waitForStatus(f, "live");
    const ended: unknown[] = [];
    f.on("ended", (e) => ended.push(e));
    await expectCode(relay.reconnect(name, { password: creds.password, code: "nope" }), "BAD_CODE");
    // No Leader exists for a wrong code, so stop is called as the CLI's would be,
    // with the verifier of a wrong code.
    const wrong = await deriveVerifier("code", name, "nope");
    await expectCode(
      httpCommander({ url: stack.webdisUrl }).call("FCALL", ["relay_stop", "1", baseKey(name), name, wrong]),
      "BAD_CODE",
    );
    // Still running: the leader (not replaced) publishes, the follower gets it, list shows it.
    expect(await leader.publish({ v: 2 })).toEqual({ seq: 2, changed: true });
    await waitForSeq(f, 2);
    expect(f.state).toEqual({ v: 2 });
    expect(ended).toEqual([]);
    expect(f.status).toBe("live");
    const page = await relay.list({ cursor: name.slice(0, -1), count: 5 });
    expect(page.streams.map((s) => s.name)).toContain(name);
  });

  it("the right code with a wrong password: BAD_PASSWORD, and the leader is not replaced", async () => {
    // Such a leader would seal changes no follower can open.
    const name = uniqueName();
    const leader = await relay.start(name, creds);
    open.push(leader);
    await leader.publish({ v: 1 });
    await expectCode(relay.reconnect(name, { password: "wrong", code: creds.code }), "BAD_PASSWORD");
    expect(leader.term).toBe(1);
    expect(await leader.publish({ v: 2 })).toEqual({ seq: 2, changed: true });
    expect(leader.status).toBe("live");
    const f = await follow(name);
    expect(f.state).toEqual({ v: 2 });
  });

  it("unknown stream: NOT_FOUND for reconnect and connect", async () => {
    const name = uniqueName("missing");
    await expectCode(relay.reconnect(name, { password: "x", code: "x" }), "NOT_FOUND");
    await expectCode(relay.connect(name, { password: "x" }), "NOT_FOUND");
  });

  it("wrong password: BAD_PASSWORD", async () => {
    const name = uniqueName();
    const leader = await relay.start(name, creds);
    open.push(leader);
    await expectCode(relay.connect(name, { password: "wrong" }), "BAD_PASSWORD");
  });
});

describe("names", () => {
  const names = ["a/b/c", "v1.2.json", "100% sure", "Café Mission ✈ 東京", "{tag}}x{", "a+b?c#d", "..", "/"];
  for (const raw of names) {
    it(`works end to end for ${JSON.stringify(raw)}`, async () => {
      const name = `${raw}-${uniqueName("")}`;
      const leader = await relay.start(name, creds);
      open.push(leader);
      await leader.publish({ name });
      const f = await follow(name);
      expect(f.state).toEqual({ name });
      const page = await relay.list({ count: 100 });
      let found = page.streams.some((s) => s.name === name);
      let cursor = page.cursor;
      while (!found && cursor) {
        const next = await relay.list({ cursor, count: 100 });
        found = next.streams.some((s) => s.name === name);
        cursor = next.cursor;
      }
      expect(found).toBe(true);
      await leader.stop();
      await expectCode(relay.connect(name, { password: creds.password }), "NOT_FOUND");
    });
  }

  it("refuses empty, oversized and control-character names before any call", async () => {
    await expectCode(relay.start("", creds), "INVALID");
    await expectCode(relay.start("x".repeat(201), creds), "INVALID");
    await expectCode(relay.start("bad\nname", creds), "INVALID");
  });
});

describe("list", () => {
  it("pages through streams in name order with a cursor", async () => {
    const prefix = uniqueName("list");
    const made = [];
    for (let i = 0; i < 7; i++) {
      const l = await relay.start(`${prefix}-${i}`, creds);
      open.push(l);
      made.push(`${prefix}-${i}`);
    }
    const seen: string[] = [];
    let cursor: string | null = `${prefix}`;
    let pages = 0;
    while (cursor !== null && pages < 20) {
      const page = await relay.list({ cursor, count: 3 });
      pages++;
      for (const s of page.streams) if (s.name.startsWith(prefix)) seen.push(s.name);
      cursor = page.cursor;
      if (page.streams.some((s) => !s.name.startsWith(prefix))) break;
    }
    expect(seen).toEqual(made);
    expect(pages).toBeGreaterThanOrEqual(3);
  });

  it("refuses a page size above the limit", async () => {
    await expectCode(relay.list({ count: 1000 }), "INVALID");
  });
});

describe("transports", () => {
  it("uses a WebSocket on the subscription door by default, the HTTP stream without one", async () => {
    const name = uniqueName("default");
    const leader = await relay.start(name, creds);
    open.push(leader);
    const viaDoor = await follow(name);
    await waitForStatus(viaDoor, "live");
    expect(viaDoor.transport).toBe("websocket");
    const plain = await createRelay({ url: stack.webdisUrl, heartbeatMs: 0 }).connect(name, creds);
    open.push(plain);
    await waitForStatus(plain, "live");
    expect(plain.transport).toBe("http-stream");
  });

  const doors = [
    ["websocket", "subscription door"],
    ["http-stream", "subscription door"],
    ["http-stream", "command door"],
  ] as const;
  for (const [transport, door] of doors) {
    it(`delivers live updates over ${transport} from the ${door}`, async () => {
      const subscribeUrl = door === "subscription door" ? stack.subscribeUrl : undefined;
      const r = createRelay({ url: stack.webdisUrl, subscribeUrl, transports: [transport], heartbeatMs: 0 });
      const name = uniqueName(transport);
      const leader = await r.start(name, creds);
      open.push(leader);
      const f = await r.connect(name, { password: creds.password });
      open.push(f);
      await waitForStatus(f, "live");
      expect(f.transport).toBe(transport);
      for (let i = 1; i <= 5; i++) await leader.publish({ i, note: "x".repeat(i * 1000) });
      await waitForSeq(f, 5);
      expect(f.state).toEqual({ i: 5, note: "x".repeat(5000) });
    });
  }
});

describe("limits", () => {
  it("refuses a state over the size limit with TOO_LARGE and keeps the old one", async () => {
    const name = uniqueName();
    const leader = await relay.start(name, creds);
    open.push(leader);
    await leader.publish({ ok: 1 });
    // Random: sealing deflates, and a repeated letter would shrink to nothing.
    await expectCode(leader.publish({ big: randomBytes(1024 * 1024).toString("hex") }), "TOO_LARGE");
    const f = await follow(name);
    expect(f.state).toEqual({ ok: 1 });
    expect(f.seq).toBe(1);
  });

  it("rate-limits failed password checks and lets the right one in after the window", async () => {
    const name = uniqueName();
    const leader = await relay.start(name, creds);
    open.push(leader);
    // A 3 s window, and guesses that cost no key derivation: on a loaded box three
    // derivations alone took longer than a 1 s window, and the limit had lapsed.
    await stack.redis("HSET", "relay:config", "fail_limit", "3", "fail_window", "3");
    try {
      await expectCode(relay.connect(name, { password: "guess0" }), "BAD_PASSWORD");
      for (let i = 1; i < 3; i++) {
        await expectCode(fcallOn(stack, "relay_connect", name, [randomHex(32), "-", "0", "-"]), "BAD_PASSWORD");
      }
      const err = await expectCode(relay.connect(name, { password: creds.password }), "RATE_LIMITED");
      expect(err.message).not.toContain(creds.password);
      // After the window the right password gets in (polled, bounded: the box may be slow).
      let f: Follower | undefined;
      for (const end = Date.now() + 15_000; !f && Date.now() < end; ) {
        f = await follow(name).catch((e: RelayError) => {
          if (e.code !== "RATE_LIMITED") throw e;
          return new Promise<undefined>((r) => setTimeout(r, 250));
        });
      }
      expect(f?.status).not.toBe("ended");
      expect(f?.state).toEqual({});
    } finally {
      await stack.redis("DEL", "relay:config");
    }
  });
});
