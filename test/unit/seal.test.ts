/**
 * src/core/seal.ts on its own, with real WebCrypto: a sealed text opens only
 * with the stream's content key and only at the place it was made for (name,
 * epoch, seq and kind are its additional data); any altered byte refuses; a
 * refusal is SEALED and says nothing of the plaintext; base64url round trips
 * every byte; the password's two keys differ and the content key never leaves
 * WebCrypto. Low PBKDF2 iterations: this is about the construction, not its cost.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { RelayError } from "../../src/core/errors.ts";
import {
  derivePasswordKeys,
  fromBase64Url,
  type SealPlace,
  seal,
  sealBytes,
  toBase64Url,
  unseal,
  unsealBytes,
} from "../../src/core/seal.ts";
import { deriveVerifier } from "../../src/core/secrets.ts";

const ITERATIONS = 1_000;
const PLAN = '{"mission":"Operation Zulu-Tango","waypoints":[[48.1,11.5]]}';
const place: SealPlace = { name: "alpha", epoch: "3", seq: 7, kind: "s" };
let key: CryptoKey;
let other: CryptoKey;

beforeAll(async () => {
  key = (await derivePasswordKeys("alpha", "correct horse", ITERATIONS)).content;
  other = (await derivePasswordKeys("alpha", "wrong horse", ITERATIONS)).content;
});

/** The refusal, checked to be SEALED and to say nothing of what was sealed. */
async function refusal(p: Promise<unknown>): Promise<RelayError> {
  const e = await p.then(
    () => expect.unreachable("it opened"),
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(RelayError);
  const err = e as RelayError;
  expect(err.code).toBe("SEALED");
  for (const secret of ["Zulu", "mission", "waypoints", "horse"]) expect(err.message).not.toContain(secret);
  return err;
}

describe("seal / unseal", () => {
  it("round trips any text, and each seal is new (random IV)", async () => {
    for (const text of [PLAN, "", "é ✈ 東京 \u{1F680}", "x".repeat(70_000)]) {
      const sealed = await seal(key, place, text);
      expect(sealed).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(await unseal(key, place, sealed)).toBe(text);
    }
    const [a, b] = await Promise.all([seal(key, place, PLAN), seal(key, place, PLAN)]);
    expect(a).not.toBe(b);
    expect(a).not.toContain(toBase64Url(new TextEncoder().encode("Zulu")));
  });

  it("a wrong key is SEALED, and the error says nothing of the plaintext", async () => {
    const sealed = await seal(key, place, PLAN);
    await refusal(unseal(other, place, sealed));
    const stranger = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["decrypt"]);
    await refusal(unseal(stranger, place, sealed));
  });

  it.each([
    ["name", { name: "alphA" }],
    ["epoch", { epoch: "4" }],
    ["seq", { seq: 8 }],
    ["kind", { kind: "p" as const }],
  ])("the additional data binds the %s: elsewhere it does not open", async (_what, change) => {
    const sealed = await seal(key, place, PLAN);
    await refusal(unseal(key, { ...place, ...change }, sealed));
    expect(await unseal(key, { ...place }, sealed)).toBe(PLAN);
  });

  it("the place's parts cannot be shifted into each other (name 'a' epoch '12' is not name 'a1' epoch '2')", async () => {
    const sealed = await seal(key, { name: "a", epoch: "12", seq: 3, kind: "s" }, PLAN);
    await refusal(unseal(key, { name: "a1", epoch: "2", seq: 3, kind: "s" }, sealed));
    await refusal(unseal(key, { name: "a", epoch: "1", seq: 23, kind: "s" }, sealed));
  });

  it("any flipped byte (IV, ciphertext or tag) refuses; so does a cut or a text that is not base64url", async () => {
    const sealed = await seal(key, place, PLAN);
    const bytes = fromBase64Url(sealed);
    for (const i of [0, 11, 12, 20, bytes.length - 17, bytes.length - 1]) {
      const bad = bytes.slice();
      bad[i] = (bad[i] as number) ^ 0x01;
      await refusal(unseal(key, place, toBase64Url(bad)));
    }
    await refusal(unseal(key, place, toBase64Url(bytes.slice(0, -1))));
    await refusal(unseal(key, place, toBase64Url(bytes.slice(0, 27))));
    await refusal(unseal(key, place, ""));
    await refusal(unseal(key, place, `${sealed.slice(0, 10)}+${sealed.slice(11)}`));
  });

  it("a seal whose plaintext is not UTF-8 opens as bytes, but not as text (SEALED)", async () => {
    const sealed = await sealBytes(key, place, new Uint8Array([0xff, 0xfe, 0x41]));
    expect([...(await unsealBytes(key, place, sealed))]).toEqual([0xff, 0xfe, 0x41]);
    await refusal(unseal(key, place, sealed));
  });
});

