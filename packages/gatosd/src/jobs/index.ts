/** `@gatos/gatosd/jobs`: the worker side of the job plane (runtimes, executor, WASI runner, the worker loop). */
export * from './runtime.js';
export * from './wasm-runner.js';
export * from './job-files.js';
export * from './group-memory.js';
export * from './executor.js';
export * from './interface.js';
export * from './worker.js';
