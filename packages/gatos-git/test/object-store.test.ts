import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  blobObject,
  commitObject,
  type GitObject,
  hashObject,
  type ObjectStore,
  treeObject,
} from '@gatos/core';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createObjectStore, encodePack, openRepository, type Repository } from '../src/index.js';
import {
  codeOf,
  commitChain,
  EMPTY_TREE,
  expectFsckClean,
  git,
  gitInput,
  IDENT,
  tempRepo,
} from './helpers.js';

/** A small mixed batch: blobs, a tree over them, and a commit. */
function mixedBatch(n: number, tag = ''): GitObject[] {
  const blobs = Array.from({ length: n }, (_, i) => blobObject(`blob ${tag} ${i}\n`));
  const tree = treeObject(blobs.map((b, i) => ({ mode: '100644' as const, name: `f${i}`, oid: b.oid })));
  const commit = commitObject({
    tree: tree.oid,
    parents: [],
    author: IDENT,
    committer: IDENT,
    message: `m ${tag}\n`,
  });
  return [...blobs, tree, commit];
}

function packFiles(repo: Repository): string[] {
  return readdirSync(join(repo.objectsDir, 'pack')).sort();
}

let cleanups: (() => void)[] = [];
let repo: Repository;
let store: ObjectStore;
let dir: string;

beforeEach(async () => {
  const r = tempRepo();
  dir = r.dir;
  repo = await openRepository({ cwd: dir });
  store = createObjectStore(repo);
  cleanups.push(r.cleanup);
});
afterEach(async () => {
  await store.close();
});
afterAll(() => {
  for (const c of cleanups) c();
  cleanups = [];
});

for (const mode of [false, true]) {
  describe(`put: loose objects${mode ? ' (synchronous I/O)' : ''}`, () => {
    beforeEach(async () => {
      await store.close();
      store = createObjectStore(repo, { syncIo: mode });
    });
    it('writes small batches as loose files git can read; fsck clean; no temp files left', async () => {
      const objs = mixedBatch(3, 'loose');
      await store.put(objs);
      for (const o of objs) {
        const [xx, rest] = [o.oid.slice(0, 2), o.oid.slice(2)];
        expect(readdirSync(join(repo.objectsDir, xx))).toContain(rest);
        expect(git(dir, 'cat-file', '-t', o.oid)).toBe(o.type);
      }
      expect(git(dir, 'cat-file', '-p', objs[0]!.oid)).toBe('blob loose 0');
      expect(packFiles(repo)).toEqual([]);
      const all = readdirSync(repo.objectsDir, { recursive: true }).map(String);
      expect(all.filter((f) => f.includes('tmp_'))).toEqual([]);
      git(dir, 'update-ref', 'refs/heads/main', objs.at(-1)!.oid);
      expectFsckClean(dir);
    });

    it('is a no-op for objects that exist, and for duplicates in one batch', async () => {
      const b = blobObject('same');
      await store.put([b, b]);
      const path = join(repo.objectsDir, b.oid.slice(0, 2), b.oid.slice(2));
      const before = readFileSync(path);
      await store.put([b]);
      expect(readFileSync(path).equals(before)).toBe(true);
      expect((await store.get([b.oid]))[0]!.body).toEqual(b.body);
    });

    it('rejects an object whose id does not match its bytes, writing nothing', async () => {
      const good = blobObject('good');
      const bad = { ...blobObject('bad'), oid: good.oid.replace(/^./, good.oid[0] === 'a' ? 'b' : 'a') };
      expect(await codeOf(store.put([good, bad]))).toBe('GATOS_E_OBJECT_CORRUPT');
      expect(await store.has([good.oid, bad.oid])).toEqual([false, false]);
    });
  });
}

