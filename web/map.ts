/**
 * The mission map on Leaflet 1.9: a real map in WGS84 (Web Mercator on screen).
 * Why Leaflet and not MapLibre (web/README.md): no WebGL (field laptops without
 * a GPU, headless test browsers), DOM markers that stay keyboard-focusable,
 * image overlays for georeferenced charts, small.
 *
 * Layers, bottom to top (each its own pane): the offline basemap (Natural
 * Earth land and borders on a canvas, map/basemap.ts), an optional raster tile
 * layer (relay-config.json `map.tileUrl`), a background chart (image overlay),
 * the graticule (canvas + labels), the geofence (SVG), the route (one canvas
 * polyline per leg, so a drag redraws only the two legs at the moved
 * waypoint), leg labels and waypoint names (decluttered, map/declutter.ts),
 * home and rally points, the waypoint markers (DOM, focusable: the pointer,
 * focus, labels, rings and names), their drawings (one canvas, map/glyphs.ts),
 * the measure line.
 *
 * Finding a marker (tests, bench/): every waypoint marker is the element
 * `[data-testid="map"] .wp[data-wp-id="<waypoint id>"]`, with data-lat,
 * data-lon, data-name, data-type and data-n (its number on the map).
 *
 * setPlan is incremental: markers and legs are diffed by waypoint id and only
 * what changed is touched (a plan edit keeps the unchanged items' objects).
 */
import * as L from "leaflet";
import "leaflet/dist/leaflet.css";
import "./map/map.css";
import { formatLatLon, fromLocal, inverse, type LatLon } from "./geo.ts";
import { addBasemap } from "./map/basemap.ts";
import { crowding, declutter, type LabelBox } from "./map/declutter.ts";
import { DOT_PX, Glyph, GlyphCanvas, type Look, MARKER_PX } from "./map/glyphs.ts";
import { graticule } from "./map/graticule.ts";
import { Measure } from "./map/measure.ts";
import type { TileSource } from "./map-config.ts";
import { formatAlt, formatBearing, formatDistance, type NavItem, type Plan, TYPE_LABELS } from "./plan.ts";

export type { LatLon, TileSource };

// Leaflet places every marker with translate3d(), and Chromium gives each 3D transform its
// own compositing layer: with 2,000 waypoints, 2,000 layers made every frame of a drag cost
// ~100 ms outside any script (bench scenario 12: 16 fps, with 2D translate 42 fps). Leaflet
// reads `ie3d` at each placement only to pick translate() over translate3d(); zoom and pan
// animations still run (any3d stays true), and the panes are layers of their own (map.css).
(L.Browser as { ie3d: boolean }).ie3d = true;

/** More highlighted markers than this, and their rings do not pulse (setHighlight). */
export const PULSE_MAX = 20;

/** South-west / north-east corners, degrees. */
export interface GeoBounds {
  south: number;
  west: number;
  north: number;
  east: number;
}

export interface Background {
  href: string;
  bounds: GeoBounds;
  opacity: number;
}

export interface MapHandlers {
  /** Leader only: a click on empty map. */
  onAdd?(at: LatLon): void;
  onSelect?(id: string | undefined): void;
  /** Leader only: a drag of a waypoint, in phases. */
  onDrag?(id: string, at: LatLon, phase: "start" | "move" | "end"): void;
  /** Leader only: arrow keys on a focused waypoint (metres east, north). */
  onNudge?(id: string, east: number, north: number): void;
  onDelete?(id: string): void;
}

/** A field-sized first view (about 1.2 km across) when there is nothing to fit. */
const EMPTY_ZOOM = 15;
const FIT_MAX_ZOOM = 17;
/** Above this many markers in view, waypoint names are not drawn (zoomed out). */
const MAX_NAMED = 250;
/** Markers turn to dots once this share of those in view would cover a neighbour. */
const DENSE_SHARE = 0.25;
/** Plan changes place labels at most this often (placeLabels walks every marker). */
const LABELS_EVERY_MS = 250;
/** A leg gets a label only when it is at least this long on screen. */
const MIN_LABEL_LEG_PX = 90;

interface MarkerEntry {
  wp: NavItem;
  n: number;
  marker: L.Marker;
  /** Its drawing, on the markers' canvas (map/glyphs.ts). */
  glyph: Glyph;
  /** Keyboard focus (focus-visible): drawn full size even when crowded, as map.css sizes its hit area. */
  focused: boolean;
  el: HTMLElement | undefined;
  /** The name beside the marker (placeLabels shows or hides it for every marker, often). */
  nameEl: HTMLElement | undefined;
}

interface LegEntry {
  from: string;
  to: string;
  a: LatLon;
  b: LatLon;
  metres: number;
  bearing: number;
  line: L.Polyline;
  label: L.Marker | undefined;
}

