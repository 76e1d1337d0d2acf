/**
 * The route as a list that stays fast with thousands of items: it virtualises
 * (only the rows in view, plus a few either side, are in the DOM; the list
 * keeps its full height so the scrollbar tells the truth), and an update
 * rebuilds only the rows whose content changed. Screen readers still hear
 * "item 1,204 of 2,000" (aria-setsize / aria-posinset on each row), and the
 * keyboard walks the whole route: one row is in the tab order (roving
 * tabindex), arrow keys, Page Up/Down, Home and End move along it and scroll
 * the row in. The selected item is scrolled into view when it changes (a click
 * on its marker).
 *
 * Used by the leader's sidebar and the follower's; the pure window maths
 * (`visibleWindow`, `scrollToShow`) is unit-tested beside it.
 */
import { h } from "../dom.ts";
import { formatLatLon } from "../geo.ts";
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
} from "../plan.ts";
import { routeSummary, typeIcon } from "./common.ts";

/** Rows rendered above and below the ones in view, so a fast scroll rarely shows a gap. */
export const OVERSCAN = 6;
/** Row height (px) until the first row is measured (the CSS gives rows one fixed height). */
const DEFAULT_ROW_PX = 46;

/** The rows [start, end) to render for a scroll position. */
export function visibleWindow(
  count: number,
  rowPx: number,
  scrollTop: number,
  viewportPx: number,
  overscan = OVERSCAN,
): { start: number; end: number } {
  if (count <= 0 || rowPx <= 0) return { start: 0, end: 0 };
  const first = Math.floor(Math.max(0, scrollTop) / rowPx);
  const last = Math.ceil((Math.max(0, scrollTop) + Math.max(0, viewportPx)) / rowPx);
  const start = Math.max(0, Math.min(count - 1, first - overscan));
  const end = Math.min(count, Math.max(start + 1, last + overscan));
  return { start, end };
}

