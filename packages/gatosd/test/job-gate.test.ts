/**
 * The job plane at the push-gate (`spec/push-gate.md` § 2.5), end to end: a bare repository guarded by the hook
 * installed through the CLI, real `git push` over file:// from a clone, records built with the core. Accepted: a
 * claim, a heartbeat, done + result + audit in one atomic push, a reclaim after expiry. Refused, each with a DENY
 * record naming the rule and no server ref moved: forged, unsigned and untrusted claims, taking over a live
 * claim, a non-fast-forward claim rewrite, a result the done claim does not name, a tampered result, a second
 * result, a forged audit entry, a rewritten manifest, deletions. The lease boundary is checked with the gate's
 * clock injected into `decidePush`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ClaimRecord,
  type ClaimSigner,
  claimCommitObjects,
  type GitObject,
  type JobManifest,
  jobAuditRef,
  jobClaimRef,
  jobManifestRef,
  jobResultRef,
  keyId,
  keyPairFromSeed,
  manifestCommitObjects,
  nextClaim,
  type Oid,
  type PreparedCompletion,
  prepareCompletion,
  readCommitFiles,
  registerKey,
  filesCommit,
  auditCommitObjects,
  sign,
  TRUST_KEYS_REF,
  trustedKeyEntry,
} from '@gatos/core';
import { createObjectStore, createRefStore, openRepository, runGit } from '@gatos/git';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk, gatos, git, tmp } from '../../git-gatos/test/helpers.js';
import { decidePush } from '../src/gate/push-gate.js';

const DENY_REF = 'refs/gatos/audit/policy/deny';
const LEASE_MS = 600_000;
const enc = new TextEncoder();
const utf8 = (s: string): Uint8Array => enc.encode(s);

const V = JSON.parse(
  readFileSync(join(import.meta.dirname, '../../../conformance/jobs/vectors.json'), 'utf8'),
) as {
  manifest: {
    manifest: JobManifest;
    program_files: Record<string, string>;
    input_files: Record<string, string>;
  };
};
const toMap = (o: Record<string, string>) => new Map(Object.entries(o).map(([k, v]) => [k, utf8(v)]));

function workerKey(fill: number) {
  const seed = new Uint8Array(32).fill(fill);
  const { publicKey } = keyPairFromSeed(seed);
  const signer: ClaimSigner = { keyId: keyId(publicKey), sign: (m) => sign(seed, m) };
  return { signer, entry: trustedKeyEntry(`service:worker${fill}`, publicKey, (m) => sign(seed, m)) };
}
const W1 = workerKey(11);
const W2 = workerKey(12);
/** Never registered. */
const W3 = workerKey(13);

let server: string;
let client: string;
let env: NodeJS.ProcessEnv;
let stores: Awaited<ReturnType<typeof openStores>>;

async function openStores(cwd: string) {
  const repo = await openRepository({ cwd });
  return { repo, objects: createObjectStore(repo), refs: createRefStore(repo) };
}

interface Push {
  status: number;
  out: string;
}

