/**
 * GeoJSON export (RFC 7946: longitude before latitude, WGS84): the route as a
 * LineString, each waypoint as a Point, the home and rally points as Points,
 * geofence polygons as Polygons (closed rings, counter-clockwise outer ring as
 * the RFC recommends) and fence circles as 64-sided Polygons with the exact
 * centre and radius in their properties. Altitudes are the third coordinate,
 * with what they are measured from in the properties (GeoJSON has no such
 * notion).
 */
import { type Fence, navItems, type Plan } from "../plan.ts";
import { circleRing } from "./shapes.ts";

type Position = [number, number] | [number, number, number];

interface Feature {
  type: "Feature";
  geometry:
    | { type: "Point"; coordinates: Position }
    | { type: "LineString"; coordinates: Position[] }
    | { type: "Polygon"; coordinates: Position[][] };
  properties: Record<string, unknown>;
}

/** Closes a ring and turns it counter-clockwise (by the sign of its area in lon/lat). */
export function ccwRing(points: { lat: number; lon: number }[]): [number, number][] {
  const ring: [number, number][] = points.map((p) => [p.lon, p.lat]);
  let area = 0;
  for (let i = 0; i < ring.length; i++) {
    const [x1, y1] = ring[i] as [number, number];
    const [x2, y2] = ring[(i + 1) % ring.length] as [number, number];
    area += x1 * y2 - x2 * y1;
  }
  if (area < 0) ring.reverse();
  ring.push([...(ring[0] as [number, number])]);
  return ring;
}

function fenceFeatures(fence: Fence): Feature[] {
  return [
    ...fence.polygons.map(
      (pg, i): Feature => ({
        type: "Feature",
        geometry: { type: "Polygon", coordinates: [ccwRing(pg.points)] },
        properties: { layer: "geofence", shape: "polygon", index: i + 1, inclusion: pg.inclusion },
      }),
    ),
    ...fence.circles.map(
      (c, i): Feature => ({
        type: "Feature",
        geometry: { type: "Polygon", coordinates: [ccwRing(circleRing(c, c.radius, 64))] },
        properties: {
          layer: "geofence",
          shape: "circle",
          index: i + 1,
          inclusion: c.inclusion,
          center: [c.lon, c.lat],
          radius: c.radius,
        },
      }),
    ),
  ];
}

export function toGeoJson(plan: Plan): string {
  const nav = navItems(plan);
  const features: Feature[] = [];
  if (nav.length >= 2) {
    features.push({
      type: "Feature",
      geometry: { type: "LineString", coordinates: nav.map((w) => [w.lon, w.lat, w.alt]) },
      properties: { layer: "route", title: plan.title },
    });
  }
  for (const w of nav) {
    features.push({
      type: "Feature",
      geometry: { type: "Point", coordinates: [w.lon, w.lat, w.alt] },
      properties: {
        layer: "waypoints",
        seq: plan.waypoints.indexOf(w) + 1,
        name: w.name,
        type: w.type,
        command: w.command,
        altitude: w.alt,
        altitudeReference: w.altRef,
        ...(w.speed !== undefined ? { speed: w.speed } : {}),
      },
    });
  }
  if (plan.home) {
    features.push({
      type: "Feature",
      geometry: { type: "Point", coordinates: [plan.home.lon, plan.home.lat, plan.home.alt] },
      properties: { layer: "home", altitudeReference: "msl" },
    });
  }
  features.push(...fenceFeatures(plan.fence));
  plan.rally.forEach((r, i) => {
    features.push({
      type: "Feature",
      geometry: { type: "Point", coordinates: [r.lon, r.lat, r.alt] },
      properties: { layer: "rally", index: i + 1, altitudeReference: "home" },
    });
  });
  return `${JSON.stringify({ type: "FeatureCollection", features }, null, 2)}\n`;
}
