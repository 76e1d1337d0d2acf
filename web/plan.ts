/**
 * The mission plan: the one object a leader publishes as the stream's state.
 * One zod schema with a version field, so older and newer pages can tell what
 * they hold.
 *
 * Version 2 is geographic: every positional item is WGS84 latitude/longitude
 * with an altitude and what that altitude is measured from; a MAV command per
 * item (NAV_WAYPOINT by default) with its parameters; the planned home
 * position; the geofence and rally points as layers of their own. Items this
 * page cannot edit (other MAV commands, QGroundControl complex items such as
 * surveys) are kept verbatim and listed.
 *
 * The map is still a metre grid (map.ts): it shows the plan in the tangent
 * plane at the plan's `origin` (geo.ts), so a click or a drag in metres
 * becomes a latitude/longitude here.
 *
 * Version 1 (a metre grid with no place on earth) is migrated on reading,
 * never refused: see `migrateV1`.
 */
import { z } from "zod";
import { deepEqual } from "../src/core/patch.ts";
import { type EastNorth, fromLocal, inverse, type LatLon, legTimes, toLocal } from "./geo.ts";

export const PLAN_VERSION = 2;

export const WAYPOINT_TYPES = ["start", "waypoint", "target", "rally", "landing"] as const;
export type WaypointType = (typeof WAYPOINT_TYPES)[number];

export const TYPE_LABELS: Record<WaypointType, string> = {
  start: "Start",
  waypoint: "Waypoint",
  target: "Target",
  rally: "Rally point",
  landing: "Landing zone",
};

/** What an altitude is measured from. */
export const ALT_REFS = ["home", "msl", "terrain"] as const;
export type AltRef = (typeof ALT_REFS)[number];
export const ALT_REF_LABELS: Record<AltRef, string> = {
  home: "above home",
  msl: "above mean sea level",
  terrain: "above terrain",
};

/** MAV_CMD numbers the page names (common.xml); any other number is kept as it is. */
export const MAV_CMD = {
  NAV_WAYPOINT: 16,
  NAV_LOITER_UNLIM: 17,
  NAV_LOITER_TURNS: 18,
  NAV_LOITER_TIME: 19,
  NAV_RETURN_TO_LAUNCH: 20,
  NAV_LAND: 21,
  NAV_TAKEOFF: 22,
  NAV_LOITER_TO_ALT: 31,
  NAV_SPLINE_WAYPOINT: 82,
  NAV_VTOL_TAKEOFF: 84,
  NAV_VTOL_LAND: 85,
  DO_JUMP: 177,
  DO_CHANGE_SPEED: 178,
} as const;

/** Commands that fly to a place: drawn on the map and counted in the route. */
export const NAV_COMMANDS: ReadonlySet<number> = new Set([16, 17, 18, 19, 21, 22, 31, 82, 84, 85]);

export const COMMAND_LABELS: Record<number, string> = {
  16: "Waypoint",
  17: "Loiter",
  18: "Loiter (turns)",
  19: "Loiter (time)",
  20: "Return to launch",
  21: "Land",
  22: "Takeoff",
  31: "Loiter to altitude",
  82: "Spline waypoint",
  84: "VTOL takeoff",
  85: "VTOL land",
  177: "Jump to item",
  178: "Change speed",
};

export function commandLabel(command: number): string {
  return COMMAND_LABELS[command] ?? `MAV command ${command}`;
}

/**
 * Where a plan without a place on earth is put: 0° N, 0° E ("Null Island", in
 * the Gulf of Guinea). Chosen because it cannot be mistaken for a real
 * operating area; such a plan carries `originAssumed` and the page asks the
 * leader to set the real origin (which keeps the grid shape, see `setOrigin`).
 */
export const DEFAULT_ORIGIN: LatLon = { lat: 0, lon: 0 };
/** New and migrated waypoints fly 50 m above home (QGroundControl's default too). */
export const DEFAULT_ALT = 50;
export const DEFAULT_CRUISE_SPEED = 15;
export const DEFAULT_HOVER_SPEED = 5;

/** Limits keep one plan well under the relay's 1 MiB state cap. */
export const LIMITS = {
  waypoints: 2000,
  name: 80,
  title: 200,
  notes: 20_000,
  coord: 1_000_000,
  fence: 100,
  vertices: 500,
  rally: 100,
} as const;

