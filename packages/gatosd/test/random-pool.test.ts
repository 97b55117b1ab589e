import { describe, expect, it } from 'vitest';
import { createRandomPool } from '../src/random-pool.js';

describe('createRandomPool', () => {
  it('hands out fresh bytes on every call, across refills, and serves requests bigger than the pool', () => {
    const take = createRandomPool(64);
    const seen = new Set<string>();
    // 100 draws of 10 bytes cross the 64-byte pool many times; a repeat of 80 random bits would be a reuse bug.
    for (let i = 0; i < 100; i++) {
      const b = take(10);
      expect(b).toHaveLength(10);
      seen.add(Buffer.from(b).toString('hex'));
    }
    expect(seen.size).toBe(100);
    const big = take(1000);
    expect(big).toHaveLength(1000);
    expect(new Set(big).size).toBeGreaterThan(200); // random, not a zero-filled buffer
  });

  it('returns copies: changing one result changes no other', () => {
    const take = createRandomPool(32);
    const a = take(8);
    const before = Buffer.from(a).toString('hex');
    const b = take(8);
    b.fill(0);
    expect(Buffer.from(a).toString('hex')).toBe(before);
  });
});
