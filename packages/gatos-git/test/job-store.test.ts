import { execSync } from 'node:child_process';
import { createRefStore, openRepository } from '../src/index.js';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type GatosError,
  type JobManifest,
  type JobRun,
  JOB_CACHE_REF,
  cacheKey,
  claimCommitObjects,
  claimJob,
  completeJob,
  heartbeatJob,
  jobAuditRef,
  jobClaimRef,
  jobManifestRef,
  jobResultRef,
  listJobs,
  lookupCache,
  nextClaim,
  prepareCompletion,
  readClaimCommit,
  readCacheIndex,
  readClaimChain,
  readJob,
  readManifestCommit,
  readResultCommit,
  releaseJob,
  repairJob,
  submitJob,
  verifyJob,
} from '@gatos/core';
import {
  V,
  manifestFixture,
  submission,
  toMap,
  trustOf,
  utf8,
  workerKey,
} from '../../gatos-core/test/job-helpers.js';
import { git, tempStores } from './git-stores.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});
async function stores() {
  const s = await tempStores();
  cleanups.push(s.cleanup);
  return s;
}
const failAsync = async (p: Promise<unknown>): Promise<GatosError> => {
  try {
    await p;
  } catch (e) {
    return e as GatosError;
  }
  throw new Error('expected an error');
};

const alice = workerKey(0x42);
const bob = workerKey(0x07);
const trust = trustOf(alice, bob);
const T0 = 1_800_000_000_000;
const LEASE = 30_000;
const withNonce = (nonce: string): JobManifest => ({ ...manifestFixture(), nonce });
const run = (manifest: JobManifest = manifestFixture(), extra: Partial<JobRun> = {}): JobRun => ({
  status: 'succeeded',
  exit_code: 0,
  signal: null,
  error: null,
  outputs: toMap(V.result.outputs),
  stdout: utf8(V.result.stdout),
  stderr: utf8(V.result.stderr),
  runtime: manifest.program.runtime,
  ...extra,
});
const runLog = { started_at: '2027-01-15T08:00:00.000Z', duration_ms: 1 };

describe('submit and read', () => {
  it('creates the manifest ref once; resubmitting is idempotent; git agrees with every object', async () => {
    const s = await stores();
    const a = await submitJob(s, submission());
    expect(a).toEqual({ jobId: V.manifest.job_id, commit: V.manifest.commit, created: true });
    expect(await submitJob(s, submission())).toEqual({ ...a, created: false });
    expect(git(s.dir, 'rev-parse', jobManifestRef(a.jobId))).toBe(V.manifest.commit);
    expect(git(s.dir, 'show', `${a.commit}:program/main.js`)).toBe(
      V.manifest.program_files['main.js']!.trim(),
    );
    git(s.dir, 'fsck', '--strict', '--no-dangling');
    const job = await readJob(s, a.jobId, { nowMs: T0 });
    expect(job.state).toBe('pending');
    expect(job.manifest.manifest).toEqual(V.manifest.manifest);
    expect(job.manifest.programFiles.get('lib/util.js')).toEqual(
      utf8(V.manifest.program_files['lib/util.js']!),
    );
    const missing = await failAsync(readJob(s, `b${'a'.repeat(58)}`, { nowMs: T0 }));
    expect(missing.code).toBe('GATOS_E_JOB_NOT_FOUND');
  });

  it('reading a manifest commit checks every file against the manifest and names the file', async () => {
    const s = await stores();
    const { commit } = await submitJob(s, submission());
    // A forged commit: same manifest, one input changed (made with plain git).
    const tree = git(s.dir, 'rev-parse', `${commit}^{tree}`);
    const wt = `${s.dir}/.git/forge-index`;
    const env = { GIT_INDEX_FILE: wt };
    const sh = (cmd: string) =>
      execSync(cmd, { cwd: s.dir, env: { ...process.env, ...env } })
        .toString()
        .trim();
    sh(`git read-tree ${tree}`);
    const blob = sh(`printf 'BETA\\n' | git hash-object -w --stdin`);
    sh(`git update-index --cacheinfo 100644,${blob},inputs/b.txt`);
    const forgedTree = sh('git write-tree');
    const forged = sh(`git -c user.name=x -c user.email=x@x commit-tree ${forgedTree} -m forged`);
    const e = await failAsync(readManifestCommit(s.objects, forged));
    expect(e.code).toBe('GATOS_E_JOB_RECORD');
    expect(e.data.file).toBe('inputs/b.txt');
    const lenient = await readManifestCommit(s.objects, forged, { strict: false });
    expect(lenient.jobId).toBe(V.manifest.job_id);
  });
});

