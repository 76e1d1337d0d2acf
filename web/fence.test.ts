import { describe, expect, it } from "vitest";
import {
  addCircle,
  addPolygon,
  addRally,
  clearBreachReturn,
  type EditResult,
  insertVertex,
  MESSAGES,
  planCentre,
  readAlt,
  readLat,
  readLon,
  readRadius,
  readSpeed,
  removeCircle,
  removePolygon,
  removeRally,
  removeVertex,
  setBreachReturn,
  setCruiseSpeed,
  setLegSpeed,
  setPolygonInclusion,
  setVertex,
  setWaypointPoint,
  squareAround,
  updateCircle,
  updateRally,
} from "./fence.ts";
import { inverse } from "./geo.ts";
import { addWaypoint, emptyPlan, LIMITS, legs, type Plan, PlanSchema } from "./plan.ts";

const origin = { lat: 47.3977419, lon: 8.5455938 };
const base = () => emptyPlan("Fence", origin);

/** The plan of a successful edit, checked against the schema the stream's followers use. */
function ok(r: EditResult): Plan {
  if (!r.ok) throw new Error(`refused: ${r.error}`);
  expect(PlanSchema.safeParse(r.plan).success).toBe(true);
  return r.plan;
}

function refused(r: EditResult, error: string) {
  expect(r).toEqual({ ok: false, error });
}

const square = () => ok(addPolygon(base(), squareAround(origin)));

describe("reading a field", () => {
  it("takes numbers in range and says what is expected otherwise", () => {
    expect(readLat(" 47.5 ")).toEqual({ ok: true, value: 47.5 });
    expect(readLat("-90")).toEqual({ ok: true, value: -90 });
    for (const bad of ["", "abc", "90.0001", "NaN", "Infinity"])
      expect(readLat(bad)).toEqual({ ok: false, error: MESSAGES.lat });
    expect(readLon("-180")).toEqual({ ok: true, value: -180 });
    expect(readLon("181")).toEqual({ ok: false, error: MESSAGES.lon });
    expect(readAlt("-20001").ok).toBe(false);
    expect(readAlt("120")).toEqual({ ok: true, value: 120 });
    for (const bad of ["0", "-5", "", "x"]) expect(readRadius(bad)).toEqual({ ok: false, error: MESSAGES.radius });
    expect(readRadius("0.5")).toEqual({ ok: true, value: 0.5 });
    expect(readSpeed("0").ok).toBe(false);
    expect(readSpeed("1001").ok).toBe(false);
    expect(readSpeed("12")).toEqual({ ok: true, value: 12 });
  });
});

