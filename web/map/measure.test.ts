import { describe, expect, it } from "vitest";
import { inverse } from "../geo.ts";
import { Measure } from "./measure.ts";

describe("measure", () => {
  it("says what to do before two points", () => {
    const m = new Measure();
    expect(m.text()).toMatch(/first point/);
    m.add({ lat: 0, lon: 0 });
    expect(m.text()).toMatch(/next point/);
    expect(m.total()).toBe(0);
  });

  it("gives each segment's geodesic distance and bearing, and the total", () => {
    const m = new Measure();
    // One degree of longitude on the equator is 111,319.49 m on WGS84; due east is 090°.
    m.add({ lat: 0, lon: 0 });
    m.add({ lat: 0, lon: 1 });
    const [seg] = m.segments();
    expect(seg?.metres).toBeCloseTo(111_319.49, 1);
    expect(seg?.bearing).toBeCloseTo(90, 6);
    expect(m.text()).toBe("Last: 111 km · 090°");
    m.add({ lat: 0.01, lon: 1 }); // then due north
    expect(m.segments()[1]?.bearing).toBeCloseTo(0, 6);
    const north = inverse({ lat: 0, lon: 1 }, { lat: 0.01, lon: 1 }).distance;
    expect(m.total()).toBeCloseTo(111_319.49 + north, 1);
    expect(m.text()).toMatch(/^Last: 1\.11 km · 000° · Total 112 km \(2 segments\)$/);
    m.clear();
    expect(m.points).toEqual([]);
  });
});
