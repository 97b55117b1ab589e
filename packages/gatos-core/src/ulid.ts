/**
 * ULIDs from injected time and randomness (the core has neither of its own): 48-bit milliseconds and 80 random
 * bits, Crockford base32, 26 characters. A generator is monotonic within one millisecond.
 */
import { GatosError } from './errors.js';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function encodeBase32(value: bigint, chars: number): string {
  let out = '';
  for (let i = 0; i < chars; i++) {
    out = ALPHABET[Number(value & 31n)] + out;
    value >>= 5n;
  }
  return out;
}

/** One ULID for `ms` and 10 random bytes. */
export function ulidFrom(ms: number, random: Uint8Array): string {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > 2 ** 48 - 1 || random.length !== 10) {
    throw new GatosError('GATOS_E_INTERNAL', 'ulidFrom needs 0 <= ms < 2^48 and 10 random bytes');
  }
  return encodeBase32(BigInt(ms), 10) + encodeBase32(BigInt(`0x${Buffer.from(random).toString('hex')}`), 16);
}

/** A monotonic ULID factory: within one millisecond, the random part counts up by one. */
export function createUlidFactory(now: () => number, randomBytes: (n: number) => Uint8Array): () => string {
  let lastMs = -1;
  let lastRandom = 0n;
  return () => {
    const ms = now();
    if (ms > lastMs) {
      lastMs = ms;
      lastRandom = BigInt(`0x${Buffer.from(randomBytes(10)).toString('hex')}`);
    } else {
      lastRandom = (lastRandom + 1n) & ((1n << 80n) - 1n);
    }
    return encodeBase32(BigInt(lastMs), 10) + encodeBase32(lastRandom, 16);
  };
}
