/**
 * The leader's workspace without the DOM: it owns the plan, the undo/redo
 * history, the throttled publisher and the leader's status, and tells its
 * views when any of that changes. Views only render `state` and call the
 * actions below (as the map does with its handlers), so every rule about what
 * is sent, and when, lives here and is tested without a browser.
 */
import { fromLocal, type LatLon } from "./geo.ts";
import { History, type HistorySnapshot } from "./history.ts";
import {
  addWaypoint,
  emptyPlan,
  type Item,
  LIMITS,
  type Plan,
  parsePlan,
  removeWaypoint,
  updateWaypoint,
  type Waypoint,
} from "./plan.ts";
import type { Leader, LeaderStatus } from "./relay.ts";
import { throttle } from "./throttle.ts";

/**
 * A drag (and a burst of typing) publishes at most this often (ms); the last
 * value always lands. 80 ms gives followers 12 updates a second, so the goal
 * of at least 10 holds with some jitter (at 100 ms, exactly 10 was the ceiling and
 * bench scenario 12 saw 8.7); each is a small patch (under 1 KB for a drag in
 * a 2,000-waypoint plan, same scenario).
 */
export const DRAG_PUBLISH_MS = 80;

/** The part of the client's Leader the workspace uses (a test passes a fake). */
export type LeaderLike = Pick<Leader, "status" | "seq" | "state" | "publish" | "stop" | "close" | "on">;

/** The session the page keeps across views: its `plan` is kept current so a return resumes it. */
export interface LeaderSessionLike {
  leader: LeaderLike;
  plan?: Plan;
  /** Undo/redo steps kept from before a reload (web/store.ts): `plan` is their current one. */
  history?: HistorySnapshot<Plan>;
}

export interface LeaderState {
  readonly plan: Plan;
  readonly selected: string | undefined;
  readonly canUndo: boolean;
  readonly canRedo: boolean;
  readonly status: LeaderStatus;
  /** Set once the stream is over for this tab (taken over, stopped): edits are refused. */
  readonly locked: boolean;
  /** Why it is locked, in words for the notice. */
  readonly lockMessage: string | undefined;
  /** Publishes still on their way, or a drag position waiting for the throttle. */
  readonly sending: boolean;
  readonly lastSent: { seq: number; at: number } | undefined;
  /** The last publish's error (cleared by the next success); the view words it. */
  readonly sendError: unknown;
}

/**
 * `group`: joins the last edit's undo step. `drag`: a drag move, sent through the throttle.
 * `coalesce`: the same for typing (a keystroke in a 2,000-waypoint plan need not publish
 * the plan on its own; the last one always lands within DRAG_PUBLISH_MS).
 */
export type EditOptions = { group?: string; drag?: boolean; coalesce?: boolean };

export class LeaderController {
  readonly #session: LeaderSessionLike;
  readonly #leader: LeaderLike;
  readonly #history: History<Plan>;
  readonly #publisher;
  readonly #listeners = new Set<(s: LeaderState) => void>();
  readonly #offs: (() => void)[];
  #inFlight = 0;
  #state: LeaderState;
  #disposed = false;

