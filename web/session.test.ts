import { describe, expect, it } from "vitest";
import {
  forgetFollower,
  memoryStorage,
  recallFollower,
  rememberFollower,
  renewTabId,
  type TabStorage,
  tabId,
} from "./session.ts";

describe("a follower's password remembered for the tab", () => {
  it("is kept per stream and forgotten on request", () => {
    const s = memoryStorage();
    expect(recallFollower(s, "Alpha")).toBeUndefined();
    rememberFollower(s, "Alpha", "pw-a");
    rememberFollower(s, "Bravo", "pw-b");
    expect(recallFollower(s, "Alpha")).toBe("pw-a");
    expect(recallFollower(s, "Bravo")).toBe("pw-b");
    forgetFollower(s, "Alpha");
    expect(recallFollower(s, "Alpha")).toBeUndefined();
    expect(s.size).toBe(1);
  });

  it("reads nothing from junk, a storage that throws, or none", () => {
    const s = memoryStorage();
    s.setItem("mission-relay:follow:Alpha", "{not json");
    expect(recallFollower(s, "Alpha")).toBeUndefined();
    s.setItem("mission-relay:follow:Alpha", JSON.stringify({ v: 2, password: "x" }));
    expect(recallFollower(s, "Alpha")).toBeUndefined();
    const refusing: TabStorage = {
      getItem: () => {
        throw new Error("SecurityError");
      },
      setItem: () => {
        throw new Error("QuotaExceededError");
      },
      removeItem: () => {
        throw new Error("SecurityError");
      },
    };
    expect(() => rememberFollower(refusing, "Alpha", "pw")).not.toThrow();
    expect(recallFollower(refusing, "Alpha")).toBeUndefined();
    expect(() => forgetFollower(refusing, "Alpha")).not.toThrow();
    expect(recallFollower(undefined, "Alpha")).toBeUndefined();
  });
});

describe("the tab's id (the key of its saved leader session)", () => {
  it("is made once and kept for the tab; another tab's storage gets another", () => {
    const s = memoryStorage();
    const id = tabId(s);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(tabId(s)).toBe(id);
    expect(tabId(memoryStorage())).not.toBe(id);
    // A duplicated tab has a copy of the id; renewing gives this one its own.
    const renewed = renewTabId(s);
    expect(renewed).toMatch(/^[0-9a-f]{32}$/);
    expect(renewed).not.toBe(id);
    expect(tabId(s)).toBe(renewed);
  });

  it("is none without storage, or where storage refuses it; junk is replaced", () => {
    expect(tabId(undefined)).toBeUndefined();
    const refusing: TabStorage = {
      getItem: () => null,
      setItem: () => {
        throw new Error("QuotaExceededError");
      },
      removeItem: () => {},
    };
    expect(tabId(refusing)).toBeUndefined();
    const s = memoryStorage();
    s.setItem("mission-relay:tab", "not-an-id");
    expect(tabId(s)).toMatch(/^[0-9a-f]{32}$/);
  });
});
