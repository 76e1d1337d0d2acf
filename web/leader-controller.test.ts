import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Emitter } from "../src/core/events.ts";
import type { LeaderEvents, LeaderStatus, PublishResult } from "../src/index.ts";
import { DRAG_PUBLISH_MS, LeaderController, type LeaderSessionLike } from "./leader-controller.ts";
import { addWaypoint, emptyPlan, fromGrid, LIMITS, type Plan, toGrid } from "./plan.ts";

/** A Leader that records what it was asked to send; replies are settled by the test. */
class FakeLeader extends Emitter<LeaderEvents> {
  status: LeaderStatus = "live";
  seq = 0;
  state: unknown;
  sent: Plan[] = [];
  replies: { ok(): void; fail(e: unknown): void }[] = [];
  stopped = 0;
  closed = 0;
  constructor(state: unknown = null) {
    super();
    this.state = state;
  }
  publish(state: unknown): Promise<PublishResult> {
    this.sent.push(state as Plan);
    return new Promise((resolve, reject) => {
      this.replies.push({ ok: () => resolve({ seq: ++this.seq, changed: true }), fail: reject });
    });
  }
  async stop(): Promise<void> {
    this.stopped++;
  }
  close(): void {
    this.closed++;
  }
  /** Moves to `status` the way the real leader does (a status event; "replaced" also its own event). */
  become(status: LeaderStatus) {
    const previous = this.status;
    this.status = status;
    this.emit("status", { status, previous, reason: "test", code: status === "offline" ? "unreachable" : "stopped" });
  }
  takeOver() {
    this.become("replaced");
    this.emit("replaced", { error: new Error("replaced") as never });
  }
}

const settle = () => new Promise<void>((r) => queueMicrotask(() => queueMicrotask(() => queueMicrotask(r))));
/** The first waypoint's grid easting in each sent plan, to the metre (positions travel as lat/lon). */
const xs = (l: FakeLeader) =>
  l.sent.map((p) => {
    const w = p.waypoints[0];
    return w?.kind === "nav" ? Math.round(toGrid(p, w).x) : undefined;
  });

/** Grid metres at the default origin as the lat/lon the map hands the controller. */
const g = (x: number, y: number) => fromGrid(emptyPlan("Op"), { x, y });

function withWaypoint(): Plan {
  return addWaypoint(emptyPlan("Op"), { x: 0, y: 0 })[0];
}

