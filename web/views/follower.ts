/**
 * The follower's view: the leader's plan, read-only and live. The latest
 * change is highlighted on the map and in the route; the time since the last
 * update ticks; the connection status is in plain words.
 */
import { appBar, type View } from "../app.ts";
import { h } from "../dom.ts";
import { PlanMap } from "../map.ts";
import { ago, endedText, followerStatusText } from "../messages.ts";
import { type Change, describeChange, type Plan, parsePlan, planToJson } from "../plan.ts";
import type { FollowerStatus } from "../relay.ts";
import { backgroundControls } from "./background.ts";
import { banner, downloadPlan, keyHelp, legend, replaceKeepingFocus, routeList, routeSummary } from "./common.ts";
import { gateView } from "./gate.ts";

const STATUS_WORDS: Record<FollowerStatus, string> = {
  connecting: "Connecting…",
  live: "Live",
  "catching-up": "Catching up…",
  reset: "Reloading plan…",
  offline: "Reconnecting…",
  ended: "Ended",
};

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

  const map = new PlanMap(false, { onSelect: (id) => select(id) }, "Mission map, read-only");
  const statusPill = h("span", { class: "pill", "data-testid": "follower-status" });
  const statusLine = h("p", { class: "status-line", role: "status", "aria-live": "polite" });
  const updatedEl = h("span", { class: "updated", "data-testid": "updated-ago" });
  const endedSlot = h("div", { class: "notice-slot", "data-testid": "ended-slot" });
  const titleEl = h("h1", { class: "plan-title", "data-testid": "plan-title" });
  const changeEl = h("p", { class: "latest-change", "data-testid": "latest-change" });
  const routeBox = h("div", { class: "route-box" });
  const notesEl = h("div", { class: "notes-view", "data-testid": "plan-notes" });

  function select(id: string | undefined) {
    selected = id;
    render();
  }

  function apply(state: unknown, first: boolean) {
    const r = parsePlan(state);
    if (r.ok) {
      change = first ? undefined : describeChange(plan, r.plan);
      plan = r.plan;
      problem = undefined;
      changedAt = Date.now();
    } else if (state && typeof state === "object" && Object.keys(state).length === 0) {
      problem = "Waiting for the leader to publish the plan.";
    } else {
      problem = `The leader's plan cannot be shown here. ${r.error}`;
    }
    render();
  }

  function render() {
    const st = follower.status as FollowerStatus;
    statusPill.textContent = STATUS_WORDS[st] ?? st;
    statusPill.className = `pill s-${st}`;
    const via = follower.transport;
    statusPill.dataset.transport = via ?? "";
    statusPill.title = via ? `Live updates over ${via === "websocket" ? "WebSocket" : "an HTTP stream"}` : "";
    statusLine.textContent = followerStatusText(st, follower.reasonCode);
    titleEl.textContent = plan?.title || name;
    titleEl.classList.toggle("changed", !!change?.title);
    const hl = new Set(change?.ids ?? []);
    map.setHighlight(hl);
    map.setSelected(selected);
    map.setPlan(plan);
    if (plan) {
      replaceKeepingFocus(
        routeBox,
        routeSummary(plan),
        routeList(plan, { selected, highlight: hl, onSelect: (id) => select(id) }),
      );
      notesEl.replaceChildren(plan.notes ? plan.notes : h("span", { class: "empty" }, "No notes."));
      notesEl.classList.toggle("changed", !!change?.notes);
    } else {
      routeBox.replaceChildren(h("p", { class: "empty" }, problem ?? "Waiting for the plan…"));
      notesEl.replaceChildren();
    }
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
          h("section", { class: "side-section" }, titleEl, statusLine, changeEl),
          h(
            "section",
            { class: "side-section", "aria-labelledby": "route-h" },
            h("h2", { id: "route-h" }, "Route"),
            routeBox,
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

  return () => {
    clearInterval(timer);
    offState();
    offStatus();
    offEnded();
    follower.disconnect();
    ctx.session.follower = undefined;
  };
};