for (const mode of [false, true]) {
  describe(`put: packfiles${mode ? ' (synchronous I/O)' : ''}`, () => {
    beforeEach(async () => {
      await store.close();
      store = createObjectStore(repo, { syncIo: mode });
    });
    it('writes a batch at the threshold as one pack + idx that git verifies', async () => {
      const objs = [...mixedBatch(40, 'pack'), EMPTY_TREE, ...commitChain(5)];
      await store.put(objs);
      const files = packFiles(repo);
      expect(files.filter((f) => f.endsWith('.pack'))).toHaveLength(1);
      expect(files.filter((f) => f.endsWith('.idx'))).toHaveLength(1);
      expect(files.filter((f) => f.startsWith('tmp_'))).toEqual([]);
      const idx = join(repo.objectsDir, 'pack', files.find((f) => f.endsWith('.idx'))!);
      const verify = git(dir, 'verify-pack', '-v', idx);
      expect(verify).toMatch(new RegExp(`non delta: ${objs.length} objects`));
      expect(verify).toMatch(/: ok$/m);
      for (const o of objs) expect(git(dir, 'cat-file', '-t', o.oid)).toBe(o.type);
      expect(git(dir, 'cat-file', '-p', objs[7]!.oid)).toBe('blob pack 7');
      // Nothing was written loose.
      expect(git(dir, 'count-objects', '-v')).toMatch(/^count: 0$/m);
      git(dir, 'update-ref', 'refs/heads/a', objs[40 + 1]!.oid);
      git(dir, 'update-ref', 'refs/heads/b', objs.at(-1)!.oid);
      expectFsckClean(dir);
      const got = await store.get(objs.map((o) => o.oid));
      expect(got.map((o) => [o.oid, o.type, Buffer.from(o.body).toString('hex')])).toEqual(
        objs.map((o) => [o.oid, o.type, Buffer.from(o.body).toString('hex')]),
      );
    });

    it('produces byte-identical packs for the same objects in any order', async () => {
      const objs = mixedBatch(50, 'det');
      const a = encodePack(objs);
      const b = encodePack([...objs].reverse());
      expect(a.pack.equals(b.pack)).toBe(true);
      expect(a.idx.equals(b.idx)).toBe(true);
      const other = tempRepo();
      cleanups.push(other.cleanup);
      const repo2 = await openRepository({ cwd: other.dir });
      const store2 = createObjectStore(repo2, { syncIo: !mode });
      await store.put(objs);
      await store2.put([...objs].reverse());
      await store2.close();
      expect(packFiles(repo2)).toEqual(packFiles(repo));
      for (const f of packFiles(repo)) {
        expect(
          readFileSync(join(repo.objectsDir, 'pack', f)).equals(
            readFileSync(join(repo2.objectsDir, 'pack', f)),
          ),
        ).toBe(true);
      }
    });

    it('honours a custom threshold and splits batches over maxPackBytes into several packs', async () => {
      const s = createObjectStore(repo, { packThreshold: 2, maxPackBytes: 2000, syncIo: mode });
      const objs = Array.from({ length: 10 }, (_, i) => blobObject(randomBytes(500 + i)));
      await s.put(objs);
      expect(packFiles(repo).filter((f) => f.endsWith('.idx')).length).toBeGreaterThan(1);
      expect(await s.has(objs.map((o) => o.oid))).toEqual(objs.map(() => true));
      await s.close();
      expectFsckClean(dir);
    });
  });
}

describe('quarantine', () => {
  it('writes into GIT_OBJECT_DIRECTORY and reads through it (alternates reach the main store)', async () => {
    const q = join(repo.objectsDir, 'incoming-test');
    mkdirSync(q);
    const qrepo = await openRepository({
      cwd: dir,
      env: { GIT_OBJECT_DIRECTORY: q, GIT_ALTERNATE_OBJECT_DIRECTORIES: repo.objectsDir },
    });
    const qstore = createObjectStore(qrepo);
    try {
      const base = blobObject('in the main store');
      await store.put([base]);
      const packed = mixedBatch(40, 'quarantined');
      const loose = blobObject('quarantined loose');
      await qstore.put(packed);
      await qstore.put([loose]);
      expect(readdirSync(join(q, 'pack')).filter((f) => f.endsWith('.idx'))).toHaveLength(1);
      expect(readdirSync(join(q, loose.oid.slice(0, 2)))).toEqual([loose.oid.slice(2)]);
      expect(await qstore.has([base.oid, loose.oid, packed[0]!.oid])).toEqual([true, true, true]);
      // The main repository does not see quarantined objects.
      expect(await store.has([loose.oid, packed[0]!.oid])).toEqual([false, false]);
    } finally {
      await qstore.close();
    }
  });
});

