/**
 * Edits of the plan's geofence and rally points, and of its speeds, as pure
 * functions: each takes a plan and returns a new plan, or says in plain words
 * why it cannot (then nothing changes). They check what the schema checks
 * (plan.ts: a polygon has at least 3 vertices, a radius is more than 0, a
 * latitude is within ±90° and a longitude within ±180°, the layer limits), so
 * a refused edit never reaches the undo history or the stream. The `read*`
 * helpers turn a field's text into a number or the message the field shows.
 */
import { fromLocal, type LatLon } from "./geo.ts";
import {
  DEFAULT_ALT,
  type Fence,
  LIMITS,
  type NavItem,
  navItems,
  type Plan,
  type RallyPoint,
  updateWaypoint,
} from "./plan.ts";

export type EditResult = { ok: true; plan: Plan } | { ok: false; error: string };
export type ReadResult = { ok: true; value: number } | { ok: false; error: string };

export type Polygon = Fence["polygons"][number];
export type Circle = Fence["circles"][number];
export type BreachReturn = NonNullable<Fence["breachReturn"]>;

/** A new polygon is a square this many metres from its centre to each side (500 m across). */
export const DEFAULT_SQUARE_HALF_SIDE = 250;
export const DEFAULT_RADIUS = 150;
/** The schema's bounds (plan.ts), said once for the messages. */
export const MAX_RADIUS = 1e7;
export const MAX_SPEED = 1000;
const ALT_MIN = -20_000;
const ALT_MAX = 1_000_000;

export const MESSAGES = {
  lat: "Enter a latitude from -90 to 90 degrees (south is negative).",
  lon: "Enter a longitude from -180 to 180 degrees (west is negative).",
  alt: `Enter an altitude in metres from ${ALT_MIN.toLocaleString("en")} to ${ALT_MAX.toLocaleString("en")}.`,
  radius: `Enter a radius in metres, more than 0 and at most ${MAX_RADIUS.toLocaleString("en")}.`,
  speed: `Enter a speed in m/s, more than 0 and at most ${MAX_SPEED}.`,
  minVertices: "A polygon needs at least 3 vertices. Delete the polygon instead.",
  maxVertices: `A polygon holds at most ${LIMITS.vertices} vertices.`,
  maxAreas: `A geofence holds at most ${LIMITS.fence} polygons and ${LIMITS.fence} circles.`,
  maxRally: `A plan holds at most ${LIMITS.rally} rally points.`,
  noSuch: "That geofence area or rally point is no longer in the plan.",
} as const;

// ---- reading a field ------------------------------------------------------------------------

function readNumber(text: string, ok: (v: number) => boolean, error: string): ReadResult {
  const t = text.trim();
  const v = Number(t);
  return t !== "" && Number.isFinite(v) && ok(v) ? { ok: true, value: v } : { ok: false, error };
}

export const readLat = (text: string) => readNumber(text, (v) => Math.abs(v) <= 90, MESSAGES.lat);
export const readLon = (text: string) => readNumber(text, (v) => Math.abs(v) <= 180, MESSAGES.lon);
export const readAlt = (text: string) => readNumber(text, (v) => v >= ALT_MIN && v <= ALT_MAX, MESSAGES.alt);
export const readRadius = (text: string) => readNumber(text, (v) => v > 0 && v <= MAX_RADIUS, MESSAGES.radius);
export const readSpeed = (text: string) => readNumber(text, (v) => v > 0 && v <= MAX_SPEED, MESSAGES.speed);

// ---- checks shared by the edits ---------------------------------------------------------------

function round7(v: number): number {
  return Math.round(v * 1e7) / 1e7;
}

/** The first problem with a (partial) place, or undefined. */
function badPlace(p: Partial<LatLon & { alt: number; radius: number }>): string | undefined {
  if (p.lat !== undefined && !(Math.abs(p.lat) <= 90)) return MESSAGES.lat;
  if (p.lon !== undefined && !(Math.abs(p.lon) <= 180)) return MESSAGES.lon;
  if (p.alt !== undefined && !(p.alt >= ALT_MIN && p.alt <= ALT_MAX)) return MESSAGES.alt;
  if (p.radius !== undefined && !(p.radius > 0 && p.radius <= MAX_RADIUS)) return MESSAGES.radius;
  return undefined;
}

