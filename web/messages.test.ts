import { describe, expect, it } from "vitest";
import { REASON_CODES } from "../src/core/follower.ts";
import { ago, endedText, errorText, followerStatusText, statusTexts } from "./messages.ts";

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

  it("says why a follower resets or catches up, by reason code, not one sentence for all", () => {
    const resets = ["epoch-changed", "went-back", "history-too-short", "delta-mismatch"] as const;
    const texts = resets.map((c) => followerStatusText("reset", c));
    expect(new Set(texts).size).toBe(resets.length);
    expect(followerStatusText("reset", "epoch-changed")).toMatch(/stream restarted/);
    expect(followerStatusText("reset", "history-too-short")).toMatch(/more changes than the relay keeps/);
    expect(followerStatusText("catching-up", "sealed-refused")).toMatch(/does not open .* not shown/);
    expect(followerStatusText("catching-up", "gap")).toMatch(/went missing/);
    expect(followerStatusText("catching-up", "silence")).toMatch(/No word from the relay/);
    // The browser test reads these two while the relay is down.
    expect(followerStatusText("offline", "dropped")).toMatch(/^Lost the connection/);
    expect(followerStatusText("connecting", "retry")).toMatch(/^Connecting/);
    for (const code of REASON_CODES) {
      for (const st of ["connecting", "live", "catching-up", "reset", "offline", "ended"] as const) {
        expect(followerStatusText(st, code)).toMatch(/\S/);
      }
    }
    expect(followerStatusText("live")).toBe("You see every change as the leader makes it.");
  });

  it("gives every reason code its own words within a status (no one text for all)", () => {
    for (const st of ["connecting", "catching-up", "reset", "offline"] as const) {
      const { "": _default, ...byCode } = statusTexts(st);
      const texts = Object.values(byCode);
      expect(new Set(texts).size, st).toBe(texts.length);
    }
    // The three ways a delta can fail are told apart, catching up and resetting alike.
    for (const st of ["catching-up", "reset"] as const) {
      const d = (["delta-out-of-order", "delta-failed", "delta-mismatch"] as const).map((c) =>
        followerStatusText(st, c),
      );
      expect(new Set(d).size).toBe(3);
    }
    expect(followerStatusText("offline", "sync-failed")).not.toBe(followerStatusText("offline", "dropped"));
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
