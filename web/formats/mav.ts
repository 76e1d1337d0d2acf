/**
 * MAVLink mission items as both file formats carry them (QGroundControl's
 * `.plan` SimpleItem and a `QGC WPL 110` row): a command, a frame and seven
 * parameters. One place decides which of them is a waypoint the page can edit
 * (a command that flies to a place, in a frame with latitude/longitude) and
 * which is kept as it came, so the two readers cannot drift apart.
 */
import {
  type AltRef,
  type CommandItem,
  defaultName,
  NAV_COMMANDS,
  type NavItem,
  type Plan,
  type WaypointType,
} from "../plan.ts";

// MAV_FRAME numbers that carry latitude/longitude, and what their altitude is measured from.
const FRAME_ALT: Record<number, AltRef> = { 0: "msl", 3: "home", 10: "terrain", 5: "msl", 6: "home", 11: "terrain" };
const CANONICAL_FRAME: Record<AltRef, number> = { msl: 0, home: 3, terrain: 10 };

/** Parameters 1-7; null is MAVLink's NaN ("no value"). */
export type Params7 = [
  number | null,
  number | null,
  number | null,
  number | null,
  number | null,
  number | null,
  number | null,
];

export function frameAltRef(frame: number): AltRef | undefined {
  return FRAME_ALT[frame];
}

export function canonicalFrame(ref: AltRef): number {
  return CANONICAL_FRAME[ref];
}

/** The marker kind a command suggests: takeoffs start, landings land. */
export function typeForCommand(command: number): WaypointType {
  if (command === 22 || command === 84) return "start";
  if (command === 21 || command === 85) return "landing";
  return "waypoint";
}

/**
 * Where an item is on the map: its frame's altitude reference and parameters 5/6, or
 * undefined. 0,0 is MAVLink's "where the vehicle is" (e.g. land in place), not a place.
 */
export function placeOf(frame: number, p: Params7): { ref: AltRef; lat: number; lon: number } | undefined {
  const ref = frameAltRef(frame);
  const [lat, lon] = [p[4], p[5]];
  if (ref === undefined || typeof lat !== "number" || typeof lon !== "number" || (lat === 0 && lon === 0)) {
    return undefined;
  }
  return { ref, lat, lon };
}

/** Says, in the file's own words, that parameter 5 (latitude) or 6 (longitude) is off the globe; throws. */
export type OutOfRange = (axis: "latitude" | "longitude", value: number, param: 5 | 6) => never;

/** Refuses a place off the globe, in the caller's words. */
export function checkOnGlobe(at: { lat: number; lon: number }, outOfRange: OutOfRange): void {
  if (at.lat < -90 || at.lat > 90) outOfRange("latitude", at.lat, 5);
  if (at.lon < -180 || at.lon > 180) outOfRange("longitude", at.lon, 6);
}

export interface RawItem {
  id: string;
  command: number;
  frame: number;
  params: Params7;
  autoContinue: boolean;
  /** The items read so far (for the waypoint's default name). */
  sofar: Plan;
  /** The altitude as the planner meant it, when the file says more than parameter 7. */
  alt?: { alt: number; altRef: AltRef };
}

/**
 * A waypoint the page edits, or the command kept verbatim. A waypoint's frame is
 * kept only when it is not the canonical one for its altitude reference (e.g. the
 * "_INT" frames), so writing it back gives the same number. Only a waypoint's place
 * is range-checked: another command's parameters 5/6 are kept whatever they hold.
 */
export function mavItem(raw: RawItem, outOfRange: OutOfRange): NavItem | CommandItem {
  const { id, command, frame, params, autoContinue } = raw;
  const at = placeOf(frame, params);
  if (at === undefined || !NAV_COMMANDS.has(command)) {
    return { kind: "cmd", id, name: "", command, frame, params, autoContinue };
  }
  checkOnGlobe(at, outOfRange);
  const type = typeForCommand(command);
  const altRef = raw.alt?.altRef ?? at.ref;
  const nav: NavItem = {
    kind: "nav",
    id,
    name: defaultName(raw.sofar, type),
    type,
    lat: at.lat,
    lon: at.lon,
    alt: raw.alt?.alt ?? params[6] ?? 0,
    altRef,
    command,
    params: [params[0], params[1], params[2], params[3]],
    autoContinue,
  };
  if (frame !== CANONICAL_FRAME[altRef]) nav.frame = frame;
  return nav;
}
