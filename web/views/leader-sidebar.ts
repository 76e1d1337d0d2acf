/**
 * The leader's sidebar: mission title and notes, the route, the selected
 * waypoint's editor and the plan file. It renders from the controller's state
 * and calls its actions; it never holds a plan of its own.
 */
import { field, h } from "../dom.ts";
import { readSpeed, setCruiseSpeed, setLegSpeed, setWaypointPoint } from "../fence.ts";
import { EXPORTS, IMPORT_ACCEPT, importPlanFile } from "../formats/index.ts";
import { formatLatLon, type LatLon } from "../geo.ts";
import type { LeaderController, LeaderState } from "../leader-controller.ts";
import {
  ALT_REF_LABELS,
  ALT_REFS,
  type AltRef,
  commandLabel,
  itemName,
  LIMITS,
  moveWaypoint,
  planToJson,
  setOrigin,
  TYPE_LABELS,
  updateWaypoint,
  WAYPOINT_TYPES,
  type WaypointType,
} from "../plan.ts";
import { banner, downloadPlan, downloadText, filePicker } from "./common.ts";
import { layersEditor } from "./layers-editor.ts";
import { legsTable } from "./legs-table.ts";
import { WaypointList } from "./waypoint-list.ts";

export interface SidebarHooks {
  notify(text: string): void;
  /** Deletes a waypoint the way the map does (notice, focus back to the map). */
  remove(id: string): void;
  /** After an import: fit the map to the new plan. */
  imported(): void;
  /** Where the geofence and rally editor puts new things, and lets the leader pick places. */
  map?: { center(): LatLon; pickPoint?(prompt: string): Promise<LatLon | undefined> };
}

