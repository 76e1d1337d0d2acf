/**
 * The follower's pure parts on their own: the transition table (every row
 * reachable, every (status, event) pair answered, `ended` final), the ordering
 * window, the delta applier, the transport picker and what a message means.
 */
import { describe, expect, it } from "vitest";
import type { OpenedReply } from "../../src/core/content.ts";
import { applyChange, type Change } from "../../src/core/follower/delta.ts";
import { classify, fullStateCode } from "../../src/core/follower/inbox.ts";
import {
  type FollowerStatus,
  type Guard,
  type MachineEvent,
  TRANSITIONS,
  tableMarkdown,
  transition,
} from "../../src/core/follower/machine.ts";
import { REASON_CODES, REASON_TEXT } from "../../src/core/follower/reasons.ts";
import { TransportPicker } from "../../src/core/follower/transport.ts";
import { OrderingWindow } from "../../src/core/follower/window.ts";
import { diff } from "../../src/core/patch.ts";
import { sha1hex } from "../../src/core/sha1.ts";

const STATUSES: FollowerStatus[] = ["connecting", "live", "catching-up", "reset", "ended", "offline"];
const EVENTS: MachineEvent[] = ["need-sync", "synced", "full-state", "silence", "dropped", "retry", "end"];
const GUARDS: Guard[] = ["syncing", "was-live", "sub-open"];
const allFacts = (bits: number) => ({ syncing: !!(bits & 1), "was-live": !!(bits & 2), "sub-open": !!(bits & 4) });

describe("transition table", () => {
  it("answers every (status, event, facts), never leaves ended, and every row is reachable", () => {
    const used = new Set<number>();
    for (const status of STATUSES)
      for (const event of EVENTS)
        for (let bits = 0; bits < 2 ** GUARDS.length; bits++) {
          const step = transition(status, event, allFacts(bits));
          used.add(TRANSITIONS.indexOf(step.row));
          if (status === "ended") expect(step).toMatchObject({ status: "ended", effects: [] });
        }
    expect([...used].sort((a, b) => a - b)).toEqual(TRANSITIONS.map((_, i) => i));
  });

  it.each([
    ["live", "need-sync", 0, "catching-up", ["sync"]],
    ["live", "need-sync", 1, "live", ["sync-again"]],
    ["connecting", "need-sync", 0, "connecting", ["sync"]],
    ["connecting", "need-sync", 2, "catching-up", ["sync"]],
    ["offline", "need-sync", 2, "offline", ["sync"]],
    ["catching-up", "synced", 4, "live", []],
    ["catching-up", "synced", 0, "catching-up", []],
    ["catching-up", "full-state", 0, "reset", []],
    ["live", "silence", 4, "catching-up", ["resubscribe"]],
    ["catching-up", "silence", 4, "catching-up", []],
    ["live", "dropped", 4, "offline", ["close", "retry-later"]],
    ["offline", "retry", 0, "connecting", ["subscribe"]],
    ["reset", "retry", 0, "connecting", ["subscribe"]],
    ["offline", "end", 0, "ended", ["teardown"]],
  ] as const)("%s + %s (facts %i) -> %s %j", (from, event, bits, to, effects) => {
    expect(transition(from, event, allFacts(bits))).toMatchObject({ status: to, effects });
  });

  it("renders as a markdown table with one line per row", () => {
    const md = tableMarkdown();
    expect(md.split("\n")).toHaveLength(2 + TRANSITIONS.filter((r) => r.from !== "ended").length + 1);
    expect(md).toMatch(/\| live \| silence \| {2}\| catching-up \| resubscribe \|/);
  });

  it("gives every reason code a text", () => {
    for (const c of REASON_CODES) expect(REASON_TEXT[c]).toMatch(/\S/);
  });
});

/** An opened change (what the window and the applier see): a whole state unless `o` makes it a patch. */
const env = (seq: number, o: Partial<Change> = {}): Change => ({
  epoch: "1",
  seq,
  ts: seq,
  state: { n: seq },
  ...o,
});

describe("ordering window", () => {
  it("holds early states, hands them on in order, and reports gaps", () => {
    const w = new OrderingWindow();
    expect(w.behind(0)).toBe(false);
    w.hold(env(3), 0);
    w.hold(env(2), 0);
    w.hold(env(0), 0); // not ahead: a late duplicate
    expect(w.size).toBe(2);
    expect(w.next(0)).toBeUndefined(); // 1 is missing
    expect(w.behind(0)).toBe(true);
    w.hold(env(1), 0);
    expect([w.next(0)?.seq, w.next(1)?.seq, w.next(2)?.seq, w.next(3)]).toEqual([1, 2, 3, undefined]);
    expect(w.behind(3)).toBe(false);
  });

  it("a heard seq above ours is a gap with nothing held; a reset moves what was heard", () => {
    const w = new OrderingWindow();
    w.hear(5);
    expect(w.behind(4)).toBe(true);
    expect(w.behind(5)).toBe(false);
    w.hold(env(9), 5);
    w.clear(2);
    expect(w.size).toBe(0);
    expect(w.behind(2)).toBe(false);
  });

  it("prune forgets what a sync already covered", () => {
    const w = new OrderingWindow();
    w.hold(env(4), 0);
    w.hold(env(7), 0);
    w.prune(5);
    expect(w.size).toBe(1);
    expect(w.next(6)?.seq).toBe(7);
  });
});

