import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { blobObject, type ObjectStore, type RefStore, ZERO_OID } from '@gatos/core';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createObjectStore,
  createRefStore,
  isValidRefName,
  openRepository,
  type RefStoreOptions,
  type Repository,
} from '../src/index.js';
import { codeOf, git, gitStatus, tempRepo } from './helpers.js';

let cleanups: (() => void)[] = [];
let repo: Repository;
let refs: RefStore;
let objects: ObjectStore;
let dir: string;
/** Distinct blob ids to point refs at (refs may name any object). */
let ids: string[];
/** Whether the stores of the current block touch files with synchronous calls (gatosd's writer thread does). */
let syncIo = false;
const store = (opts: RefStoreOptions = {}) => createRefStore(repo, { ...opts, syncIo });

beforeEach(async () => {
  const r = tempRepo();
  dir = r.dir;
  cleanups.push(r.cleanup);
  repo = await openRepository({ cwd: dir });
  refs = createRefStore(repo, { lockTimeoutMs: 200 });
  objects = createObjectStore(repo);
  const blobs = Array.from({ length: 6 }, (_, i) => blobObject(`value ${i}`));
  await objects.put(blobs);
  ids = blobs.map((b) => b.oid);
});
afterEach(async () => {
  await objects.close();
});
afterAll(() => {
  for (const c of cleanups) c();
  cleanups = [];
});

const forEachRef = (prefix: string) =>
  git(dir, 'for-each-ref', '--format=%(objectname) %(refname)', prefix)
    .split('\n')
    .filter(Boolean)
    .map((l) => ({ ref: l.slice(41), oid: l.slice(0, 40) }));

/** `describe`s `body` twice: with the stores' default async I/O, and with `syncIo` (as gatosd's writer uses). */
function describeIoModes(name: string, body: () => void): void {
  for (const mode of [false, true]) {
    describe(`${name}${mode ? ' (synchronous I/O)' : ''}`, () => {
      beforeEach(() => {
        syncIo = mode;
        refs = store({ lockTimeoutMs: 200 });
      });
      afterEach(() => {
        syncIo = false;
      });
      body();
    });
  }
}

