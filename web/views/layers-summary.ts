/**
 * The plan's geofence and rally points in words, for the follower (who sees
 * them on the map too): one line per area or point, so they can be read
 * without the map and by a screen reader.
 */
import { h } from "../dom.ts";
import { formatLatLon } from "../geo.ts";
import { formatDistance, type Plan } from "../plan.ts";

export function layersSummary(plan: Plan): HTMLElement {
  const f = plan.fence;
  const kind = (inclusion: boolean) => (inclusion ? "Inclusion" : "Exclusion");
  const items = [
    ...f.polygons.map((pg, i) =>
      h(
        "li",
        {
          "data-testid": `layer-polygon-${i}`,
          "data-kind": kind(pg.inclusion).toLowerCase(),
          // Every vertex, for tools and tests (the sentence names only the first).
          "data-vertices": pg.points.map((p) => `${p.lat},${p.lon}`).join(" "),
        },
        `${kind(pg.inclusion)} polygon ${i + 1}: ${pg.points.length} vertices, first at ${formatLatLon(pg.points[0] ?? plan.origin)}`,
      ),
    ),
    ...f.circles.map((c, i) =>
      h(
        "li",
        { "data-testid": `layer-circle-${i}`, "data-kind": kind(c.inclusion).toLowerCase() },
        `${kind(c.inclusion)} circle ${i + 1}: ${formatDistance(c.radius)} radius around ${formatLatLon(c)}`,
      ),
    ),
    f.breachReturn
      ? h(
          "li",
          { "data-testid": "layer-breach" },
          `Breach return: ${formatLatLon(f.breachReturn)}, ${Math.round(f.breachReturn.alt)} m above mean sea level`,
        )
      : null,
    ...plan.rally.map((r, i) =>
      h(
        "li",
        { "data-testid": `layer-rally-${i}` },
        `Rally point ${i + 1}: ${formatLatLon(r)}, ${Math.round(r.alt * 10) / 10} m`,
      ),
    ),
  ].filter((x): x is HTMLLIElement => x !== null);
  if (items.length === 0)
    return h("p", { class: "empty", "data-testid": "layers-summary" }, "No geofence or rally points.");
  return h("ul", { class: "layers-summary", "data-testid": "layers-summary" }, items);
}
