/**
 * The follower's view: the leader's plan, read-only and live. The latest
 * change is highlighted on the map and in the route; the time since the last
 * update ticks; the status is honest (../status.ts: "live" only while the
 * leader is heard, else "leader away" or "connection stalled") and in plain
 * words. After joining, focus lands on the plan's heading; plan changes are
 * announced politely, at most one sentence every ANNOUNCE_MS.
 */
import { appBar, type View } from "../app.ts";
import { h } from "../dom.ts";
import { PlanMap } from "../map.ts";
import { ago, endedText, followerStatusText } from "../messages.ts";
import { type Change, describeChange, keepUnchanged, type Plan, planReader, planToJson } from "../plan.ts";
import { forgetFollower, tabStorage } from "../session.ts";
import { honestSentence, honestStatus, honestWords } from "../status.ts";
import { backgroundControls } from "./background.ts";
import { banner, downloadPlan, keyHelp, legend } from "./common.ts";
import { gateView } from "./gate.ts";
import { layersSummary } from "./layers-summary.ts";
import { legsTable } from "./legs-table.ts";
import { measureButton } from "./measure-tool.ts";
import { WaypointList } from "./waypoint-list.ts";

/** A screen reader hears at most one plan change this often (the newest; a drag is many). */
export const ANNOUNCE_MS = 3000;

