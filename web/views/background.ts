/**
 * A background image (a scanned chart, an aerial photo) placed on the map by
 * its bounds (south-west and north-east corners in lat/lon; by default the
 * area in view, keeping the image's aspect) with an opacity: a Leaflet image
 * overlay. Loaded, it is on this screen only. The leader may share it
 * ("Share with followers"): it goes into the plan (`chart`, web/plan.ts) shrunk
 * to a JPEG of at most LIMITS.chart characters (a scanned chart as it comes is
 * easily megabytes, over the relay's 1 MiB state limit), with its bounds and
 * opacity. It is sent once, then only when it changes: a change of the plan is a
 * patch, and a patch of a plan whose chart did not change does not carry it.
 * Every screen that shows the plan shows its chart (`showPlanChart`).
 */
import { h } from "../dom.ts";
import type { GeoBounds, PlanMap } from "../map.ts";
import { CHART_PLACE, type Chart, LIMITS } from "../plan.ts";
import { filePicker } from "./common.ts";

const SIDES: [keyof GeoBounds, string][] = [
  ["south", "South"],
  ["west", "West"],
  ["north", "North"],
  ["east", "East"],
];

/** The leader's way to put a chart into the plan (one undo step, published like any edit). */
export interface ChartShare {
  chart(): Chart | undefined;
  set(chart: Chart | undefined): void;
}

export interface BackgroundControls {
  element: HTMLElement;
  /** The plan's chart, at every render: shown on the map when it changes; gone, the map drops it. */
  showPlanChart(chart: Chart | undefined): void;
}

const sameChart = (a: Chart, b: Chart) => a.image === b.image && CHART_PLACE.every((k) => a[k] === b[k]);

/** Largest sides tried, then two JPEG qualities each, until the data: URL fits. */
const SIDES_PX = [2048, 1600, 1280, 1024, 800, 640, 512];

/**
 * The image as a JPEG data: URL of at most `max` characters, or undefined when even
 * 512 px does not fit or the browser refuses to read it back (a canvas it will not export).
 */
export async function shrinkImage(href: string, max = LIMITS.chart): Promise<string | undefined> {
  const img = new Image();
  img.src = href;
  await img.decode();
  const w0 = Math.max(1, img.naturalWidth || img.width);
  const h0 = Math.max(1, img.naturalHeight || img.height);
  for (const side of SIDES_PX) {
    const k = Math.min(1, side / Math.max(w0, h0));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(w0 * k));
    canvas.height = Math.max(1, Math.round(h0 * k));
    const ctx = canvas.getContext("2d");
    if (!ctx) return undefined;
    // JPEG has no transparency: a transparent image goes on white, as it would on paper.
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    for (const q of [0.8, 0.6]) {
      const url = canvas.toDataURL("image/jpeg", q);
      if (url.length <= max) return url;
    }
  }
  return undefined;
}

