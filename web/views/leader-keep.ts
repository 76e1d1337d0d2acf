/**
 * Keeps the leader's session in this browser while the view runs (web/store.ts,
 * SECURITY.md): this tab's saved session (token, term, key, verifiers, undo
 * history) for a reload without the code, and the newest plan not yet
 * acknowledged, by stream name, so edits made offline survive the tab. Both are
 * written 300 ms after the last change and on pagehide. It also settles a
 * session's first moments: a resumed one is checked at once (leader.ping) and
 * handed back to the gate if it was taken over or has ended, and a session that
 * resumed with the code is offered the edits a closed tab could not send.
 */

import { h } from "../dom.ts";
import type { LeaderController } from "../leader-controller.ts";
import { type Plan, parsePlan } from "../plan.ts";
import type { Leader } from "../relay.ts";
import { openUnsent, pendingChoice, pendingTime, sealUnsent, type Unsent, unsentRecord } from "../resume.ts";
import { tabId, tabStorage } from "../session.ts";
import { pageStore, type Store } from "../store.ts";
import { banner } from "./common.ts";

/** Writes wait this long after the last change (a burst of typing is one write). */
export const KEEP_DEBOUNCE_MS = 300;

export interface KeepOptions {
  c: LeaderController;
  leader: Leader;
  name: string;
  /** From this tab's saved session: not yet confirmed by the server. */
  resumed: boolean;
  /** Where the "unsent edits" question and the "resumed" note go. */
  notice: HTMLElement;
  notify(text: string): void;
  /** The saved session no longer counts (taken over, ended): back to the gate, saying why. */
  onStale(text: string): void;
}

