/**
 * A leader tab coming back (no DOM): a reload finds this tab's saved session
 * (web/store.ts, by the tab's id) and resumes it without the code; a tab that
 * resumed with the code finds the edits a closed tab could not send, and
 * `pendingChoice` says whether to send them at once or ask first.
 */
import type { HistorySnapshot } from "./history.ts";
import { type Plan, parsePlan } from "./plan.ts";
import type { Leader, Relay } from "./relay.ts";
import type { PendingRecord, Store } from "./store.ts";

/** What the leader view needs of a resumed session: the leader, its plan and undo history. */
export interface Resumed {
  leader: Leader;
  plan: Plan;
  history: HistorySnapshot<Plan>;
}

const planOf = (v: unknown): Plan | undefined => {
  const r = parsePlan(v);
  return r.ok ? r.plan : undefined;
};

/**
 * The history read back, each step checked (migrated if old); a step that is not a plan is
 * dropped, and a record whose current plan is not one has no history.
 */
export function historyOf(h: { past?: unknown; current?: unknown; future?: unknown } | undefined) {
  const current = planOf(h?.current);
  if (!current) return undefined;
  const steps = (v: unknown) => (Array.isArray(v) ? v.map(planOf).filter((p): p is Plan => p !== undefined) : []);
  return { past: steps(h?.past), current, future: steps(h?.future) } satisfies HistorySnapshot<Plan>;
}

/**
 * This tab's saved session for `name`, resumed (no request: relay.resume), or why not.
 * "none": nothing saved here for this stream; "unreadable": a record that is not one (dropped).
 */
export async function resumeSaved(
  relay: Pick<Relay, "resume">,
  store: Store | undefined,
  tab: string | undefined,
  name: string,
): Promise<Resumed | "none" | "unreadable"> {
  if (!store || !tab) return "none";
  const rec = await store.loadSession(tab).catch(() => undefined);
  if (!rec || rec.name !== name) return "none";
  // The key's name must be the session's own: a record saying "Ridge" around another stream's
  // leader would resume that stream under this one's page (unreadable, dropped). NFC as the
  // client keeps names, so a name typed in another form is still the same stream.
  const inner = (rec.leader as { name?: unknown } | undefined)?.name;
  if (typeof inner !== "string" || inner.normalize("NFC") !== name.normalize("NFC")) {
    await store.dropSession(tab).catch(() => {});
    return "unreadable";
  }
  const history = historyOf(rec.history);
  try {
    if (!history) throw new Error("no plan");
    return { leader: relay.resume(rec.leader), plan: history.current, history };
  } catch {
    await store.dropSession(tab).catch(() => {});
    return "unreadable";
  }
}

/** A tab's unsent edits, opened: the newest plan and the epoch/seq it was edited on. */
export interface Unsent {
  name: string;
  plan: unknown;
  epoch: string;
  seq: number;
  /** When they were kept (ms): "You have unsent edits from HH:MM". */
  at: number;
}

/**
 * What to do with edits a tab could not send, once this tab leads the stream:
 * - "drop": the stream already holds that plan (or it is not a plan);
 * - "send": the stream is still where the edits started (same epoch, no newer seq):
 *   only the newest state matters, so it goes whole as the next change;
 * - "ask": the stream moved on since (another leader published, or it was re-made on
 *   a new epoch): sending would overwrite that, so the person decides.
 */
export function pendingChoice(
  pending: Unsent,
  stream: { epoch: string; seq: number; state: unknown },
): "drop" | "send" | "ask" {
  const plan = planOf(pending.plan);
  if (!plan) return "drop";
  if (JSON.stringify(plan) === JSON.stringify(stream.state)) return "drop";
  if (pending.epoch === stream.epoch && stream.seq <= pending.seq) return "send";
  return "ask";
}

/**
 * This tab's unsent edits, or undefined when the server's state is this plan
 * (acknowledged: nothing waits). `saved` is `leader.save()`: its json is the last acknowledged state.
 */
export function unsentRecord(
  name: string,
  plan: Plan,
  saved: { json: string; epoch: string; seq: number },
  at: number,
): Unsent | undefined {
  return JSON.stringify(plan) === saved.json ? undefined : { name, plan, epoch: saved.epoch, seq: saved.seq, at };
}

/**
 * The unsent edits as they go to disk: the plan sealed with the stream's key, bound to the
 * epoch/seq it was edited on (SECURITY.md, "Edits not yet sent"). Once the tab's session
 * record is gone (Leave, a closed tab's after a day) only the password opens them.
 */
export async function sealUnsent(leader: Pick<Leader, "sealKept">, u: Unsent): Promise<PendingRecord> {
  const sealed = await leader.sealKept(JSON.stringify(u.plan), u);
  return { name: u.name, sealed, epoch: u.epoch, seq: u.seq, at: u.at };
}

/**
 * The kept edits opened with this leader's key, or undefined when they do not open: the
 * stream was started again with another password, the record was altered, or it is not one.
 */
export async function openUnsent(leader: Pick<Leader, "openKept">, p: PendingRecord): Promise<Unsent | undefined> {
  if (typeof p.sealed !== "string" || typeof p.epoch !== "string" || !Number.isInteger(p.seq)) return undefined;
  try {
    const plan = await leader.openKept(p.sealed, p);
    return { name: p.name, plan, epoch: p.epoch, seq: p.seq, at: p.at };
  } catch {
    return undefined;
  }
}

/** HH:MM of a pending record, in the page's locale. */
export function pendingTime(at: number): string {
  return new Date(at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}
