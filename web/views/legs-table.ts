/**
 * The numbers a planner reads off a route, leg by leg: geodesic distance, true
 * bearing, the speed it is flown at (and where that speed comes from) and its
 * time, with the totals. A collapsible table, filled only while open: a plan
 * of 2,000 waypoints must not build 2,000 rows on every change nobody reads.
 */
import { h } from "../dom.ts";
import { formatDuration } from "../geo.ts";
import { formatBearing, formatDistance, itemName, type Leg, legs, type Plan } from "../plan.ts";

const SPEED_FROM: Record<Leg["speedFrom"], string> = {
  own: "its own",
  command: "Change speed",
  cruise: "cruise",
};

export interface LegsTable {
  element: HTMLDetailsElement;
  render(plan: Plan): void;
}

export function legsTable(): LegsTable {
  const body = h("div", { class: "legs-body" });
  const element = h(
    "details",
    { class: "legs", "data-testid": "legs" },
    h("summary", {}, "Legs: distance, bearing, speed, time"),
    body,
  );
  let shown: Plan | undefined;
  let last: Plan | undefined;

  function fill(plan: Plan) {
    shown = plan;
    const ls = legs(plan);
    if (ls.length === 0) {
      body.replaceChildren(h("p", { class: "empty" }, "No legs yet: a leg joins two waypoints."));
      return;
    }
    const total = ls.reduce((a, l) => ({ m: a.m + l.metres, s: a.s + l.seconds }), { m: 0, s: 0 });
    body.replaceChildren(
      h(
        "table",
        { class: "legs-table", "data-testid": "legs-table" },
        h("caption", { class: "visually-hidden" }, "Each leg of the route"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Leg", "Distance", "Bearing", "Speed", "Time"].map((t) => h("th", { scope: "col" }, t)),
          ),
        ),
        h(
          "tbody",
          {},
          ls.map((l) =>
            h(
              "tr",
              { "data-leg-to": l.to.id },
              h("th", { scope: "row" }, `${itemName(l.from)} → ${itemName(l.to)}`),
              h("td", {}, formatDistance(l.metres)),
              h("td", {}, formatBearing(l.bearing)),
              h(
                "td",
                { title: `Speed: ${SPEED_FROM[l.speedFrom]}` },
                `${l.speed} m/s`,
                h("small", {}, ` ${SPEED_FROM[l.speedFrom]}`),
              ),
              h("td", {}, formatDuration(l.seconds)),
            ),
          ),
        ),
        h(
          "tfoot",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "row" }, "Total"),
            h("td", { "data-testid": "legs-total-distance" }, formatDistance(total.m)),
            h("td"),
            h("td"),
            h("td", { "data-testid": "legs-total-time" }, formatDuration(total.s)),
          ),
        ),
      ),
    );
  }

  element.addEventListener("toggle", () => {
    if (element.open && last && last !== shown) fill(last);
  });

  return {
    element,
    render(plan) {
      last = plan;
      if (element.open && plan !== shown) fill(plan);
    },
  };
}
