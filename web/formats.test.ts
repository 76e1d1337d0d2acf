import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { toGeoJson } from "./formats/geojson.ts";
import { detectFormat, EXPORTS, importPlanFile } from "./formats/index.ts";
import { toKml } from "./formats/kml.ts";
import { parseQgcPlan, toQgcPlan } from "./formats/qgc-plan.ts";
import { qtJson, qtNumber } from "./formats/qt-json.ts";
import { parseWpl, toWpl } from "./formats/wpl.ts";
import {
  addWaypoint,
  emptyPlan,
  legs,
  type NavItem,
  type Plan,
  parsePlanJson,
  planToJson,
  updateWaypoint,
} from "./plan.ts";

const fixture = (name: string) => readFileSync(join(import.meta.dirname, "../test/fixtures/qgc", name), "utf8");
const PX4 = fixture("px4-survey.plan");
const ARDU = fixture("ardupilot-terrain.plan");
const WPL = fixture("mission.waypoints");

function load(text: string): Plan {
  const r = parseQgcPlan(text, "fixture");
  if (!r.ok) throw new Error(r.error);
  return r.plan;
}

function refused(r: { ok: boolean; error?: string }): string {
  return r.ok ? "accepted" : (r.error ?? "");
}

/** A plan as a follower gets it: through the stream's JSON and the schema. */
function viaStream(p: Plan): Plan {
  const r = parsePlanJson(planToJson(p));
  if (!r.ok) throw new Error(r.error);
  return r.plan;
}

