/**
 * The leader's workspace: the editable map, the ordered route, title and
 * notes, undo/redo, import/export, and the stream controls. Every change is
 * published; a drag publishes at most four times a second and its final
 * position is always sent (throttle + flush on release).
 */
import { appBar, type View } from "../app.ts";
import { field, h } from "../dom.ts";
import { History } from "../history.ts";
import { type Background, PlanMap } from "../map.ts";
import { ago, errorText } from "../messages.ts";
import {
  addWaypoint,
  emptyPlan,
  LIMITS,
  moveWaypoint,
  type Plan,
  parsePlan,
  parsePlanJson,
  planToJson,
  removeWaypoint,
  TYPE_LABELS,
  updateWaypoint,
  WAYPOINT_TYPES,
  type WaypointType,
} from "../plan.ts";
import type { LeaderStatus } from "../relay.ts";
import { throttle } from "../throttle.ts";
import { backgroundControls } from "./background.ts";
import {
  banner,
  downloadPlan,
  filePicker,
  keyHelp,
  legend,
  replaceKeepingFocus,
  routeList,
  routeSummary,
} from "./common.ts";
import { gateView } from "./gate.ts";

/** Drag publishes at most this often (ms). */
export const DRAG_PUBLISH_MS = 250;

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
    return gateView(ctx, root, "lead", route.name, () => ctx.go(route));
  }
  const { leader, name } = session;
  const own = session;
  document.title = `${name} · Leader · Mission Relay`;

  const fromServer = parsePlan(leader.state);
  let plan: Plan = session.plan ?? (fromServer.ok ? fromServer.plan : emptyPlan(name));
  const mustPublish = !fromServer.ok || session.plan !== undefined;
  const history = new History<Plan>(plan);
  let selected: string | undefined;
  let locked = false;
  let sending = 0;
  let lastSent: { seq: number; at: number } | undefined = fromServer.ok
    ? { seq: leader.seq, at: Date.now() }
    : undefined;
  let sendError: string | undefined;
  let disposed = false;

  // ---- publishing ------------------------------------------------------------
  const send = (p: Plan) => {
    sending++;
    renderSendState();
    leader
      .publish(p)
      .then(
        (r) => {
          lastSent = { seq: r.seq, at: Date.now() };
          sendError = undefined;
        },
        (e) => {
          sendError = errorText(e, "publish", name);
        },
      )
      .finally(() => {
        sending--;
        if (!disposed) renderSendState();
      });
  };
  const publisher = throttle(send, DRAG_PUBLISH_MS);

  function commit(next: Plan, opts: { group?: string; drag?: boolean } = {}) {
    if (locked || next === plan) return;
    history.push(next, opts.group);
    setPlan(next, opts.drag);
  }

  function setPlan(next: Plan, dragging = false) {
    plan = next;
    own.plan = next;
    if (selected && !plan.waypoints.some((w) => w.id === selected)) selected = undefined;
    publisher(next);
    if (!dragging) publisher.flush();
    renderPlan();
  }

  function undo() {
    if (locked) return;
    const p = history.undo();
    if (p) {
      setPlan(p);
      ctx.notify("Undone.");
    }
  }
  function redo() {
    if (locked) return;
    const p = history.redo();
    if (p) {
      setPlan(p);
      ctx.notify("Redone.");
    }
  }

  // ---- map ---------------------------------------------------------------------
  const newType = h(
    "select",
    { id: "new-type" },
    h("option", { value: "auto" }, "Automatic"),
    WAYPOINT_TYPES.map((t) => h("option", { value: t }, TYPE_LABELS[t])),
  );
  const map = new PlanMap(true, {
    onAdd(at) {
      if (locked) return;
      if (plan.waypoints.length >= LIMITS.waypoints) {
        ctx.notify(`A plan holds at most ${LIMITS.waypoints} waypoints.`);
        return;
      }
      const type = newType.value === "auto" ? undefined : (newType.value as WaypointType);
      const [next, wp] = addWaypoint(plan, at, type);
      selected = wp.id;
      commit(next);
      ctx.notify(`Added ${wp.name}.`);
    },
    onSelect(id) {
      select(id);
    },
    onDrag(id, at, phase) {
      if (phase === "start") history.seal();
      commit(updateWaypoint(plan, id, at), { group: `drag:${id}`, drag: phase !== "end" });
      if (phase === "end") history.seal();
    },
    onNudge(id, dx, dy) {
      const w = plan.waypoints.find((x) => x.id === id);
      if (w) commit(updateWaypoint(plan, id, { x: w.x + dx, y: w.y + dy }), { group: `nudge:${id}` });
    },
    onDelete(id) {
      remove(id);
    },
  });

  function select(id: string | undefined) {
    selected = id;
    renderPlan();
  }

  function remove(id: string) {
    const w = plan.waypoints.find((x) => x.id === id);
    if (!w) return;
    commit(removeWaypoint(plan, id));
    ctx.notify(`Deleted ${w.name}. Undo brings it back.`);
    map.element.focus();
  }

  // ---- top bar ---------------------------------------------------------------------
  const statusPill = h("span", { class: "pill", role: "status", "data-testid": "leader-status" });
  const sendState = h("span", { class: "send-state", "data-testid": "send-state" });
  const stopBtn = h("button", { type: "button", class: "btn small danger" }, "Stop stream");
  const leaveBtn = h(
    "button",
    {
      type: "button",
      class: "btn small ghost",
      title: "Leave the editor; the stream stays live and you can resume with the leader code",
    },
    "Leave",
  );
  const shareBtn = h("button", { type: "button", class: "btn small ghost" }, "Copy follower link");

  function renderStatus() {
    const st = leader.status as LeaderStatus;
    statusPill.textContent = STATUS_WORDS[st] ?? st;
    statusPill.className = `pill s-${st}`;
  }

  function renderSendState() {
    if (locked) sendState.textContent = "Changes no longer sent";
    else if (sendError) sendState.textContent = sendError;
    else if (sending > 0 || publisher.pending) sendState.textContent = "Sending…";
    else if (lastSent) sendState.textContent = `All changes sent · #${lastSent.seq} · ${ago(lastSent.at)}`;
    else sendState.textContent = "Not sent yet";
    sendState.classList.toggle("err", locked || !!sendError);
  }

  // ---- toolbar ---------------------------------------------------------------------
  const undoBtn = h(
    "button",
    { type: "button", class: "btn tool", onclick: undo, "aria-keyshortcuts": "Control+Z" },
    "Undo",
  );
  const redoBtn = h(
    "button",
    { type: "button", class: "btn tool", onclick: redo, "aria-keyshortcuts": "Control+Shift+Z" },
    "Redo",
  );
  const bg = backgroundControls(map, (m) => ctx.notify(m));
  const toolbar = h(
    "div",
    { class: "toolbar", role: "toolbar", "aria-label": "Map tools" },
    h("div", { class: "tool-group" }, h("label", { for: "new-type" }, "Click adds"), newType),
    h("div", { class: "tool-group" }, undoBtn, redoBtn),
    h(
      "div",
      { class: "tool-group" },
      h("button", { type: "button", class: "btn tool", "aria-label": "Zoom in", onclick: () => map.zoom(1.4) }, "+"),
      h(
        "button",
        { type: "button", class: "btn tool", "aria-label": "Zoom out", onclick: () => map.zoom(1 / 1.4) },
        "−",
      ),
      h("button", { type: "button", class: "btn tool", onclick: () => map.fit() }, "Fit"),
    ),
    bg,
  );

  // ---- sidebar: mission, route, selected waypoint, file ---------------------------
  const title = h("input", {
    type: "text",
    id: "plan-title",
    maxlength: LIMITS.title,
    placeholder: "e.g. Op Heron: ridge survey",
    value: plan.title,
  });
  const notes = h("textarea", {
    id: "plan-notes",
    rows: 5,
    maxlength: LIMITS.notes,
    placeholder: "Timings, frequencies, hazards…",
  });
  notes.value = plan.notes;
  title.addEventListener("input", () => commit({ ...plan, title: title.value }, { group: "title" }));
  notes.addEventListener("input", () => commit({ ...plan, notes: notes.value }, { group: "notes" }));

  const routeBox = h("div", { class: "route-box" });
  const editor = h("div", { class: "editor", "aria-live": "off" });
  let editorFor: string | undefined;

  function buildEditor() {
    const w = plan.waypoints.find((x) => x.id === selected);
    editorFor = w?.id;
    if (!w) {
      editor.replaceChildren(h("p", { class: "empty" }, "Select a waypoint on the map or in the route to edit it."));
      return;
    }
    const id = w.id;
    const nameIn = h("input", { type: "text", id: "wp-name", maxlength: LIMITS.name, value: w.name });
    const typeIn = h(
      "select",
      { id: "wp-type" },
      WAYPOINT_TYPES.map((t) => h("option", { value: t, selected: t === w.type }, TYPE_LABELS[t])),
    );
    const xIn = h("input", { type: "number", id: "wp-x", step: "any", inputmode: "decimal", value: w.x });
    const yIn = h("input", { type: "number", id: "wp-y", step: "any", inputmode: "decimal", value: w.y });
    nameIn.addEventListener("input", () =>
      commit(updateWaypoint(plan, id, { name: nameIn.value }), { group: `name:${id}` }),
    );
    typeIn.addEventListener("change", () => commit(updateWaypoint(plan, id, { type: typeIn.value as WaypointType })));
    const coord = (input: HTMLInputElement, key: "x" | "y") =>
      input.addEventListener("change", () => {
        const v = Number(input.value);
        if (input.value !== "" && Number.isFinite(v))
          commit(updateWaypoint(plan, id, { [key]: v }), { group: `coord:${id}` });
      });
    coord(xIn, "x");
    coord(yIn, "y");
    editor.replaceChildren(
      h("h3", {}, "Selected waypoint"),
      h("div", { class: "row2" }, field("Name", nameIn), field("Type", typeIn)),
      h("div", { class: "row2" }, field("Easting (m)", xIn), field("Northing (m)", yIn)),
      h(
        "div",
        { class: "row-actions" },
        h(
          "button",
          { type: "button", class: "btn small ghost", onclick: () => commit(moveWaypoint(plan, id, -1)) },
          "Move earlier",
        ),
        h(
          "button",
          { type: "button", class: "btn small ghost", onclick: () => commit(moveWaypoint(plan, id, 1)) },
          "Move later",
        ),
        h("button", { type: "button", class: "btn small danger", onclick: () => remove(id) }, "Delete waypoint"),
      ),
    );
  }

  function syncEditor() {
    if (editorFor !== selected) return buildEditor();
    const w = plan.waypoints.find((x) => x.id === selected);
    if (!w) return buildEditor();
    const set = (id: string, v: string) => {
      const el = editor.querySelector<HTMLInputElement | HTMLSelectElement>(`#${id}`);
      if (el && document.activeElement !== el && el.value !== v) el.value = v;
    };
    set("wp-name", w.name);
    set("wp-type", w.type);
    set("wp-x", String(w.x));
    set("wp-y", String(w.y));
  }

  const importPicker = filePicker(".json,application/json", async (f) => {
    const r = parsePlanJson(await f.text());
    if (!r.ok) {
      ctx.notify(r.error);
      fileMsg.replaceChildren(banner("error", r.error));
      return;
    }
    fileMsg.replaceChildren();
    selected = undefined;
    history.seal();
    commit(r.plan);
    map.fit();
    ctx.notify(`Imported ${f.name}: ${r.plan.waypoints.length} waypoints. Undo returns to the previous plan.`);
  });
  const fileMsg = h("div", { class: "form-msg" });

  const fieldset = h(
    "fieldset",
    { class: "side-inner" },
    h("legend", { class: "visually-hidden" }, "Plan"),
    h(
      "section",
      { class: "side-section", "aria-labelledby": "mission-h" },
      h("h2", { id: "mission-h" }, "Mission"),
      field("Title", title),
      field("Notes", notes),
    ),
    h(
      "section",
      { class: "side-section", "aria-labelledby": "route-h" },
      h("h2", { id: "route-h" }, "Route"),
      routeBox,
    ),
    h("section", { class: "side-section", "aria-label": "Selected waypoint" }, editor),
  );
  const importBtn = h(
    "button",
    { type: "button", class: "btn small ghost", onclick: () => importPicker.click() },
    "Import JSON…",
  );
  // Outside the fieldset: export keeps working after a take-over, so no work is lost.
  const fileSection = h(
    "section",
    { class: "side-section", "aria-labelledby": "file-h" },
    h("h2", { id: "file-h" }, "Plan file"),
    h(
      "div",
      { class: "row-actions" },
      h(
        "button",
        { type: "button", class: "btn small ghost", onclick: () => downloadPlan(plan, name, planToJson(plan)) },
        "Export JSON",
      ),
      importBtn,
      importPicker,
    ),
    fileMsg,
  );

  const notice = h("div", { class: "notice-slot" });
  const mapWrap = h("div", { class: "map-wrap" }, toolbar, map.element);

  function renderPlan() {
    map.setSelected(selected);
    map.setPlan(plan);
    replaceKeepingFocus(routeBox, routeSummary(plan), routeList(plan, { selected, onSelect: (id) => select(id) }));
    if (document.activeElement !== title && title.value !== plan.title) title.value = plan.title;
    if (document.activeElement !== notes && notes.value !== plan.notes) notes.value = plan.notes;
    undoBtn.disabled = locked || !history.canUndo;
    redoBtn.disabled = locked || !history.canRedo;
    syncEditor();
    renderSendState();
  }

  function lock(message: string) {
    locked = true;
    publisher.cancel();
    fieldset.disabled = true;
    importBtn.disabled = true;
    root.querySelector(".workspace")?.classList.add("locked");
    stopBtn.disabled = true;
    notice.replaceChildren(banner("error", message, " ", h("a", { href: "#/" }, "Back to all streams")));
    ctx.session.leader = undefined;
    renderPlan();
  }

  // ---- stop / leave ------------------------------------------------------------------
  const dialogMsg = h("div", { class: "form-msg" });
  const confirmStop = h("button", { type: "button", class: "btn danger" }, "Stop stream");
  const cancelStop = h("button", { type: "button", class: "btn ghost" }, "Keep streaming");
  const dialog = h(
    "dialog",
    { class: "confirm", "aria-labelledby": "stop-title", "aria-describedby": "stop-desc" },
    h("h2", { id: "stop-title" }, `Stop “${name}”?`),
    h(
      "p",
      { id: "stop-desc" },
      "Followers will see that the stream ended, and the name becomes free. This cannot be undone. Export the plan first if you need it.",
    ),
    dialogMsg,
    h("div", { class: "form-actions" }, cancelStop, confirmStop),
  );
  stopBtn.addEventListener("click", () => {
    dialogMsg.replaceChildren();
    dialog.showModal();
    cancelStop.focus();
  });
  cancelStop.addEventListener("click", () => dialog.close());
  confirmStop.addEventListener("click", async () => {
    confirmStop.disabled = true;
    try {
      publisher.flush();
      await leader.stop();
      dialog.close();
      ctx.session.leader = undefined;
      ctx.notify(`Stream “${name}” stopped. Followers were told it ended.`);
      ctx.go({ view: "home" });
    } catch (e) {
      dialogMsg.replaceChildren(banner("error", errorText(e, "stop", name)));
    } finally {
      confirmStop.disabled = false;
    }
  });
  leaveBtn.addEventListener("click", () => {
    publisher.flush();
    leader.close();
    ctx.session.leader = undefined;
    ctx.notify(`You left “${name}”. It stays live; resume with the leader code.`);
    ctx.go({ view: "home" });
  });
  shareBtn.addEventListener("click", async () => {
    const url = `${location.href.split("#")[0]}#/follow/${encodeURIComponent(name)}`;
    try {
      await navigator.clipboard.writeText(url);
      ctx.notify("Follower link copied. Followers still need the password.");
    } catch {
      ctx.notify(`Follower link: ${url}`);
    }
  });

  // ---- layout --------------------------------------------------------------------------
  root.replaceChildren(
    appBar(
      ctx,
      h("span", { class: "role-chip" }, "Leader"),
      h("span", { class: "stream-chip", title: name }, name),
      statusPill,
      sendState,
      h("div", { class: "actions-row" }, shareBtn, leaveBtn, stopBtn),
    ),
    h(
      "main",
      { class: "workspace", id: "main", "data-testid": "leader-view" },
      h("h1", { class: "visually-hidden" }, `Leading ${name}`),
      h("div", { class: "stream-actions" }, notice),
      mapWrap,
      h("aside", { class: "sidebar", "aria-label": "Plan details" }, fieldset, fileSection, legend(), keyHelp(true)),
    ),
    dialog,
  );

  const offStatus = leader.on("status", ({ status }) => {
    renderStatus();
    if (status === "stopped") lock("This stream has ended. Your changes are no longer sent.");
  });
  const offReplaced = leader.on("replaced", () => {
    renderStatus();
    lock("Another leader has taken over this stream, so your later changes were not sent.");
  });

  function onKey(e: KeyboardEvent) {
    const t = e.target as HTMLElement;
    if (t.closest("input, textarea, select, [contenteditable]")) return; // native text undo there
    if (!(e.ctrlKey || e.metaKey)) return;
    const k = e.key.toLowerCase();
    if (k === "z" && !e.shiftKey) undo();
    else if ((k === "z" && e.shiftKey) || k === "y") redo();
    else return;
    e.preventDefault();
  }
  document.addEventListener("keydown", onKey);
  // Closing the tab with a change still on its way would lose it: ask first.
  const onUnload = (e: BeforeUnloadEvent) => {
    if (!locked && (sending > 0 || publisher.pending)) e.preventDefault();
  };
  window.addEventListener("beforeunload", onUnload);
  const tick = setInterval(renderSendState, 1000);

  renderStatus();
  renderPlan();
  if (mustPublish) setPlan(plan);
  if (leader.status === "replaced" || leader.status === "stopped" || leader.status === "closed")
    lock("This leader session has ended.");

  return () => {
    disposed = true;
    publisher.flush();
    offStatus();
    offReplaced();
    clearInterval(tick);
    document.removeEventListener("keydown", onKey);
    window.removeEventListener("beforeunload", onUnload);
    if (dialog.open) dialog.close();
  };
};

export type { Background };
