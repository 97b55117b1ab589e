/** `git gatos log <ns>`: a namespace's events in namespace order, paged by stable per-journal cursors. */
import {
  GatosError,
  type JournalEvent,
  decodeCursor,
  encodeCursor,
  listJournals,
  mergeJournals,
  readJournal,
} from '@gatos/core';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../command.js';
import { withContext } from '../context.js';
import { toJsonValue } from '../input.js';

interface LogArgs {
  ns: string;
  actor?: string;
  limit: number;
  after?: string;
}

function view(e: JournalEvent) {
  return {
    actor: e.envelope.actor,
    type: e.envelope.type,
    ulid: e.envelope.ulid,
    ts: e.envelope.ts,
    cid: e.cid,
    commit: e.commit,
    ...(e.envelope.caps ? { caps: e.envelope.caps } : {}),
    payload: toJsonValue(e.envelope.payload),
  };
}

const mod: CommandModule<LogArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('ns', { type: 'string', demandOption: true, describe: 'Namespace' })
      .option('actor', { type: 'string', describe: "Only this actor's events" })
      .option('limit', { type: 'number', default: 50, describe: 'Events per page (0: all)' })
      .option('after', {
        type: 'string',
        describe: 'Continue after this cursor (printed by the previous page)',
      })
      .example('git gatos log demo --limit 10', 'First page')
      .example(
        'git gatos log demo --limit 10 --after c1.…',
        'Next page: never skips or repeats',
      ) as unknown as Argv<LogArgs>,
  handler: async (argv, io) =>
    withContext(io, async ({ objects, refs }) => {
      if (!Number.isSafeInteger(argv.limit) || argv.limit < 0) {
        throw new GatosError('GATOS_E_USAGE', '--limit must be a whole number ≥ 0');
      }
      const positions = argv.after ? decodeCursor(argv.after) : new Map<string, string>();
      const journals = (await listJournals(refs, argv.ns)).filter(
        (j) => !argv.actor || j.actor === argv.actor,
      );
      for (const actor of positions.keys()) {
        if (!journals.some((j) => j.actor === actor)) {
          throw new GatosError('GATOS_E_CURSOR', `cursor names ${actor}, which has no journal here`, {
            hint: argv.actor ? 'Use the same --actor as for the page that printed the cursor.' : undefined,
          });
        }
      }
      const lists = [];
      for (const j of journals) {
        const after = positions.get(j.actor) ?? null;
        lists.push(after === j.head ? [] : await readJournal(objects, j.ref, j.head, after));
      }
      const total = lists.reduce((n, l) => n + l.length, 0);
      const page = mergeJournals(lists, argv.limit === 0 ? Number.POSITIVE_INFINITY : argv.limit);
      for (const e of page) positions.set(e.envelope.actor, e.commit);
      const next = encodeCursor(positions);
      const hasMore = page.length < total;
      const human = page.map(
        (e) =>
          `${e.envelope.ts} ${e.envelope.actor} ${e.envelope.type} ${JSON.stringify(toJsonValue(e.envelope.payload))}`,
      );
      if (hasMore) human.push(`-- more: --after ${next}`);
      return { json: { ok: true, ns: argv.ns, events: page.map(view), next, has_more: hasMore }, human };
    }),
};
export const { builder, handler } = mod;