describe("delta applier", () => {
  const at = { seq: 1, epoch: "1", state: { a: 1, list: [1, 2] } };
  const next = { a: 2, list: [1, 2, 3] };
  const patch = diff(at.state, next) as Change["patch"];

  it("applies a patch whose SHA-1 matches; whole states as they are", () => {
    expect(applyChange(at, env(2, { state: undefined, patch, h: sha1hex(JSON.stringify(next)) }))).toEqual({
      kind: "state",
      state: next,
    });
    expect(applyChange(at, env(2))).toEqual({ kind: "state", state: { n: 2 } });
  });

  it("check false skips the SHA-1 (a fold or a catch-up checks its last change only)", () => {
    const wrong = env(2, { state: undefined, patch, h: "0".repeat(40) });
    expect(applyChange(at, wrong, false, false)).toEqual({ kind: "state", state: next });
    expect(applyChange(at, wrong, false, true)).toEqual({ kind: "mismatch", code: "delta-mismatch" });
  });

  it("old changes are nothing to do, unless forced (a full state)", () => {
    expect(applyChange(at, env(1))).toEqual({ kind: "old" });
    expect(applyChange(at, env(1), true)).toEqual({ kind: "state", state: { n: 1 } });
    expect(applyChange(at, env(1, { epoch: "2" }))).toEqual({ kind: "state", state: { n: 1 } });
  });

  it.each([
    ["delta-out-of-order", env(3, { patch })],
    ["delta-out-of-order", env(2, { patch, epoch: "2" })],
    ["delta-failed", env(2, { patch: [{ op: "replace", path: "/missing/x", value: 1 }] })],
    ["delta-mismatch", env(2, { patch, h: "0".repeat(40) })],
  ])("%s", (code, change) => {
    expect(applyChange(at, change)).toEqual({ kind: "mismatch", code });
  });
});

describe("transport picker", () => {
  it("skips a transport that never opened, goes back to the first that did", () => {
    const p = new TransportPicker(2);
    expect(p.current).toBe(0);
    p.dropped(false); // WebSocket never opened
    expect(p.current).toBe(1);
    p.opened();
    p.dropped(true);
    expect(p.current).toBe(1); // the WebSocket never worked: stay on HTTP
    const q = new TransportPicker(2);
    q.opened();
    q.dropped(true);
    expect(q.current).toBe(0);
    q.failed(); // the WebSocket threw at once
    expect(q.current).toBe(1);
    q.opened();
    q.dropped(true);
    expect(q.current).toBe(0); // it did work once: back to it
    q.dropped(false);
    q.dropped(false);
    expect(q.current).toBe(0); // wraps around
  });
});

describe("inbox", () => {
  const at = { seq: 3, epoch: "1", syncing: false };
  const j = (o: object) => JSON.stringify({ v: 2, ts: 1, epoch: "1", ...o });
  const sealed = { t: "state", seq: 4, k: "p", c: "A".repeat(40) };

  it.each([
    [j({ t: "ended", seq: 3, reason: "stopped" }), { kind: "end", code: "stopped" }],
    [j({ t: "ended", seq: 3, reason: "expired", epoch: "2" }), { kind: "ignore" }],
    [j({ t: "hb", seq: 3, epoch: "2" }), { kind: "need-sync", code: "epoch-changed" }],
    [j({ t: "hb", seq: 2 }), { kind: "need-sync", code: "heartbeat-behind" }],
    [j({ t: "hb", seq: 5 }), { kind: "heard", seq: 5 }],
    [j({ t: "state", seq: 4, fetch: true }), { kind: "need-sync", code: "large-change", heard: 4 }],
    [j({ t: "state", seq: 3, fetch: true }), { kind: "ignore" }],
    [j(sealed), { kind: "hold", env: JSON.parse(j(sealed)) }],
    [j({ ...sealed, seq: 2, k: "s" }), { kind: "hold" }], // old ones too: the window drops them once opened
    [j({ ...sealed, k: "x" }), { kind: "malformed" }],
    [j({ ...sealed, c: "a/b+c=" }), { kind: "malformed" }], // not base64url
    [j({ t: "state", seq: 4, state: {} }), { kind: "malformed" }], // v2 carries no plaintext state
    [JSON.stringify({ v: 1, ts: 1, epoch: "1", t: "hb", seq: 3 }), { kind: "malformed" }],
    ["{", { kind: "malformed" }],
  ])("%s", (payload, want) => {
    expect(classify(payload, at)).toMatchObject(want);
  });

  it("a heartbeat behind us during a sync says nothing (the sync will tell)", () => {
    expect(classify(j({ t: "hb", seq: 2 }), { ...at, syncing: true })).toEqual({ kind: "heard", seq: 2 });
  });

  it("names why a full state came", () => {
    const full = (epoch: string, seq: number) => ({ mode: "full", epoch, seq, state: {} }) as OpenedReply;
    expect(fullStateCode(full("2", 9), at, undefined)).toBe("epoch-changed");
    expect(fullStateCode(full("1", 1), at, undefined)).toBe("went-back");
    expect(fullStateCode(full("1", 90), at, undefined)).toBe("history-too-short");
    expect(fullStateCode(full("1", 90), at, "delta-mismatch")).toBe("delta-mismatch");
  });
});
