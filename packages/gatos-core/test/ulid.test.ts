import { describe, expect, it } from 'vitest';
import { ULID_RE } from '../src/events/event-envelope.js';
import { createUlidFactory, ulidFrom } from '../src/encoding/ulid.js';

describe('ulid', () => {
  it('encodes time and randomness in Crockford base32 (spec example)', () => {
    // 2^48-1 ms and all-ones randomness give the largest ULID.
    expect(ulidFrom(2 ** 48 - 1, new Uint8Array(10).fill(255))).toBe('7ZZZZZZZZZZZZZZZZZZZZZZZZZ');
    expect(ulidFrom(0, new Uint8Array(10))).toBe('00000000000000000000000000');
    expect(ulidFrom(1469918176385, new Uint8Array(10)).slice(0, 10)).toBe('01ARYZ6S41');
  });

  it('is monotonic within a millisecond and valid for envelopes', () => {
    const next = createUlidFactory(
      () => 1700000000000,
      () => new Uint8Array(10).fill(7),
    );
    const ids = Array.from({ length: 100 }, next);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(100);
    for (const id of ids) expect(id).toMatch(ULID_RE);
  });

  it('carries the increment across bytes and wraps at 2^80 (as 80-bit arithmetic would)', () => {
    const start = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);
    const next = createUlidFactory(
      () => 1700000000000,
      () => start,
    );
    expect(next()).toBe(ulidFrom(1700000000000, start));
    expect(next()).toBe(ulidFrom(1700000000000, Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 1, 0, 0])));
    const top = createUlidFactory(
      () => 5,
      () => new Uint8Array(10).fill(0xff),
    );
    top();
    expect(top()).toBe(ulidFrom(5, new Uint8Array(10)));
  });

  it('encodes every 5-bit group in place (matches a BigInt reference on varied inputs)', () => {
    const ref = (ms: number, r: Uint8Array) => {
      const enc = (v: bigint, n: number) => {
        let s = '';
        for (let i = 0; i < n; i++, v >>= 5n) s = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'[Number(v & 31n)] + s;
        return s;
      };
      return enc(BigInt(ms), 10) + enc(BigInt(`0x${Buffer.from(r).toString('hex')}`), 16);
    };
    for (let k = 0; k < 200; k++) {
      const r = Uint8Array.from({ length: 10 }, (_, i) => (k * 37 + i * 101 + ((k * i) % 7)) & 0xff);
      const ms = (k * 2654435761 * 65537) % 2 ** 48;
      expect(ulidFrom(ms, r)).toBe(ref(ms, r));
    }
  });
});
