/** `git gatos bus ack`: move a consumer group's position forward (compare-and-swap; never backwards). */
import { GatosError, ack, isOid } from '@gatos/core';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../command.js';
import { withContext } from '../context.js';
import { busNow } from './bus-common.js';

interface AckArgs {
  topic: string;
  group: string;
  to: string;
}

const mod: CommandModule<AckArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('topic', { type: 'string', demandOption: true, describe: 'Topic' })
      .option('group', { type: 'string', demandOption: true, describe: 'Consumer group' })
      .option('to', {
        type: 'string',
        demandOption: true,
        describe: 'Last handled message: its commit or offset',
      }),
  handler: async (argv, io) => {
    const to = /^\d+$/.test(argv.to)
      ? { offset: Number(argv.to) }
      : isOid(argv.to)
        ? { commit: argv.to }
        : null;
    if (!to) throw new GatosError('GATOS_E_USAGE', '--to takes a message commit (40 hex) or an offset');
    return withContext(io, async (ctx) => {
      const r = await ack(ctx, { topic: argv.topic, group: argv.group, to, now: busNow(io) });
      return {
        json: { ok: true, ...r },
        human: r.moved ? `acked up to offset ${r.position.offset}` : `already at offset ${r.position.offset}`,
      };
    });
  },
};
export const { builder, handler } = mod;
