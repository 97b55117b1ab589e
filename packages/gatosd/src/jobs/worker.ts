/**
 * A job worker: finds claimable jobs, claims them (one compare-and-swap each: local, or a leased push to the
 * shared repository), runs them with a heartbeat, and commits a signed result with its Proof-of-Execution.
 * There is no scheduler: git's atomic ref updates decide every race, and a lost race is simply the next job.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  busEnvelope,
  claimJob,
  type ClaimSigner,
  completeJob,
  createUlidFactory,
  type EventEnvelope,
  type EventSigner,
  GatosError,
  heartbeatJob,
  isGatosError,
  jobIdentities,
  jobResultRef,
  type JobRun,
  JOBS_TOPIC,
  type JobStores,
  type JobSummary,
  listJobs,
  lookupCache,
  type ManifestCommitData,
  type ObjectStore,
  type Oid,
  publish,
  readManifestCommit,
  readResultCommit,
  readTrust,
  type RefStore,
  releaseJob,
  repairJob,
  verifyJob,
} from '@gatos/core';
import { createRemoteRefStore, fetchJobs, type Repository } from '@gatos/git';
import { createRandomPool } from '../random-pool.js';
import { runProgram } from './executor.js';
import { materialize } from './job-files.js';
import { checkRuntime, type RunnableKind } from './runtime.js';

/** What a worker reports as it goes (for logs and `--json` event streams). */
export type WorkerEvent =
  | { event: 'claimed'; jobId: string; epoch: number; reclaimed: boolean }
  | { event: 'lost-race'; jobId: string }
  | {
      event: 'completed';
      jobId: string;
      status: string;
      exitCode: number | null;
      ms: number;
      cached: boolean;
    }
  | { event: 'lease-lost'; jobId: string }
  | { event: 'repaired'; jobId: string; status: string }
  | { event: 'refused'; jobId: string; code: string; message: string }
  | { event: 'skipped'; jobId: string; code: string; message: string }
  | { event: 'error'; jobId?: string; code: string; message: string };

/** Options of {@link runWorker}. */
export interface WorkerInit {
  repo: Repository;
  objects: ObjectStore;
  /** The refs of `repo`. */
  refs: RefStore;
  /** The shared repository (path, URL or remote name); absent: claims are local compare-and-swaps on `repo`. */
  remote?: string;
  /** The worker key: signs claims and Proofs-of-Execution. */
  signer: ClaimSigner;
  /** Signs completion notices on bus topic `jobs` (none are published without it). */
  busSigner?: EventSigner;
  /** Jobs run at once (1). */
  concurrency?: number;
  /** Return when no job is left that could become claimable (all done, or not runnable here). */
  untilIdle?: boolean;
  /** Lease of each claim, renewed every third of it (30 s). */
  leaseMs?: number;
  /** Clock-skew margin before an expired lease may be taken over (spec § 4; 2 s). */
  skewMs?: number;
  /** Pause between looks for new jobs when there is nothing to claim (500 ms). */
  pollMs?: number;
  /** Stop after this many claims (tests, benchmarks). */
  maxJobs?: number;
  /** The wall clock (leases only; never part of a result's identity). */
  now?: () => number;
  /** Called for every {@link WorkerEvent}. */
  onEvent?: (e: WorkerEvent) => void;
  /** Aborting stops claiming; running jobs are killed and their claims released. */
  signal?: AbortSignal;
  /** Parent of per-job scratch directories (the OS temp dir). */
  workRoot?: string;
  /**
   * A live subscription to bus topic `jobs` (e.g. gatosd's SSE stream): calls `onMessage` for each announcement
   * so the worker looks for work at once instead of at its next poll; runs until `signal` aborts.
   */
  subscribe?: (onMessage: () => void, signal: AbortSignal) => Promise<void>;
}

