/** `git gatos approve <proposal-id>`: sign an approval of a proposal on the actor's own approval ref. */
import { appendGovEvents, approvalRef, GatosError, GOV_EVENT, grantRef, readProposal } from '@gatos/core';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';
import { withContext } from '../../context.js';
import { govSession } from './propose.js';

interface ApproveArgs {
  proposal: string;
  actor?: string;
}

const mod: CommandModule<ApproveArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('proposal', { type: 'string', demandOption: true, describe: 'The proposal id (a ULID)' })
      .option('actor', {
        type: 'string',
        describe: 'Who approves (default: $GATOS_ACTOR or your only key here)',
      }) as unknown as Argv<ApproveArgs>,
  handler: async (argv, io) =>
    withContext(io, async (ctx) => {
      const s = await govSession(ctx, io, argv.actor);
      const p = await readProposal(ctx.objects, ctx.refs, argv.proposal);
      if (p.revoked) throw new GatosError('GATOS_E_GOV_STATE', `proposal ${p.id} was revoked`);
      if (await ctx.refs.read(grantRef(p.id)))
        throw new GatosError('GATOS_E_GOV_STATE', `proposal ${p.id} is already granted`);
      const ref = approvalRef(p.id, s.actor);
      const payload = {
        proposal: p.id,
        proposal_commit: p.propose.commit,
        version: p.payload.version,
        policy_code_root: p.payload.policy_code_root,
      };
      const [w] = await appendGovEvents([s.envelope(GOV_EVENT.approve, payload)], {
        objects: ctx.objects,
        refs: ctx.refs,
        ref,
        signer: s.signer,
        maxBytes: s.maxBytes,
      });
      return {
        json: { ok: true, proposal: p.id, actor: s.actor, key_id: s.signer.keyId, ref, commit: w!.commit },
        human: `approved ${p.id} (version ${p.payload.version}) as ${s.actor} with ${s.signer.keyId}`,
      };
    }),
};
export const { builder, handler } = mod;
