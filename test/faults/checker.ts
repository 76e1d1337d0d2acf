/**
 * The fault campaign's checker: pure, over recorded histories, so a unit test
 * can feed it made-up ones (test/unit/fault-checker.test.ts).
 *
 * What the product promises a follower (src/core/follower.ts):
 * - while live it applies a state only when its seq is the next one, so seq
 *   goes up by exactly 1 each time: no duplicate, no regression, no gap (a gap
 *   is a state lost as the follower saw it);
 * - a sync's catch-up (catching up, connecting, offline, reset) applies the changes it got in order and
 *   shows the last one only, so there seq may jump forward, onto the state the
 *   leader published at that seq (a jump onto any other is a change lost);
 * - anything else, a jump or a step back (the stream went back after Redis
 *   lost writes it had not fsynced), comes as a full state behind an
 *   explicit `reset` status;
 * - every state it shows is one the leader published, newer than the ones
 *   before it (except across a reset);
 * - once the faults are over it reaches the leader's last state.
 */

export type HistoryEvent =
  /** A state the follower applied; `i` is the leader's counter inside the state (0: the initial state). */
  | { t: "state"; at: number; epoch: string; seq: number; i: number }
  | { t: "status"; at: number; status: string; reason: string };

export interface FollowerHistory {
  name: string;
  events: HistoryEvent[];
  /** The follower's status when recording began (before its first status event); "live" when unknown. */
  initialStatus?: string;
}

export interface LeaderHistory {
  /** Every state the server acknowledged (the leader's `published` events), in order. */
  published: { at: number; seq: number; i: number }[];
  /** Where the leader ended. */
  final: { epoch: string; seq: number; i: number };
}

export type Rule = "duplicate" | "regression" | "lost" | "unknown-state" | "older-state" | "not-converged";

export interface Violation {
  follower: string;
  rule: Rule;
  detail: string;
}

export interface Figures {
  /** Seqs skipped between resets, summed over followers: must be 0. */
  lost: number;
  duplicates: number;
  regressions: number;
  /** Explicit resets (status `reset`), by reason. */
  resets: Record<string, number>;
  /** Resets that went back to an older state (the server lost writes). */
  wentBack: number;
  /** Per follower: ms from the last heal until it showed the leader's last state (undefined: never). */
  convergeMs: (number | undefined)[];
  /** Per acknowledged state and follower: ms until the follower showed it or a newer one. */
  lagP99: number;
  lagMax: number;
}

export interface CheckResult {
  violations: Violation[];
  figures: Figures;
}

/**
 * Statuses in which a sync's catch-up lands and may show only the last state it
 * got (offline too: a sync already under way when the link dropped still
 * applies its reply). `reset` too: the follower stays there until its sync
 * finishes, and a round after the full state (asked for during it, the table's
 * `sync-again`, or a re-subscription's) catches up from that state. After a
 * reset only the state it lands on may go anywhere; a jump after it must land
 * on the state the leader published at that seq, like any catch-up.
 */
const CATCHING_UP = new Set(["catching-up", "connecting", "offline", "reset"]);

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
}

/**
 * Checks every follower against the rules above. `lastHeal` is when the last
 * fault was lifted; a follower must show the leader's final state within
 * `boundMs` of it.
 */
