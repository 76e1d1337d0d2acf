/**
 * Secrets never leave the client in plain text. The leader code is stretched
 * with PBKDF2-SHA-256 (salted with the purpose and the stream name) into a
 * 256-bit verifier; Lua stores only a salted hash of it. The password goes
 * through seal.ts instead (one PBKDF2 split by HKDF into its verifier and the
 * content key); "password" here is the v1 derivation, kept for tests that
 * show the two differ.
 */
export const PBKDF2_ITERATIONS = 150_000;

const enc = new TextEncoder();

function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

export async function deriveVerifier(
  purpose: "password" | "code",
  name: string,
  secret: string,
  iterations = PBKDF2_ITERATIONS,
): Promise<string> {
  const key = await crypto.subtle.importKey("raw", enc.encode(secret), "PBKDF2", false, ["deriveBits"]);
  const salt = enc.encode(`mission-relay/v1/${purpose}/${name}`);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, 256);
  return toHex(new Uint8Array(bits));
}

/** `bytes` random bytes as lowercase hex (channels, tokens, op ids). */
export function randomHex(bytes: number): string {
  return toHex(crypto.getRandomValues(new Uint8Array(bytes)));
}
