/**
 * The leader's editor for the plan's geofence (polygons and circles, each
 * inclusion or exclusion, the breach-return point) and rally points: a
 * collapsible section of the sidebar. Every change goes through a pure edit of
 * fence.ts; a refused one shows its message under the field (aria-invalid,
 * aria-describedby, announced) and changes nothing, an accepted one is one
 * `c.edit` (one undo step, published like any other change).
 *
 * It is built only while open, and rebuilt only when the layers' shape
 * changes (an area, vertex or point added or removed); otherwise fields
 * without focus follow the plan, so typing is never overwritten by its echo.
 */
import { h } from "../dom.ts";
import {
  addCircle,
  addPolygon,
  addRally,
  clearBreachReturn,
  DEFAULT_RADIUS,
  defaultBreachAlt,
  type EditResult,
  insertVertex,
  planCentre,
  type ReadResult,
  readAlt,
  readLat,
  readLon,
  readRadius,
  removeCircle,
  removePolygon,
  removeRally,
  removeVertex,
  setBreachReturn,
  setPolygonInclusion,
  setVertex,
  squareAround,
  updateCircle,
  updateRally,
} from "../fence.ts";
import type { LatLon } from "../geo.ts";
import type { LeaderController, LeaderState } from "../leader-controller.ts";
import { DEFAULT_ALT, type Plan } from "../plan.ts";

export interface LayersHooks {
  notify(text: string): void;
  /** The map's visible centre, where new areas and points go; without it, the middle of the plan. */
  center?: () => LatLon;
  /** Lets the leader click a place on the map; undefined when cancelled. */
  pickPoint?: (prompt: string) => Promise<LatLon | undefined>;
}

export interface LayersEditor {
  element: HTMLElement;
  render(s: LeaderState): void;
}

/** What a rebuild depends on: the number of areas, vertices and points (not their values). */
function shapeOf(p: Plan): string {
  const f = p.fence;
  return `${f.polygons.map((pg) => pg.points.length).join(",")}|${f.circles.length}|${f.breachReturn ? 1 : 0}|${p.rally.length}`;
}

const AREA_KIND = (inclusion: boolean) => (inclusion ? "inclusion" : "exclusion");

