/**
 * The page's IndexedDB store (web/store.ts) on fake-indexeddb: a tab's session
 * with its CryptoKey comes back as a CryptoKey, pending edits are per stream,
 * old records are swept, and no IndexedDB means nothing kept (no throw).
 */
import "fake-indexeddb/auto";
import { IDBFactory } from "fake-indexeddb";
import { describe, expect, it } from "vitest";
import { openStore, PENDING_TTL_MS, SESSION_TTL_MS, type TabRecord } from "./store.ts";

const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);

function tabRecord(tab: string, savedAt = Date.now()): TabRecord {
  return {
    tab,
    name: "Ridge",
    savedAt,
    leader: {
      v: 1,
      name: "Ridge",
      channel: "c".repeat(48),
      epoch: "1-0",
      origin: "1-0",
      term: 2,
      seq: 5,
      token: "t".repeat(48),
      pass: `1.${"a".repeat(40)}`,
      json: '{"title":"x"}',
      snapshot: false,
      key,
      codeVerifier: "v".repeat(64),
      passwordVerifier: "w".repeat(64),
    },
    history: { past: [{ title: "a" }], current: { title: "x" }, future: [] },
  };
}

describe("the page's store", () => {
  it("keeps a tab's session with its CryptoKey, by tab id", async () => {
    const store = await openStore(new IDBFactory());
    if (!store) throw new Error("no store");
    await store.saveSession(tabRecord("tab-a"));
    const back = await store.loadSession("tab-a");
    expect(back?.leader.key).toBeInstanceOf(CryptoKey);
    expect(back?.leader.key.extractable).toBe(false);
    // The key still works: it seals and opens.
    const iv = new Uint8Array(12);
    const sealed = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv },
      back?.leader.key as CryptoKey,
      new Uint8Array([1]),
    );
    expect(new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv }, key, sealed))).toEqual(
      new Uint8Array([1]),
    );
    expect(back?.history.past).toEqual([{ title: "a" }]);
    expect(await store.loadSession("tab-b")).toBeUndefined();
    await store.dropSession("tab-a");
    expect(await store.loadSession("tab-a")).toBeUndefined();
    store.close();
  });

  it("keeps pending edits per stream, across opens (a closed tab's edits are there for the next)", async () => {
    const idb = new IDBFactory();
    const first = await openStore(idb);
    await first?.savePending({ name: "Ridge", sealed: "c2VhbGVkLW9mZmxpbmU", epoch: "1-0", seq: 5, at: 1000 });
    await first?.savePending({ name: "Ridge", sealed: "c2VhbGVkLW5ld2Vy", epoch: "1-0", seq: 5, at: 2000 });
    first?.close();
    const second = await openStore(idb);
    expect(await second?.loadPending("Ridge")).toEqual({
      name: "Ridge",
      sealed: "c2VhbGVkLW5ld2Vy",
      epoch: "1-0",
      seq: 5,
      at: 2000,
    });
    expect(await second?.loadPending("Other")).toBeUndefined();
    await second?.dropPending("Ridge");
    expect(await second?.loadPending("Ridge")).toBeUndefined();
    second?.close();
  });

  it("sweeps orphaned sessions after a day and pending edits after a week", async () => {
    const now = 10 * PENDING_TTL_MS;
    const store = await openStore(new IDBFactory());
    if (!store) throw new Error("no store");
    await store.saveSession(tabRecord("old", now - SESSION_TTL_MS - 1));
    await store.saveSession(tabRecord("fresh", now - 1000));
    await store.savePending({ name: "Old", sealed: "x", epoch: "e", seq: 0, at: now - PENDING_TTL_MS - 1 });
    await store.savePending({ name: "Kept", sealed: "x", epoch: "e", seq: 0, at: now - SESSION_TTL_MS - 1 });
    expect(await store.sweep(now)).toBe(2);
    expect(await store.loadSession("old")).toBeUndefined();
    expect(await store.loadSession("fresh")).toBeDefined();
    expect(await store.loadPending("Old")).toBeUndefined();
    expect(await store.loadPending("Kept")).toBeDefined();
    store.close();
  });

  it("is none where there is no IndexedDB, or it refuses to open", async () => {
    expect(await openStore(undefined)).toBeUndefined();
    const refusing = {
      open() {
        throw new DOMException("denied", "SecurityError");
      },
    } as unknown as IDBFactory;
    expect(await openStore(refusing)).toBeUndefined();
  });
});

describe("a write IndexedDB refuses", () => {
  it("rejects the call once, with nothing left unhandled", async () => {
    const store = await openStore(new IDBFactory());
    if (!store) throw new Error("no store");
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on("unhandledRejection", onUnhandled);
    // A request that fails (as a full disk's does): `add` on a key already there is a ConstraintError.
    const put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = IDBObjectStore.prototype.add;
    try {
      const r = { name: "Ridge", sealed: "x", epoch: "e", seq: 0, at: 1 };
      await store.savePending(r);
      await expect(store.savePending(r)).rejects.toBeDefined();
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      IDBObjectStore.prototype.put = put;
      process.off("unhandledRejection", onUnhandled);
      store.close();
    }
    expect(unhandled).toEqual([]);
  });
});
