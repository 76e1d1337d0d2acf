import { describe, expect, it } from "vitest";
import {
  addWaypoint,
  bearing,
  describeChange,
  emptyPlan,
  formatDistance,
  legs,
  moveWaypoint,
  PLAN_VERSION,
  parsePlan,
  parsePlanJson,
  planToJson,
  removeWaypoint,
  totalDistance,
  updateWaypoint,
} from "./plan.ts";

function sample() {
  let p = emptyPlan("Op Heron");
  [p] = addWaypoint(p, { x: 0, y: 0 });
  [p] = addWaypoint(p, { x: 300, y: 400 });
  [p] = addWaypoint(p, { x: 300, y: 1000 }, "target");
  return p;
}

describe("plan schema", () => {
  it("accepts a plan it made and round-trips through JSON", () => {
    const p = sample();
    const r = parsePlanJson(planToJson(p));
    expect(r).toEqual({ ok: true, plan: p });
  });

  it("carries a version and rejects other versions in plain words", () => {
    expect(sample().version).toBe(PLAN_VERSION);
    const r = parsePlan({ ...sample(), version: 99 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/version 99/);
  });

  it("rejects bad input without throwing", () => {
    expect(parsePlanJson("{nope").ok).toBe(false);
    expect(parsePlan({}).ok).toBe(false);
    expect(parsePlan(null).ok).toBe(false);
    const bad = sample();
    (bad.waypoints[0] as { type: string }).type = "bunker";
    expect(parsePlan(bad).ok).toBe(false);
    const dup = sample();
    (dup.waypoints[1] as { id: string }).id = (dup.waypoints[0] as { id: string }).id;
    expect(parsePlan(dup).ok).toBe(false);
  });

  it("treats the relay's empty initial state {} as not a plan", () => {
    expect(parsePlan({}).ok).toBe(false);
  });
});

describe("route", () => {
  it("measures each leg and the total", () => {
    const p = sample();
    expect(legs(p).map((l) => l.metres)).toEqual([500, 600]);
    expect(totalDistance(p)).toBe(1100);
    expect(totalDistance(emptyPlan())).toBe(0);
  });

  it("gives grid bearings clockwise from north", () => {
    expect(bearing({ x: 0, y: 0 }, { x: 0, y: 10 })).toBe(0);
    expect(bearing({ x: 0, y: 0 }, { x: 10, y: 0 })).toBe(90);
    expect(bearing({ x: 0, y: 0 }, { x: 0, y: -10 })).toBe(180);
    expect(bearing({ x: 0, y: 0 }, { x: -10, y: 0 })).toBe(270);
  });

  it("formats distances for people", () => {
    expect(formatDistance(12.4)).toBe("12 m");
    expect(formatDistance(1234)).toBe("1.23 km");
    expect(formatDistance(250_000)).toBe("250 km");
  });
});

describe("edits", () => {
  it("names and types new waypoints sensibly", () => {
    const p = sample();
    expect(p.waypoints.map((w) => [w.name, w.type])).toEqual([
      ["Start 1", "start"],
      ["WP 1", "waypoint"],
      ["Target 1", "target"],
    ]);
  });

  it("updates, reorders and removes without mutating", () => {
    const p = sample();
    const [a, b, c] = p.waypoints as unknown as [{ id: string }, { id: string }, { id: string }];
    const moved = updateWaypoint(p, b.id, { x: 12.345, name: "Ridge" });
    expect(moved.waypoints[1]).toMatchObject({ x: 12.3, name: "Ridge" });
    expect(p.waypoints[1]).toMatchObject({ x: 300, name: "WP 1" });
    expect(moveWaypoint(p, c.id, -2).waypoints.map((w) => w.id)).toEqual([c.id, a.id, b.id]);
    expect(moveWaypoint(p, a.id, -1)).toBe(p);
    expect(removeWaypoint(p, b.id).waypoints.map((w) => w.id)).toEqual([a.id, c.id]);
  });
});

describe("describeChange", () => {
  it("names what the leader did", () => {
    const p = sample();
    const id = (p.waypoints[1] as { id: string }).id;
    const q = updateWaypoint(p, id, { x: 1, y: 2 });
    expect(describeChange(p, q)).toMatchObject({ ids: [id], summary: "Moved WP 1" });
    expect(describeChange(p, removeWaypoint(p, id)).summary).toBe("Removed WP 1");
    expect(describeChange(p, { ...p, title: "x" })).toMatchObject({ title: true, summary: "Changed the title" });
    expect(describeChange(undefined, p).summary).toBe("Plan loaded");
  });
});