// ---- schema v2 ------------------------------------------------------------------------

const lat = z.number().finite().min(-90).max(90);
const lon = z.number().finite().min(-180).max(180);
const altitude = z.number().finite().min(-20_000).max(1_000_000);
/** A MAV parameter; QGroundControl writes NaN ("unused") as null. */
const param = z.number().finite().nullable();
const command = z.number().int().min(0).max(65_535);
const id = z.string().min(1).max(40);
/** Keys of a QGroundControl item this page does not model, kept to write them back. */
const extra = z.record(z.string(), z.unknown()).optional();

export const NavItemSchema = z.object({
  kind: z.literal("nav"),
  id,
  name: z.string().max(LIMITS.name),
  /** The planner's own marker kind (v1's type): a label, not what the vehicle does. */
  type: z.enum(WAYPOINT_TYPES),
  lat,
  lon,
  alt: altitude,
  altRef: z.enum(ALT_REFS),
  command,
  /** Params 1-4 of the command (5-7 are lat, lon, alt). */
  params: z.tuple([param, param, param, param]),
  /** The MAV_FRAME as imported, when it is not the plain one for `altRef` (e.g. an _INT frame). */
  frame: z.number().int().min(0).max(255).optional(),
  autoContinue: z.boolean(),
  /** m/s for the leg that ends here; unset: the speed in force (a Change speed item, else cruise). */
  speed: z.number().finite().positive().max(1000).optional(),
  /** QGroundControl's sequence number, kept so its jump targets stay right. */
  doJumpId: z.number().int().min(0).optional(),
  /** "Altitude above terrain, calculated": the AMSL altitude QGroundControl worked out. */
  terrainAmsl: z.number().finite().nullable().optional(),
  extra,
});
export type NavItem = z.infer<typeof NavItemSchema>;

/** A MAV command that is not a place to fly to (or one this page does not know): kept as it came. */
export const CommandItemSchema = z.object({
  kind: z.literal("cmd"),
  id,
  name: z.string().max(LIMITS.name),
  command,
  frame: z.number().int().min(0).max(255),
  params: z.tuple([param, param, param, param, param, param, param]),
  autoContinue: z.boolean(),
  doJumpId: z.number().int().min(0).optional(),
  extra,
});
export type CommandItem = z.infer<typeof CommandItemSchema>;

/** A QGroundControl complex item (survey, corridor scan, landing pattern): its JSON verbatim. */
export const ComplexItemSchema = z.object({
  kind: z.literal("complex"),
  id,
  name: z.string().max(LIMITS.name),
  raw: z.record(z.string(), z.unknown()),
});
export type ComplexItem = z.infer<typeof ComplexItemSchema>;

export const ItemSchema = z.discriminatedUnion("kind", [NavItemSchema, CommandItemSchema, ComplexItemSchema]);
export type Item = z.infer<typeof ItemSchema>;
/** The items the map draws and the editor edits. */
export type Waypoint = NavItem;

const point = z.object({ lat, lon });
export const FenceSchema = z.object({
  polygons: z
    .array(z.object({ inclusion: z.boolean(), points: z.array(point).min(3).max(LIMITS.vertices) }))
    .max(LIMITS.fence),
  circles: z
    .array(z.object({ inclusion: z.boolean(), lat, lon, radius: z.number().finite().positive().max(1e7) }))
    .max(LIMITS.fence),
  /** Where the vehicle goes on a breach (ArduPilot), AMSL. */
  breachReturn: z.object({ lat, lon, alt: altitude }).optional(),
});
export type Fence = z.infer<typeof FenceSchema>;

export const RallyPointSchema = z.object({ lat, lon, alt: altitude });
export type RallyPoint = z.infer<typeof RallyPointSchema>;

