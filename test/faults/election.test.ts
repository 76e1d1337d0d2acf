/**
 * Two tabs of one leader: TabElection picks one writer (Web Locks, or a
 * BroadcastChannel lease without them), the other stands by and forwards its
 * edits; when the writer's tab closes, the other takes over with one
 * `reconnect`. No fight: the standby never fences out a live writer.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LockManagerLike, TabElection } from "../../src/core/election.ts";
import { createRelay, type Follower, type Leader } from "../../src/node.ts";
import { type Stack, startStack } from "../setup/stack.ts";
import { sleep, uniqueName, waitForStatus } from "../support/util.ts";
import { creds, expectClean, expectConverged, recordAll, until } from "./support.ts";

/** An in-memory Web Locks manager: exclusive locks, FIFO queue, abortable while queued. */
class FakeLocks implements LockManagerLike {
  readonly #queues = new Map<string, { run: () => void; abort: () => void }[]>();
  readonly #held = new Set<string>();

  request(name: string, options: { signal?: AbortSignal }, callback: (lock: unknown) => Promise<unknown>) {
    return new Promise<unknown>((resolve, reject) => {
      const q = this.#queues.get(name) ?? [];
      this.#queues.set(name, q);
      const entry = {
        run: () => {
          this.#held.add(name);
          callback({ name })
            .then(resolve, reject)
            .finally(() => {
              this.#held.delete(name);
              this.#pump(name);
            });
        },
        abort: () => reject(new DOMException("aborted", "AbortError")),
      };
      q.push(entry);
      options.signal?.addEventListener("abort", () => {
        const i = q.indexOf(entry);
        if (i >= 0) {
          q.splice(i, 1);
          entry.abort();
        }
      });
      queueMicrotask(() => this.#pump(name));
    });
  }

  #pump(name: string) {
    if (this.#held.has(name)) return;
    this.#queues.get(name)?.shift()?.run();
  }
}

let stack: Stack;
const cleanup: (() => void)[] = [];

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  for (const c of cleanup) c();
  await stack?.stop();
});

/** Exactly one writer, and still exactly one (the same) a few beats later. */
async function oneWriterSettles(tabs: TabElection[], mode: "locks" | "lease") {
  await until("exactly one writer", () => tabs.filter((t) => t.isWriter).length === 1, 3_000);
  const writer = tabs.find((t) => t.isWriter);
  await sleep(mode === "lease" ? 400 : 50);
  expect(tabs.filter((t) => t.isWriter)).toEqual([writer]);
}

describe("TabElection without a server", () => {
  for (const mode of ["locks", "lease"] as const) {
    it(`${mode}: exactly one writer; when it closes, the other is elected; everyone knows who writes`, async () => {
      const locks = new FakeLocks();
      const key = uniqueName("tabs");
      const make = () => new TabElection({ key, locks: mode === "locks" ? locks : null, heartbeatMs: 100 });
      const tabs = [make(), make(), make()];
      cleanup.push(() => {
        for (const t of tabs) t.close();
      });
      const elected: string[] = [];
      for (const t of tabs) t.on("elected", (e) => elected.push(e.id));
      for (const t of tabs) t.start();
      expect(tabs[0]?.mode).toBe(mode);
      await until("one writer", () => tabs.some((t) => t.isWriter));
      await oneWriterSettles(tabs, mode);
      // Locks never elect twice; a lease may briefly overlap on a loaded box, then settles.
      if (mode === "locks") expect(elected).toHaveLength(1);
      const writer = tabs.find((t) => t.isWriter) as TabElection;
      await until("all know the writer", () => tabs.every((t) => t.writerId === writer.id));

      // Messages from a standby reach the writer.
      const got: unknown[] = [];
      writer.on("message", (m) => got.push(m.data));
      tabs.find((t) => !t.isWriter)?.post({ edit: 1 });
      await until("message", () => got.length === 1);

      const before = elected.length;
      writer.close();
      await until("a new writer", () => tabs.some((t) => t !== writer && t.isWriter), 3_000);
      await oneWriterSettles(tabs, mode);
      if (mode === "locks") expect(elected).toHaveLength(2);
      else expect(elected.length).toBeGreaterThan(before);
    });
  }

  it("alone (no locks, no channel): the tab is the writer at once; resign and close are safe", () => {
    const t = new TabElection({ key: "x", locks: null, channel: null });
    const events: string[] = [];
    t.on("elected", () => events.push("elected"));
    t.on("demoted", (e) => events.push(`demoted:${e.reason}`));
    t.start();
    expect(t.mode).toBe("alone");
    expect(t.isWriter).toBe(true);
    t.close();
    expect(events).toEqual(["elected", "demoted:closed"]);
  });
});

describe("two tabs of one leader against the relay", () => {
  it("the writer tab publishes, the standby forwards edits; closing the writer hands over without a fight", async () => {
    const name = uniqueName("tabs");
    const relay = createRelay({ url: stack.webdisUrl, heartbeatMs: 0 });
    const starter = await relay.start(name, creds);
    starter.close();
    const follower: Follower = await relay.connect(name, creds);
    cleanup.push(() => follower.disconnect());
    const rec = recordAll(follower);
    await waitForStatus(follower, "live");

    const locks = new FakeLocks();
    interface Tab {
      election: TabElection;
      leader?: Leader;
      replaced: number;
      reconnects: number;
    }
    const tabs: Tab[] = [0, 1].map(() => ({
      election: new TabElection({ key: name, locks }),
      replaced: 0,
      reconnects: 0,
    }));
    for (const tab of tabs) {
      const e = tab.election;
      e.on("elected", async () => {
        tab.reconnects++;
        tab.leader = await createRelay({ url: stack.webdisUrl, heartbeatMs: 0 }).reconnect(name, creds);
        tab.leader.on("replaced", () => tab.replaced++);
      });
      e.on("demoted", () => {
        tab.leader?.close();
        tab.leader = undefined;
      });
      e.on("message", ({ data }) => {
        if (e.isWriter) void tab.leader?.publish(data);
      });
      cleanup.push(() => e.close());
      e.start();
    }
    await until("a writer with a leader", () => tabs.some((t) => t.leader));
    const [writer, standby] = (tabs[0]?.leader ? tabs : [...tabs].reverse()) as [Tab, Tab];
    await writer.leader?.publish({ from: "writer", n: 1 });
    standby.election.post({ from: "standby", n: 2 });
    await until("forwarded edit applied", () => follower.seq === 2);

    writer.election.close(); // the tab goes away
    await until("standby took over", () => standby.leader?.status === "live", 5_000);
    await standby.leader?.publish({ from: "standby", n: 3 });
    await expectConverged(standby.leader as Leader, [follower]);
    expect(follower.state).toEqual({ from: "standby", n: 3 });
    expect(tabs.map((t) => t.reconnects)).toEqual([1, 1]);
    expect(tabs.map((t) => t.replaced)).toEqual([0, 0]);
    expectClean(rec);
    expect(rec.updates.map((u) => u.seq)).toEqual([1, 2, 3]);
  });
});