function push(...args: string[]): Push {
  const r = spawnSync('git', ['push', '--porcelain', 'origin', ...args], {
    cwd: client,
    encoding: 'utf8',
    env: { ...env, LC_ALL: 'C' },
  });
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** Every ref of the server except the deny chain. */
function serverRefs(): string {
  return git(server, 'for-each-ref', '--format=%(objectname) %(refname)')
    .split('\n')
    .filter((l) => !l.endsWith(` ${DENY_REF}`))
    .join('\n');
}

function serverRef(ref: string): string | null {
  const r = spawnSync('git', ['rev-parse', '-q', '--verify', ref], { cwd: server, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function expectAccepted(p: Push): void {
  expect(p.status, p.out).toBe(0);
  expect(p.out).not.toContain('GATOS DENY');
}

/**
 * Pushes `args` and expects the push refused with `rule` on `ref`: the DENY chain grew by exactly one record
 * naming that rule and ref, the pusher saw the reason, and no other server ref moved.
 */
function expectRefused(args: string[], rule: string, ref: string, reason?: RegExp): any {
  const before = serverRefs();
  const denyBefore = serverRef(DENY_REF);
  const p = push(...args);
  expect(p.status, p.out).not.toBe(0);
  const m = new RegExp(`GATOS DENY (\\w{26}): ${ref} rule ${rule}: (.*)`).exec(p.out);
  expect(m, p.out).not.toBeNull();
  if (reason) expect(m![2]).toMatch(reason);
  expect(serverRefs()).toBe(before);
  const head = serverRef(DENY_REF);
  expect(head).not.toBe(denyBefore);
  expect(git(server, 'rev-list', '--count', head!)).toBe(
    denyBefore ? String(Number(git(server, 'rev-list', '--count', denyBefore)) + 1) : '1',
  );
  const log = expectOk(gatos(server, env, ['audit', 'log', '--json'])).json;
  expect(log.chain_ok).toBe(true);
  const rec = log.records.find((r: any) => r.id === m![1]);
  expect(rec, `no DENY record ${m![1]}`).toBeDefined();
  expect(rec.denials).toContainEqual(expect.objectContaining({ ref, rule }));
  return rec;
}

async function put(objects: GitObject[]): Promise<void> {
  await stores.objects.put(objects);
}

/** A job of the vector manifest made distinct by `nonce`; its manifest commit is written to the client. */
async function makeJob(nonce: string): Promise<{ jobId: string; manifest: JobManifest; commit: Oid }> {
  const manifest = { ...structuredClone(V.manifest.manifest), nonce };
  const mc = manifestCommitObjects({
    manifest,
    programFiles: toMap(V.manifest.program_files),
    inputFiles: toMap(V.manifest.input_files),
  });
  await put(mc.objects);
  return { jobId: mc.jobId, manifest, commit: mc.commit.oid };
}

/** Writes the claim commit of `record` on `parent`, signed by `signer`. */
async function claimCommit(record: ClaimRecord, parent: Oid | null, signer: ClaimSigner): Promise<Oid> {
  const c = claimCommitObjects(record, parent, signer);
  await put(c.objects);
  return c.commit.oid;
}

function run(manifest: JobManifest, out: string) {
  return {
    status: 'succeeded' as const,
    exit_code: 0,
    signal: null,
    error: null,
    outputs: new Map([['out.txt', utf8(out)]]),
    stdout: utf8('ok\n'),
    stderr: utf8(''),
    runtime: manifest.program.runtime,
  };
}

beforeAll(async () => {
  const root = tmp('gatos-job-gate-');
  server = join(root, 'srv.git');
  git(root, 'init', '-q', '--bare', server);
  env = { ...process.env, GATOS_HOME: join(root, 'home'), GATOS_ACTOR: '' };
  expect(expectOk(gatos(root, env, ['hook', 'install', server, '--json'])).json.action).toBe('installed');
  client = join(root, 'client');
  git(root, 'clone', '-q', server, client);
  stores = await openStores(client);
  await registerKey(stores.objects, stores.refs, W1.entry);
  await registerKey(stores.objects, stores.refs, W2.entry);
  expectAccepted(push(TRUST_KEYS_REF));
});

afterAll(async () => {
  await stores?.objects.close();
});

describe('push-gate: job plane', () => {
  let job: Awaited<ReturnType<typeof makeJob>>;
  let claim0: Oid;
  let claim0Record: ClaimRecord;
  let hb: Oid;
  let hbRecord: ClaimRecord;
  let done: PreparedCompletion;

  it('accepts a manifest and refuses one under another job id, a rewrite and a deletion', async () => {
    job = await makeJob('gate-a');
    const other = await makeJob('gate-other');
    const ref = jobManifestRef(job.jobId);
    expectRefused([`${other.commit}:${ref}`], 'job-manifest', ref, /is job b/);
    expectAccepted(push(`${job.commit}:${ref}`));
    expect(serverRef(ref)).toBe(job.commit);
    expectRefused(['--force', `${other.commit}:${ref}`], 'job-create-only', ref);
    expectRefused(['--force', `:${ref}`], 'no-delete', ref);
    // A name the job plane does not define.
    expectRefused(
      [`${job.commit}:refs/gatos/jobs/${job.jobId}/extra`],
      'job-ref',
      `refs/gatos/jobs/${job.jobId}/extra`,
    );
  });

  it('accepts a claim by a registered worker, then its heartbeat', async () => {
    const now = Date.now();
    claim0Record = nextClaim(null, 'claim', {
      jobId: job.jobId,
      worker: W1.signer.keyId,
      nowMs: now,
      leaseMs: LEASE_MS,
    });
    claim0 = await claimCommit(claim0Record, null, W1.signer);
    const ref = jobClaimRef(job.jobId);
    expectAccepted(push(`${claim0}:${ref}`));
    hbRecord = nextClaim(claim0Record, 'heartbeat', {
      jobId: job.jobId,
      worker: W1.signer.keyId,
      nowMs: now + 1,
      leaseMs: LEASE_MS,
    });
    hb = await claimCommit(hbRecord, claim0, W1.signer);
    expectAccepted(push(`${hb}:${ref}`));
    expect(serverRef(ref)).toBe(hb);
  });

  it('refuses forged, unsigned and untrusted claim records', async () => {
    const ref = jobClaimRef(job.jobId);
    const step = nextClaim(hbRecord, 'heartbeat', {
      jobId: job.jobId,
      worker: W1.signer.keyId,
      nowMs: Date.now(),
      leaseMs: LEASE_MS,
    });
    // W1's record, signed with W2's key.
    const forged = await claimCommit(step, hb, { keyId: W1.signer.keyId, sign: W2.signer.sign });
    expectRefused([`${forged}:${ref}`], 'job-claim-signature', ref, /does not verify/);
    const unsigned = await claimCommit(step, hb, { keyId: W1.signer.keyId, sign: () => new Uint8Array(64) });
    expectRefused([`${unsigned}:${ref}`], 'job-claim-signature', ref, /does not verify/);
    // A claim by a key the registry does not hold, on a fresh job.
    const b = await makeJob('gate-b');
    expectAccepted(push(`${b.commit}:${jobManifestRef(b.jobId)}`));
    const rec = nextClaim(null, 'claim', {
      jobId: b.jobId,
      worker: W3.signer.keyId,
      nowMs: Date.now(),
      leaseMs: LEASE_MS,
    });
    const untrusted = await claimCommit(rec, null, W3.signer);
    const rec2 = expectRefused(
      [`${untrusted}:${jobClaimRef(b.jobId)}`],
      'job-claim-signature',
      jobClaimRef(b.jobId),
      /not in the trust registry/,
    );
    expect(rec2.denials[0].code).toBe('GATOS_E_KEY_NOT_FOUND');
    // A claim for a job that has no manifest.
    const c = await makeJob('gate-no-manifest');
    const orphan = await claimCommit(
      nextClaim(null, 'claim', {
        jobId: c.jobId,
        worker: W1.signer.keyId,
        nowMs: Date.now(),
        leaseMs: LEASE_MS,
      }),
      null,
      W1.signer,
    );
    expectRefused([`${orphan}:${jobClaimRef(c.jobId)}`], 'job-claim', jobClaimRef(c.jobId), /no manifest/);
  });

  it("refuses taking over another worker's live claim, and a non-fast-forward rewrite", async () => {
    const ref = jobClaimRef(job.jobId);
    const now = Date.now();
    // A reclaim (epoch + 1) while W1's lease runs: a valid chain step, but not by the gate's clock.
    const takeover: ClaimRecord = {
      ...hbRecord,
      worker: W2.signer.keyId,
      epoch: hbRecord.epoch + 1,
      seq: 0,
      expires_at_ms: now + LEASE_MS,
    };
    const rec = expectRefused(
      [`${await claimCommit(takeover, hb, W2.signer)}:${ref}`],
      'job-lease',
      ref,
      /lease expires/,
    );
    expect(rec.denials[0].code).toBe('GATOS_E_JOB_CLAIMED');
    // Continuing W1's epoch as W2 (a heartbeat or a done by someone who does not hold the claim).
    const stolen: ClaimRecord = {
      ...hbRecord,
      worker: W2.signer.keyId,
      seq: hbRecord.seq + 1,
      expires_at_ms: now,
    };
    expectRefused(
      [`${await claimCommit(stolen, hb, W2.signer)}:${ref}`],
      'job-claim',
      ref,
      /only the holder/,
    );
    // A lease dated an hour ahead of the gate's clock would hold the job for longer than lease_ms.
    const ahead = nextClaim(hbRecord, 'heartbeat', {
      jobId: job.jobId,
      worker: W1.signer.keyId,
      nowMs: now + 3_600_000,
      leaseMs: LEASE_MS,
    });
    expectRefused(
      [`${await claimCommit(ahead, hb, W1.signer)}:${ref}`],
      'job-lease',
      ref,
      /ahead of the gate's clock/,
    );
    // W2 rewrites history: its own claim at epoch 0, forced over W1's chain.
    const rewrite = nextClaim(null, 'claim', {
      jobId: job.jobId,
      worker: W2.signer.keyId,
      nowMs: now,
      leaseMs: LEASE_MS,
    });
    expectRefused(['--force', `${await claimCommit(rewrite, null, W2.signer)}:${ref}`], 'ff-only', ref);
    expectRefused(['--force', `:${ref}`], 'no-delete', ref);
    expect(serverRef(ref)).toBe(hb);
  });

  const complete = (out: string, auditHead: Oid | null = null) =>
    prepareCompletion({
      manifest: { jobId: job.jobId, manifest: job.manifest },
      tip: hbRecord,
      tipCommit: hb,
      auditHead,
      signer: W1.signer,
      nowMs: Date.now(),
      claim: { epoch: 0, commit: claim0 },
      run: run(job.manifest, out),
      runLog: { host: 'test' },
    });
  const refspecs = (p: PreparedCompletion, result = p.resultCommit, audit = p.auditCommit) => [
    '--atomic',
    `${p.doneCommit}:${jobClaimRef(job.jobId)}`,
    `${result}:${jobResultRef(job.jobId)}`,
    `${audit}:${jobAuditRef(job.jobId)}`,
  ];

  it('refuses a result the done claim does not name, and a tampered result commit', async () => {
    const a = complete('answer A\n');
    const b = complete('answer B\n');
    await put([...a.objects, ...b.objects]);
    // Done names A's result; the push creates B's.
    expectRefused(
      refspecs(a, b.resultCommit),
      'job-result',
      jobResultRef(job.jobId),
      /done claim names result/,
    );
    // A result commit whose output was changed after signing, with an honest done claim and audit naming it.
    const { commit, files } = await readCommitFiles(stores.objects, a.resultCommit);
    files.set('outputs/out.txt', utf8('answer C\n'));
    const tampered = filesCommit(files, commit.parents, commit.message);
    const doneT = nextClaim(hbRecord, 'done', {
      jobId: job.jobId,
      worker: W1.signer.keyId,
      nowMs: Date.now(),
      leaseMs: LEASE_MS,
      epoch: 0,
      result: tampered.commit.oid,
    });
    const doneTCommit = await claimCommit(doneT, hb, W1.signer);
    const auditT = auditCommitObjects({
      jobId: job.jobId,
      resultCommit: tampered.commit.oid,
      envelopeBytes: a.envelopeBytes,
      parent: null,
    });
    await put([...tampered.objects, ...auditT.objects]);
    const rec = expectRefused(
      [
        '--atomic',
        `${doneTCommit}:${jobClaimRef(job.jobId)}`,
        `${tampered.commit.oid}:${jobResultRef(job.jobId)}`,
        `${auditT.commit.oid}:${jobAuditRef(job.jobId)}`,
      ],
      'job-result',
      jobResultRef(job.jobId),
      /outputs\/out\.txt/,
    );
    expect(rec.denials.find((d: any) => d.rule === 'job-result').commit).toBe(tampered.commit.oid);
    // A done claim alone, naming a result nobody pushes, would close the job on nothing.
    expectRefused(
      [`${a.doneCommit}:${jobClaimRef(job.jobId)}`],
      'job-claim',
      jobClaimRef(job.jobId),
      /done names result/,
    );
  });

  it('refuses an audit entry whose envelope is not the result one', async () => {
    const a = complete('answer A\n');
    const b = complete('answer B\n');
    const forged = auditCommitObjects({
      jobId: job.jobId,
      resultCommit: a.resultCommit,
      envelopeBytes: b.envelopeBytes,
      parent: null,
    });
    await put([...a.objects, ...b.objects, ...forged.objects]);
    expectRefused(
      refspecs(a, a.resultCommit, forged.commit.oid),
      'job-audit',
      jobAuditRef(job.jobId),
      /byte-identical/,
    );
  });

  it('accepts done + result + audit in one atomic push, then refuses a second result', async () => {
    done = complete('answer A\n');
    await put(done.objects);
    expectAccepted(push(...refspecs(done)));
    expect(serverRef(jobClaimRef(job.jobId))).toBe(done.doneCommit);
    expect(serverRef(jobResultRef(job.jobId))).toBe(done.resultCommit);
    expect(serverRef(jobAuditRef(job.jobId))).toBe(done.auditCommit);
    // The server's copy verifies like any clone's would.
    const v = expectOk(gatos(server, env, ['job', 'verify', job.jobId, '--json']));
    expect(v.json.ok, v.stdout).toBe(true);
    const b = complete('answer B\n');
    await put(b.objects);
    const rref = jobResultRef(job.jobId);
    expectRefused(['--force', `${b.resultCommit}:${rref}`], 'job-create-only', rref);
    expectRefused(['--force', `:${rref}`], 'no-delete', rref);
    // Nothing follows done, not even by its holder.
    const after: ClaimRecord = {
      ...done.done,
      state: 'claimed',
      seq: done.done.seq + 1,
      result: null,
      expires_at_ms: Date.now() + 1000,
    };
    const cref = jobClaimRef(job.jobId);
    expectRefused(
      [`${await claimCommit(after, done.doneCommit, W1.signer)}:${cref}`],
      'job-claim',
      cref,
      /follows done/,
    );
    expectRefused(['--force', `:${jobAuditRef(job.jobId)}`], 'no-delete', jobAuditRef(job.jobId));
  });

  it('accepts a reclaim by another worker after the lease expired', async () => {
    const c = await makeJob('gate-c');
    expectAccepted(push(`${c.commit}:${jobManifestRef(c.jobId)}`));
    const ref = jobClaimRef(c.jobId);
    // Claimed two minutes ago with a one-second lease: long expired by the gate's clock.
    const first = nextClaim(null, 'claim', {
      jobId: c.jobId,
      worker: W1.signer.keyId,
      nowMs: Date.now() - 120_000,
      leaseMs: 1000,
    });
    const firstCommit = await claimCommit(first, null, W1.signer);
    expectAccepted(push(`${firstCommit}:${ref}`));
    const re = nextClaim(first, 'claim', {
      jobId: c.jobId,
      worker: W2.signer.keyId,
      nowMs: Date.now(),
      leaseMs: LEASE_MS,
    });
    expect(re.epoch).toBe(1);
    const reCommit = await claimCommit(re, firstCommit, W2.signer);
    expectAccepted(push(`${reCommit}:${ref}`));
    expect(serverRef(ref)).toBe(reCommit);
    // W1 woke up late: its epoch is over.
    const late = { ...first, seq: 1, expires_at_ms: Date.now() + 1000 };
    expectRefused(
      [`${await claimCommit(late, reCommit, W1.signer)}:${ref}`],
      'job-claim',
      ref,
      /only the holder/,
    );
  });

  it("judges expiry with the gate's injected clock: held until expires_at_ms + skew, claimable from then", async () => {
    const d = await makeJob('gate-d');
    expectAccepted(push(`${d.commit}:${jobManifestRef(d.jobId)}`));
    const t0 = Date.now();
    const first = nextClaim(null, 'claim', {
      jobId: d.jobId,
      worker: W1.signer.keyId,
      nowMs: t0,
      leaseMs: 5000,
    });
    const firstCommit = await claimCommit(first, null, W1.signer);
    expectAccepted(push(`${firstCommit}:${jobClaimRef(d.jobId)}`));
    const re = nextClaim(first, 'claim', {
      jobId: d.jobId,
      worker: W2.signer.keyId,
      nowMs: first.expires_at_ms + 2000,
      leaseMs: 5000,
    });
    const reCommit = await claimCommit(re, firstCommit, W2.signer);
    // The gate as the hook runs it, over the client's objects and the server's refs (fetched as they are).
    git(client, 'fetch', '-q', '--force', 'origin', 'refs/gatos/*:refs/gatos/*');
    const decide = (nowMs: number) =>
      decidePush({
        objects: stores.objects,
        refs: stores.refs,
        isAncestor: async (a, x) =>
          runGit(stores.repo, ['merge-base', '--is-ancestor', a, x]).then(
            () => true,
            () => false,
          ),
        updates: [{ ref: jobClaimRef(d.jobId), old: firstCommit, new: reCommit }],
        now: () => nowMs,
      });
    const held = await decide(first.expires_at_ms + 1999);
    expect(held.allowed).toBe(false);
    expect(held.denials.map((x) => x.rule)).toEqual(['job-lease']);
    expect((await decide(first.expires_at_ms + 2000)).allowed).toBe(true);
    // The reclaim itself is dated at expires_at_ms + 2000: a gate clock far behind it refuses it as future-dated.
    const behind = await decide(first.expires_at_ms - 60_000);
    expect(behind.denials.map((x) => x.reason).join()).toMatch(/lease expires|ahead of the gate's clock/);
  });
});
