/**
 * The offline map: an SVG with a metre grid (x = easting, y = northing in the
 * tangent plane at the plan's origin: geographic plans are projected onto it
 * through plan.ts `toGrid`, clicks and drags come back through `fromGrid`), an
 * optional background image the user loads, zoom and pan, the route between
 * waypoints with each leg's geodesic distance and bearing, the geofence and
 * rally points as layers of their own, and waypoint markers that a leader can
 * click to add, drag, nudge with the keyboard and delete.
 * No tiles, no network: everything is drawn from the plan.
 */
import { s } from "./dom.ts";
import { formatLatLon } from "./geo.ts";
import {
  formatAlt,
  formatBearing,
  formatCoord,
  formatDistance,
  legs,
  type NavItem,
  navItems,
  type Plan,
  TYPE_LABELS,
  toGrid,
  type WaypointType,
} from "./plan.ts";

export interface Point {
  x: number;
  y: number;
}

export interface Background {
  href: string;
  /** World rectangle: x/y of the top-left corner (west, north), size in metres. */
  x: number;
  y: number;
  w: number;
  h: number;
  opacity: number;
}

export interface MapHandlers {
  /** Leader only: a click on empty map. */
  onAdd?(at: Point): void;
  onSelect?(id: string | undefined): void;
  /** Leader only: a drag of a waypoint, in phases. */
  onDrag?(id: string, at: Point, phase: "start" | "move" | "end"): void;
  /** Leader only: arrow keys on a focused waypoint (metres). */
  onNudge?(id: string, dx: number, dy: number): void;
  onDelete?(id: string): void;
}

const MIN_SCALE = 0.002; // px per metre: ~500 km across a 1000 px map
const MAX_SCALE = 50; // 2 cm per pixel
const CLICK_SLOP = 4;

export class PlanMap {
  readonly element: SVGSVGElement;
  private plan: Plan | undefined;
  /** Grid metres of each nav item of `plan` (computed once per plan). */
  private pos = new Map<string, Point>();
  private cx = 500;
  private cy = 500;
  private scale = 0.8;
  /** Size on screen; 0 until the first layout (then the first fit happens). */
  private width = 0;
  private height = 0;
  private selected: string | undefined;
  private highlight = new Set<string>();
  private background: Background | undefined;
  private readonly grid = s("g", { class: "grid", "aria-hidden": "true" });
  private readonly bg = s("g", { class: "bg", "aria-hidden": "true" });
  private readonly layers = s("g", { class: "layers", "aria-hidden": "true" });
  private readonly route = s("g", { class: "route", "aria-hidden": "true" });
  private readonly markers = s("g", { class: "markers" });
  private readonly overlay = s("g", { class: "overlay", "aria-hidden": "true" });
  private readonly readout = s("text", { class: "readout" });
  private readonly markerEls = new Map<string, SVGGElement>();
  private fitted = false;
  /** A follower's map follows the plan until the user zooms or pans by hand. */
  private userMoved = false;

  constructor(
    private readonly editable: boolean,
    private readonly handlers: MapHandlers = {},
    label = "Mission map",
  ) {
    const help = editable
      ? "Click to add a waypoint. Drag waypoints to move them. Keyboard: arrow keys pan, plus and minus zoom, Enter adds a waypoint at the centre."
      : "Arrow keys pan, plus and minus zoom.";
    this.element = s(
      "svg",
      {
        class: `map${editable ? " editable" : ""}`,
        tabindex: 0,
        role: "group",
        "aria-label": `${label}. ${help}`,
        "data-testid": "map",
      },
      s("rect", { class: "sea", x: 0, y: 0, width: "100%", height: "100%" }),
      this.bg,
      this.grid,
      this.layers,
      this.route,
      this.markers,
      this.overlay,
    );
    this.wire();
    new ResizeObserver(() => this.resize()).observe(this.element);
  }

  // ---- public API ----------------------------------------------------------

  setPlan(plan: Plan | undefined): void {
    this.plan = plan;
    this.pos = new Map(plan ? navItems(plan).map((w) => [w.id, toGrid(plan, w)]) : []);
    if (this.width === 0) return; // drawn on the first resize
    if (!this.fitted && plan && this.pos.size > 0) this.fit();
    else if (!this.editable && !this.userMoved && plan && !this.allVisible(plan)) this.fit();
    else this.render();
  }

