/**
 * `git gatos revoke <proposal-id>`: before a grant, the proposer withdraws the proposal (`policy.revoke` on the
 * proposal chain; it can then never be granted), and an approver withdraws their own approval (`policy.unapprove`).
 * After a grant nothing is revoked: propose a newer version instead.
 */
import {
  appendGovEvents,
  approvalRef,
  GatosError,
  GOV_EVENT,
  grantRef,
  proposalRef,
  readGovChain,
  readProposal,
} from '@gatos/core';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';
import { withContext } from '../../context.js';
import { govSession } from './propose.js';

interface RevokeArgs {
  proposal: string;
  actor?: string;
}

const mod: CommandModule<RevokeArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('proposal', { type: 'string', demandOption: true, describe: 'The proposal id (a ULID)' })
      .option('actor', {
        type: 'string',
        describe: 'Who revokes (default: $GATOS_ACTOR or your only key here)',
      }) as unknown as Argv<RevokeArgs>,
  handler: async (argv, io) =>
    withContext(io, async (ctx) => {
      const s = await govSession(ctx, io, argv.actor);
      const p = await readProposal(ctx.objects, ctx.refs, argv.proposal);
      if (await ctx.refs.read(grantRef(p.id))) {
        throw new GatosError(
          'GATOS_E_GOV_STATE',
          `proposal ${p.id} is already granted; propose a newer version instead`,
        );
      }
      const append = (ref: string, type: string) =>
        appendGovEvents([s.envelope(type, { proposal: p.id })], {
          objects: ctx.objects,
          refs: ctx.refs,
          ref,
          signer: s.signer,
          maxBytes: s.maxBytes,
        });
      if (s.actor === p.proposer) {
        if (p.revoked) throw new GatosError('GATOS_E_GOV_STATE', `proposal ${p.id} is already revoked`);
        const [w] = await append(proposalRef(p.id), GOV_EVENT.revoke);
        return {
          json: { ok: true, proposal: p.id, revoked: 'proposal', commit: w!.commit },
          human: `revoked proposal ${p.id}`,
        };
      }
      const ref = approvalRef(p.id, s.actor);
      const head = await ctx.refs.read(ref);
      const chain = head ? await readGovChain(ctx.objects, ref, head) : [];
      if (chain[chain.length - 1]?.envelope.type !== GOV_EVENT.approve) {
        throw new GatosError(
          'GATOS_E_GOV_STATE',
          `${s.actor} neither proposed nor currently approves ${p.id}`,
        );
      }
      const [w] = await append(ref, GOV_EVENT.unapprove);
      return {
        json: { ok: true, proposal: p.id, revoked: 'approval', actor: s.actor, commit: w!.commit },
        human: `withdrew the approval of ${s.actor} from ${p.id}`,
      };
    }),
};
export const { builder, handler } = mod;
