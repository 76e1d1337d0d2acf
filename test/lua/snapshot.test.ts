/**
 * The snapshot and the log (protocol v2: lua/publish.lua, lua/connect.lua,
 * lua/reconnect.lua, catch_up in lua/lib/7_stream.lua), by direct FCALL on a
 * real Redis with the library loaded. Content is raw base64url: Lua checks
 * only its form and never opens it, so no key is needed here.
 *
 * What is pinned: every join mode of catch_up (current, changes, the snapshot
 * as the next change, full), what a whole state does to the log and meta, the
 * snapshot hint and NEED_STATE bounds, STALE (also for an old publish replayed
 * after its op id was forgotten: issue 14), duplicates, and reconnect's two
 * secrets. Every refusal is checked to change none of the stream's keys.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseKey } from "../../src/core/wire.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { uniqueName } from "../support/util.ts";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ aof: false });
});
afterAll(async () => {
  await stack?.stop();
});

const hex = (bytes: number) => randomBytes(bytes).toString("hex");
const PW = hex(32);
const CODE = hex(32);

interface Env {
  v: number;
  t: string;
  epoch: string;
  seq: number;
  ts: number;
  k: "s" | "p";
  c: string;
}
interface Reply {
  channel: string;
  epoch: string;
  seq: number;
  term: number;
  mode: "current" | "changes" | "full";
  changes?: Env[];
  snapshot?: boolean;
}
interface Published {
  seq: number;
  changed: boolean;
  duplicate: boolean;
  snapshot: boolean;
}

/** A leader's handle on one stream it started. */
interface Lead {
  name: string;
  epoch: string;
  channel: string;
  token: string;
  term: number;
}

const fcall = (fn: string, name: string, ...argv: (string | number)[]) =>
  stack.redis("FCALL", fn, 1, baseKey(name), name, ...argv) as Promise<string>;
/** The error's message (code first), or a note that there was none. */
const refusal = (p: Promise<unknown>) =>
  p.then(
    (r) => `no error: ${String(r)}`,
    (e: Error) => e.message,
  );

async function start(): Promise<Lead> {
  const name = uniqueName("snap");
  const token = hex(16);
  const r = JSON.parse(await fcall("relay_start", name, PW, CODE, hex(16), token));
  return { name, epoch: r.epoch, channel: r.channel, token, term: r.term };
}

/** Sealed-looking content of exactly `len` bytes, unique per call (base64url, as Lua wants it). */
let made = 0;
function blob(len = 48): string {
  const tag = `c${++made}x`;
  return (tag + "A".repeat(len)).slice(0, len);
}

const seqOf = async (l: Lead) => Number(await stack.redis("HGET", `${baseKey(l.name)}:meta`, "seq"));

async function publish(
  l: Lead,
  kind: "s" | "p",
  content = blob(),
  o: { op?: string; base?: number } = {},
): Promise<Published> {
  const base = o.base ?? (await seqOf(l));
  return JSON.parse(
    await fcall("relay_publish", l.name, l.token, l.term, o.op ?? hex(8), base, kind, content),
  ) as Published;
}

/** Publishes `kinds` in order ("s" or "p" each) and returns the contents by seq (index 0 = seq 1 after start). */
async function publishAll(l: Lead, kinds: string): Promise<string[]> {
  const contents: string[] = [];
  for (const k of kinds) {
    const c = blob();
    await publish(l, k as "s" | "p", c);
    contents.push(c);
  }
  return contents;
}

const connect = async (l: Lead, epoch: string, last: number) =>
  JSON.parse(await fcall("relay_connect", l.name, PW, epoch, last, "-")) as Reply;

/** [seq, kind, content] of each change in a reply, for exact comparison. */
const shape = (r: Reply) => (r.changes ?? []).map((e) => [e.seq, e.k, e.c]);
/** The expected shape of seqs `from..to` given the contents published (index 0 = seq 1). */
const expected = (contents: string[], kinds: string, seqs: number[]) =>
  seqs.map((s) => [s, kinds[s - 1], contents[s - 1]]);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Every key of the stream, and its index entries, as plain data. */
