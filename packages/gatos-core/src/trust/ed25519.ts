/**
 * Ed25519 keys and signatures: node:crypto signs and verifies (fast), @noble/ed25519 vets public keys (strict).
 *
 * node:crypto (OpenSSL) alone accepts the small-order-key forgery (public key = identity point, signature
 * R = identity, S = 0 "verifies" every message). So every public key is checked — canonical encoding, not of
 * small order, in the prime-order subgroup — when registered and (cached) before every verify, and every signature
 * must have a canonical `S < L`. Randomness is the caller's: key pairs come from a 32-byte seed.
 * Normative text: `spec/event-envelope.md` § Signatures.
 */
import {
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign as cryptoSign,
  verify as cryptoVerify,
} from 'node:crypto';
import { blake3 } from '@noble/hashes/blake3.js';
import { Point } from '@noble/ed25519';
import { GatosError } from '../errors.js';

/** An Ed25519 key pair; `seed` is the 32-byte RFC 8032 private key. Keep it secret. */
export interface Ed25519KeyPair {
  publicKey: Uint8Array;
  seed: Uint8Array;
}

/** Ed25519 sizes. */
export const ED25519_SEED_BYTES = 32;
export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** The group order L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
const L_LE = Uint8Array.from(
  Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex'),
);

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function keyError(message: string, reason: string): GatosError {
  return new GatosError('GATOS_E_KEY_INVALID', message, { data: { reason } });
}

// ---- private keys ----------------------------------------------------------------------------------------------

interface PrivEntry {
  copy: Uint8Array;
  key: KeyObject;
}
/** Private KeyObjects by seed array identity; the copy guards against a caller mutating the array in place. */
const privCache = new WeakMap<Uint8Array, PrivEntry>();

function assertSeed(seed: Uint8Array): void {
  if (!(seed instanceof Uint8Array) || seed.length !== ED25519_SEED_BYTES) {
    throw keyError('an Ed25519 seed (private key) must be 32 bytes', 'seed-length');
  }
}

function privateKeyObject(seed: Uint8Array): KeyObject {
  const hit = privCache.get(seed);
  if (hit !== undefined && Buffer.compare(hit.copy, seed) === 0) return hit.key;
  assertSeed(seed);
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  privCache.set(seed, { copy: Uint8Array.from(seed), key });
  return key;
}

/** The key pair of a 32-byte seed (the caller supplies the randomness, e.g. `crypto.getRandomValues`). */
export function keyPairFromSeed(seed: Uint8Array): Ed25519KeyPair {
  assertSeed(seed);
  const spki = createPublicKey(privateKeyObject(seed)).export({ format: 'der', type: 'spki' });
  return { publicKey: Uint8Array.from(spki.subarray(SPKI_PREFIX.length)), seed: Uint8Array.from(seed) };
}

/** Signs `msg` with the key of `seed` (deterministic, RFC 8032 pure Ed25519); returns 64 bytes. */
export function sign(seed: Uint8Array, msg: Uint8Array): Uint8Array {
  const sig = cryptoSign(null, msg, privateKeyObject(seed));
  return new Uint8Array(sig.buffer, sig.byteOffset, sig.byteLength);
}

// ---- public keys -----------------------------------------------------------------------------------------------

interface PubEntry {
  error: GatosError | null;
  key: KeyObject | null;
}
const PUB_CACHE_MAX = 4096;
/** Validation verdicts and KeyObjects by public key hex; cleared when it reaches {@link PUB_CACHE_MAX}. */
const pubCache = new Map<string, PubEntry>();

function checkPublicKey(pk: Uint8Array): GatosError | null {
  let point: Point;
  try {
    point = Point.fromBytes(pk, false);
  } catch {
    return keyError('public key is not a canonical encoding of a curve point', 'not-canonical');
  }
  if (point.isSmallOrder()) return keyError('public key is a point of small order', 'small-order');
  if (!point.isTorsionFree()) return keyError('public key is not in the prime-order subgroup', 'torsion');
  return null;
}

