/**
 * The Proof-of-Execution audit chain (`refs/gatos/audit/jobs/<job-id>`): one commit per accepted result, holding
 * the PoE envelope (`poe.dsse.json`) and naming the result commit in a trailer. Normative text:
 * `spec/job-plane.md` § 4 (completion) and § 6.
 */
import { GatosError } from '../errors.js';
import { type GitObject, type Oid, isOid, parseTrailers } from '../store/git-object.js';
import type { ObjectStore } from '../store/object-store.js';
import { filesCommit, readCommitFiles } from './commit-files.js';
import { contentDigest } from './fields.js';
import { POE_FILE } from './job-result.js';

/** The message of an audit commit. */
export function auditMessage(jobId: string, resultCommit: Oid, envelopeBytes: Uint8Array): string {
  return `gatos job audit ${jobId}\n\nResult: ${resultCommit}\nPoE-Digest: ${contentDigest(envelopeBytes)}\n`;
}

/** The audit commit appending a result's envelope on top of `parent` (null: the chain's first entry). */
export function auditCommitObjects(init: {
  jobId: string;
  resultCommit: Oid;
  envelopeBytes: Uint8Array;
  parent: Oid | null;
}): { commit: GitObject; objects: GitObject[] } {
  const built = filesCommit(
    new Map([[POE_FILE, init.envelopeBytes]]),
    init.parent ? [init.parent] : [],
    auditMessage(init.jobId, init.resultCommit, init.envelopeBytes),
  );
  return { commit: built.commit, objects: built.objects };
}

/** One audit entry. */
export interface AuditEntry {
  commit: Oid;
  parent: Oid | null;
  resultCommit: Oid;
  envelopeBytes: Uint8Array;
}

/** Reads and checks one audit commit (`GATOS_E_JOB_RECORD`). */
export async function readAuditEntry(objects: ObjectStore, jobId: string, oid: Oid): Promise<AuditEntry> {
  const { commit, files } = await readCommitFiles(objects, oid);
  const bad = (why: string) =>
    new GatosError('GATOS_E_JOB_RECORD', `audit commit ${oid.slice(0, 12)}: ${why}`, {
      data: { commit: oid },
    });
  const env = files.get(POE_FILE);
  if (!env || files.size !== 1) throw bad(`tree must hold exactly ${POE_FILE}`);
  const result = parseTrailers(commit.message).get('Result')?.[0];
  if (!isOid(result)) throw bad('no Result trailer');
  if (commit.message !== auditMessage(jobId, result, env)) throw bad('message does not match the envelope');
  if (commit.parents.length > 1) throw bad('has more than one parent');
  if (filesCommit(files, commit.parents, commit.message).commit.oid !== oid) {
    throw bad('is not the canonical audit commit (ident or tree differ)');
  }
  return { commit: oid, parent: commit.parents[0] ?? null, resultCommit: result, envelopeBytes: env };
}