describe("QGroundControl .plan", () => {
  it("round-trips both fixtures byte for byte, also through the stream's JSON", () => {
    for (const text of [PX4, ARDU]) {
      expect(toQgcPlan(load(text))).toBe(text);
      expect(toQgcPlan(viaStream(load(text)))).toBe(text);
    }
  });

  it("reads waypoints, kept commands, a survey, home, speeds, the fence and rally points", () => {
    const p = load(PX4);
    expect(
      p.waypoints.map((w) =>
        w.kind === "nav" ? `nav ${w.command}` : w.kind === "cmd" ? `cmd ${w.command}` : "complex",
      ),
    ).toEqual(["nav 22", "nav 16", "cmd 178", "nav 16", "cmd 31010", "complex", "nav 19", "cmd 20"]);
    const [takeoff, wp] = p.waypoints as [NavItem, NavItem];
    expect(takeoff).toMatchObject({ type: "start", lat: 47.3977419, lon: 8.5455938, alt: 30, altRef: "home" });
    expect(wp.params).toEqual([0, 0, 0, null]); // a NaN yaw stays "unset"
    expect(p.waypoints[4]).toMatchObject({ kind: "cmd", command: 31010, params: [1, 2.5, 0.125, null, 0, 0, 0] });
    const survey = p.waypoints[5];
    expect(survey?.kind === "complex" && survey.raw.complexItemType).toBe("survey");
    expect(p.home).toEqual({ lat: 47.3977419, lon: 8.5455938, alt: 488.16 });
    expect(p.origin).toEqual({ lat: 47.3977419, lon: 8.5455938 });
    expect(p.originAssumed).toBeUndefined();
    expect(p).toMatchObject({ cruiseSpeed: 15, hoverSpeed: 5, firmwareType: 12, vehicleType: 2 });
    expect(p.fence.polygons).toHaveLength(1);
    expect(p.fence.circles).toEqual([{ inclusion: false, lat: 47.3982, lon: 8.5472, radius: 35.5 }]);
    expect(p.rally).toEqual([
      { lat: 47.397, lon: 8.545, alt: 40 },
      { lat: 47.4005, lon: 8.548, alt: 45.5 },
    ]);
    // The Change speed item (8.5 m/s) sets the speed of the legs after it; the first leg flies at cruise.
    expect(legs(p).map((l) => l.speed)).toEqual([15, 8.5, 8.5]);
  });

  it("keeps ArduPilot's terrain altitudes: calculated above terrain, terrain frame, AMSL", () => {
    const p = load(ARDU);
    const nav = p.waypoints.filter((w): w is NavItem => w.kind === "nav");
    expect(nav.map((w) => [w.alt, w.altRef])).toEqual([
      [80, "home"],
      [120, "terrain"],
      [100, "terrain"],
      [650, "msl"],
      [0, "home"],
    ]);
    expect(nav[1]).toMatchObject({ terrainAmsl: 703.84, frame: 0 });
    expect(nav[4]).toMatchObject({ type: "landing", command: 21 });
    expect(p.fence.breachReturn).toEqual({ lat: -35.3615, lon: 149.1625, alt: 100 });
    expect(p.waypoints[4]).toMatchObject({ kind: "cmd", command: 177, params: [2, 3, 0, 0, 0, 0, 0] });
  });

  it("writes a changed altitude with its mode worked out again", () => {
    const p = load(ARDU);
    const id = (p.waypoints[1] as NavItem).id;
    const out = JSON.parse(toQgcPlan(updateWaypoint(p, id, { alt: 90 })));
    expect(out.mission.items[1]).toMatchObject({
      Altitude: 90,
      AltitudeMode: 4,
      AMSLAltAboveTerrain: null,
      frame: 10,
      params: [0, 0, 0, null, -35.3598173, 149.1601021, 90],
    });
  });

  it("writes a plan made here so QGroundControl's reader takes it back the same", () => {
    let p = emptyPlan("Made here", { lat: 52.52, lon: 13.405 });
    [p] = addWaypoint(p, { x: 0, y: 0 });
    [p] = addWaypoint(p, { x: 120, y: 80 });
    p = updateWaypoint(p, (p.waypoints[1] as NavItem).id, { speed: 4 });
    const text = toQgcPlan(p);
    const back = load(text);
    expect(back.waypoints.map((w) => w.kind)).toEqual(["nav", "cmd", "nav"]); // the leg speed became a Change speed
    expect(legs(back)[0]?.speed).toBe(4);
    expect(toQgcPlan(back)).toBe(text);
    const items = JSON.parse(text).mission.items;
    expect(items.map((i: { doJumpId: number }) => i.doJumpId)).toEqual([1, 2, 3]);
  });

  it("says which item is wrong and what was expected, in plain words", () => {
    const data = JSON.parse(PX4);
    const bad = (mutate: (d: typeof data) => void) => {
      const d = structuredClone(data);
      mutate(d);
      return refused(parseQgcPlan(JSON.stringify(d)));
    };
    expect(bad((d) => delete d.mission.items[3].command)).toBe(
      'Mission item 4 has no "command" (a MAV command number expected).',
    );
    expect(bad((d) => (d.mission.items[1].params = [0, 0, 0]))).toBe(
      'Mission item 2: "params" should be a list of 7 numbers, but it is a list.',
    );
    expect(bad((d) => (d.mission.items[0].params[4] = 123))).toBe(
      "Mission item 1: latitude 123 (parameter 5) is outside -90..90.",
    );
    expect(bad((d) => (d.mission.items[2].type = "Waypoint"))).toBe(
      'Mission item 3: "type" should be "SimpleItem" or "ComplexItem", but it is the text "Waypoint".',
    );
    expect(bad((d) => (d.geoFence.polygons[0].polygon = [[47, 8]]))).toBe(
      "Geofence polygon 1 needs a list of at least 3 points.",
    );
    expect(bad((d) => (d.fileType = "GeoFence"))).toBe(
      'This is not a QGroundControl plan: "fileType" should be "Plan", but it is the text "GeoFence".',
    );
    expect(refused(parseQgcPlan('{\n  "fileType": "Plan",\n  "version": 1,\n  oops\n}'))).toMatch(
      /^The file is not valid JSON \(line 4\)/,
    );
  });
});

