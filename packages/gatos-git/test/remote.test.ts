/** Worker git transport against real bare repositories: mirroring fetch, leased atomic pushes, races, failures. */
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blobObject, commitObject, isGatosError, type Oid, treeObject } from '@gatos/core';
import {
  createObjectStore,
  fetchJobs,
  openRepository,
  pushWithLease,
  type Repository,
} from '../src/index.js';
import { afterAll, describe, expect, it } from 'vitest';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tmp(prefix = 'gatos-remote-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}
function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } }).trim();
}
function bare(): string {
  const d = join(tmp(), 'shared.git');
  execFileSync('git', ['init', '-q', '--bare', d]);
  return d;
}
async function clone(remote: string): Promise<Repository> {
  const d = join(tmp('gatos-clone-'), 'w');
  execFileSync('git', ['clone', '-q', remote, d], { stdio: 'ignore' });
  return openRepository({ cwd: d });
}
/** A commit written by @gatos/git's object store only: no local ref names it. */
async function commit(repo: Repository, text: string, parent?: Oid): Promise<Oid> {
  const blob = blobObject(text);
  const tree = treeObject([{ mode: '100644', name: 'f', oid: blob.oid }]);
  const ident = { name: 'w', email: 'w@gatos.invalid', seconds: 0, tz: '+0000' };
  const c = commitObject({
    tree: tree.oid,
    parents: parent ? [parent] : [],
    author: ident,
    committer: ident,
    message: text,
  });
  const store = createObjectStore(repo);
  await store.put([blob, tree, c]);
  await store.close();
  return c.oid;
}
function remoteRef(remote: string, ref: string): string | null {
  try {
    return git(remote, 'rev-parse', '--verify', '-q', ref);
  } catch {
    return null;
  }
}
function refs(repo: string): Record<string, string> {
  const out = git(repo, 'for-each-ref', '--format=%(refname) %(objectname)');
  return Object.fromEntries(out ? out.split('\n').map((l) => l.split(' ')) : []);
}

