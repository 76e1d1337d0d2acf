/** Pieces shared by the leader and follower views. */
import { field, h, s } from "../dom.ts";
import { formatDuration, formatLatLon } from "../geo.ts";
import { streamNameTooLong } from "../names.ts";
import {
  commandLabel,
  formatAlt,
  formatBearing,
  formatDistance,
  type Item,
  itemName,
  type Leg,
  legs,
  type Plan,
  TYPE_LABELS,
  totalDistance,
  totalTime,
  type WaypointType,
} from "../plan.ts";

export function typeIcon(type: WaypointType): SVGSVGElement {
  const d: Record<WaypointType, string> = {
    start: "M8 1.5L15 14H1Z",
    waypoint: "M2 8A6 6 0 1 0 14 8A6 6 0 1 0 2 8Z",
    target: "M8 0.5L15.5 8L8 15.5L0.5 8Z",
    rally: "M2 2H14V14H2Z",
    landing: "M5 1H11L15 5V11L11 15H5L1 11V5Z",
  };
  return s(
    "svg",
    { class: `icon t-${type}`, viewBox: "0 0 16 16", width: 16, height: 16, "aria-hidden": "true" },
    s("path", { d: d[type] }),
  );
}

export interface RouteListOptions {
  selected?: string | undefined;
  highlight?: Set<string>;
  onSelect?: (id: string) => void;
  /**
   * Rows from the last call, by waypoint id (the caller keeps it between calls): a row
   * whose item (the same object), number, leg and marks are unchanged is reused, so a
   * drag in a big plan rebuilds the two rows whose legs moved, not every row.
   */
  rows?: Map<string, RouteRow>;
}

export interface RouteRow {
  item: Item;
  key: string;
  el: HTMLElement;
}

/** What a row says under an item's name: its command and place, or why it cannot be edited here. */
function itemMeta(w: Item): string {
  if (w.kind === "nav") {
    const what = w.command === 16 ? TYPE_LABELS[w.type] : `${TYPE_LABELS[w.type]} · ${commandLabel(w.command)}`;
    return `${what} · ${formatLatLon(w)} · ${formatAlt(w)}`;
  }
  if (w.kind === "cmd")
    return `${commandLabel(w.command)} (MAV_CMD ${w.command}) · kept as imported, not editable here`;
  return `${String(w.raw.complexItemType ?? "complex item")} · kept as imported, not editable here`;
}

/** The ordered mission: one row per item, with the leg that ends at each waypoint. */
export function routeList(plan: Plan, o: RouteListOptions = {}): HTMLElement {
  if (plan.waypoints.length === 0) {
    o.rows?.clear();
    return h(
      "p",
      { class: "empty" },
      o.onSelect ? "No waypoints yet. Click the map to add the start point." : "No waypoints yet.",
    );
  }
  const legTo = new Map<string, Leg>(legs(plan).map((l) => [l.to.id, l]));
  const seen = o.rows ? new Set<string>() : undefined;
  const list = h(
    "ol",
    { class: "route-list", "data-testid": "route-list" },
    plan.waypoints.map((w, i) => {
      const leg = legTo.get(w.id);
      const legText = leg ? `${formatDistance(leg.metres)} ${formatBearing(leg.bearing)}` : "";
      const key = `${i}|${legText}|${w.id === o.selected}|${o.highlight?.has(w.id) === true}|${o.onSelect !== undefined}`;
      const kept = o.rows?.get(w.id);
      if (kept && kept.item === w && kept.key === key) {
        seen?.add(w.id);
        return kept.el;
      }
      const body = [
        h(
          "span",
          { class: "badge" },
          w.kind === "nav" ? typeIcon(w.type) : null,
          h("span", { class: "n" }, String(i + 1)),
        ),
        h(
          "span",
          { class: "what" },
          h("span", { class: "wname" }, itemName(w) || "(unnamed)"),
          h("span", { class: "wmeta" }, itemMeta(w)),
        ),
        h(
          "span",
          { class: "leg" },
          leg ? `${formatDistance(leg.metres)}` : "—",
          leg ? h("small", {}, formatBearing(leg.bearing)) : null,
        ),
      ];
      const cls =
        `${w.id === o.selected ? "selected " : ""}${o.highlight?.has(w.id) ? "changed " : ""}${w.kind === "nav" ? "" : "kept"}`.trim();
      const el = h(
        "li",
        { class: cls || undefined, "data-wp-id": w.id },
        o.onSelect
          ? h(
              "button",
              {
                type: "button",
                class: "route-item",
                "aria-pressed": w.id === o.selected ? "true" : "false",
                onclick: () => o.onSelect?.(w.id),
              },
              body,
            )
          : h("div", { class: "route-item" }, body),
      );
      seen?.add(w.id);
      o.rows?.set(w.id, { item: w, key, el });
      return el;
    }),
  );
  if (seen && o.rows) for (const id of o.rows.keys()) if (!seen.has(id)) o.rows.delete(id);
  return list;
}