  constructor(session: LeaderSessionLike, name: string) {
    this.#session = session;
    const leader = session.leader;
    this.#leader = leader;
    const fromServer = parsePlan(leader.state);
    const plan = session.plan ?? (fromServer.ok ? fromServer.plan : emptyPlan(name));
    this.#history = session.history ? History.from({ ...session.history, current: plan }) : new History<Plan>(plan);
    this.#publisher = throttle((p: Plan) => this.#send(p), DRAG_PUBLISH_MS);
    this.#state = {
      plan,
      selected: undefined,
      canUndo: false,
      canRedo: false,
      status: leader.status,
      locked: false,
      lockMessage: undefined,
      sending: false,
      lastSent: fromServer.ok ? { seq: leader.seq, at: Date.now() } : undefined,
      sendError: undefined,
    };
    this.#offs = [
      leader.on("status", ({ status }) => {
        this.#set({ status: leader.status });
        if (status === "stopped") this.#lock("This stream has ended. Your changes are no longer sent.");
      }),
      leader.on("replaced", () => {
        this.#set({ status: leader.status });
        this.#lock("Another leader has taken over this stream, so your later changes were not sent.");
      }),
    ];
    // A plan the server lacks (new stream, unreadable state) or one kept from before is sent at once.
    if (!fromServer.ok || session.plan !== undefined) this.#setPlan(plan);
    const st = leader.status;
    if (st === "replaced" || st === "stopped" || st === "closed") this.#lock("This leader session has ended.");
  }

  get state(): LeaderState {
    return this.#state;
  }

  /** The newest undo/redo steps, to keep with a saved session (web/views/leader-keep.ts). */
  historySnapshot(): HistorySnapshot<Plan> {
    return this.#history.snapshot();
  }

  /** Calls `fn` after every change; returns its unsubscribe. */
  subscribe(fn: (s: LeaderState) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  // ---- edits ---------------------------------------------------------------------

  /** Records `next` as the plan; the same `group` as the last edit joins its undo step. */
  edit(next: Plan, opts: EditOptions = {}): void {
    if (this.#state.locked || next === this.#state.plan) return;
    this.#history.push(next, opts.group);
    this.#setPlan(next, opts.drag || opts.coalesce);
  }

  /** Adds a waypoint and selects it; "full" when the plan holds the most it may. */
  add(at: LatLon, type?: Waypoint["type"]): Waypoint | "full" | undefined {
    if (this.#state.locked) return undefined;
    const plan = this.#state.plan;
    if (plan.waypoints.length >= LIMITS.waypoints) return "full";
    // The map speaks lat/lon: the new item (made at the origin) is put where it was clicked.
    const [made, draft] = addWaypoint(plan, { x: 0, y: 0 }, type);
    const next = updateWaypoint(made, draft.id, { lat: at.lat, lon: at.lon });
    const wp = next.waypoints.at(-1) as Waypoint;
    this.#set({ selected: wp.id });
    this.edit(next);
    return wp;
  }

  /** One drag is one undo step; its moves go through the throttle, its end is sent at once. */
  drag(id: string, at: LatLon, phase: "start" | "move" | "end"): void {
    if (phase === "start") this.#history.seal();
    this.edit(updateWaypoint(this.#state.plan, id, { lat: at.lat, lon: at.lon }), {
      group: `drag:${id}`,
      drag: phase !== "end",
    });
    if (phase === "end") this.#history.seal();
  }

  /** Moves a waypoint by metres east and north (in the tangent plane at the waypoint itself). */
  nudge(id: string, dx: number, dy: number): void {
    const plan = this.#state.plan;
    const w = plan.waypoints.find((x) => x.id === id);
    if (w?.kind !== "nav") return;
    const at = fromLocal(w, { x: dx, y: dy });
    this.edit(updateWaypoint(plan, id, { lat: at.lat, lon: at.lon }), { group: `nudge:${id}` });
  }

  /** Returns the item it removed (for the notice), or undefined if there was none. */
  remove(id: string): Item | undefined {
    const plan = this.#state.plan;
    const w = plan.waypoints.find((x) => x.id === id);
    if (w) this.edit(removeWaypoint(plan, id));
    return w;
  }

  /** An imported plan replaces the current one as its own undo step. */
  importPlan(plan: Plan): void {
    this.#set({ selected: undefined });
    this.#history.seal();
    this.edit(plan);
  }

  select(id: string | undefined): void {
    this.#set({ selected: id });
  }

  /** True when there was a step to take back (and it was sent). */
  undo(): boolean {
    if (this.#state.locked) return false;
    const p = this.#history.undo();
    if (p) this.#setPlan(p);
    return p !== undefined;
  }

  redo(): boolean {
    if (this.#state.locked) return false;
    const p = this.#history.redo();
    if (p) this.#setPlan(p);
    return p !== undefined;
  }

  // ---- the stream ------------------------------------------------------------------

  /** Sends what is pending, then ends the stream for everyone; throws what the relay said. */
  async stop(): Promise<void> {
    this.#publisher.flush();
    await this.#leader.stop();
  }

  /** Sends what is pending and closes this leader; the stream stays live. */
  leave(): void {
    this.#publisher.flush();
    this.#leader.close();
  }

  /** The views are gone: send what is pending, stop listening. */
  dispose(): void {
    this.#disposed = true;
    this.#publisher.flush();
    for (const off of this.#offs) off();
    this.#listeners.clear();
  }

  // ---- inside ----------------------------------------------------------------------

  #setPlan(next: Plan, dragging = false): void {
    this.#session.plan = next;
    this.#publisher(next);
    if (!dragging) this.#publisher.flush();
    const selected = next.waypoints.some((w) => w.id === this.#state.selected) ? this.#state.selected : undefined;
    this.#set({ plan: next, selected, canUndo: this.#history.canUndo, canRedo: this.#history.canRedo });
  }

  #send(p: Plan): void {
    this.#inFlight++;
    this.#set({});
    this.#leader
      .publish(p)
      .then(
        (r) => this.#set({ lastSent: { seq: r.seq, at: Date.now() }, sendError: undefined }),
        (e: unknown) => this.#set({ sendError: e }),
      )
      .finally(() => {
        this.#inFlight--;
        this.#set({});
      });
  }

  #lock(message: string): void {
    this.#publisher.cancel();
    this.#set({ locked: true, lockMessage: message });
  }

  /** The one place state changes: a new snapshot (so views can compare), then every listener. */
  #set(patch: Partial<LeaderState>): void {
    if (this.#disposed) return;
    const sending = this.#inFlight > 0 || this.#publisher.pending;
    this.#state = { ...this.#state, ...patch, sending };
    for (const fn of [...this.#listeners]) fn(this.#state);
  }
}
