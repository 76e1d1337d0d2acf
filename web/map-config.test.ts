import { describe, expect, it } from "vitest";
import { tileOrigin, tileUrlProblem } from "../src/server/tile-origin.ts";
import { parseMapConfig } from "./map-config.ts";

describe("relay-config.json map (tile server)", () => {
  it("is absent by default: the map stays offline", () => {
    expect(parseMapConfig(undefined)).toEqual({});
    expect(parseMapConfig(null)).toEqual({});
  });

  it("takes a tile URL template with its attribution and max zoom", () => {
    expect(
      parseMapConfig({ tileUrl: " https://tiles.example/{z}/{x}/{y}.png ", attribution: "© Example", maxZoom: 19 }),
    ).toEqual({ map: { tileUrl: "https://tiles.example/{z}/{x}/{y}.png", attribution: "© Example", maxZoom: 19 } });
    expect(parseMapConfig({ tileUrl: "http://127.0.0.1:8081/t/{z}/{x}/{y}.png" })).toEqual({
      map: { tileUrl: "http://127.0.0.1:8081/t/{z}/{x}/{y}.png" },
    });
  });

  it("ignores a bad one and says why, naming the field", () => {
    const cases: [unknown, RegExp][] = [
      [{ tileUrl: "https://tiles.example/{z}/{x}.png" }, /map\.tileUrl needs \{z\}, \{x\} and \{y\}/],
      [{ tileUrl: "https://{s}.tiles.example/{z}/{x}/{y}.png" }, /map\.tileUrl may not use \{s\}/],
      [{ tileUrl: "javascript:alert(1)//{z}/{x}/{y}" }, /map\.tileUrl is not an http\(s\) URL/],
      [{ tileUrl: "https://tiles.example/{z}/{x}/{y}.png", maxZoom: 30 }, /map\.maxZoom/],
      [{ tileUrl: "https://tiles.example/{z}/{x}/{y}.png", maxZoom: 1.5 }, /map\.maxZoom/],
      [{}, /map\.tileUrl/],
      ["https://tiles.example/{z}/{x}/{y}.png", /^The tile server in relay-config\.json is not used: map /],
    ];
    for (const [raw, want] of cases) {
      const r = parseMapConfig(raw);
      expect(r.map).toBeUndefined();
      expect(r.notice).toMatch(want);
    }
  });

  it("has one origin, the one the CSP opens", () => {
    expect(tileOrigin("https://tiles.example:8443/osm/{z}/{x}/{y}.png?key=1")).toBe("https://tiles.example:8443");
    expect(tileOrigin("ftp://tiles.example/{z}/{x}/{y}")).toBeUndefined();
    expect(tileOrigin("not a url")).toBeUndefined();
  });

  it("refuses a template whose host is not one plain name: placeholders, user info or odd characters before the path", () => {
    for (const url of [
      "https://{z}.tiles.example/{z}/{x}/{y}.png", // the CSP would open 0.tiles.example only
      "https://tiles{x}.example/{z}/{x}/{y}.png",
      "https://tiles.example:{z}/{z}/{x}/{y}.png",
      "https://user:pw@tiles.example/{z}/{x}/{y}.png",
      "https://tiles.example\\evil/{z}/{x}/{y}.png",
      "https://tiles_example/{z}/{x}/{y}.png",
      "https:tiles.example/{z}/{x}/{y}.png",
    ]) {
      expect(tileOrigin(url), url).toBeUndefined();
      expect(tileUrlProblem(url), url).toBeDefined();
    }
    expect(tileOrigin("http://127.0.0.1:8080/{z}/{x}/{y}.png")).toBe("http://127.0.0.1:8080");
    expect(tileOrigin("https://[::1]:8443/{z}/{x}/{y}.png")).toBe("https://[::1]:8443");
  });
});
