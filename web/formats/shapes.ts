/** Shapes the export formats share. */
import { fromLocal, type LatLon } from "../geo.ts";

/** A circle of `radius` metres around `center` as `sides` points (not closed), from north clockwise. */
export function circleRing(center: LatLon, radius: number, sides: number): LatLon[] {
  const out: LatLon[] = [];
  for (let i = 0; i < sides; i++) {
    const a = (2 * Math.PI * i) / sides;
    out.push(fromLocal(center, { x: radius * Math.sin(a), y: radius * Math.cos(a) }));
  }
  return out;
}
