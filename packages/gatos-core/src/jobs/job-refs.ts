import type { JobStores } from './interface.js';
import { GatosError } from '../errors.js';
import type { Oid } from '../store/git-object.js';
import { type ClaimRecord, readClaimCommit } from './claim.js';
import { assertJobId, jobClaimRef, jobManifestRef, JOBS_PREFIX } from '../ref-layout.js';

export async function requireManifest(s: JobStores, jobId: string): Promise<Oid> {
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

export async function readTip(
  s: JobStores,
  jobId: string,
): Promise<{ head: Oid | null; tip: ClaimRecord | null }> {
  const head = await s.refs.read(jobClaimRef(jobId));
  return { head, tip: head ? (await readClaimCommit(s.objects, head)).record : null };
}
