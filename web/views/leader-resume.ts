/**
 * A leader link opened with no session in memory (a reload, a new tab): this
 * tab's saved session for the stream (web/resume.ts) is resumed at once, with
 * no code; otherwise, or when it was refused, the gate asks for the password
 * and code, saying why when a kept session no longer counts.
 */
import { type AppContext, appBar } from "../app.ts";
import { h } from "../dom.ts";
import { resumeSaved } from "../resume.ts";
import { renewTabId, tabId, tabStorage } from "../session.ts";
import { pageStore } from "../store.ts";
import { gateView } from "./gate.ts";

/** Why the last resumed session was handed back (shown once by the next gate). */
let staleWhy: string | undefined;

/** The resumed session was taken over or has ended: the next gate for a leader says so. */
export function staleSession(why: string): void {
  staleWhy = why;
}

export function leaderGate(ctx: AppContext, root: HTMLElement, name: string, onReady: () => void): () => void {
  let alive = true;
  let inner: (() => void) | undefined;
  const gate = (why?: string) => {
    inner = gateView(ctx, root, "lead", name, onReady, why);
  };
  const why = staleWhy;
  staleWhy = undefined;
  if (why) {
    gate(why);
    return () => inner?.();
  }
  root.replaceChildren(
    appBar(ctx),
    h("main", { class: "gate-wrap", id: "main" }, h("p", { class: "card", role: "status" }, "Resuming your session…")),
  );
  void (async () => {
    const store = await pageStore();
    const r = await resumeSaved(ctx.relay, store, tabId(tabStorage()), name);
    if (!alive) {
      if (typeof r === "object") r.leader.close();
      return;
    }
    if (typeof r !== "object")
      return gate(
        r === "unreadable"
          ? "The session this tab kept could not be read, so it was dropped. Enter the password and leader code to lead again."
          : undefined,
      );
    // From now on this tab saves under an id of its own (a duplicate of it had a copy of the old one).
    const old = tabId(tabStorage());
    if (old && renewTabId(tabStorage()) !== old) void store?.dropSession(old).catch(() => {});
    ctx.session.leader = { name, leader: r.leader, plan: r.plan, history: r.history, resumed: true };
    onReady();
  })();
  return () => {
    alive = false;
    inner?.();
  };
}