describeIoModes('cas', () => {
  it('creates, updates and deletes only when the expectation holds; git agrees', async () => {
    const ref = 'refs/gatos/test/a';
    const [a, b, c] = ids as [string, string, string];
    expect(await refs.read(ref)).toBeNull();
    expect(await refs.cas({ ref, expect: a, next: b })).toBe(false); // absent, but expected a
    expect(await refs.cas({ ref, expect: null, next: a })).toBe(true);
    expect(await refs.cas({ ref, expect: null, next: b })).toBe(false); // exists now
    expect(git(dir, 'rev-parse', ref)).toBe(a);
    expect(readFileSync(join(repo.commonDir, ref), 'latin1')).toBe(`${a}\n`);
    expect(await refs.cas({ ref, expect: c, next: b })).toBe(false);
    expect(await refs.cas({ ref, expect: a, next: b })).toBe(true);
    expect(await refs.read(ref)).toBe(b);
    expect(await refs.cas({ ref, expect: a, next: null })).toBe(false);
    expect(await refs.cas({ ref, expect: b, next: null })).toBe(true);
    expect(await refs.read(ref)).toBeNull();
    expect(gitStatus(dir, 'rev-parse', '--verify', '-q', ref).status).not.toBe(0);
    expect(await refs.cas({ ref, expect: null, next: null })).toBe(true); // "must be absent": it is
    expect(existsSync(join(repo.commonDir, `${ref}.lock`))).toBe(false);
  });

  it('sees updates made by git and git sees ours (same files, same locks)', async () => {
    const ref = 'refs/gatos/interop';
    git(dir, 'update-ref', ref, ids[0]!);
    expect(await refs.read(ref)).toBe(ids[0]);
    expect(await refs.cas({ ref, expect: ids[0]!, next: ids[1]! })).toBe(true);
    // git's own CAS against our value.
    expect(gitStatus(dir, 'update-ref', ref, ids[2]!, ids[0]!).status).not.toBe(0);
    git(dir, 'update-ref', ref, ids[2]!, ids[1]!);
    expect(await refs.read(ref)).toBe(ids[2]);
  });

  it('rejects bad ref names with GATOS_E_REF_NAME', async () => {
    const bad = [
      '',
      'HEAD',
      'heads/main',
      'refs/',
      'refs/gatos/',
      'refs//x',
      'refs/../config',
      'refs/gatos/a..b',
      'refs/gatos/x.lock',
      'refs/gatos/x.lock/y',
      'refs/gatos/.hidden',
      'refs/gatos/end.',
      'refs/gatos/user:alice',
      'refs/gatos/a?',
      'refs/gatos/a*',
      'refs/gatos/a[1]',
      'refs/gatos/a\\b',
      'refs/gatos/a^',
      'refs/gatos/a~1',
      'refs/gatos/a b',
      'refs/gatos/a\tb',
      'refs/gatos/a\nb',
      'refs/gatos/a\x7fb',
      'refs/gatos/a@{1}',
    ];
    for (const ref of bad) {
      expect(isValidRefName(ref), ref).toBe(false);
      expect(await codeOf(refs.read(ref)), ref).toBe('GATOS_E_REF_NAME');
      expect(await codeOf(refs.cas({ ref, expect: null, next: ids[0]! })), ref).toBe('GATOS_E_REF_NAME');
    }
    for (const ref of [
      'refs/gatos/journal/ns/user%3Aalice',
      'refs/heads/main',
      'refs/gatos/a@b',
      'refs/x/é',
    ]) {
      expect(isValidRefName(ref), ref).toBe(true);
      // git agrees on both sides.
      expect(gitStatus(dir, 'check-ref-format', ref).status, ref).toBe(0);
    }
    for (const ref of bad.filter((r) => r.startsWith('refs/') && r.length > 5)) {
      expect(gitStatus(dir, 'check-ref-format', ref).status, ref).not.toBe(0);
    }
    expect(await codeOf(refs.list('refs/../'))).toBe('GATOS_E_REF_NAME');
    expect(await codeOf(refs.list('objects/'))).toBe('GATOS_E_REF_NAME');
  });

  it('rejects values that are not object ids', async () => {
    expect(await codeOf(refs.cas({ ref: 'refs/gatos/v', expect: null, next: 'main' }))).toBe(
      'GATOS_E_INTERNAL',
    );
    const zero = refs.cas({ ref: 'refs/gatos/v', expect: null, next: ZERO_OID });
    expect(await codeOf(zero)).toBe('GATOS_E_INTERNAL');
    expect(await refs.read('refs/gatos/v')).toBeNull();
  });

  it('refuses directory/file clashes with loose and packed refs', async () => {
    expect(await refs.cas({ ref: 'refs/gatos/df/a', expect: null, next: ids[0]! })).toBe(true);
    expect(await codeOf(refs.cas({ ref: 'refs/gatos/df/a/b', expect: null, next: ids[0]! }))).toBe(
      'GATOS_E_REF_NAME',
    );
    expect(await refs.cas({ ref: 'refs/gatos/df2/a/b', expect: null, next: ids[0]! })).toBe(true);
    expect(await codeOf(refs.cas({ ref: 'refs/gatos/df2/a', expect: null, next: ids[0]! }))).toBe(
      'GATOS_E_REF_NAME',
    );
    git(dir, 'pack-refs', '--all');
    expect(await codeOf(refs.cas({ ref: 'refs/gatos/df/a/b', expect: null, next: ids[0]! }))).toBe(
      'GATOS_E_REF_NAME',
    );
    expect(await codeOf(refs.cas({ ref: 'refs/gatos/df2/a', expect: null, next: ids[0]! }))).toBe(
      'GATOS_E_REF_NAME',
    );
    expect(
      readdirSync(join(repo.commonDir, 'refs', 'gatos'), { recursive: true }).map(String),
    ).not.toContainEqual(expect.stringMatching(/\.lock$/));
  });

  it('refuses symbolic refs', async () => {
    git(dir, 'symbolic-ref', 'refs/gatos/sym', 'refs/heads/main');
    expect(await codeOf(refs.read('refs/gatos/sym'))).toBe('GATOS_E_REF_NAME');
  });
});

