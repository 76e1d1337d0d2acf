/**
 * What a waypoint marker looks like, drawn on one canvas for all of them
 * (map.ts). The marker itself stays a DOM element (Leaflet's divIcon): it is
 * what takes the pointer, the keyboard focus, the screen reader's label and the
 * data-* attributes tests read; it paints only its rings (selected, focused,
 * changed) and its name. Drawn as 2,000 DOM shapes, every frame of a drag paid
 * Layerize, Paint and Commit for all of them (bench scenario 12, issue 16); on
 * the canvas a moved marker redraws its own few pixels (Leaflet's canvas
 * renderer clears and redraws only the bounds of what changed).
 */
import * as L from "leaflet";
import type { WaypointType } from "../plan.ts";

/** Each type's shape, in a 36-unit box centred on the waypoint. */
export const SHAPES: Record<WaypointType, string> = {
  start: "M0 -17L16 11H-16Z",
  waypoint: "M-12 0A12 12 0 1 0 12 0A12 12 0 1 0 -12 0Z",
  target: "M0 -16L16 0L0 16L-16 0Z",
  rally: "M-12 -12H12V12H-12Z",
  landing: "M-7.5 -14H7.5L14 -7.5V7.5L7.5 14H-7.5L-14 7.5V-7.5Z",
};

/** On screen: a marker, and the dot a crowded one becomes (map.css sizes the hit areas alike). */
export const MARKER_PX = 30;
export const DOT_PX = 10;
const BOX = 36;
const INK = "#05080b";

export interface Look {
  type: WaypointType;
  /** The number drawn in it (its place in the route list, from 1). */
  n: number;
  /** Full size with its number, or a dot (crowded, map.ts placeLabels). */
  big: boolean;
}

/** The fills are the page's type colours (style.css --t-*), read once. */
let palette: { fill: Record<WaypointType, string>; font: string } | undefined;
function paletteOf(el: Element): NonNullable<typeof palette> {
  if (palette) return palette;
  const css = getComputedStyle(el);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  palette = {
    fill: {
      start: v("--t-start", "#3fb950"),
      waypoint: v("--t-waypoint", "#58a6ff"),
      target: v("--t-target", "#ff6b6b"),
      rally: v("--t-rally", "#e3b341"),
      landing: v("--t-landing", "#c297ff"),
    },
    font: `800 12px ${css.fontFamily || "sans-serif"}`,
  };
  return palette;
}

const paths = new Map<WaypointType, Path2D>();
const pathOf = (t: WaypointType): Path2D => {
  const known = paths.get(t);
  if (known) return known;
  const p = new Path2D(SHAPES[t]);
  paths.set(t, p);
  return p;
};

/** Leaflet's internals a canvas layer draws with (Canvas._updateCircle reads the same). */
interface Drawing {
  _point: L.Point;
  _pxBounds: L.Bounds | undefined;
  _renderer: { _ctx: CanvasRenderingContext2D; _drawing: boolean; _container: HTMLElement };
  _empty(): boolean;
}

/** Leaflet's canvas renderer internals that GlyphCanvas replaces two methods over (Leaflet 1.9). */
interface CanvasInternals {
  _map: L.Map & { _animatingZoom?: boolean };
  _bounds: L.Bounds;
  _container: HTMLCanvasElement;
  _ctx: CanvasRenderingContext2D;
  _drawing: boolean;
  _redrawBounds: L.Bounds | null;
  _drawFirst: { layer: Glyph; next: CanvasInternals["_drawFirst"] } | null;
}

/** Leaflet's marker hover rise (Marker riseOffset), which map.ts keeps for the pointer. */
export const RISE = 250;

/**
 * The markers' canvas. Two of Leaflet's Canvas methods differ:
 * - `_draw` paints the glyphs in the order the markers' DOM elements stack in (Leaflet
 *   gives a marker the z-index of its rounded layer y plus its offset, later ones on top
 *   on a tie), so the marker seen on top of an overlap is the one a click reaches; Leaflet
 *   draws in the order layers were added.
 * - `_update` sizes the canvas by devicePixelRatio (Leaflet: 1 or 2), so numbers stay sharp
 *   at 3x screens and under page zoom, as the SVG markers were.
 */