describe("QGC WPL 110", () => {
  it("round-trips the Mission Planner-style fixture byte for byte, also through the stream's JSON", () => {
    const r = parseWpl(WPL, "fixture");
    if (!r.ok) throw new Error(r.error);
    expect(toWpl(r.plan)).toEqual({ text: WPL, warnings: [] });
    expect(toWpl(viaStream(r.plan)).text).toBe(WPL);
  });

  it("reads row 0 as home and the rest as items, unknown commands kept", () => {
    const r = parseWpl(WPL);
    if (!r.ok) throw new Error(r.error);
    const p = r.plan;
    expect(p.home).toEqual({ lat: -35.3632621, lon: 149.1652374, alt: 584.09 });
    expect(
      p.waypoints.map((w) =>
        w.kind === "nav" ? `nav ${w.command}` : w.kind === "cmd" ? `cmd ${w.command}` : "complex",
      ),
    ).toEqual(["nav 22", "nav 16", "cmd 178", "nav 16", "nav 19", "cmd 203", "cmd 20"]);
    expect(p.waypoints[3]).toMatchObject({ kind: "nav", params: [5, 2, 0, 0], alt: 60, altRef: "home" });
    expect(legs(p).map((l) => l.speed)).toEqual([15, 12, 12]);
  });

  it("names the line and the column that is wrong", () => {
    const lines = WPL.split("\r\n");
    const withLine = (n: number, text: string) => lines.map((l, i) => (i === n - 1 ? text : l)).join("\n");
    expect(refused(parseWpl(withLine(4, (lines[3] as string).replace("\t16\t", "\tWP\t"))))).toBe(
      'Line 4: column 4 (command) should be a whole number, but it is "WP".',
    );
    expect(refused(parseWpl(withLine(5, "4\t0\t3\t16\t0\t0")))).toBe(
      "Line 5: expected 12 columns separated by tabs, but found 6.",
    );
    expect(refused(parseWpl(withLine(3, (lines[2] as string).replace("-35.36326210", "-135.36326210"))))).toBe(
      "Line 3: latitude -135.3632621 is outside -90..90.",
    );
    expect(refused(parseWpl("QGC WPL 100\n"))).toBe("Line 1: this is WPL version 100; version 110 is expected.");
    expect(refused(parseWpl("hello\n"))).toMatch(/^Line 1: a waypoint file starts with "QGC WPL 110"/);
  });

  it("range-checks only a waypoint's place: another command's parameters 5/6 survive both formats as they came", () => {
    // DO_SET_SERVO (183) in a frame with latitude/longitude: its parameters 5/6 are not a place.
    const row = "8\t0\t3\t183\t0.00000000\t0.00000000\t0.00000000\t0.00000000\t120.00000000\t200.00000000\t0.000000\t1";
    const r = parseWpl(`${WPL}${row}\r\n`);
    if (!r.ok) throw new Error(r.error);
    expect(r.plan.waypoints.at(-1)).toMatchObject({ kind: "cmd", command: 183, params: [0, 0, 0, 0, 120, 200, 0] });
    expect(toWpl(r.plan).text.split("\r\n").at(-2)).toBe(row);
    const data = JSON.parse(PX4);
    data.mission.items[6].params.splice(4, 2, 120, 200);
    data.mission.items[6].command = 183;
    const q = parseQgcPlan(JSON.stringify(data));
    expect(q.ok && q.plan.waypoints[6]).toMatchObject({ kind: "cmd", command: 183 });
  });

  it("keeps a land-in-place (latitude and longitude 0) as a command, not a waypoint at 0°, 0°", () => {
    const r = parseWpl(`${WPL}8\t0\t3\t21\t0\t0\t0\t0\t0\t0\t0\t1\r\n`);
    if (!r.ok) throw new Error(r.error);
    expect(r.plan.waypoints.at(-1)).toMatchObject({ kind: "cmd", command: 21 });
    expect(legs(r.plan)).toHaveLength(3);
    const data = JSON.parse(PX4);
    data.mission.items[6].params.splice(4, 2, 0, 0);
    const q = parseQgcPlan(JSON.stringify(data));
    expect(q.ok && q.plan.waypoints[6]).toMatchObject({ kind: "cmd", command: 19 });
  });

  it("leaves out what it cannot say, and says so", () => {
    const out = toWpl(load(PX4));
    expect(out.warnings.join(" ")).toMatch(/1 complex item .* left out/);
    expect(out.warnings.join(" ")).toMatch(/geofence and rally points/);
    expect(out.text.split("\r\n").filter(Boolean)).toHaveLength(1 + 1 + 7); // header, home, 7 simple items
  });
});