describeIoModes('locks', () => {
  const ref = 'refs/gatos/locked';
  const lockOf = () => join(repo.commonDir, `${ref}.lock`);
  const placeLock = (ageMs: number) => {
    mkdirSync(dirname(lockOf()), { recursive: true });
    writeFileSync(lockOf(), '');
    const t = (Date.now() - ageMs) / 1000;
    utimesSync(lockOf(), t, t);
  };

  it('a held lock makes cas wait, then fail with GATOS_E_REF_LOCKED; git is blocked by our locks too', async () => {
    await refs.cas({ ref, expect: null, next: ids[0]! });
    placeLock(0);
    const r = gitStatus(dir, 'update-ref', ref, ids[1]!, ids[0]!);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/File exists/);
    expect(await codeOf(refs.cas({ ref, expect: ids[0]!, next: ids[1]! }))).toBe('GATOS_E_REF_LOCKED');
    expect(await codeOf(refs.cas({ ref, expect: ids[0]!, next: null }))).toBe('GATOS_E_REF_LOCKED');
    expect(existsSync(lockOf())).toBe(true); // a fresh lock is never broken
    expect(await refs.read(ref)).toBe(ids[0]);
  });

  it('a stale lock (older than staleLockMs) is broken and the update goes through', async () => {
    await refs.cas({ ref, expect: null, next: ids[0]! });
    placeLock(60_000);
    expect(await refs.cas({ ref, expect: ids[0]!, next: ids[1]! })).toBe(true); // default 30 s
    expect(existsSync(lockOf())).toBe(false);
    const quick = store({ staleLockMs: 100, lockTimeoutMs: 2000 });
    placeLock(0);
    expect(await quick.cas({ ref, expect: ids[1]!, next: ids[2]! })).toBe(true);
    placeLock(0);
    expect(await quick.cas({ ref, expect: ids[2]!, next: null })).toBe(true); // deletion breaks it too
    expect(await refs.read(ref)).toBeNull();
    const leftovers = readdirSync(dirname(lockOf())).filter((f) => f.includes('.lock'));
    expect(leftovers).toEqual([]);
  });

  it('reads GATOS_STALE_LOCK_MS when no option is given', async () => {
    await refs.cas({ ref, expect: null, next: ids[0]! });
    process.env.GATOS_STALE_LOCK_MS = '50';
    try {
      const fromEnv = store({ lockTimeoutMs: 2000 });
      placeLock(0);
      expect(await fromEnv.cas({ ref, expect: ids[0]!, next: ids[1]! })).toBe(true);
    } finally {
      delete process.env.GATOS_STALE_LOCK_MS;
    }
  });
});

