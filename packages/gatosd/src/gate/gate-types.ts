/**
 * What the push-gate's checks share (`spec/push-gate.md`): the update being checked, the rule ids a refusal names,
 * the refusal thrown by every check, and the decision. The checks (common rules, journals, checkpoints, policies,
 * the job plane) import this file and never each other, so the gate has no import cycle.
 */
import type { Denial as DenialRecord, Oid, RefKind } from '@gatos/core';
import { GatosError } from '@gatos/core/errors';
import {
  DENY_REF,
  GATOS_PREFIX,
  JOB_AUDIT_PREFIX,
  JOBS_PREFIX,
  parseJournalRef,
} from '@gatos/core/ref-layout';

/** One line of pre-receive input: `<old> <new> <ref>`; null stands for the all-zero id (create / delete). */
export interface PushUpdate {
  ref: string;
  old: Oid | null;
  new: Oid | null;
}

/** Parses pre-receive stdin: one `<old> <new> <ref>` per line. Throws `GATOS_E_USAGE` on a malformed line. */
export function parsePushLines(text: string): PushUpdate[] {
  const out: PushUpdate[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const m = /^([0-9a-f]{40}) ([0-9a-f]{40}) (\S+)$/.exec(line.trim());
    if (!m) throw new GatosError('GATOS_E_USAGE', `malformed pre-receive line: ${JSON.stringify(line)}`);
    out.push({
      old: /^0{40}$/.test(m[1]!) ? null : m[1]!,
      new: /^0{40}$/.test(m[2]!) ? null : m[2]!,
      ref: m[3]!,
    });
  }
  return out;
}

/** Rule ids of the job gate (`spec/push-gate.md` § 2.5). */
export const JOB_GATE_RULES = {
  'job-ref': `a ref under ${JOBS_PREFIX} or ${JOB_AUDIT_PREFIX} that the job plane does not define`,
  'job-create-only': 'a job manifest or result ref, once created, never changes',
  'job-manifest': 'a pushed manifest is not the canonical manifest commit of the job its ref names',
  'job-claim': 'a claim commit is malformed or is not a valid step of the claim chain',
  'job-claim-signature': 'a claim record is not signed by its worker with a registered key',
  'job-lease':
    "a reclaim of a lease that has not expired by the gate's clock, or a claim dated in its future",
  'job-result':
    'a result not named by the done claim, not canonical, or whose Proof-of-Execution does not verify',
  'job-audit': "a job audit entry that is malformed or does not copy the job result's envelope",
  'job-cache': 'a result-cache index commit that is malformed or changes or drops an entry',
} as const;

/** The stable rule ids a refusal names, with what each means. */
export const RULES = {
  'no-delete': 'GATOS chain refs cannot be deleted',
  'ff-only': 'GATOS chain refs move fast-forward only',
  'ref-layout': `the ref name is not valid under the ${GATOS_PREFIX} layout`,
  'audit-reserved': `only the push-gate appends to ${DENY_REF}; no ref may sit below it or at one of its parents`,
  'trust-key': 'a trust registry entry is invalid',
  'trust-owner': 'a registry push adds a key for an actor that already has one (actors keep their names)',
  'event-malformed': 'a journal commit is not a valid GATOS event commit',
  'event-signature':
    'a journal event is not signed by a registered key of its actor for this ref and position',
  'event-future': "a journal event dated further ahead of the gate's clock than the server allows",
  'state-proof': 'a state checkpoint is malformed or its Proof-of-Fold does not verify',
  'state-refold': 're-folding history does not reproduce a pushed checkpoint (profiles with gate_refold)',
  'gate-error': 'the gate could not check the update (it fails closed)',
  'ref-unknown': `a name under ${GATOS_PREFIX} that no plane defines (yet): refused until its plane has rules`,
  'config-invalid': 'a pushed repository config is not a readable profile',
  'governance-event': 'a proposal, approval or grant commit is not a valid governance event of its chain',
  'bus-record': 'a bus segment, summary or position commit is not a valid record of its topic (and group)',
  'policy-default-deny': 'no rule of the active policy allows the event',
  'policy-quorum': 'a policy activation without a grant that met the active policy quorum',
  'policy-rollback': 'a policy activation whose version does not exceed the active one',
  'policy-bundle': 'a policy bundle or activation is malformed, or published without activation',
  ...JOB_GATE_RULES,
} as const;

/** A rule id. */
export type RuleId = keyof typeof RULES;
/** A job gate rule id. */
export type JobRuleId = keyof typeof JOB_GATE_RULES;

/** One refused ref update; `rule` is a {@link RuleId}, or a rule id of the active policy for policy denials. */
export interface Denial extends DenialRecord {
  rule: RuleId;
}

/** What a refusal adds to its rule and reason. */
export interface RefusalExtra {
  code?: string;
  commit?: Oid;
  actor?: string;
}

/** The one refusal every gate check throws: a rule, a reason, and what is known of the offending object. */
export class GateRefusal extends Error {
  constructor(
    readonly rule: RuleId,
    readonly reason: string,
    readonly extra: RefusalExtra = {},
  ) {
    super(reason);
  }

  /** A refusal by a rule of the active policy (its own rule id, not a gate {@link RuleId}). */
  static byPolicyRule(rule: string, reason: string, extra: RefusalExtra = {}): GateRefusal {
    return new GateRefusal(rule as RuleId, reason, extra);
  }

  /** The denial this refusal stands for; a journal's actor is named even when the check did not say. */
  denial(u: PushUpdate): Denial {
    const actor = this.extra.actor ?? parseJournalRef(u.ref)?.actor;
    return {
      ref: u.ref,
      old: u.old,
      new: u.new,
      rule: this.rule,
      reason: this.reason,
      ...(this.extra.code ? { code: this.extra.code } : {}),
      ...(actor ? { actor } : {}),
      ...(this.extra.commit ? { commit: this.extra.commit } : {}),
    };
  }
}

/** The gate's answer for a whole push (all or nothing). */
export interface GateDecision {
  allowed: boolean;
  denials: Denial[];
  /** Updates checked (per ref: which kind of check ran). */
  checked: { ref: string; kind: RefKind }[];
}