/** Rounds lat/lon to 1e-7° (about a centimetre, what the files keep) and drops unset keys. */
function cleanPlace<T extends Partial<LatLon>>(p: T): T {
  const out = { ...p };
  for (const k of Object.keys(out) as (keyof T)[]) if (out[k] === undefined) delete out[k];
  if (out.lat !== undefined) out.lat = round7(out.lat);
  if (out.lon !== undefined) out.lon = round7(out.lon);
  return out;
}

const fail = (error: string): EditResult => ({ ok: false, error });
const withFence = (plan: Plan, fence: Fence): EditResult => ({ ok: true, plan: { ...plan, fence } });
const replaceAt = <T>(list: T[], i: number, item: T): T[] => list.map((x, k) => (k === i ? item : x));
const removeAt = <T>(list: T[], i: number): T[] => list.filter((_, k) => k !== i);

// ---- where new things go ------------------------------------------------------------------------

/**
 * The middle of what the plan holds (waypoints, fence, rally points), else its
 * home, else its origin: where a new area or point goes when the map cannot
 * say where its centre is.
 */
export function planCentre(plan: Plan): LatLon {
  const pts: LatLon[] = [
    ...navItems(plan),
    ...plan.fence.polygons.flatMap((pg) => pg.points),
    ...plan.fence.circles,
    ...plan.rally,
  ];
  if (pts.length === 0) return plan.home ? { lat: plan.home.lat, lon: plan.home.lon } : { ...plan.origin };
  const lats = pts.map((p) => p.lat);
  const lons = pts.map((p) => p.lon);
  return {
    lat: round7((Math.min(...lats) + Math.max(...lats)) / 2),
    lon: round7((Math.min(...lons) + Math.max(...lons)) / 2),
  };
}

/** Four corners of a square `halfSide` metres from `centre` to each side, clockwise from north-west. */
export function squareAround(centre: LatLon, halfSide = DEFAULT_SQUARE_HALF_SIDE): LatLon[] {
  return [
    { x: -halfSide, y: halfSide },
    { x: halfSide, y: halfSide },
    { x: halfSide, y: -halfSide },
    { x: -halfSide, y: -halfSide },
  ].map((en) => {
    const p = fromLocal(centre, en);
    return { lat: round7(Math.max(-90, Math.min(90, p.lat))), lon: round7(p.lon) };
  });
}

// ---- polygons ---------------------------------------------------------------------------------------

export function addPolygon(plan: Plan, points: LatLon[], inclusion = true): EditResult {
  if (plan.fence.polygons.length >= LIMITS.fence) return fail(MESSAGES.maxAreas);
  if (points.length < 3) return fail(MESSAGES.minVertices);
  if (points.length > LIMITS.vertices) return fail(MESSAGES.maxVertices);
  for (const p of points) {
    const bad = badPlace(p);
    if (bad) return fail(bad);
  }
  const polygon: Polygon = { inclusion, points: points.map((p) => cleanPlace({ lat: p.lat, lon: p.lon })) };
  return withFence(plan, { ...plan.fence, polygons: [...plan.fence.polygons, polygon] });
}

export function removePolygon(plan: Plan, i: number): EditResult {
  if (!plan.fence.polygons[i]) return fail(MESSAGES.noSuch);
  return withFence(plan, { ...plan.fence, polygons: removeAt(plan.fence.polygons, i) });
}

export function setPolygonInclusion(plan: Plan, i: number, inclusion: boolean): EditResult {
  const pg = plan.fence.polygons[i];
  if (!pg) return fail(MESSAGES.noSuch);
  if (pg.inclusion === inclusion) return { ok: true, plan };
  return withFence(plan, { ...plan.fence, polygons: replaceAt(plan.fence.polygons, i, { ...pg, inclusion }) });
}