describe('pushWithLease', () => {
  it('creates only when absent, then moves only from the expected tip', async () => {
    const remote = bare();
    const a = await clone(remote);
    const ref = 'refs/gatos/jobs/j1/claim';
    const c1 = await commit(a, 'claim');
    const c2 = await commit(a, 'heartbeat', c1);
    expect(await pushWithLease(a, remote, [{ ref, expect: null, next: c1 }])).toEqual({ ok: true });
    expect(remoteRef(remote, ref)).toBe(c1);
    expect(await pushWithLease(a, remote, [{ ref, expect: null, next: c2 }])).toEqual({
      ok: false,
      rejected: [{ ref, reason: 'stale info' }],
    });
    expect(await pushWithLease(a, remote, [{ ref, expect: c2, next: c2 }])).toMatchObject({ ok: false });
    expect(await pushWithLease(a, remote, [{ ref, expect: c1, next: c2 }])).toEqual({ ok: true });
    expect(remoteRef(remote, ref)).toBe(c2);
    // Not a fast-forward: the lease alone decides.
    const other = await commit(a, 'reclaim');
    expect(await pushWithLease(a, remote, [{ ref, expect: c2, next: other }])).toEqual({ ok: true });
    expect(remoteRef(remote, ref)).toBe(other);
  });

  it('is atomic: a stale second lease updates nothing', async () => {
    const remote = bare();
    const a = await clone(remote);
    const c = await commit(a, 'x');
    const d = await commit(a, 'y');
    await pushWithLease(a, remote, [{ ref: 'refs/gatos/jobs/j/claim', expect: null, next: c }]);
    const r = await pushWithLease(a, remote, [
      { ref: 'refs/gatos/jobs/j/result', expect: null, next: d },
      { ref: 'refs/gatos/jobs/j/claim', expect: d, next: d }, // stale: the remote has c
      { ref: 'refs/gatos/audit/jobs/j', expect: null, next: d },
    ]);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.rejected).toContainEqual({ ref: 'refs/gatos/jobs/j/claim', reason: 'stale info' });
    expect(r.rejected.map((x) => x.ref).sort()).toEqual([
      'refs/gatos/audit/jobs/j',
      'refs/gatos/jobs/j/claim',
      'refs/gatos/jobs/j/result',
    ]);
    expect(remoteRef(remote, 'refs/gatos/jobs/j/result')).toBeNull();
    expect(remoteRef(remote, 'refs/gatos/audit/jobs/j')).toBeNull();
    expect(remoteRef(remote, 'refs/gatos/jobs/j/claim')).toBe(c);
    // With the right lease all three move together.
    expect(
      await pushWithLease(a, remote, [
        { ref: 'refs/gatos/jobs/j/result', expect: null, next: d },
        { ref: 'refs/gatos/jobs/j/claim', expect: c, next: d },
        { ref: 'refs/gatos/audit/jobs/j', expect: null, next: d },
      ]),
    ).toEqual({ ok: true });
    expect(remoteRef(remote, 'refs/gatos/audit/jobs/j')).toBe(d);
  });

  it('lets exactly one of several worker processes win a race for an absent ref', async () => {
    const remote = bare();
    const dist = join(import.meta.dirname, '../dist/index.js');
    const gitDist = dist;
    const racers = 4;
    const reasons: string[] = [];
    for (let round = 0; round < 4; round++) {
      const ref = `refs/gatos/jobs/race${round}/claim`;
      const clones = await Promise.all(Array.from({ length: racers }, () => clone(remote)));
      const oids = await Promise.all(clones.map((c, i) => commit(c, `racer ${i} round ${round}`)));
      const procs = clones.map((c, i) => {
        const src = `
          import { openRepository } from ${JSON.stringify(gitDist)};
          import { pushWithLease } from ${JSON.stringify(dist)};
          const repo = await openRepository({ cwd: ${JSON.stringify(c.cwd)} });
          process.stdin.once('data', async () => {
            const r = await pushWithLease(repo, ${JSON.stringify(remote)}, [{ ref: ${JSON.stringify(ref)}, expect: null, next: ${JSON.stringify(oids[i])} }]);
            process.stdout.write(JSON.stringify(r));
            process.exit(0);
          });
          process.stdout.write('ready\\n');`;
        const p = spawn(process.execPath, ['--input-type=module', '-e', src], {
          stdio: ['pipe', 'pipe', 'inherit'],
        });
        let out = '';
        const ready = new Promise<void>((res) =>
          p.stdout.on('data', (c: Buffer) => {
            out += c.toString();
            if (out.startsWith('ready\n')) res();
          }),
        );
        const done = new Promise<string>((res) => p.on('close', () => res(out.slice('ready\n'.length))));
        return { p, ready, done };
      });
      await Promise.all(procs.map((x) => x.ready));
      for (const x of procs) x.p.stdin.write('go\n');
      const results = (await Promise.all(procs.map((x) => x.done))).map(
        (s) => JSON.parse(s) as { ok: boolean; rejected?: { reason: string }[] },
      );
      const winners = results.flatMap((r, i) => (r.ok ? [i] : []));
      expect(winners).toHaveLength(1);
      expect(remoteRef(remote, ref)).toBe(oids[winners[0] as number]);
      for (const r of results)
        if (!r.ok) expect(r.rejected?.[0]?.reason).toMatch(/stale info|remote rejected/);
      reasons.push(...results.flatMap((r) => (r.ok ? [] : [r.rejected?.[0]?.reason ?? ''])));
    }
    console.log(`race losers' reasons: ${[...new Set(reasons)].join(' | ')}`);
  });

  it('throws GATOS_E_REMOTE for an unreachable remote and for a hook refusal', async () => {
    const a = await clone(bare());
    const c = await commit(a, 'x');
    const upd = [{ ref: 'refs/gatos/jobs/j/claim', expect: null, next: c }];
    await expect(pushWithLease(a, join(tmp(), 'missing.git'), upd)).rejects.toSatisfy((e: unknown) =>
      isGatosError(e, 'GATOS_E_REMOTE'),
    );
    await expect(pushWithLease(a, 'http://127.0.0.1:9/nothing.git', upd)).rejects.toSatisfy((e: unknown) =>
      isGatosError(e, 'GATOS_E_REMOTE'),
    );
    const guarded = bare();
    writeFileSync(join(guarded, 'hooks/pre-receive'), '#!/bin/sh\necho denied >&2\nexit 1\n');
    chmodSync(join(guarded, 'hooks/pre-receive'), 0o755);
    await expect(pushWithLease(a, guarded, upd)).rejects.toSatisfy(
      (e: unknown) => isGatosError(e, 'GATOS_E_REMOTE') && /hook declined/.test(JSON.stringify(e.data)),
    );
    expect(remoteRef(guarded, upd[0]!.ref)).toBeNull();
  });
});