export const followerView: View = (ctx, root, route) => {
  if (route.view !== "follow") return undefined;
  const session = ctx.session.follower;
  if (!session || session.name !== route.name) {
    return gateView(ctx, root, "follow", route.name, () => ctx.go(route));
  }
  const { follower, name } = session;
  document.title = `${name} · Following · Mission Relay`;

  let plan: Plan | undefined;
  let problem: string | undefined;
  let change: Change | undefined;
  let updated = follower.updated || Date.now();
  let changedAt = Date.now();
  let selected: string | undefined;
  const joinedAt = Date.now();
  const timing = { heartbeatMs: ctx.config.heartbeatMs ?? 15_000, staleAfterMs: ctx.config.staleAfterMs ?? 45_000 };

  const map = new PlanMap(false, { onSelect: (id) => select(id) }, "Mission map, read-only");
  map.setTiles(ctx.config.map, ctx.config.mapNotice);
  const statusPill = h("span", { class: "pill", "data-testid": "follower-status" });
  const statusLine = h("p", { class: "status-line", role: "status", "aria-live": "polite" });
  const updatedEl = h("span", { class: "updated", "data-testid": "updated-ago" });
  const endedSlot = h("div", { class: "notice-slot", "data-testid": "ended-slot" });
  const titleEl = h("h1", { class: "plan-title", "data-testid": "plan-title", tabindex: "-1" });
  // Plan changes, for screen readers: polite, throttled, the newest summary wins.
  const announcer = h("p", {
    class: "visually-hidden",
    role: "status",
    "aria-live": "polite",
    "data-testid": "plan-announcer",
  });
  let lastAnnounced = 0;
  let pendingAnnounce: string | undefined;
  let announceTimer: ReturnType<typeof setTimeout> | undefined;
  function announce(text: string) {
    pendingAnnounce = text;
    if (announceTimer) return;
    const wait = Math.max(0, lastAnnounced + ANNOUNCE_MS - Date.now());
    announceTimer = setTimeout(() => {
      announceTimer = undefined;
      lastAnnounced = Date.now();
      // The same words twice (the same waypoint moved again) would change nothing in the
      // accessibility tree, and a screen reader would hear nothing: a no-break space tells them apart.
      const text = `Plan changed: ${pendingAnnounce ?? ""}`;
      announcer.textContent = announcer.textContent === text ? `${text}\u00a0` : text;
    }, wait);
  }
  const changeEl = h("p", { class: "latest-change", "data-testid": "latest-change" });
  // Virtualised, and rows whose content did not change are kept: an update during a drag
  // touches the rows in view whose legs moved, not all 2,000.
  const routeView = new WaypointList({ onSelect: (id) => select(id), emptyText: "No waypoints yet." });
  const routeBox = routeView.element;
  const notesEl = h("div", { class: "notes-view", "data-testid": "plan-notes" });
  const layersBox = h("div", { class: "layers-box" });
  const legsBox = legsTable();
  let layersFor: Plan | undefined;
  /** The geofence and rally points in words, and the legs: redrawn only when they changed. */
  function renderLayers(p: Plan | undefined) {
    if (!p) return;
    legsBox.render(p);
    if (p.fence === layersFor?.fence && p.rally === layersFor?.rally) return;
    layersFor = p;
    layersBox.replaceChildren(layersSummary(p));
  }

  function select(id: string | undefined) {
    selected = id;
    render();
  }

  // Each state shares its untouched items with the one before (a patch applied immutably).
  const readPlan = planReader();
  function apply(state: unknown, first: boolean) {
    const r = readPlan(state);
    if (r.ok) {
      const next = keepUnchanged(plan, r.plan);
      change = first ? undefined : describeChange(plan, next);
      plan = next;
      if (change) announce(change.summary);
      problem = undefined;
      changedAt = Date.now();
    } else if (state && typeof state === "object" && Object.keys(state).length === 0) {
      problem = "Waiting for the leader to publish the plan.";
    } else {
      problem = `The leader's plan cannot be shown here. ${r.error}`;
    }
    render();
  }

  /** The pill and the sentence, from what the follower observed; written only when they change (the line is live). */
  function renderStatus() {
    const st = follower.status;
    const seen = { status: st, code: follower.reasonCode, heardAt: follower.heardAt, answeredAt: follower.answeredAt };
    const honest = honestStatus({ ...seen, joinedAt }, timing, Date.now());
    const words = honestWords(honest);
    if (statusPill.textContent !== words) statusPill.textContent = words;
    statusPill.className = `pill s-${honest.kind}`;
    statusPill.dataset.status = honest.kind;
    const via = follower.transport;
    statusPill.dataset.transport = via ?? "";
    statusPill.title = via ? `Live updates over ${via === "websocket" ? "WebSocket" : "an HTTP stream"}` : "";
    const line = honestSentence(honest) ?? followerStatusText(st, follower.reasonCode);
    if (statusLine.textContent !== line) statusLine.textContent = line;
  }

  /** What the last render drew, so the next one redraws only what differs. */
  let shown: { plan?: Plan | undefined; change?: Change | undefined; hl?: Set<string>; selected?: string | undefined } =
    {};
  function render() {
    renderStatus();
    titleEl.textContent = plan?.title || name;
    titleEl.classList.toggle("changed", !!change?.title);
    renderLayers(plan);
    // Only what changed is handed on: status ticks re-render too, and each map call walks its
    // markers; the notes (up to 20,000 characters) are rewritten only when they are new.
    const hl = change === shown.change && shown.hl ? shown.hl : new Set(change?.ids ?? []);
    if (hl !== shown.hl) map.setHighlight(hl);
    if (selected !== shown.selected) map.setSelected(selected);
    if (plan !== shown.plan) map.setPlan(plan);
    routeView.update(plan, { selected, highlight: hl }, problem ?? "Waiting for the plan…");
    if (plan?.notes !== shown.plan?.notes || plan === undefined)
      notesEl.replaceChildren(plan ? plan.notes || h("span", { class: "empty" }, "No notes.") : "");
    notesEl.classList.toggle("changed", !!change?.notes);
    shown = { plan, change, hl, selected };
    changeEl.replaceChildren(
      problem
        ? banner("warn", problem)
        : change
          ? h("span", {}, h("span", { class: "label" }, "Latest change: "), change.summary)
          : "Showing the current plan.",
    );
    tick();
  }

  function tick() {
    renderStatus();
    updatedEl.textContent = `Updated ${ago(updated)}`;
    updatedEl.title = new Date(updated).toLocaleString();
    // The highlight pulses for a few seconds; the ring stays until the next change.
    root.querySelector(".workspace")?.classList.toggle("fresh", Date.now() - changedAt < 4000);
  }

  const offState = follower.on("state", ({ state, ts }) => {
    updated = ts || Date.now();
    apply(state, false);
  });
  const offStatus = follower.on("status", () => render());
  const offEnded = follower.on("ended", ({ reason }) => {
    if (reason === "disconnected") return;
    endedSlot.replaceChildren(
      banner(
        "error",
        h("strong", {}, "Stream ended. "),
        endedText(reason),
        " ",
        h("a", { href: "#/" }, "Back to all streams"),
      ),
    );
    render();
  });

  const exportBtn = h(
    "button",
    { type: "button", class: "btn small ghost", onclick: () => plan && downloadPlan(plan, name, planToJson(plan)) },
    "Export JSON",
  );

  root.replaceChildren(
    appBar(
      ctx,
      h("span", { class: "role-chip follower" }, "Follower"),
      h("span", { class: "stream-chip", title: name }, name),
      statusPill,
      updatedEl,
      h("div", { class: "actions-row" }, h("a", { href: "#/", class: "btn small ghost" }, "Leave")),
    ),
    h(
      "main",
      { class: "workspace follower", id: "main", "data-testid": "follower-view" },
      h("div", { class: "stream-actions" }, endedSlot),
      h(
        "div",
        { class: "map-wrap" },
        h(
          "div",
          { class: "toolbar", role: "toolbar", "aria-label": "Map tools" },
          h(
            "div",
            { class: "tool-group" },
            h(
              "button",
              { type: "button", class: "btn tool", "aria-label": "Zoom in", onclick: () => map.zoom(1.4) },
              "+",
            ),
            h(
              "button",
              { type: "button", class: "btn tool", "aria-label": "Zoom out", onclick: () => map.zoom(1 / 1.4) },
              "−",
            ),
            h("button", { type: "button", class: "btn tool", onclick: () => map.fit() }, "Fit"),
            measureButton(map),
          ),
          backgroundControls(map, (m) => ctx.notify(m)),
        ),
        map.element,
      ),
      h(
        "aside",
        { class: "sidebar", "aria-label": "Plan details" },
        h(
          "div",
          { class: "side-inner" },
          h("section", { class: "side-section" }, titleEl, statusLine, changeEl, announcer),
          h(
            "section",
            { class: "side-section", "aria-labelledby": "route-h" },
            h("h2", { id: "route-h" }, "Route"),
            routeBox,
            legsBox.element,
          ),
          h(
            "section",
            { class: "side-section", "aria-labelledby": "layers-h" },
            h("h2", { id: "layers-h" }, "Geofence & rally points"),
            layersBox,
          ),
          h(
            "section",
            { class: "side-section", "aria-labelledby": "notes-h" },
            h("h2", { id: "notes-h" }, "Notes"),
            notesEl,
          ),
          h(
            "section",
            { class: "side-section", "aria-labelledby": "file-h" },
            h("h2", { id: "file-h" }, "Plan file"),
            exportBtn,
          ),
          legend(),
          keyHelp(false),
        ),
      ),
    ),
  );

  apply(follower.state, true);
  if (follower.status === "ended") {
    endedSlot.replaceChildren(banner("error", h("strong", {}, "Stream ended. "), endedText("stopped")));
  }
  const timer = setInterval(tick, 1000);
  // Joined: the plan's heading, not the page body, is where a keyboard or screen reader user lands.
  titleEl.focus();

  return () => {
    clearInterval(timer);
    clearTimeout(announceTimer);
    offState();
    offStatus();
    offEnded();
    follower.disconnect();
    ctx.session.follower = undefined;
    // Left on purpose (a reload never gets here): the tab forgets the password.
    forgetFollower(tabStorage(), name);
  };
};
