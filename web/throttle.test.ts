import { describe, expect, it } from "vitest";
import { DRAG_PUBLISH_MS } from "./leader-controller.ts";
import { throttle } from "./throttle.ts";

function fakeClock() {
  let t = 0;
  let timers: { at: number; cb: () => void; id: number }[] = [];
  let next = 1;
  return {
    now: () => t,
    set: (cb: () => void, ms: number) => {
      const id = next++;
      timers.push({ at: t + ms, cb, id });
      return id;
    },
    clear: (h: unknown) => {
      timers = timers.filter((x) => x.id !== h);
    },
    advance(ms: number) {
      t += ms;
      for (const x of timers.filter((x) => x.at <= t)) {
        timers = timers.filter((y) => y !== x);
        x.cb();
      }
    },
  };
}

describe("throttle", () => {
  it("sends at most once per interval and always the newest value last", () => {
    const clock = fakeClock();
    const sent: number[] = [];
    const f = throttle((v: number) => sent.push(v), 250, clock);
    for (let i = 0; i < 100; i++) {
      f(i);
      clock.advance(10); // a drag: 100 moves over one second
    }
    clock.advance(300);
    expect(sent[0]).toBe(0);
    expect(sent.at(-1)).toBe(99);
    expect(sent.length).toBeLessThanOrEqual(6);
  });

  it("flush sends the pending value now, once", () => {
    const clock = fakeClock();
    const sent: number[] = [];
    const f = throttle((v: number) => sent.push(v), 250, clock);
    f(1);
    f(2);
    expect(f.pending).toBe(true);
    f.flush();
    clock.advance(1000);
    expect(sent).toEqual([1, 2]);
    f.flush();
    expect(sent).toEqual([1, 2]);
  });

  it("cancel drops the pending value", () => {
    const clock = fakeClock();
    const sent: number[] = [];
    const f = throttle((v: number) => sent.push(v), 250, clock);
    f(1);
    f(2);
    f.cancel();
    clock.advance(1000);
    expect(sent).toEqual([1]);
  });

  it("the drag interval gives a follower at least 10 updates in a 1 s drag, the last position included", () => {
    // Issue 16: at 250 ms a follower saw a drag at 4 updates a second.
    const clock = fakeClock();
    const sent: number[] = [];
    const f = throttle((v: number) => sent.push(v), DRAG_PUBLISH_MS, clock);
    for (let i = 0; i < 60; i++) {
      f(i);
      clock.advance(1000 / 60); // pointer moves at 60 Hz for one second
    }
    f.flush(); // the release
    expect(sent.length).toBeGreaterThanOrEqual(10);
    expect(sent.at(-1)).toBe(59);
  });
});