describe('get / has', () => {
  it('round-trips binary bodies of every size, in request order', async () => {
    const objs = [
      blobObject(new Uint8Array(0)),
      blobObject(Buffer.from('line\n\nmissing\n')),
      blobObject(randomBytes(3 * 1024 * 1024 + 7)), // spans many pipe chunks
      blobObject(randomBytes(70_000)),
      ...mixedBatch(3, 'g'),
    ];
    await store.put(objs);
    const order = [...objs].reverse().map((o) => o.oid);
    const got = await store.get(order);
    expect(got.map((o) => o.oid)).toEqual(order);
    for (const g of got) {
      const o = objs.find((x) => x.oid === g.oid)!;
      expect(g.type).toBe(o.type);
      expect(Buffer.from(g.body).equals(Buffer.from(o.body))).toBe(true);
    }
  });

  it('serves concurrent callers from one child, each getting its own answers', async () => {
    const objs = Array.from({ length: 200 }, (_, i) => blobObject(`c${i}`));
    await store.put(objs);
    const results = await Promise.all(
      objs.map((o, i) => (i % 3 === 0 ? store.has([o.oid]) : store.get([o.oid, objs[0]!.oid]))),
    );
    results.forEach((r, i) => {
      if (i % 3 === 0) expect(r).toEqual([true]);
      else expect((r as { oid: string }[]).map((x) => x.oid)).toEqual([objs[i]!.oid, objs[0]!.oid]);
    });
  });

  it('missing objects: has() says false, get() throws GATOS_E_OBJECT_MISSING naming the id', async () => {
    const present = blobObject('here');
    const absent = blobObject('not here');
    await store.put([present]);
    expect(await store.has([present.oid, absent.oid])).toEqual([true, false]);
    try {
      await store.get([present.oid, absent.oid]);
      expect.unreachable();
    } catch (e) {
      expect((e as { code: string }).code).toBe('GATOS_E_OBJECT_MISSING');
      expect((e as { data: { oid: string } }).data.oid).toBe(absent.oid);
    }
    // The reader still works afterwards, and a miss does not disturb other callers' reads in flight.
    expect((await store.get([present.oid]))[0]!.oid).toBe(present.oid);
    const many = Array.from({ length: 50 }, (_, i) => blobObject(`many ${i}`));
    await store.put(many);
    const [a, b, c] = await Promise.allSettled([
      store.get(many.map((o) => o.oid)),
      store.get([absent.oid]),
      store.has([present.oid, absent.oid]),
    ]);
    expect(a.status === 'fulfilled' && a.value.length).toBe(50);
    expect(b.status === 'rejected' && (b.reason as { code: string }).code).toBe('GATOS_E_OBJECT_MISSING');
    expect(c.status === 'fulfilled' && c.value).toEqual([true, false]);
  });

  it('sees objects written after the cat-file child started: ours loose, ours packed, and git-written', async () => {
    expect(await store.has([EMPTY_TREE.oid])).toEqual([true]); // starts the child
    const loose = blobObject('late loose');
    await store.put([loose]);
    expect(await store.has([loose.oid])).toEqual([true]);
    const packed = mixedBatch(40, 'late pack');
    await store.put(packed);
    // has() never restarts the child: this shows cat-file itself re-scans objects/pack on a miss.
    expect(await store.has(packed.map((o) => o.oid))).toEqual(packed.map(() => true));
    expect((await store.get(packed.map((o) => o.oid))).length).toBe(packed.length);
    const viaGit = gitInput(dir, 'written by git\n', 'hash-object', '-w', '--stdin');
    expect(viaGit).toBe(hashObject('blob', Buffer.from('written by git\n')).oid);
    expect(Buffer.from((await store.get([viaGit]))[0]!.body).toString()).toBe('written by git\n');
    // A repack (as `git gc` would run) while the child is alive: every object stays readable.
    git(dir, 'update-ref', 'refs/tags/loose', loose.oid);
    git(dir, 'update-ref', 'refs/tags/git', viaGit);
    git(dir, 'update-ref', 'refs/tags/packed', packed.at(-1)!.oid);
    git(dir, 'repack', '-a', '-d', '-q');
    expect(git(dir, 'count-objects', '-v')).toMatch(/^count: 0$/m);
    const ids = [loose.oid, viaGit, ...packed.map((o) => o.oid)];
    expect(await store.has(ids)).toEqual(ids.map(() => true));
    expect((await store.get(ids)).map((o) => o.oid)).toEqual(ids);
  });

  it('rejects requests that are not object ids (no command injection into cat-file)', async () => {
    expect(await codeOf(store.get(['HEAD']))).toBe('GATOS_E_INTERNAL');
    expect(await codeOf(store.has([`${'a'.repeat(40)}\ncontents HEAD`]))).toBe('GATOS_E_INTERNAL');
  });
});

