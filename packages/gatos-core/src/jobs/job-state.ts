import type { JobState } from './interface.js';
import type { Oid } from '../store/git-object.js';
import { type ClaimRecord, DEFAULT_CLAIM_SKEW_MS, claimDecision } from './claim.js';

/**
 * The state of a job from its claim tip and result ref: done when the result ref exists or the tip is done;
 * pending without a claim; released; claimed while the lease runs, expired once `nowMs ≥ expires_at_ms + skewMs`.
 */
export function jobState(
  tip: ClaimRecord | null,
  result: Oid | null,
  nowMs: number,
  skewMs: number = DEFAULT_CLAIM_SKEW_MS,
): JobState {
  if (result !== null || tip?.state === 'done') return 'done';
  if (tip === null) return 'pending';
  if (tip.state === 'released') return 'released';
  return claimDecision(tip, nowMs, skewMs).kind === 'claimable' ? 'expired' : 'claimed';
}