function setup(state: unknown = withWaypoint()) {
  const leader = new FakeLeader(state);
  const session: LeaderSessionLike = { leader };
  const c = new LeaderController(session, "Op");
  return { leader, session, c };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("LeaderController", () => {
  it("migrates a version 1 plan the stream holds (never lost) and sends it as version 2 with the next change", () => {
    const v1 = {
      version: 1,
      title: "Old",
      notes: "n",
      waypoints: [{ id: "a", name: "A", type: "start", x: 120, y: -40 }],
    };
    const { leader, c } = setup(v1);
    expect(leader.sent).toEqual([]);
    const w = c.state.plan.waypoints[0];
    expect(c.state.plan).toMatchObject({ version: 2, title: "Old", notes: "n", originAssumed: true });
    expect(w?.kind === "nav" && Math.round(toGrid(c.state.plan, w).x)).toBe(120);
    c.edit({ ...c.state.plan, title: "Old, placed" });
    expect(leader.sent.map((p) => [p.version, p.waypoints.length])).toEqual([[2, 1]]);
  });

  it("sends at once a plan the server lacks, and nothing for one it already has", () => {
    const fresh = setup(null);
    expect(fresh.leader.sent).toEqual([emptyPlan("Op")]);
    expect(fresh.session.plan).toEqual(emptyPlan("Op"));
    expect(fresh.c.state.sending).toBe(true);
    const known = setup();
    expect(known.leader.sent).toEqual([]);
    expect(known.c.state.lastSent?.seq).toBe(0);
  });

  it("publishes a drag at most every DRAG_PUBLISH_MS, the newest position last, the release at once", () => {
    const { leader, c } = setup();
    const id = c.state.plan.waypoints[0]?.id as string;
    c.drag(id, g(1, 0), "start");
    expect(xs(leader)).toEqual([1]); // the first move goes out at once
    for (let i = 2; i <= 9; i++) {
      vi.advanceTimersByTime(DRAG_PUBLISH_MS / 10);
      c.drag(id, g(i, 0), "move");
    }
    expect(xs(leader)).toEqual([1]);
    expect(c.state.sending).toBe(true);
    vi.advanceTimersByTime(DRAG_PUBLISH_MS);
    expect(xs(leader)).toEqual([1, 9]); // coalesced: only the newest of the burst
    vi.advanceTimersByTime(DRAG_PUBLISH_MS / 10);
    c.drag(id, g(10, 0), "move");
    c.drag(id, g(11, 0), "end");
    expect(xs(leader)).toEqual([1, 9, 11]); // released: sent without waiting, 10 is skipped
    vi.advanceTimersByTime(10 * DRAG_PUBLISH_MS);
    expect(xs(leader)).toEqual([1, 9, 11]);
    // The whole drag is one undo step.
    expect(c.undo()).toBe(true);
    expect(xs(leader)).toEqual([1, 9, 11, 0]);
  });

  it("publishes every other edit at once, and undo/redo publish the plan they return to", () => {
    const { leader, c } = setup();
    const base = c.state.plan;
    c.edit({ ...base, title: "A" });
    c.edit({ ...c.state.plan, title: "B" });
    expect(leader.sent.map((p) => p.title)).toEqual(["A", "B"]);
    expect(c.undo()).toBe(true);
    expect(c.undo()).toBe(true);
    expect(c.undo()).toBe(false); // nothing left: nothing sent
    expect(c.state.canUndo).toBe(false);
    expect(c.redo()).toBe(true);
    expect(leader.sent.map((p) => p.title)).toEqual(["A", "B", "A", "Op", "A"]);
    expect(c.state.plan.title).toBe("A");
    expect(c.state.canRedo).toBe(true);
  });

  it("reports sending, then the seq that landed, and an error until the next success", async () => {
    const { leader, c } = setup();
    const seen: boolean[] = [];
    c.subscribe((s) => seen.push(s.sending));
    c.edit({ ...c.state.plan, title: "A" });
    expect(c.state.sending).toBe(true);
    leader.replies[0]?.ok();
    await settle();
    expect(c.state).toMatchObject({ sending: false, lastSent: { seq: 1 }, sendError: undefined });
    c.edit({ ...c.state.plan, title: "B" });
    const boom = new Error("no");
    leader.replies[1]?.fail(boom);
    await settle();
    expect(c.state.sendError).toBe(boom);
    c.edit({ ...c.state.plan, title: "C" });
    leader.replies[2]?.ok();
    await settle();
    expect(c.state).toMatchObject({ sendError: undefined, lastSent: { seq: 2 } });
    expect(seen).toContain(true);
  });

  it("follows the leader's status: offline and back stays editable", () => {
    const { leader, c } = setup();
    leader.become("offline");
    expect(c.state).toMatchObject({ status: "offline", locked: false });
    c.edit({ ...c.state.plan, title: "queued" });
    expect(leader.sent).toHaveLength(1);
    leader.become("live");
    expect(c.state.status).toBe("live");
  });

  it("locks on a take-over: the pending drag is dropped and later edits are refused", () => {
    const { leader, c } = setup();
    const id = c.state.plan.waypoints[0]?.id as string;
    c.drag(id, g(1, 0), "start");
    c.drag(id, g(2, 0), "move"); // waiting for the throttle
    leader.takeOver();
    expect(c.state).toMatchObject({ status: "replaced", locked: true });
    expect(c.state.lockMessage).toMatch(/taken over/);
    vi.advanceTimersByTime(10 * DRAG_PUBLISH_MS);
    c.edit({ ...c.state.plan, title: "late" });
    expect(c.undo()).toBe(false);
    expect(c.add(g(5, 5))).toBeUndefined();
    expect(xs(leader)).toEqual([1]);
  });

  it("locks when the stream is stopped, and at once for a leader that has already ended", () => {
    const { leader, c } = setup();
    leader.become("stopped");
    expect(c.state).toMatchObject({ status: "stopped", locked: true });
    expect(c.state.lockMessage).toMatch(/ended/);
    const old = new FakeLeader(withWaypoint());
    old.status = "closed";
    const late = new LeaderController({ leader: old }, "Op");
    expect(late.state.locked).toBe(true);
  });

  it("stop and leave send a pending drag position first; dispose sends it and goes quiet", async () => {
    const { leader, c } = setup();
    const id = c.state.plan.waypoints[0]?.id as string;
    c.drag(id, g(1, 0), "start");
    c.drag(id, g(2, 0), "move");
    await c.stop();
    expect(xs(leader)).toEqual([1, 2]);
    expect(leader.stopped).toBe(1);

    const b = setup();
    const bid = b.c.state.plan.waypoints[0]?.id as string;
    b.c.drag(bid, g(1, 0), "start");
    b.c.drag(bid, g(3, 0), "move");
    b.c.leave();
    expect(xs(b.leader)).toEqual([1, 3]);
    expect(b.leader.closed).toBe(1);

    const d = setup();
    const did = d.c.state.plan.waypoints[0]?.id as string;
    let calls = 0;
    d.c.subscribe(() => calls++);
    d.c.drag(did, g(1, 0), "start");
    d.c.drag(did, g(4, 0), "move");
    const before = calls;
    d.c.dispose();
    expect(xs(d.leader)).toEqual([1, 4]);
    d.leader.become("offline");
    expect(calls).toBe(before);
  });

  it("selects what it adds, forgets a selection that was removed, and refuses a full plan", () => {
    const { session, c } = setup(emptyPlan("Op"));
    const wp = c.add(g(1, 2));
    expect(typeof wp === "object" && c.state.selected === wp.id).toBe(true);
    expect(session.plan).toBe(c.state.plan);
    if (typeof wp === "object") expect(c.remove(wp.id)?.name).toBe(wp.name);
    expect(c.state.selected).toBeUndefined();
    let full = c.state.plan;
    for (let i = 0; i < LIMITS.waypoints; i++) full = addWaypoint(full, { x: i, y: 0 })[0];
    c.importPlan(full);
    expect(c.add(g(0, 0))).toBe("full");
  });
});
