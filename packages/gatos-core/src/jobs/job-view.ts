import type { JobStores, JobSummary, JobView } from './interface.js';
import { jobState } from './job-state.js';
import { requireManifest } from './job-refs.js';
import { GatosError } from '../errors.js';
import type { Oid } from '../store/git-object.js';
import { readClaimCommit } from './claim.js';
import { readManifestCommit } from './manifest-commit.js';
import {
  jobAuditRef,
  jobClaimRef,
  jobManifestRef,
  jobResultRef,
  JOBS_PREFIX,
  parseJobRef,
} from '../ref-layout.js';

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
