/**
 * KML 2.2 export: the route as a LineString, each waypoint as a Point
 * Placemark, the geofence as Polygons (fence circles as 64-sided polygons),
 * rally points as Points, in folders.
 *
 * Altitudes: KML knows "absolute" (above sea level) and "relativeToGround"
 * (above the terrain under the point). Heights above sea level and above
 * terrain map directly; a height above home is written absolute (home's
 * altitude plus the height) when the plan has a home position, else as
 * relativeToGround, which is right only where the ground is as high as home.
 */
import { type LatLon, normLon } from "../geo.ts";
import { type NavItem, navItems, type Plan } from "../plan.ts";
import { circleRing } from "./shapes.ts";

export function escapeXml(s: string): string {
  return s.replace(
    /[<>&"']/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c] ?? c,
  );
}

function kmlAlt(plan: Plan, w: NavItem): { mode: "absolute" | "relativeToGround"; alt: number } {
  if (w.altRef === "msl") return { mode: "absolute", alt: w.alt };
  if (w.altRef === "terrain") return { mode: "relativeToGround", alt: w.alt };
  return plan.home ? { mode: "absolute", alt: plan.home.alt + w.alt } : { mode: "relativeToGround", alt: w.alt };
}

const coord = (p: LatLon, alt = 0) => `${normLon(p.lon)},${p.lat},${alt}`;

function ring(points: LatLon[]): string {
  const pts = [...points, points[0] as LatLon];
  return pts.map((p) => coord(p)).join(" ");
}

export function toKml(plan: Plan): string {
  const nav = navItems(plan);
  const parts: string[] = [];
  const placemark = (name: string, style: string, body: string, description = "") =>
    `      <Placemark>\n        <name>${escapeXml(name)}</name>\n${description ? `        <description>${escapeXml(description)}</description>\n` : ""}        <styleUrl>#${style}</styleUrl>\n${body}      </Placemark>`;
  if (nav.length >= 2) {
    // One altitude mode per LineString: the first waypoint's (mixed references are listed per point below).
    const first = kmlAlt(plan, nav[0] as NavItem);
    const coords = nav.map((w) => coord(w, kmlAlt(plan, w).alt)).join(" ");
    parts.push(
      `    <Folder>\n      <name>Route</name>\n${placemark(
        plan.title || "Route",
        "route",
        `        <LineString>\n          <altitudeMode>${first.mode}</altitudeMode>\n          <coordinates>${coords}</coordinates>\n        </LineString>\n`,
      )}\n    </Folder>`,
    );
  }
  if (nav.length) {
    const pts = nav.map((w) => {
      const a = kmlAlt(plan, w);
      return placemark(
        `${plan.waypoints.indexOf(w) + 1}. ${w.name}`,
        "waypoint",
        `        <Point>\n          <altitudeMode>${a.mode}</altitudeMode>\n          <coordinates>${coord(w, a.alt)}</coordinates>\n        </Point>\n`,
        `MAV command ${w.command}, ${w.alt} m ${w.altRef === "home" ? "above home" : w.altRef === "msl" ? "above mean sea level" : "above terrain"}`,
      );
    });
    parts.push(`    <Folder>\n      <name>Waypoints</name>\n${pts.join("\n")}\n    </Folder>`);
  }
  const fence = [
    ...plan.fence.polygons.map((pg, i) => ({ name: `Polygon ${i + 1}`, inclusion: pg.inclusion, pts: pg.points })),
    ...plan.fence.circles.map((c, i) => ({
      name: `Circle ${i + 1} (${c.radius} m)`,
      inclusion: c.inclusion,
      pts: circleRing(c, c.radius, 64),
    })),
  ];
  if (fence.length) {
    const polys = fence.map((f) =>
      placemark(
        `${f.name}, ${f.inclusion ? "inclusion" : "exclusion"}`,
        f.inclusion ? "fence-in" : "fence-out",
        `        <Polygon>\n          <outerBoundaryIs>\n            <LinearRing>\n              <coordinates>${ring(f.pts)}</coordinates>\n            </LinearRing>\n          </outerBoundaryIs>\n        </Polygon>\n`,
      ),
    );
    parts.push(`    <Folder>\n      <name>Geofence</name>\n${polys.join("\n")}\n    </Folder>`);
  }
  if (plan.rally.length) {
    const pts = plan.rally.map((r, i) =>
      placemark(
        `Rally point ${i + 1}`,
        "rally",
        `        <Point>\n          <altitudeMode>${plan.home ? "absolute" : "relativeToGround"}</altitudeMode>\n          <coordinates>${coord(r, plan.home ? plan.home.alt + r.alt : r.alt)}</coordinates>\n        </Point>\n`,
      ),
    );
    parts.push(`    <Folder>\n      <name>Rally points</name>\n${pts.join("\n")}\n    </Folder>`);
  }
  const style = (id: string, body: string) => `    <Style id="${id}">\n${body}    </Style>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2">
  <Document>
    <name>${escapeXml(plan.title || "Mission")}</name>
${style("route", "      <LineStyle><color>ff00a5ff</color><width>3</width></LineStyle>\n")}
${style("waypoint", "      <IconStyle><scale>0.8</scale></IconStyle>\n")}
${style("fence-in", "      <LineStyle><color>ff00c000</color><width>2</width></LineStyle>\n      <PolyStyle><color>2000c000</color></PolyStyle>\n")}
${style("fence-out", "      <LineStyle><color>ff0000e0</color><width>2</width></LineStyle>\n      <PolyStyle><color>400000e0</color></PolyStyle>\n")}
${style("rally", "      <IconStyle><scale>0.7</scale></IconStyle>\n")}
${parts.join("\n")}
  </Document>
</kml>
`;
}
