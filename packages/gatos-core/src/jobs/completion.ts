/**
 * A completion prepared as data: every object to write and the three ref updates (claim → done, result
 * created, audit appended) with the values they expect. Locally `completeJob` applies them in the order of § 4.5;
 * a shell publishing to a remote pushes them in ONE `git push --atomic` with a lease per ref.
 */
import { GatosError } from '../errors.js';
import type { GitObject, Oid } from '../store/git-object.js';
import type { JsonObject } from '../proofs/in-toto.js';
import type { RefUpdate } from '../store/ref-store.js';
import { type ClaimRecord, type ClaimSigner, claimCommitObjects, nextClaim } from './claim.js';
import { auditCommitObjects } from './job-audit.js';
import { type JobResult, type JobRun, buildJobResult, resultCommitObjects } from './job-result.js';
import type { ManifestCommitData } from './manifest-commit.js';
import { buildExecutionStatement, signExecution } from './proof-of-execution.js';
import { jobAuditRef, jobClaimRef, jobResultRef } from '../ref-layout.js';

/** Input of {@link prepareCompletion}. */
export interface CompletionInput {
  manifest: Pick<ManifestCommitData, 'jobId' | 'manifest'>;
  /** The claim tip the worker read, and its commit. */
  tip: ClaimRecord | null;
  tipCommit: Oid | null;
  /** The audit chain's tip (null when absent). */
  auditHead: Oid | null;
  signer: ClaimSigner;
  nowMs: number;
  /** The claim the run happened under. */
  claim: { epoch: number; commit: Oid };
  run: JobRun;
  runLog: JsonObject | Uint8Array;
}

/** A prepared completion. */
export interface PreparedCompletion {
  result: JobResult;
  resultCommit: Oid;
  doneCommit: Oid;
  done: ClaimRecord;
  auditCommit: Oid;
  envelopeBytes: Uint8Array;
  /** Every object the three refs need, to write before any ref moves. */
  objects: GitObject[];
  /** In the local order: claim (the commit point), result (create-only), audit. */
  updates: [RefUpdate, RefUpdate, RefUpdate];
}

/**
 * Builds the result, its signed PoE, the result commit, the `done` claim commit and the audit commit, and the
 * three compare-and-swap updates. Throws as {@link nextClaim} does when the worker does not hold the claim
 * (`GATOS_E_JOB_LEASE_LOST`) or the job is done (`GATOS_E_JOB_RESULT_EXISTS`).
 */
export function prepareCompletion(c: CompletionInput): PreparedCompletion {
  const jobId = c.manifest.jobId;
  if ((c.tip === null) !== (c.tipCommit === null)) {
    throw new GatosError(
      'GATOS_E_INTERNAL',
      'prepareCompletion: tip and tipCommit must both be given or null',
    );
  }
  const result = buildJobResult(c.manifest, c.run, { worker: c.signer.keyId, ...c.claim });
  const envelope = signExecution(buildExecutionStatement(c.manifest.manifest, result), c.signer);
  const rc = resultCommitObjects({
    result,
    outputs: c.run.outputs,
    stdout: c.run.stdout,
    stderr: c.run.stderr,
    envelope,
    runLog: c.runLog,
  });
  const done = nextClaim(c.tip, 'done', {
    jobId,
    worker: c.signer.keyId,
    nowMs: c.nowMs,
    leaseMs: c.tip?.lease_ms ?? 1,
    epoch: c.claim.epoch,
    result: rc.commit.oid,
  });
  const dc = claimCommitObjects(done, c.tipCommit, c.signer);
  const ac = auditCommitObjects({
    jobId,
    resultCommit: rc.commit.oid,
    envelopeBytes: rc.envelopeBytes,
    parent: c.auditHead,
  });
  return {
    result,
    resultCommit: rc.commit.oid,
    doneCommit: dc.commit.oid,
    done,
    auditCommit: ac.commit.oid,
    envelopeBytes: rc.envelopeBytes,
    objects: [...rc.objects, ...dc.objects, ...ac.objects],
    updates: [
      { ref: jobClaimRef(jobId), expect: c.tipCommit, next: dc.commit.oid },
      { ref: jobResultRef(jobId), expect: null, next: rc.commit.oid },
      { ref: jobAuditRef(jobId), expect: c.auditHead, next: ac.commit.oid },
    ],
  };
}
