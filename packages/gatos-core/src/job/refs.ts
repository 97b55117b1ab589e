/** The refs of the job plane (`spec/job-plane.md` § 1, `spec/refs-layout.md`). */
import { GatosError } from '../errors.js';
import { JOB_ID_RE } from './fields.js';

/** Prefix of every per-job ref. */
export const JOBS_PREFIX = 'refs/gatos/jobs/';
/** The result-cache index chain. */
export const JOB_CACHE_REF = 'refs/gatos/jobs/cache';
/** Prefix of the Proof-of-Execution audit chains. */
export const JOB_AUDIT_PREFIX = 'refs/gatos/audit/jobs/';
/** Bus topic of job announcements. */
export const JOBS_TOPIC = 'jobs';

/** True for a job id (an Event-CID string). */
export function isJobId(s: unknown): s is string {
  return typeof s === 'string' && JOB_ID_RE.test(s);
}

/** Throws `GATOS_E_JOB_NOT_FOUND` unless `jobId` is shaped like a job id. */
export function assertJobId(jobId: string): void {
  if (!isJobId(jobId)) {
    throw new GatosError('GATOS_E_JOB_NOT_FOUND', `not a job id: ${JSON.stringify(jobId)}`, {
      data: { jobId },
      hint: 'a job id is the Event-CID of the manifest: b followed by 58 base32 characters',
    });
  }
}

/** `refs/gatos/jobs/<job-id>/manifest`. */
export function jobManifestRef(jobId: string): string {
  assertJobId(jobId);
  return `${JOBS_PREFIX}${jobId}/manifest`;
}

/** `refs/gatos/jobs/<job-id>/claim`. */
export function jobClaimRef(jobId: string): string {
  assertJobId(jobId);
  return `${JOBS_PREFIX}${jobId}/claim`;
}

/** `refs/gatos/jobs/<job-id>/result`. */
export function jobResultRef(jobId: string): string {
  assertJobId(jobId);
  return `${JOBS_PREFIX}${jobId}/result`;
}

/** `refs/gatos/audit/jobs/<job-id>`. */
export function jobAuditRef(jobId: string): string {
  assertJobId(jobId);
  return `${JOB_AUDIT_PREFIX}${jobId}`;
}

/** Splits a per-job ref into job id and kind, or null for any other ref (including the cache ref). */
export function parseJobRef(ref: string): { jobId: string; kind: 'manifest' | 'claim' | 'result' } | null {
  const m = /^refs\/gatos\/jobs\/(b[a-z2-7]{58})\/(manifest|claim|result)$/.exec(ref);
  return m ? { jobId: m[1]!, kind: m[2] as 'manifest' | 'claim' | 'result' } : null;
}
