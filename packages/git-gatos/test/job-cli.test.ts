/**
 * `git gatos job …` end to end: the real CLI as a child process on real repositories — submit, list, show,
 * claim, release, result, verify, locally and against a shared bare repository from two clones.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as core from '@gatos/core';
import { currentRuntime } from '@gatos/gatosd/jobs';
import * as gitlib from '@gatos/git';
import { describe, expect, it } from 'vitest';
import { listKeyFiles } from '@gatos/gatosd/identity';
import { type CliRun, expectOk, gatos, gatosAsync, git, setup, tmp } from './helpers.js';

/** A repository with alice's key (env) and bob's key (bobEnv, his own key home), both registered. */
function twoActors(): { repo: string; env: NodeJS.ProcessEnv; bobEnv: NodeJS.ProcessEnv } {
  const { repo, env } = setup('user:alice');
  const bobEnv = { ...env, GATOS_HOME: tmp('gatos-home-bob-') };
  expectOk(gatos(repo, bobEnv, ['key', 'new', '--actor', 'user:bob']));
  return { repo, env, bobEnv };
}

function writeProgram(dir: string): void {
  writeFileSync(join(dir, 'prog.mjs'), 'console.log("hello")\n');
  writeFileSync(join(dir, 'words.txt'), 'one two three\n');
}

function submit(repo: string, env: NodeJS.ProcessEnv, extra: string[] = []): CliRun {
  return gatos(repo, env, [
    'job',
    'submit',
    '--program',
    'prog.mjs',
    '--input',
    'words.txt',
    '--arg',
    'words.txt',
    '--env',
    'MODE=fast',
    '--timeout',
    '30s',
    '--json',
    ...extra,
  ]);
}

/** Alice's claim signer, read from her key file like the CLI does. */
async function claimSignerOf(env: NodeJS.ProcessEnv, actor: string): Promise<core.ClaimSigner> {
  const key = (await listKeyFiles(env)).find((k) => k.actor === actor)!;
  const seed = Uint8Array.from(Buffer.from(key.seed, 'hex'));
  return { keyId: key.key_id, sign: (m) => core.sign(seed, m) };
}

async function withStores<T>(repo: string, fn: (s: core.JobStores) => Promise<T>): Promise<T> {
  const r = await gitlib.openRepository({ cwd: repo });
  const objects = gitlib.createObjectStore(r);
  try {
    return await fn({ objects, refs: gitlib.createRefStore(r) });
  } finally {
    await objects.close();
  }
}

/** Completes a claimed job through the core, as a worker would, with one output `out.txt`. */
async function complete(
  repo: string,
  jobId: string,
  signer: core.ClaimSigner,
  claim: { epoch: number; commit: string },
): Promise<core.CompleteOutcome> {
  const runtime = await currentRuntime('script');
  return withStores(repo, (s) =>
    core.completeJob(s, {
      jobId,
      signer,
      nowMs: Date.now(),
      claim,
      run: {
        status: 'succeeded',
        exit_code: 0,
        signal: null,
        error: null,
        outputs: new Map([['out.txt', new TextEncoder().encode('3 words\n')]]),
        stdout: new TextEncoder().encode('hello\n'),
        stderr: new Uint8Array(),
        runtime: { ...runtime },
      },
      runLog: { started: '2026-01-01T00:00:00Z', finished: '2026-01-01T00:00:01Z' },
    }),
  );
}

