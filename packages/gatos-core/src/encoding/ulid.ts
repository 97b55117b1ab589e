/**
 * ULIDs from injected time and randomness (the core has neither of its own): 48-bit milliseconds and 80 random
 * bits, Crockford base32, 26 characters. A generator is monotonic within one millisecond.
 */
import { GatosError } from '../errors.js';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** 10 base32 characters of a 48-bit time (plain arithmetic: BigInt cost ~10 µs per ULID on a busy daemon). */
function encodeTime(ms: number): string {
  let out = '';
  for (let i = 0; i < 10; i++) {
    const d = ms % 32;
    out = ALPHABET[d] + out;
    ms = (ms - d) / 32;
  }
  return out;
}

/** 16 base32 characters of 10 bytes, big-endian: two 40-bit halves, each exact in a double. */
function encodeRandom(r: Uint8Array): string {
  let out = '';
  for (let h = 0; h < 10; h += 5) {
    let v = r[h]! * 2 ** 32 + (((r[h + 1]! << 24) | (r[h + 2]! << 16) | (r[h + 3]! << 8) | r[h + 4]!) >>> 0);
    let part = '';
    for (let i = 0; i < 8; i++) {
      const d = v % 32;
      part = ALPHABET[d] + part;
      v = (v - d) / 32;
    }
    out += part;
  }
  return out;
}

/** One ULID for `ms` and 10 random bytes. */
export function ulidFrom(ms: number, random: Uint8Array): string {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > 2 ** 48 - 1 || random.length !== 10) {
    throw new GatosError('GATOS_E_INTERNAL', 'ulidFrom needs 0 <= ms < 2^48 and 10 random bytes');
  }
  return encodeTime(ms) + encodeRandom(random);
}

/** A monotonic ULID factory: within one millisecond, the random part counts up by one (wrapping at 2^80). */
export function createUlidFactory(now: () => number, randomBytes: (n: number) => Uint8Array): () => string {
  let lastMs = -1;
  const random = new Uint8Array(10);
  return () => {
    const ms = now();
    if (ms > lastMs) {
      lastMs = ms;
      random.set(randomBytes(10).subarray(0, 10));
    } else {
      for (let i = 9; i >= 0; i--) {
        random[i] = (random[i]! + 1) & 0xff;
        if (random[i] !== 0) break;
      }
    }
    return ulidFrom(lastMs, random);
  };
}