describe('chain', () => {
  it('returns a 10k-commit first-parent chain oldest first, and any tail of it', async () => {
    const commits = commitChain(10_000);
    await store.put([EMPTY_TREE, ...commits]);
    const head = commits.at(-1)!.oid;
    const all = await store.chain(head);
    expect(all).toHaveLength(10_000);
    expect(all[0]!.message).toBe('0\n');
    expect(all[0]!.parents).toEqual([]);
    for (let i = 0; i < all.length; i++) expect(all[i]!.oid).toBe(commits[i]!.oid);
    const tail = await store.chain(head, commits[8_999]!.oid);
    expect(tail.map((c) => c.message)).toEqual(commits.slice(9_000).map((_, i) => `${9_000 + i}\n`));
    expect(await store.chain(head, head)).toEqual([]);
    // Parsed from the exact bytes: re-serializing gives the same id.
    const c = all[1234]!;
    expect(commitObject(c).oid).toBe(c.oid);
  });

  it('follows first parents only across merges', async () => {
    const main = commitChain(3);
    const side = commitChain(2, main[0]!.oid, 100);
    const merge = commitObject({
      tree: EMPTY_TREE.oid,
      parents: [main[2]!.oid, side[1]!.oid],
      author: IDENT,
      committer: IDENT,
      message: 'merge\n',
    });
    await store.put([EMPTY_TREE, ...main, ...side, merge]);
    expect((await store.chain(merge.oid)).map((c) => c.message)).toEqual(['0\n', '1\n', '2\n', 'merge\n']);
    expect((await store.chain(merge.oid, main[1]!.oid)).map((c) => c.message)).toEqual(['2\n', 'merge\n']);
  });

  it('refuses a stop that is not a first-parent ancestor, and reports missing heads', async () => {
    const a = commitChain(3);
    const b = commitChain(2, null, 50);
    await store.put([EMPTY_TREE, ...a, ...b]);
    expect(await codeOf(store.chain(a[2]!.oid, b[1]!.oid))).toBe('GATOS_E_GIT');
    expect(await codeOf(store.chain(a[0]!.oid, a[2]!.oid))).toBe('GATOS_E_GIT');
    const ghost = commitChain(1, null, 999)[0]!;
    expect(await codeOf(store.chain(ghost.oid))).toBe('GATOS_E_OBJECT_MISSING');
    expect(await codeOf(store.chain(a[2]!.oid, ghost.oid))).toBe('GATOS_E_OBJECT_MISSING');
  });
});
