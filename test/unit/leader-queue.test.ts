/**
 * The publishing queue (src/core/leader/queue.ts) on its own: newest-state
 * coalescing, one job in flight, the same op id and the same change on a
 * retry, in-doubt jobs that stay first, the requeue rules for STALE, QUOTA,
 * NEED_STATE and "surely not sent", and what a job sends (changeOf).
 */

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { changeText, type Job, MAX_GARBLED, MAX_STALE, PublishQueue, patchFor } from "../../src/core/leader/queue.ts";
import type { PublishResult } from "../../src/core/leader/types.ts";
import { apply } from "../../src/core/patch.ts";
import { sha1hex } from "../../src/core/sha1.ts";

const taken = (q: PublishQueue): Job => {
  const job = q.take();
  if (!job) throw new Error("no job");
  return job;
};

function queue() {
  let n = 0;
  const q = new PublishQueue(() => `op${++n}`);
  const results: string[] = [];
  const offer = (v: string) =>
    q.offer(
      JSON.stringify({ v }),
      { v },
      {
        resolve: (r: PublishResult) => results.push(`${v}:ok:${r.seq}`),
        reject: () => results.push(`${v}:err`),
      },
    );
  return { q, offer, results };
}

describe("publishing queue", () => {
  it("keeps only the newest waiting state, with a fresh op id and every caller", () => {
    const { q, offer } = queue();
    offer("A");
    offer("B");
    offer("C");
    expect(q.waiting).toBe(1);
    const job = q.take();
    expect([job?.json, job?.opId, job?.waiters.length]).toEqual(['{"v":"C"}', "op3", 3]);
  });

  it("one job in flight: nothing else is taken until it settles", () => {
    const { q, offer } = queue();
    offer("A");
    const a = q.take();
    offer("B");
    expect(q.take()).toBeUndefined();
    expect(q.inFlight).toBe(a);
    q.acked(a as never);
    expect(q.take()?.json).toBe('{"v":"B"}');
  });

  it("in doubt (may have landed): retried first with its op id and its very change, even when a newer state waits", async () => {
    const { q, offer } = queue();
    offer("A");
    const a = q.take();
    if (!a) throw new Error("no job");
    const change = await q.changeOf(a, { v: "0" }, false);
    offer("B");
    q.unreachable(a, false);
    expect(q.waiting).toBe(2);
    const again = q.take();
    expect(again).toBe(a);
    expect([again?.opId, await q.changeOf(a, { v: "other" }, true)]).toEqual(["op1", change]);
    // Once in doubt, always in doubt: a later "surely not sent" does not make it replaceable.
    q.unreachable(a, true);
    expect(q.take()).toBe(a);
  });

  it("surely not sent: a newer waiting state takes its place and its callers; alone, it waits to go again", () => {
    const { q, offer } = queue();
    offer("A");
    const a = q.take();
    if (!a) throw new Error("no job");
    offer("B");
    q.unreachable(a, true);
    const b = q.take();
    expect([b?.json, b?.waiters.length, q.waiting]).toEqual(['{"v":"B"}', 2, 0]);
    q.unreachable(b as never, true);
    expect(q.take()).toBe(b);
  });

  it("QUOTA: nothing written; replaceable unless an earlier attempt may still land", () => {
    const { q, offer } = queue();
    offer("A");
    const a = q.take() as never;
    offer("B");
    q.quota(a);
    expect(q.take()?.json).toBe('{"v":"B"}');
    const c = queue();
    c.offer("A");
    const ca = c.q.take();
    if (!ca) throw new Error("no job");
    c.q.unreachable(ca, false);
    c.q.take();
    c.offer("B");
    c.q.quota(ca);
    expect(c.q.take()).toBe(ca);
  });

  it("a patch whose result would stringify otherwise (a key added mid-object, keys reordered) goes whole", async () => {
    const { q } = queue();
    const notes = "n".repeat(200);
    const cases: [object, object][] = [
      [
        { a: 1, notes, c: 3 },
        { a: 1, b: 2, notes, c: 3 },
      ], // apply puts b last
      [
        { a: 1, notes },
        { notes, a: 1 },
      ], // no op at all, yet the JSON changed
      [{ wp: [{ x: 1, y: 2, notes }] }, { wp: [{ x: 1, z: 0, y: 2, notes }] }],
    ];
    for (const [base, next] of cases) {
      q.offer(JSON.stringify(next), next, { resolve() {}, reject() {} });
      const job = q.take();
      if (!job) throw new Error("no job");
      expect(await q.changeOf(job, base, false), JSON.stringify(next)).toEqual({ kind: "s", text: job.json });
      q.acked(job);
    }
    // A key added last still goes as a patch.
    q.offer(JSON.stringify({ a: 1, notes, z: 9 }), { a: 1, notes, z: 9 }, { resolve() {}, reject() {} });
    const last = q.take();
    if (!last) throw new Error("no job");
    expect((await q.changeOf(last, { a: 1, notes }, false)).kind).toBe("p");
  });

  it("STALE: the base is unknown, so the job (or the newer one) goes whole; retries are bounded; an ack knows the base again", async () => {
    const { q, offer } = queue();
    const notes = "n".repeat(200);
    q.offer(JSON.stringify({ v: 1, notes }), { v: 1, notes }, { resolve() {}, reject() {} });
    const a = q.take();
    if (!a) throw new Error("no job");
    expect(await q.changeOf(a, { v: 0, notes }, false)).toMatchObject({
      kind: "p",
      text: expect.stringContaining("replace"),
    });
    a.sealed = { base: 0, kind: "p", content: "sealed-bytes" };
    for (let i = 0; i < MAX_STALE; i++) {
      expect(q.stale(a)).toBe(true);
      expect(a.sealed).toBeUndefined(); // sealed again on the stream's seq
      expect(q.take()).toBe(a);
      expect(await q.changeOf(a, { v: 0, notes }, false)).toEqual({ kind: "s", text: a.json });
    }
    expect(q.stale(a)).toBe(false);
    q.failed(a);
    expect(q.baseUnknown).toBe(true);
    q.offer(JSON.stringify({ v: 2, notes }), { v: 2, notes }, { resolve() {}, reject() {} });
    const b = q.take();
    if (!b) throw new Error("no job");
    expect((await q.changeOf(b, { v: 1, notes }, false)).kind).toBe("s");
    q.acked(b);
    expect(q.baseUnknown).toBe(false);
    offer("C");
    expect(q.take()?.change).toBeUndefined();
  });

  it("garbled replies: a few retries per job", () => {
    const { q, offer } = queue();
    offer("A");
    const a = q.take();
    if (!a) throw new Error("no job");
    for (let i = 0; i < MAX_GARBLED; i++) expect(q.garbled(a)).toBe(true);
    expect(q.garbled(a)).toBe(false);
  });

  it("drain takes out what waits (in doubt and newest), not the job in flight", () => {
    const { q, offer } = queue();
    offer("A");
    const a = q.take();
    if (!a) throw new Error("no job");
    q.unreachable(a, false);
    offer("B");
    expect(q.drain().map((j) => j.json)).toEqual(['{"v":"A"}', '{"v":"B"}']);
    expect(q.idle).toBe(true);
    offer("C");
    const c = q.take();
    expect(q.drain()).toEqual([]);
    expect(q.inFlight).toBe(c);
  });

  it("NEED_STATE: the job goes again whole (sealed anew), its op id kept; an in-doubt one stays first", async () => {
    const notes = "n".repeat(200);
    const { q, offer } = queue();
    q.offer(JSON.stringify({ v: 1, notes }), { v: 1, notes }, { resolve() {}, reject() {} });
    const a = taken(q);
    expect((await q.changeOf(a, { v: 0, notes }, false)).kind).toBe("p");
    a.sealed = { base: 0, kind: "p", content: "sealed-bytes" };
    q.needState(a);
    expect([q.inFlight, a.change, a.sealed]).toEqual([undefined, { kind: "s", text: a.json }, undefined]);
    expect(taken(q)).toBe(a);
    expect([a.opId, (await q.changeOf(a, { v: 0, notes }, false)).kind]).toEqual(["op1", "s"]);
    // Surely not sent so far: a newer waiting state takes its place (and its callers).
    offer("B");
    q.needState(a);
    const b = taken(q);
    expect([b.json, b.waiters.length, q.waiting]).toEqual(['{"v":"B"}', 2, 0]);
    // In doubt: it stays first, whole, before the newer state.
    q.unreachable(b, false);
    expect(taken(q)).toBe(b);
    offer("C");
    q.needState(b);
    expect([taken(q), b.change?.kind]).toEqual([b, "s"]);
  });

  it("patches: only against an object base, and only when under half the state's size", () => {
    const notes = "n".repeat(200);
    const full = JSON.stringify({ v: 1, notes });
    expect(patchFor({ v: 0, notes }, { v: 1, notes }, full.length)).toContain("replace");
    expect(patchFor({ v: 0 }, { v: 1 }, 7)).toBe("-");
    expect(patchFor(null, { v: 1 }, 1000)).toBe("-");
    expect(patchFor([], { v: 1 }, 1000)).toBe("-");
  });
});

