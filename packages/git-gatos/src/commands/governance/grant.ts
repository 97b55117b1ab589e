/**
 * `git gatos grant <proposal-id>`: check the proposal's approvals against the ACTIVE policy's governance rule
 * (distinct registered keys), record the grant as a signed event, publish the bundle and advance
 * `refs/gatos/policies/active`. Push all of it with `git push --atomic`.
 */
import {
  activationCommit,
  ActivationError,
  activationGatosError,
  appendGovEvents,
  approvalsPrefix,
  bundleCommit,
  bundleRef,
  decideQuorum,
  GatosError,
  GOV_EVENT,
  type GrantPayload,
  grantRef,
  POLICY_ACTIVE_REF,
  proposalRef,
  readApprovals,
  readProposal,
  verifyActivation,
} from '@gatos/core';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';
import { withContext } from '../../context.js';
import { govSession } from './propose.js';

interface GrantArgs {
  proposal: string;
  actor?: string;
}

const mod: CommandModule<GrantArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('proposal', { type: 'string', demandOption: true, describe: 'The proposal id (a ULID)' })
      .option('actor', {
        type: 'string',
        describe: 'Who grants (default: $GATOS_ACTOR or your only key here)',
      }) as unknown as Argv<GrantArgs>,
  handler: async (argv, io) =>
    withContext(io, async (ctx) => {
      const { objects, refs } = ctx;
      const s = await govSession(ctx, io, argv.actor);
      const active = s.active;
      if (!active) {
        throw new GatosError('GATOS_E_GOV_STATE', 'no policy is active, so no quorum rule applies', {
          hint: 'Activate the first policy with `git gatos policy activate --bootstrap <file.rgs>`.',
        });
      }
      const p = await readProposal(objects, refs, argv.proposal);
      if (p.revoked) throw new GatosError('GATOS_E_GOV_STATE', `proposal ${p.id} was revoked`);
      if (await refs.read(grantRef(p.id)))
        throw new GatosError('GATOS_E_GOV_STATE', `proposal ${p.id} is already granted`);
      const version = p.payload.version;
      if (version <= active.record.version) {
        throw new GatosError(
          'GATOS_E_POLICY_ROLLBACK',
          `version ${version} does not exceed the active version ${active.record.version}`,
        );
      }
      const approvals = await readApprovals(objects, refs, s.trust, p);
      const decision = decideQuorum(active, s.actor, p.payload, approvals, s.trust);
      const distinct = new Set(approvals.map((a) => a.publicKey.toLowerCase())).size;
      if (decision.decision !== 'allow') {
        throw new GatosError(
          'GATOS_E_POLICY_QUORUM',
          `quorum not met under policy version ${active.record.version} (${approvals.length} approval(s), ${distinct} distinct key(s)): ${decision.rule ? `rule "${decision.rule}": ` : ''}${decision.reason}`,
          { data: { approvals: approvals.map((a) => ({ actor: a.actor, key_id: a.keyId })), decision } },
        );
      }
      const bundle = bundleCommit({
        source: p.payload.source,
        version,
        parentVersion: active.record.version,
        proposal: p.id,
      });
      if (bundle.manifest.policy_code_root !== p.payload.policy_code_root) {
        throw new GatosError(
          'GATOS_E_POLICY_BUNDLE',
          'the proposal source does not compile to its policy_code_root',
        );
      }
      const bref = bundleRef(version);
      const existing = await refs.read(bref);
      if (existing && existing !== bundle.commit.oid) {
        throw new GatosError('GATOS_E_GOV_STATE', `${bref} already holds another bundle`);
      }
      const payload: GrantPayload = {
        proposal: p.id,
        proposal_commit: p.propose.commit,
        version,
        policy_code_root: bundle.manifest.policy_code_root,
        bundle: bundle.commit.oid,
        policy_root: active.record.policy_code_root,
        policy_version: active.record.version,
        approvals: approvals.map((a) => ({ actor: a.actor, key_id: a.keyId, commit: a.commit })),
      };
      await objects.put(bundle.objects);
      const gref = grantRef(p.id);
      const [g] = await appendGovEvents([s.envelope(GOV_EVENT.grant, payload as never)], {
        objects,
        refs,
        ref: gref,
        signer: s.signer,
        maxBytes: s.maxBytes,
      });
      const record = {
        format: 'gatos.policy-active/1' as const,
        version,
        bundle: bundle.commit.oid,
        policy_code_root: bundle.manifest.policy_code_root,
        grant: { proposal: p.id, commit: g!.commit },
      };
      // The same check the push-gate runs, before anything moves the active policy.
      try {
        await verifyActivation({ objects, trust: s.trust, record, previous: active });
      } catch (e) {
        if (e instanceof ActivationError) throw activationGatosError(e);
        throw e;
      }
      const act = activationCommit(record, active.head);
      await objects.put(act.objects);
      if (!existing && !(await refs.cas({ ref: bref, expect: null, next: bundle.commit.oid }))) {
        throw new GatosError('GATOS_E_REF_CONFLICT', `${bref} was created concurrently`);
      }
      if (!(await refs.cas({ ref: POLICY_ACTIVE_REF, expect: active.head, next: act.commit.oid }))) {
        throw new GatosError(
          'GATOS_E_REF_CONFLICT',
          `${POLICY_ACTIVE_REF} moved concurrently; re-run the grant`,
        );
      }
      return {
        json: {
          ok: true,
          proposal: p.id,
          version,
          policy_code_root: record.policy_code_root,
          policy_root: active.record.policy_code_root,
          approvals: payload.approvals,
          distinct_keys: distinct,
          rule: decision.rule,
          grant: { ref: gref, commit: g!.commit },
          bundle: { ref: bref, commit: bundle.commit.oid },
          active: act.commit.oid,
        },
        human: [
          `granted ${p.id}: policy version ${version} is active (${approvals.length} approval(s), ${distinct} distinct key(s), rule "${decision.rule}")`,
          `  push: git push --atomic origin ${POLICY_ACTIVE_REF} ${bref} ${gref} ${proposalRef(p.id)} '${approvalsPrefix(p.id)}*'`,
        ],
      };
    }),
};
export const { builder, handler } = mod;
