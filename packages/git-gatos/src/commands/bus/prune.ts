/** `git gatos bus prune`: drop whole segments older than the TTL, after recording their summaries. */
import { DEFAULT_TOPIC_CONFIG, assertTopic, prune } from '@gatos/core';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';
import { withContext } from '../../context.js';
import { busNow } from './common.js';

interface PruneArgs {
  topic: string;
  'ttl-days': number;
  'dry-run': boolean;
}

const mod: CommandModule<PruneArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('topic', { type: 'string', demandOption: true, describe: 'Topic' })
      .option('ttl-days', {
        type: 'number',
        default: DEFAULT_TOPIC_CONFIG.ttl_days,
        describe: 'Remove segments whose last message is older than this',
      })
      .option('dry-run', { type: 'boolean', default: false, describe: 'Only show what would be removed' })
      .epilogue(
        'Objects of removed segments are freed by `git gc --prune=now` (or git’s next automatic gc).',
      ),
  handler: async (argv, io) => {
    assertTopic(argv.topic);
    return withContext(io, async (ctx) => {
      const r = await prune(ctx, {
        topic: argv.topic,
        now: busNow(io),
        ttlDays: argv['ttl-days'],
        dryRun: argv['dry-run'],
      });
      const verb = argv['dry-run'] ? 'would prune' : 'pruned';
      const human = r.pruned.map(
        (p) =>
          `${verb} ${p.segment} (${p.count} messages, offsets ${p.first_offset}-${p.last_offset})${p.deleted || argv['dry-run'] ? '' : ' — kept: it grew'}`,
      );
      human.push(`${r.kept} segment(s) kept`);
      return { json: { ok: true, dry_run: argv['dry-run'], ...r }, human };
    });
  },
};
export const { builder, handler } = mod;
