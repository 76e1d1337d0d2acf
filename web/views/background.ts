/**
 * A background image (a scanned chart, an aerial photo) placed on the map by
 * its bounds (south-west and north-east corners in lat/lon; by default the
 * area in view, keeping the image's aspect) with an opacity: a Leaflet image
 * overlay. It stays on this screen only: a scanned chart as a data: URL is
 * easily megabytes, far over the relay's 1 MiB state limit and resent with every
 * change of the plan, so it is not part of the plan and followers do not get it.
 */
import { h } from "../dom.ts";
import type { GeoBounds, PlanMap } from "../map.ts";
import { filePicker } from "./common.ts";

const SIDES: [keyof GeoBounds, string][] = [
  ["south", "South"],
  ["west", "West"],
  ["north", "North"],
  ["east", "East"],
];

export function backgroundControls(map: PlanMap, notify: (m: string) => void): HTMLElement {
  const uid = Math.random().toString(36).slice(2, 6);
  const opacity = h("input", { type: "range", id: `bg-opacity-${uid}`, min: 0.1, max: 1, step: 0.05, value: 0.6 });
  const opacityLabel = h("label", { for: opacity.id }, "Opacity");
  const removeBtn = h(
    "button",
    { type: "button", class: "btn tool", "aria-label": "Remove background image" },
    "Remove",
  );
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
  const extra = h("div", { class: "tool-group bg-extra", hidden: true }, opacityLabel, opacity, bounds, removeBtn);
  const showBounds = (b: GeoBounds) => {
    for (const [k] of SIDES) inputs[k].value = String(Math.round(b[k] * 1e6) / 1e6);
  };
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
        notify(`Background ${file.name} placed over the area in view. Only you see it.`);
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
      if (ok) map.setBackground({ ...b, bounds: next });
    });
  removeBtn.addEventListener("click", () => {
    map.setBackground(undefined);
    extra.hidden = true;
    loadBtn.focus();
  });
  return h("div", { class: "tool-group bg-tools" }, loadBtn, picker, extra);
}
