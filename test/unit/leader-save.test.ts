/**
 * leader.save() and relay.resume(saved) without a server: the record is
 * structured-clonable (the CryptoKey included), comes back as the same session,
 * is checked field by field where it is read, and a resume makes no request.
 */
import { describe, expect, it } from "vitest";
import { RelayError } from "../../src/core/errors.ts";
import { Leader, type LeaderDeps, restoreSaved, type SavedLeader } from "../../src/core/leader.ts";
import { createRelay } from "../../src/core/relay.ts";
import { derivePasswordKeys } from "../../src/core/seal.ts";
import { anyKey, session } from "./leader-fakes.ts";

const verifiers = { code: "c".repeat(64), password: "p".repeat(64) };

function deps(o: Partial<LeaderDeps> = {}): LeaderDeps {
  return {
    heartbeatMs: 0,
    backoff: () => 1,
    publish: async () => ({ seq: 1, changed: true }),
    async heartbeat() {},
    async stop() {},
    verifiers,
    ...o,
  };
}

const sessionAt = () =>
  session({
    state: { title: "Ridge" },
    seq: 7,
    term: 3,
    epoch: "e1",
    origin: "e0",
    token: "t".repeat(48),
    pass: `1.${"a".repeat(40)}`,
  });

describe("leader.save", () => {
  it("is the session and the verifiers, and survives a structured clone with its CryptoKey", () => {
    const saved = new Leader(sessionAt(), deps()).save();
    const clone = structuredClone(saved);
    expect(clone.key).toBeInstanceOf(CryptoKey);
    expect(clone.key.extractable).toBe(false);
    const { session: s, verifiers: v } = restoreSaved(clone);
    expect(v).toEqual(verifiers);
    expect(s).toMatchObject({ name: saved.name, epoch: "e1", origin: "e0", term: 3, seq: 7, token: saved.token });
    expect(s.state).toEqual({ title: "Ridge" });
    expect(s.json).toBe(JSON.stringify({ title: "Ridge" }));
  });

  it("refuses a leader without verifiers, and one that was replaced", async () => {
    expect(() => new Leader(sessionAt(), deps({ verifiers: undefined })).save()).toThrow(RelayError);
    const { OpError } = await import("../../src/core/errors.ts");
    const leader = new Leader(
      sessionAt(),
      deps({
        heartbeat: async () => {
          throw new OpError("LEADER_REPLACED", "a newer term");
        },
      }),
    );
    expect(await leader.ping()).toBe("replaced");
    expect(() => leader.save()).toThrow(expect.objectContaining({ code: "LEADER_REPLACED" }));
  });
});

describe("restoreSaved", () => {
  const good = (): SavedLeader => new Leader(sessionAt(), deps()).save();

  it.each([
    ["a missing token", { token: undefined }, "token"],
    ["a term that is not a number", { term: "3" }, "term"],
    ["a pass of another form", { pass: "x" }, "pass"],
    ["a key that is not a CryptoKey", { key: { type: "secret" } }, "key"],
    ["another version", { v: 2 }, "v"],
  ])("refuses %s, naming the field", (_what, spoil, field) => {
    const s = { ...good(), ...spoil };
    expect(() => restoreSaved(s)).toThrow(expect.objectContaining({ code: "INVALID" }));
    expect(() => restoreSaved(s)).toThrow(new RegExp(`^saved leader: ${field} `));
  });

  it("refuses an HMAC key in the key's place", async () => {
    const hmac = await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    expect(() => restoreSaved({ ...good(), key: hmac })).toThrow(/key is not the stream's AES-GCM content key/);
  });

  it("a record without an acknowledged state resumes with none: the next publish goes whole", () => {
    const { session: s } = restoreSaved({ ...good(), json: "", snapshot: false });
    expect(s.state).toBeUndefined();
    expect(s.snapshot).toBe(true);
  });

  it("never puts the token or a verifier in its message", () => {
    const s = { ...good(), term: -1 };
    const msg = (() => {
      try {
        restoreSaved(s);
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(msg).toBeDefined();
    expect(msg).not.toContain(s.token);
    expect(msg).not.toContain(verifiers.code);
  });
});

describe("relay.resume", () => {
  it("rebuilds the leader without a request, and a resumed leader saves the same record", async () => {
    let requests = 0;
    const relay = createRelay({
      url: "http://127.0.0.1:9",
      heartbeatMs: 0,
      fetch: (async () => {
        requests++;
        throw new TypeError("offline");
      }) as typeof fetch,
    });
    const pw = await derivePasswordKeys("Ridge", "pw", 100_000);
    const saved = new Leader(session({ ...sessionAt(), name: "Ridge", key: pw.content }), deps()).save();
    const leader = relay.resume(structuredClone(saved));
    expect(requests).toBe(0);
    expect(leader.name).toBe("Ridge");
    expect(leader.status).toBe("live");
    expect([leader.seq, leader.term, leader.epoch]).toEqual([7, 3, "e1"]);
    expect(leader.state).toEqual({ title: "Ridge" });
    expect(leader.save()).toEqual(saved);
    leader.close();
  });

  it("refuses a record that is not one", () => {
    const relay = createRelay({ url: "http://127.0.0.1:9", heartbeatMs: 0 });
    expect(() => relay.resume({ v: 1 } as unknown as SavedLeader)).toThrow(
      expect.objectContaining({ code: "INVALID" }),
    );
    expect(anyKey).toBeInstanceOf(CryptoKey);
  });
});

describe("leader.retry", () => {
  it("sends what waits now instead of after the backoff", async () => {
    let calls = 0;
    const leader = new Leader(
      sessionAt(),
      deps({
        backoff: () => 60_000,
        publish: async () => {
          if (++calls === 1) throw new TypeError("offline");
          return { seq: 8, changed: true };
        },
      }),
    );
    const sent = leader.publish({ title: "offline edit" });
    await expect.poll(() => leader.status).toBe("offline");
    leader.retry();
    await expect(sent).resolves.toEqual({ seq: 8, changed: true });
    expect(calls).toBe(2);
    expect(leader.status).toBe("live");
  });
});
