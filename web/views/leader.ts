/**
 * The leader's workspace: the editable map, the ordered route, title and
 * notes, undo/redo, import/export, and the stream controls. What is sent and
 * when (every change; a drag at most every DRAG_PUBLISH_MS, its final position
 * always) lives in the controller (../leader-controller.ts); these views only
 * render its state and call its actions.
 */
import { type AppContext, appBar, type View } from "../app.ts";
import { h } from "../dom.ts";
import { LeaderController, type LeaderState } from "../leader-controller.ts";
import { type Background, PlanMap } from "../map.ts";
import { ago, errorText } from "../messages.ts";
import { LIMITS, TYPE_LABELS, WAYPOINT_TYPES, type WaypointType } from "../plan.ts";
import { type LeaderStatus, TabElection } from "../relay.ts";
import { tabKey } from "../session.ts";
import { throttle } from "../throttle.ts";
import { backgroundControls } from "./background.ts";
import { banner, keyHelp, legend } from "./common.ts";
import { keepLeader } from "./leader-keep.ts";
import { leaderGate, staleSession } from "./leader-resume.ts";
import { leaderSidebar } from "./leader-sidebar.ts";
import { stopDialog } from "./leader-stop.ts";
import { measureButton } from "./measure-tool.ts";

/** How often the sidebar follows a drag (the map follows every move; the end is shown at once). */
const SIDEBAR_DRAG_MS = 150;

const STATUS_WORDS: Record<LeaderStatus, string> = {
  live: "Live",
  offline: "Offline, retrying",
  replaced: "Taken over",
  stopped: "Ended",
  closed: "Left",
};

