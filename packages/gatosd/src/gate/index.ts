/** `@gatos/gatosd/gate`: the push-gate (pre-receive hook), its checks, and its installer. */
export * from './gate-types.js';
export * from './gate-settings.js';
export * from './push-gate.js';
export * from './pre-receive.js';
export * from './hook-install.js';
export * from './gate-refold.js';
export { jobRefRefusal, checkJobUpdate, parseJobPlaneRef, type JobRef } from './job-gate.js';
export { openPolicyGate, type PolicyGate, type PolicyGateInput } from './policy-gate.js';
export {
  checkBusUpdate,
  checkConfigUpdate,
  checkGovernanceUpdate,
  type PlaneGateContext,
} from './plane-gate.js';
