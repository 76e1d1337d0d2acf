import { describe, expect, it } from "vitest";
import { toLocal } from "./geo.ts";
import {
  addWaypoint,
  DEFAULT_ORIGIN,
  describeChange,
  emptyPlan,
  formatDistance,
  type Item,
  keepUnchanged,
  LIMITS,
  legs,
  MAV_CMD,
  migrateV1,
  moveWaypoint,
  moveWaypointTo,
  type NavItem,
  PLAN_VERSION,
  type PlanV1,
  parsePlan,
  parsePlanJson,
  planReader,
  planToJson,
  removeWaypoint,
  setOrigin,
  toGrid,
  totalDistance,
  totalTime,
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
    (bad.waypoints[0] as unknown as { type: string }).type = "bunker";
    expect(parsePlan(bad).ok).toBe(false);
    const dup = sample();
    (dup.waypoints[1] as { id: string }).id = (dup.waypoints[0] as { id: string }).id;
    expect(parsePlan(dup).ok).toBe(false);
  });

  it("treats the relay's empty initial state {} as not a plan", () => {
    expect(parsePlan({}).ok).toBe(false);
  });

  it("refuses bad input in plain words that say where (no zod jargon)", () => {
    const err = (input: unknown) => {
      const r = parsePlan(input);
      return r.ok ? "accepted" : r.error;
    };
    const good = sample();
    const { title: _t, ...noTitle } = good;
    expect(err(noTitle)).toBe("Not a valid mission plan: title is missing.");
    const far = structuredClone(good);
    (far.waypoints[1] as NavItem).lat = 91;
    expect(err(far)).toBe("Not a valid mission plan: item 2's latitude is more than 90.");
    const word = structuredClone(good);
    (word.waypoints[2] as unknown as { alt: string }).alt = "high";
    expect(err(word)).toBe("Not a valid mission plan: item 3's altitude should be a number, not text.");
    const ref = structuredClone(good);
    (ref.waypoints[0] as unknown as { altRef: string }).altRef = "agl";
    expect(err(ref)).toBe(
      'Not a valid mission plan: item 1\'s altitude reference should be one of "home", "msl", "terrain".',
    );
    const kind = structuredClone(good);
    (kind.waypoints[0] as unknown as { kind: string }).kind = "survey";
    expect(err(kind)).toMatch(/^Not a valid mission plan: item 1/);
    for (const e of [err(noTitle), err(far), err(word), err(ref), err(kind)]) {
      expect(e).not.toMatch(/Invalid input|expected string|received undefined/);
    }
    const fence = structuredClone(good);
    fence.fence.polygons.push({ inclusion: true, points: [{ lat: 0, lon: 0 }] });
    expect(err(fence)).toBe("Not a valid mission plan: geofence's polygon 1's points needs at least 3 entries.");
  });
});

describe("version 1 plans", () => {
  const v1: PlanV1 = {
    version: 1,
    title: "Op Heron: ridge survey",
    notes: "Freq 121.5",
    waypoints: [
      { id: "a", name: "Start 1", type: "start", x: 0, y: 0 },
      { id: "b", name: "WP 1", type: "waypoint", x: 312.4, y: -87.9 },
      { id: "c", name: "Objective Kestrel", type: "target", x: -4_000.5, y: 12_345.6 },
      { id: "d", name: "LZ", type: "landing", x: 250_000, y: -180_000 },
    ],
  };

  it("are migrated onto the default origin, flagged, with every waypoint back within a centimetre", () => {
    const r = parsePlan(v1);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.notice).toMatch(/set its origin/);
    const p = r.plan;
    expect(p).toMatchObject({
      version: 2,
      title: v1.title,
      notes: v1.notes,
      originAssumed: true,
      origin: DEFAULT_ORIGIN,
    });
    expect(p.waypoints.map((w) => [w.id, w.name, (w as NavItem).type])).toEqual(
      v1.waypoints.map((w) => [w.id, w.name, w.type]),
    );
    for (const [i, w] of v1.waypoints.entries()) {
      const back = toLocal(p.origin, p.waypoints[i] as NavItem);
      expect(Math.abs(back.x - w.x)).toBeLessThan(0.01);
      expect(Math.abs(back.y - w.y)).toBeLessThan(0.01);
    }
    // The migrated plan is a valid v2 plan in its own right.
    expect(parsePlanJson(planToJson(p))).toEqual({ ok: true, plan: p });
  });

  it("can be placed at a known origin, and bad v1 input is still refused in words", () => {
    const p = migrateV1(v1, { lat: -35.36, lon: 149.16 });
    expect(p.originAssumed).toBeUndefined();
    expect((p.waypoints[1] as NavItem).lat).toBeLessThan(-35.36);
    const bad = { ...v1, waypoints: [{ ...v1.waypoints[0], x: "far" }] };
    const r = parsePlan(bad);
    expect(r.ok ? "accepted" : r.error).toBe(
      "Not a valid mission plan: item 1's easting should be a number, not text.",
    );
    const many = {
      ...v1,
      waypoints: Array.from({ length: LIMITS.waypoints + 1 }, (_, i) => ({ ...v1.waypoints[0], id: `w${i}` })),
    };
    expect(parsePlan(many).ok).toBe(false);
  });
});

