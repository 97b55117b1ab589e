import type { Oid } from '../store/git-object.js';
import type { ObjectStore } from '../store/object-store.js';
import type { RefStore } from '../store/ref-store.js';
import type { ClaimLink, ClaimRecord, ClaimSigner } from './claim.js';
import type { ManifestCommitData } from './manifest-commit.js';

/** The stores job operations work on. */
export interface JobStores {
  objects: ObjectStore;
  refs: RefStore;
}

/** The state of a job as listed. */
export type JobState = 'pending' | 'claimed' | 'expired' | 'released' | 'done';

/** A job as read by {@link readJob}. */
export interface JobView {
  jobId: string;
  manifest: ManifestCommitData;
  claimHead: Oid | null;
  claim: ClaimLink | null;
  result: Oid | null;
  audit: Oid | null;
  state: JobState;
}

/** A job as listed by {@link listJobs}. */
export interface JobSummary {
  jobId: string;
  manifest: Oid;
  claimHead: Oid | null;
  claim: ClaimRecord | null;
  result: Oid | null;
  state: JobState;
}

/** Options of a claim-chain step by a worker. */
export interface WorkerStep {
  jobId: string;
  signer: ClaimSigner;
  nowMs: number;
}

/** What {@link claimJob} ended with. */
export type ClaimOutcome =
  | { outcome: 'claimed'; jobId: string; epoch: number; reclaimed: boolean; commit: Oid; record: ClaimRecord }
  | { outcome: 'held'; jobId: string; worker: string; epoch: number; expires_at_ms: number; race: boolean }
  | { outcome: 'done'; jobId: string; result: Oid; race: boolean }
  | { outcome: 'lost-race'; jobId: string };

/** What {@link heartbeatJob} and {@link releaseJob} ended with. */
export type LeaseOutcome =
  | { outcome: 'renewed' | 'released'; commit: Oid; record: ClaimRecord }
  | { outcome: 'lease-lost'; tip: ClaimRecord | null };