export const PlanSchema = z.object({
  version: z.literal(PLAN_VERSION),
  title: z.string().max(LIMITS.title),
  notes: z.string().max(LIMITS.notes),
  /** The map's grid is the tangent plane here. */
  origin: point,
  /** True while the origin is a default nobody chose (a migrated or new plan). */
  originAssumed: z.boolean().optional(),
  /** Planned home position; its alt is above mean sea level. */
  home: z.object({ lat, lon, alt: altitude }).optional(),
  cruiseSpeed: z.number().finite().positive().max(1000),
  hoverSpeed: z.number().finite().positive().max(1000),
  /** QGroundControl's MAV_AUTOPILOT and MAV_TYPE numbers (kept for export). */
  firmwareType: z.number().int().min(0).max(255).optional(),
  vehicleType: z.number().int().min(0).max(255).optional(),
  /** Mission items in order (the route is the nav items among them). */
  waypoints: z.array(ItemSchema).max(LIMITS.waypoints),
  fence: FenceSchema,
  rally: z.array(RallyPointSchema).max(LIMITS.rally),
  /** Keys of a QGroundControl file this page does not model, per object, to write them back. */
  qgc: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
});
export type Plan = z.infer<typeof PlanSchema>;

export function emptyPlan(title = "", origin: LatLon = DEFAULT_ORIGIN): Plan {
  return {
    version: PLAN_VERSION,
    title,
    notes: "",
    origin: { lat: origin.lat, lon: origin.lon },
    ...(origin === DEFAULT_ORIGIN ? { originAssumed: true } : {}),
    cruiseSpeed: DEFAULT_CRUISE_SPEED,
    hoverSpeed: DEFAULT_HOVER_SPEED,
    waypoints: [],
    fence: { polygons: [], circles: [] },
    rally: [],
  };
}

// ---- version 1 and its migration ----------------------------------------------------------

const coordV1 = z.number().finite().min(-LIMITS.coord).max(LIMITS.coord);
export const PlanV1Schema = z.object({
  version: z.literal(1),
  title: z.string().max(LIMITS.title),
  notes: z.string().max(LIMITS.notes),
  waypoints: z
    .array(z.object({ id, name: z.string().max(LIMITS.name), type: z.enum(WAYPOINT_TYPES), x: coordV1, y: coordV1 }))
    .max(LIMITS.waypoints),
});
export type PlanV1 = z.infer<typeof PlanV1Schema>;

/**
 * A v1 plan on the earth: v1 had no origin, so its grid is put at `origin`
 * (DEFAULT_ORIGIN unless the caller knows better, then `originAssumed`), each
 * x/y becomes the latitude/longitude with those east/north metres in the
 * tangent plane there (geo.ts; converting back gives the same metres to well
 * under a millimetre). Ids, names, types, order, title and notes are kept;
 * every item becomes a NAV_WAYPOINT at DEFAULT_ALT above home (v1's types were
 * labels on a drawing, not commands).
 */
export function migrateV1(v1: PlanV1, origin: LatLon = DEFAULT_ORIGIN): Plan {
  const base = emptyPlan(v1.title, origin);
  return {
    ...base,
    notes: v1.notes,
    waypoints: v1.waypoints.map((w) => {
      const p = fromLocal(origin, { x: w.x, y: w.y });
      return navItem(w.id, w.name, w.type, p);
    }),
  };
}

function navItem(itemId: string, name: string, type: WaypointType, p: LatLon): NavItem {
  return {
    kind: "nav",
    id: itemId,
    name,
    type,
    lat: p.lat,
    lon: p.lon,
    alt: DEFAULT_ALT,
    altRef: "home",
    command: MAV_CMD.NAV_WAYPOINT,
    params: [0, 0, 0, null],
    autoContinue: true,
  };
}

// ---- reading ------------------------------------------------------------------------------

export type ParseResult = { ok: true; plan: Plan; notice?: string } | { ok: false; error: string };

export const MIGRATED_NOTICE =
  "This plan was drawn on a metre grid with no place on earth (version 1). It is shown at 0° N, 0° E until you set its origin.";

