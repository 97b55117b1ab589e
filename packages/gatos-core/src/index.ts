/**
 * @gatos/core — the pure core of GATOS: envelopes, canonical encoding, fold VM, proofs.
 * No fs, no git processes, no clock, no randomness of its own: those are injected by the shells.
 */
export * from './errors.js';
export * from './git-object.js';
export type * from './object-store.js';
export type * from './ref-store.js';
export * from './memory-stores.js';
export * from './ref-layout.js';
export * from './repo-config.js';
export * from './canonical.js';
export * from './event-envelope.js';
export * from './event-cid.js';
export * from './ed25519.js';
export * from './event-signature.js';
export * from './tree-files.js';
export * from './trust-registry.js';
export * from './chain/cas-retry.js';
export * from './chain/event-commit.js';
export * from './chain/signed-chain.js';
export * from './journal.js';
export * from './audit/deny-audit.js';
export * from './journal-verify.js';
export * from './journal-cursor.js';
export * from './namespace-order.js';
export * from './ulid.js';
export * from './dsse.js';
export * from './in-toto.js';
export * from './state-root.js';
export * from './proof-of-fold.js';
export * from './fold/echolua.js';
export * from './fold/echolua-identity.js';
export * from './fold/fold-engine.js';
export {
  FORBIDDEN_GLOBALS,
  FORBIDDEN_MEMBERS,
  lintFindings,
  lintFold,
  tokenizeLua,
} from './fold/echolua-lint.js';
export type { LintFinding, LuaToken } from './fold/echolua-lint.js';
export type { FoldEvent, FoldValue } from './fold/lua-value.js';
export * from './fold-runner.js';
export * from './fold-verify.js';
export * from './policy/rgs-lexer.js';
export * from './policy/rgs-parser.js';
export * from './policy/rgc.js';
export * from './policy/policy-eval.js';
export * from './governance/index.js';
export * from './bus/index.js';
export * from './job/index.js';