describe('packed refs', () => {
  it('read, list and cas work after git pack-refs; a cas writes a loose ref that wins', async () => {
    const names = ['refs/gatos/p/a', 'refs/gatos/p/b', 'refs/gatos/p/c/d', 'refs/gatos/q'];
    for (const [i, ref] of names.entries())
      expect(await refs.cas({ ref, expect: null, next: ids[i]! })).toBe(true);
    git(dir, 'pack-refs', '--all');
    expect(existsSync(join(repo.commonDir, 'refs/gatos/p/a'))).toBe(false);
    for (const [i, ref] of names.entries()) expect(await refs.read(ref)).toBe(ids[i]);
    expect(await refs.list('refs/gatos/p/')).toEqual(forEachRef('refs/gatos/p/'));
    // CAS on a packed ref: wrong expectation loses, right one writes a loose ref.
    expect(await refs.cas({ ref: 'refs/gatos/p/a', expect: ids[1]!, next: ids[5]! })).toBe(false);
    expect(await refs.cas({ ref: 'refs/gatos/p/a', expect: ids[0]!, next: ids[5]! })).toBe(true);
    expect(readFileSync(join(repo.commonDir, 'refs/gatos/p/a'), 'latin1')).toBe(`${ids[5]}\n`);
    expect(readFileSync(join(repo.commonDir, 'packed-refs'), 'latin1')).toContain(`${ids[0]} refs/gatos/p/a`);
    expect(await refs.read('refs/gatos/p/a')).toBe(ids[5]);
    expect(git(dir, 'rev-parse', 'refs/gatos/p/a')).toBe(ids[5]);
    expect(await refs.list('refs/gatos/p/')).toEqual(forEachRef('refs/gatos/p/'));
    // Creating over a packed ref is a mismatch.
    expect(await refs.cas({ ref: 'refs/gatos/p/b', expect: null, next: ids[5]! })).toBe(false);
    // Deleting a packed-only ref removes it from packed-refs.
    expect(await refs.cas({ ref: 'refs/gatos/p/b', expect: ids[1]!, next: null })).toBe(true);
    expect(await refs.read('refs/gatos/p/b')).toBeNull();
    expect(readFileSync(join(repo.commonDir, 'packed-refs'), 'latin1')).not.toContain('refs/gatos/p/b');
    // Deleting a ref that is both loose and packed removes both.
    expect(await refs.cas({ ref: 'refs/gatos/p/a', expect: ids[5]!, next: null })).toBe(true);
    expect(await refs.read('refs/gatos/p/a')).toBeNull();
    expect(await refs.list('refs/gatos/')).toEqual(forEachRef('refs/gatos/'));
    // The packed-refs cache notices a rewrite.
    git(dir, 'update-ref', 'refs/gatos/q', ids[4]!);
    git(dir, 'pack-refs', '--all');
    expect(await refs.read('refs/gatos/q')).toBe(ids[4]);
  });
});

describeIoModes('list', () => {
  it('matches git for-each-ref over a mix of loose and packed refs, sorted', async () => {
    const make = async (ref: string, i: number) =>
      expect(await refs.cas({ ref, expect: null, next: ids[i % 6]! })).toBe(true);
    let i = 0;
    for (const ns of ['alpha', 'beta', 'beta-2', 'gamma']) {
      for (const leaf of ['z', 'a', 'm/n', 'm/o', 'Upper', 'x-1', 'x.1'])
        await make(`refs/gatos/j/${ns}/${leaf}`, i++);
    }
    git(dir, 'pack-refs', '--all');
    await make('refs/gatos/j/alpha/new', i++);
    await make('refs/gatos/j/delta/loose', i++);
    expect(await refs.cas({ ref: 'refs/gatos/j/beta/a', expect: ids[8 % 6]!, next: ids[5]! })).toBe(true);
    // Junk git ignores must be ignored here too.
    writeFileSync(join(repo.commonDir, 'refs/gatos/j/alpha/held.lock'), '');
    writeFileSync(join(repo.commonDir, 'refs/gatos/j/alpha/.hidden'), `${ids[0]}\n`);
    // A symbolic ref: GATOS never writes them; both listing paths skip it.
    git(dir, 'symbolic-ref', 'refs/gatos/j/gamma/sym', 'refs/gatos/j/gamma/z');
    const expected = (prefix: string) => forEachRef(prefix).filter((e) => e.ref !== 'refs/gatos/j/gamma/sym');
    const prefixes = ['refs/gatos/j/', 'refs/gatos/j/beta/', 'refs/gatos/j/alpha/m/', 'refs/gatos/', 'refs/'];
    // In-process for a few loose refs, `git for-each-ref` above the threshold: both must agree with git.
    for (const s of [refs, store({ listSpawnThreshold: 0 })]) {
      for (const prefix of prefixes) expect(await s.list(prefix), prefix).toEqual(expected(prefix));
      const all = await s.list('refs/gatos/j/');
      expect(all.map((e) => e.ref)).toEqual([...all.map((e) => e.ref)].sort());
      // A plain string prefix: `beta` also matches `beta-2`.
      const partial = await s.list('refs/gatos/j/beta');
      expect(new Set(partial.map((e) => e.ref.split('/')[3]))).toEqual(new Set(['beta', 'beta-2']));
      expect(partial).toHaveLength(14);
      expect(await s.list('refs/gatos/nothing/')).toEqual([]);
    }
  });
});
