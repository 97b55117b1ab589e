/** `git gatos bus verify <topic>`: re-check live segments (signatures, Merkle roots) and the summary chain. */
import { ErrorCodes, readTrust, verifyTopic } from '@gatos/core';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';
import { withContext } from '../../context.js';

interface VerifyArgs {
  topic: string;
}

const mod: CommandModule<VerifyArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y.positional('topic', { type: 'string', demandOption: true, describe: 'Topic' }),
  handler: async (argv, io) =>
    withContext(io, async (ctx) => {
      const trust = await readTrust(ctx.objects, ctx.refs);
      const r = await verifyTopic(ctx, trust, argv.topic);
      const human = r.segments.map(
        (s) => `${s.ok ? 'ok' : 'FAIL'} ${s.segment} ${s.count} messages root ${s.merkle_root}`,
      );
      human.push(
        `summaries: ${r.summaries.count} (${r.summaries.sealed} sealed, ${r.summaries.pruned} pruned) ${r.summaries.ok ? 'ok' : 'FAIL'}`,
      );
      for (const p of r.problems)
        human.push(`problem ${p.code} ${p.where} ${p.commit?.slice(0, 12) ?? ''}: ${p.message}`);
      return { json: { ...r }, human, ...(r.ok ? {} : { exitCode: ErrorCodes.GATOS_E_BUS_CORRUPT[0] }) };
    }),
};
export const { builder, handler } = mod;
