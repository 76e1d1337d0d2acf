/**
 * Geodesy on the WGS84 ellipsoid, in pure functions (no dependencies, so the
 * page bundle stays small and the numbers are tested here against published
 * values):
 *
 * - `inverse`: geodesic distance and bearings between two points (Vincenty's
 *   inverse formula, iterated to 1e-12 rad: sub-millimetre for any pair that
 *   is not nearly antipodal; those fall back to a great circle, flagged).
 * - `toLocal` / `fromLocal`: a local tangent plane (east/north metres) around
 *   an origin. A point is taken on the ellipsoid (height 0), turned into
 *   earth-centred coordinates and rotated into the origin's east/north/up
 *   frame; "up" is dropped. The inverse solves for the point on the ellipsoid
 *   with those east/north values, so the pair round-trips to well under a
 *   millimetre out to hundreds of kilometres (the metre-grid map and the v1
 *   migration rely on that).
 */

export interface LatLon {
  lat: number;
  lon: number;
}

export interface EastNorth {
  /** Metres east of the origin. */
  x: number;
  /** Metres north of the origin. */
  y: number;
}

export const WGS84 = { a: 6_378_137, f: 1 / 298.257223563 } as const;
const A = WGS84.a;
const F = WGS84.f;
const B = A * (1 - F);
const E2 = F * (2 - F);
const RAD = Math.PI / 180;
/** Mean earth radius (IUGG), for the great-circle fallback only. */
const MEAN_RADIUS = 6_371_008.8;

export interface Geodesic {
  /** Metres along the ellipsoid. */
  distance: number;
  /** Degrees clockwise from true north, 0..360, at the start. */
  initialBearing: number;
  /** Degrees clockwise from true north, 0..360, on arrival. */
  finalBearing: number;
  /** True when Vincenty did not converge (nearly antipodal) and a sphere was used. */
  approximate: boolean;
}

const norm360 = (deg: number) => ((deg % 360) + 360) % 360;

/** Distance and bearings from `p` to `q` on WGS84 (Vincenty 1975, inverse). */
export function inverse(p: LatLon, q: LatLon): Geodesic {
  const L = (q.lon - p.lon) * RAD;
  const U1 = Math.atan((1 - F) * Math.tan(p.lat * RAD));
  const U2 = Math.atan((1 - F) * Math.tan(q.lat * RAD));
  const sinU1 = Math.sin(U1);
  const cosU1 = Math.cos(U1);
  const sinU2 = Math.sin(U2);
  const cosU2 = Math.cos(U2);
  let lambda = L;
  let sinSigma = 0;
  let cosSigma = 1;
  let sigma = 0;
  let cos2Alpha = 1;
  let cos2SigmaM = 0;
  let sinLambda = 0;
  let cosLambda = 1;
  let converged = false;
  for (let i = 0; i < 200; i++) {
    sinLambda = Math.sin(lambda);
    cosLambda = Math.cos(lambda);
    const t1 = cosU2 * sinLambda;
    const t2 = cosU1 * sinU2 - sinU1 * cosU2 * cosLambda;
    sinSigma = Math.sqrt(t1 * t1 + t2 * t2);
    if (sinSigma === 0) return { distance: 0, initialBearing: 0, finalBearing: 0, approximate: false };
    cosSigma = sinU1 * sinU2 + cosU1 * cosU2 * cosLambda;
    sigma = Math.atan2(sinSigma, cosSigma);
    const sinAlpha = (cosU1 * cosU2 * sinLambda) / sinSigma;
    cos2Alpha = 1 - sinAlpha * sinAlpha;
    // On the equator cos²α is 0 and the term is defined as 0.
    cos2SigmaM = cos2Alpha !== 0 ? cosSigma - (2 * sinU1 * sinU2) / cos2Alpha : 0;
    const C = (F / 16) * cos2Alpha * (4 + F * (4 - 3 * cos2Alpha));
    const next =
      L +
      (1 - C) *
        F *
        sinAlpha *
        (sigma + C * sinSigma * (cos2SigmaM + C * cosSigma * (-1 + 2 * cos2SigmaM * cos2SigmaM)));
    if (Math.abs(next - lambda) < 1e-12) {
      lambda = next;
      converged = true;
      break;
    }
    lambda = next;
  }
  if (!converged) return greatCircle(p, q);
  sinLambda = Math.sin(lambda);
  cosLambda = Math.cos(lambda);
  const u2 = (cos2Alpha * (A * A - B * B)) / (B * B);
  const bigA = 1 + (u2 / 16384) * (4096 + u2 * (-768 + u2 * (320 - 175 * u2)));
  const bigB = (u2 / 1024) * (256 + u2 * (-128 + u2 * (74 - 47 * u2)));
  const c2 = cos2SigmaM * cos2SigmaM;
  const deltaSigma =
    bigB *
    sinSigma *
    (cos2SigmaM +
      (bigB / 4) *
        (cosSigma * (-1 + 2 * c2) - (bigB / 6) * cos2SigmaM * (-3 + 4 * sinSigma * sinSigma) * (-3 + 4 * c2)));
  const distance = B * bigA * (sigma - deltaSigma);
  const a1 = Math.atan2(cosU2 * sinLambda, cosU1 * sinU2 - sinU1 * cosU2 * cosLambda);
  const a2 = Math.atan2(cosU1 * sinLambda, -sinU1 * cosU2 + cosU1 * sinU2 * cosLambda);
  return { distance, initialBearing: norm360(a1 / RAD), finalBearing: norm360(a2 / RAD), approximate: false };
}