export function routeSummary(plan: Plan): HTMLElement {
  const ls = legs(plan);
  const n = ls.length + (plan.waypoints.some((w) => w.kind === "nav") ? 1 : 0);
  const other = plan.waypoints.length - n;
  const layers = [
    plan.fence.polygons.length + plan.fence.circles.length
      ? `${plan.fence.polygons.length + plan.fence.circles.length} fence area(s)`
      : "",
    plan.rally.length ? `${plan.rally.length} rally point${plan.rally.length === 1 ? "" : "s"}` : "",
  ].filter(Boolean);
  return h(
    "p",
    { class: "route-summary", "data-testid": "route-total" },
    h("strong", {}, formatDistance(totalDistance(plan))),
    ` total · about ${formatDuration(totalTime(plan))} at ${plan.cruiseSpeed} m/s cruise · ${n} waypoint${n === 1 ? "" : "s"} · ${ls.length} leg${ls.length === 1 ? "" : "s"}`,
    other > 0 ? ` · ${other} other item${other === 1 ? "" : "s"}` : "",
    layers.length ? ` · ${layers.join(" · ")}` : "",
  );
}

export function legend(): HTMLElement {
  const types: WaypointType[] = ["start", "waypoint", "target", "rally", "landing"];
  return h(
    "ul",
    { class: "legend", "aria-label": "Map key" },
    types.map((t) => h("li", {}, typeIcon(t), TYPE_LABELS[t])),
  );
}

export function downloadPlan(plan: Plan, fallbackName: string, json: string): void {
  downloadText(plan, fallbackName, json, ".plan.json", "application/json");
}

/** Saves `text` as "<plan title>.<extension>". */
export function downloadText(plan: Plan, fallbackName: string, text: string, extension: string, mime: string): void {
  const slug =
    (plan.title || fallbackName || "mission")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "") || "mission";
  const url = URL.createObjectURL(new Blob([text], { type: mime }));
  const a = h("a", { href: url, download: `${slug}${extension}` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** A hidden file input driven by a visible button. */
export function filePicker(accept: string, onFile: (f: File) => void): HTMLInputElement {
  const input = h("input", { type: "file", accept, class: "visually-hidden", tabindex: -1, "aria-hidden": "true" });
  input.addEventListener("change", () => {
    const f = input.files?.[0];
    input.value = "";
    if (f) onFile(f);
  });
  return input;
}

export function banner(kind: "error" | "warn" | "info" | "ok", ...content: (Node | string)[]): HTMLElement {
  return h("div", { class: `banner ${kind}`, role: kind === "error" ? "alert" : "status" }, ...content);
}

/** The keyboard shortcuts, one click away. */
export function keyHelp(editable: boolean): HTMLElement {
  const rows: [string, string][] = [
    ["Tab", "Move between the map, its waypoints and the controls"],
    ["Arrow keys", "Pan the map (when the map has focus)"],
    ["+ / −", "Zoom in / out; 0 fits the plan"],
  ];
  if (editable) {
    rows.push(
      ["Enter", "Add a waypoint at the map centre"],
      ["Arrow keys", "Move the focused waypoint 10 m (Shift: 100 m)"],
      ["Delete", "Remove the focused waypoint"],
      ["Ctrl+Z / Ctrl+Shift+Z", "Undo / redo"],
    );
  }
  return h(
    "details",
    { class: "keys" },
    h("summary", {}, "Keyboard shortcuts"),
    h(
      "dl",
      {},
      rows.map(([k, v]) => [h("dt", {}, h("kbd", {}, k)), h("dd", {}, v)]),
    ),
  );
}

/**
 * Replaces a container's content but keeps keyboard focus on the same route
 * item (by waypoint id), so re-rendering on every change never drops focus.
 */
export function replaceKeepingFocus(container: HTMLElement, ...nodes: Node[]): void {
  const active = document.activeElement;
  const id =
    active && container.contains(active) ? active.closest<HTMLElement>("[data-wp-id]")?.dataset.wpId : undefined;
  container.replaceChildren(...nodes);
  if (id) container.querySelector<HTMLElement>(`[data-wp-id="${CSS.escape(id)}"] button`)?.focus();
}

/**
 * A stream-name field that refuses, as it is typed, a name longer than the
 * relay takes in UTF-8 bytes (names.ts): the message sits under the field and
 * is announced, the input is marked invalid, and its custom validity carries
 * the message so the form's submit refuses it too (home.ts).
 */
export function streamNameField(label: string, input: HTMLInputElement): HTMLElement {
  const f = field(label, input);
  const msg = h("small", { class: "field-error", id: `${input.id}-error`, "aria-live": "polite" });
  input.setAttribute("aria-describedby", msg.id);
  const check = () => {
    const problem = streamNameTooLong(input.value) ?? "";
    if (msg.textContent !== problem) msg.textContent = problem;
    input.setCustomValidity(problem);
    if (problem) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  };
  input.addEventListener("input", check);
  f.append(msg);
  return f;
}