export function setVertex(plan: Plan, i: number, j: number, patch: Partial<LatLon>): EditResult {
  const pg = plan.fence.polygons[i];
  const v = pg?.points[j];
  if (!pg || !v) return fail(MESSAGES.noSuch);
  const bad = badPlace(patch);
  if (bad) return fail(bad);
  const next = cleanPlace({ lat: patch.lat ?? v.lat, lon: patch.lon ?? v.lon });
  if (next.lat === v.lat && next.lon === v.lon) return { ok: true, plan };
  const points = replaceAt(pg.points, j, next);
  return withFence(plan, { ...plan.fence, polygons: replaceAt(plan.fence.polygons, i, { ...pg, points }) });
}

/** A new vertex after vertex `j`, halfway along the edge to the next one (the first, after the last). */
export function insertVertex(plan: Plan, i: number, j: number): EditResult {
  const pg = plan.fence.polygons[i];
  const a = pg?.points[j];
  if (!pg || !a) return fail(MESSAGES.noSuch);
  if (pg.points.length >= LIMITS.vertices) return fail(MESSAGES.maxVertices);
  const b = pg.points[(j + 1) % pg.points.length] ?? a;
  // Halfway in degrees is close enough for a new vertex the leader will place; across the
  // antimeridian the shorter way round.
  let dLon = b.lon - a.lon;
  if (dLon > 180) dLon -= 360;
  if (dLon < -180) dLon += 360;
  let lon = a.lon + dLon / 2;
  if (lon > 180) lon -= 360;
  if (lon < -180) lon += 360;
  const mid = cleanPlace({ lat: (a.lat + b.lat) / 2, lon });
  const points = [...pg.points.slice(0, j + 1), mid, ...pg.points.slice(j + 1)];
  return withFence(plan, { ...plan.fence, polygons: replaceAt(plan.fence.polygons, i, { ...pg, points }) });
}

export function removeVertex(plan: Plan, i: number, j: number): EditResult {
  const pg = plan.fence.polygons[i];
  if (!pg?.points[j]) return fail(MESSAGES.noSuch);
  if (pg.points.length <= 3) return fail(MESSAGES.minVertices);
  const points = removeAt(pg.points, j);
  return withFence(plan, { ...plan.fence, polygons: replaceAt(plan.fence.polygons, i, { ...pg, points }) });
}

// ---- circles ------------------------------------------------------------------------------------------

export function addCircle(plan: Plan, circle: Circle): EditResult {
  if (plan.fence.circles.length >= LIMITS.fence) return fail(MESSAGES.maxAreas);
  const bad = badPlace(circle);
  if (bad) return fail(bad);
  const c = cleanPlace({ inclusion: circle.inclusion, lat: circle.lat, lon: circle.lon, radius: circle.radius });
  return withFence(plan, { ...plan.fence, circles: [...plan.fence.circles, c] });
}

export function updateCircle(plan: Plan, i: number, patch: Partial<Circle>): EditResult {
  const c = plan.fence.circles[i];
  if (!c) return fail(MESSAGES.noSuch);
  const bad = badPlace(patch);
  if (bad) return fail(bad);
  const next = { ...c, ...cleanPlace(patch) };
  if (JSON.stringify(next) === JSON.stringify(c)) return { ok: true, plan };
  return withFence(plan, { ...plan.fence, circles: replaceAt(plan.fence.circles, i, next) });
}

export function removeCircle(plan: Plan, i: number): EditResult {
  if (!plan.fence.circles[i]) return fail(MESSAGES.noSuch);
  return withFence(plan, { ...plan.fence, circles: removeAt(plan.fence.circles, i) });
}

// ---- breach return ----------------------------------------------------------------------------------

/** A breach-return point's default altitude: it is above mean sea level, so home's plus the usual height. */
export function defaultBreachAlt(plan: Plan): number {
  return (plan.home?.alt ?? 0) + DEFAULT_ALT;
}

