import { describe, expect, it } from "vitest";
import { ago, endedText, errorText } from "./messages.ts";

const err = (code: string, extra: object = {}) => Object.assign(new Error(`${code} internal detail`), { code }, extra);

describe("plain-word errors", () => {
  it("names each relay error code in words, with the stream name", () => {
    expect(errorText(err("BAD_PASSWORD"), "join", "Alpha")).toBe("Wrong password for “Alpha”.");
    expect(errorText(err("BAD_CODE"), "resume", "Alpha")).toBe("Wrong leader code for “Alpha”.");
    expect(errorText(err("NAME_TAKEN"), "start", "Alpha")).toMatch(/already exists/);
    expect(errorText(err("NOT_FOUND"), "join", "Alpha")).toMatch(/no live stream called “Alpha”/);
    expect(errorText(err("NOT_FOUND"), "publish", "Alpha")).toMatch(/has ended/);
    expect(errorText(err("NETWORK"), "list")).toMatch(/Cannot reach the relay server/);
    expect(errorText(err("RATE_LIMITED", { retryAfter: 30 }), "join")).toMatch(/Wait 30 seconds/);
    expect(errorText(err("TOO_LARGE"), "publish")).toMatch(/1 MiB/);
  });

  it("never shows a stack trace or an internal message for unknown errors", () => {
    const e = new TypeError("Cannot read properties of undefined (reading 'x')");
    expect(errorText(e, "join")).toBe("Something went wrong. Try again.");
    expect(errorText("weird", "join")).toBe("Something went wrong. Try again.");
  });

  it("explains why a stream ended", () => {
    expect(endedText("stopped")).toMatch(/leader ended/);
    expect(endedText("expired")).toMatch(/away too long/);
  });

  it("says how long ago in words", () => {
    const now = 1_000_000_000;
    expect(ago(now - 1000, now)).toBe("just now");
    expect(ago(now - 42_000, now)).toBe("42 s ago");
    expect(ago(now - 5 * 60_000, now)).toBe("5 min ago");
    expect(ago(now - 125 * 60_000, now)).toBe("2 h 5 min ago");
    expect(ago(now + 10_000, now)).toBe("just now");
  });
});
