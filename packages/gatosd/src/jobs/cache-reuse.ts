/**
 * Result-cache reuse (`spec/job-plane.md` § 7): a job whose manifest allows it reuses the result of an earlier job
 * with the same cache key, but only after that source job verifies in full.
 */
import {
  jobIdentities,
  jobResultRef,
  type JobRun,
  type JobStores,
  lookupCache,
  type ManifestCommitData,
  type RefStore,
  readResultCommit,
  readTrust,
  verifyJob,
} from '@gatos/core';

/** The run to reuse for `m` (marked `cached_from`), or null when there is none that verifies. */
export async function reuseCachedRun(
  stores: JobStores,
  /** Where the trust registry is read (the worker's own refs). */
  trustRefs: RefStore,
  m: ManifestCommitData,
): Promise<JobRun | null> {
  if (!m.manifest.cache) return null;
  const source = await lookupCache(stores.objects, stores.refs, jobIdentities(m.manifest).cache_key);
  if (!source || source === m.jobId) return null;
  const trust = await readTrust(stores.objects, trustRefs);
  const report = await verifyJob(stores, source, trust);
  if (!report.ok) return null;
  const resultOid = await stores.refs.read(jobResultRef(source));
  if (!resultOid) return null;
  const r = await readResultCommit(stores.objects, resultOid);
  return {
    status: r.result.status,
    exit_code: r.result.exit_code,
    signal: r.result.signal,
    error: r.result.error,
    outputs: r.outputs,
    stdout: r.stdout ?? new Uint8Array(),
    stderr: r.stderr ?? new Uint8Array(),
    runtime: r.result.runtime,
    cached_from: source,
  };
}
