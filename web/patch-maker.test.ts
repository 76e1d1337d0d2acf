/**
 * The page's Worker-backed makeChange (patch-maker.ts) against a fake Worker and fake
 * timers: answers reach their callers by id, a silent Worker is given up after
 * ANSWER_MS, a Worker that fails fails every change at once (the relay then makes them
 * in the page), the Worker starts at the first change, and no Worker at all means none.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ANSWER_MS, workerMakeChange } from "./patch-maker.ts";

class FakeWorker {
  onmessage: ((e: MessageEvent) => void) | null = null;
  onerror: ((e: Event) => void) | null = null;
  asked: { id: number; base: string; json: string }[] = [];
  terminated = false;
  postMessage(m: { id: number; base: string; json: string }) {
    this.asked.push(m);
  }
  terminate() {
    this.terminated = true;
  }
  answer(data: unknown) {
    this.onmessage?.({ data } as MessageEvent);
  }
}

let fake: FakeWorker;
const make = () => workerMakeChange(() => fake as unknown as Worker);

beforeEach(() => {
  vi.useFakeTimers();
  vi.stubGlobal("Worker", FakeWorker);
  fake = new FakeWorker();
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe("workerMakeChange", () => {
  it("sends both JSON texts and gives each caller its own answer, whatever the order", async () => {
    const m = make();
    if (!m) throw new Error("no maker");
    const a = m("{}", '{"v":1}');
    const b = m('{"v":1}', '{"v":2}');
    expect(fake.asked.map((x) => [x.base, x.json])).toEqual([
      ["{}", '{"v":1}'],
      ['{"v":1}', '{"v":2}'],
    ]);
    const [first, second] = fake.asked;
    fake.answer({ id: second?.id, change: { kind: "p", text: "B" } });
    fake.answer({ id: first?.id, change: { kind: "s", text: "A" } });
    expect(await Promise.all([a, b])).toEqual([
      { kind: "s", text: "A" },
      { kind: "p", text: "B" },
    ]);
  });

  it("a change the worker could not make, or does not answer within ANSWER_MS, is refused (made in the page)", async () => {
    const m = make();
    if (!m) throw new Error("no maker");
    const failed = m("{}", "{}");
    fake.answer({ id: fake.asked[0]?.id, failed: true });
    await expect(failed).rejects.toThrow("could not make");
    const silent = m("{}", "{}");
    const outcome = silent.then(
      () => "answered",
      (e: Error) => e.message,
    );
    await vi.advanceTimersByTimeAsync(ANSWER_MS - 1);
    fake.answer({ id: 999, change: { kind: "s", text: "not for anyone" } });
    await vi.advanceTimersByTimeAsync(1);
    expect(await outcome).toBe("the patch worker did not answer");
  });

  it("a worker that fails refuses what waits and every later change at once, and is terminated", async () => {
    const m = make();
    if (!m) throw new Error("no maker");
    const waiting = m("{}", "{}");
    fake.onerror?.(new Event("error"));
    await expect(waiting).rejects.toThrow("failed");
    await expect(m("{}", "{}")).rejects.toThrow("failed");
    expect([fake.terminated, fake.asked.length]).toEqual([true, 1]);
  });

  it("made at the first change only; one that cannot be made fails the changes (made in the page)", async () => {
    let made = 0;
    const m = workerMakeChange(() => {
      made++;
      throw new Error("blocked by the page's policy");
    });
    if (!m) throw new Error("no maker");
    expect(made).toBe(0);
    await expect(m("{}", "{}")).rejects.toThrow("failed");
    await expect(m("{}", "{}")).rejects.toThrow("failed");
    expect(made).toBe(1);
  });

  it("no Worker here: no maker (the relay makes changes in the page)", () => {
    vi.stubGlobal("Worker", undefined);
    expect(make()).toBeUndefined();
  });
});