/** A message under a field, wired as the stream-name field's is (aria-invalid, aria-describedby, announced). */
function fieldError(input: HTMLInputElement): { el: HTMLElement; show(error: string): void } {
  const el = h("small", { class: "field-error", id: `${input.id}-error`, "aria-live": "polite" });
  // Beside a hint's id, if the field has one (field() may set it after this).
  const describe = () => {
    const ids = new Set((input.getAttribute("aria-describedby") ?? "").split(" ").filter(Boolean));
    ids.add(el.id);
    input.setAttribute("aria-describedby", [...ids].join(" "));
  };
  describe();
  return {
    el,
    show(error) {
      describe();
      el.textContent = error;
      if (error) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    },
  };
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
  const cruise = h("input", {
    type: "number",
    id: "plan-cruise",
    step: "any",
    inputmode: "decimal",
    value: String(plan().cruiseSpeed),
  });
  const cruiseErr = fieldError(cruise);
  cruise.addEventListener("change", () => {
    const read = readSpeed(cruise.value);
    const r = read.ok ? setCruiseSpeed(plan(), read.value) : read;
    if (!r.ok) return cruiseErr.show(r.error);
    cruiseErr.show("");
    c.edit(r.plan);
  });
  const legsBox = legsTable();
  const layers = layersEditor(c, {
    notify: (m) => hooks.notify(m),
    ...(hooks.map ? { center: () => hooks.map?.center() ?? c.state.plan.origin } : {}),
    ...(hooks.map?.pickPoint
      ? { pickPoint: (prompt: string) => hooks.map?.pickPoint?.(prompt) ?? Promise.resolve(undefined) }
      : {}),
  });
  title.addEventListener("input", () => c.edit({ ...plan(), title: title.value }, { group: "title", coalesce: true }));
  notes.addEventListener("input", () => c.edit({ ...plan(), notes: notes.value }, { group: "notes", coalesce: true }));

  // Virtualised: only the rows in view are in the DOM, and an edit that leaves the items alone
  // (typing in Title or Notes) leaves the list alone.
  const route = new WaypointList({
    onSelect: (id) => c.select(id),
    emptyText: "No waypoints yet. Click the map to add the start point.",
  });
  const routeBox = route.element;
  const editor = h("div", { class: "editor", "aria-live": "off" });
  let editorFor: string | undefined;

  function buildEditor(s: LeaderState) {
    const item = s.plan.waypoints.find((x) => x.id === s.selected);
    editorFor = item?.id;
    if (!item) {
      editor.replaceChildren(h("p", { class: "empty" }, "Select a waypoint on the map or in the route to edit it."));
      return;
    }
    const id = item.id;
    const button = (cls: string, label: string, onclick: () => void) =>
      h("button", { type: "button", class: `btn small ${cls}`, onclick }, label);
    const order = h(
      "div",
      { class: "row-actions" },
      button("ghost", "Move earlier", () => c.edit(moveWaypoint(plan(), id, -1))),
      button("ghost", "Move later", () => c.edit(moveWaypoint(plan(), id, 1))),
      button("danger", item.kind === "nav" ? "Delete waypoint" : "Delete item", () => hooks.remove(id)),
    );
    if (item.kind !== "nav") {
      // Kept verbatim so the file round-trips; this page shows them but does not edit them.
      const what = item.kind === "cmd" ? `${commandLabel(item.command)} (MAV_CMD ${item.command})` : itemName(item);
      const detail =
        item.kind === "cmd"
          ? `Frame ${item.frame}; parameters ${item.params.map((p) => (p === null ? "unset" : String(p))).join(", ")}.`
          : "A QGroundControl complex item; edit it in QGroundControl. It is exported unchanged.";
      editor.replaceChildren(h("h2", {}, "Selected item"), h("p", {}, what), h("p", { class: "hint" }, detail), order);
      return;
    }
    const w = item;
    const nameIn = h("input", { type: "text", id: "wp-name", maxlength: LIMITS.name, value: w.name });
    const typeIn = h(
      "select",
      { id: "wp-type" },
      WAYPOINT_TYPES.map((t) => h("option", { value: t, selected: t === w.type }, TYPE_LABELS[t])),
    );
    const num = (elId: string, value: number | string, step = "any") =>
      h("input", { type: "number", id: elId, step, inputmode: "decimal", value });
    const latIn = num("wp-lat", w.lat);
    const lonIn = num("wp-lon", w.lon);
    const altIn = num("wp-alt", w.alt);
    const speedIn = num("wp-speed", w.speed ?? "");
    speedIn.placeholder = `${plan().cruiseSpeed} (cruise)`;
    const refIn = h(
      "select",
      { id: "wp-altref" },
      ALT_REFS.map((r) => h("option", { value: r, selected: r === w.altRef }, ALT_REF_LABELS[r])),
    );
    nameIn.addEventListener("input", () =>
      c.edit(updateWaypoint(plan(), id, { name: nameIn.value }), { group: `name:${id}`, coalesce: true }),
    );
    typeIn.addEventListener("change", () => c.edit(updateWaypoint(plan(), id, { type: typeIn.value as WaypointType })));
    refIn.addEventListener("change", () => c.edit(updateWaypoint(plan(), id, { altRef: refIn.value as AltRef })));
    // Read as the layers' fields are: out of range stays in the field with its reason and changes nothing.
    const numeric = (input: HTMLInputElement, key: "lat" | "lon" | "alt") => {
      const err = fieldError(input);
      input.addEventListener("change", () => {
        const r = setWaypointPoint(plan(), id, key, input.value);
        if (!r.ok) return err.show(r.error);
        err.show("");
        c.edit(r.plan, { group: `coord:${id}` });
      });
      return err.el;
    };
    const latErr = numeric(latIn, "lat");
    const lonErr = numeric(lonIn, "lon");
    const altErr = numeric(altIn, "alt");
    // Empty: the speed in force (a Change speed item, else cruise); otherwise checked, and refused in the field.
    const speedErr = fieldError(speedIn);
    speedIn.addEventListener("change", () => {
      const read = speedIn.value.trim() === "" ? undefined : readSpeed(speedIn.value);
      if (read && !read.ok) return speedErr.show(read.error);
      const r = setLegSpeed(plan(), id, read?.value);
      if (!r.ok) return speedErr.show(r.error);
      speedErr.show("");
      c.edit(r.plan);
    });
    editor.replaceChildren(
      h("h2", {}, "Selected waypoint"),
      h("div", { class: "row2" }, field("Name", nameIn), field("Type", typeIn)),
      h(
        "div",
        { class: "row2" },
        h("div", {}, field("Latitude (°)", latIn), latErr),
        h("div", {}, field("Longitude (°)", lonIn), lonErr),
      ),
      h("div", { class: "row2" }, h("div", {}, field("Altitude (m)", altIn), altErr), field("Altitude is", refIn)),
      h(
        "div",
        { class: "row2" },
        h("div", {}, field("Leg speed (m/s)", speedIn), speedErr.el),
        h(
          "p",
          { class: "hint" },
          w.command === 16 ? "Waypoint (MAV_CMD 16)" : `${commandLabel(w.command)} (MAV_CMD ${w.command})`,
        ),
      ),
      order,
    );
  }

  // Typing in a field must not be overwritten by its own echo: only fields without focus follow the plan.
  function syncEditor(s: LeaderState) {
    if (editorFor !== s.selected) return buildEditor(s);
    const w = s.plan.waypoints.find((x) => x.id === s.selected);
    if (!w) return buildEditor(s);
    if (w.kind !== "nav") return;
    const set = (elId: string, v: string) => {
      const el = editor.querySelector<HTMLInputElement | HTMLSelectElement>(`#${elId}`);
      if (el && document.activeElement !== el && el.getAttribute("aria-invalid") !== "true" && el.value !== v)
        el.value = v;
    };
    set("wp-name", w.name);
    set("wp-type", w.type);
    set("wp-lat", String(w.lat));
    set("wp-lon", String(w.lon));
    set("wp-alt", String(w.alt));
    set("wp-altref", w.altRef);
    set("wp-speed", w.speed === undefined ? "" : String(w.speed));
  }

  // ---- the grid's place on earth -------------------------------------------------------
  const originText = h("p", { class: "hint", "data-testid": "origin" });
  const originLat = h("input", { type: "number", id: "origin-lat", step: "any", inputmode: "decimal" });
  const originLon = h("input", { type: "number", id: "origin-lon", step: "any", inputmode: "decimal" });
  const originBtn = h(
    "button",
    {
      type: "button",
      class: "btn small ghost",
      onclick: () => {
        const la = Number(originLat.value);
        const lo = Number(originLon.value);
        if (originLat.value === "" || originLon.value === "" || !(Math.abs(la) <= 90) || !(Math.abs(lo) <= 180)) {
          hooks.notify("Enter the origin's latitude (-90 to 90) and longitude (-180 to 180) in degrees.");
          return;
        }
        c.edit(setOrigin(plan(), { lat: la, lon: lo }));
        hooks.imported();
        hooks.notify("Origin set: the plan keeps its shape and now sits there. Undo puts it back.");
      },
    },
    "Place the plan here",
  );
  function renderOrigin(s: LeaderState) {
    const p = s.plan;
    originText.replaceChildren(
      p.originAssumed
        ? banner(
            "warn",
            `This plan is not placed on earth yet: the grid sits at ${formatLatLon(p.origin)} by default. Enter the real origin (the grid's 0,0) below.`,
          )
        : `The map grid's 0,0 is at ${formatLatLon(p.origin)}.`,
    );
    if (document.activeElement !== originLat) originLat.value = p.originAssumed ? "" : String(p.origin.lat);
    if (document.activeElement !== originLon) originLon.value = p.originAssumed ? "" : String(p.origin.lon);
  }

  const fileMsg = h("div", { class: "form-msg" });
  const importPicker = filePicker(IMPORT_ACCEPT, async (f) => {
    // A refused file changes nothing: the plan, the undo history and the stream stay as they were.
    const r = importPlanFile(f.name, await f.text());
    if (!r.ok) {
      const text = `${f.name} was not imported. ${r.error}`;
      hooks.notify(text);
      fileMsg.replaceChildren(banner("error", text));
      return;
    }
    fileMsg.replaceChildren(...(r.notice ? [banner("warn", r.notice)] : []));
    c.importPlan(r.plan);
    hooks.imported();
    hooks.notify(`Imported ${f.name}: ${r.plan.waypoints.length} items. Undo returns to the previous plan.`);
  });

  // The selected waypoint's editor comes first: it is what a click on the map opens, so it
  // must be in view at once (at 1280x800, and right below the map at phone width), not
  // below the title, notes and a route list that grows with the plan.
  const fieldset = h(
    "fieldset",
    { class: "side-inner" },
    h("legend", { class: "visually-hidden" }, "Plan"),
    h("section", { class: "side-section", "aria-label": "Selected waypoint" }, editor),
    layers.element,
    h(
      "section",
      { class: "side-section", "aria-labelledby": "mission-h" },
      h("h2", { id: "mission-h" }, "Mission"),
      field("Title", title),
      field("Notes", notes),
      h(
        "div",
        {},
        field("Cruise speed (m/s)", cruise, "Legs without a speed of their own fly at this speed."),
        cruiseErr.el,
      ),
      originText,
      h("div", { class: "row2" }, field("Origin latitude (°)", originLat), field("Origin longitude (°)", originLon)),
      h("div", { class: "row-actions" }, originBtn),
    ),
    h(
      "section",
      { class: "side-section", "aria-labelledby": "route-h" },
      h("h2", { id: "route-h" }, "Route"),
      routeBox,
      legsBox.element,
    ),
  );
  const importBtn = h(
    "button",
    { type: "button", class: "btn small ghost", onclick: () => importPicker.click() },
    "Import file…",
  );
  const exportButtons = EXPORTS.map((fmt) =>
    h(
      "button",
      {
        type: "button",
        class: "btn small ghost",
        onclick: () => {
          const out = fmt.write(plan());
          downloadText(plan(), name, out.text, fmt.extension, fmt.mime);
          fileMsg.replaceChildren(...out.warnings.map((w) => banner("info", w)));
        },
      },
      `Export ${fmt.label}`,
    ),
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
    h("div", { class: "row-actions" }, ...exportButtons),
    h(
      "p",
      { class: "hint" },
      "Imports QGroundControl .plan, QGC WPL 110 waypoints (.waypoints, .txt) and this page's JSON.",
    ),
    fileMsg,
  );

  return {
    fieldset,
    fileSection,
    renderPlan(s) {
      const p = s.plan;
      route.update(p, { selected: s.selected });
      if (document.activeElement !== title && title.value !== p.title) title.value = p.title;
      if (document.activeElement !== notes && notes.value !== p.notes) notes.value = p.notes;
      syncEditor(s);
      renderOrigin(s);
      legsBox.render(p);
      layers.render(s);
      if (document.activeElement !== cruise && cruise.getAttribute("aria-invalid") !== "true")
        cruise.value = String(p.cruiseSpeed);
    },
    renderLock(s) {
      fieldset.disabled = s.locked;
      importBtn.disabled = s.locked;
      originBtn.disabled = s.locked;
    },
  };
}
