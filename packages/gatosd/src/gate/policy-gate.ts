/**
 * The policy part of the push-gate (`spec/governance.md` § Gate): updates of `refs/gatos/policies/**` must move
 * `active` to a higher-versioned bundle through a grant that met quorum, and, once a policy is active, every new
 * journal event must be allowed by it. Pure apart from the injected stores; writes nothing.
 */
import {
  ActivationError,
  type ActivePolicy,
  evaluatePolicy,
  isGatosError,
  type ObjectStore,
  type Oid,
  parseBundleRef,
  POLICY_ACTIVE_REF,
  POLICY_BUNDLES_PREFIX,
  proposalRef,
  readActivation,
  readActivePolicyAt,
  readJournal,
  readProposal,
  type RefStore,
  type TrustSet,
  verifyActivation,
  POLICIES_PREFIX,
} from '@gatos/core';
import { type Denial, GateRefusal, type PushUpdate } from './gate-types.js';

/** The policy gate of one push. */
export interface PolicyGate {
  /** The policy journal events are checked against: the pushed one when its update passes, else the current. */
  active: ActivePolicy | null;
  /** Throws {@link GateRefusal} when an event of the (already validated) journal update is not allowed. */
  checkJournal(u: PushUpdate & { new: Oid }): Promise<void>;
}

/** Inputs of {@link openPolicyGate}. */
export interface PolicyGateInput {
  objects: ObjectStore;
  /** Refs as they stand before the push. */
  refs: RefStore;
  /** Every update of the push that passed the common rules (no-delete, ff-only). */
  updates: readonly (PushUpdate & { new: Oid })[];
  /** Every update of the push, checked or not: refs as they stand once it is applied. */
  pushed: readonly PushUpdate[];
  trust: () => Promise<TrustSet>;
  /** Receives the denials of policies updates. */
  deny: (d: Denial) => void;
}

const msg = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * Checks the push's updates of `refs/gatos/policies/**` (denials go to `deny`) and returns the gate for journal
 * events. Fails closed: an unexpected error on a policies update denies it with `gate-error`.
 */
