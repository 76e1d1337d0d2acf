/**
 * src/core/content.ts with real sealing: what opens as a change (a state
 * object, or a patch body with its SHA-1) and what is refused as SEALED though
 * it opens; and fold, the state a "full" reply stands for: {} at seq 0 or the
 * snapshot, the changes since applied in order, the last one's SHA-1 checked,
 * and a PROTOCOL error (never a partial state) when they do not add up.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  type ChangeText,
  COMPRESS_FROM,
  fold,
  openChange,
  openKept,
  openReply,
  patchChange,
  patchChangeAsync,
  sealChange,
  sealKept,
  wholeState,
} from "../../src/core/content.ts";
import { deflate } from "../../src/core/deflate.ts";
import { RelayError } from "../../src/core/errors.ts";
import type { Change } from "../../src/core/follower/delta.ts";
import { diff } from "../../src/core/patch.ts";
import { derivePasswordKeys, seal, sealBytes } from "../../src/core/seal.ts";
import { sha1hex } from "../../src/core/sha1.ts";
import type { ConnectReply, SealedEnvelope } from "../../src/core/wire.ts";

const NAME = "alpha";
let key: CryptoKey;

beforeAll(async () => {
  key = (await derivePasswordKeys(NAME, "pw", 1_000)).content;
});

/** A sealed envelope of stream NAME, epoch "1", as Redis keeps it. */
async function envelope(seq: number, change: ChangeText): Promise<SealedEnvelope> {
  const c = await sealChange(key, { name: NAME, epoch: "1", seq }, change);
  return { v: 2, t: "state", epoch: "1", seq, ts: 1_000 + seq, k: change.kind, c };
}

/** Sealed as the given kind, with any plaintext (what a buggy or hostile leader could send). */
async function raw(seq: number, kind: "s" | "p", text: string): Promise<SealedEnvelope> {
  const c = await seal(key, { name: NAME, epoch: "1", seq, kind }, text);
  return { v: 2, t: "state", epoch: "1", seq, ts: 1, k: kind, c };
}

const edit = (from: unknown, to: unknown) => patchChange(JSON.stringify(to), JSON.stringify(diff(from, to)));

