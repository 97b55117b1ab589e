/** The job plane (M4): manifests, identities, claims, results, Proof-of-Execution and local job operations. */
export {
  CONTENT_DIGEST_RE,
  JOB_PATH_MAX_BYTES,
  JOB_PATH_RE,
  WORKER_KEY_ID_RE,
  compareBytes,
  contentDigest,
} from './fields.js';
export * from './manifest.js';
export * from './job-identity.js';
export * from './commit-files.js';
export * from './manifest-commit.js';
export * from './claim.js';
export * from './job-result.js';
export * from './proof-of-execution.js';
export * from './job-audit.js';
export * from './cache-index.js';
export * from './completion.js';
export * from './interface.js';
export * from './job-state.js';
export * from './job-submit.js';
export * from './job-view.js';
export * from './job-lease.js';
export * from './job-complete.js';
export * from './job-verify.js';