/** What a worker did. */
export interface WorkerReport {
  worker: string;
  claimed: number;
  completed: number;
  cacheHits: number;
  lostRaces: number;
  leaseLost: number;
  refused: number;
  /** Bus announcements that woke the worker (with `subscribe`). */
  wakeups: number;
  /** Completed jobs by status. */
  statuses: Record<string, number>;
  jobs: { jobId: string; status: string; ms: number; cached: boolean }[];
}

const RUNNABLE = new Set<string>(['script', 'wasm']);

/** Order in which this worker tries candidates: rotated by its key so racing workers start apart. */
function rotation(worker: string, ids: string[]): string[] {
  if (ids.length < 2) return ids;
  const h = createHash('sha256').update(worker).digest().readUInt32BE(0) % ids.length;
  return [...ids.slice(h), ...ids.slice(0, h)];
}

function describe(e: unknown): { code: string; message: string } {
  if (isGatosError(e)) return { code: e.code, message: e.message };
  return { code: 'GATOS_E_INTERNAL', message: e instanceof Error ? e.message : String(e) };
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
  let wake: (() => void) | null = null;
  /** Set by a bus announcement that arrived while the loop was busy, so the next nap is skipped. */
  let woken = false;
  const nap = (ms: number) =>
    new Promise<void>((resolve) => {
      if (woken) {
        woken = false;
        return resolve();
      }
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        wake = null;
        woken = false;
        resolve();
      }
      wake = done;
      init.signal?.addEventListener('abort', done, { once: true });
    });
  const subscription = new AbortController();
  const onOuterAbortSub = () => subscription.abort();
  init.signal?.addEventListener('abort', onOuterAbortSub, { once: true });
  const following = init.subscribe
    ? init
        .subscribe(() => {
          report.wakeups++;
          woken = true;
          wake?.();
        }, subscription.signal)
        .catch((e) => emit({ event: 'error', ...describe(e) }))
    : Promise.resolve();

  /**
   * Completion notices on bus topic `jobs`, queued and published together by one flusher: the job's slot is
   * not held while the notice is written, and concurrent completions share one compare-and-swap.
   */
  const notices: EventEnvelope[] = [];
  let flushing: Promise<void> | null = null;
  const flush = (): Promise<void> => {
    if (flushing || notices.length === 0 || !init.busSigner) return flushing ?? Promise.resolve();
    const signer = init.busSigner;
    flushing = (async () => {
      while (notices.length) {
        const batch = notices.splice(0);
        try {
          await publish(batch, { ...stores, topic: JOBS_TOPIC, signer, now: new Date(now()) });
        } catch (e) {
          // The results are already durable; notices are a courtesy to subscribers.
          emit({ event: 'error', ...describe(e) });
        }
      }
    })().finally(() => {
      flushing = null;
    });
    return flushing;
  };
  const notify = (jobId: string, status: string, result: Oid) => {
    if (!init.busSigner) return;
    notices.push(
      busEnvelope({
        actor: init.busSigner.actor,
        ulid: ulid(),
        now: new Date(now()),
        data: { event: 'job.completed', job_id: jobId, status, result },
      }),
    );
    void flush();
  };

  const reuse = async (m: ManifestCommitData): Promise<JobRun | null> => {
    if (!m.manifest.cache) return null;
    const source = await lookupCache(stores.objects, stores.refs, jobIdentities(m.manifest).cache_key);
    if (!source || source === m.jobId) return null;
    const trust = await readTrust(stores.objects, init.refs);
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
  };

  const execute = async (job: JobSummary, m: ManifestCommitData, claim: { epoch: number; commit: Oid }) => {
    const started = now();
    const abort = new AbortController();
    const onOuterAbort = () => abort.abort();
    init.signal?.addEventListener('abort', onOuterAbort, { once: true });
    let lost = false;
    let beating = Promise.resolve();
    const beat = setInterval(
      () => {
        beating = beating.then(async () => {
          if (lost || abort.signal.aborted) return;
          try {
            const r = await heartbeatJob(stores, {
              jobId: job.jobId,
              signer: init.signer,
              nowMs: now(),
              epoch: claim.epoch,
              leaseMs,
            });
            if (r.outcome === 'lease-lost') {
              lost = true;
              abort.abort();
            }
          } catch (e) {
            emit({ event: 'error', jobId: job.jobId, ...describe(e) });
          }
        });
      },
      Math.max(1, Math.floor(leaseMs / 3)),
    );
    const scratch = await mkdtemp(join(init.workRoot ?? tmpdir(), 'gatos-job-'));
    try {
      let run = await reuse(m);
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
      if (lost || init.signal?.aborted) {
        if (lost) {
          report.leaseLost++;
          emit({ event: 'lease-lost', jobId: job.jobId });
        } else {
          await releaseJob(stores, {
            jobId: job.jobId,
            signer: init.signer,
            nowMs: now(),
            epoch: claim.epoch,
          });
        }
        return;
      }
      const finished = now();
      const done = await completeJob(stores, {
        jobId: job.jobId,
        signer: init.signer,
        nowMs: finished,
        claim,
        run,
        runLog: {
          started_at: new Date(started).toISOString(),
          finished_at: new Date(finished).toISOString(),
          duration_ms: finished - started,
          worker: init.signer.keyId,
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
      notify(job.jobId, done.result.status, done.resultCommit);
    } catch (e) {
      const d = describe(e);
      if (d.code === 'GATOS_E_JOB_LEASE_LOST' || d.code === 'GATOS_E_JOB_RESULT_EXISTS') {
        report.refused++;
        emit({ event: 'refused', jobId: job.jobId, ...d });
      } else {
        emit({ event: 'error', jobId: job.jobId, ...d });
        // Give the job back rather than sit on it until the lease runs out.
        await releaseJob(stores, {
          jobId: job.jobId,
          signer: init.signer,
          nowMs: now(),
          epoch: claim.epoch,
        }).catch(() => {});
      }
    } finally {
      clearInterval(beat);
      init.signal?.removeEventListener('abort', onOuterAbort);
      await rm(scratch, { recursive: true, force: true });
    }
  };

  const tryClaim = async (job: JobSummary): Promise<boolean> => {
    let m: ManifestCommitData;
    try {
      m = await readManifestCommit(stores.objects, job.manifest);
      if (!RUNNABLE.has(m.manifest.program.kind)) {
        throw new GatosError(
          'GATOS_E_JOB_RUNTIME',
          `program kind ${m.manifest.program.kind} does not run here`,
        );
      }
      await checkRuntime(m.manifest.program.runtime, m.manifest.program.kind as RunnableKind);
    } catch (e) {
      const d = describe(e);
      unrunnable.set(job.jobId, d.code);
      emit({ event: 'skipped', jobId: job.jobId, ...d });
      return false;
    }
    const c = await claimJob(stores, {
      jobId: job.jobId,
      signer: init.signer,
      nowMs: now(),
      leaseMs,
      skewMs,
    });
    if (c.outcome !== 'claimed') {
      report.lostRaces++;
      emit({ event: 'lost-race', jobId: job.jobId });
      return false;
    }
    report.claimed++;
    emit({ event: 'claimed', jobId: job.jobId, epoch: c.epoch, reclaimed: c.reclaimed });
    const p = execute(job, m, { epoch: c.epoch, commit: c.commit }).finally(() => {
      running.delete(job.jobId);
      wake?.();
    });
    running.set(job.jobId, p);
    return true;
  };

  try {
    while (!init.signal?.aborted) {
      if (init.maxJobs !== undefined && report.claimed >= init.maxJobs) break;
      if (init.remote) {
        try {
          await fetchJobs(init.repo, init.remote);
        } catch (e) {
          emit({ event: 'error', ...describe(e) });
          await nap(pollMs);
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
          emit({ event: 'error', jobId: j.jobId, ...describe(e) });
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
        await Promise.race([nap(pollMs), ...running.values()]);
      }
    }
  } finally {
    await Promise.allSettled(running.values());
    while (flushing || notices.length) await flush();
    subscription.abort();
    init.signal?.removeEventListener('abort', onOuterAbortSub);
    await following;
  }
  return report;
}
