/**
 * What the leader's page keeps in IndexedDB (SECURITY.md, "What the page keeps"):
 *
 * - `sessions`, by a random per-tab id (web/session.ts `tabId`, in sessionStorage):
 *   this tab's saved leader (`leader.save()`: token, term, the content key as its
 *   non-extractable CryptoKey, the verifiers), its plan and undo history. Only this
 *   tab (or a duplicate of it) knows the id; a closed tab's record is orphaned and
 *   swept on a later page load (`sweep`, after SESSION_TTL_MS).
 * - `pending`, by stream name: the newest plan not yet acknowledged, sealed with the
 *   stream's key, and the epoch/seq it was based on. It must outlive the tab (offline edits survive a
 *   close), so it is not keyed by tab; it is dropped once acknowledged, on Discard
 *   and on Stop, and swept after PENDING_TTL_MS.
 *
 * IndexedDB because the CryptoKey must stay a CryptoKey (structured clone); Web
 * Storage holds strings only. Every call degrades to "nothing kept" where IndexedDB
 * is missing or refused (private windows, a full disk): the page then asks for the
 * code after a reload, as before.
 */
import type { SavedLeader } from "./relay.ts";

export const SESSION_TTL_MS = 24 * 60 * 60 * 1000;
export const PENDING_TTL_MS = 7 * 24 * 60 * 60 * 1000;
const DB = "mission-relay";
const VERSION = 1;

export interface HistoryRecord {
  past: unknown[];
  current: unknown;
  future: unknown[];
}

export interface TabRecord {
  tab: string;
  name: string;
  savedAt: number;
  leader: SavedLeader;
  history: HistoryRecord;
}

export interface PendingRecord {
  name: string;
  /**
   * The newest plan the leader had, whole, sealed with the stream's key for this disk
   * (`leader.sealKept`, web/resume.ts sealUnsent): it opens with the password only.
   */
  sealed: string;
  /** The stream's epoch and seq the plan was edited on (the leader's last acknowledged ones). */
  epoch: string;
  seq: number;
  /** When it was written (ms): "You have unsent edits from HH:MM". */
  at: number;
}

export interface Store {
  saveSession(r: TabRecord): Promise<void>;
  loadSession(tab: string): Promise<TabRecord | undefined>;
  dropSession(tab: string): Promise<void>;
  savePending(r: PendingRecord): Promise<void>;
  loadPending(name: string): Promise<PendingRecord | undefined>;
  dropPending(name: string): Promise<void>;
  /** Drops sessions older than SESSION_TTL_MS and pending edits older than PENDING_TTL_MS; returns how many. */
  sweep(now?: number): Promise<number>;
  close(): void;
}

const done = <T>(req: IDBRequest<T>) =>
  new Promise<T>((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });

/** Opens the page's database, or undefined where there is none (the caller keeps nothing). */
export async function openStore(idb: IDBFactory | undefined, name = DB): Promise<Store | undefined> {
  if (!idb) return undefined;
  let db: IDBDatabase;
  try {
    const req = idb.open(name, VERSION);
    req.onupgradeneeded = () => {
      const d = req.result;
      if (!d.objectStoreNames.contains("sessions")) d.createObjectStore("sessions", { keyPath: "tab" });
      if (!d.objectStoreNames.contains("pending")) d.createObjectStore("pending", { keyPath: "name" });
    };
    db = await done(req);
  } catch {
    return undefined;
  }
  // Another page asking for a newer version: let it, this one keeps nothing more.
  db.onversionchange = () => db.close();
  const run = async <T>(
    store: "sessions" | "pending",
    mode: IDBTransactionMode,
    fn: (s: IDBObjectStore) => IDBRequest<T>,
  ): Promise<T> => {
    const tx = db.transaction(store, mode);
    // A write counts once its transaction commits, not when its request succeeds.
    const committed = new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = tx.onabort = () => reject(tx.error);
    });
    // A failed request aborts the transaction too: the call rejects once (with the request's
    // error), and the transaction's rejection must not be left unhandled beside it.
    committed.catch(() => {});
    const result = await done(fn(tx.objectStore(store)));
    await committed;
    return result;
  };
  const sweepStore = (store: "sessions" | "pending", field: "savedAt" | "at", before: number) =>
    new Promise<number>((resolve, reject) => {
      const tx = db.transaction(store, "readwrite");
      let n = 0;
      const req = tx.objectStore(store).openCursor();
      req.onsuccess = () => {
        const cur = req.result;
        if (!cur) return;
        const at = (cur.value as Record<string, unknown>)[field];
        if (typeof at !== "number" || at < before) {
          cur.delete();
          n++;
        }
        cur.continue();
      };
      tx.oncomplete = () => resolve(n);
      tx.onerror = tx.onabort = () => reject(tx.error);
    });
  return {
    saveSession: async (r) => void (await run("sessions", "readwrite", (s) => s.put(r))),
    loadSession: (tab) => run("sessions", "readonly", (s) => s.get(tab) as IDBRequest<TabRecord | undefined>),
    dropSession: async (tab) => void (await run("sessions", "readwrite", (s) => s.delete(tab))),
    savePending: async (r) => void (await run("pending", "readwrite", (s) => s.put(r))),
    loadPending: (n) => run("pending", "readonly", (s) => s.get(n) as IDBRequest<PendingRecord | undefined>),
    dropPending: async (n) => void (await run("pending", "readwrite", (s) => s.delete(n))),
    async sweep(now = Date.now()) {
      const a = await sweepStore("sessions", "savedAt", now - SESSION_TTL_MS);
      const b = await sweepStore("pending", "at", now - PENDING_TTL_MS);
      return a + b;
    },
    close: () => db.close(),
  };
}

let shared: Promise<Store | undefined> | undefined;

/** The page's one store (opened once, on first use). */
export function pageStore(): Promise<Store | undefined> {
  // Reading `indexedDB` itself may throw (an opaque origin): nothing kept then.
  shared ??= (async () => openStore(globalThis.indexedDB))().catch(() => undefined);
  return shared;
}
