import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JsonObjectSplitter } from "../../src/core/subscribe.ts";

describe("JsonObjectSplitter", () => {
  const frames = [
    '{"SUBSCRIBE":["subscribe","c",1]}',
    '{"SUBSCRIBE":["message","c","{\\"a\\":\\"x}y{\\\\\\"\\"}"]}',
    '{"SUBSCRIBE":["message","c","[[[]]"]}',
    '{"SUBSCRIBE":["message","c","é ✈ \\\\"]}',
  ];
  const whole = frames.join("");

  it("splits back-to-back objects however the stream is cut", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: whole.length - 1 }), { maxLength: 12 }), (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), whole.length];
        const split = new JsonObjectSplitter();
        const out: string[] = [];
        for (let i = 1; i < points.length; i++) out.push(...split.push(whole.slice(points[i - 1], points[i])));
        expect(out).toEqual(frames);
        for (const f of out) expect(() => JSON.parse(f)).not.toThrow();
      }),
    );
  });
});
