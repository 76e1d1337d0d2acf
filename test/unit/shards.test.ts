/**
 * Where streams live and how a listing walks every shard (src/core/shards.ts):
 * rendezvous hashing is stable, spreads, and a new shard takes only its share;
 * the merged listing gives every live name once, in Redis's order, whatever the
 * page size.
 */
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareNames, doorOrder, mergePages, rank, shardIndex, weight } from "../../src/core/shards.ts";
import type { ListPage } from "../../src/core/wire.ts";

const names = Array.from({ length: 3000 }, (_, i) => `mission-${i}`);
const place = (ids: string[]) => names.map((n) => ids[shardIndex(n, ids)]);

describe("rendezvous hashing over shard ids", () => {
  it("the weight is 52 bits of SHA-1 of '<id>:<name>' (what another implementation must compute)", () => {
    const hex = createHash("sha1").update("shard-1:Op Heron ✈", "utf8").digest("hex");
    expect(weight("shard-1", "Op Heron ✈")).toBe(Number.parseInt(hex.slice(0, 13), 16));
  });

  it("the same shard for the same name, whatever the order the shards are listed in", () => {
    const ids = ["a", "b", "c"];
    const once = place(ids);
    expect(place(ids)).toEqual(once);
    expect(place(["c", "a", "b"])).toEqual(once);
    expect(shardIndex("anything", ["only"])).toBe(0);
  });

  it("spreads names over the shards", () => {
    const ids = ["a", "b", "c"];
    const placed = place(ids);
    for (const id of ids) {
      const share = placed.filter((p) => p === id).length / names.length;
      expect(share, id).toBeGreaterThan(0.28);
      expect(share, id).toBeLessThan(0.39);
    }
  });

  it("adding a shard moves about 1/(S+1) of the names, and only to the new shard", () => {
    const before = place(["a", "b", "c"]);
    const after = place(["a", "b", "c", "d"]);
    const moved = names.filter((_, i) => before[i] !== after[i]);
    expect(moved.length / names.length).toBeGreaterThan(0.2);
    expect(moved.length / names.length).toBeLessThan(0.3);
    for (const [i, n] of names.entries()) if (before[i] !== after[i]) expect(after[i], n).toBe("d");
  });
});

describe("door order", () => {
  const doors = ["http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"];
  it("is a stable permutation per follower id, and followers spread over the first door", () => {
    const ids = Array.from({ length: 900 }, (_, i) => `f${i}`);
    const firsts: number[] = [0, 0, 0];
    for (const id of ids) {
      const order = doorOrder(id, doors);
      expect(order).toEqual(doorOrder(id, doors));
      expect([...order].sort()).toEqual([0, 1, 2]);
      const at = order[0] as number;
      firsts[at] = (firsts[at] ?? 0) + 1;
    }
    for (const n of firsts) expect(n).toBeGreaterThan(240);
    // The followers of a failed door spread over the others too (its second choice).
    const second: number[] = [0, 0, 0];
    for (const id of ids) {
      const order = doorOrder(id, doors);
      const next = order[1] as number;
      if (order[0] === 0) second[next] = (second[next] ?? 0) + 1;
    }
    expect(second[0]).toBe(0);
    expect(Math.min(second[1] ?? 0, second[2] ?? 0)).toBeGreaterThan((firsts[0] ?? 0) / 4);
    expect(doorOrder("x", ["only"])).toEqual([0]);
    expect(rank("x", doors)).toEqual(doorOrder("x", doors));
  });
});

describe("compareNames", () => {
  it("orders as Redis does: by UTF-8 bytes (code points), not UTF-16 units", () => {
    const list = ["a\u{1F600}", "a\uFF01", "a", "ab", "B", "é", "a\u{10000}z", "a\u{10000}"];
    const bytes = [...list].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect([...list].sort(compareNames)).toEqual(bytes);
    expect([...list].sort()).not.toEqual(bytes); // JS's own order differs here
  });
});

/** A shard as lua/list.lua answers: names after the cursor in byte order, `count` of them, expired ones left out. */
function fakeShard(all: { name: string; live: boolean }[]) {
  const sorted = [...all].sort((a, b) => compareNames(a.name, b.name));
  return (cursor: string | null, count: number): ListPage => {
    const after = sorted.filter((s) => cursor === null || compareNames(s.name, cursor) > 0).slice(0, count);
    const streams = after.filter((s) => s.live).map((s) => ({ name: s.name, seq: 1, created: 1, updated: 1 }));
    return { streams, cursor: after.length === count ? (after[after.length - 1]?.name ?? null) : null };
  };
}

function walk(shards: ReturnType<typeof fakeShard>[], count: number, home?: (n: string) => number): string[] {
  const out: string[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 10_000; i++) {
    const page = mergePages(
      shards.map((list, shard) => ({ shard, page: list(cursor, count) })),
      count,
      home,
    );
    expect(page.streams.length).toBeLessThanOrEqual(count);
    out.push(...page.streams.map((s) => s.name));
    if (page.cursor === null) return out;
    expect(cursor === null || compareNames(page.cursor, cursor) > 0, "the cursor moves on").toBe(true);
    cursor = page.cursor;
  }
  throw new Error("the walk did not end");
}

describe("merged listing", () => {
  it("every live name once, in order, across pages of any size", () => {
    const name = fc.stringMatching(/^[a-z\u00e9\uff01\u{1F600}]{1,6}$/u);
    const entry = fc.record({ name, live: fc.boolean() });
    fc.assert(
      fc.property(
        fc.uniqueArray(entry, { selector: (e) => e.name, maxLength: 60 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 7 }),
        (entries, shardCount, count) => {
          const byShard = Array.from({ length: shardCount }, (_, i) => entries.filter((_, j) => j % shardCount === i));
          const got = walk(byShard.map(fakeShard), count);
          const want = entries
            .filter((e) => e.live)
            .map((e) => e.name)
            .sort(compareNames);
          expect(got).toEqual(want);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a name live on two shards (left behind when a shard was added) is listed once, as its home shard has it", () => {
    const a = fakeShard([{ name: "m", live: true }]);
    const b = fakeShard([{ name: "m", live: true }]);
    const page = mergePages(
      [
        { shard: 0, page: { ...a(null, 5), streams: [{ name: "m", seq: 9, created: 1, updated: 1 }] } },
        { shard: 1, page: b(null, 5) },
      ],
      5,
      () => 1,
    );
    expect(page).toEqual({ streams: [{ name: "m", seq: 1, created: 1, updated: 1 }], cursor: null });
    expect(walk([a, b], 1)).toEqual(["m"]);
  });
});
