/**
 * A background image (a scanned map, an aerial photo) under the grid. It stays
 * on this screen only: it is not part of the plan, so it never hits the 1 MiB
 * limit. It is placed over the area now in view; zoom/pan move it with the grid.
 */
import { h } from "../dom.ts";
import type { PlanMap } from "../map.ts";
import { filePicker } from "./common.ts";

export function backgroundControls(map: PlanMap, notify: (m: string) => void): HTMLElement {
  const opacity = h("input", {
    type: "range",
    id: `bg-opacity-${Math.random().toString(36).slice(2, 6)}`,
    min: 0.1,
    max: 1,
    step: 0.05,
    value: 0.6,
  });
  const opacityLabel = h("label", { for: opacity.id }, "Opacity");
  const removeBtn = h(
    "button",
    { type: "button", class: "btn tool", "aria-label": "Remove background image" },
    "Remove",
  );
  const extra = h("div", { class: "tool-group bg-extra", hidden: true }, opacityLabel, opacity, removeBtn);
  const picker = filePicker("image/*", (file) => {
    const reader = new FileReader();
    reader.onload = () => {
      const href = String(reader.result);
      const img = new Image();
      img.onload = () => {
        const v = map.visibleWorld();
        const aspect = img.naturalHeight / Math.max(1, img.naturalWidth);
        // Fit the image inside the visible area, top-left aligned.
        let w = v.w;
        let hgt = w * aspect;
        if (hgt > v.h) {
          hgt = v.h;
          w = hgt / aspect;
        }
        map.setBackground({ href, x: v.x, y: v.y, w, h: hgt, opacity: Number(opacity.value) });
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
  removeBtn.addEventListener("click", () => {
    map.setBackground(undefined);
    extra.hidden = true;
    loadBtn.focus();
  });
  return h("div", { class: "tool-group bg-tools" }, loadBtn, picker, extra);
}