describe('fetchJobs', () => {
  it('mirrors the job refs (forced) and prunes refs deleted remotely', async () => {
    const remote = bare();
    const a = await clone(remote);
    const b = await clone(remote);
    const c = await commit(a, 'one');
    const d = await commit(a, 'two');
    const wanted = [
      'refs/gatos/jobs/j1/manifest',
      'refs/gatos/jobs/j1/claim',
      'refs/gatos/jobs/cache',
      'refs/gatos/audit/jobs/j1',
      'refs/gatos/mbus/jobs/2026/01/02/0',
      'refs/gatos/mbus-summary/jobs',
      // Summaries are one ref per topic: all are mirrored, so the fetch never fails on an absent one.
      'refs/gatos/mbus-summary/jobs-x',
      'refs/gatos/trust/registry',
    ];
    const unwanted = ['refs/gatos/mbus/other/2026/01/02/0', 'refs/heads/main'];
    // The objects reach the remote through branches the fetch must NOT take.
    await pushWithLease(a, remote, [
      { ref: 'refs/heads/main', expect: null, next: c },
      { ref: 'refs/heads/keep', expect: null, next: d },
    ]);
    for (const ref of [...wanted, ...unwanted]) git(remote, 'update-ref', ref, c);
    await fetchJobs(b, remote);
    const got = refs(b.cwd);
    expect(Object.keys(got).sort()).toEqual([...wanted].sort());
    for (const ref of wanted) expect(got[ref]).toBe(c);

    // Deleted, rewound (not a fast-forward) and removed summary all show up on the next fetch.
    await pushWithLease(a, remote, [{ ref: 'refs/gatos/jobs/j1/claim', expect: c, next: d }]);
    git(remote, 'update-ref', '-d', 'refs/gatos/jobs/j1/manifest');
    git(remote, 'update-ref', '-d', 'refs/gatos/mbus-summary/jobs');
    git(remote, 'update-ref', '-d', 'refs/gatos/trust/registry');
    await fetchJobs(b, remote);
    expect(refs(b.cwd)).toEqual({
      'refs/gatos/jobs/j1/claim': d,
      'refs/gatos/jobs/cache': c,
      'refs/gatos/audit/jobs/j1': c,
      'refs/gatos/mbus/jobs/2026/01/02/0': c,
      'refs/gatos/mbus-summary/jobs-x': c,
    });
    // The fetched objects are there: the worker can build on them.
    expect(git(b.cwd, 'cat-file', '-t', d)).toBe('commit');
  });

  it('fetches from an empty remote and throws GATOS_E_REMOTE for an unreachable one', async () => {
    const b = await clone(bare());
    await fetchJobs(b, bare());
    expect(refs(b.cwd)).toEqual({});
    await expect(fetchJobs(b, join(tmp(), 'missing.git'))).rejects.toSatisfy((e: unknown) =>
      isGatosError(e, 'GATOS_E_REMOTE'),
    );
  });

  it('measures a lease push and a fetch against a local bare repository', async () => {
    const remote = bare();
    const a = await clone(remote);
    const b = await clone(remote);
    const n = 15;
    let tip: Oid | null = null;
    const pushMs: number[] = [];
    const fetchMs: number[] = [];
    for (let i = 0; i < n; i++) {
      const next = await commit(a, `beat ${i}`, tip ?? undefined);
      let t = performance.now();
      expect(await pushWithLease(a, remote, [{ ref: 'refs/gatos/jobs/m/claim', expect: tip, next }])).toEqual(
        {
          ok: true,
        },
      );
      pushMs.push(performance.now() - t);
      tip = next;
      t = performance.now();
      await fetchJobs(b, remote);
      fetchMs.push(performance.now() - t);
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;
    console.log(
      `lease push median ${median(pushMs).toFixed(1)} ms, fetchJobs median ${median(fetchMs).toFixed(1)} ms (n=${n})`,
    );
    expect(refs(b.cwd)['refs/gatos/jobs/m/claim']).toBe(tip);
  });
});