describe('claims on a real repository', () => {
  it('two claimers racing on one RefStore: exactly one wins, the other gets a typed outcome', async () => {
    const s = await stores();
    const other = createRefStore(await openRepository({ cwd: s.dir }));
    let raced = 0;
    for (let i = 0; i < 8; i++) {
      const { jobId } = await submitJob(s, submission(withNonce(`race-${i}`)));
      const [a, b] = await Promise.all([
        claimJob(s, { jobId, signer: alice.signer, nowMs: T0, leaseMs: LEASE }),
        claimJob(
          { objects: s.objects, refs: i % 2 ? other : s.refs },
          { jobId, signer: bob.signer, nowMs: T0, leaseMs: LEASE },
        ),
      ]);
      const outcomes = [a.outcome, b.outcome].sort();
      expect(outcomes, `round ${i}`).toEqual(['claimed', 'held']);
      const winner = a.outcome === 'claimed' ? alice : bob;
      const loser = a.outcome === 'claimed' ? b : a;
      expect(loser).toMatchObject({ outcome: 'held', worker: winner.signer.keyId, epoch: 0 });
      if (loser.outcome === 'held' && loser.race) raced++;
      const chain = await readClaimChain(s.objects, git(s.dir, 'rev-parse', jobClaimRef(jobId)), trust);
      expect(chain).toHaveLength(1);
      expect(chain[0]!.record.worker).toBe(winner.signer.keyId);
    }
    // Both read the empty tip and both tried the CAS: the loser learned of the winner from its failed swap.
    expect(raced).toBeGreaterThan(0);
  });

  it('heartbeat, expiry, reclaim; the old holder has lost its lease; release; listJobs states', async () => {
    const s = await stores();
    const { jobId } = await submitJob(s, submission());
    const c = await claimJob(s, { jobId, signer: alice.signer, nowMs: T0, leaseMs: LEASE });
    expect(c).toMatchObject({ outcome: 'claimed', epoch: 0, reclaimed: false });
    const hb = await heartbeatJob(s, {
      jobId,
      signer: alice.signer,
      nowMs: T0 + 20_000,
      leaseMs: LEASE,
      epoch: 0,
    });
    expect(hb).toMatchObject({ outcome: 'renewed', record: { seq: 1, expires_at_ms: T0 + 50_000 } });
    expect((await listJobs(s, { nowMs: T0 + 51_999 }))[0]!.state).toBe('claimed');
    expect((await listJobs(s, { nowMs: T0 + 52_000 }))[0]!.state).toBe('expired');
    const held = await claimJob(s, { jobId, signer: bob.signer, nowMs: T0 + 51_999, leaseMs: LEASE });
    expect(held).toMatchObject({ outcome: 'held', race: false });
    const re = await claimJob(s, { jobId, signer: bob.signer, nowMs: T0 + 52_000, leaseMs: LEASE });
    expect(re).toMatchObject({ outcome: 'claimed', epoch: 1, reclaimed: true });
    const lost = await heartbeatJob(s, {
      jobId,
      signer: alice.signer,
      nowMs: T0 + 52_001,
      leaseMs: LEASE,
      epoch: 0,
    });
    expect(lost).toMatchObject({ outcome: 'lease-lost', tip: { worker: bob.signer.keyId, epoch: 1 } });
    const rel = await releaseJob(s, { jobId, signer: bob.signer, nowMs: T0 + 53_000, epoch: 1 });
    expect(rel.outcome).toBe('released');
    const listed = await listJobs(s, { nowMs: T0 + 53_000 });
    expect(listed).toMatchObject([{ jobId, state: 'released', claim: { epoch: 1, state: 'released' } }]);
    const again = await claimJob(s, { jobId, signer: alice.signer, nowMs: T0 + 53_001, leaseMs: LEASE });
    expect(again).toMatchObject({ outcome: 'claimed', epoch: 2 });
    const chain = await readClaimChain(s.objects, git(s.dir, 'rev-parse', jobClaimRef(jobId)), trust);
    expect(chain.map((l) => `${l.record.state}:${l.record.epoch}.${l.record.seq}`)).toEqual([
      'claimed:0.0',
      'claimed:0.1',
      'claimed:1.0',
      'released:1.1',
      'claimed:2.0',
    ]);
    git(s.dir, 'fsck', '--strict', '--no-dangling');
  });
});

