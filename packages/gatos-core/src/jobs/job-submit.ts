import type { JobStores } from './interface.js';
import { GatosError } from '../errors.js';
import type { Oid } from '../store/git-object.js';
import { type ManifestCommitInput, manifestCommitObjects } from './manifest-commit.js';
import { jobManifestRef } from '../ref-layout.js';

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