export const leaderView: View = (ctx, root, route) => {
  if (route.view !== "lead") return undefined;
  const session = ctx.session.leader;
  if (!session || session.name !== route.name) {
    return leaderGate(ctx, root, route.name, () => ctx.go(route));
  }
  const { name } = session;
  document.title = `${name} · Leader · Mission Relay`;
  const c = new LeaderController(session, name);
  /** A waypoint is being dragged on the map (its phases come through onDrag). */
  let dragging = false;

  // ---- map ---------------------------------------------------------------------
  const newType = h(
    "select",
    { id: "new-type" },
    h("option", { value: "auto" }, "Automatic"),
    WAYPOINT_TYPES.map((t) => h("option", { value: t }, TYPE_LABELS[t])),
  );
  const map = new PlanMap(true, {
    onAdd(at) {
      const wp = c.add(at, newType.value === "auto" ? undefined : (newType.value as WaypointType));
      if (wp === "full") ctx.notify(`A plan holds at most ${LIMITS.waypoints} waypoints.`);
      else if (wp) ctx.notify(`Added ${wp.name}.`);
    },
    onSelect: (id) => c.select(id),
    onDrag: (id, at, phase) => {
      // The sidebar catches up when the drag ends: what waited goes now (a locked controller
      // renders nothing more), then the end's own render; never an older plan after it.
      dragging = phase !== "end";
      if (!dragging) sidebarLater.flush();
      c.drag(id, at, phase);
    },
    onNudge: (id, dx, dy) => c.nudge(id, dx, dy),
    onDelete: (id) => remove(id),
  });
  map.setTiles(ctx.config.map, ctx.config.mapNotice);

  function remove(id: string) {
    const w = c.remove(id);
    if (!w) return;
    ctx.notify(`Deleted ${w.name}. Undo brings it back.`);
    map.element.focus();
  }
  function undo() {
    if (c.undo()) ctx.notify("Undone.");
  }
  function redo() {
    if (c.redo()) ctx.notify("Redone.");
  }

  // ---- top bar -----------------------------------------------------------------
  const statusPill = h("span", { class: "pill", role: "status", "data-testid": "leader-status" });
  const sendState = h("span", { class: "send-state", "data-testid": "send-state" });
  const stop = stopDialog(ctx, c, name);
  const leaveBtn = h(
    "button",
    {
      type: "button",
      class: "btn small ghost",
      title: "Leave the editor; the stream stays live and you can resume with the leader code",
      onclick: () => {
        keep.forget();
        c.leave();
        ctx.session.leader = undefined;
        ctx.notify(`You left “${name}”. It stays live; resume with the leader code.`);
        ctx.go({ view: "home" });
      },
    },
    "Leave",
  );
  const shareBtn = h(
    "button",
    { type: "button", class: "btn small ghost", onclick: () => copyFollowerLink(ctx, name) },
    "Copy follower link",
  );

  function renderSendState(s: LeaderState) {
    if (s.locked) sendState.textContent = "Changes no longer sent";
    else if (s.sendError !== undefined) sendState.textContent = errorText(s.sendError, "publish", name);
    else if (s.sending) sendState.textContent = "Sending…";
    else if (s.lastSent) sendState.textContent = `All changes sent · #${s.lastSent.seq} · ${ago(s.lastSent.at)}`;
    else sendState.textContent = "Not sent yet";
    sendState.classList.toggle("err", s.locked || s.sendError !== undefined);
  }

  // ---- toolbar -----------------------------------------------------------------
  const tool = (label: string, attrs: Record<string, string>, onclick: () => void) =>
    h("button", { type: "button", class: "btn tool", onclick, ...attrs }, label);
  const undoBtn = tool("Undo", { "aria-keyshortcuts": "Control+Z" }, undo);
  const redoBtn = tool("Redo", { "aria-keyshortcuts": "Control+Shift+Z" }, redo);
  const toolbar = h(
    "div",
    { class: "toolbar", role: "toolbar", "aria-label": "Map tools" },
    h("div", { class: "tool-group" }, h("label", { for: "new-type" }, "Click adds"), newType),
    h("div", { class: "tool-group" }, undoBtn, redoBtn),
    h(
      "div",
      { class: "tool-group" },
      tool("+", { "aria-label": "Zoom in" }, () => map.zoom(1.4)),
      tool("−", { "aria-label": "Zoom out" }, () => map.zoom(1 / 1.4)),
      tool("Fit", {}, () => map.fit()),
      measureButton(map),
    ),
    backgroundControls(map, (m) => ctx.notify(m)),
  );

  // The map gives the geofence and rally editor its centre and pickPoint (click a place, Escape cancels).
  const side = leaderSidebar(c, name, { notify: (m) => ctx.notify(m), remove, imported: () => map.fit(), map });
  // During a drag the map follows every move and the sidebar (route list, legs, editor) at
  // most every SIDEBAR_DRAG_MS: with 2,000 waypoints its render was most of a move's script.
  const sidebarLater = throttle((s: LeaderState) => movedAway || side.renderPlan(s), SIDEBAR_DRAG_MS);
  const notice = h("div", { class: "notice-slot" });

  // ---- layout ------------------------------------------------------------------
  root.replaceChildren(
    appBar(
      ctx,
      h("span", { class: "role-chip" }, "Leader"),
      h("span", { class: "stream-chip", title: name }, name),
      statusPill,
      sendState,
      h("div", { class: "actions-row" }, shareBtn, leaveBtn, stop.button),
    ),
    h(
      "main",
      { class: "workspace", id: "main", "data-testid": "leader-view" },
      h("h1", { class: "visually-hidden" }, `Leading ${name}`),
      h("div", { class: "stream-actions" }, notice),
      h("div", { class: "map-wrap" }, toolbar, map.element),
      h(
        "aside",
        { class: "sidebar", "aria-label": "Plan details" },
        side.fieldset,
        side.fileSection,
        legend(),
        keyHelp(true),
      ),
    ),
    stop.dialog,
  );

  // ---- one writer per browser (TabElection) --------------------------------------
  // This tab just started or resumed, so it is the stream's writer on the relay: it says
  // so to the other tabs of this browser, and one that was leading it steps down at once
  // (read-only, "editing in another tab") instead of saying "All changes sent" until its
  // next edit is refused. The election's lock tells a tab opened later (the gate) that
  // this stream is being edited here.
  const election = new TabElection({ key: tabKey(name) });
  let movedAway = false;
  election.on("message", ({ data }) => {
    if (!movedAway && (data as { t?: unknown })?.t === "took-over") stepDown();
  });
  election.start();
  election.post({ t: "took-over" });
  function stepDown() {
    movedAway = true;
    // This tab's saved session goes: "Take over here" asks for the code (the other tab leads now).
    keep.forget();
    c.leave();
    election.close();
    ctx.session.leader = undefined;
    const ws = root.querySelector<HTMLElement>(".workspace");
    ws?.classList.add("locked");
    for (const el of root.querySelectorAll<HTMLElement>(".map-wrap, .sidebar")) el.inert = true;
    stop.button.disabled = true;
    statusPill.textContent = "Read-only";
    statusPill.className = "pill s-closed";
    sendState.textContent = "Editing in another tab";
    const takeOver = h(
      "button",
      { type: "button", class: "btn small", onclick: () => ctx.go({ view: "lead", name }) },
      "Take over here",
    );
    notice.replaceChildren(
      banner(
        "warn",
        h("strong", {}, "Editing in another tab. "),
        "Another tab of this browser now leads this stream; this one is read-only. ",
        takeOver,
      ),
    );
    takeOver.focus();
  }

  // ---- kept in this browser: a reload resumes, offline edits survive the tab (leader-keep.ts) ----
  const resumed = session.resumed === true;
  session.resumed = false;
  const keep = keepLeader({
    c,
    leader: session.leader,
    name,
    resumed,
    notice,
    notify: (m) => ctx.notify(m),
    onStale(why) {
      // The kept session was taken over or has ended: drop it and ask for the code, saying why.
      staleSession(why);
      if (ctx.session.leader === session) ctx.session.leader = undefined;
      setTimeout(() => ctx.go({ view: "lead", name }));
    },
  });

  // ---- render from the controller ------------------------------------------------
  let shown: LeaderState | undefined;
  function render(s: LeaderState) {
    if (movedAway) return;
    const before = shown;
    shown = s;
    const st = s.status;
    statusPill.textContent = STATUS_WORDS[st] ?? st;
    statusPill.className = `pill s-${st}`;
    if (s.lockMessage !== before?.lockMessage && s.locked) {
      root.querySelector(".workspace")?.classList.add("locked");
      stop.button.disabled = true;
      notice.replaceChildren(banner("error", s.lockMessage ?? "", " ", h("a", { href: "#/" }, "Back to all streams")));
      side.renderLock(s);
      // The session is over: a return to this stream goes through the gate again.
      ctx.session.leader = undefined;
    }
    const planMoved =
      !before ||
      s.plan !== before.plan ||
      s.selected !== before.selected ||
      s.locked !== before.locked ||
      s.canUndo !== before.canUndo ||
      s.canRedo !== before.canRedo;
    if (planMoved) {
      // Each map call walks its markers: only what the map shows is handed on (typing in Title or
      // Notes changes neither the items nor the layers, and a drag keeps the selection).
      if (s.selected !== before?.selected) map.setSelected(s.selected);
      if (!before || !sameButText(before.plan, s.plan)) map.setPlan(s.plan);
      if (dragging) sidebarLater(s);
      else side.renderPlan(s);
      undoBtn.disabled = s.locked || !s.canUndo;
      redoBtn.disabled = s.locked || !s.canRedo;
    }
    renderSendState(s);
  }
  const offRender = c.subscribe(render);

  function onKey(e: KeyboardEvent) {
    const t = e.target as HTMLElement;
    if (t.closest("input, textarea, select, [contenteditable]")) return; // native text undo there
    if (movedAway || !(e.ctrlKey || e.metaKey)) return;
    const k = e.key.toLowerCase();
    if (k === "z" && !e.shiftKey) undo();
    else if ((k === "z" && e.shiftKey) || k === "y") redo();
    else return;
    e.preventDefault();
  }
  document.addEventListener("keydown", onKey);
  // Closing the tab with a change still on its way would lose it: ask first.
  const onUnload = (e: BeforeUnloadEvent) => {
    if (!c.state.locked && c.state.sending) e.preventDefault();
  };
  window.addEventListener("beforeunload", onUnload);
  // "sent 5 s ago" ages on its own.
  const tick = setInterval(() => movedAway || renderSendState(c.state), 1000);

  render(c.state);

  return () => {
    offRender();
    sidebarLater.cancel();
    keep.dispose();
    election.close();
    c.dispose();
    clearInterval(tick);
    document.removeEventListener("keydown", onKey);
    window.removeEventListener("beforeunload", onUnload);
    stop.close();
  };
};

async function copyFollowerLink(ctx: AppContext, name: string) {
  const url = `${location.href.split("#")[0]}#/follow/${encodeURIComponent(name)}`;
  try {
    await navigator.clipboard.writeText(url);
    ctx.notify("Follower link copied. Followers still need the password.");
  } catch {
    ctx.notify(`Follower link: ${url}`);
  }
}

export type { Background };

/** True when `a` and `b` differ at most in their title and notes (nothing the map draws). */
function sameButText(a: object, b: object): boolean {
  if (a === b) return true;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  return ka.every((k) => k === "title" || k === "notes" || ra[k] === rb[k]);
}
