/**
 * The contract every ObjectStore/RefStore pair keeps, as one suite: core's memory stores run it here, `@gatos/git`'s
 * stores over a real repository run it in `packages/gatos-git/test/store-contract.test.ts`.
 */
import { describe, expect, it } from 'vitest';
import {
  blobObject,
  commitObject,
  type GitIdent,
  type GitObject,
  isGatosError,
  type ObjectStore,
  type Oid,
  type RefStore,
  treeObject,
} from '../src/index.js';

/** A pair of stores under test, and how to release them. */
export interface StoresUnderTest {
  objects: ObjectStore;
  refs: RefStore;
  close(): Promise<void>;
}

const ident: GitIdent = { name: 'service:test', email: 'service:test', seconds: 1_800_000_000, tz: '+0000' };

/** A chain of `n` commits (each with a blob and a tree), oldest first. */
function commits(n: number, tag: string): GitObject[][] {
  const out: GitObject[][] = [];
  let parent: Oid | null = null;
  for (let i = 0; i < n; i++) {
    const blob = blobObject(`${tag} ${i}\n`);
    const tree = treeObject([{ mode: '100644', name: 'f', oid: blob.oid }]);
    const commit = commitObject({
      tree: tree.oid,
      parents: parent ? [parent] : [],
      author: ident,
      committer: ident,
      message: `${tag} ${i}\n`,
    });
    out.push([blob, tree, commit]);
    parent = commit.oid;
  }
  return out;
}

/** Defines the contract suite for the stores `open` gives (a fresh, empty pair each time). */
export function storeContract(name: string, open: () => Promise<StoresUnderTest>): void {
  const withStores = (fn: (s: StoresUnderTest) => Promise<void>) => async () => {
    const s = await open();
    try {
      await fn(s);
    } finally {
      await s.close();
    }
  };

  describe(`store contract: ${name}`, () => {
    it(
      'objects: put then get returns the same type and bytes; putting again changes nothing',
      withStores(async (s) => {
        const [blob, tree, commit] = commits(1, 'a')[0]!;
        await s.objects.put([blob!, tree!, commit!]);
        await s.objects.put([blob!]);
        const got = await s.objects.get([commit!.oid, blob!.oid]);
        expect(got.map((o) => [o.oid, o.type])).toEqual([
          [commit!.oid, 'commit'],
          [blob!.oid, 'blob'],
        ]);
        expect(Buffer.from(got[1]!.body).toString()).toBe('a 0\n');
        expect(await s.objects.has([blob!.oid, '0'.repeat(40)])).toEqual([true, false]);
      }),
    );

    it(
      'objects: a missing id is GATOS_E_OBJECT_MISSING',
      withStores(async (s) => {
        const err = await s.objects.get(['1'.repeat(40)]).then(
          () => null,
          (e: unknown) => e,
        );
        expect(isGatosError(err, 'GATOS_E_OBJECT_MISSING')).toBe(true);
      }),
    );

    it(
      'objects: chain is the first-parent history, oldest first, stopping before `stop`',
      withStores(async (s) => {
        const c = commits(5, 'c');
        await s.objects.put(c.flat());
        const ids = c.map((x) => x[2]!.oid);
        expect((await s.objects.chain(ids[4]!)).map((p) => p.oid)).toEqual(ids);
        expect((await s.objects.chain(ids[4]!, ids[1]!)).map((p) => p.oid)).toEqual(ids.slice(2));
        expect(await s.objects.chain(ids[2]!, ids[2]!)).toEqual([]);
        expect((await s.objects.chain(ids[0]!))[0]!.parents).toEqual([]);
      }),
    );

    it(
      'refs: compare-and-swap creates, moves and deletes only from the expected value',
      withStores(async (s) => {
        const [a, b] = commits(2, 'r').map((x) => x[2]!);
        await s.objects.put(commits(2, 'r').flat());
        const ref = 'refs/gatos/test/x';
        expect(await s.refs.read(ref)).toBeNull();
        expect(await s.refs.cas({ ref, expect: a!.oid, next: b!.oid })).toBe(false);
        expect(await s.refs.cas({ ref, expect: null, next: a!.oid })).toBe(true);
        expect(await s.refs.cas({ ref, expect: null, next: b!.oid })).toBe(false);
        expect(await s.refs.read(ref)).toBe(a!.oid);
        expect(await s.refs.cas({ ref, expect: a!.oid, next: b!.oid })).toBe(true);
        expect(await s.refs.cas({ ref, expect: a!.oid, next: null })).toBe(false);
        expect(await s.refs.read(ref)).toBe(b!.oid);
        expect(await s.refs.cas({ ref, expect: b!.oid, next: null })).toBe(true);
        expect(await s.refs.read(ref)).toBeNull();
      }),
    );

    it(
      'refs: list gives the refs under a prefix, sorted by name',
      withStores(async (s) => {
        const c = commits(1, 'l')[0]!;
        await s.objects.put(c);
        for (const r of ['refs/gatos/t/b', 'refs/gatos/t/a/2', 'refs/gatos/t/a/1', 'refs/gatos/u/z']) {
          expect(await s.refs.cas({ ref: r, expect: null, next: c[2]!.oid })).toBe(true);
        }
        expect((await s.refs.list('refs/gatos/t/')).map((e) => e.ref)).toEqual([
          'refs/gatos/t/a/1',
          'refs/gatos/t/a/2',
          'refs/gatos/t/b',
        ]);
        expect((await s.refs.list('refs/gatos/none/')).length).toBe(0);
      }),
    );

    it(
      'refs: casAll applies every update or none',
      withStores(async (s) => {
        if (!s.refs.casAll) return expect(s.refs.casAll).toBeUndefined();
        const [a, b] = commits(2, 'm').map((x) => x[2]!);
        await s.objects.put(commits(2, 'm').flat());
        const x = 'refs/gatos/test/one';
        const y = 'refs/gatos/test/two';
        expect(
          await s.refs.casAll([
            { ref: x, expect: null, next: a!.oid },
            { ref: y, expect: null, next: a!.oid },
          ]),
        ).toBe(true);
        expect(
          await s.refs.casAll([
            { ref: x, expect: a!.oid, next: b!.oid },
            { ref: y, expect: b!.oid, next: b!.oid },
          ]),
        ).toBe(false);
        expect([await s.refs.read(x), await s.refs.read(y)]).toEqual([a!.oid, a!.oid]);
      }),
    );
  });
}