export function backgroundControls(map: PlanMap, notify: (m: string) => void, share?: ChartShare): BackgroundControls {
  const uid = Math.random().toString(36).slice(2, 6);
  const opacity = h("input", { type: "range", id: `bg-opacity-${uid}`, min: 0.1, max: 1, step: 0.05, value: 0.6 });
  const opacityLabel = h("label", { for: opacity.id }, "Opacity");
  const removeBtn = h(
    "button",
    { type: "button", class: "btn tool", "aria-label": "Remove background image" },
    "Remove",
  );
  const shareBox = h("input", { type: "checkbox", id: `bg-share-${uid}` });
  const shareLabel = h("label", { for: shareBox.id, class: "bg-share" }, shareBox, " Share with followers");
  const inputs = Object.fromEntries(
    SIDES.map(([k]) => [k, h("input", { type: "number", step: "any", id: `bg-${k}-${uid}`, class: "bg-bound" })]),
  ) as Record<keyof GeoBounds, HTMLInputElement>;
  const bounds = h(
    "details",
    { class: "bg-bounds" },
    h("summary", {}, "Image bounds"),
    h(
      "div",
      { class: "bg-bounds-grid" },
      SIDES.map(([k, label]) => [h("label", { for: inputs[k].id }, `${label} (°)`), inputs[k]]),
    ),
  );
  const extra = h(
    "div",
    { class: "tool-group bg-extra", hidden: true },
    opacityLabel,
    opacity,
    bounds,
    share ? shareLabel : "",
    removeBtn,
  );
  const showBounds = (b: GeoBounds) => {
    for (const [k] of SIDES) inputs[k].value = String(Math.round(b[k] * 1e6) / 1e6);
  };
  /** The plan's chart the map shows (or, on the leader, the one made from what it shows). */
  let fromPlan: Chart | undefined;
  /**
   * The map shows an image loaded on this screen and not shared: the plan's chart does
   * not replace it (a follower's own chart stays until removed).
   */
  let own = false;

  /** Shares what the map shows (shrunk), or says why not. */
  async function shareShown() {
    const bg = map.getBackground();
    if (!share || !bg) return;
    const image = await shrinkImage(bg.href).catch(() => undefined);
    if (!image) {
      shareBox.checked = false;
      notify("This image could not be made small enough to share; it stays on your screen only.");
      return;
    }
    const chart: Chart = { image, ...bg.bounds, opacity: bg.opacity };
    // The map keeps the image as loaded here; followers get the shrunk one.
    fromPlan = chart;
    own = false;
    share.set(chart);
    notify("Background shared with followers.");
  }
  /** A shared chart's new place or opacity, into the plan. */
  function updateShared(patch: Partial<Chart>) {
    const now = share?.chart();
    if (!share || !now || !fromPlan) return;
    const next = { ...now, ...patch };
    fromPlan = next;
    share.set(next);
  }

  const picker = filePicker("image/*", (file) => {
    const reader = new FileReader();
    reader.onload = () => {
      const href = String(reader.result);
      const img = new Image();
      img.onload = () => {
        const b = map.boundsForImage(img.naturalHeight / Math.max(1, img.naturalWidth));
        map.setBackground({ href, bounds: b, opacity: Number(opacity.value) });
        showBounds(b);
        extra.hidden = false;
        // Shared before: the new image is shared in its place.
        if (share && fromPlan) void shareShown();
        else {
          own = true;
          notify(`Background ${file.name} placed over the area in view. Only you see it.`);
        }
      };
      img.onerror = () => notify("That file is not an image this browser can show.");
      img.src = href;
    };
    reader.readAsDataURL(file);
  });
  const loadBtn = h(
    "button",
    { type: "button", class: "btn tool", onclick: () => picker.click() },
    "Background image…",
  );
  opacity.addEventListener("input", () => {
    const b = map.getBackground();
    if (b) map.setBackground({ ...b, opacity: Number(opacity.value) });
  });
  // The slider's end (not each step) is one edit of a shared chart.
  opacity.addEventListener("change", () => updateShared({ opacity: Number(opacity.value) }));
  for (const [k] of SIDES)
    inputs[k].addEventListener("change", () => {
      const b = map.getBackground();
      if (!b) return;
      const next = { ...b.bounds, [k]: Number(inputs[k].value) };
      const ok =
        SIDES.every(([s]) => Number.isFinite(next[s])) &&
        next.south < next.north &&
        next.west < next.east &&
        next.south >= -90 &&
        next.north <= 90;
      inputs[k].setAttribute("aria-invalid", String(!ok));
      if (!ok) return;
      map.setBackground({ ...b, bounds: next });
      updateShared(next);
    });
  shareBox.addEventListener("change", () => {
    if (shareBox.checked) {
      void shareShown();
      return;
    }
    // Not shared any more: followers lose it, this screen keeps it.
    fromPlan = undefined;
    own = true;
    share?.set(undefined);
    notify("Background no longer shared. Only you see it.");
  });
  removeBtn.addEventListener("click", () => {
    if (fromPlan && share) share.set(undefined);
    fromPlan = undefined;
    own = false;
    map.setBackground(undefined);
    extra.hidden = true;
    shareBox.checked = false;
    loadBtn.focus();
  });

  return {
    element: h("div", { class: "tool-group bg-tools" }, loadBtn, picker, extra),
    showPlanChart(chart) {
      // A follower's own image stays until removed; the leader's unshared one stays until the
      // plan has a chart again (an undo of the untick).
      if (own && (!share || !chart)) return;
      own = false;
      if (!chart) {
        // Gone from the plan (unshared, undone, removed): off the map if the map showed it.
        if (!fromPlan) return;
        fromPlan = undefined;
        map.setBackground(undefined);
        extra.hidden = true;
        shareBox.checked = false;
        return;
      }
      if (fromPlan && sameChart(fromPlan, chart)) return;
      fromPlan = chart;
      const b = { south: chart.south, west: chart.west, north: chart.north, east: chart.east };
      map.setBackground({ href: chart.image, bounds: b, opacity: chart.opacity });
      showBounds(b);
      opacity.value = String(chart.opacity);
      extra.hidden = false;
      shareBox.checked = true;
    },
  };
}
