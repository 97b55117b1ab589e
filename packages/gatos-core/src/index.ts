/**
 * @gatos/core — the pure core of GATOS: envelopes, canonical encoding, fold VM, proofs.
 * No fs, no git processes, no clock, no randomness of its own: those are injected by the shells.
 */
export * from './errors.js';
export * from './store/git-object.js';
export type * from './store/object-store.js';
export type * from './store/ref-store.js';
export * from './store/memory-stores.js';
export * from './ref-layout.js';
export * from './repo-config.js';
export * from './encoding/canonical.js';
export * from './encoding/bytes.js';
export * from './events/event-envelope.js';
export * from './events/event-cid.js';
export * from './trust/ed25519.js';
export * from './events/event-signature.js';
export * from './store/tree-files.js';
export * from './trust/trust-registry.js';
export * from './chain/cas-retry.js';
export * from './chain/event-commit.js';
export * from './chain/signed-chain.js';
export * from './events/journal.js';
export * from './audit/deny-audit.js';
export * from './events/journal-verify.js';
export * from './events/journal-cursor.js';
export * from './events/namespace-order.js';
export * from './encoding/ulid.js';
export * from './proofs/dsse.js';
export * from './proofs/in-toto.js';
export * from './fold/state-root.js';
export * from './proofs/fold-statement.js';
export * from './proofs/proof-of-fold.js';
export * from './fold/checkpoint.js';
export * from './fold/interface.js';
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
export * from './fold/fold-runner.js';
export * from './fold/fold-verify.js';
export * from './policy/rgs-lexer.js';
export * from './policy/rgs-parser.js';
export * from './policy/rgc.js';
export * from './policy/policy-eval.js';
export * from './governance/index.js';
export * from './bus/index.js';
export * from './jobs/index.js';
