import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireLock, breakStaleLock, LockLost, LockPathConflict } from '../src/lockfile.js';
import { codeOf } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'gatos-lock-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => {
  const d = join(root, String(n++));
  mkdirSync(d);
  return { target: join(d, 'ref'), lock: join(d, 'ref.lock') };
};
const opts = { timeoutMs: 100, staleMs: 60_000 };
const age = (path: string, ms: number) => {
  const t = (Date.now() - ms) / 1000;
  utimesSync(path, t, t);
};

describe('lockfile', () => {
  it('commit publishes the content atomically and releases the lock', async () => {
    const { target, lock } = fresh();
    const l = await acquireLock(lock, opts);
    expect(existsSync(lock)).toBe(true);
    expect(await codeOf(acquireLock(lock, opts))).toBe('GATOS_E_REF_LOCKED');
    await l.commit(target, 'v1\n', true);
    expect(readFileSync(target, 'utf8')).toBe('v1\n');
    expect(existsSync(lock)).toBe(false);
    await l.rollback(); // no-op after commit
  });

  it('creates missing parent directories, and reports a file in the way as a path conflict', async () => {
    const { target } = fresh();
    const deep = `${target}/a/b.lock`;
    const l = await acquireLock(join(root, 'deep', 'x', 'y.lock'), opts);
    await l.rollback();
    writeFileSync(target, 'a ref file\n');
    await expect(acquireLock(deep, opts)).rejects.toBeInstanceOf(LockPathConflict);
  });

  it('never publishes or deletes a lock that was broken and re-taken by someone else', async () => {
    const { target, lock } = fresh();
    const l = await acquireLock(lock, opts);
    renameSync(lock, `${lock}.aside.lock`); // a stale-lock breaker moved ours away...
    writeFileSync(lock, 'theirs'); // ...and another writer took the lock
    await expect(l.commit(target, 'ours\n', false)).rejects.toBeInstanceOf(LockLost);
    expect(existsSync(target)).toBe(false);
    expect(readFileSync(lock, 'utf8')).toBe('theirs');
    const { lock: lock2 } = fresh();
    const l2 = await acquireLock(lock2, opts);
    renameSync(lock2, `${lock2}.aside.lock`);
    writeFileSync(lock2, 'theirs');
    await l2.rollback();
    expect(readFileSync(lock2, 'utf8')).toBe('theirs');
  });

  it('breaks only locks older than staleMs', async () => {
    const { lock } = fresh();
    expect(await breakStaleLock(lock, 1000)).toBe(true); // absent: retry at once
    writeFileSync(lock, '');
    expect(await breakStaleLock(lock, 1000)).toBe(false);
    expect(existsSync(lock)).toBe(true);
    age(lock, 5000);
    expect(await breakStaleLock(lock, 1000)).toBe(true);
    expect(existsSync(lock)).toBe(false);
    writeFileSync(lock, '');
    age(lock, 5000);
    const l = await acquireLock(lock, { timeoutMs: 100, staleMs: 1000 });
    await l.rollback();
    expect(existsSync(lock)).toBe(false);
  });

  it('replaces an empty directory at the target, refuses a non-empty one', async () => {
    const { target, lock } = fresh();
    mkdirSync(target);
    const l = await acquireLock(lock, opts);
    await l.commit(target, 'x\n', false);
    expect(readFileSync(target, 'utf8')).toBe('x\n');
    const { target: t2, lock: k2 } = fresh();
    mkdirSync(t2);
    writeFileSync(join(t2, 'child'), '');
    const l2 = await acquireLock(k2, opts);
    await expect(l2.commit(t2, 'x\n', false)).rejects.toBeInstanceOf(LockPathConflict);
    expect(existsSync(k2)).toBe(false);
  });
});