async function dump(l: Lead) {
  const b = baseKey(l.name);
  const meta = (await stack.redis("HGETALL", `${b}:meta`)) as string[];
  const fields: Record<string, string> = {};
  for (let i = 0; i < meta.length; i += 2) fields[meta[i] as string] = meta[i + 1] as string;
  return {
    meta: fields,
    snap: await stack.redis("GET", `${b}:snap`),
    log: await stack.redis("LRANGE", `${b}:log`, 0, -1),
    fails: await stack.redis("GET", `${b}:fails`),
    code_fails: await stack.redis("GET", `${b}:code_fails`),
    deadline: await stack.redis("ZSCORE", "relay:deadline", l.name),
    indexed: await stack.redis("ZSCORE", "relay:index", l.name),
  };
}

/** Runs a call that must be refused with `code`, and checks it changed nothing. */
async function refusedUnchanged(l: Lead, code: RegExp, call: () => Promise<unknown>): Promise<string> {
  const before = await dump(l);
  const msg = await refusal(call());
  expect(msg).toMatch(code);
  expect(await dump(l)).toEqual(before);
  return msg;
}

describe("catch_up: what a follower gets", () => {
  it("current: same epoch and seq, nothing else (also on a stream with nothing published)", async () => {
    const l = await start();
    expect(await connect(l, l.epoch, 0)).toMatchObject({ mode: "current", seq: 0 });
    await publishAll(l, "psp");
    const r = await connect(l, l.epoch, 3);
    expect(r).toMatchObject({ mode: "current", seq: 3, epoch: l.epoch, channel: l.channel });
    expect(r.changes).toBeUndefined();
  });

  it("changes: only those after the follower's seq, oldest first, seqs contiguous", async () => {
    const l = await start();
    const kinds = "psppppp"; // snapshot at 2, log 3..7
    const c = await publishAll(l, kinds);
    for (const last of [2, 3, 5, 6]) {
      const r = await connect(l, l.epoch, last);
      expect(r.mode, `last ${last}`).toBe("changes");
      expect(shape(r), `last ${last}`).toEqual(expected(c, kinds, range(last + 1, 7)));
      for (const e of r.changes ?? []) expect(e).toMatchObject({ v: 2, t: "state", epoch: l.epoch });
    }
  });

  it("changes without a snapshot yet: the log from seq 1 is the stream", async () => {
    const l = await start();
    const c = await publishAll(l, "ppp");
    const r = await connect(l, l.epoch, 1);
    expect(r.mode).toBe("changes");
    expect(shape(r)).toEqual(expected(c, "ppp", [2, 3]));
  });

  it("right before the snapshot: mode changes, the snapshot first, then the log", async () => {
    const l = await start();
    const kinds = "ppspp"; // snapshot at 3
    const c = await publishAll(l, kinds);
    const r = await connect(l, l.epoch, 2);
    expect(r.mode).toBe("changes");
    expect(shape(r)).toEqual(expected(c, kinds, [3, 4, 5]));
    expect(r.changes?.[0]?.k).toBe("s");
    // The snapshot is the newest change: it alone is next.
    const whole = blob();
    await publish(l, "s", whole);
    expect(shape(await connect(l, l.epoch, 5))).toEqual([[6, "s", whole]]);
  });

  it("full: the snapshot and every change since, for a new follower, another epoch, one ahead, one behind the snapshot", async () => {
    const l = await start();
    const kinds = "ppsppsppp"; // snapshot at 6, log 7..9
    const c = await publishAll(l, kinds);
    const whole = expected(c, kinds, [6, 7, 8, 9]);
    const cases: [string, string, number][] = [
      ["new follower", "-", 0],
      ["another epoch, same seq", "1000000000000001", 9],
      ["another epoch, right before the snapshot", "1000000000000001", 5],
      ["ahead of the stream", l.epoch, 10],
      ["far ahead of the stream", l.epoch, 1000],
      ["behind the snapshot by two", l.epoch, 4],
      ["at seq 0", l.epoch, 0],
    ];
    for (const [what, epoch, last] of cases) {
      const r = await connect(l, epoch, last);
      expect(r.mode, what).toBe("full");
      expect(shape(r), what).toEqual(whole);
      expect(r).toMatchObject({ seq: 9, epoch: l.epoch });
    }
  });

  it("full without a snapshot yet: only the 'p' changes from seq 1 (the base is {} at seq 0)", async () => {
    const l = await start();
    expect(await connect(l, "-", 0)).toMatchObject({ mode: "full", changes: [] });
    const c = await publishAll(l, "ppp");
    for (const [epoch, last] of [
      ["-", 0],
      ["1000000000000001", 2],
      [l.epoch, 4],
    ] as const) {
      const r = await connect(l, epoch, last);
      expect(r.mode, `${epoch} ${last}`).toBe("full");
      expect(shape(r)).toEqual(expected(c, "ppp", [1, 2, 3]));
    }
  });
});

