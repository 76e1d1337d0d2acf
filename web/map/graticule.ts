/**
 * The graticule, pure: which parallels and meridians to draw for the area in
 * view, and their labels. The step is the smallest of a 1-2-5 ladder of
 * degrees (30°, 10°, 5°, 2°, 1°, 0.5°, ... 0.001°) that keeps about eight
 * lines or fewer across the view, so a zoomed-out view shows every 10° and a
 * field-sized one every 0.01°. In Web Mercator both families are straight
 * lines, so each line is just its two ends.
 */
export interface Bounds {
  south: number;
  west: number;
  north: number;
  east: number;
}

export interface GraticuleLine {
  kind: "parallel" | "meridian";
  /** Latitude of a parallel, longitude of a meridian (degrees). */
  value: number;
  /** Its two ends, [lat, lon]. */
  ends: [[number, number], [number, number]];
  label: string;
}

export const STEPS = [30, 20, 10, 5, 2, 1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001] as const;

/** The step (degrees) for a view `span` degrees wide: at most `maxLines` lines across it. */
export function graticuleStep(span: number, maxLines = 8): number {
  let step: number = STEPS[0];
  for (const s of STEPS) if (span / s <= maxLines) step = s;
  return step;
}

/** Decimals a label needs for `step` (0.05° → 2). */
function decimals(step: number): number {
  return Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
}

export function formatGraticule(value: number, kind: GraticuleLine["kind"], step: number): string {
  const d = decimals(step);
  const v = Math.abs(value) < 1e-9 ? 0 : value;
  const hemi = kind === "parallel" ? (v > 0 ? "N" : v < 0 ? "S" : "") : v > 0 ? "E" : v < 0 ? "W" : "";
  return `${Math.abs(v).toFixed(d)}°${hemi}`;
}

/** The lines for `b` (clamped to ±85° and ±180°). */
export function graticule(b: Bounds): { step: number; lines: GraticuleLine[] } {
  const south = Math.max(-85, b.south);
  const north = Math.min(85, b.north);
  const west = Math.max(-180, b.west);
  const east = Math.min(180, b.east);
  const step = graticuleStep(Math.max(north - south, east - west));
  const lines: GraticuleLine[] = [];
  // Integer multiples of the step, so 0.1 + 0.2 never drifts.
  const range = (lo: number, hi: number) => {
    const out: number[] = [];
    for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + 1e-9; k++) out.push(Number((k * step).toFixed(9)));
    return out;
  };
  for (const lat of range(south, north))
    lines.push({
      kind: "parallel",
      value: lat,
      ends: [
        [lat, west],
        [lat, east],
      ],
      label: formatGraticule(lat, "parallel", step),
    });
  for (const lon of range(west, east))
    lines.push({
      kind: "meridian",
      value: lon,
      ends: [
        [south, lon],
        [north, lon],
      ],
      label: formatGraticule(lon, "meridian", step),
    });
  return { step, lines };
}