/** Haversine on the mean sphere: only for the pairs Vincenty cannot do. */
function greatCircle(p: LatLon, q: LatLon): Geodesic {
  const f1 = p.lat * RAD;
  const f2 = q.lat * RAD;
  const dl = (q.lon - p.lon) * RAD;
  const h = Math.sin((f2 - f1) / 2) ** 2 + Math.cos(f1) * Math.cos(f2) * Math.sin(dl / 2) ** 2;
  const distance = 2 * MEAN_RADIUS * Math.asin(Math.min(1, Math.sqrt(h)));
  const bearing = (a: number, b: number, d: number) =>
    Math.atan2(Math.sin(d) * Math.cos(b), Math.cos(a) * Math.sin(b) - Math.sin(a) * Math.cos(b) * Math.cos(d));
  return {
    distance,
    initialBearing: norm360(bearing(f1, f2, dl) / RAD),
    finalBearing: norm360(bearing(f2, f1, -dl) / RAD + 180),
    approximate: true,
  };
}

// ---- local tangent plane (east/north) -------------------------------------------

function ecef(p: LatLon): [number, number, number] {
  const la = p.lat * RAD;
  const lo = p.lon * RAD;
  const n = A / Math.sqrt(1 - E2 * Math.sin(la) ** 2);
  return [n * Math.cos(la) * Math.cos(lo), n * Math.cos(la) * Math.sin(lo), n * (1 - E2) * Math.sin(la)];
}

/** East/north metres of `p` in the tangent plane at `origin` (both on the ellipsoid). */
export function toLocal(origin: LatLon, p: LatLon): EastNorth {
  const [x0, y0, z0] = ecef(origin);
  const [x1, y1, z1] = ecef(p);
  const dx = x1 - x0;
  const dy = y1 - y0;
  const dz = z1 - z0;
  const la = origin.lat * RAD;
  const lo = origin.lon * RAD;
  const east = -Math.sin(lo) * dx + Math.cos(lo) * dy;
  const north = -Math.sin(la) * Math.cos(lo) * dx - Math.sin(la) * Math.sin(lo) * dy + Math.cos(la) * dz;
  return { x: east, y: north };
}

/** Radii of curvature (meridian M, prime vertical N) at a latitude in degrees. */
function radii(latDeg: number): { m: number; n: number } {
  const s2 = Math.sin(latDeg * RAD) ** 2;
  const w = Math.sqrt(1 - E2 * s2);
  return { m: (A * (1 - E2)) / (w * w * w), n: A / w };
}

/**
 * The point on the ellipsoid whose east/north in the tangent plane at
 * `origin` are `en`: Newton-like steps with the local radii as the Jacobian
 * (each step gains a factor ~(d/R)², so a few steps reach 1e-7 m).
 */
export function fromLocal(origin: LatLon, en: EastNorth): LatLon {
  let lat = origin.lat;
  let lon = origin.lon;
  for (let i = 0; i < 50; i++) {
    const at = toLocal(origin, { lat, lon });
    const de = en.x - at.x;
    const dn = en.y - at.y;
    if (Math.abs(de) < 1e-7 && Math.abs(dn) < 1e-7) break;
    const { m, n } = radii(lat);
    lat = Math.max(-90, Math.min(90, lat + dn / m / RAD));
    lon += de / (n * Math.max(1e-9, Math.cos(lat * RAD))) / RAD;
  }
  return { lat, lon: normLon(lon) };
}

/** Longitude into -180..180. */
export function normLon(lon: number): number {
  if (lon >= -180 && lon <= 180) return lon; // as it is: the arithmetic below would add rounding noise
  const l = ((((lon + 180) % 360) + 360) % 360) - 180;
  return l === -180 && lon > 0 ? 180 : l;
}

// ---- route totals -------------------------------------------------------------------

export interface TimedLeg {
  distance: number;
  /** m/s used for this leg. */
  speed: number;
  seconds: number;
}

/**
 * Seconds for legs of given lengths: each leg at its own speed where the plan
 * sets one, else at the cruise speed. A speed of 0 or less cannot be flown and
 * gives Infinity (the caller says "unknown").
 */
export function legTimes(legs: { distance: number; speed?: number | undefined }[], cruise: number): TimedLeg[] {
  return legs.map((l) => {
    const speed = l.speed !== undefined && l.speed > 0 ? l.speed : cruise;
    return { distance: l.distance, speed, seconds: speed > 0 ? l.distance / speed : Number.POSITIVE_INFINITY };
  });
}

/** "1 h 05 min", "12 min 30 s", "45 s"; unknown for non-finite. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "unknown";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h} h ${String(m).padStart(2, "0")} min`;
  return `${m} min ${String(s % 60).padStart(2, "0")} s`;
}

/** 47.3977419° N, 8.5455938° E (7 decimals: about a centimetre). */
export function formatLatLon(p: LatLon): string {
  const la = `${Math.abs(p.lat).toFixed(7)}° ${p.lat < 0 ? "S" : "N"}`;
  const lo = `${Math.abs(p.lon).toFixed(7)}° ${p.lon < 0 ? "W" : "E"}`;
  return `${la}, ${lo}`;
}
