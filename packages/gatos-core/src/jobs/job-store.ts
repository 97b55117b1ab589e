/**
 * Local job operations over an injected object store and ref store: submit, read, list, claim, heartbeat,
 * release, complete (with repair), audit, verify. Every ref change is ONE compare-and-swap from the value the
 * actor read; a lost race comes back as a typed outcome. Time is always passed in (`nowMs`), never read.
 * Remote publication (`git push --atomic` with leases) is the shell's. Normative text: `spec/job-plane.md` § 4.
 */
import { casDone, casRetry, casWrite } from '../chain/cas-retry.js';
import { GatosError } from '../errors.js';
import type { Oid } from '../store/git-object.js';
import type { JsonObject } from '../proofs/in-toto.js';
import type { ObjectStore } from '../store/object-store.js';
import type { RefStore } from '../store/ref-store.js';
import { updateCacheIndex } from './cache-index.js';
import { prepareCompletion } from './completion.js';
import {
  type ClaimLink,
  type ClaimRecord,
  type ClaimSigner,
  DEFAULT_CLAIM_SKEW_MS,
  type JobTrust,
  claimCommitObjects,
  claimDecision,
  nextClaim,
  readClaimCommit,
  readClaimLinks,
} from './claim.js';
import { auditCommitObjects, readAuditEntry } from './job-audit.js';
import { jobIdentities } from './job-identity.js';
import { type JobResult, type JobRun, readResultCommit } from './job-result.js';
import {
  type ManifestCommitData,
  type ManifestCommitInput,
  manifestCommitObjects,
  readManifestCommit,
} from './manifest-commit.js';
import { type ExecutionReport, verifyExecution } from './proof-of-execution.js';
import {
  assertJobId,
  jobAuditRef,
  jobClaimRef,
  jobManifestRef,
  jobResultRef,
  JOBS_PREFIX,
  parseJobRef,
} from '../ref-layout.js';

/** The stores job operations work on. */
export interface JobStores {
  objects: ObjectStore;
  refs: RefStore;
}

/** The state of a job as listed. */
export type JobState = 'pending' | 'claimed' | 'expired' | 'released' | 'done';

/**
 * The state of a job from its claim tip and result ref: done when the result ref exists or the tip is done;
 * pending without a claim; released; claimed while the lease runs, expired once `nowMs ≥ expires_at_ms + skewMs`.
 */
export function jobState(
  tip: ClaimRecord | null,
  result: Oid | null,
  nowMs: number,
  skewMs: number = DEFAULT_CLAIM_SKEW_MS,
): JobState {
  if (result !== null || tip?.state === 'done') return 'done';
  if (tip === null) return 'pending';
  if (tip.state === 'released') return 'released';
  return claimDecision(tip, nowMs, skewMs).kind === 'claimable' ? 'expired' : 'claimed';
}

/** Submits a job: writes the manifest commit and creates its ref (create-only). Idempotent for the same job. */
export async function submitJob(
  s: JobStores,
  input: ManifestCommitInput,
): Promise<{ jobId: string; commit: Oid; created: boolean }> {
  const built = manifestCommitObjects(input);
  await s.objects.put(built.objects);
  const ref = jobManifestRef(built.jobId);
  if (await s.refs.cas({ ref, expect: null, next: built.commit.oid })) {
    return { jobId: built.jobId, commit: built.commit.oid, created: true };
  }
  const now = await s.refs.read(ref);
  if (now === built.commit.oid) return { jobId: built.jobId, commit: now, created: false };
  throw new GatosError(
    'GATOS_E_JOB_RECORD',
    `${ref} names ${now}, not the canonical manifest commit ${built.commit.oid}`,
    {
      data: { ref, actual: now, expected: built.commit.oid },
    },
  );
}

/** A job as read by {@link readJob}. */
export interface JobView {
  jobId: string;
  manifest: ManifestCommitData;
  claimHead: Oid | null;
  claim: ClaimLink | null;
  result: Oid | null;
  audit: Oid | null;
  state: JobState;
}

