/**
 * @gatos/gatosd — the GATOS daemon side, as four entry points a caller imports on their own (so a command loads
 * only what it uses): `@gatos/gatosd/gate` (the push-gate), `/daemon` (gatosd), `/jobs` (workers) and
 * `/identity` (keys and the acting identity). This barrel re-exports all four.
 */
export * from './gate/index.js';
export * from './daemon/index.js';
export * from './jobs/index.js';
export * from './identity/index.js';
