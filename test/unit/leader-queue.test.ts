/**
 * The publishing queue (src/core/leader/queue.ts) on its own: newest-state
 * coalescing, one job in flight, the same op id on a retry, in-doubt jobs that
 * stay first, and the requeue rules for STALE, QUOTA and "surely not sent".
 */
import { describe, expect, it } from "vitest";
import { MAX_GARBLED, MAX_STALE, PublishQueue, patchFor } from "../../src/core/leader/queue.ts";
import type { PublishResult } from "../../src/core/leader/types.ts";

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

  it("in doubt (may have landed): retried first with its op id and its very patch, even when a newer state waits", () => {
    const { q, offer } = queue();
    offer("A");
    const a = q.take();
    if (!a) throw new Error("no job");
    const patch = q.patchOf(a, { v: "0" });
    offer("B");
    q.unreachable(a, false);
    expect(q.waiting).toBe(2);
    const again = q.take();
    expect(again).toBe(a);
    expect([again?.opId, q.patchOf(a, { v: "other" })]).toEqual(["op1", patch]);
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

  it("STALE: the base is unknown, so the job (or the newer one) goes whole; retries are bounded; an ack knows the base again", () => {
    const { q, offer } = queue();
    const notes = "n".repeat(200);
    q.offer(JSON.stringify({ v: 1, notes }), { v: 1, notes }, { resolve() {}, reject() {} });
    const a = q.take();
    if (!a) throw new Error("no job");
    expect(q.patchOf(a, { v: 0, notes })).toContain("replace");
    for (let i = 0; i < MAX_STALE; i++) {
      expect(q.stale(a)).toBe(true);
      expect(q.take()).toBe(a);
      expect(q.patchOf(a, { v: 0, notes })).toBe("-");
    }
    expect(q.stale(a)).toBe(false);
    q.failed(a);
    expect(q.baseUnknown).toBe(true);
    q.offer(JSON.stringify({ v: 2, notes }), { v: 2, notes }, { resolve() {}, reject() {} });
    const b = q.take();
    if (!b) throw new Error("no job");
    expect(q.patchOf(b, { v: 1, notes })).toBe("-");
    q.acked(b);
    expect(q.baseUnknown).toBe(false);
    offer("C");
    expect(q.take()?.patch).toBeUndefined();
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

  it("patches: only against an object base, and only when under half the state's size", () => {
    const notes = "n".repeat(200);
    const full = JSON.stringify({ v: 1, notes });
    expect(patchFor({ v: 0, notes }, { v: 1, notes }, full.length)).toContain("replace");
    expect(patchFor({ v: 0 }, { v: 1 }, 7)).toBe("-");
    expect(patchFor(null, { v: 1 }, 1000)).toBe("-");
    expect(patchFor([], { v: 1 }, 1000)).toBe("-");
  });
});
