/** The types the worker's parts share (`spec/job-plane.md` § 4–7): its options, its events and its report. */
import type { ClaimSigner, EventSigner, ObjectStore, RefStore } from '@gatos/core';
import type { Repository } from '@gatos/git';

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
