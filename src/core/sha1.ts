/**
 * SHA-1 of a string's UTF-8 bytes, synchronous, so a follower can check a
 * patched state against the server's `redis.sha1hex` in the same tick it
 * applies it (crypto.subtle is async). Integrity against bugs, not attackers:
 * the leader is trusted with the content anyway.
 */
const enc = new TextEncoder();

export function sha1hex(text: string): string {
  const msg = enc.encode(text);
  const bitLen = msg.length * 8;
  const words = ((msg.length + 8) >> 6) + 1;
  const w = new Uint32Array(words * 16);
  for (let i = 0; i < msg.length; i++) w[i >> 2] = (w[i >> 2] as number) | ((msg[i] as number) << (24 - (i % 4) * 8));
  w[msg.length >> 2] = (w[msg.length >> 2] as number) | (0x80 << (24 - (msg.length % 4) * 8));
  w[words * 16 - 1] = bitLen >>> 0;
  w[words * 16 - 2] = Math.floor(bitLen / 2 ** 32);
  let h0 = 0x67452301;
  let h1 = 0xefcdab89;
  let h2 = 0x98badcfe;
  let h3 = 0x10325476;
  let h4 = 0xc3d2e1f0;
  const s = new Uint32Array(80);
  for (let blk = 0; blk < words * 16; blk += 16) {
    for (let t = 0; t < 16; t++) s[t] = w[blk + t] as number;
    for (let t = 16; t < 80; t++) {
      const x = (s[t - 3] as number) ^ (s[t - 8] as number) ^ (s[t - 14] as number) ^ (s[t - 16] as number);
      s[t] = (x << 1) | (x >>> 31);
    }
    let a = h0;
    let b = h1;
    let c = h2;
    let d = h3;
    let e = h4;
    for (let t = 0; t < 80; t++) {
      let f: number;
      let k: number;
      if (t < 20) {
        f = (b & c) | (~b & d);
        k = 0x5a827999;
      } else if (t < 40) {
        f = b ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (t < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8f1bbcdc;
      } else {
        f = b ^ c ^ d;
        k = 0xca62c1d6;
      }
      const tmp = (((a << 5) | (a >>> 27)) + f + e + k + (s[t] as number)) >>> 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = tmp;
    }
    h0 = (h0 + a) >>> 0;
    h1 = (h1 + b) >>> 0;
    h2 = (h2 + c) >>> 0;
    h3 = (h3 + d) >>> 0;
    h4 = (h4 + e) >>> 0;
  }
  return [h0, h1, h2, h3, h4].map((x) => x.toString(16).padStart(8, "0")).join("");
}
