import { describe, expect, it } from "vitest";
import { formatDuration, fromLocal, inverse, legTimes, normLon, toLocal } from "./geo.ts";

const dms = (d: number, m: number, s: number) => Math.sign(d) * (Math.abs(d) + m / 60 + s / 3600);

describe("geodesic inverse on WGS84", () => {
  it("matches Vincenty's published Flinders Peak to Buninyong example", () => {
    // Geoscience Australia's worked example (GRS80; WGS84 differs by far less than a millimetre here):
    // 54,972.271 m, forward azimuth 306°52′05.37″, reverse azimuth 127°10′25.07″.
    const flinders = { lat: dms(-37, 57, 3.7203), lon: dms(144, 25, 29.5244) };
    const buninyong = { lat: dms(-37, 39, 10.1561), lon: dms(143, 55, 35.3839) };
    const g = inverse(flinders, buninyong);
    expect(g.distance).toBeCloseTo(54_972.271, 2);
    expect(g.initialBearing).toBeCloseTo(dms(306, 52, 5.37), 4);
    expect((g.finalBearing + 180) % 360).toBeCloseTo(dms(127, 10, 25.07), 4);
    expect(g.approximate).toBe(false);
  });

  it("gives a degree of longitude on the equator as a·π/180 and the meridian quadrant", () => {
    expect(inverse({ lat: 0, lon: 0 }, { lat: 0, lon: 1 }).distance).toBeCloseTo((6_378_137 * Math.PI) / 180, 3);
    // Equator to pole along a meridian on WGS84: 10,001,965.729 m.
    expect(inverse({ lat: 0, lon: 0 }, { lat: 90, lon: 0 }).distance).toBeCloseTo(10_001_965.729, 2);
    expect(inverse({ lat: 0, lon: 0 }, { lat: 1, lon: 0 }).initialBearing).toBeCloseTo(0, 9);
    expect(inverse({ lat: 0, lon: 0 }, { lat: 0, lon: -1 }).initialBearing).toBeCloseTo(270, 9);
  });

  it("is zero for the same point and falls back, flagged, for antipodes", () => {
    expect(inverse({ lat: 10, lon: 20 }, { lat: 10, lon: 20 }).distance).toBe(0);
    const anti = inverse({ lat: 0.5, lon: 0 }, { lat: -0.5, lon: 179.7 });
    expect(anti.approximate).toBe(true);
    expect(anti.distance).toBeGreaterThan(19_900_000);
  });
});

describe("local tangent plane", () => {
  const origin = { lat: 47.3977419, lon: 8.5455938 };

  it("round-trips east/north metres to well under a centimetre out to 500 km", () => {
    for (const en of [
      { x: 0, y: 0 },
      { x: 123.4, y: -56.7 },
      { x: 10_000, y: 25_000 },
      { x: -300_000, y: 400_000 },
    ]) {
      const back = toLocal(origin, fromLocal(origin, en));
      expect(Math.abs(back.x - en.x)).toBeLessThan(1e-4);
      expect(Math.abs(back.y - en.y)).toBeLessThan(1e-4);
    }
  });

  it("agrees with the geodesic near the origin (axes point east and north)", () => {
    const p = fromLocal(origin, { x: 300, y: 400 });
    expect(p.lat).toBeGreaterThan(origin.lat);
    expect(p.lon).toBeGreaterThan(origin.lon);
    const g = inverse(origin, p);
    expect(g.distance).toBeCloseTo(500, 2);
    expect(g.initialBearing).toBeCloseTo((Math.atan2(300, 400) * 180) / Math.PI, 3);
  });

  it("works across the antimeridian", () => {
    const o = { lat: -16.5, lon: 179.999 };
    const p = fromLocal(o, { x: 1000, y: 0 });
    expect(p.lon).toBeLessThan(-179.98);
    const back = toLocal(o, p);
    expect(back.x).toBeCloseTo(1000, 4);
    expect(normLon(540)).toBe(180);
    expect(normLon(-190)).toBe(170);
  });
});

describe("time estimate", () => {
  it("uses each leg's speed where set, else the cruise speed", () => {
    const t = legTimes([{ distance: 1500 }, { distance: 600, speed: 2 }], 15);
    expect(t.map((l) => l.seconds)).toEqual([100, 300]);
    expect(formatDuration(400)).toBe("6 min 40 s");
    expect(formatDuration(3900)).toBe("1 h 05 min");
    expect(formatDuration(legTimes([{ distance: 1 }], 0)[0]?.seconds ?? 0)).toBe("unknown");
  });
});
