/**
 * The leader's status table (src/core/leader/machine.ts), row by row: every
 * (status, event) pair, the status it leads to, its reason code and words,
 * and its effects. Pairs with no row change nothing.
 */
import { describe, expect, it } from "vitest";
import { RelayError } from "../../src/core/errors.ts";
import { isSending, type LeaderEvent, REASON_TEXT, ROWS, transition } from "../../src/core/leader/machine.ts";
import type { LeaderStatus } from "../../src/core/leader/types.ts";

const STATUSES: LeaderStatus[] = ["live", "offline", "replaced", "stopped", "closed"];
const replaced = { type: "replaced", error: new RelayError("LEADER_REPLACED", "x") } as const;
const EVENTS: LeaderEvent[] = [
  { type: "ack", duplicate: false, idle: true },
  { type: "ack", duplicate: true, idle: true },
  { type: "ack", duplicate: false, idle: false },
  { type: "beat-ok", idle: true },
  { type: "beat-ok", idle: false },
  { type: "answered", idle: true },
  { type: "answered", idle: false },
  { type: "unreachable", message: "cannot reach" },
  replaced,
  { type: "gone" },
  { type: "stop" },
  { type: "close" },
];
const key = (e: LeaderEvent) =>
  `${e.type}${"idle" in e ? (e.idle ? "/idle" : "/busy") : ""}${"duplicate" in e && e.duplicate ? "/dup" : ""}`;

/** The whole table, written out: `status event` -> `to code effects` (absent: nothing happens). */
const EXPECTED: Record<string, string> = {
  "live ack/idle": "live published emit-status",
  "offline ack/idle": "live published emit-status",
  "live ack/idle/dup": "live retry-confirmed emit-status",
  "offline ack/idle/dup": "live retry-confirmed emit-status",
  "offline beat-ok/idle": "live heartbeat emit-status",
  "offline answered/idle": "live reachable emit-status",
  "live unreachable": "offline unreachable emit-status",
  "offline unreachable": "offline unreachable emit-status",
  "live replaced": "replaced replaced end,emit-status,emit-replaced",
  "offline replaced": "replaced replaced end,emit-status,emit-replaced",
  "closed replaced": "closed replaced emit-replaced",
  "stopped replaced": "stopped replaced emit-replaced",
  "live gone": "stopped gone end,emit-status",
  "offline gone": "stopped gone end,emit-status",
  "replaced gone": "stopped gone end,emit-status",
  "closed gone": "stopped gone end,emit-status",
  "live stop": "stopped stopped end,emit-status",
  "offline stop": "stopped stopped end,emit-status",
  "replaced stop": "stopped stopped end,emit-status",
  "closed stop": "stopped stopped end,emit-status",
  "live close": "closed closed end,emit-status",
  "offline close": "closed closed end,emit-status",
};

describe("leader status table", () => {
  it("every (status, event) pair: the expected row or none", () => {
    const got: Record<string, string> = {};
    for (const s of STATUSES)
      for (const e of EVENTS) {
        const t = transition(s, e);
        if (t) got[`${s} ${key(e)}`] = `${t.to} ${t.code} ${t.effects.join(",")}`;
      }
    expect(got).toEqual(EXPECTED);
  });

  it("terminal states stay put: no event leaves stopped; replaced and closed leave only for stopped", () => {
    for (const e of EVENTS) {
      expect([undefined, "stopped"]).toContain(transition("stopped", e)?.to);
      for (const s of ["replaced", "closed"] as const)
        expect([undefined, s, "stopped"]).toContain(transition(s, e)?.to);
    }
  });

  it("reasons: the words for each code; unreachable carries the error's own message", () => {
    expect(transition("live", { type: "unreachable", message: "fetch failed" })?.reason).toBe("fetch failed");
    expect(transition("live", replaced)?.reason).toBe("another leader took over");
    expect(transition("offline", { type: "gone" })?.reason).toBe("the stream no longer exists");
    expect(transition("live", { type: "stop" })?.reason).toBe("stopped by the leader");
    expect(transition("live", { type: "close" })?.reason).toBe("closed by the leader");
    expect(transition("offline", { type: "ack", duplicate: true, idle: true })?.reason).toBe(
      "published (retry confirmed)",
    );
    // Every code a row can produce has words.
    for (const r of ROWS) expect(REASON_TEXT[r.code]).toMatch(/\w/);
  });

  it("sending means live or offline", () => {
    expect(STATUSES.filter(isSending)).toEqual(["live", "offline"]);
  });
});
