/** Pieces shared by the leader and follower views. */
import { field, h, s } from "../dom.ts";
import { formatDuration } from "../geo.ts";
import { streamNameTooLong } from "../names.ts";
import { formatDistance, type Leg, legs, type Plan, TYPE_LABELS, type WaypointType } from "../plan.ts";

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

/** `ls`: the plan's legs when the caller has them already (one Vincenty pass, not two). */
export function routeSummary(plan: Plan, ls: readonly Leg[] = legs(plan)): HTMLElement {
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
    h("strong", {}, formatDistance(ls.reduce((sum, l) => sum + l.metres, 0))),
    ` total · about ${formatDuration(ls.reduce((sum, l) => sum + l.seconds, 0))} at ${plan.cruiseSpeed} m/s cruise · ${n} waypoint${n === 1 ? "" : "s"} · ${ls.length} leg${ls.length === 1 ? "" : "s"}`,
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
