/**
 * A job worker: finds claimable jobs, claims them (one compare-and-swap each: local, or a leased push to the
 * shared repository), runs them with a heartbeat, and commits a signed result with its Proof-of-Execution.
 * There is no scheduler: git's atomic ref updates decide every race, and a lost race is simply the next job.
 */
import { createHash } from 'node:crypto';
import {
  claimJob,
  createUlidFactory,
  GatosError,
  type JobStores,
  type JobSummary,
  listJobs,
  type ManifestCommitData,
  readManifestCommit,
  repairJob,
} from '@gatos/core';
import { createRemoteRefStore, fetchJobs } from '@gatos/git';
import { createRandomPool } from '../random-pool.js';
import { createCompletionNotices } from './completion-notices.js';
import type { WorkerInit, WorkerReport } from './interface.js';
import { type ClaimedJobContext, describeError, runClaimedJob } from './run-claimed-job.js';
import { createWakeup } from './worker-wakeup.js';
import { checkRuntime, type RunnableKind } from './runtime.js';

const RUNNABLE = new Set<string>(['script', 'wasm']);

/** Order in which this worker tries candidates: rotated by its key so racing workers start apart. */
function rotation(worker: string, ids: string[]): string[] {
  if (ids.length < 2) return ids;
  const h = createHash('sha256').update(worker).digest().readUInt32BE(0) % ids.length;
  return [...ids.slice(h), ...ids.slice(0, h)];
}

/** Runs a worker until it is aborted, reaches `maxJobs`, or (with `untilIdle`) has nothing left to do. */
export async function runWorker(init: WorkerInit): Promise<WorkerReport> {
  const now = init.now ?? Date.now;
  const leaseMs = init.leaseMs ?? 30_000;
  const skewMs = init.skewMs ?? 2_000;
  const pollMs = init.pollMs ?? 500;
  const concurrency = Math.max(1, init.concurrency ?? 1);
  const emit = init.onEvent ?? (() => {});
  const remoteRefs = init.remote
    ? createRemoteRefStore({ repo: init.repo, local: init.refs, remote: init.remote })
    : null;
  const stores: JobStores = { objects: init.objects, refs: remoteRefs ?? init.refs };
  const report: WorkerReport = {
    worker: init.signer.keyId,
    claimed: 0,
    completed: 0,
    cacheHits: 0,
    lostRaces: 0,
    leaseLost: 0,
    refused: 0,
    wakeups: 0,
    statuses: {},
    jobs: [],
  };
  const running = new Map<string, Promise<void>>();
  /** Jobs this worker will not run (runtime differs, manifest unreadable): never claimed by it. */
  const unrunnable = new Map<string, string>();
  /** Jobs whose interrupted completion this worker already tried to repair (once per run). */
  const repairTried = new Set<string>();
  const ulid = createUlidFactory(now, createRandomPool());
  const wakeup = createWakeup({
    signal: init.signal,
    subscribe: init.subscribe,
    onAnnouncement: () => report.wakeups++,
    onError: (e) => emit({ event: 'error', ...describeError(e) }),
  });
  const notices = createCompletionNotices({
    stores,
    signer: init.busSigner,
    now,
    ulid,
    onError: (e) => emit({ event: 'error', ...describeError(e) }),
  });
  const claimedCtx: ClaimedJobContext = {
    stores,
    trustRefs: init.refs,
    signer: init.signer,
    signal: init.signal,
    leaseMs,
    now,
    emit,
    report,
    notices,
    workRoot: init.workRoot,
  };

  const tryClaim = async (summary: JobSummary): Promise<boolean> => {
    let m: ManifestCommitData;
    try {
      m = await readManifestCommit(stores.objects, summary.manifest);
      if (!RUNNABLE.has(m.manifest.program.kind)) {
        throw new GatosError(
          'GATOS_E_JOB_RUNTIME',
          `program kind ${m.manifest.program.kind} does not run here`,
        );
      }
      await checkRuntime(m.manifest.program.runtime, m.manifest.program.kind as RunnableKind);
    } catch (e) {
      const d = describeError(e);
      unrunnable.set(summary.jobId, d.code);
      emit({ event: 'skipped', jobId: summary.jobId, ...d });
      return false;
    }
    const c = await claimJob(stores, {
      jobId: summary.jobId,
      signer: init.signer,
      nowMs: now(),
      leaseMs,
      skewMs,
    });
    if (c.outcome !== 'claimed') {
      report.lostRaces++;
      emit({ event: 'lost-race', jobId: summary.jobId });
      return false;
    }
    report.claimed++;
    emit({ event: 'claimed', jobId: summary.jobId, epoch: c.epoch, reclaimed: c.reclaimed });
    const p = runClaimedJob(claimedCtx, summary, m, { epoch: c.epoch, commit: c.commit }).finally(() => {
      running.delete(summary.jobId);
      wakeup.wake();
    });
    running.set(summary.jobId, p);
    return true;
  };

  try {
    while (!init.signal?.aborted) {
      if (init.maxJobs !== undefined && report.claimed >= init.maxJobs) break;
      if (init.remote) {
        try {
          await fetchJobs(init.repo, init.remote);
        } catch (e) {
          emit({ event: 'error', ...describeError(e) });
          await wakeup.nap(pollMs);
          continue;
        }
      }
      // Done jobs are most of a long queue: their claim chains are not read on every loop.
      const jobs = await listJobs(stores, { nowMs: now(), skewMs, skipDoneClaims: true });
      // A completion interrupted after its commit point (a done claim, no result ref yet): anyone finishes it,
      // from the done record alone, so no crash leaves a job without its result.
      for (const j of jobs) {
        if (j.claim?.state !== 'done' || j.result !== null || repairTried.has(j.jobId)) continue;
        repairTried.add(j.jobId);
        try {
          const r = await repairJob(stores, j.jobId);
          if (r) emit({ event: 'repaired', jobId: j.jobId, status: r.result.status });
        } catch (e) {
          emit({ event: 'error', jobId: j.jobId, ...describeError(e) });
        }
      }
      const open = jobs.filter(
        (j) => j.state !== 'done' && !unrunnable.has(j.jobId) && !running.has(j.jobId),
      );
      const claimable = open.filter(
        (j) => j.state === 'pending' || j.state === 'released' || j.state === 'expired',
      );
      let claimedNow = 0;
      const byId = new Map(claimable.map((j) => [j.jobId, j]));
      for (const id of rotation(init.signer.keyId, [...byId.keys()])) {
        if (running.size >= concurrency || init.signal?.aborted) break;
        if (init.maxJobs !== undefined && report.claimed >= init.maxJobs) break;
        if (await tryClaim(byId.get(id)!)) claimedNow++;
      }
      if (init.untilIdle && running.size === 0 && open.length === 0) break;
      if (running.size >= concurrency) {
        await Promise.race(running.values());
      } else if (claimedNow === 0) {
        // Nothing won this round: wait for new jobs, an expiring lease, or a slot.
        await Promise.race([wakeup.nap(pollMs), ...running.values()]);
      }
    }
  } finally {
    await Promise.allSettled(running.values());
    await notices.drain();
    await wakeup.stop();
  }
  return report;
}
