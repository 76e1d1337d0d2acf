import { describe, expect, it } from "vitest";
import { crowding, declutter, type LabelBox } from "./declutter.ts";

const box = (id: string, x: number, y: number, w = 50, h = 16): LabelBox => ({ id, x, y, w, h });

describe("declutter", () => {
  it("keeps labels that do not overlap, drops the later of two that do", () => {
    const kept = declutter([box("a", 0, 0), box("b", 30, 5), box("c", 100, 0), box("d", 0, 20)]);
    expect([...kept]).toEqual(["a", "c", "d"]);
  });

  it("never covers a blocked box (a marker), and does not return it", () => {
    const kept = declutter([box("name", 10, 10), box("far", 300, 300)], [box("marker", 40, 0, 30, 30)]);
    expect([...kept]).toEqual(["far"]);
  });

  it("finds overlaps across grid cells (a box wider than a cell)", () => {
    const kept = declutter([box("wide", 0, 0, 400, 10), box("under", 350, 5, 20, 10)], [], 64);
    expect([...kept]).toEqual(["wide"]);
  });

  it("shows a sparse subset of 2,000 stacked labels, each kept one clear of the others", () => {
    const many = Array.from({ length: 2000 }, (_, i) => box(`l${i}`, (i * 7) % 900, (i * 13) % 600));
    const kept = declutter(many);
    expect(kept.size).toBeGreaterThan(50);
    expect(kept.size).toBeLessThan(2000);
    const shown = many.filter((b) => kept.has(b.id));
    const clashes = shown.filter((a) =>
      shown.some((b) => a !== b && a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h),
    );
    expect(clashes).toEqual([]);
  });
});

describe("crowding", () => {
  it("is the share of points with a neighbour closer than the radius", () => {
    // a and b 10 px apart (both crowded at 30 px), c and d far from everything.
    const pts = [
      { x: 0, y: 0 },
      { x: 10, y: 0 },
      { x: 200, y: 0 },
      { x: 0, y: 200 },
    ];
    expect(crowding(pts, 30)).toBe(0.5);
    expect(crowding(pts, 5)).toBe(0);
    expect(crowding(pts, 300)).toBe(1);
  });

  it("sees neighbours across cell edges, and not points exactly the radius apart", () => {
    expect(
      crowding(
        [
          { x: 20.5, y: 20.5 },
          { x: 22, y: 22 },
        ],
        30,
      ),
    ).toBe(1);
    expect(
      crowding(
        [
          { x: 0, y: 0 },
          { x: 30, y: 0 },
        ],
        30,
      ),
    ).toBe(0);
    expect(
      crowding(
        [
          { x: 0, y: 0 },
          { x: 29, y: 0 },
        ],
        30,
      ),
    ).toBe(1);
  });

  it("a 2,000-point grid 13 px apart is crowded for 30 px markers and clear for 10 px dots", () => {
    const grid = Array.from({ length: 2000 }, (_, i) => ({ x: (i % 50) * 13, y: Math.floor(i / 50) * 13 }));
    expect(crowding(grid, 30)).toBe(1);
    expect(crowding(grid, 10)).toBe(0);
  });
});
