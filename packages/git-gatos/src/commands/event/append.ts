/** `git gatos event append`: sign events and append them to the actor's journal with compare-and-swap. */
import {
  type EventEnvelope,
  GatosError,
  NO_POLICY_ROOT,
  appendJournal,
  createEnvelope,
  createUlidFactory,
  envelopeTimestamp,
  journalRef,
  requireRepoConfig,
} from '@gatos/core';
import { resolveIdentity } from '@gatos/gatosd/identity';
import type { Argv } from 'yargs';
import type { CliIo, CommandModule, GlobalArgs } from '../../command.js';
import { withContext } from '../../context.js';
import { readJsonArg, readJsonLines } from '../../input.js';

interface AppendArgs {
  ns: string;
  type?: string;
  payload: string;
  actor?: string;
  caps?: string[];
  ulid?: string;
  ts?: string;
  batch?: string;
  'policy-root': string;
}

interface Draft {
  type: unknown;
  payload: unknown;
  caps?: unknown;
  ulid?: unknown;
  ts?: unknown;
}

async function drafts(argv: AppendArgs, io: CliIo): Promise<Draft[]> {
  if (argv.batch !== undefined) {
    if (argv.type !== undefined || argv.ulid !== undefined) {
      throw new GatosError('GATOS_E_USAGE', '--batch takes type, payload, ulid and ts from each line');
    }
    return (await readJsonLines(io, argv.batch)).map(({ value }) => value as unknown as Draft);
  }
  if (argv.type === undefined) throw new GatosError('GATOS_E_USAGE', 'missing --type (or --batch)');
  return [
    {
      type: argv.type,
      payload: await readJsonArg(io, argv.payload),
      caps: argv.caps,
      ulid: argv.ulid,
      ts: argv.ts,
    },
  ];
}

const mod: CommandModule<AppendArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('ns', { type: 'string', demandOption: true, describe: 'Namespace, e.g. `demo`' })
      .option('type', { type: 'string', describe: 'Event type, dotted lowercase, e.g. `note.created`' })
      .option('payload', {
        type: 'string',
        default: '{}',
        describe: 'JSON payload, `@file` or `-` for stdin',
      })
      .option('actor', {
        type: 'string',
        describe: 'Who signs (default: $GATOS_ACTOR or your only key here)',
      })
      .option('caps', { type: 'string', array: true, describe: 'Capabilities the event claims' })
      .option('ulid', {
        type: 'string',
        describe: 'Idempotency key; an event with this ULID already there is not appended again',
      })
      .option('ts', { type: 'string', describe: 'Timestamp `YYYY-MM-DDTHH:MM:SS.sssZ` (default: now)' })
      .option('batch', {
        type: 'string',
        describe: 'JSON Lines file (or -): one {"type","payload",…} per line, appended in one step',
      })
      .option('policy-root', {
        type: 'string',
        default: NO_POLICY_ROOT,
        describe: 'Policy root the event is written under',
      })
      .example(
        'git gatos event append --ns demo --type note.created --payload \'{"text":"hi"}\'',
        'Append one event',
      )
      .example(
        'git gatos event append --ns demo --batch events.jsonl',
        'Append many events in one atomic step',
      ),
  handler: async (argv, io) =>
    withContext(io, async ({ objects, refs }) => {
      const config = await requireRepoConfig(objects, refs);
      const { actor, events: signer } = await resolveIdentity({
        objects,
        refs,
        env: io.env,
        actor: argv.actor,
      });
      const nextUlid = createUlidFactory(() => io.now().getTime(), io.randomBytes);
      const opts = { maxBytes: config.max_envelope_bytes };
      const input = await drafts(argv, io);
      const envelopes: EventEnvelope[] = input.map((d) =>
        createEnvelope(
          {
            type: d.type as string,
            payload: d.payload as never,
            actor,
            ulid: (d.ulid as string | undefined) ?? nextUlid(),
            ts: (d.ts as string | undefined) ?? envelopeTimestamp(io.now()),
            policy_root: argv['policy-root'],
            caps: d.caps as string[] | undefined,
          },
          opts,
        ),
      );
      // Explicit ULIDs are idempotency keys: events whose ULID the journal already holds are skipped, checked
      // inside the compare-and-swap loop so a racing writer of the same ULID cannot slip past.
      const ref = journalRef(argv.ns, actor);
      const { appended, duplicates } = await appendJournal(envelopes, {
        objects,
        refs,
        ns: argv.ns,
        signer,
        maxBytes: config.max_envelope_bytes,
        dedupeUlids: input.some((d) => d.ulid !== undefined),
      });
      const human = appended.map((a) => `${a.commit.slice(0, 12)} ${a.cid} ${a.ulid}`);
      for (const u of duplicates) human.push(`already present: ${u}`);
      return { json: { ok: true, ref, actor, appended, duplicates }, human };
    }),
};
export const { builder, handler } = mod;