export function keepLeader(o: KeepOptions): { forget(): void; dispose(): void } {
  const { c, leader, name } = o;
  const tab = tabId(tabStorage());
  const store = pageStore();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let alive = true;
  /** Left (or fenced): a write already on its way must not bring the record back. */
  let forgotten = false;
  let confirmed = !o.resumed;
  /** Pending edits from before are being decided on: this tab's writes must not replace them yet. */
  let held = !o.resumed;
  let lastPlan: Plan = c.state.plan;
  let editedAt = Date.now();
  /** The last write failed (a full disk, storage refused): said once, not every 300 ms. */
  let failedWrite = false;
  const sending = () => leader.status === "live" || leader.status === "offline";
  /**
   * Writes of the pending record, in the order they were decided: sealing comes first and
   * takes a moment, so a later "acknowledged, drop it" could otherwise land before an
   * earlier save and leave edits on disk that the server already has.
   */
  let pendingLine: Promise<void> = Promise.resolve();
  const keepUnsent = (s: Store, unsent: Unsent | undefined): Promise<void> => {
    const next = pendingLine.then(() =>
      unsent ? sealUnsent(leader, unsent).then((r) => s.savePending(r)) : s.dropPending(name),
    );
    pendingLine = next.catch(() => {});
    return next;
  };

  async function write() {
    clearTimeout(timer);
    timer = undefined;
    if (!alive) return;
    const s = await store;
    if (!s || forgotten || !sending()) return;
    let saved: ReturnType<Leader["save"]>;
    try {
      saved = leader.save();
    } catch {
      return;
    }
    const plan = c.state.plan;
    const jobs: Promise<void>[] = [];
    if (tab) jobs.push(s.saveSession({ tab, name, savedAt: Date.now(), leader: saved, history: c.historySnapshot() }));
    if (!held) {
      // Acknowledged when the server's state is this plan; until then the plan waits on disk.
      jobs.push(keepUnsent(s, unsentRecord(name, plan, saved, editedAt)));
    }
    await Promise.all(jobs).then(
      () => {
        failedWrite = false;
      },
      () => {
        // Said once per run of failures (no plan text): a reload or a closed tab may lose what is unsent.
        if (!failedWrite && alive) o.notify("This browser could not keep your session or unsent edits on disk.");
        failedWrite = true;
      },
    );
  }
  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void write(), KEEP_DEBOUNCE_MS);
  };

  const offState = c.subscribe((st) => {
    if (st.plan !== lastPlan) {
      lastPlan = st.plan;
      editedAt = Date.now();
    }
    later();
  });
  const offStatus = leader.on("status", ({ status }) => {
    if (status === "live") confirmed = true;
    if (status !== "replaced" && status !== "stopped") return;
    void store.then(async (s) => {
      if (tab) await s?.dropSession(tab).catch(() => {});
      // Stopped (here, elsewhere, or expired): nothing is left to send the edits to.
      if (status === "stopped") await s?.dropPending(name).catch(() => {});
    });
    if (status === "replaced") forgotten = true;
    if (!confirmed) {
      alive = false;
      forgotten = true;
      o.onStale(
        status === "replaced"
          ? `Another leader took over “${name}” since this tab last led it, so the session this tab kept no longer counts. Enter the password and leader code to lead again.`
          : `“${name}” has ended or expired since this tab last led it.`,
      );
    }
  });
  const onPageHide = () => void write();
  // Back online: send what waits now, not after the backoff.
  const onOnline = () => {
    leader.retry();
    void leader.ping();
  };
  window.addEventListener("pagehide", onPageHide);
  window.addEventListener("online", onOnline);

  if (o.resumed) {
    o.notify("Resumed your session.");
    o.notice.replaceChildren(banner("ok", "Resumed your session."));
    void leader.ping().then((st) => {
      if (st === "live") confirmed = true;
    });
    void write();
  } else {
    void offerPending();
  }

  /** Edits a tab kept for this stream and could not send (web/resume.ts says when to send them). */
  async function offerPending() {
    const s = await store;
    const kept = await s?.loadPending(name).catch(() => undefined);
    const p = kept && (await openUnsent(leader, kept));
    if (!alive) return;
    if (!kept) return release();
    if (!p) {
      // Kept under this name, but not with this stream's password (the stream was started
      // again with another one) or altered: nothing here can open it, so it goes.
      await s?.dropPending(name).catch(() => {});
      o.notify(
        "Edits kept in this browser from before could not be opened with this stream's password, so they were discarded.",
      );
      return release();
    }
    const choice = pendingChoice(p, { epoch: leader.epoch, seq: leader.seq, state: leader.state });
    if (choice === "drop") {
      await s?.dropPending(name).catch(() => {});
      return release();
    }
    if (choice === "send") {
      send(p);
      o.notice.replaceChildren(banner("ok", `Sent the edits you made at ${pendingTime(p.at)} that had not been sent.`));
      return;
    }
    ask(p);
  }
  function release() {
    held = false;
    later();
  }
  function send(p: Unsent) {
    // Only the newest state matters: it goes whole as the next change, one undo step.
    editedAt = p.at;
    const r = parsePlan(p.plan);
    if (r.ok) c.importPlan(r.plan);
    release();
  }
  function ask(p: Unsent) {
    const sendBtn = h("button", { type: "button", class: "btn small" }, "Send them");
    const discardBtn = h("button", { type: "button", class: "btn small ghost" }, "Discard");
    sendBtn.addEventListener("click", () => {
      o.notice.replaceChildren();
      send(p);
      o.notify("Sending your unsent edits.");
    });
    discardBtn.addEventListener("click", () => {
      o.notice.replaceChildren();
      void store
        .then((s) => s?.dropPending(name))
        .catch(() => {})
        .finally(release);
      o.notify("Discarded the unsent edits.");
    });
    o.notice.replaceChildren(
      banner(
        "warn",
        h("strong", {}, `You have unsent edits from ${pendingTime(p.at)}. `),
        "The stream has changed since then (another leader published). Send them to replace what followers see, or discard them. ",
        sendBtn,
        " ",
        discardBtn,
      ),
    );
  }

  return {
    /** Leaving: this tab's saved session goes (the pending edits stay until sent or discarded). */
    forget() {
      // Leaving within the debounce of an offline edit: the unsent plan is taken now (the
      // leader closes right after) and written before the session goes, or it would be lost.
      let unsent: Unsent | undefined;
      if (alive && !held && sending()) {
        try {
          unsent = unsentRecord(name, c.state.plan, leader.save(), editedAt);
        } catch {}
      }
      alive = false;
      forgotten = true;
      clearTimeout(timer);
      void store
        .then(async (s) => {
          if (unsent && s) await keepUnsent(s, unsent);
          if (tab) await s?.dropSession(tab);
        })
        .catch(() => o.notify("This browser could not keep your unsent edits on disk."));
    },
    dispose() {
      if (timer !== undefined) void write();
      alive = false;
      offState();
      offStatus();
      window.removeEventListener("pagehide", onPageHide);
      window.removeEventListener("online", onOnline);
    },
  };
}