describe("changeOf: what a job sends", () => {
  const notes = "n".repeat(200);
  const base = { v: 0, notes };
  const next = { v: 1, notes };
  const fresh = () => {
    const { q } = queue();
    q.offer(JSON.stringify(next), next, { resolve() {}, reject() {} });
    return { q, job: taken(q) };
  };

  it("a patch against the acknowledged base, with h = the SHA-1 of the new state's JSON inside", async () => {
    const { q, job } = fresh();
    const c = await q.changeOf(job, base, false);
    expect(c.kind).toBe("p");
    const body = JSON.parse(c.text);
    expect(body.h).toBe(sha1hex(job.json));
    expect(apply(structuredClone(base), body.patch)).toEqual(next);
    expect(c.text.length).toBeLessThan(job.json.length);
  });

  it("whole when the base is unknown (after STALE)", async () => {
    const { q, job } = fresh();
    q.baseUnknown = true;
    expect(await q.changeOf(job, base, false)).toEqual({ kind: "s", text: job.json });
  });

  it("whole when the server asked for it (the reply's snapshot hint)", async () => {
    const { q, job } = fresh();
    expect(await q.changeOf(job, base, true)).toEqual({ kind: "s", text: job.json });
  });

  it("whole when the patch would not be smaller, or the base is not an object", async () => {
    const { q, job } = fresh();
    expect(await q.changeOf(job, { other: "x".repeat(300) }, false)).toEqual({ kind: "s", text: job.json });
    const second = fresh();
    expect(await second.q.changeOf(second.job, null, false)).toEqual({ kind: "s", text: second.job.json });
  });

  it("made once: later calls return the same change whatever base or hint they get", async () => {
    const { q, job } = fresh();
    const first = await q.changeOf(job, base, false);
    expect(await q.changeOf(job, {}, true)).toBe(first);
    q.baseUnknown = true;
    expect(await q.changeOf(job, {}, false)).toBe(first);
  });
});

describe("changeText: the change a Worker makes (RelayOptions.makeChange)", () => {
  it("is the change changeOf makes in the shell, for any two states (key order, arrays, nesting)", async () => {
    const value = fc.jsonValue({ maxDepth: 3 });
    const state = fc.dictionary(fc.constantFrom("a", "b", "c", "wp", "notes"), value, { maxKeys: 5 });
    await fc.assert(
      fc.asyncProperty(state, state, async (base, next) => {
        const q = new PublishQueue(() => "op");
        const json = JSON.stringify(next);
        q.offer(json, next, { resolve() {}, reject() {} });
        const job = q.take() as Job;
        const here = await q.changeOf(job, JSON.parse(JSON.stringify(base)), false);
        expect(await changeText(JSON.stringify(base), json)).toEqual(here);
      }),
      { numRuns: 300 },
    );
  });

  it("with no acknowledged state (empty JSON) it is the state whole", async () => {
    expect(await changeText("", '{"a":1}')).toEqual({ kind: "s", text: '{"a":1}' });
  });
});
