/**
 * @gatos/core — the pure core of GATOS: envelopes, canonical encoding, fold VM, proofs.
 * No fs, no git processes, no clock, no randomness of its own: those are injected by the shells.
 */
export * from './errors.js';
export * from './git-object.js';
export type * from './object-store.js';
export type * from './ref-store.js';