describe('completion', () => {
  it('done claim, result ref, audit entry, cache entry; verifies; listJobs sorted with states', async () => {
    const s = await stores();
    const { jobId } = await submitJob(s, submission());
    const second = await submitJob(s, submission(withNonce('other')));
    const c = await claimJob(s, { jobId, signer: alice.signer, nowMs: T0, leaseMs: LEASE });
    if (c.outcome !== 'claimed') throw new Error(c.outcome);
    const out = await completeJob(s, {
      jobId,
      signer: alice.signer,
      nowMs: T0 + 1000,
      claim: { epoch: 0, commit: c.commit },
      run: run(),
      runLog,
    });
    expect(out.repaired).toBe(false);
    expect(git(s.dir, 'rev-parse', jobResultRef(jobId))).toBe(out.resultCommit);
    expect(git(s.dir, 'rev-parse', jobClaimRef(jobId))).toBe(out.doneCommit);
    expect(git(s.dir, 'rev-parse', jobAuditRef(jobId))).toBe(out.auditCommit);
    expect(git(s.dir, 'show', `${out.resultCommit}:outputs/out/report.txt`)).toBe('alpha beta');
    expect(git(s.dir, 'show', `${out.auditCommit}:poe.dsse.json`)).toBe(
      new TextDecoder().decode(out.envelopeBytes).trim(),
    );
    expect(await lookupCache(s.objects, s.refs, cacheKey(manifestFixture()))).toBe(jobId);
    const report = await verifyJob(s, jobId, trust);
    expect(report).toEqual({ ok: true, jobId, resultCommit: out.resultCommit, problems: [] });
    const listed = await listJobs(s, { nowMs: T0 + 2000 });
    expect(listed.map((j) => j.jobId)).toEqual([jobId, second.jobId].sort());
    expect(listed.find((j) => j.jobId === jobId)!.state).toBe('done');
    expect(listed.find((j) => j.jobId === second.jobId)!.state).toBe('pending');
    expect(listed.find((j) => j.jobId === jobId)!.claim?.state).toBe('done');
    // Skipping the claim reads of done jobs changes nothing but the claim field of those jobs.
    const lean = await listJobs(s, { nowMs: T0 + 2000, skipDoneClaims: true });
    expect(lean.map((j) => [j.jobId, j.state])).toEqual(listed.map((j) => [j.jobId, j.state]));
    expect(lean.find((j) => j.jobId === jobId)!.claim).toBeNull();
    expect((await s.refs.list('refs/gatos/jobs/')).some((r) => r.ref === JOB_CACHE_REF)).toBe(true);
    git(s.dir, 'fsck', '--strict', '--no-dangling');
  });

  it('a late result from a worker whose lease was taken over is refused; a second result too', async () => {
    const s = await stores();
    const { jobId } = await submitJob(s, submission());
    const a = await claimJob(s, { jobId, signer: alice.signer, nowMs: T0, leaseMs: LEASE });
    if (a.outcome !== 'claimed') throw new Error(a.outcome);
    const b = await claimJob(s, { jobId, signer: bob.signer, nowMs: T0 + LEASE + 2000, leaseMs: LEASE });
    if (b.outcome !== 'claimed') throw new Error(b.outcome);
    const late = await failAsync(
      completeJob(s, {
        jobId,
        signer: alice.signer,
        nowMs: T0 + 40_000,
        claim: { epoch: 0, commit: a.commit },
        run: run(),
        runLog,
      }),
    );
    expect(late.code).toBe('GATOS_E_JOB_LEASE_LOST');
    expect(await s.refs.read(jobResultRef(jobId))).toBeNull();
    const ok = await completeJob(s, {
      jobId,
      signer: bob.signer,
      nowMs: T0 + 41_000,
      claim: { epoch: 1, commit: b.commit },
      run: run(),
      runLog,
    });
    expect((await verifyJob(s, jobId, trust)).ok).toBe(true);
    const again = await failAsync(
      completeJob(s, {
        jobId,
        signer: alice.signer,
        nowMs: T0 + 42_000,
        claim: { epoch: 0, commit: a.commit },
        run: run(),
        runLog,
      }),
    );
    expect(again.code).toBe('GATOS_E_JOB_RESULT_EXISTS');
    expect(await s.refs.read(jobResultRef(jobId))).toBe(ok.resultCommit);
    const claimAfter = await claimJob(s, {
      jobId,
      signer: alice.signer,
      nowMs: T0 + 10 ** 9,
      leaseMs: LEASE,
    });
    expect(claimAfter).toMatchObject({ outcome: 'done', result: ok.resultCommit });
  });

  it('a done claim whose result ref is missing (crash after the commit point) is repaired', async () => {
    const s = await stores();
    const { jobId } = await submitJob(s, submission());
    const c = await claimJob(s, { jobId, signer: alice.signer, nowMs: T0, leaseMs: LEASE });
    if (c.outcome !== 'claimed') throw new Error(c.outcome);
    const opts = {
      jobId,
      signer: alice.signer,
      nowMs: T0 + 1000,
      claim: { epoch: 0, commit: c.commit },
      run: run(),
      runLog,
    };
    const first = await completeJob(s, opts);
    // Simulate the crash: the claim CAS happened, the result and audit refs did not.
    expect(await s.refs.cas({ ref: jobResultRef(jobId), expect: first.resultCommit, next: null })).toBe(true);
    expect(await s.refs.cas({ ref: jobAuditRef(jobId), expect: first.auditCommit, next: null })).toBe(true);
    expect((await readJob(s, jobId, { nowMs: T0 })).state).toBe('done');
    const fixed = await repairJob(s, jobId);
    expect(fixed).toMatchObject({
      repaired: true,
      resultCommit: first.resultCommit,
      auditCommit: first.auditCommit,
    });
    expect((await verifyJob(s, jobId, trust)).ok).toBe(true);
    // The worker retrying completeJob gets the same result back, marked repaired.
    expect(await completeJob(s, opts)).toMatchObject({ repaired: true, resultCommit: first.resultCommit });
    expect(await repairJob(s, (await submitJob(s, submission(withNonce('x')))).jobId)).toBeNull();
  });

  it('a cache hit reuses a verified result and verifies against its source', async () => {
    const s = await stores();
    const src = await submitJob(s, submission());
    const c1 = await claimJob(s, { jobId: src.jobId, signer: alice.signer, nowMs: T0, leaseMs: LEASE });
    if (c1.outcome !== 'claimed') throw new Error(c1.outcome);
    await completeJob(s, {
      jobId: src.jobId,
      signer: alice.signer,
      nowMs: T0,
      claim: { epoch: 0, commit: c1.commit },
      run: run(),
      runLog,
    });
    const dup = await submitJob(s, submission(withNonce('again')));
    const hit = await lookupCache(s.objects, s.refs, cacheKey(withNonce('again')));
    expect(hit).toBe(src.jobId);
    expect((await verifyJob(s, hit!, trust)).ok).toBe(true);
    const c2 = await claimJob(s, { jobId: dup.jobId, signer: bob.signer, nowMs: T0, leaseMs: LEASE });
    if (c2.outcome !== 'claimed') throw new Error(c2.outcome);
    const srcResult = await readResultCommit(s.objects, (await s.refs.read(jobResultRef(src.jobId)))!);
    await completeJob(s, {
      jobId: dup.jobId,
      signer: bob.signer,
      nowMs: T0,
      claim: { epoch: 0, commit: c2.commit },
      run: { ...run(), outputs: srcResult.outputs, cached_from: src.jobId },
      runLog,
    });
    expect(await verifyJob(s, dup.jobId, trust)).toMatchObject({ ok: true });
    // The index keeps the first job for the key (a cache hit is not recorded again).
    expect((await readCacheIndex(s.objects, s.refs)).entries.size).toBe(1);
  });

  it('a cache hit that names a source with another cache key is reported', async () => {
    const s = await stores();
    const other = manifestFixture();
    other.args = ['different'];
    const src = await submitJob(s, submission(other));
    const c1 = await claimJob(s, { jobId: src.jobId, signer: alice.signer, nowMs: T0, leaseMs: LEASE });
    if (c1.outcome !== 'claimed') throw new Error(c1.outcome);
    await completeJob(s, {
      jobId: src.jobId,
      signer: alice.signer,
      nowMs: T0,
      claim: { epoch: 0, commit: c1.commit },
      run: run(other),
      runLog,
    });
    const job = await submitJob(s, submission());
    const c2 = await claimJob(s, { jobId: job.jobId, signer: bob.signer, nowMs: T0, leaseMs: LEASE });
    if (c2.outcome !== 'claimed') throw new Error(c2.outcome);
    await completeJob(s, {
      jobId: job.jobId,
      signer: bob.signer,
      nowMs: T0,
      claim: { epoch: 0, commit: c2.commit },
      run: { ...run(), cached_from: src.jobId },
      runLog,
    });
    const report = await verifyJob(s, job.jobId, trust);
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => p.kind)).toEqual(['cache-source']);
    expect(report.problems[0]!.message).toContain('different cache key');
  });
});