/** The scrollTop that brings row `index` fully into view, or undefined when it already is. */
export function scrollToShow(index: number, rowPx: number, scrollTop: number, viewportPx: number): number | undefined {
  const top = index * rowPx;
  const bottom = top + rowPx;
  if (top < scrollTop) return top;
  if (bottom > scrollTop + viewportPx) return Math.max(0, bottom - viewportPx);
  return undefined;
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

export interface WaypointListOptions {
  /** Rows are buttons that select their item (both views select; the leader then edits). */
  onSelect?: (id: string) => void;
  /** The empty list's words. */
  emptyText: string;
}

export interface ListState {
  selected?: string | undefined;
  highlight?: ReadonlySet<string>;
}

interface Row {
  el: HTMLLIElement;
  /** Everything the row shows, so an unchanged row is kept as it is (and keeps focus). */
  key: string;
}

export class WaypointList {
  /** The summary line and the scrolling list. */
  readonly element: HTMLElement;
  readonly #summary = h("div", { class: "route-summary-slot" });
  readonly #scroller: HTMLDivElement;
  readonly #list: HTMLOListElement;
  readonly #empty: HTMLParagraphElement;
  readonly #rows = new Map<string, Row>();
  readonly #o: WaypointListOptions;
  #plan: Plan | undefined;
  #items: readonly Item[] = [];
  #index = new Map<string, number>();
  #legTo = new Map<string, Leg>();
  #state: ListState = {};
  #rowPx = DEFAULT_ROW_PX;
  #measured = false;
  /** The row in the tab order (roving tabindex): the focused one, else the selected, else the first. */
  #active: string | undefined;
  #frame = 0;
  /**
   * The scroller's scrollTop and height as last seen by its scroll event and ResizeObserver:
   * reading them in #render after the page changed (a follower's markers on every update)
   * forced a layout of the whole page per update (seconds of a 2,000-waypoint drag).
   */
  #scrollTop = 0;
  #viewPx = 0;
  #heightPx = "";

  constructor(o: WaypointListOptions) {
    this.#o = o;
    this.#list = h("ol", { class: "route-list virtual", "data-testid": "route-list" });
    this.#scroller = h("div", { class: "route-scroll" }, this.#list);
    this.#empty = h("p", { class: "empty" }, o.emptyText);
    this.element = h("div", { class: "route-box" }, this.#summary, this.#empty, this.#scroller);
    this.#scroller.addEventListener(
      "scroll",
      () => {
        this.#scrollTop = this.#scroller.scrollTop;
        this.#schedule();
      },
      { passive: true },
    );
    this.#list.addEventListener("keydown", (e) => this.#onKey(e));
    this.#list.addEventListener("focusin", (e) => {
      const id = (e.target as HTMLElement).closest<HTMLElement>("[data-wp-id]")?.dataset.wpId;
      if (id && id !== this.#active) this.#setActive(id);
    });
    new ResizeObserver(() => {
      // Layout is fresh inside a ResizeObserver callback: reading here costs nothing extra.
      this.#viewPx = this.#scroller.clientHeight;
      this.#scrollTop = this.#scroller.scrollTop;
      this.#schedule();
    }).observe(this.#scroller);
  }

  /** Shows `plan` (undefined: `waiting` in words instead). Cheap when nothing the list shows changed. */
  update(plan: Plan | undefined, state: ListState = {}, waiting?: string): void {
    const prevSelected = this.#state.selected;
    const itemsChanged = plan?.waypoints !== this.#items || plan === undefined;
    const summaryChanged =
      itemsChanged ||
      plan?.cruiseSpeed !== this.#plan?.cruiseSpeed ||
      plan?.fence !== this.#plan?.fence ||
      plan?.rally !== this.#plan?.rally;
    const stateChanged = state.selected !== this.#state.selected || state.highlight !== this.#state.highlight;
    this.#state = state;
    if (!plan) {
      this.#plan = undefined;
      this.#items = [];
      this.#index.clear();
      this.#summary.replaceChildren();
      this.#empty.textContent = waiting ?? this.#o.emptyText;
      this.#empty.hidden = false;
      this.#scroller.hidden = true;
      this.#clearRows();
      return;
    }
    this.#plan = plan;
    if (!summaryChanged && !stateChanged) return;
    if (itemsChanged) {
      this.#items = plan.waypoints;
      this.#index = new Map(plan.waypoints.map((w, i) => [w.id, i]));
      // One pass over the legs for the rows and the summary (each Vincenty call is memoised per pair in plan.ts).
      const ls = legs(plan);
      this.#legTo = new Map(ls.map((l) => [l.to.id, l]));
      this.#summary.replaceChildren(routeSummary(plan, ls));
    } else if (summaryChanged) {
      this.#summary.replaceChildren(routeSummary(plan));
    }
    const n = this.#items.length;
    this.#empty.hidden = n > 0;
    this.#empty.textContent = this.#o.emptyText;
    this.#scroller.hidden = n === 0;
    this.#list.setAttribute("aria-label", `Route, ${n} item${n === 1 ? "" : "s"}`);
    if (this.#active !== undefined && this.#indexOf(this.#active) === undefined) this.#active = undefined;
    if (state.selected !== prevSelected && state.selected !== undefined) {
      this.#active = state.selected;
      this.reveal(state.selected);
    }
    this.#render();
  }

  /** Scrolls the row of `id` into view (rendering it first). */
  reveal(id: string): void {
    const i = this.#indexOf(id);
    if (i === undefined) return;
    const top = scrollToShow(i, this.#rowPx, this.#scrollTop, this.#viewPx || this.#scroller.clientHeight);
    if (top !== undefined) {
      this.#scroller.scrollTop = top;
      this.#scrollTop = this.#scroller.scrollTop; // clamped by the browser
    }
    this.#render();
  }

  #indexOf(id: string): number | undefined {
    return this.#index.get(id);
  }

  #schedule(): void {
    if (this.#frame) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0;
      this.#render();
    });
  }

  #clearRows(): void {
    for (const r of this.#rows.values()) r.el.remove();
    this.#rows.clear();
  }

  /** The rows in view: kept when unchanged, rebuilt when their content changed, dropped when out of view. */
  #render(): void {
    const items = this.#items;
    const n = items.length;
    const height = `${n * this.#rowPx}px`;
    if (height !== this.#heightPx) {
      this.#list.style.height = height;
      this.#heightPx = height;
    }
    const view = this.#viewPx || 12 * this.#rowPx;
    const { start, end } = visibleWindow(n, this.#rowPx, this.#scrollTop, view);
    const active = this.#active ?? items[0]?.id;
    const focused = this.#list.contains(document.activeElement) ? document.activeElement : null;
    const keep = new Set<string>();
    // The rows in view, in route order in the DOM too (a screen reader reads the DOM, not the
    // screen): kept when their content is unchanged, rebuilt in place when it changed.
    let cursor: ChildNode | null = this.#list.firstChild;
    for (let i = start; i < end; i++) {
      const w = items[i] as Item;
      keep.add(w.id);
      const key = this.#rowKey(w, i, n, w.id === active);
      const old = this.#rows.get(w.id);
      let el = old?.el;
      if (!old || old.key !== key) {
        el = this.#row(w, i, n, w.id === active);
        if (old) {
          if (cursor === old.el) cursor = el;
          old.el.replaceWith(el);
        }
        this.#rows.set(w.id, { el, key });
      }
      if (!el) continue;
      if (cursor === el) cursor = el.nextSibling;
      else this.#list.insertBefore(el, cursor);
    }
    for (const [id, r] of this.#rows) {
      if (keep.has(id)) continue;
      // A focused row scrolled out of view stays (off screen) so focus is not dropped to the page.
      if (r.el.contains(focused) && this.#indexOf(id) !== undefined) continue;
      r.el.remove();
      this.#rows.delete(id);
    }
    // A row rebuilt or moved takes the focus it had with it.
    if (focused && !this.#list.contains(document.activeElement)) {
      const id = (focused as HTMLElement).closest<HTMLElement>("[data-wp-id]")?.dataset.wpId;
      if (id) this.#rows.get(id)?.el.querySelector<HTMLElement>(".route-item")?.focus();
    }
    if (!this.#measured) {
      const first = this.#list.querySelector<HTMLElement>("li");
      const px = first?.offsetHeight ?? 0;
      if (px > 0) {
        this.#measured = true;
        if (Math.abs(px - this.#rowPx) > 0.5) {
          this.#rowPx = px;
          this.#clearRows();
          this.#render();
        }
      }
    }
  }

  #rowKey(w: Item, i: number, n: number, active: boolean): string {
    const leg = this.#legTo.get(w.id);
    const s = this.#state;
    return [
      i,
      n,
      itemName(w),
      itemMeta(w),
      w.kind === "nav" ? w.type : w.kind,
      leg ? `${formatDistance(leg.metres)} ${formatBearing(leg.bearing)}` : "",
      w.id === s.selected,
      s.highlight?.has(w.id) ?? false,
      active,
    ].join("\u0001");
  }

  #row(w: Item, i: number, n: number, active: boolean): HTMLLIElement {
    const o = this.#o;
    const s = this.#state;
    const leg = this.#legTo.get(w.id);
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
      `${w.id === s.selected ? "selected " : ""}${s.highlight?.has(w.id) ? "changed " : ""}${w.kind === "nav" ? "" : "kept"}`.trim();
    const li = h(
      "li",
      {
        class: cls || undefined,
        "data-wp-id": w.id,
        "aria-setsize": n,
        "aria-posinset": i + 1,
      },
      o.onSelect
        ? h(
            "button",
            {
              type: "button",
              class: "route-item",
              tabindex: active ? 0 : -1,
              "aria-pressed": w.id === s.selected ? "true" : "false",
              onclick: () => o.onSelect?.(w.id),
            },
            body,
          )
        : h("div", { class: "route-item" }, body),
    );
    // Through the CSSOM: the page's content security policy refuses style attributes.
    li.style.top = `${i * this.#rowPx}px`;
    return li;
  }

  #setActive(id: string): void {
    this.#active = id;
    for (const [rid, r] of this.#rows) {
      const b = r.el.querySelector<HTMLElement>("button.route-item");
      if (b) b.tabIndex = rid === id ? 0 : -1;
      // The key holds "active": rebuild nothing, just keep the key in step with what is shown.
      const i = this.#indexOf(rid);
      if (i !== undefined) r.key = this.#rowKey(this.#items[i] as Item, i, this.#items.length, rid === id);
    }
  }

  #onKey(e: KeyboardEvent): void {
    const id = (e.target as HTMLElement).closest<HTMLElement>("[data-wp-id]")?.dataset.wpId;
    if (!id || e.altKey || e.ctrlKey || e.metaKey) return;
    const i = this.#indexOf(id);
    if (i === undefined) return;
    const page = Math.max(1, Math.floor(this.#scroller.clientHeight / this.#rowPx) - 1);
    const n = this.#items.length;
    const to =
      e.key === "ArrowDown"
        ? i + 1
        : e.key === "ArrowUp"
          ? i - 1
          : e.key === "PageDown"
            ? i + page
            : e.key === "PageUp"
              ? i - page
              : e.key === "Home"
                ? 0
                : e.key === "End"
                  ? n - 1
                  : undefined;
    if (to === undefined) return;
    e.preventDefault();
    const j = Math.max(0, Math.min(n - 1, to));
    const target = this.#items[j];
    if (!target) return;
    this.#setActive(target.id);
    this.reveal(target.id);
    this.#rows.get(target.id)?.el.querySelector<HTMLElement>(".route-item")?.focus();
  }
}
