/**
 * The mission plan: the one object a leader publishes as the stream's state.
 * One zod schema, with a version field so older/newer pages can tell what they
 * hold. Coordinates are metres on a local grid (x = easting, y = northing);
 * distances are straight-line on that grid.
 */
import { z } from "zod";

export const PLAN_VERSION = 1;

export const WAYPOINT_TYPES = ["start", "waypoint", "target", "rally", "landing"] as const;
export type WaypointType = (typeof WAYPOINT_TYPES)[number];

export const TYPE_LABELS: Record<WaypointType, string> = {
  start: "Start",
  waypoint: "Waypoint",
  target: "Target",
  rally: "Rally point",
  landing: "Landing zone",
};

/** Limits keep one plan well under the relay's 1 MiB state cap. */
export const LIMITS = { waypoints: 500, name: 80, title: 200, notes: 20_000, coord: 1_000_000 } as const;

const coord = z.number().finite().min(-LIMITS.coord).max(LIMITS.coord);

export const WaypointSchema = z.object({
  id: z.string().min(1).max(40),
  name: z.string().max(LIMITS.name),
  type: z.enum(WAYPOINT_TYPES),
  x: coord,
  y: coord,
});
export type Waypoint = z.infer<typeof WaypointSchema>;

export const PlanSchema = z.object({
  version: z.literal(PLAN_VERSION),
  title: z.string().max(LIMITS.title),
  notes: z.string().max(LIMITS.notes),
  /** Route order is array order. */
  waypoints: z.array(WaypointSchema).max(LIMITS.waypoints),
});
export type Plan = z.infer<typeof PlanSchema>;

export function emptyPlan(title = ""): Plan {
  return { version: PLAN_VERSION, title, notes: "", waypoints: [] };
}

export type ParseResult = { ok: true; plan: Plan } | { ok: false; error: string };

/** Validates unknown input (a stream state or an imported file) as a plan. */
export function parsePlan(input: unknown): ParseResult {
  if (input && typeof input === "object" && "version" in input && input.version !== PLAN_VERSION) {
    return {
      ok: false,
      error: `This plan has version ${String(input.version)}; this page reads version ${PLAN_VERSION}.`,
    };
  }
  const r = PlanSchema.safeParse(input);
  if (r.success) {
    const ids = new Set(r.data.waypoints.map((w) => w.id));
    if (ids.size !== r.data.waypoints.length) return { ok: false, error: "Two waypoints share the same id." };
    return { ok: true, plan: r.data };
  }
  const issue = r.error.issues[0];
  const where = issue?.path.length ? ` (at ${issue.path.join(".")})` : "";
  return { ok: false, error: `Not a valid mission plan: ${issue?.message ?? "unknown problem"}${where}.` };
}

/** Reads an exported JSON file's text. */
export function parsePlanJson(text: string): ParseResult {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, error: "The file is not JSON." };
  }
  return parsePlan(data);
}

export function planToJson(plan: Plan): string {
  return `${JSON.stringify(plan, null, 2)}\n`;
}

// ---- route geometry -------------------------------------------------------

export function distance(a: { x: number; y: number }, b: { x: number; y: number }): number {
  return Math.hypot(b.x - a.x, b.y - a.y);
}

export interface Leg {
  from: Waypoint;
  to: Waypoint;
  metres: number;
  /** Bearing in degrees clockwise from grid north, 0..360. */
  bearing: number;
}

export function legs(plan: Plan): Leg[] {
  const out: Leg[] = [];
  for (let i = 1; i < plan.waypoints.length; i++) {
    const from = plan.waypoints[i - 1] as Waypoint;
    const to = plan.waypoints[i] as Waypoint;
    out.push({ from, to, metres: distance(from, to), bearing: bearing(from, to) });
  }
  return out;
}

export function bearing(a: { x: number; y: number }, b: { x: number; y: number }): number {
  const deg = (Math.atan2(b.x - a.x, b.y - a.y) * 180) / Math.PI;
  return (deg + 360) % 360;
}

export function totalDistance(plan: Plan): number {
  return legs(plan).reduce((sum, l) => sum + l.metres, 0);
}

export function formatDistance(m: number): string {
  if (m < 1000) return `${Math.round(m)} m`;
  if (m < 100_000) return `${(m / 1000).toFixed(2)} km`;
  return `${Math.round(m / 1000)} km`;
}

export function formatBearing(deg: number): string {
  return `${String(Math.round(deg) % 360).padStart(3, "0")}°`;
}

export function formatCoord(x: number, y: number): string {
  return `E ${Math.round(x)} · N ${Math.round(y)}`;
}