describe("route", () => {
  it("measures each leg geodesically (the grid's metres to the centimetre) and the total", () => {
    const p = sample();
    const m = legs(p).map((l) => l.metres);
    expect(m[0]).toBeCloseTo(500, 1);
    expect(m[1]).toBeCloseTo(600, 1);
    expect(totalDistance(p)).toBeCloseTo(1100, 1);
    expect(totalDistance(emptyPlan())).toBe(0);
  });

  it("gives true bearings clockwise from north", () => {
    let p = emptyPlan("b", { lat: 47, lon: 8 });
    [p] = addWaypoint(p, { x: 0, y: 0 });
    [p] = addWaypoint(p, { x: 0, y: 100 });
    [p] = addWaypoint(p, { x: 100, y: 100 });
    [p] = addWaypoint(p, { x: 100, y: 0 });
    const b = legs(p).map((l) => l.bearing);
    expect(b[0]).toBeCloseTo(0, 2);
    expect(b[1]).toBeCloseTo(90, 2);
    expect(b[2]).toBeCloseTo(180, 2);
  });

  it("estimates the time at cruise speed, a Change speed item, and a leg's own speed", () => {
    let p = { ...sample(), cruiseSpeed: 10 };
    expect(totalTime(p)).toBeCloseTo(110, 0); // 1100 m at 10 m/s
    const last = p.waypoints[2] as NavItem;
    p = updateWaypoint(p, last.id, { speed: 2 });
    expect(totalTime(p)).toBeCloseTo(50 + 300, 0);
    const change: Item = {
      kind: "cmd",
      id: "spd",
      name: "",
      command: MAV_CMD.DO_CHANGE_SPEED,
      frame: 2,
      params: [1, 5, -1, 0, 0, 0, 0],
      autoContinue: true,
    };
    p = { ...p, waypoints: [p.waypoints[0] as Item, change, ...p.waypoints.slice(1)] };
    expect(totalTime(p)).toBeCloseTo(100 + 300, 0); // 500 m at 5 m/s, then the leg's own 2 m/s
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
    expect(p.waypoints.map((w) => [w.name, (w as NavItem).type])).toEqual([
      ["Start 1", "start"],
      ["WP 2", "waypoint"],
      ["Target 3", "target"],
    ]);
    expect(p.waypoints.every((w) => w.kind === "nav" && w.command === 16 && w.alt === 50)).toBe(true);
  });

  it("names a new waypoint with the number its marker shows (its place in the item list)", () => {
    // The map numbers a marker by the item's place in the whole list, kept commands included (map.ts).
    let p = sample();
    const speed: Item = {
      kind: "cmd",
      id: "speed",
      name: "",
      command: MAV_CMD.DO_CHANGE_SPEED,
      frame: 2,
      params: [1, 8, -1, 0, 0, 0, 0],
      autoContinue: true,
    };
    p = { ...p, waypoints: [...p.waypoints, speed] };
    const [q, wp] = addWaypoint(p, { x: 0, y: 500 });
    expect(q.waypoints.indexOf(wp) + 1).toBe(5);
    expect(wp.name).toBe("WP 5");
    // A name already taken is not repeated: the next free number.
    const taken = updateWaypoint(p, (p.waypoints[1] as NavItem).id, { name: "WP 5" });
    expect(addWaypoint(taken, { x: 1, y: 1 })[1].name).toBe("WP 6");
  });

  it("updates, reorders and removes without mutating", () => {
    const p = sample();
    const [a, b, c] = p.waypoints as unknown as [{ id: string }, { id: string }, { id: string }];
    const moved = updateWaypoint(p, b.id, { lat: 1.123456789, name: "Ridge" });
    expect(moved.waypoints[1]).toMatchObject({ lat: 1.1234568, name: "Ridge" });
    expect(p.waypoints[1]).toMatchObject({ name: "WP 2" });
    expect(moveWaypoint(p, c.id, -2).waypoints.map((w) => w.id)).toEqual([c.id, a.id, b.id]);
    expect(moveWaypoint(p, a.id, -1)).toBe(p);
    expect(removeWaypoint(p, b.id).waypoints.map((w) => w.id)).toEqual([a.id, c.id]);
  });

  it("moves on the grid and keeps the grid's shape when the origin is set", () => {
    const p = sample();
    const id = (p.waypoints[1] as NavItem).id;
    const q = moveWaypointTo(p, id, { x: -20, y: 35 });
    const at = toGrid(q, q.waypoints[1] as NavItem);
    expect(at.x).toBeCloseTo(-20, 1);
    expect(at.y).toBeCloseTo(35, 1);
    expect(p.originAssumed).toBe(true);
    const placed = setOrigin(q, { lat: 51.5, lon: -0.12 });
    expect(placed.originAssumed).toBeUndefined();
    const w = placed.waypoints[1] as NavItem;
    expect(w.lat).toBeCloseTo(51.5, 2);
    const again = toGrid(placed, w);
    expect(again.x).toBeCloseTo(-20, 1);
    expect(again.y).toBeCloseTo(35, 1);
  });
});

