import { describe, expect, it } from "vitest";
import { formatGraticule, graticule, graticuleStep } from "./graticule.ts";

describe("graticule", () => {
  it("picks 10° for a continent, 1° for a region and 0.01° for a field", () => {
    expect(graticuleStep(60)).toBe(10);
    expect(graticuleStep(6)).toBe(1);
    expect(graticuleStep(0.06)).toBe(0.01);
    expect(graticuleStep(400)).toBe(30); // the whole world: the coarsest rung
    expect(graticuleStep(0.0001)).toBe(0.001); // closer than the finest rung
  });

  it("draws every multiple of the step inside the bounds, as straight lines with labels", () => {
    const g = graticule({ south: 44.2, west: 5.3, north: 48.9, east: 11.7 });
    expect(g.step).toBe(1);
    const parallels = g.lines.filter((l) => l.kind === "parallel").map((l) => l.value);
    const meridians = g.lines.filter((l) => l.kind === "meridian").map((l) => l.value);
    expect(parallels).toEqual([45, 46, 47, 48]);
    expect(meridians).toEqual([6, 7, 8, 9, 10, 11]);
    const first = g.lines[0];
    expect(first?.ends).toEqual([
      [45, 5.3],
      [45, 11.7],
    ]);
    expect(first?.label).toBe("45°N");
  });

  it("labels hemispheres and the decimals the step needs, without float drift", () => {
    const g = graticule({ south: -0.031, west: -0.049, north: 0.02, east: 0.031 });
    expect(g.step).toBe(0.01);
    expect(g.lines.filter((l) => l.kind === "parallel").map((l) => l.label)).toEqual([
      "0.03°S",
      "0.02°S",
      "0.01°S",
      "0.00°",
      "0.01°N",
      "0.02°N",
    ]);
    expect(formatGraticule(-122.5, "meridian", 0.5)).toBe("122.5°W");
    expect(formatGraticule(30, "meridian", 10)).toBe("30°E");
  });

  it("stays within ±85° and ±180° for a view past the poles or the antimeridian", () => {
    const g = graticule({ south: -95, west: -250, north: 95, east: 250 });
    for (const l of g.lines) {
      expect(Math.abs(l.value)).toBeLessThanOrEqual(l.kind === "parallel" ? 85 : 180);
      for (const [lat, lon] of l.ends) {
        expect(Math.abs(lat)).toBeLessThanOrEqual(85);
        expect(Math.abs(lon)).toBeLessThanOrEqual(180);
      }
    }
  });
});
