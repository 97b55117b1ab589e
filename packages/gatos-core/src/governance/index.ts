/** Governance: policy bundles, the active-policy chain, proposals, approvals and grants (`spec/governance.md`). */
export * from './policy-bundle.js';
export * from './proposal.js';
export * from './grant.js';
