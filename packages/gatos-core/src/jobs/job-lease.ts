import type { ClaimOutcome, JobStores, LeaseOutcome, WorkerStep } from './interface.js';
import { readTip, requireManifest } from './job-refs.js';
import { GatosError } from '../errors.js';
import {
  type ClaimRecord,
  DEFAULT_CLAIM_SKEW_MS,
  claimCommitObjects,
  claimDecision,
  nextClaim,
} from './claim.js';
import { jobClaimRef } from '../ref-layout.js';

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