describe("one door for files", () => {
  it("tells the formats apart and reads a QGroundControl plan instead of refusing it as our JSON", () => {
    expect(detectFormat("x.plan", PX4)).toBe("qgc-plan");
    expect(detectFormat("x.json", PX4)).toBe("qgc-plan");
    expect(detectFormat("x.txt", WPL)).toBe("wpl");
    expect(detectFormat("x.json", planToJson(emptyPlan()))).toBe("json");
    const r = importPlanFile("ridge.plan", PX4);
    expect(r.ok && r.plan.title).toBe("ridge");
    expect(r.ok && r.plan.waypoints).toHaveLength(8);
  });

  it("migrates this page's version 1 JSON and refuses other text in words", () => {
    const v1 = {
      version: 1,
      title: "Old",
      notes: "",
      waypoints: [{ id: "a", name: "A", type: "start", x: 10, y: 20 }],
    };
    const r = importPlanFile("old.plan.json", JSON.stringify(v1));
    expect(r.ok && r.plan.version).toBe(2);
    expect(r.ok && r.notice).toMatch(/origin/);
    expect(refused(importPlanFile("notes.json", "not json at all"))).toMatch(/^The file is not a plan this page reads/);
  });

  it("offers .plan, WPL, GeoJSON and KML", () => {
    expect(EXPORTS.map((e) => e.extension)).toEqual([".plan", ".waypoints", ".geojson", ".kml"]);
    for (const e of EXPORTS) expect(e.write(load(PX4)).text.length).toBeGreaterThan(100);
  });
});

describe("GeoJSON and KML", () => {
  it("GeoJSON has the route, the waypoints, home, closed fence polygons and rally points, lon first", () => {
    const g = JSON.parse(toGeoJson(load(PX4)));
    expect(g.type).toBe("FeatureCollection");
    const by = (layer: string) =>
      g.features.filter((f: { properties: { layer: string } }) => f.properties.layer === layer);
    const [route] = by("route");
    expect(route.geometry.type).toBe("LineString");
    expect(route.geometry.coordinates[0]).toEqual([8.5455938, 47.3977419, 30]);
    expect(by("waypoints")).toHaveLength(4);
    expect(by("home")).toHaveLength(1);
    expect(by("rally")).toHaveLength(2);
    const fence = by("geofence");
    expect(fence.map((f: { properties: { shape: string } }) => f.properties.shape)).toEqual(["polygon", "circle"]);
    for (const f of fence) {
      const ring = f.geometry.coordinates[0];
      expect(ring[0]).toEqual(ring.at(-1));
    }
    expect(fence[1].geometry.coordinates[0]).toHaveLength(65);
  });

  it("KML has placemarks for the route, waypoints, fence and rally points, with text escaped", () => {
    const p = { ...load(ARDU), title: "Ridge <north> & co" };
    const k = toKml(p);
    expect(k).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<kml xmlns=/);
    expect(k).toContain("<name>Ridge &lt;north&gt; &amp; co</name>");
    expect(k.match(/<Placemark>/g)).toHaveLength(1 + 5 + 1);
    // Above home becomes absolute with home's altitude: 584.09 + 80.
    expect(k).toContain("<coordinates>149.1652374,-35.3632621,664.09</coordinates>");
    expect(k).toContain("<altitudeMode>relativeToGround</altitudeMode>"); // the terrain-relative ones
  });
});

describe("Qt's JSON layout", () => {
  it("sorts keys, opens empty lists on two lines and writes small numbers as Qt does", () => {
    expect(qtJson({ b: [], a: { d: 1, C: true } })).toBe(
      '{\n    "a": {\n        "C": true,\n        "d": 1\n    },\n    "b": [\n    ]\n}\n',
    );
    expect(qtNumber(0.00001234)).toBe("1.234e-05");
    expect(qtNumber(47.3977419)).toBe("47.3977419");
    expect(qtNumber(Number.NaN)).toBe("null");
  });
});