describe("publish: the snapshot and the log", () => {
  it("a whole state empties the log and becomes the snapshot; meta says so", async () => {
    const l = await start();
    const b = baseKey(l.name);
    const meta = async () =>
      (await stack.redis("HMGET", `${b}:meta`, "seq", "snap_seq", "snap_b", "chain_n", "chain_b")) as string[];
    await publish(l, "p", blob(100));
    await publish(l, "p", blob(60));
    expect(await meta()).toEqual(["2", "0", "0", "2", "160"]);
    expect(await stack.redis("LLEN", `${b}:log`)).toBe(2);
    expect(await stack.redis("EXISTS", `${b}:snap`)).toBe(0);

    const whole = blob(300);
    expect(await publish(l, "s", whole)).toEqual({ seq: 3, changed: true, duplicate: false, snapshot: false });
    expect(await stack.redis("LLEN", `${b}:log`)).toBe(0);
    expect(JSON.parse(String(await stack.redis("GET", `${b}:snap`)))).toMatchObject({
      v: 2,
      t: "state",
      epoch: l.epoch,
      seq: 3,
      k: "s",
      c: whole,
    });
    expect(await meta()).toEqual(["3", "3", "300", "0", "0"]);

    await publish(l, "p", blob(70));
    expect(await meta()).toEqual(["4", "3", "300", "1", "70"]);
    expect(await stack.redis("LRANGE", `${b}:log`, 0, -1)).toHaveLength(1);
  });

  it("the hint asks for a whole state once the log weighs as much as the snapshot", async () => {
    const l = await start();
    await publish(l, "s", blob(6000));
    // 1500, 3000, 4500 (over the 4096 floor, under the snapshot), then 6000 = the snapshot.
    const hints = [];
    for (let i = 0; i < 4; i++) hints.push((await publish(l, "p", blob(1500))).snapshot);
    expect(hints).toEqual([false, false, false, true]);
  });

  it("the hint's floor is 4096 bytes, for a small snapshot and for none", async () => {
    for (const first of ["s", "none"]) {
      const l = await start();
      if (first === "s") await publish(l, "s", blob(100));
      const hints = [];
      for (let i = 0; i < 4; i++) hints.push((await publish(l, "p", blob(1024))).snapshot);
      expect(hints, first).toEqual([false, false, false, true]);
    }
  });

  it("a change beyond twice the room is NEED_STATE and changes nothing; a whole state then goes in", async () => {
    // Room: the snapshot's bytes (5000, so 10000), and the 4096 floor (8192) without a snapshot.
    for (const [first, room] of [
      ["s", 10_000],
      ["none", 8192],
    ] as const) {
      const l = await start();
      if (first === "s") await publish(l, "s", blob(5000));
      await publish(l, "p", blob(room - 1000));
      await refusedUnchanged(l, /^NEED_STATE /, () => publish(l, "p", blob(1001)));
      expect((await publish(l, "p", blob(1000))).snapshot, "exactly twice the room fits").toBe(true);
      await refusedUnchanged(l, /^NEED_STATE /, () => publish(l, "p", blob(38)));
      const r = await publish(l, "s", blob(200));
      expect(r).toMatchObject({ changed: true, snapshot: false });
      expect(await stack.redis("LLEN", `${baseKey(l.name)}:log`)).toBe(0);
    }
  });

  describe("with history = 3", () => {
    beforeAll(async () => {
      await stack.redis("HSET", "relay:config", "history", 3);
    });
    afterAll(async () => {
      await stack.redis("HDEL", "relay:config", "history");
    });

    it("the hint turns true at `history` changes, and the next change is NEED_STATE", async () => {
      const l = await start();
      await publish(l, "s");
      const hints = [];
      for (let i = 0; i < 3; i++) hints.push((await publish(l, "p")).snapshot);
      expect(hints).toEqual([false, false, true]);
      await refusedUnchanged(l, /^NEED_STATE /, () => publish(l, "p"));
      expect(await publish(l, "s")).toMatchObject({ seq: 5, snapshot: false });
    });
  });
});

