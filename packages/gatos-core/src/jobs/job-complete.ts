/**
 * Completing a job: the done claim, the result and the audit entry, atomically where the store can, and the
 * repair of a completion interrupted after its commit point (`spec/job-plane.md` § 5).
 */
import type { JobStores, WorkerStep } from './interface.js';
import { readTip, requireManifest } from './job-refs.js';
import { casDone, casRetry, casWrite } from '../chain/cas-retry.js';
import { GatosError } from '../errors.js';
import type { Oid } from '../store/git-object.js';
import type { JsonObject } from '../proofs/in-toto.js';
import { updateCacheIndex } from './cache-index.js';
import { prepareCompletion } from './completion.js';
import type { ClaimRecord } from './claim.js';
import { auditCommitObjects, readAuditEntry } from './job-audit.js';
import { jobIdentities } from './job-identity.js';
import { type JobResult, type JobRun, readResultCommit } from './job-result.js';
import { type ManifestCommitData, readManifestCommit } from './manifest-commit.js';
import { jobAuditRef, jobResultRef } from '../ref-layout.js';

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
