/**
 * A leader saved and resumed against the real stack (leader.save(),
 * relay.resume(saved): a reload of the page's tab): the resumed leader's
 * publish reaches a follower, patched on the state it saved, and a session
 * another leader took over meanwhile is fenced (LEADER_REPLACED) at its first
 * publish or ping, without writing anything.
 */
import { describe, expect, it } from "vitest";
import { creds, useStack } from "../faults/support.ts";
import { uniqueName, waitForSeq } from "../support/util.ts";
import { expectCode, relayOn } from "./support.ts";

const fixture = useStack();
const { track } = fixture;

describe("resume a saved leader", () => {
  it("resumed in a new relay (a reload), its publish reaches a follower", async () => {
    const name = uniqueName("resume");
    const first = track(await relayOn(fixture.stack).start(name, creds));
    await first.publish({ title: "before", n: 1 });
    // What the page keeps: the record through a structured clone, as IndexedDB stores it.
    const saved = structuredClone(first.save());
    // The old page is gone without a word: no close, no stop.

    const relay = relayOn(fixture.stack);
    const follower = track(await relay.connect(name, { password: creds.password }));
    expect(follower.state).toEqual({ title: "before", n: 1 });
    const resumed = track(relayOn(fixture.stack).resume(saved));
    expect([resumed.seq, resumed.term, resumed.epoch]).toEqual([first.seq, first.term, first.epoch]);
    expect(await resumed.ping()).toBe("live");
    const r = await resumed.publish({ title: "after", n: 2 });
    expect(r).toEqual({ seq: first.seq + 1, changed: true });
    const u = await waitForSeq(follower, r.seq);
    expect(u.state).toEqual({ title: "after", n: 2 });
    // A resumed leader can stop the stream (the code's verifier came back with it).
    await resumed.stop();
    expect(resumed.status).toBe("stopped");
  });

  it("a session taken over meanwhile is fenced: LEADER_REPLACED on publish, nothing written", async () => {
    const name = uniqueName("resume-fenced");
    const first = track(await relayOn(fixture.stack).start(name, creds));
    await first.publish({ title: "mine" });
    const saved = structuredClone(first.save());
    first.close();
    const other = track(await relayOn(fixture.stack).reconnect(name, creds));
    await other.publish({ title: "theirs" });

    const resumed = track(relayOn(fixture.stack).resume(saved));
    await expectCode(resumed.publish({ title: "stale tab" }), "LEADER_REPLACED");
    expect(resumed.status).toBe("replaced");
    const follower = track(await relayOn(fixture.stack).connect(name, { password: creds.password }));
    expect(follower.state).toEqual({ title: "theirs" });
    expect(follower.seq).toBe(other.seq);
  });

  it("ping finds the take-over at once (before any edit), and a stopped stream is gone", async () => {
    const name = uniqueName("resume-ping");
    const first = track(await relayOn(fixture.stack).start(name, creds));
    await first.publish({ title: "x" });
    const saved = structuredClone(first.save());
    const other = track(await relayOn(fixture.stack).reconnect(name, creds));
    const replaced = track(relayOn(fixture.stack).resume(saved));
    expect(await replaced.ping()).toBe("replaced");

    const savedOther = structuredClone(other.save());
    await other.stop();
    const gone = track(relayOn(fixture.stack).resume(savedOther));
    await gone.ping();
    await expect.poll(() => gone.status).toBe("stopped");
  });
});
