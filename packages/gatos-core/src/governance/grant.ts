/**
 * Grants (`spec/governance.md`): the decision that a proposal met the quorum of the policy active at the time,
 * and the activation it authorises. {@link verifyActivation} is what the push-gate runs for every new commit of
 * `refs/gatos/policies/active`; the CLI runs the same check before it writes anything.
 */
import { GatosError } from '../errors.js';
import type { Oid } from '../store/git-object.js';
import type { JournalEvent } from '../chain/event-commit.js';
import type { ObjectStore } from '../store/object-store.js';
import { evaluatePolicy, type PolicyApproval, type PolicyDecision } from '../policy/policy-eval.js';
import type { TrustSet } from '../trust/trust-registry.js';
import { type ActivationRecord, type ActivePolicy, type PolicyBundle, readBundle } from './policy-bundle.js';
import { approvalRef, grantRef, POLICY_ACTIVE_REF, PROPOSAL_ID_RE, proposalRef } from '../ref-layout.js';
import { checkGovEvent, GOV_EVENT, keysByActor, readGovEvent, registeredKey } from './proposal.js';

/** The event type the governance rule of a policy is asked about. */
export const ACTIVATE_EVENT_TYPE = 'policy.activate';

/** One approval a grant counted. */
export interface GrantApproval {
  actor: string;
  key_id: string;
  /** The approval's event commit on `refs/gatos/approvals/<id>/<kind>/<enc-name>`. */
  commit: Oid;
}

/** The payload of a `policy.grant` event. */
export interface GrantPayload {
  proposal: string;
  proposal_commit: Oid;
  version: number;
  policy_code_root: string;
  /** The bundle commit the grant activates. */
  bundle: Oid;
  /** The `policy_root` (policy_code_root) of the policy whose quorum rule was satisfied. */
  policy_root: string;
  /** The version of that policy. */
  policy_version: number;
  approvals: GrantApproval[];
}

/** Why an activation is refused, as a push-gate rule. */
export type ActivationRule = 'policy-quorum' | 'policy-rollback' | 'policy-bundle';

/** An activation that does not hold. */
export class ActivationError extends Error {
  constructor(
    readonly rule: ActivationRule,
    message: string,
  ) {
    super(message);
  }
}

/** The request the governance rule decides: `actor` asks to activate `version` with these approvals. */
export function activationInput(
  actor: string,
  payload: { proposal: string; version: number; policy_code_root: string },
  approvals: readonly PolicyApproval[],
  trust: TrustSet,
) {
  return {
    ref: POLICY_ACTIVE_REF,
    actor,
    event: {
      type: ACTIVATE_EVENT_TYPE,
      payload: {
        proposal: payload.proposal,
        version: payload.version,
        policy_code_root: payload.policy_code_root,
      },
    },
    approvals,
    keysByActor: keysByActor(trust),
  };
}

/** Decides quorum under `policy` for approvals already signature-checked. */
export function decideQuorum(
  policy: ActivePolicy,
  actor: string,
  payload: { proposal: string; version: number; policy_code_root: string },
  approvals: readonly PolicyApproval[],
  trust: TrustSet,
): PolicyDecision {
  return evaluatePolicy(policy.bundle.rgc, activationInput(actor, payload, approvals, trust));
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Verifies one activation record against the policy active before it. Checks, in order: the bundle (valid, of
 * this version and code root), monotonic versions (`policy-rollback`), then the grant: its event signed by a
 * registered key for `refs/gatos/grants/<id>`; its proposal event signed for `refs/gatos/proposals/<id>` with the
 * same version and code root; every approval signed for its own approval ref and approving that very proposal
 * event; and the previous policy's governance rule allowing the activation with those approvals (distinct public
 * keys counted, `policy-quorum`). Throws {@link ActivationError}; returns the bundle and grant on success.
 */
