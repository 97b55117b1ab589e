import { spawn } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { blobObject, type GitObject } from '@gatos/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createObjectStore,
  createRefStore,
  decodeEntries,
  encodeEntries,
  encodePack,
  openRepository,
  type Repository,
} from '../src/index.js';
import {
  childEnv,
  commitChain,
  EMPTY_TREE,
  expectFsckClean,
  fixture,
  git,
  gitInput,
  gitStatus,
  requireDist,
  tempRepo,
} from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function repoFixture(): Promise<{ dir: string; repo: Repository }> {
  const { dir, cleanup } = tempRepo();
  cleanups.push(cleanup);
  return { dir, repo: await openRepository({ cwd: dir }) };
}

const packsIn = (repo: Repository): string[] =>
  readdirSync(join(repo.objectsDir, 'pack')).filter((f) => f.endsWith('.idx'));

const tempsIn = (repo: Repository): string[] =>
  readdirSync(join(repo.objectsDir, 'pack')).filter((f) => f.startsWith('tmp_'));

/** Every id in `oids` is present for a fresh git (one batch-check call). */
function missingForGit(dir: string, oids: readonly string[]): string[] {
  const out = gitInput(dir, `${oids.join('\n')}\n`, 'cat-file', '--batch-check');
  return out.split('\n').filter((l) => l.endsWith(' missing'));
}

/** `createObjectStore` from `dist/`: a merge thread runs the compiled merge code. */
async function builtCreateObjectStore(): Promise<typeof createObjectStore> {
  requireDist();
  return ((await import('../dist/index.js')) as { createObjectStore: typeof createObjectStore })
    .createObjectStore;
}

describe('pack entries', () => {
  it('re-encodes decoded entries to the very same bytes, and refuses packs with deltas', async () => {
    const objs: GitObject[] = Array.from({ length: 50 }, (_, i) => blobObject(`entry ${i}\n`.repeat(i + 1)));
    const enc = encodePack(objs);
    const again = encodeEntries(decodeEntries(enc.pack, enc.idx));
    expect(again.pack.equals(enc.pack)).toBe(true);
    expect(again.idx.equals(enc.idx)).toBe(true);

    // git's own pack of similar blobs is full of deltas: those entries cannot be copied on their own.
    const { dir } = await repoFixture();
    const big = 'x'.repeat(5000);
    const ids = Array.from({ length: 20 }, (_, i) =>
      gitInput(dir, `${big}${i}\n`, 'hash-object', '-w', '--stdin'),
    );
    const base = join(dir, 'gitpack');
    const sum = gitInput(dir, `${ids.join('\n')}\n`, 'pack-objects', '-q', base);
    const gp = readFileSync(`${base}-${sum}.pack`);
    const gi = readFileSync(`${base}-${sum}.idx`);
    expect(() => decodeEntries(gp, gi)).toThrow(/delta or damaged/);
    expect(() => decodeEntries(enc.pack, gi)).toThrow(/does not match/);
  });
});