  setSelected(id: string | undefined): void {
    this.selected = id;
    this.renderMarkers();
  }

  setHighlight(ids: Iterable<string>): void {
    this.highlight = new Set(ids);
    this.renderMarkers();
  }

  setBackground(bg: Background | undefined): void {
    this.background = bg;
    this.render();
  }

  getBackground(): Background | undefined {
    return this.background;
  }

  /** The world rectangle now on screen (for placing a loaded background image). */
  visibleWorld(): { x: number; y: number; w: number; h: number } {
    const tl = this.toWorld(0, 0);
    return { x: tl.x, y: tl.y, w: this.width / this.scale, h: this.height / this.scale };
  }

  center(): Point {
    return { x: this.cx, y: this.cy };
  }

  private allVisible(_plan: Plan): boolean {
    const m = 28;
    return [...this.pos.values()].every((w) => {
      const p = this.toScreen(w);
      return p.sx >= m && p.sx <= this.width - m && p.sy >= m && p.sy <= this.height - m;
    });
  }

  zoom(factor: number, at?: { sx: number; sy: number }): void {
    this.userMoved = true;
    const sx = at?.sx ?? this.width / 2;
    const sy = at?.sy ?? this.height / 2;
    const before = this.toWorld(sx, sy);
    this.scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, this.scale * factor));
    const after = this.toWorld(sx, sy);
    this.cx += before.x - after.x;
    this.cy += before.y - after.y;
    this.render();
  }

  pan(dxPx: number, dyPx: number): void {
    this.userMoved = true;
    this.cx += dxPx / this.scale;
    this.cy -= dyPx / this.scale;
    this.render();
  }

  /** Shows every waypoint (and the background), or a default 1.2 km square. */
  fit(): void {
    this.userMoved = false;
    const pts: Point[] = [...this.pos.values()];
    if (this.background && pts.length === 0) {
      const b = this.background;
      pts.push({ x: b.x, y: b.y }, { x: b.x + b.w, y: b.y - b.h });
    }
    if (pts.length === 0) {
      this.cx = 500;
      this.cy = 500;
      this.scale = Math.min(this.width, this.height) / 1200 || 0.5;
    } else {
      const xs = pts.map((p) => p.x);
      const ys = pts.map((p) => p.y);
      const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
      this.cx = (minX + maxX) / 2;
      this.cy = (minY + maxY) / 2;
      const pad = Math.min(190, Math.min(this.width, this.height) * 0.3);
      const dx = Math.max(maxX - minX, 300);
      const dy = Math.max(maxY - minY, 300);
      this.scale = Math.min((this.width - pad) / dx, (this.height - pad) / dy);
      this.scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, this.scale));
    }
    // For a follower an empty plan's default view does not count: the first waypoints
    // to arrive refit the map. A leader's view never jumps while they place points.
    this.fitted = this.width > 0 && (this.editable || pts.length > 0);
    this.render();
  }

  // ---- coordinates ----------------------------------------------------------

  toScreen(p: Point): { sx: number; sy: number } {
    return { sx: this.width / 2 + (p.x - this.cx) * this.scale, sy: this.height / 2 - (p.y - this.cy) * this.scale };
  }

  toWorld(sx: number, sy: number): Point {
    return { x: this.cx + (sx - this.width / 2) / this.scale, y: this.cy - (sy - this.height / 2) / this.scale };
  }

  private local(e: { clientX: number; clientY: number }): { sx: number; sy: number } {
    const r = this.element.getBoundingClientRect();
    return { sx: e.clientX - r.left, sy: e.clientY - r.top };
  }

  private resize(): void {
    const r = this.element.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) return;
    this.width = r.width;
    this.height = r.height;
    if (!this.fitted) this.fit();
    else this.render();
  }

  // ---- input ---------------------------------------------------------------

  private wire(): void {
    const svg = this.element;
    let gesture:
      | { kind: "pan"; id: number; sx: number; sy: number; cx: number; cy: number; moved: boolean }
      | { kind: "drag"; id: number; wp: string; dx: number; dy: number; sx: number; sy: number; moved: boolean }
      | undefined;

    svg.addEventListener("pointerdown", (e) => {
      if (e.button !== 0) return;
      const p = this.local(e);
      const g = (e.target as Element).closest?.("g.wp") as SVGGElement | null;
      if (g?.dataset.wpId) {
        const id = g.dataset.wpId;
        this.handlers.onSelect?.(id);
        if (this.editable) {
          const wp = this.pos.get(id);
          if (!wp) return;
          const at = this.toScreen(wp);
          gesture = {
            kind: "drag",
            id: e.pointerId,
            wp: id,
            dx: at.sx - p.sx,
            dy: at.sy - p.sy,
            sx: p.sx,
            sy: p.sy,
            moved: false,
          };
          svg.setPointerCapture(e.pointerId);
          e.preventDefault();
        }
        return;
      }
      gesture = { kind: "pan", id: e.pointerId, sx: p.sx, sy: p.sy, cx: this.cx, cy: this.cy, moved: false };
      svg.setPointerCapture(e.pointerId);
    });

    svg.addEventListener("pointermove", (e) => {
      const p = this.local(e);
      const w = this.toWorld(p.sx, p.sy);
      this.readout.textContent = formatCoord(w.x, w.y);
      if (!gesture || gesture.id !== e.pointerId) return;
      const dist = Math.hypot(p.sx - gesture.sx, p.sy - gesture.sy);
      if (gesture.kind === "pan") {
        if (!gesture.moved && dist < CLICK_SLOP) return;
        gesture.moved = true;
        this.userMoved = true;
        svg.classList.add("panning");
        this.cx = gesture.cx - (p.sx - gesture.sx) / this.scale;
        this.cy = gesture.cy + (p.sy - gesture.sy) / this.scale;
        this.render();
      } else {
        if (!gesture.moved && dist < 2) return;
        const at = this.toWorld(p.sx + gesture.dx, p.sy + gesture.dy);
        if (!gesture.moved) this.handlers.onDrag?.(gesture.wp, at, "start");
        gesture.moved = true;
        this.handlers.onDrag?.(gesture.wp, at, "move");
      }
    });

    const finish = (e: PointerEvent, cancelled: boolean) => {
      if (!gesture || gesture.id !== e.pointerId) return;
      const g = gesture;
      gesture = undefined;
      svg.classList.remove("panning");
      if (svg.hasPointerCapture(e.pointerId)) svg.releasePointerCapture(e.pointerId);
      const p = this.local(e);
      if (g.kind === "drag") {
        if (g.moved) this.handlers.onDrag?.(g.wp, this.toWorld(p.sx + g.dx, p.sy + g.dy), "end");
        (this.markerEls.get(g.wp) as SVGGElement | undefined)?.focus({ preventScroll: true });
      } else if (!g.moved && !cancelled) {
        if (this.editable) this.handlers.onAdd?.(this.toWorld(p.sx, p.sy));
        else this.handlers.onSelect?.(undefined);
      }
    };
    svg.addEventListener("pointerup", (e) => finish(e, false));
    svg.addEventListener("pointercancel", (e) => finish(e, true));
    svg.addEventListener("pointerleave", () => {
      this.readout.textContent = "";
    });

    svg.addEventListener(
      "wheel",
      (e) => {
        e.preventDefault();
        const f = Math.exp(-Math.max(-300, Math.min(300, e.deltaY)) * 0.002);
        this.zoom(f, this.local(e));
      },
      { passive: false },
    );

    svg.addEventListener("keydown", (e) => {
      const g = (e.target as Element).closest?.("g.wp") as SVGGElement | null;
      const id = g?.dataset.wpId;
      const step = e.shiftKey ? 100 : 10;
      const arrows: Record<string, [number, number]> = {
        ArrowLeft: [-1, 0],
        ArrowRight: [1, 0],
        ArrowUp: [0, 1],
        ArrowDown: [0, -1],
      };
      const dir = arrows[e.key];
      if (id) {
        if (dir && this.editable) {
          this.handlers.onNudge?.(id, dir[0] * step, dir[1] * step);
        } else if ((e.key === "Delete" || e.key === "Backspace") && this.editable) {
          this.handlers.onDelete?.(id);
        } else if (e.key === "Enter" || e.key === " ") {
          this.handlers.onSelect?.(id);
        } else return;
        e.preventDefault();
        return;
      }
      if (dir) this.pan(dir[0] * 80, -dir[1] * 80);
      else if (e.key === "+" || e.key === "=") this.zoom(1.4);
      else if (e.key === "-" || e.key === "_") this.zoom(1 / 1.4);
      else if (e.key === "0") this.fit();
      else if (e.key === "Enter" && this.editable) this.handlers.onAdd?.(this.center());
      else return;
      e.preventDefault();
    });
  }

  // ---- drawing -------------------------------------------------------------

  render(): void {
    this.renderBackground();
    this.renderGrid();
    this.renderLayers();
    this.renderRoute();
    this.renderMarkers();
    this.renderOverlay();
  }

  private renderBackground(): void {
    const b = this.background;
    if (!b) {
      this.bg.replaceChildren();
      return;
    }
    const tl = this.toScreen({ x: b.x, y: b.y });
    let img = this.bg.firstElementChild as SVGImageElement | null;
    if (!img) {
      img = s("image", { preserveAspectRatio: "none" });
      this.bg.append(img);
    }
    if (img.getAttribute("href") !== b.href) img.setAttribute("href", b.href);
    img.setAttribute("x", String(tl.sx));
    img.setAttribute("y", String(tl.sy));
    img.setAttribute("width", String(b.w * this.scale));
    img.setAttribute("height", String(b.h * this.scale));
    img.setAttribute("opacity", String(b.opacity));
  }

  /** Grid spacing in metres: 1-2-5 steps, about 90-220 px apart. */
  private step(): number {
    const raw = 90 / this.scale;
    const pow = 10 ** Math.floor(Math.log10(raw));
    for (const m of [1, 2, 5, 10]) if (m * pow >= raw) return m * pow;
    return 10 * pow;
  }

  private renderGrid(): void {
    const step = this.step();
    const minor = step / 5;
    const tl = this.toWorld(0, 0);
    const br = this.toWorld(this.width, this.height);
    const lines: string[] = [];
    const minorLines: string[] = [];
    const labels: SVGElement[] = [];
    const fmt = (v: number) =>
      Math.abs(v) >= 10_000 ? `${(v / 1000).toFixed(step >= 1000 ? 0 : 1)}k` : String(Math.round(v));
    if (minor * this.scale >= 14) {
      for (let x = Math.ceil(tl.x / minor) * minor; x <= br.x; x += minor) {
        const sx = this.toScreen({ x, y: 0 }).sx;
        minorLines.push(`M${sx.toFixed(1)} 0V${this.height}`);
      }
      for (let y = Math.ceil(br.y / minor) * minor; y <= tl.y; y += minor) {
        const sy = this.toScreen({ x: 0, y }).sy;
        minorLines.push(`M0 ${sy.toFixed(1)}H${this.width}`);
      }
    }
    for (let x = Math.ceil(tl.x / step) * step; x <= br.x; x += step) {
      const sx = this.toScreen({ x, y: 0 }).sx;
      lines.push(`M${sx.toFixed(1)} 0V${this.height}`);
      if (sx > 44 && sx < this.width - 64) labels.push(s("text", { x: sx + 3, y: 12, class: "glabel" }, `E ${fmt(x)}`));
    }
    for (let y = Math.ceil(br.y / step) * step; y <= tl.y; y += step) {
      const sy = this.toScreen({ x: 0, y }).sy;
      lines.push(`M0 ${sy.toFixed(1)}H${this.width}`);
      if (sy > 30 && sy < this.height - 44) labels.push(s("text", { x: 4, y: sy - 4, class: "glabel" }, `N ${fmt(y)}`));
    }
    const o = this.toScreen({ x: 0, y: 0 });
    this.grid.replaceChildren(
      s("path", { class: "gminor", d: minorLines.join("") }),
      s("path", { class: "gmajor", d: lines.join("") }),
      s("path", { class: "gaxis", d: `M${o.sx} 0V${this.height}M0 ${o.sy}H${this.width}` }),
      ...labels,
    );
  }

  /** Geofence polygons and circles (inclusion green, exclusion red), rally points and the home position. */
  private renderLayers(): void {
    const plan = this.plan;
    if (!plan) {
      this.layers.replaceChildren();
      return;
    }
    const parts: SVGElement[] = [];
    const screen = (p: { lat: number; lon: number }) => this.toScreen(toGrid(plan, p));
    for (const pg of plan.fence.polygons) {
      const d = `${pg.points
        .map((p, i) => {
          const q = screen(p);
          return `${i ? "L" : "M"}${q.sx.toFixed(1)} ${q.sy.toFixed(1)}`;
        })
        .join("")}Z`;
      parts.push(s("path", { class: `fence ${pg.inclusion ? "inclusion" : "exclusion"}`, d }));
    }
    for (const c of plan.fence.circles) {
      const q = screen(c);
      parts.push(
        s("circle", {
          class: `fence ${c.inclusion ? "inclusion" : "exclusion"}`,
          cx: q.sx.toFixed(1),
          cy: q.sy.toFixed(1),
          r: Math.max(1, c.radius * this.scale).toFixed(1),
        }),
      );
    }
    for (const r of plan.rally) {
      const q = screen(r);
      parts.push(
        s(
          "g",
          { class: "rally-point", transform: `translate(${q.sx.toFixed(1)} ${q.sy.toFixed(1)})` },
          s("path", { d: "M-7 -7H7V7H-7Z" }),
          s("text", { "text-anchor": "middle", dy: "0.35em" }, "R"),
        ),
      );
    }
    if (plan.home) {
      const q = screen(plan.home);
      parts.push(
        s(
          "g",
          { class: "home-point", transform: `translate(${q.sx.toFixed(1)} ${q.sy.toFixed(1)})` },
          s("path", { d: "M0 -10L10 0V9H-10V0Z" }),
          s("text", { "text-anchor": "middle", dy: "0.45em" }, "H"),
        ),
      );
    }
    this.layers.replaceChildren(...parts);
  }

  private renderRoute(): void {
    const plan = this.plan;
    const nav = plan ? navItems(plan) : [];
    if (!plan || nav.length < 2) {
      this.route.replaceChildren();
      return;
    }
    const pts = nav.map((w) => this.toScreen(this.pos.get(w.id) as Point));
    const d = pts.map((p, i) => `${i ? "L" : "M"}${p.sx.toFixed(1)} ${p.sy.toFixed(1)}`).join("");
    const parts: SVGElement[] = [s("path", { class: "leg-casing", d }), s("path", { class: "leg-line", d })];
    legs(plan).forEach((leg, i) => {
      const a = pts[i] as { sx: number; sy: number };
      const b = pts[i + 1] as { sx: number; sy: number };
      const len = Math.hypot(b.sx - a.sx, b.sy - a.sy);
      if (len < 28) return;
      const ang = (Math.atan2(b.sy - a.sy, b.sx - a.sx) * 180) / Math.PI;
      const mx = a.sx + (b.sx - a.sx) * 0.5;
      const my = a.sy + (b.sy - a.sy) * 0.5;
      parts.push(
        s("path", { class: "leg-arrow", d: "M-6 -5L4 0L-6 5Z", transform: `translate(${mx} ${my}) rotate(${ang})` }),
      );
      if (len < 90) return;
      // Keep the label upright and a little off the line.
      const up = ang > 90 || ang < -90 ? ang + 180 : ang;
      parts.push(
        s(
          "text",
          {
            class: "leg-label",
            transform: `translate(${mx} ${my}) rotate(${up}) translate(0 -9)`,
            "text-anchor": "middle",
          },
          `${formatDistance(leg.metres)} · ${formatBearing(leg.bearing)}`,
        ),
      );
    });
    this.route.replaceChildren(...parts);
  }

  private renderMarkers(): void {
    const plan = this.plan;
    const all = plan?.waypoints ?? [];
    // A marker's number is the item's number in the route list (non-nav items count too).
    const wps = all.flatMap((w, n) => (w.kind === "nav" ? [{ wp: w, n }] : []));
    const seen = new Set<string>();
    const focused = document.activeElement;
    wps.forEach(({ wp, n }, i) => {
      seen.add(wp.id);
      let g = this.markerEls.get(wp.id);
      if (!g) {
        g = this.createMarker(wp.id);
        this.markerEls.set(wp.id, g);
      }
      this.updateMarker(g, wp, n);
      if (this.markers.children[i] !== g) this.markers.insertBefore(g, this.markers.children[i] ?? null);
    });
    for (const [id, g] of this.markerEls) {
      if (!seen.has(id)) {
        g.remove();
        this.markerEls.delete(id);
      }
    }
    if (focused instanceof SVGGElement && focused.isConnected && document.activeElement !== focused) focused.focus();
  }

  private createMarker(id: string): SVGGElement {
    const g = s("g", { class: "wp", "data-wp-id": id, tabindex: 0, role: this.editable ? "button" : "img" });
    g.append(
      s("title"),
      s("circle", { class: "halo", r: 21 }),
      s("path", { class: "shape" }),
      s("text", { class: "num", "text-anchor": "middle", dy: "0.35em" }),
      s("text", { class: "name", x: 19, dy: "0.35em" }),
    );
    return g;
  }

  private updateMarker(g: SVGGElement, wp: NavItem, i: number): void {
    const grid = this.pos.get(wp.id) ?? { x: 0, y: 0 };
    const p = this.toScreen(grid);
    g.setAttribute("transform", `translate(${p.sx.toFixed(1)} ${p.sy.toFixed(1)})`);
    g.setAttribute(
      "class",
      `wp t-${wp.type}${wp.id === this.selected ? " selected" : ""}${this.highlight.has(wp.id) ? " changed" : ""}`,
    );
    // Grid metres to the decimetre (what a test or a reader compares), and the real place.
    g.dataset.x = String(Math.round(grid.x * 10) / 10);
    g.dataset.y = String(Math.round(grid.y * 10) / 10);
    g.dataset.lat = String(wp.lat);
    g.dataset.lon = String(wp.lon);
    g.dataset.type = wp.type;
    g.dataset.name = wp.name;
    const label = `${i + 1}. ${wp.name}, ${TYPE_LABELS[wp.type]}, ${formatLatLon(wp)}, ${formatAlt(wp)}`;
    // An SVG <title> names the marker (an aria-label would not match its visible text).
    (g.querySelector("title") as Element).textContent = this.editable
      ? `${label}. Arrow keys move it, Delete removes it.`
      : label;
    const shape = g.querySelector(".shape") as SVGPathElement;
    shape.setAttribute("d", SHAPES[wp.type]);
    (g.querySelector(".num") as SVGTextElement).textContent = String(i + 1);
    const nameEl = g.querySelector(".name") as SVGTextElement;
    nameEl.textContent = wp.name;
    // Near the right edge the name goes on the left so it is not cut off.
    const flip = p.sx > this.width - Math.min(160, 8 + wp.name.length * 7.5);
    nameEl.setAttribute("x", flip ? "-19" : "19");
    nameEl.setAttribute("text-anchor", flip ? "end" : "start");
  }

  private renderOverlay(): void {
    const step = this.step();
    const len = step * this.scale;
    const x = 14;
    const y = this.height - 16;
    this.overlay.replaceChildren(
      s("path", { class: "scalebar-bg", d: `M${x - 6} ${y - 20}h${len + 12}v28h${-(len + 12)}Z` }),
      s("path", { class: "scalebar", d: `M${x} ${y - 5}V${y}H${x + len}V${y - 5}` }),
      s("text", { class: "scalebar-text", x: x + len / 2, y: y - 8, "text-anchor": "middle" }, formatDistance(step)),
      s(
        "g",
        { class: "north", transform: `translate(${this.width - 26} 30)` },
        s("path", { d: "M0 -16L7 6L0 1L-7 6Z" }),
        s("text", { y: 20, "text-anchor": "middle" }, "N"),
      ),
      Object.assign(this.readout, {}),
    );
    this.readout.setAttribute("x", String(this.width - 12));
    this.readout.setAttribute("y", String(this.height - 12));
    this.readout.setAttribute("text-anchor", "end");
  }
}

/** One outline per type, so types differ by shape as well as colour. */
const SHAPES: Record<WaypointType, string> = {
  start: "M0 -17L16 11H-16Z",
  waypoint: "M-12 0A12 12 0 1 0 12 0A12 12 0 1 0 -12 0Z",
  target: "M0 -16L16 0L0 16L-16 0Z",
  rally: "M-12 -12H12V12H-12Z",
  landing: "M-7.5 -14H7.5L14 -7.5V7.5L7.5 14H-7.5L-14 7.5V-7.5Z",
};
