/**
 * QGroundControl `.plan` files (JSON, "fileType": "Plan", version 1) in and out.
 *
 * Read: `mission.items` (SimpleItem: command, frame, params[7], autoContinue,
 * doJumpId, Altitude/AltitudeMode/AMSLAltAboveTerrain; ComplexItem kept
 * verbatim), `plannedHomePosition`, cruise/hover speed, firmware and vehicle
 * type, `geoFence` (version 2: polygons, circles, breachReturn) and
 * `rallyPoints` (version 2). A SimpleItem whose command flies to a place
 * becomes an editable waypoint; any other command is kept as it came. Keys this
 * page does not model are kept and written back.
 *
 * Written with qt-json.ts in QGroundControl's own layout, so a file it wrote
 * comes back byte for byte (title and notes have no place in a .plan and are
 * not written).
 *
 * Errors say where (item 3, the geofence's polygon 2) and what was expected,
 * in plain words.
 */
import {
  type AltRef,
  type CommandItem,
  type ComplexItem,
  DEFAULT_CRUISE_SPEED,
  DEFAULT_HOVER_SPEED,
  DEFAULT_ORIGIN,
  emptyPlan,
  type Fence,
  type Item,
  LIMITS,
  type NavItem,
  type Plan,
  PlanSchema,
  type RallyPoint,
} from "../plan.ts";
import { canonicalFrame, mavItem, type OutOfRange, type Params7 } from "./mav.ts";
import { qtJson } from "./qt-json.ts";

export type ImportResult = { ok: true; plan: Plan; notice?: string } | { ok: false; error: string };

/** Thrown inside a reader with the words the user sees. */
export class FileError extends Error {}

/** QGroundControl's AltMode enum (QGroundControlQmlGlobal::AltMode). */
const ALT_MODE: Record<AltRef, number> = { home: 1, msl: 2, terrain: 4 };
const ALT_MODE_CALC_ABOVE_TERRAIN = 3;
const MISSION_FRAME = 2;

