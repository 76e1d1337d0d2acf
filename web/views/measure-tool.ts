/**
 * The map toolbar's "Measure" button: while pressed, clicks on the map set
 * points and the map shows each segment's geodesic distance and bearing and
 * the total (map/measure.ts); the button again, or Escape, ends it.
 */
import { h } from "../dom.ts";
import type { PlanMap } from "../map.ts";

export function measureButton(map: PlanMap): HTMLButtonElement {
  const btn = h("button", { type: "button", class: "btn tool", "aria-pressed": "false" }, "Measure");
  btn.addEventListener("click", () => {
    if (map.measuring) {
      map.stopMeasure();
      return;
    }
    btn.setAttribute("aria-pressed", "true");
    map.startMeasure(() => btn.setAttribute("aria-pressed", "false"));
  });
  return btn;
}
