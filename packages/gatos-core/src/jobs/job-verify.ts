import type { JobStores } from './interface.js';
import { requireManifest } from './job-refs.js';
import { GatosError } from '../errors.js';
import { type JobTrust, readClaimLinks } from './claim.js';
import { readAuditEntry } from './job-audit.js';
import { readResultCommit } from './job-result.js';
import { type ManifestCommitData, readManifestCommit } from './manifest-commit.js';
import { type ExecutionReport, verifyExecution } from './proof-of-execution.js';
import { jobAuditRef, jobClaimRef, jobResultRef } from '../ref-layout.js';

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