/** Validates unknown input (a stream state or an imported file) as a plan; a v1 plan is migrated. */
export function parsePlan(input: unknown): ParseResult {
  const version = input && typeof input === "object" && "version" in input ? input.version : undefined;
  if (version === 1) {
    const r = PlanV1Schema.safeParse(input);
    if (!r.success) return { ok: false, error: `Not a valid mission plan: ${plainIssue(r.error.issues[0], input)}.` };
    const dup = duplicateId(r.data.waypoints);
    if (dup) return { ok: false, error: dup };
    return { ok: true, plan: migrateV1(r.data), notice: MIGRATED_NOTICE };
  }
  if (version !== undefined && version !== PLAN_VERSION) {
    return {
      ok: false,
      error: `This plan has version ${String(version)}; this page reads versions 1 and ${PLAN_VERSION}. A newer page may read it.`,
    };
  }
  const r = PlanSchema.safeParse(input);
  if (!r.success) return { ok: false, error: `Not a valid mission plan: ${plainIssue(r.error.issues[0], input)}.` };
  const dup = duplicateId(r.data.waypoints);
  if (dup) return { ok: false, error: dup };
  return { ok: true, plan: r.data };
}

/**
 * `parsePlan` for a run of states that share their unchanged parts, as a follower's do
 * (each change is a patch applied immutably: an item nobody touched is the very object
 * it was in the state before). An item already checked is not checked again and comes
 * back as the same parsed object: a drag of one waypoint of 2,000 validates one item
 * instead of 2,000 (zod took ~7 ms a follower update there, bench scenario 12), and
 * identity, which the map and the list go by, holds without comparing. The result is
 * `parsePlan`'s; anything refused is read again by `parsePlan`, for its words. The raw
 * states must not be changed in place afterwards (the follower's never are).
 */
export function planReader(): (input: unknown) => ParseResult {
  const checked = new WeakMap<object, Item>();
  return (input) => {
    const raw = (input as { version?: unknown; waypoints?: unknown } | null)?.waypoints;
    if ((input as { version?: unknown } | null)?.version !== PLAN_VERSION || !Array.isArray(raw))
      return parsePlan(input);
    if (raw.length > LIMITS.waypoints) return parsePlan(input);
    const head = PlanSchema.safeParse({ ...(input as object), waypoints: [] });
    if (!head.success) return parsePlan(input);
    const items: Item[] = [];
    for (const w of raw) {
      let item = typeof w === "object" && w !== null ? checked.get(w) : undefined;
      if (!item) {
        const r = ItemSchema.safeParse(w);
        if (!r.success) return parsePlan(input);
        item = r.data;
        if (typeof w === "object" && w !== null) checked.set(w, item);
      }
      items.push(item);
    }
    if (duplicateId(items)) return parsePlan(input);
    return { ok: true, plan: { ...head.data, waypoints: items } };
  };
}

function duplicateId(items: { id: string }[]): string | undefined {
  const ids = new Set(items.map((w) => w.id));
  return ids.size === items.length ? undefined : "Not a valid mission plan: two items share the same id.";
}

const FIELD_WORDS: Record<string, string> = {
  lat: "latitude",
  lon: "longitude",
  alt: "altitude",
  altRef: "altitude reference",
  x: "easting",
  y: "northing",
  params: "parameters",
  waypoints: "items",
  cruiseSpeed: "cruise speed",
  hoverSpeed: "hover speed",
  originAssumed: "origin flag",
  autoContinue: "auto-continue flag",
  fence: "geofence",
};

