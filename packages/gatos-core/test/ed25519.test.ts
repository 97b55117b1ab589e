import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import {
  assertSignature,
  isCanonicalSignature,
  isValidPublicKey,
  keyId,
  keyPairFromSeed,
  sign,
  validatePublicKey,
  verifySignature,
} from '../src/trust/ed25519.js';
import type { GatosError } from '../src/errors.js';

ed.hashes.sha512 = sha512;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const fail = (fn: () => unknown): GatosError | null => {
  try {
    fn();
    return null;
  } catch (e) {
    return e as GatosError;
  }
};
const seedOf = (n: number) => Uint8Array.from({ length: 32 }, (_, i) => (n * 31 + i * 7) & 255);
const msg = new TextEncoder().encode('GATOS test message');
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const le32 = (n: bigint) => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 255n));

describe('keys', () => {
  it('derives RFC 8032 TEST 1 and matches noble for several seeds', () => {
    const rfc = keyPairFromSeed(unhex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'));
    expect(hex(rfc.publicKey)).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    for (let n = 0; n < 8; n++) {
      const seed = seedOf(n);
      expect(hex(keyPairFromSeed(seed).publicKey)).toBe(hex(ed.getPublicKey(seed)));
    }
  });

  it('refuses seeds that are not 32 bytes', () => {
    expect(fail(() => keyPairFromSeed(new Uint8Array(31)))?.code).toBe('GATOS_E_KEY_INVALID');
    expect(fail(() => sign(new Uint8Array(33), msg))?.code).toBe('GATOS_E_KEY_INVALID');
  });

  it('keyId is ed25519: + 32 hex chars, stable and distinct', () => {
    const a = keyId(keyPairFromSeed(seedOf(1)).publicKey);
    expect(a).toMatch(/^ed25519:[0-9a-f]{32}$/);
    expect(keyId(keyPairFromSeed(seedOf(1)).publicKey)).toBe(a);
    expect(keyId(keyPairFromSeed(seedOf(2)).publicKey)).not.toBe(a);
    expect(fail(() => keyId(new Uint8Array(31)))?.code).toBe('GATOS_E_KEY_INVALID');
  });

  it('validatePublicKey refuses small-order, non-canonical, torsioned and wrong-length keys', () => {
    const good = keyPairFromSeed(seedOf(3)).publicKey;
    expect(() => validatePublicKey(good)).not.toThrow();
    const order2 = ed.Point.fromBytes(
      unhex('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'),
    );
    const cases: [string, Uint8Array, string][] = [
      ['identity', unhex(`01${'00'.repeat(31)}`), 'small-order'],
      ['order 2', order2.toBytes(), 'small-order'],
      ['order 8', unhex('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05'), 'small-order'],
      ['y = p', le32(2n ** 255n - 19n), 'not-canonical'],
      ['x = 0 with sign bit', unhex(`01${'00'.repeat(30)}80`), 'not-canonical'],
      ['mixed order', ed.Point.fromBytes(good).add(order2).toBytes(), 'torsion'],
      ['short', good.subarray(1), 'length'],
    ];
    for (const [name, pk, reason] of cases) {
      const e = fail(() => validatePublicKey(pk));
      expect(e?.code, name).toBe('GATOS_E_KEY_INVALID');
      expect(e?.data.reason, name).toBe(reason);
      expect(isValidPublicKey(pk)).toBe(false);
    }
  });
});

describe('signatures', () => {
  it('node:crypto and @noble/ed25519 produce byte-identical signatures', () => {
    for (let n = 0; n < 16; n++) {
      const seed = seedOf(n);
      const m = msg.subarray(0, n * 2);
      const sig = sign(seed, m);
      expect(hex(sig)).toBe(hex(ed.sign(m, seed)));
      expect(ed.verify(sig, m, ed.getPublicKey(seed), { zip215: false })).toBe(true);
      expect(verifySignature(keyPairFromSeed(seed).publicKey, m, sig)).toBe(true);
    }
  });

  it('signs RFC 8032 TEST 1 (empty message)', () => {
    const seed = unhex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
    expect(hex(sign(seed, new Uint8Array(0)))).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
  });

  it('refuses the small-order forgery that node:crypto alone accepts', () => {
    const identity = unhex(`01${'00'.repeat(31)}`);
    const forged = unhex(`01${'00'.repeat(63)}`); // R = identity, S = 0
    const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), identity]);
    const raw = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    for (const m of ['pay mallory 1000', 'anything at all']) {
      const bytes = new TextEncoder().encode(m);
      expect(cryptoVerify(null, bytes, raw, forged)).toBe(true); // the hazard
      expect(ed.verify(forged, bytes, identity)).toBe(true); // noble's default ZIP-215 mode too
      expect(ed.verify(forged, bytes, identity, { zip215: false })).toBe(false);
      expect(verifySignature(identity, bytes, forged)).toBe(false); // ours
      expect(fail(() => assertSignature(identity, bytes, forged))?.code).toBe('GATOS_E_KEY_INVALID');
    }
  });

  it('refuses malleated signatures (S + L) even where the library would not', () => {
    const seed = seedOf(5);
    const { publicKey } = keyPairFromSeed(seed);
    const sig = sign(seed, msg);
    const s = sig.subarray(32).reduceRight((acc, b) => (acc << 8n) | BigInt(b), 0n);
    const mall = Uint8Array.from([...sig.subarray(0, 32), ...le32(s + L)]);
    expect(isCanonicalSignature(sig)).toBe(true);
    expect(isCanonicalSignature(mall)).toBe(false);
    expect(isCanonicalSignature(Uint8Array.from([...sig.subarray(0, 32), ...le32(L)]))).toBe(false);
    expect(isCanonicalSignature(Uint8Array.from([...sig.subarray(0, 32), ...le32(L - 1n)]))).toBe(true);
    expect(verifySignature(publicKey, msg, mall)).toBe(false);
    expect(fail(() => assertSignature(publicKey, msg, mall))?.code).toBe('GATOS_E_SIG_MALFORMED');
  });

  it('verifySignature returns false and assertSignature throws the reason', () => {
    const seed = seedOf(6);
    const { publicKey } = keyPairFromSeed(seed);
    const sig = sign(seed, msg);
    const other = keyPairFromSeed(seedOf(7)).publicKey;
    const flipped = Uint8Array.from(sig);
    flipped[0]! ^= 1;
    expect(verifySignature(publicKey, msg, sig)).toBe(true);
    expect(verifySignature(other, msg, sig)).toBe(false);
    expect(verifySignature(publicKey, msg.subarray(1), sig)).toBe(false);
    expect(verifySignature(publicKey, msg, flipped)).toBe(false);
    expect(verifySignature(publicKey, msg, sig.subarray(0, 63))).toBe(false);
    expect(verifySignature(publicKey.subarray(0, 31), msg, sig)).toBe(false);
    expect(fail(() => assertSignature(other, msg, sig))?.code).toBe('GATOS_E_SIG_INVALID');
    expect(fail(() => assertSignature(publicKey, msg, sig.subarray(1)))?.code).toBe('GATOS_E_SIG_MALFORMED');
    expect(fail(() => assertSignature(publicKey, msg, sig))).toBe(null);
  });

  it('the private-key cache notices a seed mutated in place', () => {
    const seed = seedOf(8);
    const first = sign(seed, msg);
    seed.set(seedOf(9));
    expect(hex(sign(seed, msg))).toBe(hex(ed.sign(msg, seedOf(9))));
    expect(hex(first)).not.toBe(hex(sign(seed, msg)));
  });
});
