/** Small helpers shared by integration tests. */
import { randomUUID } from "node:crypto";
import { connect } from "node:net";
import type { Follower, FollowerUpdate } from "../../src/index.ts";

/** A unique stream name per test, so tests share one stack without FLUSHALL. */
export function uniqueName(prefix = "t"): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Resolves with the first value `pick` returns (not undefined) from `follower`'s events, or rejects after ms. */
export function waitFor<T>(follower: Follower, pick: (u: FollowerUpdate) => T | undefined, ms = 5_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${ms} ms; follower at seq ${follower.seq}, status ${follower.status}`));
    }, ms);
    const off = follower.on("state", (u) => {
      const v = pick(u);
      if (v !== undefined) {
        clearTimeout(timer);
        off();
        resolve(v);
      }
    });
  });
}

export function waitForSeq(follower: Follower, seq: number, ms = 5_000): Promise<FollowerUpdate> {
  if (follower.seq >= seq)
    return Promise.resolve({
      seq: follower.seq,
      state: follower.state,
      ts: follower.updated,
      epoch: follower.epoch ?? "",
    });
  return waitFor(follower, (u) => (u.seq >= seq ? u : undefined), ms);
}

export function waitForStatus(follower: Follower, status: string, ms = 5_000): Promise<void> {
  if (follower.status === status) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`status ${status} not reached in ${ms} ms (now ${follower.status})`));
    }, ms);
    const off = follower.on("status", (e) => {
      if (e.status === status) {
        clearTimeout(timer);
        off();
        resolve();
      }
    });
  });
}

/** Records every state a follower applied, for order/duplicate assertions. */
export function record(follower: Follower): FollowerUpdate[] {
  const seen: FollowerUpdate[] = [];
  follower.on("state", (u) => seen.push(u));
  return seen;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `p`, or a clear failure after `ms` ("<what> took more than <ms> ms"); the timer never holds the process open. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
    t.unref();
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

/** True while process `pid` exists (EPERM: it exists, owned by someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * One raw HTTP request on its own socket to 127.0.0.1:`port` (fetch would
 * normalise the path); resolves with the whole reply when the server closes,
 * or with what came within `ms`.
 */
export function rawRequest(port: number, request: string, ms = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: "127.0.0.1", port });
    let got = "";
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(got);
    }, ms);
    sock.on("connect", () => sock.write(request));
    sock.on("data", (d) => {
      got += d.toString("latin1");
    });
    sock.on("end", () => {
      clearTimeout(timer);
      resolve(got);
    });
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