const PANES: [string, number][] = [
  ["basemap", 150],
  // tilePane is 200: tiles cover the offline land where they load.
  ["chart", 240],
  ["graticule", 250],
  ["fence", 380],
  ["route", 390],
  ["leglabels", 450],
  ["points", 560],
  // markerPane is 600: the markers' DOM (pointer, focus, rings, names), drawn by the canvas above it.
  ["glyphs", 610],
  ["measure", 650],
];

export class PlanMap {
  readonly element: HTMLDivElement;
  readonly map: L.Map;
  private plan: Plan | undefined;
  private readonly items = new Map<string, MarkerEntry>();
  private readonly legs = new Map<string, LegEntry>();
  private selected: string | undefined;
  private highlight = new Set<string>();
  private background: { bg: Background; layer: L.ImageOverlay } | undefined;
  private readonly routeRenderer: L.Canvas;
  private readonly gratRenderer: L.Canvas;
  private readonly glyphRenderer: L.Canvas;
  private dense = false;
  private readonly fenceLayer = L.layerGroup();
  private readonly pointsLayer = L.layerGroup();
  private readonly gratLayer = L.layerGroup();
  private readonly legLabels = L.layerGroup();
  private readonly status: HTMLDivElement;
  private readonly readout: HTMLDivElement;
  private tiles: L.TileLayer | undefined;
  private fitted = false;
  /** A follower's map follows the plan until the user zooms or pans by hand. */
  private userMoved = false;
  private dragging: string | undefined;
  private labelsQueued = false;
  private labelsAt = 0;
  private pick: { resolve: (p: LatLon | undefined) => void } | undefined;
  private measure: Measure | undefined;
  private measureLayer = L.layerGroup();
  private onMeasureEnd: (() => void) | undefined;

  constructor(
    private readonly editable: boolean,
    private readonly handlers: MapHandlers = {},
    label = "Mission map",
  ) {
    const help = editable
      ? "Click to add a waypoint. Drag waypoints to move them. Keyboard: arrow keys pan, plus and minus zoom, Enter adds a waypoint at the centre."
      : "Arrow keys pan, plus and minus zoom.";
    this.element = document.createElement("div");
    this.element.className = `map${editable ? " editable" : ""}`;
    this.element.dataset.testid = "map";
    this.map = L.map(this.element, {
      zoomControl: false,
      attributionControl: true,
      keyboard: true,
      worldCopyJump: false,
      maxBounds: [
        [-89, -540],
        [89, 540],
      ],
      minZoom: 1,
      maxZoom: 21,
      zoomSnap: 0.25,
      wheelPxPerZoomLevel: 120,
      boxZoom: false,
      doubleClickZoom: false,
    });
    // Leaflet makes the container focusable; it is the map's one tab stop before its markers.
    this.element.setAttribute("role", "group");
    this.element.setAttribute("aria-label", `${label}. ${help}`);
    this.element.tabIndex = 0;
    this.map.attributionControl.setPrefix(false);
    this.map.attributionControl.addAttribution("Basemap: Natural Earth");
    for (const [name, z] of PANES) {
      const p = this.map.createPane(name);
      p.style.zIndex = String(z);
      p.setAttribute("aria-hidden", "true");
    }
    this.routeRenderer = L.canvas({ pane: "route", padding: 0.2 });
    this.gratRenderer = L.canvas({ pane: "graticule", padding: 0.1 });
    // The markers' drawings: over their DOM elements, which still take every pointer event.
    this.glyphRenderer = new GlyphCanvas({ pane: "glyphs", padding: 0.2 });
    (this.map.getPane("glyphs") as HTMLElement).style.pointerEvents = "none";
    this.map.setView([0, 0], EMPTY_ZOOM);
    addBasemap(this.map, "basemap", (scale, n) => {
      this.element.dataset.basemap = scale;
      this.element.dataset.basemapFeatures = String(n);
    });
    this.gratLayer.addTo(this.map);
    this.fenceLayer.addTo(this.map);
    this.legLabels.addTo(this.map);
    this.pointsLayer.addTo(this.map);
    this.measureLayer.addTo(this.map);
    this.status = document.createElement("div");
    this.status.className = "map-status";
    this.status.setAttribute("role", "status");
    this.readout = document.createElement("div");
    this.readout.className = "map-readout";
    this.readout.setAttribute("aria-hidden", "true");
    this.element.append(this.status, this.readout);
    this.wire();
    new ResizeObserver(() => this.resize()).observe(this.element);
  }

  // ---- public API ----------------------------------------------------------