export async function openPolicyGate(input: PolicyGateInput): Promise<PolicyGate> {
  const { objects, refs } = input;
  const current = await readActivePolicyAt(objects, await refs.read(POLICY_ACTIVE_REF));
  let active = current;
  const policyUpdates = input.updates.filter((u) => u.ref.startsWith(POLICIES_PREFIX));
  const activated = new Set<Oid>();
  const activeUpdate = policyUpdates.find((u) => u.ref === POLICY_ACTIVE_REF);
  const pushedValue = (ref: string) => input.updates.find((u) => u.ref === ref)?.new;
  const refused = (u: PushUpdate, e: unknown) =>
    input.deny(
      (e instanceof GateRefusal
        ? e
        : e instanceof ActivationError
          ? GateRefusal.byPolicyRule(e.rule, e.message, {
              code:
                e.rule === 'policy-rollback'
                  ? 'GATOS_E_POLICY_ROLLBACK'
                  : e.rule === 'policy-quorum'
                    ? 'GATOS_E_POLICY_QUORUM'
                    : 'GATOS_E_POLICY_BUNDLE',
            })
          : GateRefusal.byPolicyRule(
              isGatosError(e, 'GATOS_E_POLICY_BUNDLE') ? 'policy-bundle' : 'gate-error',
              msg(e),
              isGatosError(e) ? { code: e.code } : {},
            )
      ).denial(u),
    );

  if (activeUpdate) {
    try {
      const trust = await input.trust();
      const commits = await objects.chain(activeUpdate.new, activeUpdate.old);
      if (commits.length === 0)
        throw GateRefusal.byPolicyRule('policy-bundle', 'the update adds no activation');
      if ((commits[0]!.parents[0] ?? null) !== activeUpdate.old) {
        throw GateRefusal.byPolicyRule(
          'policy-bundle',
          'the first-parent chain of the new value does not contain the old',
        );
      }
      let previous = current;
      for (const c of commits) {
        const { record } = await readActivation(objects, c.oid);
        const isRevoked = async (id: string) => {
          const ref = proposalRef(id);
          const head = pushedValue(ref) ?? (await refs.read(ref));
          if (!head) return false;
          return (await readProposal(objects, refs, id, head)).revoked;
        };
        // An approval counts only while it is the last event of its chain, as the chain stands after this push.
        const approvalHead = async (ref: string) => {
          const u = input.pushed.find((x) => x.ref === ref);
          return u ? u.new : refs.read(ref);
        };
        const ok = await verifyActivation({
          objects,
          trust,
          record,
          previous,
          isRevoked,
          approvalHead,
        }).catch((e) => {
          if (e instanceof ActivationError)
            throw GateRefusal.byPolicyRule(e.rule, `activation ${c.oid.slice(0, 12)}: ${e.message}`, {
              code:
                e.rule === 'policy-rollback'
                  ? 'GATOS_E_POLICY_ROLLBACK'
                  : e.rule === 'policy-quorum'
                    ? 'GATOS_E_POLICY_QUORUM'
                    : 'GATOS_E_POLICY_BUNDLE',
              commit: c.oid,
            });
          throw e;
        });
        // The bundle must be (or become, in this push) the value of its version's ref.
        const bref = `${POLICY_BUNDLES_PREFIX}${record.version}`;
        const bval = pushedValue(bref) ?? (await refs.read(bref));
        if (bval !== record.bundle) {
          throw GateRefusal.byPolicyRule(
            'policy-bundle',
            `activation ${c.oid.slice(0, 12)}: ${bref} does not hold its bundle`,
            { commit: c.oid },
          );
        }
        activated.add(record.bundle);
        previous = { head: c.oid, record, bundle: ok.bundle };
      }
      active = previous;
    } catch (e) {
      refused(activeUpdate, e);
    }
  }

  for (const u of policyUpdates) {
    if (u === activeUpdate) continue;
    try {
      const version = parseBundleRef(u.ref);
      if (version === null)
        throw GateRefusal.byPolicyRule(
          'ref-layout',
          `${u.ref} is not ${POLICY_ACTIVE_REF} or ${POLICY_BUNDLES_PREFIX}<version>`,
        );
      if (u.old !== null) throw GateRefusal.byPolicyRule('policy-bundle', 'a published bundle never changes');
      if (!activated.has(u.new)) {
        throw GateRefusal.byPolicyRule(
          'policy-quorum',
          'a bundle is published only with the activation (grant) that activates it',
        );
      }
    } catch (e) {
      refused(u, e);
    }
  }

  return {
    active,
    async checkJournal(u) {
      const policy = active;
      if (!policy) return;
      const events = await readJournal(objects, u.ref, u.new, u.old);
      for (const e of events) {
        const env = e.envelope;
        const d = evaluatePolicy(policy.bundle.rgc, {
          ref: u.ref,
          actor: env.actor,
          event: {
            type: env.type,
            caps: env.caps ?? [],
            payload: env.payload,
            ulid: env.ulid,
            ts: env.ts,
            policy_root: env.policy_root,
          },
        });
        if (d.decision !== 'allow') {
          const evalError =
            d.errors.length > 0 && !d.matched.some((m) => m.effect === 'deny' && m.rule === d.rule);
          throw GateRefusal.byPolicyRule(
            d.rule ?? 'policy-default-deny',
            `event ${e.commit.slice(0, 12)} (${env.type}) under policy version ${policy.record.version}: ${d.reason}`,
            {
              code: evalError ? 'GATOS_E_POLICY_EVAL' : 'GATOS_E_POLICY_DENY',
              commit: e.commit,
              actor: env.actor,
            },
          );
        }
      }
    },
  };
}