// ---- small readers with plain-words errors ---------------------------------------------

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "string") return `the text ${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}…` : v)}`;
  if (typeof v === "object") return "an object";
  return String(v);
}

function need(o: Obj, key: string, where: string, what: string): unknown {
  if (!(key in o)) throw new FileError(`${where} has no "${key}" (${what} expected).`);
  return o[key];
}

function num(v: unknown, where: string, key: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new FileError(`${where}: "${key}" should be a number, but it is ${describe(v)}.`);
  }
  return v;
}

function int(v: unknown, where: string, key: string): number {
  const n = num(v, where, key);
  if (!Number.isInteger(n)) throw new FileError(`${where}: "${key}" should be a whole number, but it is ${n}.`);
  return n;
}

function latLon(v: unknown, where: string, key: string, withAlt: boolean): { lat: number; lon: number; alt: number } {
  const n = withAlt ? 3 : 2;
  if (!Array.isArray(v) || v.length < n) {
    throw new FileError(
      `${where}: "${key}" should be a list of ${withAlt ? "latitude, longitude and altitude" : "latitude and longitude"}, but it is ${describe(v)}.`,
    );
  }
  const lat = num(v[0], where, `${key}[0] (latitude)`);
  const lon = num(v[1], where, `${key}[1] (longitude)`);
  if (lat < -90 || lat > 90) throw new FileError(`${where}: latitude ${lat} is outside -90..90.`);
  if (lon < -180 || lon > 180) throw new FileError(`${where}: longitude ${lon} is outside -180..180.`);
  return { lat, lon, alt: withAlt ? num(v[2], where, `${key}[2] (altitude)`) : 0 };
}

function params(v: unknown, where: string): (number | null)[] {
  if (!Array.isArray(v) || v.length !== 7) {
    throw new FileError(`${where}: "params" should be a list of 7 numbers, but it is ${describe(v)}.`);
  }
  return v.map((p, i) => {
    if (p === null) return null;
    if (typeof p !== "number" || !Number.isFinite(p)) {
      throw new FileError(`${where}: parameter ${i + 1} should be a number or null, but it is ${describe(p)}.`);
    }
    return p;
  });
}

function rest(o: Obj, known: string[]): Obj | undefined {
  const out: Obj = {};
  for (const k of Object.keys(o)) if (!known.includes(k)) out[k] = o[k];
  return Object.keys(out).length ? out : undefined;
}

/** Where JSON.parse stopped, as a line number, if the engine says. */
export function jsonErrorLine(text: string, e: unknown): string {
  const msg = e instanceof Error ? e.message : "";
  const line = /line (\d+)/.exec(msg)?.[1];
  if (line) return ` (line ${line})`;
  const pos = /position (\d+)/.exec(msg)?.[1];
  if (pos) return ` (line ${text.slice(0, Number(pos)).split("\n").length})`;
  return "";
}

// ---- reading ---------------------------------------------------------------------------

const SIMPLE_KEYS = ["type", "command", "frame", "params", "autoContinue", "doJumpId"];

function readSimple(o: Obj, where: string, itemId: string, sofar: Plan): NavItem | CommandItem {
  const command = int(need(o, "command", where, "a MAV command number"), where, "command");
  const frame = int(need(o, "frame", where, "a MAV frame number"), where, "frame");
  const ps = params(need(o, "params", where, "7 parameters"), where) as Params7;
  const auto = need(o, "autoContinue", where, "true or false");
  if (typeof auto !== "boolean") throw new FileError(`${where}: "autoContinue" should be true or false.`);
  const jump = o.doJumpId === undefined ? undefined : int(o.doJumpId, where, "doJumpId");
  const outOfRange: OutOfRange = (axis, value, param) => {
    throw new FileError(
      `${where}: ${axis} ${value} (parameter ${param}) is outside ${axis === "latitude" ? "-90..90" : "-180..180"}.`,
    );
  };
  // "Calculated above terrain": the vehicle gets an AMSL altitude, the planner meant height above ground.
  const calc = o.AltitudeMode === ALT_MODE_CALC_ABOVE_TERRAIN && typeof o.Altitude === "number";
  const alt = calc ? { alt: o.Altitude as number, altRef: "terrain" as const } : undefined;
  const item = mavItem({ id: itemId, command, frame, params: ps, autoContinue: auto, sofar, alt }, outOfRange);
  if (item.kind === "nav" && calc) item.terrainAmsl = ps[6];
  if (jump !== undefined) item.doJumpId = jump;
  const extra = rest(o, item.kind === "nav" ? [...SIMPLE_KEYS, "Altitude"] : SIMPLE_KEYS);
  if (extra) item.extra = extra;
  return item;
}

function readFence(v: unknown): Fence {
  const fence: Fence = { polygons: [], circles: [] };
  if (v === undefined) return fence;
  if (!isObj(v)) throw new FileError(`"geoFence" should be an object, but it is ${describe(v)}.`);
  // QGroundControl itself ignores a version 1 fence (an older layout).
  if (v.version === undefined || v.version === 1) return fence;
  if (v.version !== 2) throw new FileError(`The geofence has version ${describe(v.version)}; version 2 is expected.`);
  const polygons = need(v, "polygons", "The geofence", "a list of polygons");
  const circles = need(v, "circles", "The geofence", "a list of circles");
  if (!Array.isArray(polygons)) throw new FileError(`The geofence's "polygons" should be a list.`);
  if (!Array.isArray(circles)) throw new FileError(`The geofence's "circles" should be a list.`);
  polygons.forEach((pg, i) => {
    const where = `Geofence polygon ${i + 1}`;
    if (!isObj(pg)) throw new FileError(`${where} should be an object, but it is ${describe(pg)}.`);
    const pts = need(pg, "polygon", where, "a list of points");
    if (!Array.isArray(pts) || pts.length < 3) throw new FileError(`${where} needs a list of at least 3 points.`);
    const inclusion = pg.inclusion;
    if (typeof inclusion !== "boolean") throw new FileError(`${where}: "inclusion" should be true or false.`);
    fence.polygons.push({
      inclusion,
      points: pts.map((p, j) => {
        const q = latLon(p, `${where}, point ${j + 1}`, "polygon", false);
        return { lat: q.lat, lon: q.lon };
      }),
    });
  });
  circles.forEach((c, i) => {
    const where = `Geofence circle ${i + 1}`;
    if (!isObj(c)) throw new FileError(`${where} should be an object, but it is ${describe(c)}.`);
    const circle = need(c, "circle", where, "a center and radius");
    if (!isObj(circle)) throw new FileError(`${where}: "circle" should be an object with "center" and "radius".`);
    const center = latLon(need(circle, "center", where, "a center"), where, "center", false);
    const radius = num(need(circle, "radius", where, "a radius in metres"), where, "radius");
    if (radius <= 0) throw new FileError(`${where}: the radius should be more than 0 metres.`);
    if (typeof c.inclusion !== "boolean") throw new FileError(`${where}: "inclusion" should be true or false.`);
    fence.circles.push({ inclusion: c.inclusion, lat: center.lat, lon: center.lon, radius });
  });
  if (v.breachReturn !== undefined) fence.breachReturn = latLon(v.breachReturn, "The geofence", "breachReturn", true);
  return fence;
}

