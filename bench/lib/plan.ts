/**
 * Plan-shaped states for the bench (the web app's plan: version, title, notes,
 * waypoints with id/name/type/x/y), deterministic for a given seed.
 */
export interface Waypoint {
  id: string;
  name: string;
  type: string;
  x: number;
  y: number;
}
export interface Plan {
  version: 1;
  title: string;
  notes: string;
  waypoints: Waypoint[];
  rev?: number;
}

const TYPES = ["start", "waypoint", "target", "rally", "landing"];

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

export function waypoint(i: number, r: () => number): Waypoint {
  return {
    id: `wp-${i.toString(36)}-${Math.floor(r() * 1e9).toString(36)}`,
    name: `Waypoint ${i + 1} near grid ${Math.floor(r() * 1000)}`,
    type: TYPES[i % TYPES.length] as string,
    x: Math.round((r() - 0.5) * 2e6) / 10,
    y: Math.round((r() - 0.5) * 2e6) / 10,
  };
}

/** A plan whose JSON is about `bytes` long (notes <= 20,000 chars, the rest waypoints). */
export function makePlan(bytes: number, seed = 1): Plan {
  const r = rng(seed);
  const notesLen = Math.min(20_000, Math.floor(bytes / 10));
  const plan: Plan = { version: 1, title: "Bench mission", notes: "n".repeat(notesLen), waypoints: [] };
  let size = JSON.stringify(plan).length;
  for (let i = 0; size < bytes; i++) {
    const w = waypoint(i, r);
    plan.waypoints.push(w);
    size += JSON.stringify(w).length + 1;
  }
  return plan;
}

/** A small edit of the kind a leader makes: move, rename, insert or delete one waypoint. */
export function smallEdit(plan: Plan, i: number, r: () => number): Plan {
  const wps = plan.waypoints.slice();
  const at = Math.floor(r() * wps.length);
  const w = wps[at] as Waypoint;
  switch (i % 4) {
    case 0:
      wps[at] = { ...w, x: Math.round(w.x + (r() - 0.5) * 100) / 1, y: Math.round(w.y + (r() - 0.5) * 100) / 1 };
      break;
    case 1:
      wps[at] = { ...w, name: `${w.name} (renamed ${i})` };
      break;
    case 2:
      wps.splice(at, 0, waypoint(10_000 + i, r));
      break;
    default:
      wps.splice(at, 1);
  }
  return { ...plan, waypoints: wps };
}
