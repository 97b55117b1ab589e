import { describe, expect, it } from 'vitest';
import { ULID_RE } from '../src/event-envelope.js';
import { createUlidFactory, ulidFrom } from '../src/ulid.js';

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
});
