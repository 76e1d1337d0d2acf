/**
 * What one browser tab remembers across a reload (sessionStorage): a
 * follower's password, only when the person ticked "remember in this tab".
 * sessionStorage belongs to this tab alone (a duplicated tab gets a copy) and
 * is gone when the tab closes; any script running on the page can read it,
 * which SECURITY.md says. Never the leader code: a leader's reload resumes from
 * the tab's IndexedDB record (web/store.ts), found by this tab's random id (`tabId`).
 *
 * The store is passed in (a Storage, or a Map-backed fake in unit tests).
 */

/** The part of the Web Storage API used here. */
export interface TabStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

const key = (name: string) => `mission-relay:follow:${name}`;

/** This tab's storage, or undefined where there is none (or it is refused, e.g. by privacy settings). */
export function tabStorage(): TabStorage | undefined {
  try {
    return globalThis.sessionStorage ?? undefined;
  } catch {
    return undefined;
  }
}

/** Remembers the follower's password for `name` in this tab. */
export function rememberFollower(store: TabStorage | undefined, name: string, password: string): void {
  try {
    store?.setItem(key(name), JSON.stringify({ v: 1, password }));
  } catch {
    // Full or refused: the next reload asks again, nothing worse.
  }
}

/** The password this tab remembers for `name`, if any. */
export function recallFollower(store: TabStorage | undefined, name: string): string | undefined {
  try {
    const raw = store?.getItem(key(name));
    if (!raw) return undefined;
    const v = JSON.parse(raw) as { v?: unknown; password?: unknown };
    return v.v === 1 && typeof v.password === "string" && v.password ? v.password : undefined;
  } catch {
    return undefined;
  }
}

/** Forgets it (a wrong password, the follower left, the stream ended). */
export function forgetFollower(store: TabStorage | undefined, name: string): void {
  try {
    store?.removeItem(key(name));
  } catch {
    // Nothing to forget.
  }
}

/** A Map-backed TabStorage (unit tests; also a stand-in where the browser refuses storage). */
export function memoryStorage(): TabStorage & { readonly size: number } {
  const m = new Map<string, string>();
  return {
    getItem: (k) => m.get(k) ?? null,
    setItem: (k, v) => void m.set(k, v),
    removeItem: (k) => void m.delete(k),
    get size() {
      return m.size;
    },
  };
}

const TAB_KEY = "mission-relay:tab";

/**
 * This tab's random id (made on first use, kept in sessionStorage): the key of its
 * saved leader session in IndexedDB. Only this tab, or a duplicate of it (which gets
 * a copy of sessionStorage), knows it; undefined where there is no tab storage.
 */
export function tabId(store: TabStorage | undefined): string | undefined {
  if (!store) return undefined;
  try {
    const kept = store.getItem(TAB_KEY);
    if (kept && /^[0-9a-f]{32}$/.test(kept)) return kept;
    const id = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
    store.setItem(TAB_KEY, id);
    return store.getItem(TAB_KEY) === id ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A new id for this tab (a resumed session is saved under it): a tab duplicated from this
 * one got a copy of the old id, and from now on each keeps its own record.
 */
export function renewTabId(store: TabStorage | undefined): string | undefined {
  try {
    store?.removeItem(TAB_KEY);
  } catch {
    return undefined;
  }
  return tabId(store);
}

/** The election key of a stream's writer (the gate asks whether a tab holds it). */
export const tabKey = (name: string) => `lead:${name}`;

/** True when another tab of this browser holds the writer lock of `name` (Web Locks; false where unknown). */
export async function editedInAnotherTab(name: string): Promise<boolean> {
  const locks = (navigator as { locks?: { query(): Promise<{ held?: { name?: string }[] }> } }).locks;
  if (!locks) return false;
  try {
    const q = await locks.query();
    return (q.held ?? []).some((l) => l.name === `mission-relay:${tabKey(name)}`);
  } catch {
    return false;
  }
}
