/**
 * The measuring tool's state, pure: the points clicked so far and, between
 * each pair, the geodesic distance and the initial true bearing (Vincenty on
 * WGS84, ../geo.ts), plus the total. The map draws it and feeds it clicks.
 */
import { inverse, type LatLon } from "../geo.ts";
import { formatBearing, formatDistance } from "../plan.ts";

export interface MeasureSegment {
  metres: number;
  bearing: number;
}

export class Measure {
  readonly points: LatLon[] = [];

  add(p: LatLon): void {
    this.points.push({ lat: p.lat, lon: p.lon });
  }

  clear(): void {
    this.points.length = 0;
  }

  segments(): MeasureSegment[] {
    const out: MeasureSegment[] = [];
    for (let i = 1; i < this.points.length; i++) {
      const g = inverse(this.points[i - 1] as LatLon, this.points[i] as LatLon);
      out.push({ metres: g.distance, bearing: g.initialBearing });
    }
    return out;
  }

  total(): number {
    return this.segments().reduce((s, x) => s + x.metres, 0);
  }

  /** What the map's readout says. */
  text(): string {
    const segs = this.segments();
    if (this.points.length === 0) return "Measure: click the map to set the first point. Escape ends.";
    if (segs.length === 0) return "Measure: click the next point. Escape ends.";
    const last = segs.at(-1) as MeasureSegment;
    const leg = `Last: ${formatDistance(last.metres)} · ${formatBearing(last.bearing)}`;
    return segs.length === 1 ? `${leg}` : `${leg} · Total ${formatDistance(this.total())} (${segs.length} segments)`;
  }
}
