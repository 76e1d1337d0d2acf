import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { apply, diff, PatchError } from "../../src/core/patch.ts";
import { sha1hex } from "../../src/core/sha1.ts";

const json = fc.jsonValue({ maxDepth: 4 });

describe("diff / apply", () => {
  it("apply(a, diff(a, b)) equals b", () => {
    fc.assert(
      fc.property(json, json, (a, b) => {
        const patched = apply(a, diff(a, b));
        expect(patched).toEqual(b);
      }),
      { numRuns: 500 },
    );
  });

  it("never changes its input", () => {
    fc.assert(
      fc.property(json, json, (a, b) => {
        const before = JSON.stringify(a);
        apply(a, diff(a, b));
        expect(JSON.stringify(a)).toBe(before);
      }),
    );
  });

  it("a small edit of a large plan is a small patch", () => {
    const waypoints = Array.from({ length: 2000 }, (_, i) => ({
      id: `wp${i}`,
      name: `Waypoint ${i}`,
      x: i * 1.5,
      y: i / 3,
      type: "waypoint",
    }));
    const plan = { version: 1, title: "Big", notes: "n".repeat(1000), waypoints };
    const moved = { ...plan, waypoints: waypoints.map((w, i) => (i === 700 ? { ...w, x: 1, y: 2 } : w)) };
    const ops = diff(plan, moved);
    expect(ops).toEqual([
      { op: "replace", path: "/waypoints/700/x", value: 1 },
      { op: "replace", path: "/waypoints/700/y", value: 2 },
    ]);
    const inserted = {
      ...plan,
      waypoints: [
        ...waypoints.slice(0, 5),
        { id: "new", name: "N", x: 0, y: 0, type: "target" },
        ...waypoints.slice(5),
      ],
    };
    expect(diff(plan, inserted)).toHaveLength(1);
    expect(JSON.stringify(apply(plan, diff(plan, inserted)))).toBe(JSON.stringify(inserted));
    const deleted = { ...plan, waypoints: waypoints.filter((_, i) => i !== 10) };
    expect(diff(plan, deleted)).toEqual([{ op: "remove", path: "/waypoints/10" }]);
  });

  it("escapes ~ and / in keys", () => {
    const a = { "a/b": 1, "c~d": { x: 1 } };
    const b = { "a/b": 2, "c~d": { x: 2 } };
    const ops = diff(a, b);
    expect(ops.map((o) => o.path)).toEqual(["/a~1b", "/c~0d/x"]);
    expect(apply(a, ops)).toEqual(b);
  });

  it("refuses paths that do not exist", () => {
    expect(() => apply({ a: 1 }, [{ op: "replace", path: "/b/c", value: 1 }])).toThrow(PatchError);
    expect(() => apply([1], [{ op: "remove", path: "/5" }])).toThrow(PatchError);
  });
});

describe("sha1hex", () => {
  it("matches node:crypto for any text, UTF-8 included", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 300 }), (s) => {
        expect(sha1hex(s)).toBe(createHash("sha1").update(s, "utf8").digest("hex"));
      }),
    );
    for (const n of [0, 55, 56, 63, 64, 65, 200_000]) {
      const s = "x".repeat(n);
      expect(sha1hex(s)).toBe(createHash("sha1").update(s).digest("hex"));
    }
  });
});