describe('git gatos job (local)', () => {
  it('submit → list → claim → show → release → claim by another actor; a held claim is refused (exit 5)', () => {
    const { repo, env, bobEnv } = twoActors();
    writeProgram(repo);
    const s = expectOk(submit(repo, env)).json;
    expect(s.created).toBe(true);
    expect(s.job_id).toMatch(/^b[a-z2-7]{58}$/);
    expect(git(repo, 'rev-parse', `refs/gatos/jobs/${s.job_id}/manifest`)).toBe(s.manifest_commit);

    let list = expectOk(gatos(repo, env, ['job', 'list', '--json'])).json;
    expect(list.jobs.map((j: { job_id: string; state: string }) => [j.job_id, j.state])).toEqual([
      [s.job_id, 'pending'],
    ]);

    const c = expectOk(gatos(repo, env, ['job', 'claim', s.job_id, '--lease', '5m', '--json'])).json;
    expect(c).toMatchObject({ ok: true, epoch: 0, reclaimed: false, actor: 'user:alice', lease_ms: 300_000 });
    list = expectOk(gatos(repo, env, ['job', 'list', '--state', 'claimed', '--json'])).json;
    expect(list.jobs).toHaveLength(1);
    expect(list.jobs[0]).toMatchObject({
      state: 'claimed',
      worker: c.worker,
      worker_actor: 'user:alice',
      epoch: 0,
    });
    expect(list.jobs[0].lease_left_ms).toBeGreaterThan(250_000);
    expect(expectOk(gatos(repo, env, ['job', 'list', '--state', 'pending', '--json'])).json.jobs).toEqual([]);
    expect(expectOk(gatos(repo, env, ['job', 'list'])).stdout).toMatch(/claimed\s+user:alice\s+0/);

    const show = expectOk(gatos(repo, env, ['job', 'show', s.job_id, '--json'])).json;
    expect(show.manifest).toMatchObject({
      commit: s.manifest_commit,
      program_id: s.program_id,
      inputs_root: s.inputs_root,
      entry: 'prog.mjs',
      kind: 'script',
      args: ['words.txt'],
      env_keys: ['MODE'],
      limits: { timeout_ms: 30_000, max_output_bytes: 64 * 1024 * 1024, max_memory_mb: 512 },
      cache: false,
    });
    expect(show.claims).toEqual([
      expect.objectContaining({ epoch: 0, seq: 0, state: 'claimed', actor: 'user:alice', worker: c.worker }),
    ]);
    expect(show.result).toBeNull();
    const human = expectOk(gatos(repo, env, ['job', 'show', s.job_id])).stdout;
    expect(human).toContain('epoch 0 seq 0 claimed');
    expect(human).toContain('user:alice');

    // bob is refused while alice's lease runs: who holds it, until when
    const held = gatos(repo, bobEnv, ['job', 'claim', s.job_id, '--json']);
    expect(held.status).toBe(5);
    expect(held.json.error.code).toBe('GATOS_E_JOB_CLAIMED');
    expect(held.json.error.data).toMatchObject({ worker: c.worker, actor: 'user:alice', epoch: 0 });
    expect(held.json.error.data.expires_at_ms).toBe(c.expires_at_ms);
    const heldText = gatos(repo, bobEnv, ['job', 'claim', s.job_id]);
    expect(heldText.status).toBe(5);
    expect(heldText.stderr).toMatch(/claimed by user:alice .* until \d{4}-\d\d-\d\dT/);
    // bob cannot release alice's claim either
    const badRelease = gatos(repo, bobEnv, ['job', 'release', s.job_id, '--json']);
    expect(badRelease.status).toBe(5);
    expect(badRelease.json.error.code).toBe('GATOS_E_JOB_CLAIMED');

    const rel = expectOk(gatos(repo, env, ['job', 'release', s.job_id, '--json'])).json;
    expect(rel).toMatchObject({ ok: true, epoch: 0 });
    expect(expectOk(gatos(repo, env, ['job', 'list', '--json'])).json.jobs[0].state).toBe('released');
    const again = gatos(repo, env, ['job', 'release', s.job_id, '--json']);
    expect(again.status).toBe(5);
    expect(again.json.error.code).toBe('GATOS_E_JOB_LEASE_LOST');

    const b = expectOk(gatos(repo, bobEnv, ['job', 'claim', s.job_id, '--json'])).json;
    expect(b).toMatchObject({ epoch: 1, reclaimed: true, actor: 'user:bob' });
    // after bob's lease (60 s) plus the 2 s skew, alice may reclaim
    const later = new Date(b.expires_at_ms + 2000).toISOString();
    const early = gatos(repo, { ...env, GATOS_NOW: new Date(b.expires_at_ms + 1999).toISOString() }, [
      'job',
      'claim',
      s.job_id,
      '--json',
    ]);
    expect(early.status).toBe(5);
    const re = expectOk(gatos(repo, { ...env, GATOS_NOW: later }, ['job', 'claim', s.job_id, '--json'])).json;
    expect(re).toMatchObject({ epoch: 2, reclaimed: true, actor: 'user:alice' });
    const chain = expectOk(gatos(repo, env, ['job', 'show', s.job_id, '--json'])).json.claims;
    expect(
      chain.map((l: { epoch: number; seq: number; state: string }) => `${l.epoch}.${l.seq}.${l.state}`),
    ).toEqual(['0.0.claimed', '0.1.released', '1.0.claimed', '2.0.claimed']);
  });

  it('submit is idempotent and announces once on bus topic jobs', () => {
    const { repo, env } = setup('user:alice');
    writeProgram(repo);
    const a = expectOk(submit(repo, env)).json;
    const b = expectOk(submit(repo, env)).json;
    expect(b.job_id).toBe(a.job_id);
    expect(b.manifest_commit).toBe(a.manifest_commit);
    expect([a.created, b.created]).toEqual([true, false]);
    expect(a.announced.stored).toBe(true);
    expect(b.announced).toMatchObject({ stored: false, ulid: a.announced.ulid });
    const read = expectOk(
      gatos(repo, env, ['bus', 'read', '--topic', 'jobs', '--group', 'w', '--json']),
    ).json;
    expect(read.messages).toHaveLength(1);
    expect(read.messages[0].data).toEqual({ job_id: a.job_id, manifest: a.manifest_commit });
    expect(read.messages[0].actor).toBe('user:alice');
    // a nonce makes the same work a distinct job (and a second announcement)
    const n = expectOk(submit(repo, env, ['--nonce', 'run-2'])).json;
    expect(n.job_id).not.toBe(a.job_id);
    expect(n.program_id).toBe(a.program_id);
    // --no-announce writes only the manifest
    const q = expectOk(submit(repo, env, ['--nonce', 'quiet', '--no-announce'])).json;
    expect(q.announced).toBeNull();
    const all = expectOk(gatos(repo, env, ['bus', 'read', '--topic', 'jobs', '--group', 'w', '--json'])).json;
    expect(all.messages.map((m: { data: { job_id: string } }) => m.data.job_id)).toEqual([
      a.job_id,
      n.job_id,
    ]);
    expect(expectOk(gatos(repo, env, ['job', 'list', '--json'])).json.jobs).toHaveLength(3);
  });

  it('bad inputs give their codes and write nothing', () => {
    const { repo, env } = setup('user:alice');
    writeProgram(repo);
    const refsBefore = git(repo, 'for-each-ref', '--format=%(refname)', 'refs/gatos/jobs');
    const cases: [string[], number, string][] = [
      [['--program', 'missing.mjs'], 8, 'GATOS_E_INPUT_FILE'],
      [['--program', 'prog.mjs', '--input', 'nope.txt'], 8, 'GATOS_E_INPUT_FILE'],
      [['--program', 'prog.mjs', '--env', 'NOEQUALS'], 2, 'GATOS_E_USAGE'],
      [['--program', 'prog.mjs', '--env', '1BAD=x'], 3, 'GATOS_E_JOB_MANIFEST'],
      [['--program', 'prog.mjs', '--env', 'GATOS_JOB_X=1'], 3, 'GATOS_E_JOB_MANIFEST'],
      [['--program', 'prog.mjs', '--timeout', 'soon'], 2, 'GATOS_E_USAGE'],
      [['--program', 'prog.mjs', '--timeout', '0s'], 2, 'GATOS_E_USAGE'],
      [['--program', 'prog.mjs', '--max-output', '12 parsecs'], 2, 'GATOS_E_USAGE'],
      [['--program', 'prog.mjs', '--max-memory', '1'], 3, 'GATOS_E_JOB_MANIFEST'],
      [['--program', 'prog.mjs', '--entry', 'other.mjs'], 3, 'GATOS_E_JOB_MANIFEST'],
      [['--program', 'prog.mjs', '--program', 'sub/prog.mjs'], 2, 'GATOS_E_USAGE'],
    ];
    for (const [args, status, code] of cases) {
      const r = gatos(repo, env, ['job', 'submit', ...args, '--json']);
      expect([args.join(' '), r.status, r.json?.error?.code]).toEqual([args.join(' '), status, code]);
    }
    expect(git(repo, 'for-each-ref', '--format=%(refname)', 'refs/gatos/jobs')).toBe(refsBefore);
    const absent = `b${'a'.repeat(58)}`;
    for (const cmd of [['show'], ['claim'], ['release'], ['result'], ['verify']]) {
      const r = gatos(repo, env, ['job', ...cmd, absent, '--json']);
      expect([cmd[0], r.status, r.json.error.code]).toEqual([cmd[0], 4, 'GATOS_E_JOB_NOT_FOUND']);
    }
    const malformed = gatos(repo, env, ['job', 'show', 'not-a-job', '--json']);
    expect([malformed.status, malformed.json.error.code]).toEqual([4, 'GATOS_E_JOB_NOT_FOUND']);
    const lease = gatos(repo, env, ['job', 'claim', absent, '--lease', 'forever', '--json']);
    expect([lease.status, lease.json.error.code]).toEqual([2, 'GATOS_E_USAGE']);
    const help = expectOk(gatos(repo, env, ['job', 'submit', '-h'])).stdout;
    expect(help).toContain('--timeout');
    expect(help).toContain('name=path');
  });

  it('result and verify on a completed job; verify catches a rewritten output blob and an untrusted worker', async () => {
    const { repo, env } = setup('user:alice');
    writeProgram(repo);
    const s = expectOk(submit(repo, env)).json;
    const pending = gatos(repo, env, ['job', 'result', s.job_id, '--json']);
    expect([pending.status, pending.json.error.code]).toEqual([3, 'GATOS_E_JOB_RECORD']);
    const c = expectOk(gatos(repo, env, ['job', 'claim', s.job_id, '--json'])).json;
    const done = await complete(repo, s.job_id, await claimSignerOf(env, 'user:alice'), {
      epoch: c.epoch,
      commit: c.commit,
    });
    expect(done.repaired).toBe(false);

    const v = expectOk(gatos(repo, env, ['job', 'verify', s.job_id, '--json'])).json;
    expect(v).toMatchObject({ ok: true, problems: [], resultCommit: done.resultCommit });
    expect(expectOk(gatos(repo, env, ['job', 'verify', s.job_id])).stdout).toMatch(/^ok: /);

    const res = expectOk(gatos(repo, env, ['job', 'result', s.job_id, '--json'])).json;
    expect(res).toMatchObject({ status: 'succeeded', exit_code: 0, commit: done.resultCommit });
    expect(res.outputs).toEqual([expect.objectContaining({ path: 'out.txt', size: 8 })]);
    expect(expectOk(gatos(repo, env, ['job', 'result', s.job_id, '--output', 'out.txt'])).stdout).toBe(
      '3 words\n',
    );
    expect(expectOk(gatos(repo, env, ['job', 'result', s.job_id, '--stdout'])).stdout).toBe('hello\n');
    const dir = join(tmp('gatos-extract-'), 'out');
    expectOk(gatos(repo, env, ['job', 'result', s.job_id, '--extract', dir]));
    expect(readFileSync(join(dir, 'out.txt'), 'utf8')).toBe('3 words\n');
    const noOut = gatos(repo, env, ['job', 'result', s.job_id, '--output', 'nope', '--json']);
    expect([noOut.status, noOut.json.error.code]).toEqual([2, 'GATOS_E_USAGE']);
    const list = expectOk(gatos(repo, env, ['job', 'list', '--json'])).json.jobs;
    expect(list[0]).toMatchObject({ state: 'done', status: 'succeeded', result: done.resultCommit });
    const show = expectOk(gatos(repo, env, ['job', 'show', s.job_id, '--json'])).json;
    expect(show.result).toMatchObject({ status: 'succeeded', actor: 'user:alice' });
    expect(show.audit).toBe(done.auditCommit);
    expect(show.claims.at(-1)).toMatchObject({ state: 'done', result: done.resultCommit });
    // a second claim of a done job is refused
    const late = gatos(repo, env, ['job', 'claim', s.job_id, '--json']);
    expect([late.status, late.json.error.code]).toEqual([5, 'GATOS_E_JOB_CLAIMED']);

    // Tamper: rewrite outputs/out.txt in the result commit with plain git, and point the result ref at it.
    const idx = join(tmp('gatos-idx-'), 'index');
    const genv = { ...process.env, GIT_INDEX_FILE: idx };
    const g = (args: string[], input?: string) =>
      execFileSync('git', args, { cwd: repo, env: genv, encoding: 'utf8', input }).trim();
    g(['read-tree', done.resultCommit]);
    const blob = g(['hash-object', '-w', '--stdin'], '4 words\n');
    g(['update-index', '--cacheinfo', `100644,${blob},outputs/out.txt`]);
    const tree = g(['write-tree']);
    const msg = git(repo, 'log', '-1', '--format=%B', done.resultCommit);
    const forged = g(['commit-tree', tree, '-m', msg]);
    git(repo, 'update-ref', `refs/gatos/jobs/${s.job_id}/result`, forged);
    const bad = gatos(repo, env, ['job', 'verify', s.job_id, '--json']);
    expect(bad.status).toBe(6);
    expect(bad.json.ok).toBe(false);
    expect(bad.json.error.code).toBe('GATOS_E_JOB_VERIFY');
    const kinds = bad.json.problems.map((p: { kind: string }) => p.kind);
    expect(kinds).toContain('outputs');
    const badText = gatos(repo, env, ['job', 'verify', s.job_id]);
    expect(badText.status).toBe(6);
    expect(badText.stderr).toContain('GATOS_E_JOB_VERIFY');
    expect(badText.stderr).toMatch(/outputs: outputs\/out\.txt/);
    // the strict reader refuses to hand out the forged bytes
    const forgedOut = gatos(repo, env, ['job', 'result', s.job_id, '--output', 'out.txt', '--json']);
    expect([forgedOut.status, forgedOut.json.error.code]).toEqual([3, 'GATOS_E_JOB_RECORD']);

    // A worker whose key is not in the trust registry claims and completes another job through the core.
    const s2 = expectOk(submit(repo, env, ['--nonce', 'untrusted'])).json;
    const seed = new Uint8Array(32).fill(7);
    const rogue: core.ClaimSigner = {
      keyId: core.keyId(core.keyPairFromSeed(seed).publicKey),
      sign: (m) => core.sign(seed, m),
    };
    const claimed = await withStores(repo, (st) =>
      core.claimJob(st, { jobId: s2.job_id, signer: rogue, nowMs: Date.now(), leaseMs: 60_000 }),
    );
    if (claimed.outcome !== 'claimed') throw new Error(`unexpected ${claimed.outcome}`);
    await complete(repo, s2.job_id, rogue, { epoch: 0, commit: claimed.commit });
    const untrusted = gatos(repo, env, ['job', 'verify', s2.job_id, '--json']);
    expect(untrusted.status).toBe(6);
    expect(untrusted.json.problems.map((p: { kind: string }) => p.kind)).toContain('unknown-key');
  });
});