describe("publish: refusals and retries", () => {
  it("a wrong base seq is STALE and changes nothing", async () => {
    const l = await start();
    await publishAll(l, "spp");
    for (const base of [0, 2, 4, 99]) {
      for (const kind of ["s", "p"] as const) {
        const msg = await refusedUnchanged(l, /^STALE /, () => publish(l, kind, blob(), { base }));
        expect(msg).toMatch(/stream is at seq 3\b/);
      }
    }
  });

  it("an old publish replayed after 20 newer ones (its op id forgotten) is STALE, not applied again", async () => {
    const l = await start();
    const op = hex(8);
    const content = blob();
    expect(await publish(l, "s", content, { op, base: 0 })).toMatchObject({ seq: 1, duplicate: false });
    // Still remembered: the replay is the duplicate of seq 1.
    await publishAll(l, "ppp");
    expect(await publish(l, "s", content, { op, base: 0 })).toMatchObject({ seq: 1, duplicate: true });
    await publishAll(l, "ppppsppppppppppppppp".slice(3)); // 20 newer in all
    expect(await seqOf(l)).toBe(21);
    await refusedUnchanged(l, /^STALE /, () => publish(l, "s", content, { op, base: 0 }));
    await refusedUnchanged(l, /^STALE /, () => publish(l, "p", content, { op, base: 0 }));
  });

  it("a retry of the same op id answers duplicate with its first seq and writes nothing", async () => {
    const l = await start();
    const sent = [0, 1, 2].map(() => ({ op: hex(8), content: blob() }));
    for (const [i, { op, content }] of sent.entries()) await publish(l, i ? "p" : "s", content, { op });
    for (const [i, { op, content: first }] of sent.entries()) {
      // The same bytes on the same base, as the client retries; then other bytes and another base.
      for (const [content, base] of [
        [first, i],
        [blob(), 3],
      ] as const) {
        const before = await dump(l);
        const r = JSON.parse(await fcall("relay_publish", l.name, l.token, l.term, op, base, "p", content));
        expect(r, `op ${i + 1}`).toEqual({ seq: i + 1, changed: false, duplicate: true, snapshot: false });
        expect(await dump(l)).toEqual(before);
      }
    }
  });

  it("bad content, a spent budget, an old term and a wrong token are refused and change nothing", async () => {
    const l = await start();
    await publishAll(l, "sp");
    await refusedUnchanged(l, /^INVALID /, () => publish(l, "p", "A".repeat(37)));
    await refusedUnchanged(l, /^INVALID /, () => publish(l, "s", `${blob(40)}=`));
    await stack.redis("HSET", "relay:config", "max_state", 1000);
    try {
      await refusedUnchanged(l, /^TOO_LARGE /, () => publish(l, "s", blob(1001)));
    } finally {
      await stack.redis("HDEL", "relay:config", "max_state");
    }
    // 96 bytes were published in this window (an hour long, so it cannot roll over mid-test).
    await stack.redis("HSET", "relay:config", "publish_bytes", 200, "publish_window", 3600);
    try {
      await publish(l, "p", blob(80));
      await refusedUnchanged(l, /^QUOTA /, () => publish(l, "p", blob(38)));
    } finally {
      await stack.redis("HDEL", "relay:config", "publish_bytes", "publish_window");
    }
    await refusedUnchanged(l, /^LEADER_REPLACED /, () => publish({ ...l, term: 2 }, "p"));
    await refusedUnchanged(l, /^BAD_CODE /, () => publish({ ...l, token: hex(16) }, "p"));
  });
});