async function requireManifest(s: JobStores, jobId: string): Promise<Oid> {
  assertJobId(jobId);
  const oid = await s.refs.read(jobManifestRef(jobId));
  if (!oid) {
    throw new GatosError(
      'GATOS_E_JOB_NOT_FOUND',
      `no job ${jobId}: ${jobManifestRef(jobId)} does not exist`,
      {
        data: { jobId },
        hint: `fetch ${JOBS_PREFIX}* from the shared repository, or submit the job`,
      },
    );
  }
  return oid;
}

/** Reads a job: its manifest commit (strictly checked), claim tip, result and audit refs, and its state. */
export async function readJob(
  s: JobStores,
  jobId: string,
  opts: { nowMs: number; skewMs?: number },
): Promise<JobView> {
  const mOid = await requireManifest(s, jobId);
  const [manifest, claimHead, result, audit] = await Promise.all([
    readManifestCommit(s.objects, mOid),
    s.refs.read(jobClaimRef(jobId)),
    s.refs.read(jobResultRef(jobId)),
    s.refs.read(jobAuditRef(jobId)),
  ]);
  if (manifest.jobId !== jobId) {
    throw new GatosError(
      'GATOS_E_JOB_RECORD',
      `${jobManifestRef(jobId)} holds the manifest of job ${manifest.jobId}`,
      {
        data: { jobId, actual: manifest.jobId },
      },
    );
  }
  const claim = claimHead ? await readClaimCommit(s.objects, claimHead) : null;
  return {
    jobId,
    manifest,
    claimHead,
    claim,
    result,
    audit,
    state: jobState(claim?.record ?? null, result, opts.nowMs, opts.skewMs),
  };
}

/** A job as listed by {@link listJobs}. */
export interface JobSummary {
  jobId: string;
  manifest: Oid;
  claimHead: Oid | null;
  claim: ClaimRecord | null;
  result: Oid | null;
  state: JobState;
}

/** Lists every job with a manifest ref, sorted by job id, with its state at `nowMs`. */
export async function listJobs(
  s: JobStores,
  opts: {
    nowMs: number;
    skewMs?: number;
    /** Leave `claim` null for jobs whose result ref exists (they are done either way): one read fewer each. */
    skipDoneClaims?: boolean;
  },
): Promise<JobSummary[]> {
  const byId = new Map<string, { manifest?: Oid; claim?: Oid; result?: Oid }>();
  for (const e of await s.refs.list(JOBS_PREFIX)) {
    const p = parseJobRef(e.ref);
    if (!p) continue;
    const j = byId.get(p.jobId) ?? {};
    j[p.kind] = e.oid;
    byId.set(p.jobId, j);
  }
  const ids = [...byId.keys()].filter((id) => byId.get(id)!.manifest !== undefined).sort();
  const tips = await Promise.all(
    ids.map((id) => {
      const j = byId.get(id)!;
      return j.claim && !(opts.skipDoneClaims && j.result) ? readClaimCommit(s.objects, j.claim) : null;
    }),
  );
  return ids.map((jobId, i) => {
    const j = byId.get(jobId)!;
    const claim = tips[i]?.record ?? null;
    const result = j.result ?? null;
    return {
      jobId,
      manifest: j.manifest!,
      claimHead: j.claim ?? null,
      claim,
      result,
      state: jobState(claim, result, opts.nowMs, opts.skewMs),
    };
  });
}

/** Options of a claim-chain step by a worker. */
export interface WorkerStep {
  jobId: string;
  signer: ClaimSigner;
  nowMs: number;
}

/** What {@link claimJob} ended with. */
export type ClaimOutcome =
  | { outcome: 'claimed'; jobId: string; epoch: number; reclaimed: boolean; commit: Oid; record: ClaimRecord }
  | { outcome: 'held'; jobId: string; worker: string; epoch: number; expires_at_ms: number; race: boolean }
  | { outcome: 'done'; jobId: string; result: Oid; race: boolean }
  | { outcome: 'lost-race'; jobId: string };

async function readTip(s: JobStores, jobId: string): Promise<{ head: Oid | null; tip: ClaimRecord | null }> {
  const head = await s.refs.read(jobClaimRef(jobId));
  return { head, tip: head ? (await readClaimCommit(s.objects, head)).record : null };
}

/**
 * Claims a job (or reclaims it after a release or an expired lease): one compare-and-swap of the claim ref from
 * the tip read. A job held by a live lease or done is an outcome, not an error; so is a lost race.
 */
