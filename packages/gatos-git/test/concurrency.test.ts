/**
 * Real processes racing on one ref (ours and git's), and writers killed with SIGKILL mid-update. The workers
 * import the BUILT package (`dist/`), which the root `tsc -b` produces before tests run.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { commitObject } from '@gatos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createObjectStore, createRefStore, openRepository } from '../src/index.js';
import {
  childEnv,
  EMPTY_TREE,
  expectFsckClean,
  fixture,
  git,
  IDENT,
  requireDist,
  tempRepo,
} from './helpers.js';

const WORKER = fixture('ref-worker.mjs');
const cleanups: (() => void)[] = [];
const children = new Set<ChildProcess>();

beforeAll(() => requireDist());
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const c of cleanups) c();
});

interface WorkerArgs {
  dir: string;
  ref: string;
  mode: 'gatos' | 'git' | 'crash';
  increments?: number;
  id: number;
  syncIo?: boolean;
}

function startWorker(args: WorkerArgs, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [WORKER, JSON.stringify(args)], {
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  return { child, exited, out: () => stdout, err: () => stderr };
}

/** Creates the repository with the counter ref at a root commit whose message is `0`. */
async function setupCounter(ref: string) {
  const r = tempRepo();
  cleanups.push(r.cleanup);
  const repo = await openRepository({ cwd: r.dir });
  const objects = createObjectStore(repo);
  const root = commitObject({
    tree: EMPTY_TREE.oid,
    parents: [],
    author: IDENT,
    committer: IDENT,
    message: '0\n',
  });
  await objects.put([EMPTY_TREE, root]);
  await objects.close();
  expect(await createRefStore(repo).cas({ ref, expect: null, next: root.oid })).toBe(true);
  return r.dir;
}

describe('8 processes racing read-increment-cas on one ref (6 through @gatos/git, half of them with synchronous I/O; 2 through git update-ref)', () => {
  it('loses no update: final counter = chain length = total successes', async () => {
    const ref = 'refs/gatos/race/counter';
    const dir = await setupCounter(ref);
    const increments = 12;
    const workers = Array.from({ length: 8 }, (_, id) =>
      startWorker({ dir, ref, mode: id < 6 ? 'gatos' : 'git', increments, id, syncIo: id % 2 === 1 }),
    );
    const results = await Promise.all(
      workers.map(async (w) => {
        const { code } = await w.exited;
        if (code !== 0) throw new Error(`worker failed (${code}): ${w.err()}`);
        return JSON.parse(w.out().trim().split('\n').at(-1)!) as { successes: number; losses: number };
      }),
    );
    const total = results.reduce((s, r) => s + r.successes, 0);
    const losses = results.reduce((s, r) => s + r.losses, 0);
    console.info(`race: ${total} updates won, ${losses} lost attempts retried`);
    expect(total).toBe(8 * increments);
    const head = git(dir, 'rev-parse', ref);
    expect(git(dir, 'log', '-1', '--format=%B', head).split('\n')[0]).toBe(String(total));
    expect(Number(git(dir, 'rev-list', '--count', '--first-parent', head))).toBe(total + 1);
    // Every commit's counter is its parent's plus one: no update was built on a stale read and still won.
    const repo = await openRepository({ cwd: dir });
    const objects = createObjectStore(repo);
    const chain = await objects.chain(head);
    await objects.close();
    chain.forEach((c, i) => {
      expect(Number.parseInt(c.message, 10)).toBe(i);
    });
    expectFsckClean(dir);
    expect(readdirSync(join(dir, '.git/refs/gatos/race')).filter((f) => f.endsWith('.lock'))).toEqual([]);
  });
});

describe('writers killed with SIGKILL mid put()+cas() (every other one with synchronous I/O)', () => {
  it('the ref always names a complete commit chain, fsck stays clean, stale locks get broken', async () => {
    const ref = 'refs/gatos/crash/counter';
    const dir = await setupCounter(ref);
    const lock = join(dir, '.git', `${ref}.lock`);
    let locksLeft = 0;
    const rounds = 12;
    for (let round = 0; round < rounds; round++) {
      const w = startWorker(
        { dir, ref, mode: 'crash', id: round, syncIo: round % 2 === 1 },
        { GATOS_STALE_LOCK_MS: '300' },
      );
      // Wait until it has completed one update (so a stale lock of the previous victim was broken), then kill
      // it at a random point of its loop.
      await new Promise<void>((resolve, reject) => {
        const timer = setInterval(() => {
          if (w.out().includes('started')) {
            clearInterval(timer);
            resolve();
          } else if (w.child.exitCode !== null) {
            clearInterval(timer);
            reject(new Error(`crash worker exited early: ${w.err()}`));
          }
        }, 5);
      });
      await new Promise((r) => setTimeout(r, 10 + Math.random() * 150));
      w.child.kill('SIGKILL');
      const { signal } = await w.exited;
      expect(signal, w.err()).toBe('SIGKILL');
      if (existsSync(lock)) locksLeft++;
      const head = git(dir, 'rev-parse', ref);
      expect(git(dir, 'cat-file', '-t', head)).toBe('commit');
      expectFsckClean(dir); // nothing half-written under a final name; the chain is complete
    }
    // Whatever the victims left behind, a fresh writer gets through within the stale-lock delay.
    const repo = await openRepository({ cwd: dir });
    const refs = createRefStore(repo, { staleLockMs: 300, lockTimeoutMs: 5000 });
    const objects = createObjectStore(repo);
    const head = (await refs.read(ref))!;
    const chain = await objects.chain(head);
    chain.forEach((c, i) => {
      expect(Number.parseInt(c.message, 10)).toBe(i);
    });
    const next = commitObject({
      tree: EMPTY_TREE.oid,
      parents: [head],
      author: IDENT,
      committer: IDENT,
      message: `${chain.length}\n`,
    });
    await objects.put([next]);
    expect(await refs.cas({ ref, expect: head, next: next.oid })).toBe(true);
    await objects.close();
    expect(existsSync(lock)).toBe(false);
    expectFsckClean(dir);
    // Reported for the curious: how often a victim died holding the lock.
    console.info(`kill -9 rounds: ${rounds}, lock left behind after ${locksLeft}`);
  });
});

describe('process lifetime', () => {
  it('a process that never calls close() still exits, after its pending reads are answered', async () => {
    const r = tempRepo();
    cleanups.push(r.cleanup);
    const child = spawn(process.execPath, [fixture('no-close.mjs'), r.dir], {
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
    });
    // Guard: a hang is a failure, reported as such rather than as a test timeout.
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    clearTimeout(guard);
    children.delete(child);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toBe('still here\npresent=true\n');
  });
});
