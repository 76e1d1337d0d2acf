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