function readRally(v: unknown): RallyPoint[] {
  if (v === undefined) return [];
  if (!isObj(v)) throw new FileError(`"rallyPoints" should be an object, but it is ${describe(v)}.`);
  if (v.version !== 2)
    throw new FileError(`The rally points have version ${describe(v.version)}; version 2 is expected.`);
  const pts = need(v, "points", "The rally points", "a list of points");
  if (!Array.isArray(pts)) throw new FileError(`The rally points' "points" should be a list.`);
  return pts.map((p, i) => latLon(p, `Rally point ${i + 1}`, "point", true));
}

/** Reads a .plan file's text into a plan; the file name gives the title (a .plan has none). */
export function parseQgcPlan(text: string, title = ""): ImportResult {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return {
      ok: false,
      error: `The file is not valid JSON${jsonErrorLine(text, e)}, so it is not a QGroundControl plan.`,
    };
  }
  try {
    return { ok: true, ...readPlan(data, title) };
  } catch (e) {
    if (e instanceof FileError) return { ok: false, error: e.message };
    throw e;
  }
}

function readPlan(data: unknown, title: string): { plan: Plan; notice?: string } {
  if (!isObj(data)) throw new FileError("A QGroundControl plan is a JSON object; this file holds something else.");
  if (data.fileType !== "Plan") {
    throw new FileError(
      `This is not a QGroundControl plan: "fileType" should be "Plan", but it is ${describe(data.fileType)}.`,
    );
  }
  if (data.version !== 1)
    throw new FileError(`The plan file has version ${describe(data.version)}; version 1 is expected.`);
  const mission = need(data, "mission", "The plan", "the mission");
  if (!isObj(mission)) throw new FileError(`"mission" should be an object, but it is ${describe(mission)}.`);
  if (mission.version !== 2) {
    throw new FileError(`The mission has version ${describe(mission.version)}; version 2 is expected.`);
  }
  const items = need(mission, "items", "The mission", "a list of items");
  if (!Array.isArray(items))
    throw new FileError(`The mission's "items" should be a list, but it is ${describe(items)}.`);
  if (items.length > LIMITS.waypoints) {
    throw new FileError(`The mission has ${items.length} items; this page holds at most ${LIMITS.waypoints}.`);
  }
  const home =
    mission.plannedHomePosition === undefined
      ? undefined
      : latLon(mission.plannedHomePosition, "The mission", "plannedHomePosition", true);

  let plan = emptyPlan(title.slice(0, LIMITS.title));
  const list: Item[] = [];
  items.forEach((raw, i) => {
    const where = `Mission item ${i + 1}`;
    if (!isObj(raw)) throw new FileError(`${where} should be an object, but it is ${describe(raw)}.`);
    const itemId = `item-${i + 1}`;
    if (raw.type === "ComplexItem") {
      const kind = typeof raw.complexItemType === "string" ? raw.complexItemType : "complex item";
      const complex: ComplexItem = {
        kind: "complex",
        id: itemId,
        name: `${kind} (kept, not editable here)`.slice(0, LIMITS.name),
        raw,
      };
      list.push(complex);
    } else if (raw.type === "SimpleItem") {
      list.push(readSimple(raw, where, itemId, { ...plan, waypoints: list }));
    } else {
      throw new FileError(`${where}: "type" should be "SimpleItem" or "ComplexItem", but it is ${describe(raw.type)}.`);
    }
  });
  const firstNav = list.find((w): w is NavItem => w.kind === "nav");
  const origin = home ?? firstNav ?? DEFAULT_ORIGIN;
  plan = {
    ...emptyPlan(
      title.slice(0, LIMITS.title),
      origin === DEFAULT_ORIGIN ? DEFAULT_ORIGIN : { lat: origin.lat, lon: origin.lon },
    ),
    waypoints: list,
    cruiseSpeed: positive(mission.cruiseSpeed, DEFAULT_CRUISE_SPEED),
    hoverSpeed: positive(mission.hoverSpeed, DEFAULT_HOVER_SPEED),
    fence: readFence(data.geoFence),
    rally: readRally(data.rallyPoints),
  };
  if (home) plan.home = home;
  if (typeof mission.firmwareType === "number") plan.firmwareType = mission.firmwareType;
  if (typeof mission.vehicleType === "number") plan.vehicleType = mission.vehicleType;
  const qgc: Record<string, Obj> = {};
  const top = rest(data, ["fileType", "version", "mission", "geoFence", "rallyPoints"]);
  const mis = rest(mission, [
    "version",
    "items",
    "plannedHomePosition",
    "cruiseSpeed",
    "hoverSpeed",
    "firmwareType",
    "vehicleType",
  ]);
  if (top) qgc.top = top;
  if (mis) qgc.mission = mis;
  // Speeds QGroundControl wrote that this page would not accept (0 or negative) go back as they were.
  for (const key of ["cruiseSpeed", "hoverSpeed"] as const) {
    if (mission[key] !== undefined && plan[key] !== mission[key]) qgc.mission = { ...qgc.mission, [key]: mission[key] };
  }
  if (Object.keys(qgc).length) plan.qgc = qgc;
  // The schema is the last word (limits, ranges); its wording is plan.ts's, but this should not trip.
  const checked = PlanSchema.safeParse(plan);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new FileError(`The plan does not fit this page's limits (at ${issue?.path.join(".") ?? "?"}).`);
  }
  const notice =
    origin === DEFAULT_ORIGIN
      ? "The file has no home position or waypoint to place the map grid; set the origin."
      : undefined;
  return notice ? { plan: checked.data, notice } : { plan: checked.data };
}