export async function claimJob(
  s: JobStores,
  o: WorkerStep & { leaseMs: number; skewMs?: number },
): Promise<ClaimOutcome> {
  await requireManifest(s, o.jobId);
  const skew = o.skewMs ?? DEFAULT_CLAIM_SKEW_MS;
  const { head, tip } = await readTip(s, o.jobId);
  const decided = (t: ClaimRecord | null, race: boolean): ClaimOutcome | null => {
    const d = claimDecision(t, o.nowMs, skew);
    if (d.kind === 'held')
      return {
        outcome: 'held',
        jobId: o.jobId,
        worker: d.worker,
        epoch: d.epoch,
        expires_at_ms: d.expires_at_ms,
        race,
      };
    if (d.kind === 'done') return { outcome: 'done', jobId: o.jobId, result: d.result, race };
    return null;
  };
  const early = decided(tip, false);
  if (early) return early;
  const record = nextClaim(tip, 'claim', {
    jobId: o.jobId,
    worker: o.signer.keyId,
    nowMs: o.nowMs,
    leaseMs: o.leaseMs,
    skewMs: skew,
  });
  const built = claimCommitObjects(record, head, o.signer);
  await s.objects.put(built.objects);
  if (await s.refs.cas({ ref: jobClaimRef(o.jobId), expect: head, next: built.commit.oid })) {
    return {
      outcome: 'claimed',
      jobId: o.jobId,
      epoch: record.epoch,
      reclaimed: tip !== null,
      commit: built.commit.oid,
      record,
    };
  }
  const after = await readTip(s, o.jobId);
  return decided(after.tip, true) ?? { outcome: 'lost-race', jobId: o.jobId };
}

/** What {@link heartbeatJob} and {@link releaseJob} ended with. */
export type LeaseOutcome =
  | { outcome: 'renewed' | 'released'; commit: Oid; record: ClaimRecord }
  | { outcome: 'lease-lost'; tip: ClaimRecord | null };

async function leaseStep(
  s: JobStores,
  action: 'heartbeat' | 'release',
  o: WorkerStep & { epoch: number; leaseMs?: number },
): Promise<LeaseOutcome> {
  const { head, tip } = await readTip(s, o.jobId);
  let record: ClaimRecord;
  try {
    record = nextClaim(tip, action, {
      jobId: o.jobId,
      worker: o.signer.keyId,
      nowMs: o.nowMs,
      leaseMs: o.leaseMs ?? tip?.lease_ms ?? 1,
      epoch: o.epoch,
    });
  } catch (e) {
    if (e instanceof GatosError && e.code === 'GATOS_E_JOB_LEASE_LOST') return { outcome: 'lease-lost', tip };
    throw e;
  }
  const built = claimCommitObjects(record, head, o.signer);
  await s.objects.put(built.objects);
  if (await s.refs.cas({ ref: jobClaimRef(o.jobId), expect: head, next: built.commit.oid })) {
    return { outcome: action === 'heartbeat' ? 'renewed' : 'released', commit: built.commit.oid, record };
  }
  return { outcome: 'lease-lost', tip: (await readTip(s, o.jobId)).tip };
}

/** Renews the lease of the claim this worker holds in `epoch` (one CAS); `lease-lost` when it does not hold it. */
export function heartbeatJob(
  s: JobStores,
  o: WorkerStep & { epoch: number; leaseMs: number },
): Promise<LeaseOutcome> {
  return leaseStep(s, 'heartbeat', o);
}

/** Releases the claim this worker holds in `epoch` (one CAS); `lease-lost` when it does not hold it. */
export function releaseJob(s: JobStores, o: WorkerStep & { epoch: number }): Promise<LeaseOutcome> {
  return leaseStep(s, 'release', o);
}

/** Appends the envelope of `resultCommit` to the job's audit chain (CAS with retry); idempotent. */
export async function appendAudit(
  s: JobStores,
  init: { jobId: string; resultCommit: Oid; envelopeBytes: Uint8Array },
): Promise<Oid> {
  const ref = jobAuditRef(init.jobId);
  const message = `could not append to ${ref}: it keeps moving`;
  return casRetry({ ...s, ref, message }, async () => {
    const head = await s.refs.read(ref);
    if (head && (await readAuditEntry(s.objects, init.jobId, head)).resultCommit === init.resultCommit)
      return casDone(head);
    const built = auditCommitObjects({ ...init, parent: head });
    return casWrite(built.objects, { ref, expect: head, next: built.commit.oid }, built.commit.oid);
  });
}

