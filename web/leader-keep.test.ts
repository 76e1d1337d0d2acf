/**
 * The leader view's keeping (web/views/leader-keep.ts) with a fake leader and controller on
 * fake-indexeddb: Leave within the 300 ms debounce of an offline edit keeps that edit on disk
 * (sealed with the stream's key);
 * a store that refuses writes is said once per run of failures, in words with no plan text.
 */
import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { openKept, sealKept } from "../src/core/content.ts";
import { emptyPlan, type Plan } from "./plan.ts";
import { pageStore } from "./store.ts";

// What the view needs of a page: window events and the tab's sessionStorage.
const kv = new Map<string, string>();
Object.assign(globalThis, {
  window: globalThis.window ?? new EventTarget(),
  sessionStorage: {
    getItem: (k: string) => kv.get(k) ?? null,
    setItem: (k: string, v: string) => void kv.set(k, v),
    removeItem: (k: string) => void kv.delete(k),
  },
});
const { keepLeader } = await import("./views/leader-keep.ts");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The stream's content key, as the password would give it (not extractable).
const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
type At = { epoch: string; seq: number };

/** The kept record for `name`, opened with the key: what a tab resuming with the code would see. */
async function keptPlan(name: string): Promise<Plan | undefined> {
  const p = await (await pageStore())?.loadPending(name);
  if (!p) return undefined;
  expect(p.sealed).not.toMatch(/offline edit|secret/); // ciphertext on disk, not the plan
  return (await openKept(key, { name, epoch: p.epoch, seq: p.seq }, p.sealed)) as Plan;
}

function fakes(name: string) {
  const acked = emptyPlan("acked");
  const listeners: ((s: { plan: Plan }) => void)[] = [];
  const c = {
    state: { plan: acked },
    subscribe(fn: (s: { plan: Plan }) => void) {
      listeners.push(fn);
      return () => {};
    },
    historySnapshot: () => ({ past: [], current: c.state.plan, future: [] }),
    edit(plan: Plan) {
      c.state = { plan };
      for (const fn of listeners) fn(c.state);
    },
  };
  const leader = {
    name,
    status: "offline",
    epoch: "1-0",
    seq: 3,
    state: acked,
    save: () => ({ v: 1, name, json: JSON.stringify(acked), epoch: "1-0", seq: 3 }),
    on: () => () => {},
    ping: async () => "offline",
    retry() {},
    sealKept: (json: string, at: At) => sealKept(key, { name, epoch: at.epoch, seq: at.seq }, json),
    openKept: (sealed: string, at: At) => openKept(key, { name, epoch: at.epoch, seq: at.seq }, sealed),
  };
  return { c, leader };
}

/** The view's keeping for a fresh (not resumed) leader, its notices collected in `notes`. */
const keepWith = (name: string, c: unknown, leader: unknown, notes: string[]) =>
  keepLeader({
    c: c as never,
    leader: leader as never,
    name,
    resumed: false,
    notice: {} as HTMLElement,
    notify: (t) => notes.push(t),
    onStale() {},
  });

describe("keepLeader", () => {
  it("Leave right after an offline edit writes the unsent plan before dropping the session", async () => {
    const name = "Ridge-leave";
    const { c, leader } = fakes(name);
    const notes: string[] = [];
    const keep = keepWith(name, c, leader, notes);
    await sleep(50); // nothing pending from before: the edits are this tab's to write
    c.edit(emptyPlan("offline edit"));
    keep.forget(); // well within KEEP_DEBOUNCE_MS
    keep.dispose();
    await sleep(400);
    const store = await pageStore();
    expect((await keptPlan(name))?.title).toBe("offline edit");
    expect(await store?.loadPending(name)).toMatchObject({ epoch: "1-0", seq: 3 });
    expect(notes).toEqual([]);
  });

  it("a store that refuses writes is said once per run of failures, with no plan text", async () => {
    const name = "Ridge-full";
    const { c, leader } = fakes(name);
    const notes: string[] = [];
    const store = await pageStore();
    if (!store) throw new Error("fake-indexeddb gave no store");
    const real = { savePending: store.savePending, saveSession: store.saveSession };
    let refuse = true;
    const full = () => Promise.reject(new DOMException("quota", "QuotaExceededError"));
    store.savePending = (r) => (refuse ? full() : real.savePending(r));
    store.saveSession = (r) => (refuse ? full() : real.saveSession(r));
    try {
      const keep = keepWith(name, c, leader, notes);
      await sleep(50);
      for (const title of ["secret one", "secret two", "secret three"]) {
        c.edit(emptyPlan(title));
        await sleep(400); // past KEEP_DEBOUNCE_MS: each edit is its own write, each refused
      }
      expect(notes).toEqual(["This browser could not keep your session or unsent edits on disk."]);
      refuse = false;
      c.edit(emptyPlan("secret four"));
      await sleep(400);
      expect((await keptPlan(name))?.title).toBe("secret four");
      refuse = true;
      c.edit(emptyPlan("secret five"));
      await sleep(400);
      // A new run of failures after a write that worked is said again.
      expect(notes).toHaveLength(2);
      expect(notes.join(" ")).not.toMatch(/secret/);
      keep.dispose();
    } finally {
      Object.assign(store, real);
    }
  });

  it("edits kept under the name with another password are dropped, saying so with no plan text", async () => {
    const name = "Ridge-restarted";
    const { c, leader } = fakes(name);
    const store = await pageStore();
    const other = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
    const at = { name, epoch: "1-0", seq: 3 };
    const sealed = await sealKept(other, at, JSON.stringify(emptyPlan("secret old plan")));
    await store?.savePending({ ...at, sealed, at: 1 });
    const notes: string[] = [];
    const keep = keepWith(name, c, leader, notes);
    await sleep(100);
    expect(await store?.loadPending(name)).toBeUndefined();
    expect(notes).toEqual([
      "Edits kept in this browser from before could not be opened with this stream's password, so they were discarded.",
    ]);
    keep.dispose();
  });
});