describe('prepareCompletion (the remote path: one atomic push of three refs)', () => {
  it('names the three refs with the values they expect; applied, the job verifies', async () => {
    const s = await stores();
    const { jobId, commit } = await submitJob(s, submission());
    const c = await claimJob(s, { jobId, signer: alice.signer, nowMs: T0, leaseMs: LEASE });
    if (c.outcome !== 'claimed') throw new Error(c.outcome);
    const manifest = await readManifestCommit(s.objects, commit);
    const p = prepareCompletion({
      manifest,
      tip: (await readClaimCommit(s.objects, c.commit)).record,
      tipCommit: c.commit,
      auditHead: null,
      signer: alice.signer,
      nowMs: T0 + 1,
      claim: { epoch: 0, commit: c.commit },
      run: run(),
      runLog,
    });
    expect(p.updates).toEqual([
      { ref: jobClaimRef(jobId), expect: c.commit, next: p.doneCommit },
      { ref: jobResultRef(jobId), expect: null, next: p.resultCommit },
      { ref: jobAuditRef(jobId), expect: null, next: p.auditCommit },
    ]);
    await s.objects.put(p.objects);
    for (const u of p.updates) expect(await s.refs.cas(u)).toBe(true);
    expect((await verifyJob(s, jobId, trust)).ok).toBe(true);
    // Prepared from a stale tip (another worker reclaimed): refused before anything is written.
    const stale = await failAsync(
      (async () =>
        prepareCompletion({
          manifest,
          tip: { ...(await readClaimCommit(s.objects, c.commit)).record, worker: bob.signer.keyId },
          tipCommit: c.commit,
          auditHead: null,
          signer: alice.signer,
          nowMs: T0 + 2,
          claim: { epoch: 0, commit: c.commit },
          run: run(),
          runLog,
        }))(),
    );
    expect(stale.code).toBe('GATOS_E_JOB_LEASE_LOST');
  });
});

describe('claim commits written outside the store', () => {
  it('a chain with a forged transition is refused by readClaimChain', async () => {
    const s = await stores();
    const { jobId } = await submitJob(s, submission());
    const c0 = nextClaim(null, 'claim', { jobId, worker: alice.signer.keyId, nowMs: T0, leaseMs: LEASE });
    const a = claimCommitObjects(c0, null, alice.signer);
    // Bob "heartbeats" Alice's live claim: structurally not allowed.
    const forged = claimCommitObjects({ ...c0, worker: bob.signer.keyId, seq: 1 }, a.commit.oid, bob.signer);
    await s.objects.put([...a.objects, ...forged.objects]);
    const e = await failAsync(readClaimChain(s.objects, forged.commit.oid, trust));
    expect(e.code).toBe('GATOS_E_JOB_RECORD');
    expect(e.message).toContain('only the holder');
  });
});
