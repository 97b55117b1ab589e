/** `git gatos bus stats`: messages and bytes per segment, live refs, oldest age, rotation suggestions. */
import { assertTopic, GATOS_PREFIX, listTopics, topicStats } from '@gatos/core';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';
import { withContext } from '../../context.js';
import { busNow } from './common.js';

interface StatsArgs {
  topic?: string;
}

const mod: CommandModule<StatsArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y.option('topic', { type: 'string', describe: 'One topic (default: all)' }),
  handler: async (argv, io) => {
    if (argv.topic !== undefined) assertTopic(argv.topic);
    return withContext(io, async (ctx) => {
      const now = busNow(io);
      const topics = argv.topic !== undefined ? [argv.topic] : await listTopics(ctx);
      const stats = [];
      for (const t of topics) stats.push(await topicStats(ctx, t, now));
      const gatosRefs = (await ctx.refs.list(GATOS_PREFIX)).length;
      const human: string[] = [];
      for (const s of stats) {
        human.push(
          `${s.topic}: ${s.messages} messages in ${s.segments.length} segment(s), ${s.bytes} bytes, ${s.live_refs} live refs, oldest ${s.oldest_age_seconds ?? '-'} s`,
        );
        for (const seg of s.segments) human.push(`  ${seg.segment} ${seg.count} messages ${seg.bytes} bytes`);
        for (const g of s.suggestions) human.push(`  suggestion: ${g}`);
      }
      human.push(`refs under ${GATOS_PREFIX}: ${gatosRefs}`);
      return { json: { ok: true, topics: stats, gatos_refs: gatosRefs }, human };
    });
  },
};
export const { builder, handler } = mod;