export async function verifyActivation(init: {
  objects: ObjectStore;
  trust: TrustSet;
  record: ActivationRecord;
  previous: ActivePolicy | null;
  /** Proposal ids revoked (as far as the caller knows); a grant of one is refused. */
  isRevoked?: (proposal: string) => Promise<boolean>;
  /**
   * The head of an approval ref as it stands (with this push applied). When given, an approval counts only while
   * it is the last event of its chain (`spec/governance.md` § 3): one followed by `policy.unapprove` (withdrawn) or
   * by a newer approval (superseded) is refused.
   */
  approvalHead?: (ref: string) => Promise<Oid | null>;
}): Promise<{ bundle: PolicyBundle; grant: JournalEvent | null; decision: PolicyDecision | null }> {
  const { objects, trust, record, previous } = init;
  let bundle: PolicyBundle;
  try {
    bundle = await readBundle(objects, record.bundle);
  } catch (e) {
    throw new ActivationError(
      'policy-bundle',
      `bundle ${record.bundle.slice(0, 12)}: ${(e as Error).message}`,
    );
  }
  if (
    bundle.manifest.version !== record.version ||
    bundle.manifest.policy_code_root !== record.policy_code_root
  ) {
    throw new ActivationError(
      'policy-bundle',
      `activation of version ${record.version} names a bundle of another version or root`,
    );
  }
  if (previous && record.version <= previous.record.version) {
    throw new ActivationError(
      'policy-rollback',
      `version ${record.version} does not exceed the active version ${previous.record.version} (policy rollback)`,
    );
  }
  if (!record.grant) {
    if (previous)
      throw new ActivationError(
        'policy-quorum',
        'an activation without a grant is only allowed while no policy is active (bootstrap)',
      );
    return { bundle, grant: null, decision: null };
  }
  if (!previous)
    throw new ActivationError('policy-quorum', 'a grant cannot be checked while no policy is active');
  const id = record.grant.proposal;
  if (!PROPOSAL_ID_RE.test(id)) throw new ActivationError('policy-quorum', `invalid proposal id ${id}`);
  const fail = (why: string) => new ActivationError('policy-quorum', `grant ${id}: ${why}`);
  const load = async (ref: string, commit: Oid, what: string) => {
    let e: JournalEvent;
    try {
      e = await readGovEvent(objects, ref, commit);
    } catch (err) {
      throw fail(`${what} ${commit.slice(0, 12)}: ${(err as Error).message}`);
    }
    const problems = checkGovEvent(e, trust);
    if (problems.length) throw fail(`${what} ${commit.slice(0, 12)}: ${problems.join('; ')}`);
    return e;
  };
  const grant = await load(grantRef(id), record.grant.commit, 'grant event');
  const g = grant.envelope.payload as unknown as GrantPayload;
  if (
    grant.envelope.type !== GOV_EVENT.grant ||
    !isObj(g) ||
    g.proposal !== id ||
    g.version !== record.version ||
    g.policy_code_root !== record.policy_code_root ||
    g.bundle !== record.bundle ||
    !Array.isArray(g.approvals)
  ) {
    throw fail('the grant event does not grant this bundle');
  }
  if (g.policy_root !== previous.record.policy_code_root || g.policy_version !== previous.record.version) {
    throw fail(`the grant was made under policy ${String(g.policy_root).slice(0, 12)}, not the active one`);
  }
  if (bundle.manifest.proposal !== id) throw fail('the bundle was not built from this proposal');
  const proposal = await load(proposalRef(id), g.proposal_commit, 'proposal event');
  const pp = proposal.envelope.payload as Record<string, unknown>;
  if (
    proposal.envelope.type !== GOV_EVENT.propose ||
    !isObj(pp) ||
    pp.proposal !== id ||
    pp.version !== record.version ||
    pp.policy_code_root !== record.policy_code_root ||
    pp.source !== bundle.source
  ) {
    throw fail('the proposal event does not propose this bundle');
  }
  if (init.isRevoked && (await init.isRevoked(id))) throw fail('the proposal was revoked');
  const approvals: PolicyApproval[] = [];
  for (const a of g.approvals) {
    if (!isObj(a) || typeof a.actor !== 'string' || typeof a.commit !== 'string')
      throw fail('malformed approval entry');
    let ref: string;
    try {
      ref = approvalRef(id, a.actor);
    } catch {
      throw fail(`approval by invalid actor ${a.actor}`);
    }
    const e = await load(ref, a.commit as Oid, `approval by ${a.actor}`);
    const ap = e.envelope.payload as Record<string, unknown>;
    if (
      e.envelope.type !== GOV_EVENT.approve ||
      e.envelope.actor !== a.actor ||
      !isObj(ap) ||
      ap.proposal !== id ||
      ap.proposal_commit !== proposal.commit
    ) {
      throw fail(`approval ${a.commit.slice(0, 12)} by ${a.actor} does not approve this proposal`);
    }
    if (init.approvalHead) {
      const head = await init.approvalHead(ref);
      if (head !== a.commit) {
        throw fail(
          `approval ${a.commit.slice(0, 12)} by ${a.actor} is not the last event of its chain ` +
            `(${head ? `now ${head.slice(0, 12)}: withdrawn or superseded` : 'its approval ref is absent'})`,
        );
      }
    }
    approvals.push({ actor: a.actor, publicKey: registeredKey(trust, a.actor, e.keyId)! });
  }
  const decision = decideQuorum(previous, grant.envelope.actor, g, approvals, trust);
  if (decision.decision !== 'allow') {
    const distinct = new Set(approvals.map((a) => a.publicKey.toLowerCase())).size;
    throw fail(
      `quorum not met under policy version ${previous.record.version} ` +
        `(${approvals.length} approval(s), ${distinct} distinct key(s)): ` +
        `${decision.rule ? `rule "${decision.rule}": ` : ''}${decision.reason}`,
    );
  }
  return { bundle, grant, decision };
}

/** Maps an {@link ActivationError} to the CLI's error. */
export function activationGatosError(e: ActivationError): GatosError {
  const code =
    e.rule === 'policy-rollback'
      ? 'GATOS_E_POLICY_ROLLBACK'
      : e.rule === 'policy-quorum'
        ? 'GATOS_E_POLICY_QUORUM'
        : 'GATOS_E_POLICY_BUNDLE';
  return new GatosError(code, e.message, { data: { rule: e.rule } });
}