function positive(v: unknown, fallback: number): number {
  return typeof v === "number" && Number.isFinite(v) && v > 0 && v <= 1000 ? v : fallback;
}

// ---- writing ---------------------------------------------------------------------------

/** The SimpleItem/ComplexItem JSON for each item, with doJumpIds for items that had none. */
function writeItems(plan: Plan): Obj[] {
  let nextJump = 1;
  const out: Obj[] = [];
  for (const w of plan.waypoints) {
    if (w.kind === "complex") {
      out.push(w.raw);
      continue;
    }
    if (w.kind === "nav" && w.speed !== undefined) {
      // A leg speed is a Change speed command before the waypoint (param 1: 1 = ground speed).
      out.push({
        autoContinue: true,
        command: 178,
        doJumpId: nextJump++,
        frame: MISSION_FRAME,
        params: [1, w.speed, -1, 0, 0, 0, 0],
        type: "SimpleItem",
      });
    }
    const doJumpId = w.doJumpId ?? nextJump;
    nextJump = Math.max(nextJump, doJumpId) + 1;
    if (w.kind === "cmd") {
      out.push({
        ...w.extra,
        autoContinue: w.autoContinue,
        command: w.command,
        doJumpId,
        frame: w.frame,
        params: [...w.params],
        type: "SimpleItem",
      });
      continue;
    }
    const frame = w.frame ?? canonicalFrame(w.altRef);
    const calc = w.terrainAmsl !== undefined;
    const sent = calc ? w.terrainAmsl : w.alt;
    const extra: Obj = { ...w.extra };
    const altMode = calc ? ALT_MODE_CALC_ABOVE_TERRAIN : ALT_MODE[w.altRef];
    out.push({
      AMSLAltAboveTerrain: calc ? w.terrainAmsl : null,
      AltitudeMode: altMode,
      ...extra,
      Altitude: w.alt,
      autoContinue: w.autoContinue,
      command: w.command,
      doJumpId,
      frame,
      params: [...w.params, w.lat, w.lon, sent],
      type: "SimpleItem",
    });
  }
  return out;
}

/** A .plan file's text for the plan (QGroundControl's layout; title and notes are not part of it). */
export function toQgcPlan(plan: Plan): string {
  const top = plan.qgc?.top ?? {};
  const mis = plan.qgc?.mission ?? {};
  const home = plan.home ?? { lat: plan.origin.lat, lon: plan.origin.lon, alt: 0 };
  const fence: Obj = {
    circles: plan.fence.circles.map((c) => ({
      circle: { center: [c.lat, c.lon], radius: c.radius },
      inclusion: c.inclusion,
      version: 1,
    })),
    polygons: plan.fence.polygons.map((pg) => ({
      inclusion: pg.inclusion,
      polygon: pg.points.map((p) => [p.lat, p.lon]),
      version: 1,
    })),
    version: 2,
  };
  if (plan.fence.breachReturn) {
    const b = plan.fence.breachReturn;
    fence.breachReturn = [b.lat, b.lon, b.alt];
  }
  return qtJson({
    groundStation: "QGroundControl",
    ...top,
    fileType: "Plan",
    geoFence: fence,
    mission: {
      cruiseSpeed: plan.cruiseSpeed,
      firmwareType: plan.firmwareType ?? 12,
      hoverSpeed: plan.hoverSpeed,
      vehicleType: plan.vehicleType ?? 2,
      ...mis,
      items: writeItems(plan),
      plannedHomePosition: [home.lat, home.lon, home.alt],
      version: 2,
    },
    rallyPoints: { points: plan.rally.map((r) => [r.lat, r.lon, r.alt]), version: 2 },
    version: 1,
  });
}
