import { describe, expect, it } from "vitest";
import { errorFromRedis, GatewayError, OpError, staleSeq } from "../../src/core/errors.ts";
import { httpCommander } from "../../src/core/http.ts";
import { isTransient, surelyNotSent } from "../../src/core/leader/failure.ts";

describe("errorFromRedis", () => {
  it("maps a relay code to an OpError and drops Redis's location suffix", () => {
    const e = errorFromRedis("NAME_TAKEN a stream with this name is live script: relay_start, on @user_function:30.");
    expect(e).toBeInstanceOf(OpError);
    expect(e.code).toBe("NAME_TAKEN");
    expect(e.message).toBe("a stream with this name is live");
  });
  it("reads retry-after from RATE_LIMITED", () => {
    const e = errorFromRedis("RATE_LIMITED too many failed attempts; retry in 42 s script: x") as OpError;
    expect(e.retryAfter).toBe(42);
  });
  it("v2's NEED_STATE is an OpError; STALE's message names the stream's seq", () => {
    const need = errorFromRedis("NEED_STATE the log since the last whole state is full; send a whole state script: x");
    expect([need instanceof OpError, need.code]).toEqual([true, "NEED_STATE"]);
    const stale = errorFromRedis("STALE the change builds on seq 4 but the stream is at seq 9 script: relay_publish");
    expect(staleSeq(stale)).toBe(9);
    expect(staleSeq(need)).toBeUndefined();
  });
  it("SEALED is the client's own verdict: a server error text naming it is no SEALED", () => {
    const e = errorFromRedis("SEALED change 3 does not open script: x");
    expect([e instanceof GatewayError, e.code]).toEqual([true, "GATEWAY"]);
  });
  it("a node that cannot take a write now (a failover under way) is a retryable 503: nothing ran", () => {
    for (const text of [
      "NOREPLICAS Not enough good replicas to write.",
      "READONLY You can't write against a read only replica.",
      "LOADING Redis is loading the dataset in memory",
    ]) {
      const e = errorFromRedis(text);
      expect([e instanceof GatewayError, e.code, (e as GatewayError).status], text).toEqual([true, "GATEWAY", 503]);
      expect(isTransient(e), text).toBe(true);
      expect(surelyNotSent(e), text).toBe(true);
    }
    expect((errorFromRedis("ERR Function not found") as GatewayError).status).toBeUndefined();
  });
  it("anything else is a GatewayError", () => {
    const e = errorFromRedis("ERR Function not found");
    expect(e).toBeInstanceOf(GatewayError);
    expect(e.code).toBe("GATEWAY");
  });
});

describe("HTTP statuses from the door", () => {
  const answering = (status: number, headers: Record<string, string> = {}) =>
    httpCommander({
      url: "http://door.invalid",
      fetch: async () => new Response('{"error":"x"}', { status, headers }),
    });

  it("the edge's 429 is RATE_LIMITED with its Retry-After, like the per-stream limit", async () => {
    const e = await answering(429, { "retry-after": "60" })
      .call("FCALL", ["relay_connect"])
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OpError);
    expect((e as OpError).code).toBe("RATE_LIMITED");
    expect((e as OpError).retryAfter).toBe(60);
    const bare = (await answering(429)
      .call("FCALL", ["relay_connect"])
      .catch((x: unknown) => x)) as OpError;
    expect(bare.code).toBe("RATE_LIMITED");
    expect(bare.retryAfter).toBeUndefined();
  });

  it("a 403 stays a GatewayError", async () => {
    const e = await answering(403)
      .call("FCALL", ["relay_connect"])
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(GatewayError);
  });
});
