/**
 * @gatos/gatosd — the GATOS daemon side. This slice: the push-gate (a pre-receive hook) and its DENY audit chain.
 */
export * from './push-gate.js';
export * from './deny-audit.js';
export * from './pre-receive.js';
export * from './hook-install.js';
export * from './gate-refold.js';
export * from './http-git-server.js';
export * from './daemon/config.js';
export * from './daemon/lock.js';
export * from './daemon/metrics.js';
export * from './daemon/sse.js';
export * from './daemon/refs-watcher.js';
export * from './daemon/bus-service.js';
export * from './daemon/server.js';
export { type Daemon, startDaemon } from './daemon/main.js';
export { type KeyFile, createKeyFile, deleteKeyFile, keysDir, listKeyFiles } from './key-file.js';
export { resolveActor, signerFor } from './signer.js';
export * from './jobs/runtime.js';
export * from './jobs/wasm-runner.js';
export * from './jobs/job-files.js';
export * from './jobs/group-memory.js';
export * from './jobs/executor.js';
export * from './jobs/remote.js';
export * from './jobs/remote-ref-store.js';
export * from './jobs/worker.js';
