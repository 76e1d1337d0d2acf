/**
 * Where a stream lives and which door a follower uses: pure functions every
 * client (browser, Deno, Node) computes the same way, with no node:crypto.
 *
 * Shards: rendezvous (highest random weight) hashing. Each shard's weight for a
 * name is the first 52 bits of SHA-1 over the UTF-8 of `<shard id>:<name>` (a
 * shard id has no ":", so the input is unambiguous); the heaviest shard holds
 * the stream. Adding a shard moves exactly the names the new shard now
 * outweighs, about 1/(S+1) of them, and only to it; removing one moves only its
 * own names. Doors: the same weights over a follower's random id and each
 * door's URL rank the doors for that follower, so followers spread over the
 * doors and the followers of a failed door spread over the others.
 */
import { sha1hex } from "./sha1.ts";
import type { ListPage, StreamInfo } from "./wire.ts";

/** The weight of `key` for `label`: 52 bits of SHA-1, exact in a double. */
export function weight(label: string, key: string): number {
  return Number.parseInt(sha1hex(`${label}:${key}`).slice(0, 13), 16);
}

/** Indexes of `labels`, heaviest first for `key` (ties, which need a SHA-1 collision, by label). */
export function rank(key: string, labels: readonly string[]): number[] {
  const w = labels.map((l) => weight(l, key));
  return labels
    .map((_, i) => i)
    .sort((a, b) => (w[b] as number) - (w[a] as number) || compareNames(labels[a] ?? "", labels[b] ?? ""));
}

/** The index of the shard (by id) that holds the stream `name` (already in NFC). */
export function shardIndex(name: string, shardIds: readonly string[]): number {
  if (shardIds.length <= 1) return 0;
  let best = 0;
  let bestW = -1;
  for (const [i, id] of shardIds.entries()) {
    const w = weight(id, name);
    if (w > bestW || (w === bestW && compareNames(id, shardIds[best] ?? "") < 0)) {
      best = i;
      bestW = w;
    }
  }
  return best;
}

/** The order a follower tries its shard's doors in: its own door first, stable for its id. */
export function doorOrder(followerId: string, doorUrls: readonly string[]): number[] {
  return doorUrls.length <= 1 ? doorUrls.map((_, i) => i) : rank(followerId, doorUrls);
}

/**
 * Redis orders the index (ZRANGE BYLEX) by bytes; for UTF-8 that is code point
 * order, which JS's `<` (UTF-16 code units) is not past U+FFFF. Merged pages use this.
 */
export function compareNames(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i) as number;
    const y = b.codePointAt(i) as number;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

/**
 * One page over every shard, from each shard's page after the same cursor with
 * the same count. A shard's page covers its names up to its own cursor (all of
 * them when its cursor is null), so every name up to the smallest such cursor
 * (the frontier) is known on every shard: the merged page is the first `count`
 * live streams up to the frontier, and its cursor the last of them (a full
 * page cut short), else the frontier, else null (every shard is done). Each page moves
 * past its cursor, so a walk ends. A name live on two shards (left behind when a
 * shard was added) is listed once, as the shard the hash names has it.
 */
export function mergePages(
  pages: readonly { shard: number; page: ListPage }[],
  count: number,
  home: (name: string) => number = () => -1,
): ListPage {
  let frontier: string | null = null;
  for (const { page } of pages) {
    if (page.cursor !== null && (frontier === null || compareNames(page.cursor, frontier) < 0)) frontier = page.cursor;
  }
  const byName = new Map<string, { shard: number; info: StreamInfo }>();
  for (const { shard, page } of pages) {
    for (const info of page.streams) {
      if (frontier !== null && compareNames(info.name, frontier) > 0) continue;
      const seen = byName.get(info.name);
      if (!seen || (seen.shard !== home(info.name) && shard === home(info.name)))
        byName.set(info.name, { shard, info });
    }
  }
  const streams = [...byName.values()].map((v) => v.info).sort((a, b) => compareNames(a.name, b.name));
  if (streams.length > count) {
    const page = streams.slice(0, count);
    return { streams: page, cursor: (page[page.length - 1] as StreamInfo).name };
  }
  // Every live name up to the frontier is here: carry on after it.
  return { streams, cursor: frontier };
}
