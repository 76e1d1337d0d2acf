/**
 * The `QGC WPL 110` waypoint text format (Mission Planner's .waypoints, also
 * read by QGroundControl and MAVProxy): a header line, then one item a line,
 * tab-separated: index, current, frame, command, param1-4, x/latitude,
 * y/longitude, z/altitude, autocontinue. Row 0 is the home position.
 *
 * Written the way Mission Planner writes it (params and lat/lon with 8
 * decimals, altitude with 6, CRLF line ends), so its files come back byte for
 * byte. QGroundControl complex items (surveys) cannot be said in this format:
 * the export leaves them out and says so. A parameter with no value (null,
 * NaN in MAVLink) is written "NaN" and read back as no value.
 */
import { DEFAULT_ORIGIN, emptyPlan, type Item, LIMITS, type Plan } from "../plan.ts";
import { canonicalFrame, checkOnGlobe, mavItem, type OutOfRange, type Params7, placeOf } from "./mav.ts";
import type { ImportResult } from "./qgc-plan.ts";

const HEADER = /^QGC WPL (\d+)\s*$/;
const COLUMNS = [
  "index",
  "current",
  "frame",
  "command",
  "param 1",
  "param 2",
  "param 3",
  "param 4",
  "latitude (x)",
  "longitude (y)",
  "altitude (z)",
  "autocontinue",
];

class LineError extends Error {}

function field(cols: string[], i: number, line: number, whole: boolean): number | null {
  const raw = cols[i] as string;
  if (/^nan$/i.test(raw) && !whole) return null;
  const n = Number(raw);
  if (raw === "" || !Number.isFinite(n)) {
    throw new LineError(
      `Line ${line}: column ${i + 1} (${COLUMNS[i]}) should be a ${whole ? "whole number" : "number"}, but it is "${raw.slice(0, 20)}".`,
    );
  }
  if (whole && !Number.isInteger(n)) {
    throw new LineError(`Line ${line}: column ${i + 1} (${COLUMNS[i]}) should be a whole number, but it is ${raw}.`);
  }
  return n;
}

export function parseWpl(text: string, title = ""): ImportResult {
  try {
    return { ok: true, plan: readWpl(text, title) };
  } catch (e) {
    if (e instanceof LineError) return { ok: false, error: e.message };
    throw e;
  }
}

function readWpl(text: string, title: string): Plan {
  const lines = text.split(/\r?\n/);
  const first = lines.findIndex((l) => l.trim() !== "");
  const head = HEADER.exec(lines[first]?.trim() ?? "");
  if (!head) {
    throw new LineError(`Line ${first + 1}: a waypoint file starts with "QGC WPL 110", but this one starts otherwise.`);
  }
  if (head[1] !== "110")
    throw new LineError(`Line ${first + 1}: this is WPL version ${head[1]}; version 110 is expected.`);
  const items: Item[] = [];
  let home: { lat: number; lon: number; alt: number } | undefined;
  let plan = emptyPlan(title.slice(0, LIMITS.title));
  for (let i = first + 1; i < lines.length; i++) {
    const line = i + 1;
    const text = (lines[i] as string).trim();
    if (text === "" || text.startsWith("#")) continue;
    const cols = text.split(/\t| +/);
    if (cols.length !== 12) {
      throw new LineError(`Line ${line}: expected 12 columns separated by tabs, but found ${cols.length}.`);
    }
    const [index, current, frame, command] = [0, 1, 2, 3].map((c) => field(cols, c, line, true) as number) as [
      number,
      number,
      number,
      number,
    ];
    const ps = [4, 5, 6, 7, 8, 9, 10].map((c) => field(cols, c, line, false)) as (number | null)[];
    const auto = field(cols, 11, line, true);
    if (auto !== 0 && auto !== 1) throw new LineError(`Line ${line}: column 12 (autocontinue) should be 0 or 1.`);
    if (command < 0 || command > 65_535)
      throw new LineError(`Line ${line}: command ${command} is not a MAV command number.`);
    void current;
    const params = ps as Params7;
    const outOfRange: OutOfRange = (axis, value) => {
      throw new LineError(
        `Line ${line}: ${axis} ${value} is outside ${axis === "latitude" ? "-90..90" : "-180..180"}.`,
      );
    };
    if (index === 0 && items.length === 0 && home === undefined) {
      // Row 0 is where the vehicle is armed: the home position, not a mission item.
      const at = placeOf(frame, params);
      if (!at) throw new LineError(`Line ${line}: row 0 should be the home position with a latitude and longitude.`);
      checkOnGlobe(at, outOfRange);
      home = { lat: at.lat, lon: at.lon, alt: params[6] ?? 0 };
      continue;
    }
    if (items.length >= LIMITS.waypoints) {
      throw new LineError(`Line ${line}: this page holds at most ${LIMITS.waypoints} items.`);
    }
    const sofar = { ...plan, waypoints: items };
    items.push(
      mavItem({ id: `item-${items.length + 1}`, command, frame, params, autoContinue: auto === 1, sofar }, outOfRange),
    );
  }
  const firstNav = items.find((w) => w.kind === "nav");
  const origin = home ?? (firstNav?.kind === "nav" ? firstNav : undefined);
  plan = {
    ...emptyPlan(title.slice(0, LIMITS.title), origin ? { lat: origin.lat, lon: origin.lon } : DEFAULT_ORIGIN),
    waypoints: items,
  };
  if (home) plan.home = home;
  return plan;
}