describe("describeChange", () => {
  it("names what the leader did", () => {
    const p = sample();
    const id = (p.waypoints[1] as { id: string }).id;
    const q = moveWaypointTo(p, id, { x: 1, y: 2 });
    expect(describeChange(p, q)).toMatchObject({ ids: [id], summary: "Moved WP 2" });
    expect(describeChange(p, removeWaypoint(p, id)).summary).toBe("Removed WP 2");
    expect(describeChange(p, { ...p, title: "x" })).toMatchObject({ title: true, summary: "Changed the title" });
    expect(describeChange(undefined, p).summary).toBe("Plan loaded");
  });
});

describe("describeChange counts what changed", () => {
  it("says how many waypoints were added when there are many (issue 16: 402 added read 'and 400 more')", () => {
    let p = emptyPlan("Big");
    for (let i = 0; i < 402; i++) [p] = addWaypoint(p, { x: i * 10, y: 0 });
    p = { ...p, waypoints: p.waypoints.map((w, i) => ({ ...w, name: `S0-${i + 1}` })) };
    expect(describeChange(emptyPlan("Big"), p).summary).toBe("Added 402 waypoints: S0-1, S0-2, …");
  });

  it("groups each kind of change with its own count, then the plan-wide changes", () => {
    const p = sample();
    const [a, b, c] = p.waypoints.map((w) => w.id) as [string, string, string];
    let q = moveWaypointTo(p, a, { x: 5, y: 5 });
    q = moveWaypointTo(q, b, { x: 7, y: 7 });
    expect(describeChange(p, q).summary).toBe("Moved Start 1 and WP 2");
    q = moveWaypointTo(q, c, { x: 9, y: 9 });
    expect(describeChange(p, { ...q, title: "New" }).summary).toBe(
      "Moved 3 waypoints: Start 1, WP 2, …; Changed the title",
    );
    expect(describeChange(p, { ...removeWaypoint(q, c), title: "New", notes: "n" }).summary).toBe(
      "Moved Start 1 and WP 2; Removed Target 3 and 2 more changes",
    );
  });
});