describe("polygons", () => {
  it("adds a square around a centre, 500 m across, as an inclusion by default", () => {
    const p = square();
    const pg = p.fence.polygons[0];
    expect(pg?.inclusion).toBe(true);
    expect(pg?.points).toHaveLength(4);
    const [nw, ne, se] = pg?.points ?? [];
    if (!nw || !ne || !se) throw new Error("no corners");
    expect(inverse(nw, ne).distance).toBeCloseTo(500, 0);
    expect(inverse(ne, se).distance).toBeCloseTo(500, 0);
    expect(planCentre(p).lat).toBeCloseTo(origin.lat, 6);
    expect(planCentre(p).lon).toBeCloseTo(origin.lon, 6);
  });

  it("refuses fewer than 3 vertices, bad places and more than the limit; the plan is untouched", () => {
    const p = base();
    refused(addPolygon(p, squareAround(origin).slice(0, 2)), MESSAGES.minVertices);
    refused(addPolygon(p, [...squareAround(origin).slice(0, 2), { lat: 91, lon: 0 }]), MESSAGES.lat);
    const full = {
      ...p,
      fence: { ...p.fence, polygons: Array(LIMITS.fence).fill({ inclusion: true, points: squareAround(origin) }) },
    };
    refused(addPolygon(full, squareAround(origin)), MESSAGES.maxAreas);
    expect(p.fence.polygons).toEqual([]);
  });

  it("edits a vertex (rounded to 1e-7°), refuses one out of range, and does not mutate", () => {
    const p = square();
    const q = ok(setVertex(p, 0, 1, { lat: 47.123456789 }));
    expect(q.fence.polygons[0]?.points[1]?.lat).toBe(47.1234568);
    expect(q.fence.polygons[0]?.points[1]?.lon).toBe(p.fence.polygons[0]?.points[1]?.lon);
    expect(p.fence.polygons[0]?.points[1]?.lat).not.toBe(47.1234568);
    expect(ok(setVertex(q, 0, 1, { lat: 47.1234568 }))).toBe(q);
    refused(setVertex(p, 0, 1, { lon: 200 }), MESSAGES.lon);
    refused(setVertex(p, 0, 9, { lat: 1 }), MESSAGES.noSuch);
    refused(setVertex(p, 3, 0, { lat: 1 }), MESSAGES.noSuch);
  });

  it("inserts a vertex halfway along an edge and removes down to 3, no fewer", () => {
    const p = square();
    const [a, b] = p.fence.polygons[0]?.points ?? [];
    const q = ok(insertVertex(p, 0, 0));
    const pts = q.fence.polygons[0]?.points ?? [];
    expect(pts).toHaveLength(5);
    expect(pts[1]?.lat).toBeCloseTo(((a?.lat ?? 0) + (b?.lat ?? 0)) / 2, 6);
    expect(pts[1]?.lon).toBeCloseTo(((a?.lon ?? 0) + (b?.lon ?? 0)) / 2, 6);
    // After the last vertex: towards the first.
    const last = ok(insertVertex(p, 0, 3)).fence.polygons[0]?.points ?? [];
    expect(last).toHaveLength(5);
    expect(last[4]?.lon).toBeCloseTo(a?.lon ?? 0, 6);
    const three = ok(removeVertex(p, 0, 2));
    expect(three.fence.polygons[0]?.points).toHaveLength(3);
    refused(removeVertex(three, 0, 0), MESSAGES.minVertices);
  });

  it("halves an edge across the antimeridian the short way", () => {
    const p = ok(
      addPolygon(base(), [
        { lat: 0, lon: 179.9 },
        { lat: 0, lon: -179.9 },
        { lat: 1, lon: -179.9 },
      ]),
    );
    expect(Math.abs(ok(insertVertex(p, 0, 0)).fence.polygons[0]?.points[1]?.lon ?? 0)).toBeCloseTo(180, 6);
  });

  it("toggles inclusion/exclusion and removes a polygon", () => {
    const p = square();
    const q = ok(setPolygonInclusion(p, 0, false));
    expect(q.fence.polygons[0]?.inclusion).toBe(false);
    expect(ok(setPolygonInclusion(q, 0, false))).toBe(q);
    expect(ok(removePolygon(q, 0)).fence.polygons).toEqual([]);
    refused(removePolygon(q, 1), MESSAGES.noSuch);
  });
});

describe("circles", () => {
  it("adds, edits, toggles and removes", () => {
    const p = ok(addCircle(base(), { inclusion: false, lat: 47.4, lon: 8.5, radius: 150 }));
    expect(p.fence.circles).toEqual([{ inclusion: false, lat: 47.4, lon: 8.5, radius: 150 }]);
    const q = ok(updateCircle(p, 0, { radius: 300, inclusion: true }));
    expect(q.fence.circles[0]).toEqual({ inclusion: true, lat: 47.4, lon: 8.5, radius: 300 });
    expect(ok(updateCircle(q, 0, { radius: 300 }))).toBe(q);
    expect(ok(removeCircle(q, 0)).fence.circles).toEqual([]);
  });

  it("refuses a radius of 0 or less and places out of range; nothing changes", () => {
    const p = ok(addCircle(base(), { inclusion: false, lat: 47.4, lon: 8.5, radius: 150 }));
    refused(addCircle(base(), { inclusion: true, lat: 47, lon: 8, radius: 0 }), MESSAGES.radius);
    refused(updateCircle(p, 0, { radius: -1 }), MESSAGES.radius);
    refused(updateCircle(p, 0, { radius: Number.NaN }), MESSAGES.radius);
    refused(updateCircle(p, 0, { lat: -91 }), MESSAGES.lat);
    refused(updateCircle(p, 2, { radius: 5 }), MESSAGES.noSuch);
    expect(p.fence.circles[0]?.radius).toBe(150);
  });
});

