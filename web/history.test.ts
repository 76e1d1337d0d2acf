import { describe, expect, it } from "vitest";
import { History } from "./history.ts";

describe("History", () => {
  it("undoes and redoes single steps", () => {
    const h = new History(0);
    h.push(1);
    h.push(2);
    expect(h.undo()).toBe(1);
    expect(h.undo()).toBe(0);
    expect(h.undo()).toBeUndefined();
    expect(h.redo()).toBe(1);
    expect(h.value).toBe(1);
    h.push(5);
    expect(h.canRedo).toBe(false);
  });

  it("merges a gesture into one step and seals it", () => {
    const h = new History("a");
    h.push("b", "drag:1", 0);
    h.push("c", "drag:1", 10);
    h.push("d", "drag:1", 20);
    h.seal();
    h.push("e", "drag:1", 30);
    expect(h.undo()).toBe("d");
    expect(h.undo()).toBe("a");
  });

  it("does not merge after the group window", () => {
    const h = new History("a", 10, 100);
    h.push("b", "title", 0);
    h.push("c", "title", 500);
    expect(h.undo()).toBe("b");
  });

  it("keeps at most `limit` steps", () => {
    const h = new History(0, 3);
    for (let i = 1; i <= 10; i++) h.push(i);
    expect([h.undo(), h.undo(), h.undo(), h.undo()]).toEqual([9, 8, 7, undefined]);
  });
});

describe("History snapshot (kept with a saved session)", () => {
  it("restores undo and redo after a reload, bounded to the newest steps", () => {
    const h = new History(0);
    for (let i = 1; i <= 150; i++) h.push(i);
    h.undo();
    const snap = structuredClone(h.snapshot());
    expect(snap.current).toBe(149);
    expect(snap.past).toHaveLength(100);
    expect(snap.past.at(-1)).toBe(148);
    expect(snap.future).toEqual([150]);
    const back = History.from(snap);
    expect(back.value).toBe(149);
    expect(back.redo()).toBe(150);
    expect(back.undo()).toBe(149);
    expect(back.undo()).toBe(148);
    for (let i = 0; i < 99; i++) back.undo();
    expect(back.value).toBe(49);
    expect(back.canUndo).toBe(false);
  });

  it("a restored history groups nothing with the step before the reload", () => {
    const h = History.from({ past: [0], current: 1, future: [] });
    h.push(2, "typing:title");
    h.push(3, "typing:title");
    expect(h.undo()).toBe(1);
    expect(h.undo()).toBe(0);
  });
});
