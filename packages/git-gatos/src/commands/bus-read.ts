/** `git gatos bus read`: the messages a consumer group has not acknowledged yet (at-least-once). */
import { readGroup } from '@gatos/core';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../command.js';
import { withContext } from '../context.js';
import { toJsonValue } from '../input.js';

interface ReadArgs {
  topic: string;
  group: string;
  limit: number;
}

const mod: CommandModule<ReadArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('topic', { type: 'string', demandOption: true, describe: 'Topic' })
      .option('group', { type: 'string', demandOption: true, describe: 'Consumer group' })
      .option('limit', { type: 'number', default: 100, describe: 'Most messages to return' })
      .example(
        'git gatos bus read --topic orders --group billing --json',
        'Read, then `bus ack` what you handled',
      ),
  handler: async (argv, io) =>
    withContext(io, async (ctx) => {
      const { position, messages } = await readGroup(ctx, {
        topic: argv.topic,
        group: argv.group,
        limit: argv.limit,
      });
      const out = messages.map((m) => ({
        offset: m.offset,
        segment: m.segment,
        commit: m.commit,
        ulid: m.ulid,
        cid: m.cid,
        type: m.envelope.type,
        actor: m.envelope.actor,
        ts: m.envelope.ts,
        content_hash: m.contentHash,
        data: toJsonValue(m.envelope.payload),
      }));
      return {
        json: { ok: true, topic: argv.topic, group: argv.group, position, messages: out },
        human: out.map((m) => `${m.offset} ${m.commit.slice(0, 12)} ${m.ulid} ${JSON.stringify(m.data)}`),
      };
    }),
};
export const { builder, handler } = mod;