/** A zod issue in plain words: where ("item 3's latitude") and what was expected. */
function plainIssue(issue: z.core.$ZodIssue | undefined, input: unknown): string {
  if (!issue) return "unknown problem";
  const where = describePath(issue.path);
  let value: unknown = input;
  for (const k of issue.path) value = value && typeof value === "object" ? (value as never)[k as never] : undefined;
  const subject = where || "the plan";
  switch (issue.code) {
    case "invalid_type":
      if (value === undefined) return `${subject} is missing`;
      return `${subject} should be ${article(issue.expected)}, not ${kindOf(value)}`;
    case "too_big":
      return issue.origin === "string"
        ? `${subject} is longer than ${issue.maximum} characters`
        : issue.origin === "array"
          ? `${subject} has more than ${issue.maximum} entries`
          : `${subject} is more than ${issue.maximum}`;
    case "too_small":
      return issue.origin === "string"
        ? `${subject} is empty`
        : issue.origin === "array"
          ? `${subject} needs at least ${issue.minimum} entries`
          : `${subject} is less than ${issue.minimum}`;
    case "invalid_value":
      return `${subject} should be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "invalid_union":
      return `${subject} is not a kind of item this page knows`;
    default:
      return `${subject} is not valid`;
  }
}

const SINGULAR: Record<string, string> = {
  waypoints: "item",
  params: "parameter",
  rally: "rally point",
  polygons: "polygon",
  circles: "circle",
  points: "point",
};

function describePath(path: PropertyKey[]): string {
  const parts: string[] = [];
  for (let i = 0; i < path.length; i++) {
    const k = path[i];
    const next = path[i + 1];
    if (typeof next === "number") {
      const what = SINGULAR[String(k)] ?? String(k);
      parts.push(`${what} ${next + 1}`);
      i++;
    } else if (typeof k === "number") {
      parts.push(`entry ${k + 1}`);
    } else parts.push(FIELD_WORDS[String(k)] ?? String(k));
  }
  if (parts.length === 0) return "";
  // "item 3's latitude", "geofence's polygon 2's points"
  return parts.map((p, i) => (i < parts.length - 1 ? `${p}'s` : p)).join(" ");
}

function article(expected: string): string {
  const words: Record<string, string> = {
    string: "text",
    number: "a number",
    boolean: "true or false",
    array: "a list",
    object: "an object",
  };
  return words[expected] ?? expected;
}

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "string") return "text";
  if (typeof v === "number") return "a number";
  if (typeof v === "boolean") return String(v);
  return typeof v === "object" ? "an object" : typeof v;
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

// ---- the grid the map draws on ------------------------------------------------------------

export type Point = EastNorth;

/** East/north metres of a place in the plan's grid. */
export function toGrid(plan: Pick<Plan, "origin">, p: LatLon): Point {
  return toLocal(plan.origin, p);
}

/** The place at east/north metres of the plan's grid (clamped to the grid's extent). */
export function fromGrid(plan: Pick<Plan, "origin">, at: Point): LatLon {
  const p = fromLocal(plan.origin, { x: clamp(at.x), y: clamp(at.y) });
  return { lat: round7(p.lat), lon: round7(p.lon) };
}

export function isNav(item: Item): item is NavItem {
  return item.kind === "nav";
}

export function navItems(plan: Plan): NavItem[] {
  return plan.waypoints.filter(isNav);
}

/**
 * Moves the grid to a new origin keeping every item's east/north metres (so a
 * migrated drawing lands where the leader says it belongs); fence and rally
 * points move with it. Clears `originAssumed`.
 */
export function setOrigin(plan: Plan, origin: LatLon): Plan {
  const move = <T extends LatLon>(p: T): T => {
    const q = fromLocal(origin, toLocal(plan.origin, p));
    return { ...p, lat: q.lat, lon: q.lon };
  };
  const { originAssumed: _, ...rest } = plan;
  return {
    ...rest,
    origin: { lat: origin.lat, lon: origin.lon },
    waypoints: plan.waypoints.map((w) => (isNav(w) ? move(w) : w)),
    fence: {
      ...plan.fence,
      polygons: plan.fence.polygons.map((pg) => ({ ...pg, points: pg.points.map(move) })),
      circles: plan.fence.circles.map(move),
      ...(plan.fence.breachReturn ? { breachReturn: move(plan.fence.breachReturn) } : {}),
    },
    rally: plan.rally.map(move),
    ...(plan.home ? { home: move(plan.home) } : {}),
  };
}

// ---- route geometry -------------------------------------------------------------------------

export interface Leg {
  from: NavItem;
  to: NavItem;
  /** Geodesic metres on WGS84. */
  metres: number;
  /** Initial true bearing in degrees, 0..360. */
  bearing: number;
  /** m/s this leg is flown at, and how long it takes. */
  speed: number;
  seconds: number;
  /** Where the speed comes from: the end waypoint's own, the last Change speed item's, or cruise. */
  speedFrom: "own" | "command" | "cruise";
}

/**
 * The legs between consecutive nav items. A leg's speed is its end item's
 * own speed, else the last Change speed item's (param 2) before it, else the
 * plan's cruise speed.
 */
/**
 * Vincenty per leg, remembered per pair of item objects: items are never
 * changed in place (every edit makes a new object), so a drag of one waypoint
 * in a 2,000-item plan recomputes its two legs, not all of them.
 */
