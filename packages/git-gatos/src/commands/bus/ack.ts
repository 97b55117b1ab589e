/**
 * `git gatos bus ack`: move a consumer group's position forward (compare-and-swap; never backwards), in the
 * repository or through a running gatosd (`--daemon`/`$GATOSD_URL`), with the same JSON either way.
 */
import { type ConsumerPosition, GatosError, ack, assertGroup, assertTopic, isOid } from '@gatos/core';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';
import { withContext } from '../../context.js';
import { busNow } from './common.js';
import { daemonRequest, resolveDaemon, topicPath } from './daemon.js';

interface AckArgs {
  topic: string;
  group: string;
  to: string;
  daemon?: string;
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
      })
      .option('daemon', {
        type: 'string',
        describe: 'Ack through this gatosd (default: $GATOSD_URL; token: $GATOSD_TOKEN)',
      }),
  handler: async (argv, io) => {
    const to = /^\d+$/.test(argv.to)
      ? { offset: Number(argv.to) }
      : isOid(argv.to)
        ? { commit: argv.to }
        : null;
    if (!to) throw new GatosError('GATOS_E_USAGE', '--to takes a message commit (40 hex) or an offset');
    assertTopic(argv.topic);
    assertGroup(argv.group);
    const daemon = resolveDaemon(argv.daemon, io);
    const r: { moved: boolean; position: ConsumerPosition; commit: string } = daemon
      ? await daemonRequest(daemon, 'POST', topicPath(argv.topic, 'ack'), { group: argv.group, ...to })
      : await withContext(io, (ctx) =>
          ack(ctx, { topic: argv.topic, group: argv.group, to, now: busNow(io) }),
        );
    return {
      json: { ok: true, moved: r.moved, position: r.position, commit: r.commit },
      human: r.moved ? `acked up to offset ${r.position.offset}` : `already at offset ${r.position.offset}`,
    };
  },
};
export const { builder, handler } = mod;