describe("relay_reconnect", () => {
  const reconnect = (l: Lead, code: string, pw: string, token = hex(16)) =>
    fcall("relay_reconnect", l.name, code, token, "-", pw).then((r) => JSON.parse(r) as Reply & { pass: string });

  it("with the right code and password: a full reply with term + 1 and the snapshot hint; the old leader is fenced", async () => {
    const l = await start();
    const kinds = "ppsp";
    const c = await publishAll(l, kinds);
    const token = hex(16);
    const r = await reconnect(l, CODE, PW, token);
    expect(r).toMatchObject({ mode: "full", term: 2, seq: 4, epoch: l.epoch, channel: l.channel, snapshot: false });
    expect(r.pass).toMatch(/^\d+\.[0-9a-f]{40}$/);
    expect(shape(r)).toEqual(expected(c, kinds, [3, 4]));
    await refusedUnchanged(l, /^LEADER_REPLACED /, () => publish(l, "p"));
    const next = { ...l, token, term: 2 };
    expect(await publish(next, "p", blob(5000))).toMatchObject({ seq: 5, snapshot: true });
    expect(await reconnect(next, CODE, PW)).toMatchObject({ term: 3, snapshot: true, mode: "full" });
  });

  it("without a snapshot yet: the full reply is the log from seq 1", async () => {
    const l = await start();
    const token = hex(16);
    expect(await reconnect(l, CODE, PW, token)).toMatchObject({ mode: "full", term: 2, seq: 0, changes: [] });
    const c = await publishAll({ ...l, token, term: 2 }, "pp");
    expect(shape(await reconnect(l, CODE, PW))).toEqual(expected(c, "pp", [1, 2]));
  });

  it("a wrong password is BAD_PASSWORD, counted with the wrong codes (not the follower's), nothing else changes", async () => {
    const l = await start();
    await publishAll(l, "sp");
    for (let n = 1; n <= 2; n++) {
      const before = await dump(l);
      expect(await refusal(reconnect(l, CODE, hex(32)))).toMatch(/^BAD_PASSWORD /);
      expect(await dump(l)).toEqual({ ...before, code_fails: String(n) });
    }
    expect(await stack.redis("GET", `${baseKey(l.name)}:fails`)).toBeNull();
    // A wrong code is BAD_CODE whatever the password, and counts in the same window.
    for (const pw of [PW, hex(32)]) {
      const before = await dump(l);
      expect(await refusal(reconnect(l, hex(32), pw))).toMatch(/^BAD_CODE /);
      expect(await dump(l)).toEqual({ ...before, code_fails: String(Number(before.code_fails) + 1) });
    }
    expect(await reconnect(l, CODE, PW)).toMatchObject({ term: 2 });
  });
});