/** Options of {@link completeJob}. */
export interface CompleteJobOptions extends WorkerStep {
  /** The claim the run happened under: its epoch and the commit that opened it. */
  claim: { epoch: number; commit: Oid };
  run: JobRun;
  /** `run.json`: started/finished timestamps, duration, host (not signed, not hashed). */
  runLog: JsonObject | Uint8Array;
}

/** What {@link completeJob} did. */
export interface CompleteOutcome {
  jobId: string;
  result: JobResult;
  resultCommit: Oid;
  doneCommit: Oid;
  auditCommit: Oid;
  envelopeBytes: Uint8Array;
  /** True when an earlier attempt of this worker had already committed (the `done` claim) and was repaired. */
  repaired: boolean;
}

/**
 * Completes a job (§ 4, local order): builds the result, its PoE (signed by `signer`) and the result commit;
 * then ONE CAS of the claim ref from this worker's claim tip to a `done` claim naming the result commit (the
 * commit point); then creates the result ref and appends the audit chain; then records the cache key when the
 * manifest allows caching and the run succeeded. Refuses a second result (`GATOS_E_JOB_RESULT_EXISTS`) and a
 * worker that no longer holds the claim (`GATOS_E_JOB_LEASE_LOST`). A retry after a crash past the commit point
 * repairs the missing refs instead.
 */
export async function completeJob(s: JobStores, o: CompleteJobOptions): Promise<CompleteOutcome> {
  const manifest = await readManifestCommit(s.objects, await requireManifest(s, o.jobId));
  const { head, tip } = await readTip(s, o.jobId);
  if (tip?.state === 'done' && tip.worker === o.signer.keyId && tip.epoch === o.claim.epoch) {
    return finishDone(s, o.jobId, head!, tip, true);
  }
  const existing = await s.refs.read(jobResultRef(o.jobId));
  if (existing) {
    throw new GatosError('GATOS_E_JOB_RESULT_EXISTS', `job ${o.jobId} already has a result (${existing})`, {
      data: { jobId: o.jobId, result: existing },
    });
  }
  const prepared = prepareCompletion({
    manifest,
    tip,
    tipCommit: head,
    auditHead: await s.refs.read(jobAuditRef(o.jobId)),
    signer: o.signer,
    nowMs: o.nowMs,
    claim: o.claim,
    run: o.run,
    runLog: o.runLog,
  });
  await s.objects.put(prepared.objects);
  if (s.refs.casAll && (await s.refs.casAll(prepared.updates))) {
    // All three refs moved at once (a remote's atomic push): only the cache hint is left to record.
    await recordCache(s, manifest, o.jobId, prepared.result);
    return {
      jobId: o.jobId,
      result: prepared.result,
      resultCommit: prepared.resultCommit,
      doneCommit: prepared.doneCommit,
      auditCommit: prepared.auditCommit,
      envelopeBytes: prepared.envelopeBytes,
      repaired: false,
    };
  }
  if (!(await s.refs.cas(prepared.updates[0]))) {
    const after = await readTip(s, o.jobId);
    throw new GatosError('GATOS_E_JOB_LEASE_LOST', `job ${o.jobId}: the claim moved while completing`, {
      data: { jobId: o.jobId, tip: after.tip },
    });
  }
  return finishDone(s, o.jobId, prepared.doneCommit, prepared.done, false, manifest);
}

/** Records a fresh successful result of a cacheable job in the cache index (a hint; reuse verifies first). */
async function recordCache(
  s: JobStores,
  m: ManifestCommitData,
  jobId: string,
  result: JobResult,
): Promise<void> {
  if (m.manifest.cache && result.status === 'succeeded' && result.cached_from === null) {
    await updateCacheIndex(s.objects, s.refs, new Map([[jobIdentities(m.manifest).cache_key, jobId]]));
  }
}

