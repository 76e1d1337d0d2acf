/**
 * Several doors: the endpoint picker (which door and transport a follower's
 * next subscription uses, src/core/follower/transport.ts) and the command
 * doors a commander rotates through on network errors (src/core/http.ts).
 */
import { describe, expect, it } from "vitest";
import { EndpointPicker } from "../../src/core/follower/transport.ts";
import { httpCommander } from "../../src/core/http.ts";

describe("endpoint picker over two doors (WebSocket, HTTP stream on each)", () => {
  it("a working door that drops: the next door, with the transport that worked", () => {
    const p = new EndpointPicker(2, 2);
    p.opened();
    expect(p.dropped(true)).toBe(true);
    expect([p.door, p.current]).toEqual([1, 0]);
    p.opened();
    expect(p.dropped(true)).toBe(true);
    expect([p.door, p.current]).toEqual([0, 0]); // and round again
  });

  it("a door that never opens: its other transport first, then the next door", () => {
    const p = new EndpointPicker(2, 2);
    expect(p.dropped(false)).toBe(false);
    expect([p.door, p.current]).toEqual([0, 1]);
    expect(p.failed()).toBe(true);
    expect([p.door, p.current]).toEqual([1, 0]);
    p.dropped(false); // no WebSocket on this deployment
    p.opened();
    expect([p.door, p.current]).toEqual([1, 1]);
    // The HTTP stream worked before: its failing to open means the door is down.
    expect(p.dropped(true)).toBe(true);
    expect([p.door, p.current]).toEqual([0, 1]);
    expect(p.failed()).toBe(true);
    expect([p.door, p.current]).toEqual([1, 1]);
  });

  it("nextDoor (a silent door) moves on; with one door nothing moves", () => {
    const p = new EndpointPicker(3, 1);
    expect(p.nextDoor()).toBe(true);
    expect(p.nextDoor()).toBe(true);
    expect(p.nextDoor()).toBe(true);
    expect(p.door).toBe(0);
    const one = new EndpointPicker(1, 2);
    one.opened();
    expect(one.dropped(true)).toBe(false);
    expect(one.nextDoor()).toBe(false);
    expect(one.door).toBe(0);
  });
});

describe("command doors", () => {
  /** A fetch where the listed doors refuse connections; the others answer PING. */
  function doorsFetch(down: Set<string>, asked: string[]) {
    return (async (input: RequestInfo | URL) => {
      const url = String(input);
      asked.push(url);
      if (down.has(url)) throw new TypeError("fetch failed");
      return new Response(JSON.stringify({ PING: [true, "PONG"] }), { status: 200 });
    }) as typeof fetch;
  }

  it("a network error moves to the next door: for the retry, and for the calls after it", async () => {
    const asked: string[] = [];
    const down = new Set(["http://a:1/"]);
    const http = httpCommander({
      url: "http://a:1",
      urls: ["http://a:1", "http://a:2"],
      fetch: doorsFetch(down, asked),
      backoff: () => 1,
    });
    expect(await http.call("PING", [], { retries: 1 })).toEqual([true, "PONG"]);
    expect(asked).toEqual(["http://a:1/", "http://a:2/"]);
    await http.call("PING", []);
    expect(asked.at(-1)).toBe("http://a:2/");
    // Without a retry the call fails, and the next one goes to the other door.
    down.add("http://a:2/");
    down.delete("http://a:1/");
    await expect(http.call("PING", [])).rejects.toMatchObject({ code: "NETWORK" });
    expect(await http.call("PING", [])).toEqual([true, "PONG"]);
    expect(asked.slice(-2)).toEqual(["http://a:2/", "http://a:1/"]);
  });

  it("calls that fail together on one door move the commander once", async () => {
    const asked: string[] = [];
    const http = httpCommander({
      url: "http://a:1",
      urls: ["http://a:1", "http://a:2", "http://a:3"],
      fetch: doorsFetch(new Set(["http://a:1/"]), asked),
      backoff: () => 1,
    });
    await Promise.all([1, 2, 3].map(() => http.call("PING", [], { retries: 1 })));
    expect(asked.filter((u) => u === "http://a:3/")).toEqual([]);
  });
});