export class GlyphCanvas extends L.Canvas {
  _draw(): void {
    const self = this as unknown as CanvasInternals;
    const bounds = self._redrawBounds;
    const ctx = self._ctx;
    ctx.save();
    if (bounds) {
      const size = bounds.getSize();
      const min = bounds.min as L.Point;
      ctx.beginPath();
      ctx.rect(min.x, min.y, size.x, size.y);
      ctx.clip();
    }
    self._drawing = true;
    const todo: Glyph[] = [];
    for (let o = self._drawFirst; o; o = o.next) {
      const px = (o.layer as unknown as Drawing)._pxBounds;
      if (!bounds || px?.intersects(bounds)) todo.push(o.layer);
    }
    todo.sort((a, b) => a.stackKey() - b.stackKey()); // stable: ties keep the order added
    for (const g of todo) g._updatePath();
    self._drawing = false;
    ctx.restore();
  }

  _update(): void {
    const self = this as unknown as CanvasInternals;
    if (self._map._animatingZoom && self._bounds) return;
    (L.Renderer.prototype as unknown as { _update(this: L.Renderer): void })._update.call(this);
    const b = self._bounds;
    const min = b.min as L.Point;
    const c = self._container;
    const size = b.getSize();
    const m = Math.min(4, Math.max(1, globalThis.devicePixelRatio || 1));
    L.DomUtil.setPosition(c, min);
    c.width = Math.round(m * size.x);
    c.height = Math.round(m * size.y);
    c.style.width = `${size.x}px`;
    c.style.height = `${size.y}px`;
    // Path coordinates are layer points, as Leaflet's own canvas keeps them.
    self._ctx.setTransform(m, 0, 0, m, -min.x * m, -min.y * m);
    this.fire("update");
  }
}

/** One waypoint's drawing: a circle marker to Leaflet (bounds, projection, redraw), drawn as its shape. */
export class Glyph extends L.CircleMarker {
  #look: Look;
  /** Its marker's z-index offset (map.ts: selected, highlighted) and hover rise. */
  #offset = 0;
  #risen = false;

  constructor(at: L.LatLngExpression, look: Look, renderer: L.Canvas) {
    // The radius only sizes the bounds Leaflet clears and redraws: the shape and its stroke fit in it.
    super(at, { renderer, radius: radiusOf(look), interactive: false, stroke: false, fill: false });
    this.#look = look;
  }

  setLook(look: Look): void {
    const was = this.#look;
    if (was.type === look.type && was.n === look.n && was.big === look.big) return;
    this.#look = look;
    this.setRadius(radiusOf(look)); // redraws
  }

  /** Where it stacks among the others, as its marker's DOM element does (Leaflet Marker._updateZIndex). */
  stackKey(): number {
    const p = (this as unknown as Drawing)._point;
    return (p ? Math.round(p.y) : 0) + this.#offset + (this.#risen ? RISE : 0);
  }

  /** Its marker's z-index offset and whether the pointer is over it; redrawn when that changes. */
  setStack(offset: number, risen = this.#risen): void {
    if (offset === this.#offset && risen === this.#risen) return;
    this.#offset = offset;
    this.#risen = risen;
    this.redraw();
  }

  /** Called by Leaflet's canvas renderer, for the layers in the bounds it redraws. */
  _updatePath(): void {
    const self = this as unknown as Drawing;
    const r = self._renderer;
    if (!r._drawing || self._empty()) return;
    const { ctx, p, look } = { ctx: r._ctx, p: self._point, look: this.#look };
    const pal = paletteOf(r._container);
    const s = (look.big ? MARKER_PX : DOT_PX) / BOX;
    const shape = pathOf(look.type);
    ctx.save();
    ctx.translate(p.x, p.y);
    ctx.scale(s, s);
    ctx.fillStyle = pal.fill[look.type];
    ctx.fill(shape);
    ctx.lineWidth = look.big ? 2 : 4;
    ctx.strokeStyle = INK;
    ctx.stroke(shape);
    ctx.restore();
    if (!look.big) return;
    ctx.fillStyle = INK;
    ctx.font = pal.font;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    // The triangle's middle sits low in its box.
    ctx.fillText(String(look.n), p.x, p.y + (look.type === "start" ? 4 : 0.5));
  }
}

const radiusOf = (look: Look) => ((look.big ? MARKER_PX : DOT_PX) * 17) / BOX + 2;