describe("keepUnchanged (a follower's plan, parsed anew from each change)", () => {
  const reparsed = (p: ReturnType<typeof sample>) => {
    const r = parsePlan(JSON.parse(planToJson(p)));
    if (!r.ok) throw new Error(r.error);
    return r.plan;
  };

  it("keeps the objects of unchanged items, takes the changed one", () => {
    const p = sample();
    const id = (p.waypoints[1] as { id: string }).id;
    const next = reparsed(moveWaypointTo(p, id, { x: 1, y: 2 }));
    const kept = keepUnchanged(p, next);
    expect(kept.waypoints[0]).toBe(p.waypoints[0]);
    expect(kept.waypoints[2]).toBe(p.waypoints[2]);
    expect(kept.waypoints[1]).toBe(next.waypoints[1]);
    expect(kept.waypoints[1]).not.toEqual(p.waypoints[1]);
    expect(kept.fence).toBe(p.fence);
    expect(kept.rally).toBe(p.rally);
    expect(kept).toEqual(next);
    expect(describeChange(p, kept)).toMatchObject({ ids: [id], summary: "Moved WP 2" });
  });

  it("gives back the same plan when nothing changed, and the new list when the order did", () => {
    const p = sample();
    expect(keepUnchanged(p, reparsed(p))).toBe(p);
    const swapped = { ...p, waypoints: [p.waypoints[1], p.waypoints[0], p.waypoints[2]] as Item[] };
    const kept = keepUnchanged(p, reparsed(swapped));
    expect(kept.waypoints).not.toBe(p.waypoints);
    expect(kept.waypoints[0]).toBe(p.waypoints[1]);
    expect(kept.waypoints[1]).toBe(p.waypoints[0]);
    expect(keepUnchanged(undefined, p)).toBe(p);
  });
});

describe("planReader (a follower's run of states)", () => {
  const planOf = (n: number) => {
    let p = emptyPlan("Reader");
    for (let i = 0; i < n; i++) p = addWaypoint(p, { x: i * 10, y: i * 5 })[0];
    return p;
  };
  // What the follower gets: plain JSON whose untouched items are the same objects as before.
  const plain = (p: unknown) => JSON.parse(JSON.stringify(p));

  it("reads what parsePlan reads, to the key order, and keeps an untouched item's parsed object", () => {
    const read = planReader();
    const s1 = plain(planOf(5));
    const a = read(s1);
    expect(a).toEqual(parsePlan(s1));
    expect(JSON.stringify(a.ok && a.plan)).toBe(
      JSON.stringify(parsePlan(s1).ok && (parsePlan(s1) as { plan: unknown }).plan),
    );
    // A patch applied immutably: item 2 is new, the others are the objects of s1.
    const s2 = {
      ...s1,
      waypoints: s1.waypoints.map((w: { lat: number }, i: number) => (i === 2 ? { ...w, lat: 1.5 } : w)),
    };
    const b = read(s2);
    expect(b).toEqual(parsePlan(s2));
    if (!a.ok || !b.ok) throw new Error("not read");
    expect(b.plan.waypoints.map((w, i) => w === a.plan.waypoints[i])).toEqual([true, true, false, true, true]);
  });

  it("refuses what parsePlan refuses, in its words: a bad item, a duplicate id, too many, a bad header; v1 migrates", () => {
    const read = planReader();
    const good = plain(planOf(3));
    expect(read(good).ok).toBe(true); // its items are cached now: a bad header must still be refused
    const cases: unknown[] = [
      { ...good, waypoints: [...good.waypoints.slice(0, 2), { ...good.waypoints[2], lat: 95 }] },
      { ...good, waypoints: [...good.waypoints, good.waypoints[0]] },
      { ...good, waypoints: Array.from({ length: LIMITS.waypoints + 1 }, () => good.waypoints[0]) },
      { ...good, title: "t".repeat(LIMITS.title + 1) },
      { ...good, version: 99 },
      { version: 1, title: "Old", notes: "", waypoints: [{ id: "a", name: "A", type: "start", x: 0, y: 0 }] },
      null,
    ];
    for (const c of cases) expect(read(c)).toEqual(parsePlan(c));
    expect(read(cases[0]).ok).toBe(false);
  });
});
