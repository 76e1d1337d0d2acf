/**
 * Random interleavings (fast-check) of publishes (patches and whole states),
 * deliveries out of order, lost, repeated and forged (unopenable) messages,
 * heartbeats, subscription drops and opens, sync replies answered late or
 * failing, and time passing, on the follower shell with fakes and fake timers.
 * Whatever happens: applied seqs only go up (never twice), every state shown
 * is the one the leader published at that seq (a catch-up may jump several
 * seqs at once, but never shows anything else), and once the network heals
 * the follower shows the last published state.
 */
import fc from "fast-check";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { NetworkError } from "../../src/core/errors.ts";
import { current, FakeStream, fakeSeal, msg, rig } from "./follower-fakes.ts";

const step = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant("publish" as const),
      whole: fc.boolean(),
      fetch: fc.integer({ min: 0, max: 7 }).map((n) => n === 0),
    }),
  },
  { weight: 5, arbitrary: fc.record({ t: fc.constant("deliver" as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("open" as const) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("answer" as const) }) },
  fc.record({ t: fc.constant("lose" as const), pick: fc.nat() }),
  fc.record({ t: fc.constant("repeat" as const), pick: fc.nat() }),
  fc.record({ t: fc.constant("forge" as const), ahead: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ t: fc.constant("hb" as const) }),
  fc.record({ t: fc.constant("drop" as const) }),
  fc.record({ t: fc.constant("fail-sync" as const) }),
  fc.record({ t: fc.constant("tick" as const), ms: fc.integer({ min: 1, max: 600 }) }),
);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

it("forward only, none twice, only states the leader published, and the last published state in the end", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(step, { minLength: 10, maxLength: 80, size: "max" }),
      fc.integer({ min: 1, max: 6 }),
      async (steps, history) => {
        const stream = new FakeStream();
        stream.history = history;
        const r = await rig({ stream });
        // Every state shown, and the one the leader published at that seq.
        const log: { seq: number; state: unknown; published: unknown }[] = [];
        r.f.on("state", (u) => log.push({ seq: u.seq, state: u.state, published: stream.states.get(u.seq) }));
        r.sync.manual = true;
        let flight: string[] = [];
        let sent: string[] = [];
        const deliver = (payload: string) => {
          const sub = current(r);
          if (sub?.opened) sub.send(payload);
        };
        for (const s of steps) {
          if (s.t === "publish") {
            const n = stream.seq + 1;
            flight.push(msg(stream.publish({ n, list: [n] }, { whole: s.whole, fetch: s.fetch })));
          } else if ((s.t === "deliver" || s.t === "lose") && flight.length > 0) {
            const [payload] = flight.splice(s.pick % flight.length, 1);
            if (s.t === "deliver" && payload) {
              deliver(payload);
              sent.push(payload);
            }
          } else if (s.t === "repeat" && sent.length > 0) deliver(sent[s.pick % sent.length] as string);
          else if (s.t === "hb") deliver(stream.hb());
          else if (s.t === "forge") {
            // Not made with the stream's key: it must never be shown (open() refuses it).
            const seq = stream.seq + s.ahead;
            deliver(
              JSON.stringify({ v: 2, t: "state", epoch: stream.epoch, seq, ts: 1, k: "s", c: fakeSeal("forged") }),
            );
          } else if (s.t === "drop") {
            current(r)?.drop();
            flight = []; // lost with the subscription
          } else if (s.t === "open") current(r)?.open();
          else if (s.t === "answer") r.sync.answer();
          else if (s.t === "fail-sync") r.sync.pending.shift()?.reject(new NetworkError("sync failed (fake)"));
          else if (s.t === "tick") await vi.advanceTimersByTimeAsync(s.ms);
          await vi.advanceTimersByTimeAsync(0);
          if (sent.length > 20) sent = sent.slice(-20);
        }
        // The network heals: syncs answer, subscriptions open, the leader's heartbeat comes.
        r.sync.manual = false;
        for (let i = 0; i < 30 && !(r.f.status === "live" && r.f.seq === stream.seq); i++) {
          while (r.sync.pending.length > 0) r.sync.answer();
          current(r)?.open();
          deliver(stream.hb());
          await vi.advanceTimersByTimeAsync(500);
        }
        expect(r.f.status).toBe("live");
        expect(r.f.seq).toBe(stream.seq);
        expect(r.f.state).toEqual(stream.state);
        // Each state shown is the one published at its seq; seqs only go up, none twice.
        for (const e of log) expect(e.state).toEqual(e.published);
        const seqs = log.map((e) => e.seq);
        expect(new Set(seqs).size).toBe(seqs.length);
        expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
        r.f.disconnect();
      },
    ),
    { numRuns: 150 },
  );
});
