import { describe, expect, it } from "vitest";
import { OVERSCAN, scrollToShow, visibleWindow } from "./waypoint-list.ts";

describe("visibleWindow", () => {
  it("renders the rows in view plus the overscan, never the whole list", () => {
    // 2,000 rows of 46 px in a 460 px box scrolled to row 1,000: rows 1,000-1,009 are in view.
    const w = visibleWindow(2000, 46, 46 * 1000, 460);
    expect(w).toEqual({ start: 1000 - OVERSCAN, end: 1010 + OVERSCAN });
    expect(w.end - w.start).toBeLessThan(40);
  });

  it("clamps at both ends", () => {
    expect(visibleWindow(2000, 46, 0, 460)).toEqual({ start: 0, end: 10 + OVERSCAN });
    expect(visibleWindow(2000, 46, 46 * 2000, 460, 2)).toEqual({ start: 1998, end: 2000 });
    expect(visibleWindow(3, 46, 0, 460)).toEqual({ start: 0, end: 3 });
    expect(visibleWindow(0, 46, 0, 460)).toEqual({ start: 0, end: 0 });
  });

  it("shows a first screenful before layout (no viewport height yet) only through the caller's fallback", () => {
    expect(visibleWindow(2000, 46, 0, 0, 0)).toEqual({ start: 0, end: 1 });
  });
});

describe("scrollToShow", () => {
  it("leaves a row in view alone and scrolls the least to bring in one outside", () => {
    expect(scrollToShow(5, 46, 0, 460)).toBeUndefined();
    expect(scrollToShow(1999, 46, 0, 460)).toBe(1999 * 46 + 46 - 460); // the row ends at the bottom edge
    expect(scrollToShow(3, 46, 46 * 100, 460)).toBe(3 * 46); // above: it starts at the top edge
    expect(scrollToShow(9, 46, 0, 460)).toBeUndefined(); // 9 ends exactly at 460
    expect(scrollToShow(10, 46, 0, 460)).toBe(46);
  });
});
