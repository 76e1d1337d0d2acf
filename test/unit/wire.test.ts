import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { baseKey, commandBody, encodeArg, nameProblem } from "../../src/core/wire.ts";

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