export function check(
  leader: LeaderHistory,
  followers: FollowerHistory[],
  lastHeal: number,
  boundMs: number,
): CheckResult {
  const violations: Violation[] = [];
  const known = new Set<number>([0, ...leader.published.map((p) => p.i)]);
  const acked = new Set<string>(leader.published.map((p) => `${p.seq}:${p.i}`));
  const figures: Figures = {
    lost: 0,
    duplicates: 0,
    regressions: 0,
    resets: {},
    wentBack: 0,
    convergeMs: [],
    lagP99: 0,
    lagMax: 0,
  };
  const lags: number[] = [];

  for (const f of followers) {
    const bad = (rule: Rule, detail: string) => violations.push({ follower: f.name, rule, detail });
    let prev: Extract<HistoryEvent, { t: "state" }> | undefined;
    let maxI = -1;
    /** A `reset` status was seen and its state not yet: only that one state may jump or step back. */
    let resetPending = false;
    /** The follower's status: in CATCHING_UP a sync's catch-up may show only the last state of its run. */
    let status = f.initialStatus ?? "live";
    const shown: { at: number; i: number }[] = [];
    for (const e of f.events) {
      if (e.t === "status") {
        status = e.status;
        if (e.status === "reset") {
          resetPending = true;
          figures.resets[e.reason] = (figures.resets[e.reason] ?? 0) + 1;
        }
        continue;
      }
      if (!known.has(e.i)) bad("unknown-state", `seq ${e.seq} holds state ${e.i}, which the leader never published`);
      const excused = resetPending;
      if (prev && !excused && prev.epoch === e.epoch) {
        if (e.seq === prev.seq) {
          figures.duplicates++;
          bad("duplicate", `seq ${e.seq} applied twice (states ${prev.i}, ${e.i})`);
        } else if (e.seq < prev.seq) {
          figures.regressions++;
          bad("regression", `seq went from ${prev.seq} back to ${e.seq} without a reset`);
        } else if (e.seq > prev.seq + 1 && (!CATCHING_UP.has(status) || !acked.has(`${e.seq}:${e.i}`))) {
          figures.lost += e.seq - prev.seq - 1;
          bad(
            "lost",
            !CATCHING_UP.has(status)
              ? `seq jumped from ${prev.seq} to ${e.seq} while ${status}, without a reset`
              : `a catch-up from seq ${prev.seq} landed on state ${e.i} at seq ${e.seq}, which the leader never published there`,
          );
        }
      }
      if (e.i < maxI) {
        if (excused) figures.wentBack++;
        else bad("older-state", `state ${e.i} shown after state ${maxI} without a reset`);
      }
      resetPending = false;
      maxI = excused ? e.i : Math.max(maxI, e.i);
      prev = e;
      shown.push({ at: e.at, i: e.i });
    }

    const last = prev;
    const done =
      last && last.epoch === leader.final.epoch && last.seq === leader.final.seq && last.i === leader.final.i;
    if (!done) {
      figures.convergeMs.push(undefined);
      bad(
        "not-converged",
        `ended at seq ${last?.seq ?? "-"} (state ${last?.i ?? "-"}), leader at seq ${leader.final.seq} (state ${leader.final.i})`,
      );
    } else {
      // When it first showed the final state, and stayed there.
      let from = shown.length - 1;
      while (from > 0 && (shown[from - 1] as { i: number }).i === leader.final.i) from--;
      const ms = Math.max(0, (shown[from] as { at: number }).at - lastHeal);
      figures.convergeMs.push(ms);
      if (ms > boundMs) bad("not-converged", `took ${ms} ms after the last heal (bound ${boundMs} ms)`);
    }

    // Lag: for each acknowledged state, the first time this follower showed it or a newer one.
    for (const p of leader.published) {
      // A follower may show a state a moment before the leader's reply comes back.
      const first = shown.find((s) => s.i >= p.i && s.at >= p.at - 1_000);
      if (first) lags.push(Math.max(0, first.at - p.at));
    }
  }
  figures.lagP99 = percentile(lags, 99);
  figures.lagMax = lags.length ? Math.max(...lags) : 0;
  return { violations, figures };
}

// ---------------------------------------------------------------------------
// Recording (not pure: attaches to a live follower), in the format above.

interface Observable {
  readonly status: string;
  readonly seq: number;
  readonly epoch: string | undefined;
  readonly state: unknown;
  on(ev: "state", fn: (u: { seq: number; epoch: string; state: unknown }) => void): unknown;
  on(ev: "status", fn: (s: { status: string; reason: string }) => void): unknown;
}

/** The leader's counter inside a campaign state ({ i, ... }); 0 for the initial empty state. */
export const counterOf = (state: unknown): number => {
  const i = (state as { i?: unknown } | null)?.i;
  return typeof i === "number" ? i : 0;
};

/** One timeline of what `f` applied and every status change, starting with what it holds now. */
export function recordHistory(name: string, f: Observable): FollowerHistory {
  const events: HistoryEvent[] = [
    { t: "state", at: Date.now(), epoch: f.epoch ?? "", seq: f.seq, i: counterOf(f.state) },
  ];
  f.on("state", (u) => events.push({ t: "state", at: Date.now(), epoch: u.epoch, seq: u.seq, i: counterOf(u.state) }));
  f.on("status", (s) => events.push({ t: "status", at: Date.now(), status: s.status, reason: s.reason }));
  return { name, events, initialStatus: f.status };
}