describe('git gatos job --remote (shared bare repository, two clones)', () => {
  it('submits, lists, claims (exactly one of two concurrent claimants wins) and releases by leased push', async () => {
    const { repo: origin, env: aliceEnv, bobEnv } = twoActors();
    const shared = join(tmp('gatos-shared-'), 'shared.git');
    git(origin, 'clone', '-q', '--mirror', origin, shared);
    const c1 = join(tmp('gatos-c1-'), 'c1');
    const c2 = join(tmp('gatos-c2-'), 'c2');
    git(origin, 'clone', '-q', shared, c1);
    git(origin, 'clone', '-q', shared, c2);
    writeProgram(c1);

    const s = expectOk(submit(c1, aliceEnv, ['--remote', shared])).json;
    expect(s).toMatchObject({ created: true, remote: shared });
    expect(git(shared, 'rev-parse', `refs/gatos/jobs/${s.job_id}/manifest`)).toBe(s.manifest_commit);
    expect(git(shared, 'for-each-ref', '--format=%(refname)', 'refs/gatos/mbus/jobs')).toMatch(
      /^refs\/gatos\/mbus\/jobs\//,
    );
    const again = expectOk(submit(c1, aliceEnv, ['--remote', shared])).json;
    expect(again).toMatchObject({ created: false, announced: { stored: false } });

    const l2 = expectOk(gatos(c2, bobEnv, ['job', 'list', '--remote', shared, '--json'])).json;
    expect(l2.jobs.map((j: { job_id: string; state: string }) => [j.job_id, j.state])).toEqual([
      [s.job_id, 'pending'],
    ]);
    const read = expectOk(
      gatos(c2, bobEnv, ['bus', 'read', '--topic', 'jobs', '--group', 'w', '--json']),
    ).json;
    expect(read.messages.map((m: { data: unknown }) => m.data)).toEqual([
      { job_id: s.job_id, manifest: s.manifest_commit },
    ]);

    const [r1, r2] = await Promise.all([
      gatosAsync(c1, aliceEnv, ['job', 'claim', s.job_id, '--remote', shared, '--json']),
      gatosAsync(c2, bobEnv, ['job', 'claim', s.job_id, '--remote', shared, '--json']),
    ]);
    const statuses = [r1.status, r2.status].sort();
    expect(statuses, `${r1.stdout}${r1.stderr}\n${r2.stdout}${r2.stderr}`).toEqual([0, 5]);
    const [win, lose] = r1.status === 0 ? [r1, r2] : [r2, r1];
    const [winDir, winEnv, loseDir, loseEnv] =
      r1.status === 0 ? [c1, aliceEnv, c2, bobEnv] : [c2, bobEnv, c1, aliceEnv];
    const w = JSON.parse(win.stdout);
    expect(JSON.parse(lose.stdout).error).toMatchObject({
      code: 'GATOS_E_JOB_CLAIMED',
      data: { worker: w.worker, epoch: 0 },
    });
    expect(git(shared, 'rev-parse', `refs/gatos/jobs/${s.job_id}/claim`)).toBe(w.commit);

    const refused = gatos(loseDir, loseEnv, ['job', 'release', s.job_id, '--remote', shared, '--json']);
    expect([refused.status, refused.json.error.code]).toEqual([5, 'GATOS_E_JOB_CLAIMED']);
    expectOk(gatos(winDir, winEnv, ['job', 'release', s.job_id, '--remote', shared, '--json']));
    const re = expectOk(
      gatos(loseDir, loseEnv, ['job', 'claim', s.job_id, '--remote', shared, '--json']),
    ).json;
    expect(re).toMatchObject({ epoch: 1, reclaimed: true });
    expect(git(shared, 'rev-list', '--count', `refs/gatos/jobs/${s.job_id}/claim`)).toBe('3');
    const shown = expectOk(
      gatos(winDir, winEnv, ['job', 'show', s.job_id, '--remote', shared, '--json']),
    ).json;
    expect(shown.claims.map((l: { state: string; epoch: number }) => `${l.epoch}.${l.state}`)).toEqual([
      '0.claimed',
      '0.released',
      '1.claimed',
    ]);
  });
});
