import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  baseKey,
  commandBody,
  connectReply,
  encodeArg,
  envelope,
  nameProblem,
  patchBody,
  publishReply,
} from "../../src/core/wire.ts";

describe("encodeArg", () => {
  it("encodes exactly the characters Webdis treats specially", () => {
    expect(encodeArg("a/b.c%d+e?f#g")).toBe("a%2Fb%2Ec%25d%2Be%3Ff%23g");
    expect(encodeArg('{"x":1,"y":"é ✈"}')).toBe('{"x":1,"y":"é ✈"}');
  });

  it("round-trips any string through percent-decoding", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        const enc = encodeArg(s);
        expect(enc).not.toMatch(/[/.+?#]/);
        expect(decodeURIComponent(enc.replace(/%(?![0-9A-F]{2})/g, "%25"))).toBe(s);
      }),
    );
  });

  it("builds a command body with one slash between arguments", () => {
    expect(commandBody("FCALL", ["relay_list", "0", "a/b", "10"])).toBe("FCALL/relay_list/0/a%2Fb/10");
  });
});

describe("baseKey", () => {
  it("keeps the hash tag closed whatever the name", () => {
    fc.assert(
      fc.property(fc.string(), (name) => {
        const key = baseKey(name);
        const inner = key.slice("relay:{".length, -1);
        expect(key.startsWith("relay:{") && key.endsWith("}")).toBe(true);
        expect(inner).not.toMatch(/[{}]/);
      }),
    );
    expect(baseKey("a}b{c%")).toBe("relay:{a%7Db%7Bc%25}");
  });
});

describe("nameProblem", () => {
  it("accepts UTF-8 names with / . % and spaces", () => {
    for (const n of ["a/b", "v1.2", "100%", "Café ✈ 東京", "a b"]) expect(nameProblem(n)).toBeUndefined();
  });
  it("refuses empty, too long, control characters and lone surrogates", () => {
    expect(nameProblem("")).toMatch(/empty/);
    expect(nameProblem("é".repeat(101))).toMatch(/longer/);
    expect(nameProblem("a\u0000b")).toMatch(/control/);
    expect(nameProblem("a\ud800b")).toMatch(/UTF-16/);
  });
});

describe("v2 schemas", () => {
  const head = { v: 2, t: "state", epoch: "3", seq: 4, ts: 1 };

  it("a state envelope is sealed (k, base64url c) or a fetch notice; v1's plaintext states are refused", () => {
    for (const ok of [
      { ...head, k: "s", c: "AbC-_9" },
      { ...head, k: "p", c: "x".repeat(50) },
      { ...head, fetch: true },
      { v: 2, t: "hb", epoch: "3", seq: 4, ts: 1 },
      { v: 2, t: "ended", epoch: "3", seq: 4, ts: 1, reason: "stopped" },
    ])
      expect(envelope.safeParse(ok).success).toBe(true);
    for (const bad of [
      { ...head, v: 1, state: {} },
      { ...head, state: {} },
      { ...head, k: "x", c: "abc" },
      { ...head, k: "s", c: "" },
      { ...head, k: "s", c: "a+b/c=" },
      { ...head, k: "s" },
      { v: 1, t: "hb", epoch: "3", seq: 4, ts: 1 },
    ])
      expect(envelope.safeParse(bad).success).toBe(false);
  });

  it("a patch body needs 40-hex h and add/remove/replace ops with a path", () => {
    const h = "a".repeat(40);
    expect(patchBody.safeParse({ h, patch: [{ op: "replace", path: "/a", value: 1 }] }).success).toBe(true);
    for (const bad of [
      { h: "A".repeat(40), patch: [] },
      { h: "a".repeat(39), patch: [] },
      { h, patch: [{ op: "copy", path: "/a", from: "/b" }] },
      { h, patch: [{ op: "add", value: 1 }] },
      { h, patch: {} },
      { patch: [] },
    ])
      expect(patchBody.safeParse(bad).success).toBe(false);
  });

  it("connect replies carry sealed changes, never a state; a publish reply may carry the snapshot hint", () => {
    const base = { channel: "ab", epoch: "3", seq: 4, term: 1, updated: 1, pass: `9.${"0".repeat(40)}` };
    const env = { ...head, k: "s", c: "x".repeat(40) };
    expect(connectReply.safeParse({ ...base, mode: "full", changes: [env] }).success).toBe(true);
    expect(connectReply.safeParse({ ...base, mode: "full", changes: [] }).success).toBe(true);
    expect(connectReply.safeParse({ ...base, mode: "full", state: {} }).success).toBe(false);
    expect(connectReply.safeParse({ ...base, mode: "changes", changes: [{ ...head, state: {} }] }).success).toBe(false);
    const reply = { seq: 5, changed: true, duplicate: false };
    expect(publishReply.parse({ ...reply, snapshot: true }).snapshot).toBe(true);
    expect(publishReply.parse(reply).snapshot).toBeUndefined();
  });
});
