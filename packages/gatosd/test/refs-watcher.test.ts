import { type RefEntry, type RefStore, segmentRef } from '@gatos/core';
import { describe, expect, it } from 'vitest';
import { startRefsWatcher } from '../src/daemon/refs-watcher.js';

const oid = (c: string) => c.repeat(40);

describe('refs watcher', () => {
  it('reports topics whose segment heads moved, except moves the daemon made itself', async () => {
    const heads = new Map<string, string>();
    const refs = {
      list: async (prefix: string): Promise<RefEntry[]> =>
        [...heads].filter(([r]) => r.startsWith(prefix)).map(([ref, o]) => ({ ref, oid: o })),
    } as unknown as RefStore;
    const a = segmentRef('alpha', '2026/11/23/000000');
    const b = segmentRef('beta', '2026/11/23/000000');
    heads.set(a, oid('1'));
    heads.set(b, oid('2'));
    const own = new Set<string>();
    const seen: string[][] = [];
    const w = startRefsWatcher(
      refs,
      5,
      (topics) => seen.push([...topics].sort()),
      (e) => {
        throw e;
      },
      (ref, o) => own.has(`${ref} ${o}`),
    );
    const settle = () => new Promise((r) => setTimeout(r, 60));
    try {
      await settle();
      expect(seen).toEqual([]); // the first poll only learns the heads
      own.add(`${a} ${oid('3')}`);
      heads.set(a, oid('3')); // our own append
      await settle();
      expect(seen).toEqual([]);
      heads.set(a, oid('4')); // someone else's (a push)
      heads.set(b, oid('5'));
      await settle();
      expect(seen).toEqual([['alpha', 'beta']]);
    } finally {
      w.stop();
    }
  });
});
