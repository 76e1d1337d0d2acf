/**
 * Label declutter, pure: given candidate labels as screen boxes in priority
 * order, keep a label only where its box overlaps none already kept. A
 * screen-space grid of `cell` px buckets the kept boxes, so each candidate is
 * checked against the few boxes near it (2,000 labels stay well under a
 * millisecond or two), never against all of them.
 */
export interface LabelBox {
  id: string;
  /** Top-left corner and size, in px. */
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The ids of the boxes to show; `blocked` boxes (markers, say) are never covered but are not returned. */
export function declutter(candidates: readonly LabelBox[], blocked: readonly LabelBox[] = [], cell = 64): Set<string> {
  const grid = new Map<string, LabelBox[]>();
  const cells = (b: LabelBox) => {
    const out: string[] = [];
    for (let cx = Math.floor(b.x / cell); cx <= Math.floor((b.x + b.w) / cell); cx++)
      for (let cy = Math.floor(b.y / cell); cy <= Math.floor((b.y + b.h) / cell); cy++) out.push(`${cx},${cy}`);
    return out;
  };
  const overlaps = (a: LabelBox, b: LabelBox) =>
    a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
  const put = (b: LabelBox) => {
    for (const k of cells(b)) {
      const list = grid.get(k);
      if (list) list.push(b);
      else grid.set(k, [b]);
    }
  };
  for (const b of blocked) put(b);
  const kept = new Set<string>();
  for (const c of candidates) {
    const hit = cells(c).some((k) => grid.get(k)?.some((o) => o.id !== c.id && overlaps(o, c)));
    if (hit) continue;
    kept.add(c.id);
    put(c);
  }
  return kept;
}

/**
 * The share (0-1) of `points` that have another point closer than `radius` px:
 * how many markers `radius` px wide would cover a neighbour. Bucketed on a grid
 * of cells whose diagonal is `radius`, so two points in one cell are close at
 * once and a lone point is checked against the cells two around it only (a
 * zoomed-out plan of 2,000 points in a few cells stays linear).
 */
export function crowding(points: readonly { x: number; y: number }[], radius: number): number {
  if (points.length < 2 || radius <= 0) return 0;
  const cell = radius / Math.SQRT2;
  const grid = new Map<string, { x: number; y: number }[]>();
  const key = (cx: number, cy: number) => `${cx},${cy}`;
  for (const p of points) {
    const k = key(Math.floor(p.x / cell), Math.floor(p.y / cell));
    const list = grid.get(k);
    if (list) list.push(p);
    else grid.set(k, [p]);
  }
  const r2 = radius * radius;
  let crowded = 0;
  for (const p of points) {
    const cx = Math.floor(p.x / cell);
    const cy = Math.floor(p.y / cell);
    let near = (grid.get(key(cx, cy))?.length ?? 0) > 1;
    for (let dx = -2; dx <= 2 && !near; dx++)
      for (let dy = -2; dy <= 2 && !near; dy++) {
        if (dx === 0 && dy === 0) continue;
        near = grid.get(key(cx + dx, cy + dy))?.some((o) => (o.x - p.x) ** 2 + (o.y - p.y) ** 2 < r2) ?? false;
      }
    if (near) crowded++;
  }
  return crowded / points.length;
}