const legMemo = new WeakMap<NavItem, { to: NavItem; g: ReturnType<typeof inverse> }>();
function legInverse(from: NavItem, to: NavItem): ReturnType<typeof inverse> {
  const m = legMemo.get(from);
  if (m?.to === to) return m.g;
  const g = inverse(from, to);
  legMemo.set(from, { to, g });
  return g;
}

/** legs() per plan object: a render asks for them several times (list, table, summary, totals). */
const legsMemo = new WeakMap<Plan, readonly Leg[]>();

export function legs(plan: Plan): readonly Leg[] {
  const known = legsMemo.get(plan);
  if (known) return known;
  const made = legsOf(plan);
  legsMemo.set(plan, made);
  return made;
}

function legsOf(plan: Plan): Leg[] {
  const raw: { from: NavItem; to: NavItem; distance: number; bearing: number; speed?: number }[] = [];
  let prev: NavItem | undefined;
  let inForce: number | undefined;
  for (const item of plan.waypoints) {
    if (item.kind === "cmd" && item.command === MAV_CMD.DO_CHANGE_SPEED) {
      const s = item.params[1];
      if (typeof s === "number" && s > 0) inForce = s;
      continue;
    }
    if (item.kind !== "nav") continue;
    if (prev) {
      const g = legInverse(prev, item);
      const speed = item.speed ?? inForce;
      raw.push({
        from: prev,
        to: item,
        distance: g.distance,
        bearing: g.initialBearing,
        ...(speed !== undefined ? { speed } : {}),
      });
    }
    prev = item;
  }
  const times = legTimes(raw, plan.cruiseSpeed);
  return raw.map((l, i) => ({
    from: l.from,
    to: l.to,
    metres: l.distance,
    bearing: l.bearing,
    speed: times[i]?.speed ?? plan.cruiseSpeed,
    seconds: times[i]?.seconds ?? 0,
    speedFrom: l.to.speed !== undefined ? "own" : l.speed !== undefined ? "command" : "cruise",
  }));
}

export function totalDistance(plan: Plan): number {
  return legs(plan).reduce((sum, l) => sum + l.metres, 0);
}