const f8 = (n: number | null) => (n === null ? "NaN" : n.toFixed(8));
const f6 = (n: number | null) => (n === null ? "NaN" : n.toFixed(6));

export interface Written {
  text: string;
  /** What the format could not hold, in words (empty when nothing was left out). */
  warnings: string[];
}

export function toWpl(plan: Plan): Written {
  const home = plan.home ?? { lat: plan.origin.lat, lon: plan.origin.lon, alt: 0 };
  const rows: string[] = [
    ["0", "1", "0", "16", f8(0), f8(0), f8(0), f8(0), f8(home.lat), f8(home.lon), f6(home.alt), "1"].join("\t"),
  ];
  let skipped = 0;
  let speeds = 0;
  for (const w of plan.waypoints) {
    if (w.kind === "complex") {
      skipped++;
      continue;
    }
    const row = (frame: number, command: number, ps: (number | null)[], auto: boolean) =>
      [
        String(rows.length),
        "0",
        String(frame),
        String(command),
        ...ps.slice(0, 6).map(f8),
        f6(ps[6] ?? null),
        auto ? "1" : "0",
      ].join("\t");
    if (w.kind === "cmd") {
      rows.push(row(w.frame, w.command, w.params, w.autoContinue));
      continue;
    }
    if (w.speed !== undefined) {
      speeds++;
      rows.push(row(2, 178, [1, w.speed, -1, 0, 0, 0, 0], true));
    }
    const frame = w.frame ?? canonicalFrame(w.altRef);
    rows.push(row(frame, w.command, [...w.params, w.lat, w.lon, w.terrainAmsl ?? w.alt], w.autoContinue));
  }
  const warnings: string[] = [];
  if (skipped) {
    warnings.push(
      `${skipped} complex item${skipped === 1 ? "" : "s"} (such as surveys) cannot be written as waypoints text and ${skipped === 1 ? "was" : "were"} left out; export a .plan to keep ${skipped === 1 ? "it" : "them"}.`,
    );
  }
  if (plan.fence.polygons.length || plan.fence.circles.length || plan.rally.length) {
    warnings.push("The geofence and rally points are not part of a waypoints file; export a .plan to keep them.");
  }
  if (speeds) warnings.push(`Leg speeds are written as Change speed items before their waypoints.`);
  return { text: `QGC WPL 110\r\n${rows.join("\r\n")}\r\n`, warnings };
}
