import { describe, expect, it } from "vitest";
import { errorFromRedis, GatewayError, OpError } from "../../src/core/errors.ts";

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
  it("anything else is a GatewayError", () => {
    const e = errorFromRedis("ERR Function not found");
    expect(e).toBeInstanceOf(GatewayError);
    expect(e.code).toBe("GATEWAY");
  });
});