export function layersEditor(c: LeaderController, hooks: LayersHooks): LayersEditor {
  const plan = () => c.state.plan;
  const body = h("div", { class: "layers-body" });
  const details = h(
    "details",
    { class: "side-section layers", "data-testid": "layers-editor" },
    h("summary", { class: "section-summary" }, "Geofence & rally points"),
    body,
  );
  let built: string | undefined;
  /** The id of the control to focus after the next rebuild (the one an action created or next to it). */
  let focusNext: string | undefined;

  const where = (): LatLon => hooks.center?.() ?? planCentre(plan());

  /** Records an accepted edit; a refused one is said (for buttons: no field to show it under). */
  function apply(r: EditResult, said?: string, focus?: string): boolean {
    if (!r.ok) {
      hooks.notify(r.error);
      return false;
    }
    focusNext = focus;
    c.edit(r.plan);
    if (said) hooks.notify(said);
    return true;
  }

  function button(label: string, onclick: () => void, attrs: Record<string, string> = {}, cls = "ghost") {
    return h("button", { type: "button", class: `btn small ${cls}`, onclick, ...attrs }, label);
  }

  /**
   * A number field that edits the plan on change: its text is read (a message under the field
   * when it is not a number in range), then the edit runs (its refusal shown the same way).
   */
  function numberField(
    id: string,
    label: string,
    value: number,
    read: (t: string) => ReadResult,
    edit: (p: Plan, v: number) => EditResult,
    hiddenLabel = false,
  ): HTMLElement {
    const input = h("input", { type: "number", id, step: "any", inputmode: "decimal", value: String(value) });
    const msg = h("small", { class: "field-error", id: `${id}-error`, "aria-live": "polite" });
    input.setAttribute("aria-describedby", msg.id);
    const show = (error: string) => {
      msg.textContent = error;
      if (error) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    };
    input.addEventListener("change", () => {
      const r = read(input.value);
      if (!r.ok) return show(r.error);
      const e = edit(plan(), r.value);
      if (!e.ok) return show(e.error);
      show("");
      c.edit(e.plan);
    });
    return h(
      "div",
      { class: "field" },
      h("label", { for: id, class: hiddenLabel ? "visually-hidden" : undefined }, label),
      input,
      msg,
    );
  }

  function kindSelect(id: string, label: string, inclusion: boolean, set: (inclusion: boolean) => EditResult) {
    const sel = h(
      "select",
      { id },
      h("option", { value: "inclusion", selected: inclusion }, "Inclusion (stay inside)"),
      h("option", { value: "exclusion", selected: !inclusion }, "Exclusion (keep out)"),
    );
    sel.addEventListener("change", () => apply(set(sel.value === "inclusion")));
    return h("div", { class: "field" }, h("label", { for: id }, label), sel);
  }

  // ---- polygons -----------------------------------------------------------------------
  function polygonBlock(p: Plan, i: number): HTMLElement {
    const pg = p.fence.polygons[i];
    if (!pg) return h("div");
    const n = i + 1;
    const rows = pg.points.map((v, j) => {
      const pre = `fence-pg-${i}-v-${j}`;
      return h(
        "div",
        { class: "vertex-row", role: "group", "aria-label": `Vertex ${j + 1}`, "data-testid": `${pre}` },
        h("span", { class: "vn", "aria-hidden": "true" }, String(j + 1)),
        numberField(
          `${pre}-lat`,
          `Polygon ${n} vertex ${j + 1} latitude (°)`,
          v.lat,
          readLat,
          (q, x) => setVertex(q, i, j, { lat: x }),
          true,
        ),
        numberField(
          `${pre}-lon`,
          `Polygon ${n} vertex ${j + 1} longitude (°)`,
          v.lon,
          readLon,
          (q, x) => setVertex(q, i, j, { lon: x }),
          true,
        ),
        button(
          "+",
          () => apply(insertVertex(plan(), i, j), `Added a vertex to polygon ${n}.`, `fence-pg-${i}-v-${j + 1}-lat`),
          { "aria-label": `Add a vertex after vertex ${j + 1} of polygon ${n}`, title: "Add a vertex after this one" },
        ),
        button(
          "×",
          () => apply(removeVertex(plan(), i, j), `Removed vertex ${j + 1} of polygon ${n}.`, `fence-pg-${i}-kind`),
          {
            "aria-label": `Remove vertex ${j + 1} of polygon ${n}`,
            title: "Remove this vertex",
            ...(pg.points.length <= 3 ? { "aria-disabled": "true" } : {}),
          },
        ),
      );
    });
    return h(
      "fieldset",
      { class: "layer-item", "data-testid": `fence-polygon-${i}`, "data-kind": AREA_KIND(pg.inclusion) },
      h("legend", {}, `Polygon ${n}`),
      kindSelect(`fence-pg-${i}-kind`, `Polygon ${n} is`, pg.inclusion, (inc) => setPolygonInclusion(plan(), i, inc)),
      h(
        "div",
        { class: "vertex-head", "aria-hidden": "true" },
        h("span", {}, "#"),
        h("span", {}, "Latitude (°)"),
        h("span", {}, "Longitude (°)"),
      ),
      rows,
      h(
        "div",
        { class: "row-actions" },
        button(
          `Delete polygon ${n}`,
          () => apply(removePolygon(plan(), i), `Deleted polygon ${n}. Undo brings it back.`, "fence-add-polygon"),
          {},
          "danger",
        ),
      ),
    );
  }

  async function pickPolygon() {
    const pick = hooks.pickPoint;
    if (!pick) return;
    const points: LatLon[] = [];
    for (;;) {
      const p = await pick(
        points.length < 3
          ? `Click vertex ${points.length + 1} of the new polygon (Escape cancels).`
          : `Click vertex ${points.length + 1}, or press Escape to finish the polygon with ${points.length} vertices.`,
      );
      if (!p) break;
      points.push(p);
    }
    if (points.length < 3) {
      hooks.notify(points.length ? "A polygon needs at least 3 vertices: nothing was added." : "No polygon added.");
      return;
    }
    const k = plan().fence.polygons.length;
    apply(addPolygon(plan(), points), `Added polygon ${k + 1} with ${points.length} vertices.`, `fence-pg-${k}-kind`);
  }

  // ---- circles ------------------------------------------------------------------------------
  function circleBlock(p: Plan, i: number): HTMLElement {
    const ci = p.fence.circles[i];
    if (!ci) return h("div");
    const n = i + 1;
    const pre = `fence-circle-${i}`;
    return h(
      "fieldset",
      { class: "layer-item", "data-testid": pre, "data-kind": AREA_KIND(ci.inclusion) },
      h("legend", {}, `Circle ${n}`),
      kindSelect(`${pre}-kind`, `Circle ${n} is`, ci.inclusion, (inc) => updateCircle(plan(), i, { inclusion: inc })),
      h(
        "div",
        { class: "row3" },
        numberField(`${pre}-lat`, "Centre latitude (°)", ci.lat, readLat, (q, x) => updateCircle(q, i, { lat: x })),
        numberField(`${pre}-lon`, "Centre longitude (°)", ci.lon, readLon, (q, x) => updateCircle(q, i, { lon: x })),
        numberField(`${pre}-radius`, "Radius (m)", ci.radius, readRadius, (q, x) => updateCircle(q, i, { radius: x })),
      ),
      h(
        "div",
        { class: "row-actions" },
        button(
          `Delete circle ${n}`,
          () => apply(removeCircle(plan(), i), `Deleted circle ${n}. Undo brings it back.`, "fence-add-circle"),
          {},
          "danger",
        ),
      ),
    );
  }

  // ---- breach return -----------------------------------------------------------------------
  function breachBlock(p: Plan): HTMLElement {
    const b = p.fence.breachReturn;
    const setAt = (at: LatLon) =>
      apply(
        setBreachReturn(plan(), { lat: at.lat, lon: at.lon, alt: defaultBreachAlt(plan()) }),
        "Breach-return point set.",
        "fence-breach-lat",
      );
    const content = b
      ? [
          h(
            "div",
            { class: "row3" },
            numberField("fence-breach-lat", "Latitude (°)", b.lat, readLat, (q, x) => setBreachReturn(q, { lat: x })),
            numberField("fence-breach-lon", "Longitude (°)", b.lon, readLon, (q, x) => setBreachReturn(q, { lon: x })),
            numberField("fence-breach-alt", "Altitude AMSL (m)", b.alt, readAlt, (q, x) =>
              setBreachReturn(q, { alt: x }),
            ),
          ),
          h(
            "div",
            { class: "row-actions" },
            button(
              "Clear breach return",
              () => apply(clearBreachReturn(plan()), "Breach-return point cleared.", "fence-breach-set"),
              {},
              "danger",
            ),
          ),
        ]
      : [
          h("p", { class: "hint" }, "Not set: on a breach the vehicle does what its firmware is set to do."),
          h(
            "div",
            { class: "row-actions" },
            button("Set breach-return point", () => setAt(where()), { id: "fence-breach-set" }),
            hooks.pickPoint
              ? button("Pick on map", async () => {
                  const at = await hooks.pickPoint?.("Click the breach-return point (Escape cancels).");
                  if (at) setAt(at);
                })
              : null,
          ),
        ];
    return h(
      "fieldset",
      { class: "layer-item", "data-testid": "fence-breach" },
      h("legend", {}, "Breach-return point"),
      content,
    );
  }

  // ---- rally points ----------------------------------------------------------------------------
  function rallyBlock(p: Plan): HTMLElement {
    const rows = p.rally.map((r, i) => {
      const pre = `rally-${i}`;
      const n = i + 1;
      return h(
        "div",
        { class: "rally-row", role: "group", "aria-label": `Rally point ${n}`, "data-testid": pre },
        h("span", { class: "vn", "aria-hidden": "true" }, String(n)),
        numberField(
          `${pre}-lat`,
          `Rally point ${n} latitude (°)`,
          r.lat,
          readLat,
          (q, x) => updateRally(q, i, { lat: x }),
          true,
        ),
        numberField(
          `${pre}-lon`,
          `Rally point ${n} longitude (°)`,
          r.lon,
          readLon,
          (q, x) => updateRally(q, i, { lon: x }),
          true,
        ),
        numberField(
          `${pre}-alt`,
          `Rally point ${n} altitude (m)`,
          r.alt,
          readAlt,
          (q, x) => updateRally(q, i, { alt: x }),
          true,
        ),
        button(
          "×",
          () => apply(removeRally(plan(), i), `Deleted rally point ${n}. Undo brings it back.`, "rally-add"),
          {
            "aria-label": `Delete rally point ${n}`,
            title: "Delete this rally point",
          },
        ),
      );
    });
    const addAt = (at: LatLon) => {
      const k = plan().rally.length;
      apply(addRally(plan(), { ...at, alt: DEFAULT_ALT }), `Added rally point ${k + 1}.`, `rally-${k}-lat`);
    };
    return h(
      "fieldset",
      { class: "layer-item", "data-testid": "rally-points" },
      h("legend", {}, "Rally points"),
      rows.length
        ? h(
            "div",
            { class: "vertex-head rally", "aria-hidden": "true" },
            h("span", {}, "#"),
            h("span", {}, "Latitude (°)"),
            h("span", {}, "Longitude (°)"),
            h("span", {}, "Altitude (m)"),
          )
        : h("p", { class: "hint" }, "No rally points."),
      rows,
      h(
        "div",
        { class: "row-actions" },
        button("Add rally point", () => addAt(where()), { id: "rally-add" }),
        hooks.pickPoint
          ? button("Pick rally point on map", async () => {
              const at = await hooks.pickPoint?.("Click the new rally point (Escape cancels).");
              if (at) addAt(at);
            })
          : null,
      ),
    );
  }

  function build(p: Plan) {
    const active = document.activeElement;
    const keep = focusNext ?? (active && body.contains(active) ? active.id : undefined);
    focusNext = undefined;
    built = shapeOf(p);
    const addPolygonBtn = button(
      "Add polygon",
      () => {
        const k = plan().fence.polygons.length;
        apply(
          addPolygon(plan(), squareAround(where())),
          `Added polygon ${k + 1}, a square of 500 m.`,
          `fence-pg-${k}-kind`,
        );
      },
      { id: "fence-add-polygon" },
    );
    const addCircleBtn = button(
      "Add circle",
      () => {
        const k = plan().fence.circles.length;
        apply(
          addCircle(plan(), { inclusion: false, ...where(), radius: DEFAULT_RADIUS }),
          `Added circle ${k + 1}, an exclusion of ${DEFAULT_RADIUS} m radius.`,
          `fence-circle-${k}-kind`,
        );
      },
      { id: "fence-add-circle" },
    );
    body.replaceChildren(
      h(
        "p",
        { class: "hint" },
        hooks.center
          ? "New areas and points go to the centre of the map; then edit their numbers here."
          : "New areas and points go to the middle of the plan; then edit their numbers here.",
      ),
      h(
        "fieldset",
        { class: "layer-group" },
        h("legend", {}, "Geofence polygons"),
        p.fence.polygons.length
          ? p.fence.polygons.map((_, i) => polygonBlock(p, i))
          : h("p", { class: "hint" }, "None."),
        h(
          "div",
          { class: "row-actions" },
          addPolygonBtn,
          hooks.pickPoint ? button("Pick polygon on map", () => void pickPolygon()) : null,
        ),
      ),
      h(
        "fieldset",
        { class: "layer-group" },
        h("legend", {}, "Geofence circles"),
        p.fence.circles.length ? p.fence.circles.map((_, i) => circleBlock(p, i)) : h("p", { class: "hint" }, "None."),
        h("div", { class: "row-actions" }, addCircleBtn),
      ),
      breachBlock(p),
      rallyBlock(p),
    );
    if (keep) document.getElementById(keep)?.focus();
  }

  /** Fields without focus (and without a refused value on show) follow the plan. */
  function sync(p: Plan) {
    const set = (id: string, v: number | boolean) => {
      const el = document.getElementById(id) as HTMLInputElement | HTMLSelectElement | null;
      if (!el || document.activeElement === el || el.getAttribute("aria-invalid") === "true") return;
      const text = typeof v === "boolean" ? AREA_KIND(v) : String(v);
      if (el.value !== text) el.value = text;
    };
    p.fence.polygons.forEach((pg, i) => {
      set(`fence-pg-${i}-kind`, pg.inclusion);
      pg.points.forEach((v, j) => {
        set(`fence-pg-${i}-v-${j}-lat`, v.lat);
        set(`fence-pg-${i}-v-${j}-lon`, v.lon);
      });
    });
    p.fence.circles.forEach((ci, i) => {
      set(`fence-circle-${i}-kind`, ci.inclusion);
      set(`fence-circle-${i}-lat`, ci.lat);
      set(`fence-circle-${i}-lon`, ci.lon);
      set(`fence-circle-${i}-radius`, ci.radius);
    });
    const b = p.fence.breachReturn;
    if (b) {
      set("fence-breach-lat", b.lat);
      set("fence-breach-lon", b.lon);
      set("fence-breach-alt", b.alt);
    }
    p.rally.forEach((r, i) => {
      set(`rally-${i}-lat`, r.lat);
      set(`rally-${i}-lon`, r.lon);
      set(`rally-${i}-alt`, r.alt);
    });
    for (const el of body.querySelectorAll<HTMLElement>("[data-kind]")) {
      const sel = el.querySelector("select");
      if (sel) el.dataset.kind = sel.value;
    }
  }

  function render(s: LeaderState) {
    if (!details.open) return;
    if (built !== shapeOf(s.plan) || focusNext) build(s.plan);
    else sync(s.plan);
  }
  details.addEventListener("toggle", () => {
    if (details.open) {
      built = undefined;
      render(c.state);
    }
  });

  return { element: details, render };
}
