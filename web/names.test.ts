import { describe, expect, it } from "vitest";
import { MAX_NAME_BYTES } from "../src/index.ts";
import { streamNameTooLong, utf8Length } from "./names.ts";

describe("stream names are counted in bytes", () => {
  it("refuses a 198-character accented name (396 bytes) that a character count lets through", () => {
    const name = "é".repeat(198);
    expect(name.length).toBeLessThanOrEqual(MAX_NAME_BYTES);
    expect(utf8Length(name)).toBe(396);
    expect(streamNameTooLong(name)).toMatch(/396 bytes, and a stream name holds at most 200\b.*by 196 bytes/);
  });

  it("takes a name of exactly the limit, counted as the form sends it (trimmed)", () => {
    expect(streamNameTooLong("a".repeat(MAX_NAME_BYTES))).toBeUndefined();
    expect(streamNameTooLong(`  ${"é".repeat(MAX_NAME_BYTES / 2)}  `)).toBeUndefined();
    expect(streamNameTooLong(`${"é".repeat(MAX_NAME_BYTES / 2)}a`)).toMatch(/201 bytes/);
    expect(streamNameTooLong("Op Heron 🛩️")).toBeUndefined();
  });
});