describe('consolidation', () => {
  // On a merge thread the store comes from `dist/`: the thread runs the compiled merge code.
  it.each([
    ['inline', false],
    ['on a merge thread', true],
  ])(
    'keeps the pack count logarithmic; every object stays readable by git and the store; fsck clean (%s)',
    async (_, thread) => {
      const { dir, repo } = await repoFixture();
      const create = thread ? await builtCreateObjectStore() : createObjectStore;
      const store = create(repo, { packThreshold: 1, consolidateAfter: 4, consolidateOnThread: thread });
      const refs = createRefStore(repo);
      await store.put([EMPTY_TREE]);
      const written: string[] = [];
      let head: string | null = null;
      let most = 0;
      for (let i = 0; i < 120; i++) {
        const chain = commitChain(3, head, i * 3);
        await store.put(chain);
        const next = chain.at(-1)!.oid;
        expect(await refs.cas({ ref: 'refs/heads/main', expect: head, next })).toBe(true);
        head = next;
        written.push(...chain.map((c) => c.oid));
        most = Math.max(most, packsIn(repo).length);
        // The store's own long-lived cat-file keeps answering while packs are merged under it.
        if (i % 10 === 9) {
          const got = await store.get(written.slice(-40));
          expect(got.map((o) => o.oid)).toEqual(written.slice(-40));
        }
      }
      await store.close();
      const packs = packsIn(repo).length;
      // 121 packs written; geometric merging leaves a handful (at most `after` fresh ones plus log2(n) merged).
      expect(packs).toBeLessThanOrEqual(4 + 8);
      // A merge thread does not slow the writer down, so packs pile up while a merge runs; the pile stays bounded.
      expect(most).toBeLessThanOrEqual(thread ? 40 : 4 + 8 + 1);
      expect(tempsIn(repo)).toEqual([]);
      expect(missingForGit(dir, written)).toEqual([]);
      expect(git(dir, 'rev-list', '--count', 'refs/heads/main')).toBe('360');
      expectFsckClean(dir);
      const fresh = createObjectStore(repo);
      try {
        expect((await fresh.chain(head!)).length).toBe(360);
      } finally {
        await fresh.close();
      }
    },
  );

  it('a merge that fails on the merge thread is reported by close(), with its reason', async () => {
    const { repo } = await repoFixture();
    const create = await builtCreateObjectStore();
    const store = create(repo, { packThreshold: 1, consolidateAfter: 2, consolidateOnThread: true });
    await store.put([blobObject('first\n')]);
    // Damage the first pack so the merge cannot decode it.
    const [idx] = packsIn(repo);
    const pack = join(repo.objectsDir, 'pack', idx!.replace(/\.idx$/, '.pack'));
    chmodSync(pack, 0o644);
    writeFileSync(pack, 'not a pack');
    await store.put([blobObject('second\n')]);
    await expect(store.close()).rejects.toThrow(/unexpected pack layout/);
    // Nothing was deleted: both packs are still there.
    expect(packsIn(repo)).toHaveLength(2);
  });

  it('loses nothing while `git repack -d --geometric=2` and `git gc` run concurrently', async () => {
    const { dir, repo } = await repoFixture();
    const store = createObjectStore(repo, { packThreshold: 1, consolidateAfter: 2 });
    const refs = createRefStore(repo);
    await store.put([EMPTY_TREE]);
    let stop = false;
    let gitRuns = 0;
    const repacker = (async () => {
      for (let i = 0; !stop; i++) {
        const args = i % 3 === 2 ? ['gc', '-q'] : ['repack', '-d', '-q', '--geometric=2'];
        await new Promise<void>((resolve) => {
          const c = spawn('git', args, { cwd: dir, env: childEnv(), stdio: 'ignore' });
          c.on('close', () => resolve());
        });
        gitRuns++;
      }
    })();
    const written: string[] = [];
    let head: string | null = null;
    try {
      for (let i = 0; i < 150 || gitRuns < 4; i++) {
        const chain = commitChain(2, head, i * 2);
        await store.put(chain);
        const next = chain.at(-1)!.oid;
        expect(await refs.cas({ ref: 'refs/heads/main', expect: head, next })).toBe(true);
        head = next;
        written.push(...chain.map((c) => c.oid));
        if (i % 25 === 24) expect((await store.get([written[0]!, next])).length).toBe(2);
      }
    } finally {
      stop = true;
      await repacker;
      await store.close();
    }
    expect(gitRuns).toBeGreaterThanOrEqual(4);
    expect(missingForGit(dir, written)).toEqual([]);
    expect(git(dir, 'rev-list', '--count', 'refs/heads/main')).toBe(String(written.length));
    expectFsckClean(dir);
  });

  it('every commit reported after put()+cas survives SIGKILL at any point, merges included', async () => {
    requireDist();
    const { dir, repo } = await repoFixture();
    // Kill delays after the 20th acknowledged batch; with a merge every 2 packs, kills land inside merges too.
    let temps = 0;
    // Inline merges, then as gatosd writes: merges on their own thread, synchronous file I/O.
    for (const [delay, mode] of [
      [53, 'inline'],
      [12, 'thread'],
      [27, 'thread'],
    ] as const) {
      const child = spawn(process.execPath, [fixture('pack-writer-loop.mjs'), dir, mode], {
        env: childEnv(),
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
      });
      // Wait until it is writing (and merging), then kill it mid-flight.
      await new Promise<void>((resolve) => {
        const t = setInterval(() => {
          if (out.split('\n').length > 20) {
            clearInterval(t);
            setTimeout(resolve, delay);
          }
        }, 5);
      });
      child.kill('SIGKILL');
      await new Promise((r) => child.on('close', r));
      const heads = out.split('\n').filter((l) => /^[0-9a-f]{40}$/.test(l));
      expect(heads.length).toBeGreaterThanOrEqual(20);
      // The ref may be one step past the last printed head (killed between cas and print), never behind it.
      const ref = git(dir, 'rev-parse', 'refs/heads/loop');
      expect(missingForGit(dir, [ref, ...heads])).toEqual([]);
      expect(gitStatus(dir, 'merge-base', '--is-ancestor', heads.at(-1)!, ref).status).toBe(0);
      expectFsckClean(dir);
      // The next run starts from scratch on the same ref. A kill inside the CAS leaves the dead writer's ref
      // lock behind (broken by the next writer after staleLockMs); remove it rather than wait.
      rmSync(join(dir, '.git/refs/heads/loop.lock'), { force: true });
      git(dir, 'update-ref', '-d', 'refs/heads/loop');
      // At most one put and one merge were in flight, each with a temp pack + idx (git gc removes tmp_ files).
      expect(tempsIn(repo).length - temps).toBeLessThanOrEqual(4);
      temps = tempsIn(repo).length;
    }
  });
});