  /**
   * A raster tile layer (relay-config.json `map`) over the offline land, under
   * everything else; `notice` (a tile setting that is not used, and why) is shown on the map.
   */
  setTiles(tiles: TileSource | undefined, notice?: string): void {
    this.tiles?.remove();
    this.tiles = undefined;
    if (tiles) {
      this.tiles = L.tileLayer(tiles.tileUrl, {
        // Leaflet writes attributions as HTML: the config's text is shown as text.
        attribution: escapeHtml(tiles.attribution ?? ""),
        maxZoom: 21,
        maxNativeZoom: tiles.maxZoom ?? 19,
      }).addTo(this.map);
    }
    this.element.dataset.tiles = tiles ? "on" : "off";
    if (notice) this.setStatus(notice);
  }

  setPlan(plan: Plan | undefined): void {
    const before = this.plan;
    this.plan = plan;
    this.syncMarkers();
    this.syncLegs();
    if (!before || before.fence !== plan?.fence || before.rally !== plan?.rally || before.home !== plan?.home)
      this.syncLayers();
    if (!this.hasSize()) return; // fitted on the first resize
    if (!this.fitted && plan && this.items.size > 0) this.fit();
    else if (!this.editable && !this.userMoved && plan && !this.allVisible()) this.fit();
    else if (!this.dragging) this.queueLabels(true);
  }

  setSelected(id: string | undefined): void {
    if (id === this.selected) return;
    const old = this.selected;
    this.selected = id;
    for (const x of [old, id]) {
      const e = x === undefined ? undefined : this.items.get(x);
      if (e) this.decorate(e);
    }
  }

  setHighlight(ids: Iterable<string>): void {
    const next = new Set(ids);
    const touched = new Set([...this.highlight, ...next]);
    this.highlight = next;
    // A fresh change's rings pulse (map.css) when a few markers changed; an import of 2,000
    // would animate 2,000 layers at once, and says no more than the rings alone do.
    this.element.classList.toggle("many-changed", next.size > PULSE_MAX);
    for (const id of touched) {
      const e = this.items.get(id);
      if (e) this.decorate(e);
    }
  }

  setBackground(bg: Background | undefined): void {
    if (!bg) {
      this.background?.layer.remove();
      this.background = undefined;
      return;
    }
    const bounds = toLatLngBounds(bg.bounds);
    if (this.background && this.background.bg.href === bg.href) {
      this.background.layer.setBounds(bounds);
      this.background.layer.setOpacity(bg.opacity);
      this.background.bg = bg;
      return;
    }
    this.background?.layer.remove();
    const layer = L.imageOverlay(bg.href, bounds, { opacity: bg.opacity, pane: "chart", interactive: false, alt: "" });
    layer.addTo(this.map);
    layer.getElement()?.classList.add("bg-image");
    this.background = { bg, layer };
  }

  getBackground(): Background | undefined {
    return this.background?.bg;
  }

  /** The area now on screen. */
  visibleWorld(): GeoBounds {
    return fromLatLngBounds(this.map.getBounds());
  }

  /** Where an image of `aspect` (height / width) goes by default: inside the view, top-left aligned. */
  boundsForImage(aspect: number): GeoBounds {
    const size = this.map.getSize();
    let w = size.x;
    let h = w * aspect;
    if (h > size.y) {
      h = size.y;
      w = h / aspect;
    }
    const nw = this.map.containerPointToLatLng([0, 0]);
    const se = this.map.containerPointToLatLng([w, h]);
    return { south: se.lat, west: nw.lng, north: nw.lat, east: se.lng };
  }

  center(): LatLon {
    const c = this.map.getCenter();
    return { lat: c.lat, lon: c.lng };
  }

  zoom(factor: number): void {
    this.userMoved = true;
    this.map.setZoom(this.map.getZoom() + Math.log2(factor));
  }

  pan(dxPx: number, dyPx: number): void {
    this.userMoved = true;
    this.map.panBy([dxPx, dyPx]);
  }

  /** Shows every waypoint, the home, fence and rally points (or the background, or the plan's origin). */
  fit(): void {
    this.userMoved = false;
    const pts: L.LatLngExpression[] = [];
    for (const e of this.items.values()) pts.push([e.wp.lat, e.wp.lon]);
    const plan = this.plan;
    if (plan) {
      if (plan.home) pts.push([plan.home.lat, plan.home.lon]);
      for (const r of plan.rally) pts.push([r.lat, r.lon]);
      for (const pg of plan.fence.polygons) for (const p of pg.points) pts.push([p.lat, p.lon]);
      for (const c of plan.fence.circles) {
        const ll = L.latLng(c.lat, c.lon).toBounds(c.radius * 2);
        pts.push(ll.getSouthWest(), ll.getNorthEast());
      }
    }
    if (pts.length === 0 && this.background) {
      const b = this.background.bg.bounds;
      pts.push([b.south, b.west], [b.north, b.east]);
    }
    if (pts.length === 0) {
      const o = plan?.origin ?? { lat: 0, lon: 0 };
      this.map.setView([o.lat, o.lon], EMPTY_ZOOM, { animate: false });
    } else {
      const size = this.map.getSize();
      const pad = Math.min(95, Math.min(size.x, size.y) * 0.15);
      this.map.fitBounds(L.latLngBounds(pts), { padding: [pad, pad], maxZoom: FIT_MAX_ZOOM, animate: false });
    }
    // For a follower an empty plan's default view does not count: the first waypoints
    // to arrive refit the map. A leader's view never jumps while they place points.
    this.fitted = this.hasSize() && (this.editable || this.items.size > 0);
    this.queueLabels();
  }