async function finishDone(
  s: JobStores,
  jobId: string,
  doneCommit: Oid,
  done: ClaimRecord,
  repaired: boolean,
  manifest?: ManifestCommitData,
): Promise<CompleteOutcome> {
  const resultOid = done.result!;
  const rref = jobResultRef(jobId);
  if (!(await s.refs.cas({ ref: rref, expect: null, next: resultOid }))) {
    const now = await s.refs.read(rref);
    if (now !== resultOid) {
      throw new GatosError(
        'GATOS_E_JOB_RESULT_EXISTS',
        `${rref} names ${now}, the done claim names ${resultOid}`,
        {
          data: { jobId, result: now, done: resultOid },
        },
      );
    }
  }
  const rd = await readResultCommit(s.objects, resultOid);
  const auditCommit = await appendAudit(s, {
    jobId,
    resultCommit: resultOid,
    envelopeBytes: rd.envelopeBytes!,
  });
  const m = manifest ?? (await readManifestCommit(s.objects, await requireManifest(s, jobId)));
  await recordCache(s, m, jobId, rd.result);
  return {
    jobId,
    result: rd.result,
    resultCommit: resultOid,
    doneCommit,
    auditCommit,
    envelopeBytes: rd.envelopeBytes!,
    repaired,
  };
}

/**
 * Repairs a job whose claim is `done` but whose result ref or audit entry is missing (a completion interrupted
 * after its commit point); anyone may run it. Returns null when the claim is not done.
 */
export async function repairJob(s: JobStores, jobId: string): Promise<CompleteOutcome | null> {
  await requireManifest(s, jobId);
  const { head, tip } = await readTip(s, jobId);
  if (!head || tip?.state !== 'done') return null;
  return finishDone(s, jobId, head, tip, true);
}

/**
 * Verifies a job's result end to end from the stores ({@link verifyExecution}): the manifest and result commits
 * as found, the whole claim chain, the audit tip, and for a cache hit the source job (verified too; its problems
 * are reported as `cache-source`). `GATOS_E_JOB_NOT_FOUND` without a manifest, `GATOS_E_JOB_RECORD` without a
 * result.
 */
export async function verifyJob(
  s: JobStores,
  jobId: string,
  trust: JobTrust,
  depth = 1,
): Promise<ExecutionReport> {
  const mOid = await requireManifest(s, jobId);
  const [rOid, claimHead, auditHead] = await Promise.all([
    s.refs.read(jobResultRef(jobId)),
    s.refs.read(jobClaimRef(jobId)),
    s.refs.read(jobAuditRef(jobId)),
  ]);
  if (!rOid) {
    throw new GatosError(
      'GATOS_E_JOB_RECORD',
      `job ${jobId} has no result (${jobResultRef(jobId)} is absent)`,
      {
        data: { jobId },
      },
    );
  }
  const [manifest, result, claimChain] = await Promise.all([
    readManifestCommit(s.objects, mOid, { strict: false }),
    readResultCommit(s.objects, rOid, { strict: false }),
    claimHead ? readClaimLinks(s.objects, claimHead) : Promise.resolve([]),
  ]);
  const auditEnvelope = auditHead ? (await readAuditEntry(s.objects, jobId, auditHead)).envelopeBytes : null;
  let cacheSource: {
    manifest: ManifestCommitData;
    result: Awaited<ReturnType<typeof readResultCommit>>;
  } | null = null;
  const extra: ExecutionReport['problems'] = [];
  const from = result.result.cached_from;
  if (from !== null) {
    try {
      const srcM = await requireManifest(s, from);
      const srcR = await s.refs.read(jobResultRef(from));
      if (srcR) {
        cacheSource = {
          manifest: await readManifestCommit(s.objects, srcM, { strict: false }),
          result: await readResultCommit(s.objects, srcR, { strict: false }),
        };
        if (depth > 0) {
          const sub = await verifyJob(s, from, trust, depth - 1);
          for (const p of sub.problems)
            extra.push({ kind: 'cache-source', message: `source ${from}: ${p.kind}: ${p.message}` });
        }
      }
    } catch (e) {
      extra.push({ kind: 'cache-source', message: `source ${from}: ${(e as Error).message}` });
    }
  }
  const report = verifyExecution({ manifest, result, trust, claimChain, auditEnvelope, cacheSource, jobId });
  const problems = [...report.problems, ...extra];
  return { ...report, ok: problems.length === 0, problems };
}