/** Sets the breach-return point, or changes part of it (a patch needs one to be set). */
export function setBreachReturn(plan: Plan, patch: Partial<BreachReturn>): EditResult {
  const old = plan.fence.breachReturn;
  const next = { ...old, ...cleanPlace(patch) };
  if (next.lat === undefined || next.lon === undefined || next.alt === undefined) return fail(MESSAGES.noSuch);
  const bad = badPlace(next);
  if (bad) return fail(bad);
  const point: BreachReturn = { lat: next.lat, lon: next.lon, alt: next.alt };
  if (old && JSON.stringify(old) === JSON.stringify(point)) return { ok: true, plan };
  return withFence(plan, { ...plan.fence, breachReturn: point });
}

export function clearBreachReturn(plan: Plan): EditResult {
  if (!plan.fence.breachReturn) return { ok: true, plan };
  const { breachReturn: _, ...fence } = plan.fence;
  return withFence(plan, fence);
}

// ---- rally points -----------------------------------------------------------------------------------

export function addRally(plan: Plan, p: RallyPoint): EditResult {
  if (plan.rally.length >= LIMITS.rally) return fail(MESSAGES.maxRally);
  const bad = badPlace(p);
  if (bad) return fail(bad);
  return { ok: true, plan: { ...plan, rally: [...plan.rally, cleanPlace({ lat: p.lat, lon: p.lon, alt: p.alt })] } };
}

export function updateRally(plan: Plan, i: number, patch: Partial<RallyPoint>): EditResult {
  const r = plan.rally[i];
  if (!r) return fail(MESSAGES.noSuch);
  const bad = badPlace(patch);
  if (bad) return fail(bad);
  const next = { ...r, ...cleanPlace(patch) };
  if (JSON.stringify(next) === JSON.stringify(r)) return { ok: true, plan };
  return { ok: true, plan: { ...plan, rally: replaceAt(plan.rally, i, next) } };
}

export function removeRally(plan: Plan, i: number): EditResult {
  if (!plan.rally[i]) return fail(MESSAGES.noSuch);
  return { ok: true, plan: { ...plan, rally: removeAt(plan.rally, i) } };
}

// ---- speeds ---------------------------------------------------------------------------------------------

export function setCruiseSpeed(plan: Plan, speed: number): EditResult {
  if (!(speed > 0 && speed <= MAX_SPEED)) return fail(MESSAGES.speed);
  return { ok: true, plan: plan.cruiseSpeed === speed ? plan : { ...plan, cruiseSpeed: speed } };
}

/**
 * A waypoint's latitude, longitude or altitude from its field's text, read as the layers'
 * fields are (readLat/readLon/readAlt): a value out of range is refused with the field's
 * message and the plan is untouched (the sidebar used to send any finite number).
 */
export function setWaypointPoint(plan: Plan, itemId: string, key: "lat" | "lon" | "alt", text: string): EditResult {
  if (!plan.waypoints.some((x) => x.id === itemId && x.kind === "nav"))
    return fail("That waypoint is no longer in the plan.");
  const read = (key === "lat" ? readLat : key === "lon" ? readLon : readAlt)(text);
  if (!read.ok) return fail(read.error);
  return { ok: true, plan: updateWaypoint(plan, itemId, { [key]: read.value }) };
}

/** A waypoint's own speed for the leg that ends there; undefined: the speed in force (plan.ts `legs`). */
export function setLegSpeed(plan: Plan, itemId: string, speed: number | undefined): EditResult {
  const w = plan.waypoints.find((x): x is NavItem => x.id === itemId && x.kind === "nav");
  if (!w) return fail("That waypoint is no longer in the plan.");
  if (speed !== undefined && !(speed > 0 && speed <= MAX_SPEED)) return fail(MESSAGES.speed);
  if (w.speed === speed) return { ok: true, plan };
  return { ok: true, plan: updateWaypoint(plan, itemId, { speed }) };
}
