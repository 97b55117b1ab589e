/** Core's memory stores keep the store contract (the git stores run the same suite in `@gatos/git`). */
import { createMemoryObjectStore, createMemoryRefStore, readOnlyRefView } from '../src/index.js';
import { describe, expect, it } from 'vitest';
import { storeContract } from './store-contract.js';

storeContract('memory', async () => ({
  objects: createMemoryObjectStore(),
  refs: createMemoryRefStore(),
  close: async () => {},
}));

describe('readOnlyRefView', () => {
  it('reads overrides first, lists the base, and refuses every write', async () => {
    const base = createMemoryRefStore([['refs/gatos/a', '1'.repeat(40)]]);
    const view = readOnlyRefView(
      base,
      new Map([
        ['refs/gatos/b', '2'.repeat(40)],
        ['refs/gatos/a', null],
      ]),
    );
    expect(await view.read('refs/gatos/a')).toBeNull();
    expect(await view.read('refs/gatos/b')).toBe('2'.repeat(40));
    expect((await view.list('refs/gatos/')).map((e) => e.ref)).toEqual(['refs/gatos/a']);
    await expect(view.cas({ ref: 'refs/gatos/a', expect: null, next: null })).rejects.toMatchObject({
      code: 'GATOS_E_INTERNAL',
    });
    expect(await base.read('refs/gatos/a')).toBe('1'.repeat(40));
  });
});
