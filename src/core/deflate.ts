/**
 * Raw DEFLATE through the web-standard CompressionStream (browsers, Deno, Node
 * 18+). Plans are JSON and shrink several times, so a sealed snapshot costs
 * Redis, the doors and every follower a fraction of its size, and most large
 * plans fit one WebSocket frame again. `inflate` stops at `limit` bytes: a
 * small sealed change must not expand into gigabytes on a follower.
 */
async function readAll(stream: ReadableStream<Uint8Array>, limit = Number.POSITIVE_INFINITY): Promise<Uint8Array> {
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel();
      throw new RangeError(`inflates to more than ${limit} bytes`);
    }
    parts.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const through = (bytes: Uint8Array, t: CompressionStream | DecompressionStream) =>
  new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(t as ReadableWritablePair<Uint8Array, Uint8Array>);

export const deflate = (bytes: Uint8Array): Promise<Uint8Array> =>
  readAll(through(bytes, new CompressionStream("deflate-raw")));

export const inflate = (bytes: Uint8Array, limit: number): Promise<Uint8Array> =>
  readAll(through(bytes, new DecompressionStream("deflate-raw")), limit);