function pubEntry(pk: Uint8Array): PubEntry {
  if (!(pk instanceof Uint8Array) || pk.length !== ED25519_PUBLIC_KEY_BYTES) {
    return { error: keyError('an Ed25519 public key must be 32 bytes', 'length'), key: null };
  }
  const id = hex(pk);
  let e = pubCache.get(id);
  if (e === undefined) {
    const error = checkPublicKey(pk);
    e = {
      error,
      key:
        error === null
          ? createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pk]), format: 'der', type: 'spki' })
          : null,
    };
    if (pubCache.size >= PUB_CACHE_MAX) pubCache.clear();
    pubCache.set(id, e);
  }
  return e;
}

/**
 * Throws `GATOS_E_KEY_INVALID` (data.reason: `length`, `not-canonical`, `small-order`, `torsion`) unless `pk` is a
 * 32-byte canonical encoding of a point in the prime-order subgroup other than the identity. Results are cached.
 */
export function validatePublicKey(pk: Uint8Array): void {
  const e = pubEntry(pk);
  if (e.error !== null) {
    throw new GatosError('GATOS_E_KEY_INVALID', e.error.message, { data: { ...e.error.data } });
  }
}

/** True when {@link validatePublicKey} would accept `pk`. */
export function isValidPublicKey(pk: Uint8Array): boolean {
  return pubEntry(pk).error === null;
}

/** A short stable key id: `ed25519:` + hex of the first 16 bytes of blake3(public key). Checks length only. */
export function keyId(pk: Uint8Array): string {
  if (!(pk instanceof Uint8Array) || pk.length !== ED25519_PUBLIC_KEY_BYTES) {
    throw keyError('an Ed25519 public key must be 32 bytes', 'length');
  }
  return 'ed25519:' + hex(blake3(pk).subarray(0, 16));
}

// ---- signatures ------------------------------------------------------------------------------------------------

/** True when `sig` is 64 bytes with a canonical scalar `S < L` (bytes 32..63, little-endian). */
export function isCanonicalSignature(sig: Uint8Array): boolean {
  if (!(sig instanceof Uint8Array) || sig.length !== ED25519_SIGNATURE_BYTES) return false;
  for (let i = 31; i >= 0; i--) {
    const s = sig[32 + i]!;
    const l = L_LE[i]!;
    if (s !== l) return s < l;
  }
  return false; // S == L
}

type Verdict = 'ok' | 'key' | 'malformed' | 'invalid';

function check(pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): [Verdict, GatosError | null] {
  const e = pubEntry(pk);
  if (e.error !== null) return ['key', e.error];
  if (!isCanonicalSignature(sig)) return ['malformed', null];
  return cryptoVerify(null, msg, e.key!, sig) ? ['ok', null] : ['invalid', null];
}

/**
 * Strict verify: false for an invalid public key, a malformed or non-canonical signature, or a signature that
 * does not verify. Never throws for bad input.
 */
export function verifySignature(pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  return check(pk, msg, sig)[0] === 'ok';
}

/**
 * Strict verify that throws: `GATOS_E_KEY_INVALID`, `GATOS_E_SIG_MALFORMED` (not 64 bytes or `S ≥ L`) or
 * `GATOS_E_SIG_INVALID`.
 */
export function assertSignature(pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): void {
  const [verdict, keyErr] = check(pk, msg, sig);
  switch (verdict) {
    case 'ok':
      return;
    case 'key':
      throw new GatosError('GATOS_E_KEY_INVALID', keyErr!.message, { data: { ...keyErr!.data } });
    case 'malformed':
      throw new GatosError('GATOS_E_SIG_MALFORMED', 'signature is not 64 bytes with a canonical S < L', {
        data: { length: sig instanceof Uint8Array ? sig.length : null },
      });
    case 'invalid':
      throw new GatosError('GATOS_E_SIG_INVALID', 'signature does not verify', {
        data: { keyId: keyId(pk) },
      });
  }
}