describe("breach return", () => {
  it("is set, patched and cleared; a patch needs a point to patch", () => {
    refused(setBreachReturn(base(), { lat: 47 }), MESSAGES.noSuch);
    const p = ok(setBreachReturn(base(), { lat: 47.39, lon: 8.54, alt: 500 }));
    expect(p.fence.breachReturn).toEqual({ lat: 47.39, lon: 8.54, alt: 500 });
    expect(ok(setBreachReturn(p, { alt: 520 })).fence.breachReturn).toEqual({ lat: 47.39, lon: 8.54, alt: 520 });
    refused(setBreachReturn(p, { lon: -181 }), MESSAGES.lon);
    const q = ok(clearBreachReturn(p));
    expect("breachReturn" in q.fence).toBe(false);
    expect(ok(clearBreachReturn(q))).toBe(q);
  });
});

describe("rally points", () => {
  it("are added, edited and removed, within their limit", () => {
    const p = ok(addRally(base(), { lat: 47.4, lon: 8.55, alt: 30 }));
    const q = ok(updateRally(p, 0, { alt: 45, lon: 8.56 }));
    expect(q.rally).toEqual([{ lat: 47.4, lon: 8.56, alt: 45 }]);
    refused(updateRally(q, 0, { lat: 100 }), MESSAGES.lat);
    refused(updateRally(q, 0, { alt: 2e6 }), MESSAGES.alt);
    expect(ok(removeRally(q, 0)).rally).toEqual([]);
    const full = { ...base(), rally: Array(LIMITS.rally).fill({ lat: 1, lon: 1, alt: 1 }) };
    refused(addRally(full, { lat: 1, lon: 1, alt: 1 }), MESSAGES.maxRally);
  });
});

describe("speeds", () => {
  it("sets the cruise speed and a leg's own speed, which the leg times use", () => {
    let p = base();
    [p] = addWaypoint(p, { x: 0, y: 0 });
    [p] = addWaypoint(p, { x: 0, y: 1000 });
    [p] = addWaypoint(p, { x: 0, y: 2000 });
    const id = p.waypoints[2]?.id ?? "";
    const q = ok(setCruiseSpeed(p, 10));
    expect(legs(q).map((l) => Math.round(l.seconds))).toEqual([100, 100]);
    const r = ok(setLegSpeed(q, id, 20));
    expect(legs(r).map((l) => [l.speed, Math.round(l.seconds)])).toEqual([
      [10, 100],
      [20, 50],
    ]);
    const back = ok(setLegSpeed(r, id, undefined));
    expect("speed" in (back.waypoints[2] ?? {})).toBe(false);
    refused(setCruiseSpeed(p, 0), MESSAGES.speed);
    refused(setLegSpeed(p, id, -3), MESSAGES.speed);
    expect(setLegSpeed(p, "nope", 3).ok).toBe(false);
  });
});

describe("a waypoint's lat/lon/alt fields", () => {
  it("take a value in range, and refuse one out of range with the field's message (plan untouched)", () => {
    const [p] = addWaypoint(base(), { x: 0, y: 0 });
    const id = p.waypoints[0]?.id ?? "";
    expect(ok(setWaypointPoint(p, id, "lat", " 45.5 ")).waypoints[0]).toMatchObject({ lat: 45.5 });
    expect(ok(setWaypointPoint(p, id, "alt", "120")).waypoints[0]).toMatchObject({ alt: 120 });
    refused(setWaypointPoint(p, id, "lat", "91"), MESSAGES.lat);
    refused(setWaypointPoint(p, id, "lon", "-180.5"), MESSAGES.lon);
    refused(setWaypointPoint(p, id, "alt", "1e9"), MESSAGES.alt);
    refused(setWaypointPoint(p, id, "lat", ""), MESSAGES.lat);
    expect(setWaypointPoint(p, "nope", "lat", "1").ok).toBe(false);
  });
});

describe("where new things go", () => {
  it("is the middle of the plan's contents, else home, else the origin", () => {
    expect(planCentre(base())).toEqual(origin);
    expect(planCentre({ ...base(), home: { lat: 1, lon: 2, alt: 3 } })).toEqual({ lat: 1, lon: 2 });
    const p = ok(addRally(ok(addRally(base(), { lat: 10, lon: 20, alt: 0 })), { lat: 12, lon: 24, alt: 0 }));
    expect(planCentre(p)).toEqual({ lat: 11, lon: 22 });
  });
});