describe("base64url", () => {
  it("round trips every byte value, at every length mod 3, and large arrays (chunked)", () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    for (let cut = 250; cut <= 256; cut++) {
      const bytes = all.slice(0, cut);
      const text = toBase64Url(bytes);
      expect(text).toMatch(/^[A-Za-z0-9_-]*$/); // no + / or = padding
      expect([...fromBase64Url(text)]).toEqual([...bytes]);
    }
    const big = Uint8Array.from({ length: 3 * 0x8000 + 5 }, (_, i) => (i * 7919) & 0xff);
    expect(Buffer.from(fromBase64Url(toBase64Url(big))).equals(big)).toBe(true);
    expect(toBase64Url(new Uint8Array([0xfb, 0xff, 0xbf]))).toBe("-_-_");
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        expect(fromBase64Url(toBase64Url(b))).toEqual(b);
      }),
    );
  });

  it.each(["a+b_", "a/b_", "YQ==", "YQ=", "a", "abcde", "ab c", "ab\n", "é"])("refuses %j", (text) => {
    expect(() => fromBase64Url(text)).toThrow(TypeError);
  });
});

describe("derivePasswordKeys", () => {
  it("verifier: 64 hex, the same for the same inputs, different per name, password and iterations", async () => {
    const v = async (name: string, pw: string, n = ITERATIONS) => (await derivePasswordKeys(name, pw, n)).verifier;
    const base = await v("alpha", "correct horse");
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(await v("alpha", "correct horse")).toBe(base);
    const others = [
      await v("alphA", "correct horse"),
      await v("alpha ", "correct horse"),
      await v("alpha", "correct horsf"),
      await v("alpha", "correct horse", ITERATIONS + 1),
      // Not the v1 derivation, nor the leader code's (another purpose salts it).
      await deriveVerifier("password", "alpha", "correct horse", ITERATIONS),
      await deriveVerifier("code", "alpha", "correct horse", ITERATIONS),
    ];
    expect(new Set([base, ...others]).size).toBe(others.length + 1);
  });

  it("the content key is AES-GCM-256 for encrypt/decrypt only, and cannot be exported", async () => {
    expect(key.extractable).toBe(false);
    expect(key.algorithm).toMatchObject({ name: "AES-GCM", length: 256 });
    expect([...key.usages].sort()).toEqual(["decrypt", "encrypt"]);
    await expect(crypto.subtle.exportKey("raw", key)).rejects.toThrow();
    await expect(crypto.subtle.exportKey("jwk", key)).rejects.toThrow();
  });

  it("the verifier is not the content key: as a key it opens nothing", async () => {
    const { verifier } = await derivePasswordKeys("alpha", "correct horse", ITERATIONS);
    const raw = Uint8Array.from(verifier.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
    const asKey = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["decrypt"]);
    await refusal(unseal(asKey, place, await seal(key, place, PLAN)));
  });

  it("the same password on another stream name gives another content key", async () => {
    const beta = (await derivePasswordKeys("beta", "correct horse", ITERATIONS)).content;
    const sealed = await seal(key, { ...place, name: "beta" }, PLAN);
    await refusal(unseal(beta, { ...place, name: "beta" }, sealed));
  });
});
