/**
 * Delta updates: a small JSON Patch (RFC 6902 subset: add, remove, replace)
 * from the previous state to the next, so a small edit of a large plan sends a
 * few hundred bytes to each follower instead of the whole plan.
 *
 * `diff` keeps unchanged array prefixes and suffixes (an inserted or deleted
 * waypoint is one op), recurses into objects and arrays, and `apply` is
 * immutable. Followers check the result against the server's SHA-1 of the full
 * state and fall back to a full re-sync on any mismatch.
 */
export type PatchOp =
  | { op: "add"; path: string; value: unknown }
  | { op: "remove"; path: string }
  | { op: "replace"; path: string; value: unknown };

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    for (const k of ka) if (!Object.hasOwn(b, k) || !deepEqual(a[k], b[k])) return false;
    return true;
  }
  return false;
}

const escapeKey = (key: string) => key.replace(/~/g, "~0").replace(/\//g, "~1");
const unescapeKey = (seg: string) => seg.replace(/~1/g, "/").replace(/~0/g, "~");

export function diff(a: unknown, b: unknown): PatchOp[] {
  const ops: PatchOp[] = [];
  walk(a, b, "", ops);
  return ops;
}

function walk(a: unknown, b: unknown, path: string, ops: PatchOp[]): void {
  if (deepEqual(a, b)) return;
  if (isObj(a) && isObj(b)) {
    for (const k of Object.keys(a))
      if (!Object.hasOwn(b, k)) ops.push({ op: "remove", path: `${path}/${escapeKey(k)}` });
    for (const k of Object.keys(b)) {
      const p = `${path}/${escapeKey(k)}`;
      if (Object.hasOwn(a, k)) walk(a[k], b[k], p, ops);
      else ops.push({ op: "add", path: p, value: b[k] });
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    let start = 0;
    while (start < a.length && start < b.length && deepEqual(a[start], b[start])) start++;
    let endA = a.length;
    let endB = b.length;
    while (endA > start && endB > start && deepEqual(a[endA - 1], b[endB - 1])) {
      endA--;
      endB--;
    }
    const common = Math.min(endA - start, endB - start);
    for (let i = 0; i < common; i++) walk(a[start + i], b[start + i], `${path}/${start + i}`, ops);
    for (let i = endA - 1; i >= start + common; i--) ops.push({ op: "remove", path: `${path}/${i}` });
    for (let i = start + common; i < endB; i++) ops.push({ op: "add", path: `${path}/${i}`, value: b[i] });
    return;
  }
  ops.push({ op: "replace", path, value: b });
}

export class PatchError extends Error {}

/** Applies `ops` to `doc` without changing it; throws PatchError on a bad path. */
export function apply(doc: unknown, ops: readonly PatchOp[]): unknown {
  let root = doc;
  for (const op of ops) root = applyOne(root, op);
  return root;
}

function applyOne(root: unknown, op: PatchOp): unknown {
  if (op.path === "") {
    if (op.op === "remove") throw new PatchError("cannot remove the root");
    return op.value;
  }
  if (!op.path.startsWith("/")) throw new PatchError(`bad path ${op.path}`);
  const segs = op.path.slice(1).split("/").map(unescapeKey);
  const set = (node: unknown, i: number): unknown => {
    const seg = segs[i] as string;
    const last = i === segs.length - 1;
    if (Array.isArray(node)) {
      const idx = seg === "-" ? node.length : Number(seg);
      if (!Number.isInteger(idx) || idx < 0 || idx > node.length || (idx === node.length && op.op !== "add")) {
        throw new PatchError(`bad index in ${op.path}`);
      }
      const copy = node.slice();
      if (!last) copy[idx] = set(node[idx], i + 1);
      else if (op.op === "add") copy.splice(idx, 0, op.value);
      else if (op.op === "remove") copy.splice(idx, 1);
      else copy[idx] = op.value;
      return copy;
    }
    if (isObj(node)) {
      if (!last) {
        if (!Object.hasOwn(node, seg)) throw new PatchError(`missing ${op.path}`);
        return { ...node, [seg]: set(node[seg], i + 1) };
      }
      if (op.op === "remove") {
        if (!Object.hasOwn(node, seg)) throw new PatchError(`missing ${op.path}`);
        const { [seg]: _gone, ...rest } = node;
        return rest;
      }
      if (op.op === "replace" && !Object.hasOwn(node, seg)) throw new PatchError(`missing ${op.path}`);
      // A replaced key keeps its place; an added key goes last, as in the leader's object.
      return { ...node, [seg]: op.value };
    }
    throw new PatchError(`no container at ${op.path}`);
  };
  return set(root, 0);
}
