/**
 * The leader's sidebar: mission title and notes, the route, the selected
 * waypoint's editor and the plan file. It renders from the controller's state
 * and calls its actions; it never holds a plan of its own.
 */
import { field, h } from "../dom.ts";
import type { LeaderController, LeaderState } from "../leader-controller.ts";
import {
  LIMITS,
  moveWaypoint,
  parsePlanJson,
  planToJson,
  TYPE_LABELS,
  updateWaypoint,
  WAYPOINT_TYPES,
  type WaypointType,
} from "../plan.ts";
import { banner, downloadPlan, filePicker, replaceKeepingFocus, routeList, routeSummary } from "./common.ts";

export interface SidebarHooks {
  notify(text: string): void;
  /** Deletes a waypoint the way the map does (notice, focus back to the map). */
  remove(id: string): void;
  /** After an import: fit the map to the new plan. */
  imported(): void;
}

export interface LeaderSidebar {
  /** The editable part, disabled as a whole once the stream is over for this tab. */
  fieldset: HTMLFieldSetElement;
  /** Outside the fieldset: export keeps working after a take-over, so no work is lost. */
  fileSection: HTMLElement;
  renderPlan(s: LeaderState): void;
  renderLock(s: LeaderState): void;
}

export function leaderSidebar(c: LeaderController, name: string, hooks: SidebarHooks): LeaderSidebar {
  const plan = () => c.state.plan;
  const title = h("input", {
    type: "text",
    id: "plan-title",
    maxlength: LIMITS.title,
    placeholder: "e.g. Op Heron: ridge survey",
    value: plan().title,
  });
  const notes = h("textarea", {
    id: "plan-notes",
    rows: 5,
    maxlength: LIMITS.notes,
    placeholder: "Timings, frequencies, hazards…",
  });
  notes.value = plan().notes;
  title.addEventListener("input", () => c.edit({ ...plan(), title: title.value }, { group: "title" }));
  notes.addEventListener("input", () => c.edit({ ...plan(), notes: notes.value }, { group: "notes" }));

  const routeBox = h("div", { class: "route-box" });
  const editor = h("div", { class: "editor", "aria-live": "off" });
  let editorFor: string | undefined;

  function buildEditor(s: LeaderState) {
    const w = s.plan.waypoints.find((x) => x.id === s.selected);
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
      c.edit(updateWaypoint(plan(), id, { name: nameIn.value }), { group: `name:${id}` }),
    );
    typeIn.addEventListener("change", () => c.edit(updateWaypoint(plan(), id, { type: typeIn.value as WaypointType })));
    const coord = (input: HTMLInputElement, key: "x" | "y") =>
      input.addEventListener("change", () => {
        const v = Number(input.value);
        if (input.value !== "" && Number.isFinite(v))
          c.edit(updateWaypoint(plan(), id, { [key]: v }), { group: `coord:${id}` });
      });
    coord(xIn, "x");
    coord(yIn, "y");
    const button = (cls: string, label: string, onclick: () => void) =>
      h("button", { type: "button", class: `btn small ${cls}`, onclick }, label);
    editor.replaceChildren(
      h("h3", {}, "Selected waypoint"),
      h("div", { class: "row2" }, field("Name", nameIn), field("Type", typeIn)),
      h("div", { class: "row2" }, field("Easting (m)", xIn), field("Northing (m)", yIn)),
      h(
        "div",
        { class: "row-actions" },
        button("ghost", "Move earlier", () => c.edit(moveWaypoint(plan(), id, -1))),
        button("ghost", "Move later", () => c.edit(moveWaypoint(plan(), id, 1))),
        button("danger", "Delete waypoint", () => hooks.remove(id)),
      ),
    );
  }

  // Typing in a field must not be overwritten by its own echo: only fields without focus follow the plan.
  function syncEditor(s: LeaderState) {
    if (editorFor !== s.selected) return buildEditor(s);
    const w = s.plan.waypoints.find((x) => x.id === s.selected);
    if (!w) return buildEditor(s);
    const set = (id: string, v: string) => {
      const el = editor.querySelector<HTMLInputElement | HTMLSelectElement>(`#${id}`);
      if (el && document.activeElement !== el && el.value !== v) el.value = v;
    };
    set("wp-name", w.name);
    set("wp-type", w.type);
    set("wp-x", String(w.x));
    set("wp-y", String(w.y));
  }

  const fileMsg = h("div", { class: "form-msg" });
  const importPicker = filePicker(".json,application/json", async (f) => {
    const r = parsePlanJson(await f.text());
    if (!r.ok) {
      hooks.notify(r.error);
      fileMsg.replaceChildren(banner("error", r.error));
      return;
    }
    fileMsg.replaceChildren();
    c.importPlan(r.plan);
    hooks.imported();
    hooks.notify(`Imported ${f.name}: ${r.plan.waypoints.length} waypoints. Undo returns to the previous plan.`);
  });

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
  const fileSection = h(
    "section",
    { class: "side-section", "aria-labelledby": "file-h" },
    h("h2", { id: "file-h" }, "Plan file"),
    h(
      "div",
      { class: "row-actions" },
      h(
        "button",
        { type: "button", class: "btn small ghost", onclick: () => downloadPlan(plan(), name, planToJson(plan())) },
        "Export JSON",
      ),
      importBtn,
      importPicker,
    ),
    fileMsg,
  );

  return {
    fieldset,
    fileSection,
    renderPlan(s) {
      const p = s.plan;
      replaceKeepingFocus(
        routeBox,
        routeSummary(p),
        routeList(p, { selected: s.selected, onSelect: (id) => c.select(id) }),
      );
      if (document.activeElement !== title && title.value !== p.title) title.value = p.title;
      if (document.activeElement !== notes && notes.value !== p.notes) notes.value = p.notes;
      syncEditor(s);
    },
    renderLock(s) {
      fieldset.disabled = s.locked;
      importBtn.disabled = s.locked;
    },
  };
}
