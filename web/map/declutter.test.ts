import { describe, expect, it } from "vitest";
import { declutter, type LabelBox } from "./declutter.ts";

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
