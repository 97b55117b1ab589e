/**
 * Running one claimed job: heartbeats every third of the lease (abandoning the run when the lease is lost), the
 * program in a scratch directory (or a verified cached result), then the signed completion. A failed run still
 * gets a signed result; an error gives the claim back instead of sitting on it until the lease runs out.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ClaimSigner,
  completeJob,
  heartbeatJob,
  isGatosError,
  type JobStores,
  type JobSummary,
  type ManifestCommitData,
  type Oid,
  type RefStore,
  releaseJob,
} from '@gatos/core';
import { reuseCachedRun } from './cache-reuse.js';
import type { CompletionNotices } from './completion-notices.js';
import { runProgram } from './executor.js';
import type { WorkerEvent, WorkerReport } from './interface.js';
import { materialize } from './job-files.js';
import { checkRuntime, type RunnableKind } from './runtime.js';

/** What running a claimed job needs from its worker. */
export interface ClaimedJobContext {
  stores: JobStores;
  /** Where the trust registry is read (the worker's own refs). */
  trustRefs: RefStore;
  signer: ClaimSigner;
  signal?: AbortSignal | undefined;
  leaseMs: number;
  now: () => number;
  emit: (e: WorkerEvent) => void;
  report: WorkerReport;
  notices: CompletionNotices;
  workRoot?: string | undefined;
}

/** An error as a worker event reports it: its code (`GATOS_E_INTERNAL` for anything not a GatosError) and message. */
export function describeError(e: unknown): { code: string; message: string } {
  if (isGatosError(e)) return { code: e.code, message: e.message };
  return { code: 'GATOS_E_INTERNAL', message: e instanceof Error ? e.message : String(e) };
}

/** Runs the job this worker holds the claim of (`claim`), and completes, releases or abandons it. */
export async function runClaimedJob(
  ctx: ClaimedJobContext,
  job: JobSummary,
  m: ManifestCommitData,
  claim: { epoch: number; commit: Oid },
): Promise<void> {
  const { stores, now, emit, report, leaseMs } = ctx;
  const started = now();
  const abort = new AbortController();
  const onOuterAbort = () => abort.abort();
  ctx.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let lost = false;
  let beating = Promise.resolve();
  const beat = setInterval(
    () => {
      beating = beating.then(async () => {
        if (lost || abort.signal.aborted) return;
        try {
          const r = await heartbeatJob(stores, {
            jobId: job.jobId,
            signer: ctx.signer,
            nowMs: now(),
            epoch: claim.epoch,
            leaseMs,
          });
          if (r.outcome === 'lease-lost') {
            lost = true;
            abort.abort();
          }
        } catch (e) {
          emit({ event: 'error', jobId: job.jobId, ...describeError(e) });
        }
      });
    },
    Math.max(1, Math.floor(leaseMs / 3)),
  );
  const scratch = await mkdtemp(join(ctx.workRoot ?? tmpdir(), 'gatos-job-'));
  try {
    let run = await reuseCachedRun(stores, ctx.trustRefs, m);
    const cached = run !== null;
    if (!run) {
      const kind = m.manifest.program.kind as RunnableKind;
      const runtime = await checkRuntime(m.manifest.program.runtime, kind);
      const programDir = join(scratch, 'program');
      const inputsDir = join(scratch, 'inputs');
      await materialize(programDir, m.programFiles);
      await materialize(inputsDir, m.inputFiles);
      const out = await runProgram({
        kind,
        entry: m.manifest.program.entry,
        programDir,
        inputsDir,
        outputsDir: join(scratch, 'outputs'),
        args: m.manifest.args,
        env: m.manifest.env,
        limits: m.manifest.limits,
        signal: abort.signal,
        workRoot: scratch,
      });
      run = { ...out, runtime };
    }
    clearInterval(beat);
    await beating;
    if (lost || ctx.signal?.aborted) {
      if (lost) {
        report.leaseLost++;
        emit({ event: 'lease-lost', jobId: job.jobId });
      } else {
        await releaseJob(stores, {
          jobId: job.jobId,
          signer: ctx.signer,
          nowMs: now(),
          epoch: claim.epoch,
        });
      }
      return;
    }
    const finished = now();
    const done = await completeJob(stores, {
      jobId: job.jobId,
      signer: ctx.signer,
      nowMs: finished,
      claim,
      run,
      runLog: {
        started_at: new Date(started).toISOString(),
        finished_at: new Date(finished).toISOString(),
        duration_ms: finished - started,
        worker: ctx.signer.keyId,
        cached,
      },
    });
    report.completed++;
    if (cached) report.cacheHits++;
    report.statuses[done.result.status] = (report.statuses[done.result.status] ?? 0) + 1;
    report.jobs.push({ jobId: job.jobId, status: done.result.status, ms: finished - started, cached });
    emit({
      event: 'completed',
      jobId: job.jobId,
      status: done.result.status,
      exitCode: done.result.exit_code,
      ms: finished - started,
      cached,
    });
    ctx.notices.notify(job.jobId, done.result.status, done.resultCommit);
  } catch (e) {
    const d = describeError(e);
    if (d.code === 'GATOS_E_JOB_LEASE_LOST' || d.code === 'GATOS_E_JOB_RESULT_EXISTS') {
      report.refused++;
      emit({ event: 'refused', jobId: job.jobId, ...d });
    } else {
      emit({ event: 'error', jobId: job.jobId, ...d });
      // Give the job back rather than sit on it until the lease runs out.
      await releaseJob(stores, {
        jobId: job.jobId,
        signer: ctx.signer,
        nowMs: now(),
        epoch: claim.epoch,
      }).catch(() => {});
    }
  } finally {
    clearInterval(beat);
    ctx.signal?.removeEventListener('abort', onOuterAbort);
    await rm(scratch, { recursive: true, force: true });
  }
}