  /**
   * The next click on the map (or Enter on the focused map: its centre) as a
   * point; Escape, or another pick, resolves undefined. `prompt` (which says how to
   * cancel) is shown on the map and announced. For the geofence and rally editors.
   *
   * Focus moves to the map while picking, so a keyboard user can pan to the place and
   * press Enter, and Escape works straight after the button that started the pick; a
   * document listener catches Escape wherever focus has gone since. Focus goes back
   * to where it was unless the caller moved it (an editor focusing what it added) or
   * started another pick (a polygon's next vertex).
   */
  pickPoint(prompt: string): Promise<LatLon | undefined> {
    this.pick?.resolve(undefined);
    this.stopMeasure();
    const before = document.activeElement instanceof HTMLElement ? document.activeElement : undefined;
    return new Promise((resolve) => {
      const onKey = (e: KeyboardEvent) => {
        if (e.key !== "Escape" || e.defaultPrevented) return;
        e.preventDefault();
        this.pick?.resolve(undefined);
      };
      document.addEventListener("keydown", onKey);
      this.element.classList.add("picking");
      this.setStatus(prompt);
      this.pick = {
        resolve: (p) => {
          document.removeEventListener("keydown", onKey);
          this.pick = undefined;
          this.element.classList.remove("picking");
          this.setStatus("");
          resolve(p);
          setTimeout(() => {
            const now = document.activeElement;
            const stillHere = now === this.element || now === document.body || now === null;
            if (!this.pick && stillHere && before?.isConnected && before !== this.element) before.focus();
          }, 0);
        },
      };
      if (before !== this.element) this.element.focus({ preventScroll: true });
    });
  }

  /** Starts the measuring tool (clicks add points); `onEnd` is told when it ends. */
  startMeasure(onEnd?: () => void): void {
    this.pick?.resolve(undefined);
    this.measure = new Measure();
    this.onMeasureEnd = onEnd;
    this.element.classList.add("measuring");
    this.drawMeasure();
  }

  stopMeasure(): void {
    if (!this.measure) return;
    this.measure = undefined;
    this.measureLayer.clearLayers();
    this.element.classList.remove("measuring");
    this.setStatus("");
    const end = this.onMeasureEnd;
    this.onMeasureEnd = undefined;
    end?.();
  }

  get measuring(): boolean {
    return this.measure !== undefined;
  }

  // ---- size and input ------------------------------------------------------

  private hasSize(): boolean {
    const s = this.map.getSize();
    return s.x > 0 && s.y > 0;
  }

