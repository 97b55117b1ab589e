/**
 * @gatos/gatosd — the GATOS daemon side. This slice: the push-gate (a pre-receive hook) and its DENY audit chain.
 */
export * from './push-gate.js';
export * from './deny-audit.js';
export * from './pre-receive.js';
export * from './hook-install.js';
export * from './gate-refold.js';
export * from './http-git-server.js';