// ---- edits ----------------------------------------------------------------

export function newId(plan: Plan): string {
  for (;;) {
    const id = Math.random().toString(36).slice(2, 10);
    if (!plan.waypoints.some((w) => w.id === id)) return id;
  }
}

/** The default name for a new waypoint of a type: "Target 2" etc. */
export function defaultName(plan: Plan, type: WaypointType): string {
  const base = type === "waypoint" ? "WP" : TYPE_LABELS[type];
  let n = plan.waypoints.filter((w) => w.type === type).length + 1;
  const names = new Set(plan.waypoints.map((w) => w.name));
  while (names.has(`${base} ${n}`)) n++;
  return `${base} ${n}`;
}

/** A sensible type for the next waypoint: the first is the start, later ones waypoints. */
export function nextType(plan: Plan): WaypointType {
  return plan.waypoints.length === 0 ? "start" : "waypoint";
}

export function addWaypoint(plan: Plan, at: { x: number; y: number }, type = nextType(plan)): [Plan, Waypoint] {
  const wp: Waypoint = { id: newId(plan), name: defaultName(plan, type), type, x: round1(at.x), y: round1(at.y) };
  return [{ ...plan, waypoints: [...plan.waypoints, wp] }, wp];
}

export function updateWaypoint(plan: Plan, id: string, patch: Partial<Omit<Waypoint, "id">>): Plan {
  const clean = { ...patch };
  if (clean.x !== undefined) clean.x = round1(clamp(clean.x));
  if (clean.y !== undefined) clean.y = round1(clamp(clean.y));
  return { ...plan, waypoints: plan.waypoints.map((w) => (w.id === id ? { ...w, ...clean } : w)) };
}

export function removeWaypoint(plan: Plan, id: string): Plan {
  return { ...plan, waypoints: plan.waypoints.filter((w) => w.id !== id) };
}

/** Moves a waypoint by `delta` places in the route order (clamped to the ends). */
export function moveWaypoint(plan: Plan, id: string, delta: number): Plan {
  const i = plan.waypoints.findIndex((w) => w.id === id);
  if (i < 0) return plan;
  const j = Math.max(0, Math.min(plan.waypoints.length - 1, i + delta));
  if (i === j) return plan;
  const list = [...plan.waypoints];
  const [wp] = list.splice(i, 1);
  list.splice(j, 0, wp as Waypoint);
  return { ...plan, waypoints: list };
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

function clamp(v: number): number {
  return Math.max(-LIMITS.coord, Math.min(LIMITS.coord, v));
}

// ---- what changed (for the follower's highlight) ---------------------------

export interface Change {
  /** Waypoints added, moved, renamed or retyped. */
  ids: string[];
  title: boolean;
  notes: boolean;
  /** One line in plain words, e.g. "Moved Target 1". */
  summary: string;
}

export function describeChange(prev: Plan | undefined, next: Plan): Change {
  if (!prev) return { ids: [], title: false, notes: false, summary: "Plan loaded" };
  const before = new Map(prev.waypoints.map((w) => [w.id, w]));
  const after = new Map(next.waypoints.map((w) => [w.id, w]));
  const lines: string[] = [];
  const ids: string[] = [];
  for (const w of next.waypoints) {
    const old = before.get(w.id);
    if (!old) {
      ids.push(w.id);
      lines.push(`Added ${w.name}`);
    } else if (old.x !== w.x || old.y !== w.y) {
      ids.push(w.id);
      lines.push(`Moved ${w.name}`);
    } else if (old.name !== w.name) {
      ids.push(w.id);
      lines.push(`Renamed ${old.name} to ${w.name}`);
    } else if (old.type !== w.type) {
      ids.push(w.id);
      lines.push(`${w.name} is now a ${TYPE_LABELS[w.type].toLowerCase()}`);
    }
  }
  for (const w of prev.waypoints) if (!after.has(w.id)) lines.push(`Removed ${w.name}`);
  const order = (p: Plan) => p.waypoints.filter((w) => before.has(w.id) && after.has(w.id)).map((w) => w.id);
  if (order(prev).join() !== order(next).join()) lines.push("Changed the route order");
  const title = prev.title !== next.title;
  const notes = prev.notes !== next.notes;
  if (title) lines.push("Changed the title");
  if (notes) lines.push("Edited the notes");
  let summary = lines.slice(0, 2).join("; ");
  if (lines.length > 2) summary += ` and ${lines.length - 2} more`;
  return { ids, title, notes, summary: summary || "No visible change" };
}