async function sealedRefusal(p: Promise<unknown>) {
  const e = await p.then(
    () => expect.unreachable("it was accepted"),
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(RelayError);
  expect((e as RelayError).code).toBe("SEALED");
  expect((e as RelayError).message).not.toMatch(/secret/);
}

describe("openChange", () => {
  it("opens a sealed whole state into a change with its state", async () => {
    const state = { mission: "m", wps: [1, 2, 3] };
    const env = await envelope(4, wholeState(JSON.stringify(state)));
    expect(await openChange(key, NAME, env)).toEqual({ seq: 4, epoch: "1", ts: 1_004, state });
  });

  it("opens a sealed patch body into its patch and h (the SHA-1 of the resulting state's JSON)", async () => {
    const [from, to] = [
      { a: 1, list: [1] },
      { a: 2, list: [1, 2] },
    ];
    const change = await openChange(key, NAME, await envelope(5, edit(from, to)));
    expect(change).toEqual({ seq: 5, epoch: "1", ts: 1_005, patch: diff(from, to), h: sha1hex(JSON.stringify(to)) });
  });

  it("opens a large state sealed deflated (and it is sealed smaller than its text)", async () => {
    const state = { notes: "waypoint ".repeat(2_000) };
    const json = JSON.stringify(state);
    expect(json.length).toBeGreaterThan(COMPRESS_FROM);
    const env = await envelope(1, wholeState(json));
    expect(env.c.length).toBeLessThan(json.length / 4);
    expect((await openChange(key, NAME, env)).state).toEqual(state);
  });

  it.each([
    ["an array", "s", "[1,2]"],
    ["a number", "s", "42"],
    ["a string", "s", '"secret plan"'],
    ["null", "s", "null"],
    ["bad JSON", "s", '{"secret":'],
    ["bad JSON", "p", "{not json"],
    ["a patch with an op we do not apply", "p", `{"h":"${"0".repeat(40)}","patch":[{"op":"move","path":"/a"}]}`],
    ["a patch whose op has no path", "p", `{"h":"${"0".repeat(40)}","patch":[{"op":"add","value":1}]}`],
    ["a patch with no h", "p", '{"patch":[]}'],
    ["a patch whose h is not 40 hex", "p", '{"h":"secret","patch":[]}'],
    ["a state sealed as a patch", "p", '{"secret":1}'],
  ] as const)("refuses (SEALED) %s sealed as %s", async (_what, kind, text) => {
    await sealedRefusal(openChange(key, NAME, await raw(3, kind, text)));
  });

  it("refuses (SEALED) an envelope relabelled: another kind, seq, epoch, or stream name", async () => {
    const env = await envelope(3, wholeState('{"secret":1}'));
    await sealedRefusal(openChange(key, NAME, { ...env, k: "p" }));
    await sealedRefusal(openChange(key, NAME, { ...env, seq: 4 }));
    await sealedRefusal(openChange(key, NAME, { ...env, epoch: "2" }));
    await sealedRefusal(openChange(key, "beta", env));
  });

  it("refuses (SEALED) a deflated text that inflates past the limit, and stops reading there", async () => {
    // 8 MiB of one byte deflates to ~8 KB: a small change must not become a huge one on a follower.
    const big = new TextEncoder().encode(`{"pad":"${"a".repeat(8 * 1024 * 1024)}"}`);
    const z = await deflate(big);
    const body = new Uint8Array(z.length + 1);
    body.set(z, 1);
    const c = await sealBytes(key, { name: NAME, epoch: "1", seq: 2, kind: "s" }, body);
    const env: SealedEnvelope = { v: 2, t: "state", epoch: "1", seq: 2, ts: 1, k: "s", c };
    expect(c.length).toBeLessThan(100_000);
    await sealedRefusal(openChange(key, NAME, env, 1024 * 1024));
    // Under the default limit the same text is a state.
    expect((await openChange(key, NAME, env)).state).toMatchObject({ pad: expect.any(String) });
  });

  it("refuses (SEALED) a deflate marker whose body does not inflate", async () => {
    const c = await sealBytes(key, { name: NAME, epoch: "1", seq: 2, kind: "s" }, new Uint8Array([0, 0xff, 0xff, 1]));
    await sealedRefusal(openChange(key, NAME, { v: 2, t: "state", epoch: "1", seq: 2, ts: 1, k: "s", c }));
  });
});

describe("patchChangeAsync", () => {
  it("is patchChange's very text (the SHA-1 by WebCrypto), for ASCII and for text beyond it", async () => {
    for (const json of ['{"a":1}', JSON.stringify({ n: "Gipfelkreuz Grünten ⛰ 𝔸", w: "x".repeat(70_000) })]) {
      const patch = '[{"op":"replace","path":"/a","value":2}]';
      expect(await patchChangeAsync(json, patch)).toEqual(patchChange(json, patch));
    }
  });
});

describe("sealKept / openKept (a leader's unsent edits on its own disk)", () => {
  const at = { name: NAME, epoch: "1", seq: 4 };
  it("opens what it sealed, deflated when large; the text is not in the sealed form", async () => {
    const state = { title: "Survey north ridge", notes: "n".repeat(5_000) };
    const sealed = await sealKept(key, at, JSON.stringify(state));
    expect(sealed).not.toContain("Survey");
    expect(sealed.length).toBeLessThan(2_000);
    expect(await openKept(key, at, sealed)).toEqual(state);
  });
  it("never opens as a change, nor a change as kept edits, though both use the stream's key", async () => {
    const json = '{"n":1}';
    const kept = await sealKept(key, at, json);
    const env: SealedEnvelope = { v: 2, t: "state", epoch: "1", seq: 4, ts: 1, k: "s", c: kept };
    await expect(openChange(key, NAME, env)).rejects.toMatchObject({ code: "SEALED" });
    const change = await sealChange(key, at, wholeState(json));
    await expect(openKept(key, at, change)).rejects.toMatchObject({ code: "SEALED" });
  });
  it("refuses (SEALED) another stream, epoch or seq, and a text that is not a state; says no plan text", async () => {
    const sealed = await sealKept(key, at, '{"title":"Secret"}');
    for (const other of [
      { ...at, name: "beta" },
      { ...at, epoch: "2" },
      { ...at, seq: 5 },
    ]) {
      const e = await openKept(key, other, sealed).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(RelayError);
      expect(String((e as Error).message)).not.toContain("Secret");
    }
    await expect(openKept(key, at, await sealKept(key, at, "[1,2]"))).rejects.toMatchObject({ code: "SEALED" });
  });
});

describe("fold", () => {
  const reply = (seq: number) => ({ epoch: "1", seq });
  const states = [{}, { n: 1 }, { n: 2, list: [1] }, { n: 3, list: [1, 2] }, { n: 4, list: [2] }];
  const whole = (seq: number): Change => ({ seq, epoch: "1", ts: seq, state: states[seq] });
  const patch = (seq: number, h = sha1hex(JSON.stringify(states[seq]))): Change => ({
    seq,
    epoch: "1",
    ts: seq,
    patch: diff(states[seq - 1], states[seq]) as Change["patch"],
    h,
  });

  it("no changes and no snapshot: {} at seq 0", () => {
    expect(fold(reply(0), [])).toEqual({ seq: 0, epoch: "1", state: {} });
  });

  it("no snapshot: the patches applied to {} from seq 0", () => {
    expect(fold(reply(3), [patch(1), patch(2), patch(3)])).toEqual({ seq: 3, epoch: "1", state: states[3] });
  });

  it("a snapshot and the patches since", () => {
    expect(fold(reply(4), [whole(2), patch(3), patch(4)])).toEqual({ seq: 4, epoch: "1", state: states[4] });
    expect(fold(reply(2), [whole(2)])).toEqual({ seq: 2, epoch: "1", state: states[2] });
  });

  it("only the last change's SHA-1 is checked (each one is authenticated by its seal)", () => {
    const wrong = "0".repeat(40);
    expect(fold(reply(3), [whole(1), patch(2, wrong), patch(3)]).state).toEqual(states[3]);
    expect(() => fold(reply(3), [whole(1), patch(2), patch(3, wrong)])).toThrow(
      expect.objectContaining({ code: "PROTOCOL" }),
    );
  });

  it("changes that do not reach the reply's seq are a PROTOCOL error, never a partial state", () => {
    const protocol = expect.objectContaining({ code: "PROTOCOL" });
    expect(() => fold(reply(4), [whole(2), patch(3)])).toThrow(protocol); // one missing at the end
    expect(() => fold(reply(4), [whole(2), patch(4)])).toThrow(protocol); // a gap
    expect(() => fold(reply(3), [patch(2), patch(3)])).toThrow(protocol); // no snapshot, not from seq 1
    expect(() => fold(reply(2), [whole(2), patch(3)])).toThrow(protocol); // past the reply's seq
    expect(() => fold(reply(2), [])).toThrow(protocol);
    const bad: Change = { ...patch(3), patch: [{ op: "replace", path: "/nope/x", value: 1 }] };
    expect(() => fold(reply(3), [whole(2), bad])).toThrow(protocol); // does not apply
  });
});

describe("openReply", () => {
  const head = { channel: "c", epoch: "1", term: 1, updated: 9, pass: "1.".padEnd(42, "0") };

  it("current as it is; changes opened; full folded into one state", async () => {
    const current: ConnectReply = { ...head, seq: 2, mode: "current" };
    expect(await openReply(key, NAME, current)).toEqual(current);
    const [s1, p2] = [await envelope(1, wholeState('{"n":1}')), await envelope(2, edit({ n: 1 }, { n: 2 }))];
    const changes = await openReply(key, NAME, { ...head, seq: 2, mode: "changes", changes: [p2] });
    expect(changes).toMatchObject({ mode: "changes", changes: [{ seq: 2, patch: [{ op: "replace" }] }] });
    const full = await openReply(key, NAME, { ...head, seq: 2, mode: "full", changes: [s1, p2] });
    expect(full).toEqual({ ...head, seq: 2, mode: "full", state: { n: 2 } });
  });

  it("a full reply with one change that does not open is SEALED as a whole", async () => {
    const s1 = await envelope(1, wholeState('{"n":1}'));
    const forged = await raw(2, "p", "not json");
    await sealedRefusal(openReply(key, NAME, { ...head, seq: 2, mode: "full", changes: [s1, forged] }));
  });
});
