import "fake-indexeddb/auto";
import { IDBFactory } from "fake-indexeddb";
import { describe, expect, it } from "vitest";
import { openKept, sealKept } from "../src/core/content.ts";
import { emptyPlan } from "./plan.ts";
import type { SavedLeader } from "./relay.ts";
import { historyOf, openUnsent, pendingChoice, resumeSaved, sealUnsent } from "./resume.ts";
import { openStore } from "./store.ts";

const plan = (title: string) => emptyPlan(title);

describe("sealUnsent / openUnsent", () => {
  const keyOf = () => crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
  const leaderWith = (key: CryptoKey, name = "Ridge") => ({
    sealKept: (json: string, at: { epoch: string; seq: number }) =>
      sealKept(key, { name, epoch: at.epoch, seq: at.seq }, json),
    openKept: (sealed: string, at: { epoch: string; seq: number }) =>
      openKept(key, { name, epoch: at.epoch, seq: at.seq }, sealed),
  });
  const unsent = { name: "Ridge", plan: plan("Survey north ridge"), epoch: "e1", seq: 4, at: 1000 };

  it("keeps the plan as ciphertext that the stream's key opens", async () => {
    const key = await keyOf();
    const rec = await sealUnsent(leaderWith(key), unsent);
    expect(Object.keys(rec).sort()).toEqual(["at", "epoch", "name", "sealed", "seq"]);
    expect(JSON.stringify(rec)).not.toContain("Survey");
    expect(await openUnsent(leaderWith(key), rec)).toEqual(unsent);
  });
  it("opens nothing with another key, another stream, a changed base or an altered text", async () => {
    const key = await keyOf();
    const rec = await sealUnsent(leaderWith(key), unsent);
    expect(await openUnsent(leaderWith(await keyOf()), rec)).toBeUndefined();
    expect(await openUnsent(leaderWith(key, "Other"), rec)).toBeUndefined();
    expect(await openUnsent(leaderWith(key), { ...rec, seq: 5 })).toBeUndefined();
    const flipped = `${rec.sealed.slice(0, 20)}${rec.sealed[20] === "A" ? "B" : "A"}${rec.sealed.slice(21)}`;
    expect(await openUnsent(leaderWith(key), { ...rec, sealed: flipped })).toBeUndefined();
    // A record from before plans were sealed here (plaintext, no `sealed`) is not one.
    expect(await openUnsent(leaderWith(key), { name: "Ridge", plan: {}, epoch: "e1", seq: 4, at: 1 } as never)).toBe(
      undefined,
    );
  });
});

describe("pendingChoice", () => {
  const pending = (o: Partial<{ epoch: string; seq: number; plan: unknown }> = {}) => ({
    name: "R",
    plan: plan("offline"),
    epoch: "e1",
    seq: 4,
    at: 0,
    ...o,
  });
  it("sends when the stream is where the edits started", () => {
    expect(pendingChoice(pending(), { epoch: "e1", seq: 4, state: plan("before") })).toBe("send");
  });
  it("asks when another leader published since, or the epoch changed", () => {
    expect(pendingChoice(pending(), { epoch: "e1", seq: 5, state: plan("theirs") })).toBe("ask");
    expect(pendingChoice(pending(), { epoch: "e2", seq: 1, state: plan("theirs") })).toBe("ask");
  });
  it("drops what the stream already holds, and what is not a plan", () => {
    expect(pendingChoice(pending(), { epoch: "e1", seq: 9, state: plan("offline") })).toBe("drop");
    expect(pendingChoice(pending({ plan: { nope: 1 } }), { epoch: "e1", seq: 4, state: {} })).toBe("drop");
  });
});

describe("historyOf", () => {
  it("keeps the steps that are plans, none without a current plan", () => {
    const h = historyOf({ past: [plan("a"), { junk: true }], current: plan("b"), future: "x" });
    expect(h?.past.map((p) => p.title)).toEqual(["a"]);
    expect(h?.current.title).toBe("b");
    expect(h?.future).toEqual([]);
    expect(historyOf({ current: { junk: true } })).toBeUndefined();
    expect(historyOf(undefined)).toBeUndefined();
  });
});

describe("resumeSaved", () => {
  const leader = { v: 1, name: "Ridge" } as unknown as SavedLeader;
  const record = (name: string) => ({
    tab: "t1",
    name,
    savedAt: Date.now(),
    leader,
    history: { past: [plan("a")], current: plan("b"), future: [] },
  });

  it("resumes this tab's record for the stream, none for another stream or tab", async () => {
    const store = await openStore(new IDBFactory());
    await store?.saveSession(record("Ridge"));
    const relay = { resume: () => ({ name: "Ridge" }) as never };
    const r = await resumeSaved(relay, store, "t1", "Ridge");
    expect(r).toMatchObject({ plan: { title: "b" }, history: { past: [{ title: "a" }] } });
    expect(await resumeSaved(relay, store, "t1", "Other")).toBe("none");
    expect(await resumeSaved(relay, store, "t2", "Ridge")).toBe("none");
    expect(await resumeSaved(relay, undefined, "t1", "Ridge")).toBe("none");
  });

  it("does not resume a record whose session is another stream's (dropped as unreadable)", async () => {
    const store = await openStore(new IDBFactory());
    await store?.saveSession({ ...record("Ridge"), leader: { v: 1, name: "Other" } as unknown as SavedLeader });
    let resumed = 0;
    const relay = {
      resume: () => {
        resumed++;
        return { name: "Other" } as never;
      },
    };
    expect(await resumeSaved(relay, store, "t1", "Ridge")).toBe("unreadable");
    expect(resumed).toBe(0);
    expect(await store?.loadSession("t1")).toBeUndefined();
  });

  it("drops a record the relay refuses", async () => {
    const store = await openStore(new IDBFactory());
    await store?.saveSession(record("Ridge"));
    const relay = {
      resume: () => {
        throw new Error("INVALID");
      },
    };
    expect(await resumeSaved(relay, store, "t1", "Ridge")).toBe("unreadable");
    expect(await store?.loadSession("t1")).toBeUndefined();
  });
});
