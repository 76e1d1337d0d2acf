/**
 * Sealed plans: every state and change is encrypted in the client before it
 * leaves, so Redis, Webdis, their files and every reply hold only ciphertext.
 *
 * One PBKDF2 run stretches the password (salted with the stream name); HKDF
 * then splits it into two keys that cannot be told from each other: the
 * verifier the server checks (and stores only a salted hash of) and the
 * AES-GCM content key, which never leaves the client. A captured verifier
 * therefore opens nothing. Each sealed text binds the stream name, epoch, seq
 * and kind as additional data, so it opens only at the place it was made for:
 * a change replayed into another stream, instance or seq is refused.
 *
 * Format: base64url (no padding) of a 12-byte random IV, the ciphertext and
 * the 16-byte tag. Lua checks that form only (lua/lib/4_json.lua check_sealed).
 */
import { RelayError } from "./errors.ts";
import { PBKDF2_ITERATIONS } from "./secrets.ts";

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

/** "s": a whole state (it becomes the snapshot), "p": a change to the state of seq - 1. */
export type SealKind = "s" | "p";

export interface PasswordKeys {
  /** 64 hex: what relay_start/connect/reconnect check. */
  verifier: string;
  /** AES-GCM-256, not extractable. */
  content: CryptoKey;
}

/** Where a sealed text belongs; all of it is bound in as additional data. */
export interface SealPlace {
  name: string;
  epoch: string;
  seq: number;
  /**
   * "kept": a leader's unsent plan on its own browser's disk (content.ts sealKept), never
   * on the wire: a kept text does not open as a change, nor a change as a kept text.
   */
  kind: SealKind | "kept";
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

export async function derivePasswordKeys(
  name: string,
  password: string,
  iterations = PBKDF2_ITERATIONS,
): Promise<PasswordKeys> {
  const pw = await crypto.subtle.importKey("raw", enc.encode(password), "PBKDF2", false, ["deriveBits"]);
  const salt = enc.encode(`mission-relay/v2/password/${name}`);
  const master = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, pw, 256);
  const hkdf = await crypto.subtle.importKey("raw", master, "HKDF", false, ["deriveBits", "deriveKey"]);
  const purpose = (what: string) => ({
    name: "HKDF",
    hash: "SHA-256",
    salt: new Uint8Array(0),
    info: enc.encode(`mission-relay/v2/${what}`),
  });
  const [verifier, content] = await Promise.all([
    crypto.subtle.deriveBits(purpose("verifier"), hkdf, 256),
    crypto.subtle.deriveKey(purpose("content"), hkdf, { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]),
  ]);
  return { verifier: hex(new Uint8Array(verifier)), content };
}

function additionalData(p: SealPlace): BufferSource {
  return enc.encode(`mission-relay/v2\u0000${p.name}\u0000${p.epoch}\u0000${p.seq}\u0000${p.kind}`);
}

// base64url without padding, in chunks (String.fromCharCode takes a bounded argument list).
export function toBase64Url(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) throw new TypeError("not base64url");
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export async function sealBytes(key: CryptoKey, place: SealPlace, plaintext: Uint8Array): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: additionalData(place) },
    key,
    plaintext as Uint8Array<ArrayBuffer>,
  );
  const out = new Uint8Array(12 + ct.byteLength);
  out.set(iv);
  out.set(new Uint8Array(ct), 12);
  return toBase64Url(out);
}

/** The plaintext bytes, or SEALED: wrong key, or made for another place, or altered. Says nothing more. */
export async function unsealBytes(key: CryptoKey, place: SealPlace, sealed: string): Promise<Uint8Array> {
  try {
    const bytes = fromBase64Url(sealed);
    if (bytes.length < 28) throw new TypeError("too short");
    const pt = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: bytes.slice(0, 12), additionalData: additionalData(place) },
      key,
      bytes.slice(12),
    );
    return new Uint8Array(pt);
  } catch {
    throw new RelayError(
      "SEALED",
      `change ${place.seq} does not open with this stream's key (wrong password, or not made for this place)`,
    );
  }
}

export const seal = (key: CryptoKey, place: SealPlace, plaintext: string): Promise<string> =>
  sealBytes(key, place, enc.encode(plaintext));

/** The plaintext as text (SEALED also when it is not UTF-8). */
export async function unseal(key: CryptoKey, place: SealPlace, sealed: string): Promise<string> {
  const bytes = await unsealBytes(key, place, sealed);
  try {
    return dec.decode(bytes);
  } catch {
    throw new RelayError("SEALED", `change ${place.seq} opened, but is not text`);
  }
}
