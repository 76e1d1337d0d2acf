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
