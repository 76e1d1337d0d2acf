/**
 * A `makeChange` for the relay (RelayOptions) that runs in a Worker (patch-worker.ts),
 * so a big plan's parse, diff and hash leave the thread that draws the map. A change
 * the Worker does not answer within ANSWER_MS, or a Worker that fails, is made in the
 * page instead (the relay does that on any rejection): a publish never waits on it
 * longer than that. The Worker starts at the first change (a follower never starts one);
 * undefined where there are no Workers (then all of it stays in the page).
 */
import type { ChangeText, MakeChange } from "./relay.ts";

export const ANSWER_MS = 3_000;

type Answer = { id: number; change?: ChangeText; failed?: true };

export function workerMakeChange(make: () => Worker = defaultWorker): MakeChange | undefined {
  if (typeof Worker === "undefined") return undefined;
  let next = 0;
  const waiting = new Map<number, { resolve(c: ChangeText): void; reject(e: Error): void }>();
  let worker: Worker | undefined;
  let broken = false;
  const fail = () => {
    // A worker that cannot be made, failed to load or threw: every later change is made in the page.
    broken = true;
    for (const w of waiting.values()) w.reject(new Error("the patch worker failed"));
    waiting.clear();
    worker?.terminate();
  };
  /** Made at the first change, so a follower's page never starts one. */
  const started = (): Worker | undefined => {
    if (worker || broken) return worker;
    try {
      worker = make();
    } catch {
      fail();
      return undefined;
    }
    worker.onmessage = (e: MessageEvent<Answer>) => {
      const w = waiting.get(e.data.id);
      if (!w) return;
      waiting.delete(e.data.id);
      if (e.data.change) w.resolve(e.data.change);
      else w.reject(new Error("the worker could not make this change"));
    };
    worker.onerror = fail;
    return worker;
  };
  return (base, json) =>
    new Promise<ChangeText>((resolve, reject) => {
      const w = started();
      if (!w || broken) return reject(new Error("the patch worker failed"));
      const id = ++next;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error("the patch worker did not answer"));
      }, ANSWER_MS);
      waiting.set(id, {
        resolve: (c) => {
          clearTimeout(timer);
          resolve(c);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      w.postMessage({ id, base, json });
    });
}

const defaultWorker = () => new Worker(new URL("./patch-worker.ts", import.meta.url), { type: "module" });