/** Seconds to fly the route at the plan's speeds (loiter times and climbs not counted). */
export function totalTime(plan: Plan): number {
  return legs(plan).reduce((sum, l) => sum + l.seconds, 0);
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

export function formatAlt(w: Pick<NavItem, "alt" | "altRef">): string {
  return `${Math.round(w.alt * 10) / 10} m ${ALT_REF_LABELS[w.altRef]}`;
}

// ---- edits ----------------------------------------------------------------------------------

export function newId(plan: Plan): string {
  for (;;) {
    const candidate = Math.random().toString(36).slice(2, 10);
    if (!plan.waypoints.some((w) => w.id === candidate)) return candidate;
  }
}

/**
 * The default name for an item appended to `plan`: "Target 3" etc. The number is
 * the one its marker shows, its place in the whole item list (map.ts counts kept
 * commands too), so "WP 2" sits on marker 2; a name already taken moves on to the
 * next free number.
 */
export function defaultName(plan: Plan, type: WaypointType): string {
  const base = type === "waypoint" ? "WP" : TYPE_LABELS[type];
  let n = plan.waypoints.length + 1;
  const names = new Set(plan.waypoints.map((w) => w.name));
  while (names.has(`${base} ${n}`)) n++;
  return `${base} ${n}`;
}

/** A sensible type for the next waypoint: the first is the start, later ones waypoints. */
export function nextType(plan: Plan): WaypointType {
  return navItems(plan).length === 0 ? "start" : "waypoint";
}

/** Adds a NAV_WAYPOINT at grid metres `at`, at the previous waypoint's altitude (else DEFAULT_ALT above home). */
export function addWaypoint(plan: Plan, at: Point, type = nextType(plan)): [Plan, NavItem] {
  const last = navItems(plan).at(-1);
  const wp: NavItem = {
    ...navItem(newId(plan), defaultName(plan, type), type, fromGrid(plan, at)),
    ...(last ? { alt: last.alt, altRef: last.altRef } : {}),
  };
  return [{ ...plan, waypoints: [...plan.waypoints, wp] }, wp];
}

export type WaypointPatch = Partial<Pick<NavItem, "name" | "type" | "lat" | "lon" | "alt" | "altRef" | "speed">>;

/** Changes a nav item; a new altitude or reference drops QGroundControl's terrain-calculated AMSL. */
export function updateWaypoint(plan: Plan, itemId: string, patch: WaypointPatch): Plan {
  const clean: WaypointPatch = { ...patch };
  if (clean.lat !== undefined) clean.lat = round7(Math.max(-90, Math.min(90, clean.lat)));
  if (clean.lon !== undefined) clean.lon = round7(Math.max(-180, Math.min(180, clean.lon)));
  return {
    ...plan,
    waypoints: plan.waypoints.map((w) => {
      if (w.id !== itemId || w.kind !== "nav") return w;
      const next: NavItem = { ...w, ...clean };
      if ((clean.alt !== undefined && clean.alt !== w.alt) || (clean.altRef && clean.altRef !== w.altRef)) {
        // What QGroundControl worked out for the old altitude no longer holds: it is derived again on export.
        delete next.terrainAmsl;
        delete next.frame;
        if (next.extra) {
          const { AltitudeMode: _m, AMSLAltAboveTerrain: _a, ...kept } = next.extra;
          if (Object.keys(kept).length) next.extra = kept;
          else delete next.extra;
        }
      }
      if ("speed" in clean && clean.speed === undefined) delete next.speed;
      return next;
    }),
  };
}

/** Moves a nav item to grid metres `at` (a drag or a nudge on the map). */
export function moveWaypointTo(plan: Plan, itemId: string, at: Point): Plan {
  return updateWaypoint(plan, itemId, fromGrid(plan, at));
}

export function removeWaypoint(plan: Plan, itemId: string): Plan {
  return { ...plan, waypoints: plan.waypoints.filter((w) => w.id !== itemId) };
}

/** Moves an item by `delta` places in the mission order (clamped to the ends). */
export function moveWaypoint(plan: Plan, itemId: string, delta: number): Plan {
  const i = plan.waypoints.findIndex((w) => w.id === itemId);
  if (i < 0) return plan;
  const j = Math.max(0, Math.min(plan.waypoints.length - 1, i + delta));
  if (i === j) return plan;
  const list = [...plan.waypoints];
  const [wp] = list.splice(i, 1);
  list.splice(j, 0, wp as Item);
  return { ...plan, waypoints: list };
}

function round7(v: number): number {
  return Math.round(v * 1e7) / 1e7;
}

function clamp(v: number): number {
  return Math.max(-LIMITS.coord, Math.min(LIMITS.coord, v));
}

// ---- what changed (for the follower's highlight) -----------------------------------------------

export interface Change {
  /** Items added, moved, renamed or retyped. */
  ids: string[];
  title: boolean;
  notes: boolean;
  /** One line in plain words, e.g. "Moved Target 1". */
  summary: string;
}

export function itemName(w: Item): string {
  if (w.name) return w.name;
  if (w.kind === "complex") return String(w.raw.complexItemType ?? "Complex item");
  return commandLabel(w.command);
}

/** One kind of per-item change: how one item reads alone, and the verb that lists several. */
interface ItemChange {
  verb: string;
  name: string;
  alone: string;
  nav: boolean;
}

/** Per-item changes in this order, each kind listed once with its own count. */
const VERBS = ["Added", "Moved", "Renamed", "Changed the type of", "Changed the altitude of", "Changed", "Removed"];

/**
 * "Added WP 2", "Moved WP 2 and WP 3", "Added 402 waypoints: S0-1, S0-2, …":
 * a count is always the number of items of that kind (before, "and 400 more"
 * after two names counted lines of any kind, and read as 401).
 */
function groupPhrase(changes: ItemChange[]): string {
  const [a, b] = changes;
  if (!a) return "";
  if (!b) return a.alone;
  if (changes.length === 2) return `${a.verb} ${a.name} and ${b.name}`;
  const noun = changes.every((c) => c.nav) ? "waypoints" : "items";
  return `${a.verb} ${changes.length} ${noun}: ${a.name}, ${b.name}, …`;
}

/**
 * `next` with every part equal to `prev`'s replaced by `prev`'s own object. A follower
 * parses each change into a new plan, while the map, the waypoint list, `legs()`'s memo and
 * `describeChange` tell what changed by identity: without this a drag of one waypoint of
 * 2,000 redrew every marker and row on every follower at every update.
 */
export function keepUnchanged(prev: Plan | undefined, next: Plan): Plan {
  if (!prev) return next;
  const before = new Map(prev.waypoints.map((w) => [w.id, w]));
  let sameList = prev.waypoints.length === next.waypoints.length;
  const waypoints = next.waypoints.map((w, i) => {
    const old = before.get(w.id);
    const kept = old && deepEqual(old, w) ? old : w;
    if (kept !== prev.waypoints[i]) sameList = false;
    return kept;
  });
  const keep = <T>(a: T, b: T): T => (deepEqual(a, b) ? a : b);
  const out: Plan = {
    ...next,
    origin: keep(prev.origin, next.origin),
    waypoints: sameList ? prev.waypoints : waypoints,
    fence: keep(prev.fence, next.fence),
    rally: keep(prev.rally, next.rally),
  };
  if (next.home) out.home = keep(prev.home, next.home);
  if (next.qgc) out.qgc = keep(prev.qgc, next.qgc);
  return deepEqual(prev, out) ? prev : out;
}

export function describeChange(prev: Plan | undefined, next: Plan): Change {
  if (!prev) return { ids: [], title: false, notes: false, summary: "Plan loaded" };
  const before = new Map(prev.waypoints.map((w) => [w.id, w]));
  const after = new Map(next.waypoints.map((w) => [w.id, w]));
  const items: ItemChange[] = [];
  const ids: string[] = [];
  const note = (verb: string, w: Item, alone = `${verb} ${itemName(w)}`) =>
    items.push({ verb, name: itemName(w), alone, nav: w.kind === "nav" });
  for (const w of next.waypoints) {
    const old = before.get(w.id);
    if (old === w) continue; // kept by keepUnchanged (or the leader's own plan): unchanged
    const name = itemName(w);
    if (!old) note("Added", w);
    else if (old.kind === "nav" && w.kind === "nav" && (old.lat !== w.lat || old.lon !== w.lon)) note("Moved", w);
    else if (old.name !== w.name) note("Renamed", w, `Renamed ${itemName(old)} to ${name}`);
    else if (old.kind === "nav" && w.kind === "nav" && old.type !== w.type)
      note("Changed the type of", w, `${name} is now a ${TYPE_LABELS[w.type].toLowerCase()}`);
    else if (old.kind === "nav" && w.kind === "nav" && (old.alt !== w.alt || old.altRef !== w.altRef))
      note("Changed the altitude of", w);
    else if (JSON.stringify(old) !== JSON.stringify(w)) note("Changed", w);
    else continue;
    ids.push(w.id);
  }
  for (const w of prev.waypoints) if (!after.has(w.id)) note("Removed", w);
  const lines = VERBS.map((v) => groupPhrase(items.filter((c) => c.verb === v))).filter(Boolean);
  const order = (p: Plan) => p.waypoints.filter((w) => before.has(w.id) && after.has(w.id)).map((w) => w.id);
  if (order(prev).join() !== order(next).join()) lines.push("Changed the route order");
  const title = prev.title !== next.title;
  const notes = prev.notes !== next.notes;
  if (title) lines.push("Changed the title");
  if (notes) lines.push("Edited the notes");
  if (prev.fence !== next.fence && JSON.stringify(prev.fence) !== JSON.stringify(next.fence))
    lines.push("Changed the geofence");
  if (prev.rally !== next.rally && JSON.stringify(prev.rally) !== JSON.stringify(next.rally))
    lines.push("Changed the rally points");
  if (prev.cruiseSpeed !== next.cruiseSpeed) lines.push(`Set the cruise speed to ${next.cruiseSpeed} m/s`);
  if (prev.origin.lat !== next.origin.lat || prev.origin.lon !== next.origin.lon) lines.push("Moved the plan's origin");
  let summary = lines.slice(0, 2).join("; ");
  const rest = lines.length - 2;
  if (rest > 0) summary += ` and ${rest} more change${rest === 1 ? "" : "s"}`;
  return { ids, title, notes, summary: summary || "No visible change" };
}