  private resize(): void {
    const r = this.element.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) return;
    this.map.invalidateSize({ animate: false });
    if (!this.fitted) this.fit();
    else this.queueLabels();
  }

  private allVisible(): boolean {
    const b = this.map.getBounds().pad(-0.05);
    for (const e of this.items.values()) if (!b.contains([e.wp.lat, e.wp.lon])) return false;
    return true;
  }

  private setStatus(text: string): void {
    this.status.textContent = text;
    this.status.classList.toggle("shown", text !== "");
  }

  /** A point chosen by a click or Enter: the pick, the measure, else the handlers. */
  private chosen(at: LatLon, fromKeyboard: boolean): void {
    if (this.pick) {
      this.pick.resolve({ lat: round7(at.lat), lon: round7(at.lon) });
      return;
    }
    if (this.measure) {
      this.measure.add(at);
      this.drawMeasure();
      return;
    }
    if (this.editable) this.handlers.onAdd?.(at);
    else if (!fromKeyboard) this.handlers.onSelect?.(undefined);
  }

  private wire(): void {
    const map = this.map;
    map.on("click", (e: L.LeafletMouseEvent) => this.chosen({ lat: e.latlng.lat, lon: wrap(e.latlng.lng) }, false));
    map.on("dragstart", () => {
      this.userMoved = true;
    });
    map.on("moveend zoomend", () => {
      // Where the view is, for tests and the benchmark (the Leaflet map itself is not global).
      const c = map.getCenter();
      this.element.dataset.view = `${c.lat.toFixed(7)},${c.lng.toFixed(7)},${map.getZoom()}`;
      this.drawGraticule();
      this.queueLabels();
    });
    map.on("mousemove", (e: L.LeafletMouseEvent) => {
      this.readout.textContent = formatLatLon({ lat: e.latlng.lat, lon: wrap(e.latlng.lng) });
    });
    map.on("mouseout", () => {
      this.readout.textContent = "";
    });
    this.element.addEventListener("wheel", () => {
      this.userMoved = true;
    });
    this.element.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && (this.pick || this.measure)) {
        if (this.pick) this.pick.resolve(undefined);
        else this.stopMeasure();
        e.preventDefault();
        return;
      }
      if (e.target !== this.element) return;
      if (e.key === "Enter") {
        this.chosen(this.center(), true);
        e.preventDefault();
      } else if (e.key === "0") {
        this.fit();
        e.preventDefault();
      } else if (e.key.startsWith("Arrow") || e.key === "+" || e.key === "-" || e.key === "=") {
        this.userMoved = true; // Leaflet's keyboard handler pans and zooms
      }
    });
  }

  // ---- markers -------------------------------------------------------------

  private syncMarkers(): void {
    const all = this.plan?.waypoints ?? [];
    const seen = new Set<string>();
    // A marker's number is the item's number in the route list (non-nav items count too).
    all.forEach((w, n) => {
      if (w.kind !== "nav") return;
      seen.add(w.id);
      const e = this.items.get(w.id);
      if (!e) {
        this.items.set(w.id, this.createMarker(w, n));
        return;
      }
      if (e.wp === w && e.n === n) return;
      const moved = e.wp.lat !== w.lat || e.wp.lon !== w.lon;
      e.wp = w;
      e.n = n;
      if (moved && this.dragging !== w.id) {
        e.marker.setLatLng([w.lat, w.lon]);
        e.glyph.setLatLng([w.lat, w.lon]);
      }
      this.decorate(e);
    });
    for (const [id, e] of this.items) {
      if (seen.has(id)) continue;
      e.marker.remove();
      e.glyph.remove();
      this.items.delete(id);
    }
  }

  private createMarker(wp: NavItem, n: number): MarkerEntry {
    const icon = L.divIcon({
      className: "wp",
      iconSize: [30, 30],
      iconAnchor: [15, 15],
      // Drawn on the canvas (glyph); the element is the hit area (a dot's when crowded) and the name.
      html: '<span class="hit"></span><span class="name" aria-hidden="true"></span>',
    });
    const marker = L.marker([wp.lat, wp.lon], {
      icon,
      draggable: this.editable,
      keyboard: false,
      autoPan: true,
      riseOnHover: true,
    });
    const glyph = new Glyph([wp.lat, wp.lon], this.lookOf(wp, n, false), this.glyphRenderer).addTo(this.map);
    const e: MarkerEntry = { wp, n, marker, glyph, focused: false, el: undefined, nameEl: undefined };
    marker.on("add", () => {
      const el = marker.getElement();
      e.el = el;
      if (!el) return;
      e.nameEl = el.querySelector<HTMLElement>(".name") ?? undefined;
      el.tabIndex = 0;
      el.setAttribute("role", this.editable ? "button" : "img");
      el.addEventListener("keydown", (ev) => this.onMarkerKey(ev, e.wp.id));
      const focus = (on: boolean) => {
        e.focused = on && el.matches(":focus-visible");
        this.decorate(e);
      };
      el.addEventListener("focus", () => focus(true));
      el.addEventListener("blur", () => focus(false));
      this.decorate(e);
    });
    // Leaflet raises the hovered marker for the pointer (riseOnHover); its drawing rises with it.
    marker.on("mouseover", () => e.glyph.setStack(e.marker.options.zIndexOffset ?? 0, true));
    marker.on("mouseout", () => e.glyph.setStack(e.marker.options.zIndexOffset ?? 0, false));
    marker.on("click", () => {
      this.handlers.onSelect?.(e.wp.id);
      e.el?.focus({ preventScroll: true });
    });
    if (this.editable) {
      const at = () => {
        const p = marker.getLatLng();
        return { lat: p.lat, lon: wrap(p.lng) };
      };
      marker.on("dragstart", () => {
        this.dragging = e.wp.id;
        this.handlers.onSelect?.(e.wp.id);
        this.handlers.onDrag?.(e.wp.id, at(), "start");
      });
      marker.on("drag", () => {
        // Only this marker's drawing and its two legs move now; the labels settle after the drag.
        e.glyph.setLatLng(marker.getLatLng());
        this.moveLegsOf(e.wp.id, at());
        this.handlers.onDrag?.(e.wp.id, at(), "move");
      });
      marker.on("dragend", () => {
        this.handlers.onDrag?.(e.wp.id, at(), "end");
        this.dragging = undefined;
        e.el?.focus({ preventScroll: true });
        this.queueLabels();
      });
    }
    marker.addTo(this.map);
    return e;
  }

  private onMarkerKey(ev: KeyboardEvent, id: string): void {
    const step = ev.shiftKey ? 100 : 10;
    const arrows: Record<string, [number, number]> = {
      ArrowLeft: [-1, 0],
      ArrowRight: [1, 0],
      ArrowUp: [0, 1],
      ArrowDown: [0, -1],
    };
    const dir = arrows[ev.key];
    if (dir && this.editable) this.handlers.onNudge?.(id, dir[0] * step, dir[1] * step);
    else if ((ev.key === "Delete" || ev.key === "Backspace") && this.editable) this.handlers.onDelete?.(id);
    else if (ev.key === "Enter" || ev.key === " ") this.handlers.onSelect?.(id);
    else return;
    ev.preventDefault();
    ev.stopPropagation(); // not Leaflet's keyboard pan
  }

  /** Class, data attributes, label and drawing of one marker from its item. */
  private decorate(e: MarkerEntry): void {
    const el = e.el;
    if (!el) return;
    const wp = e.wp;
    for (const c of [...el.classList]) if (c.startsWith("t-")) el.classList.remove(c);
    el.classList.add(`t-${wp.type}`);
    el.classList.toggle("selected", wp.id === this.selected);
    el.classList.toggle("changed", this.highlight.has(wp.id));
    el.dataset.wpId = wp.id;
    el.dataset.lat = String(wp.lat);
    el.dataset.lon = String(wp.lon);
    el.dataset.type = wp.type;
    el.dataset.name = wp.name;
    el.dataset.n = String(e.n + 1);
    const label = `${e.n + 1}. ${wp.name}, ${TYPE_LABELS[wp.type]}, ${formatLatLon(wp)}, ${formatAlt(wp)}`;
    el.setAttribute("aria-label", this.editable ? `${label}. Arrow keys move it, Delete removes it.` : label);
    // The name is drawn from an attribute (CSS ::after), not a text node: the marker's
    // accessible name is its aria-label, which starts with its visible number.
    if (e.nameEl) e.nameEl.dataset.label = wp.name;
    // The selected or highlighted marker is above its neighbours, to the pointer and to the eye.
    const top = wp.id === this.selected ? 2000 : this.highlight.has(wp.id) ? 1000 : 0;
    e.marker.setZIndexOffset(top);
    e.glyph.setStack(top);
    e.glyph.setLook(this.lookOf(wp, e.n, e.focused));
  }

  /** Full size unless crowded; the selected and the keyboard-focused one always (map.css agrees). */
  private lookOf(wp: NavItem, n: number, focused: boolean): Look {
    return { type: wp.type, n: n + 1, big: !this.dense || focused || wp.id === this.selected };
  }

  // ---- route ---------------------------------------------------------------

  private syncLegs(): void {
    const nav = (this.plan?.waypoints ?? []).filter((w): w is NavItem => w.kind === "nav");
    const keep = new Set<string>();
    for (let i = 1; i < nav.length; i++) {
      const a = nav[i - 1] as NavItem;
      const b = nav[i] as NavItem;
      const key = `${a.id}>${b.id}`;
      keep.add(key);
      const leg = this.legs.get(key);
      if (!leg) {
        this.legs.set(key, this.createLeg(a, b));
        continue;
      }
      if (leg.a.lat !== a.lat || leg.a.lon !== a.lon || leg.b.lat !== b.lat || leg.b.lon !== b.lon)
        this.updateLeg(leg, a, b);
    }
    for (const [key, leg] of this.legs) {
      if (keep.has(key)) continue;
      leg.line.remove();
      if (leg.label) this.legLabels.removeLayer(leg.label);
      this.legs.delete(key);
    }
  }

  private createLeg(a: LatLon & { id: string }, b: LatLon & { id: string }): LegEntry {
    const g = inverse(a, b);
    const line = L.polyline(
      [
        [a.lat, a.lon],
        [b.lat, b.lon],
      ],
      { renderer: this.routeRenderer, color: "#f0b429", weight: 3, opacity: 0.95, interactive: false },
    ).addTo(this.map);
    return {
      from: a.id,
      to: b.id,
      a: { lat: a.lat, lon: a.lon },
      b: { lat: b.lat, lon: b.lon },
      metres: g.distance,
      bearing: g.initialBearing,
      line,
      label: undefined,
    };
  }

  private updateLeg(leg: LegEntry, a: LatLon, b: LatLon): void {
    leg.a = { lat: a.lat, lon: a.lon };
    leg.b = { lat: b.lat, lon: b.lon };
    const g = inverse(a, b);
    leg.metres = g.distance;
    leg.bearing = g.initialBearing;
    leg.line.setLatLngs([
      [a.lat, a.lon],
      [b.lat, b.lon],
    ]);
    if (leg.label) {
      leg.label.setLatLng(midpoint(a, b));
      const el = leg.label.getElement()?.firstElementChild;
      if (el) el.textContent = legText(leg);
    }
  }

  /** During a drag: the two legs at waypoint `id`, nothing else. */
  private moveLegsOf(id: string, at: LatLon): void {
    for (const leg of this.legs.values()) {
      if (leg.from === id) this.updateLeg(leg, at, leg.b);
      else if (leg.to === id) this.updateLeg(leg, leg.a, at);
    }
  }

  // ---- labels (declutter) ----------------------------------------------------

  /**
   * Labels are placed on the next frame; after a plan change (a follower's, at every update
   * of a leader's drag) at most every LABELS_EVERY_MS: a placement walks every marker.
   */
  private queueLabels(afterPlan = false): void {
    if (this.labelsQueued) return;
    this.labelsQueued = true;
    const place = () =>
      requestAnimationFrame(() => {
        this.labelsQueued = false;
        this.labelsAt = performance.now();
        if (!this.dragging) this.placeLabels();
      });
    const wait = afterPlan ? this.labelsAt + LABELS_EVERY_MS - performance.now() : 0;
    if (wait > 0) setTimeout(place, wait);
    else place();
  }

  /** Which waypoint names and leg labels fit without overlapping (markers are never covered). */
  private placeLabels(): void {
    if (!this.hasSize()) return;
    const size = this.map.getSize();
    const inView = (p: L.Point, m: number) => p.x >= -m && p.y >= -m && p.x <= size.x + m && p.y <= size.y + m;
    const markers: LabelBox[] = [];
    const names: LabelBox[] = [];
    // The selected and the highlighted waypoints' names first, then route order.
    const prio = (id: string) => (id === this.selected ? 2 : this.highlight.has(id) ? 1 : 0);
    const order = [...this.items.values()].sort((x, y) => prio(y.wp.id) - prio(x.wp.id) || x.n - y.n);
    const points = new Map<string, L.Point>();
    for (const e of order) {
      const p = this.map.latLngToContainerPoint([e.wp.lat, e.wp.lon]);
      if (inView(p, 40)) points.set(e.wp.id, p);
    }
    // Where 30 px markers would cover their neighbours, they are drawn as dots (map.css
    // `.dense`), so each stays clickable at its centre; the selected one keeps its size.
    const dense = crowding([...points.values()], MARKER_PX) > DENSE_SHARE;
    this.element.classList.toggle("dense", dense);
    if (dense !== this.dense) {
      this.dense = dense;
      for (const e of this.items.values()) e.glyph.setLook(this.lookOf(e.wp, e.n, e.focused));
    }
    for (const e of order) {
      const p = points.get(e.wp.id);
      if (!p) continue;
      const big = !dense || prio(e.wp.id) === 2;
      const r = big ? MARKER_PX / 2 : DOT_PX / 2;
      markers.push({ id: `m:${e.wp.id}`, x: p.x - r, y: p.y - r, w: 2 * r, h: 2 * r });
      if (!e.nameEl || !big) continue;
      names.push({ id: e.wp.id, x: p.x + 17, y: p.y - 8, w: 8 + e.wp.name.length * 7.2, h: 16 });
    }
    const showNames = markers.length <= MAX_NAMED ? declutter(names, markers) : new Set<string>();
    for (const e of this.items.values()) e.nameEl?.classList.toggle("hidden", !showNames.has(e.wp.id));
    const taken: LabelBox[] = [...markers, ...names.filter((n) => showNames.has(n.id))];
    const cands: LabelBox[] = [];
    const byKey = new Map<string, LegEntry>();
    for (const [key, leg] of this.legs) {
      const pa = this.map.latLngToContainerPoint([leg.a.lat, leg.a.lon]);
      const pb = this.map.latLngToContainerPoint([leg.b.lat, leg.b.lon]);
      const mid = L.point((pa.x + pb.x) / 2, (pa.y + pb.y) / 2);
      if (pa.distanceTo(pb) < MIN_LABEL_LEG_PX || !inView(mid, 0)) continue;
      const w = 10 + legText(leg).length * 6.8;
      cands.push({ id: key, x: mid.x - w / 2, y: mid.y - 9, w, h: 18 });
      byKey.set(key, leg);
    }
    const showLegs = declutter(cands, taken);
    for (const [key, leg] of this.legs) {
      const want = showLegs.has(key);
      if (want && !leg.label) {
        leg.label = L.marker(midpoint(leg.a, leg.b), {
          pane: "leglabels",
          interactive: false,
          keyboard: false,
          icon: L.divIcon({ className: "leg-label", html: "<span></span>", iconSize: NO_SIZE }),
        });
        this.legLabels.addLayer(leg.label);
        const el = leg.label.getElement()?.firstElementChild;
        if (el) el.textContent = legText(leg);
      } else if (!want && leg.label) {
        this.legLabels.removeLayer(leg.label);
        leg.label = undefined;
      }
    }
    this.element.dataset.legLabels = String(showLegs.size);
    this.element.dataset.names = String(showNames.size);
  }

  // ---- fence, rally, home, graticule, measure ----------------------------------

  private syncLayers(): void {
    this.fenceLayer.clearLayers();
    this.pointsLayer.clearLayers();
    const plan = this.plan;
    if (!plan) return;
    for (const pg of plan.fence.polygons) {
      L.polygon(
        pg.points.map((p) => [p.lat, p.lon] as [number, number]),
        { pane: "fence", className: `fence ${pg.inclusion ? "inclusion" : "exclusion"}`, interactive: false },
      ).addTo(this.fenceLayer);
    }
    for (const c of plan.fence.circles) {
      L.circle([c.lat, c.lon], {
        radius: c.radius,
        pane: "fence",
        className: `fence ${c.inclusion ? "inclusion" : "exclusion"}`,
        interactive: false,
      }).addTo(this.fenceLayer);
    }
    const point = (p: LatLon, cls: string, letter: string, title: string) =>
      L.marker([p.lat, p.lon], {
        pane: "points",
        interactive: false,
        keyboard: false,
        icon: L.divIcon({ className: cls, iconSize: [20, 20], iconAnchor: [10, 10], html: letter }),
        title,
      }).addTo(this.pointsLayer);
    plan.rally.forEach((r, i) => {
      point(r, "rally-point", "R", `Rally point ${i + 1}`);
    });
    if (plan.home) point(plan.home, "home-point", "H", "Home position");
  }

  private drawGraticule(): void {
    this.gratLayer.clearLayers();
    if (!this.hasSize()) return;
    const b = this.visibleWorld();
    const g = graticule(b);
    const labelAt = (ll: [number, number], text: string, cls: string) =>
      L.marker(ll, {
        pane: "graticule",
        interactive: false,
        keyboard: false,
        icon: L.divIcon({ className: `glabel ${cls}`, html: text, iconSize: NO_SIZE }),
      }).addTo(this.gratLayer);
    const size = this.map.getSize();
    for (const line of g.lines) {
      L.polyline(line.ends, {
        renderer: this.gratRenderer,
        color: line.value === 0 ? "#5a7088" : "#34465a",
        weight: line.value === 0 ? 1.5 : 1,
        interactive: false,
      }).addTo(this.gratLayer);
      if (line.kind === "meridian") {
        const p = this.map.latLngToContainerPoint([b.north, line.value]);
        labelAt(this.ll(p.x, 2), line.label, "meridian");
      } else {
        const p = this.map.latLngToContainerPoint([line.value, b.west]);
        if (p.y > 14 && p.y < size.y - 24) labelAt(this.ll(2, p.y), line.label, "parallel");
      }
    }
    this.element.dataset.graticuleStep = String(g.step);
  }

  private ll(x: number, y: number): [number, number] {
    const p = this.map.containerPointToLatLng([x, y]);
    return [p.lat, p.lng];
  }

  private drawMeasure(): void {
    const m = this.measure;
    this.measureLayer.clearLayers();
    if (!m) return;
    const pts = m.points.map((p) => [p.lat, p.lon] as [number, number]);
    if (pts.length > 1)
      L.polyline(pts, { pane: "measure", className: "measure-line", interactive: false }).addTo(this.measureLayer);
    for (const p of pts)
      L.circleMarker(p, { pane: "measure", radius: 4, className: "measure-point", interactive: false }).addTo(
        this.measureLayer,
      );
    this.setStatus(m.text());
  }
}

/** A divIcon sized by its CSS (Leaflet sets no width/height for a null size). */
const NO_SIZE = null as unknown as L.PointExpression;

function legText(leg: LegEntry): string {
  return `${formatDistance(leg.metres)} · ${formatBearing(leg.bearing)}`;
}

function midpoint(a: LatLon, b: LatLon): [number, number] {
  return [(a.lat + b.lat) / 2, (a.lon + b.lon) / 2];
}

function escapeHtml(t: string): string {
  return t.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function round7(v: number): number {
  return Math.round(v * 1e7) / 1e7;
}

/** Longitude into -180..180 (the map may be panned past the antimeridian). */
function wrap(lon: number): number {
  return ((((lon + 180) % 360) + 360) % 360) - 180;
}

function toLatLngBounds(b: GeoBounds): L.LatLngBounds {
  return L.latLngBounds([b.south, b.west], [b.north, b.east]);
}

function fromLatLngBounds(b: L.LatLngBounds): GeoBounds {
  return { south: b.getSouth(), west: b.getWest(), north: b.getNorth(), east: b.getEast() };
}

/** Metres east/north of `p` as a point (a keyboard nudge). */
export function offset(p: LatLon, east: number, north: number): LatLon {
  return fromLocal(p, { x: east, y: north });
}
