/**
 * `git gatos bus publish`: sign messages and store them on the topic's current segment (one CAS per segment), or
 * hand them to a running gatosd (`--daemon`/`$GATOSD_URL`), which signs and stores them.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  busEnvelope,
  BUS_MESSAGE_TYPE,
  DEFAULT_TOPIC_CONFIG,
  type DuplicateMessage,
  type EventEnvelope,
  GatosError,
  NO_POLICY_ROOT,
  assertTopic,
  segmentRef,
  createUlidFactory,
  type PublishedMessage,
  publish,
  requireRepoConfig,
} from '@gatos/core';
import { resolveIdentity } from '@gatos/gatosd/identity';
import type { Argv } from 'yargs';
import type { CliIo, CommandModule, GlobalArgs } from '../../command.js';
import { withContext } from '../../context.js';
import { readJsonArg, readJsonLines } from '../../input.js';
import { busNow } from './common.js';
import { type Daemon, daemonRequest, resolveDaemon, topicPath } from './daemon.js';

interface PublishArgs {
  topic: string;
  data?: string;
  key?: string;
  type: string;
  batch?: string;
  actor?: string;
  'policy-root'?: string;
  'max-messages-per-segment'?: number;
  'max-segment-bytes'?: number;
  'allow-duplicate-content': boolean;
  daemon?: string;
}

interface Draft {
  data: unknown;
  key?: unknown;
  type?: unknown;
}

async function drafts(argv: PublishArgs, io: CliIo): Promise<Draft[]> {
  if (argv.batch !== undefined) {
    if (argv.data !== undefined || argv.key !== undefined) {
      throw new GatosError('GATOS_E_USAGE', '--batch takes data, key and type from each line');
    }
    return (await readJsonLines(io, argv.batch)).map(({ value, line }) => {
      if (!Object.hasOwn(value, 'data')) {
        throw new GatosError('GATOS_E_ENVELOPE_SHAPE', `line ${line}: expected {"data": …, "key"?, "type"?}`);
      }
      return value as unknown as Draft;
    });
  }
  if (argv.data === undefined) throw new GatosError('GATOS_E_USAGE', 'missing --data (or --batch)');
  return [{ data: await readJsonArg(io, argv.data), key: argv.key }];
}

/** Messages per request to gatosd (its default `max_batch`). */
const DAEMON_BATCH = 1000;

interface DaemonPublished {
  published: { offset: number; ulid: string; commit: string; segment: string; cid: string }[];
  duplicates: DuplicateMessage[];
}

/**
 * Publishes through gatosd: the daemon signs as its own actor with its own segment settings, so the options that
 * would change those are refused rather than silently ignored. Same JSON as the direct path, without `sealed` and
 * `swaps` (the daemon writes requests together; rotation is its business).
 */
async function viaDaemon(daemon: Daemon, argv: PublishArgs, input: Draft[]) {
  const refused = (
    [
      ['policy-root', argv['policy-root'] !== undefined && argv['policy-root'] !== NO_POLICY_ROOT],
      ['max-messages-per-segment', argv['max-messages-per-segment'] !== undefined],
      ['max-segment-bytes', argv['max-segment-bytes'] !== undefined],
      ['allow-duplicate-content', argv['allow-duplicate-content']],
    ] as const
  )
    .filter(([, set]) => set)
    .map(([name]) => `--${name}`);
  if (refused.length) {
    throw new GatosError('GATOS_E_USAGE', `${refused.join(', ')} cannot be used through gatosd`, {
      hint: 'The daemon applies its own settings; drop the option or publish to the repository directly.',
    });
  }
  const health = await daemonRequest<{ actor: string }>(daemon, 'GET', '/health');
  if (argv.actor !== undefined && argv.actor !== health.actor) {
    throw new GatosError('GATOS_E_USAGE', `gatosd signs as ${health.actor}, not ${argv.actor}`, {
      data: { daemon: daemon.url, actor: health.actor },
      hint: 'Drop --actor, or publish to the repository directly to sign with your own key.',
    });
  }
  const messages = input.map((d) => ({
    data: d.data,
    ...(d.key === undefined ? {} : { key: d.key }),
    type: d.type ?? argv.type,
  }));
  const out: { published: PublishedMessage[]; duplicates: DuplicateMessage[] } = {
    published: [],
    duplicates: [],
  };
  for (let i = 0; i < messages.length; i += DAEMON_BATCH) {
    const r = await daemonRequest<DaemonPublished>(daemon, 'POST', topicPath(argv.topic, 'messages'), {
      messages: messages.slice(i, i + DAEMON_BATCH),
    });
    for (const p of r.published) {
      out.published.push({
        segment: p.segment,
        ref: segmentRef(argv.topic, p.segment),
        commit: p.commit,
        offset: p.offset,
        ulid: p.ulid,
        cid: p.cid,
      });
    }
    out.duplicates.push(...r.duplicates);
  }
  const human = out.published.map((p) => `${p.offset} ${p.segment} ${p.commit.slice(0, 12)} ${p.ulid}`);
  for (const d of out.duplicates) human.push(`duplicate (${d.reason}): ${d.ulid}`);
  return { json: { ok: true, actor: health.actor, topic: argv.topic, ...out }, human };
}

const mod: CommandModule<PublishArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('topic', { type: 'string', demandOption: true, describe: 'Topic, e.g. `orders`' })
      .option('data', { type: 'string', describe: 'Message data: JSON, `@file` or `-` for stdin' })
      .option('key', {
        type: 'string',
        describe: 'Idempotency key (a ULID); a live message with it is not stored again',
      })
      .option('type', { type: 'string', default: BUS_MESSAGE_TYPE, describe: 'Envelope type of the message' })
      .option('batch', {
        type: 'string',
        describe:
          'JSON Lines file (or -): one {"data": …, "key"?, "type"?} per line, stored with one CAS per segment',
      })
      .option('actor', {
        type: 'string',
        describe: 'Who signs (default: $GATOS_ACTOR or your only key here)',
      })
      .option('policy-root', {
        type: 'string',
        describe: `Policy root of the messages (default: ${NO_POLICY_ROOT})`,
      })
      .option('max-messages-per-segment', {
        type: 'number',
        describe: `Rotate the segment at this many messages (default: ${DEFAULT_TOPIC_CONFIG.max_messages_per_segment})`,
      })
      .option('max-segment-bytes', {
        type: 'number',
        describe: `Rotate before the segment exceeds this many envelope bytes (default: ${DEFAULT_TOPIC_CONFIG.max_segment_bytes})`,
      })
      .option('daemon', {
        type: 'string',
        describe: 'Publish through this gatosd (default: $GATOSD_URL; token: $GATOSD_TOKEN); it signs',
      })
      .option('allow-duplicate-content', {
        type: 'boolean',
        default: false,
        describe: 'Store a message even when the same type+data is already live (ULIDs still dedupe)',
      })
      .example('git gatos bus publish --topic orders --data \'{"id":1}\'', 'Publish one message')
      .example('git gatos bus publish --topic orders --batch msgs.jsonl', 'Publish many in one step'),
  handler: async (argv, io) => {
    assertTopic(argv.topic);
    const daemon = resolveDaemon(argv.daemon, io);
    if (daemon) return viaDaemon(daemon, argv, await drafts(argv, io));
    return withContext(io, async ({ objects, refs }) => {
      const now = busNow(io);
      const config = await requireRepoConfig(objects, refs);
      const { actor, events: signer } = await resolveIdentity({
        objects,
        refs,
        env: io.env,
        actor: argv.actor,
      });
      const nextUlid = createUlidFactory(() => now.getTime(), io.randomBytes);
      const opts = { maxBytes: config.max_envelope_bytes };
      const input = await drafts(argv, io);
      const envelopes: EventEnvelope[] = input.map((d) =>
        busEnvelope(
          {
            actor,
            ulid: (d.key as string | undefined) ?? nextUlid(),
            now,
            data: d.data,
            type: (d.type as string | undefined) ?? argv.type,
            policyRoot: argv['policy-root'],
          },
          opts,
        ),
      );
      const result = await publish(envelopes, {
        objects,
        refs,
        topic: argv.topic,
        signer,
        now,
        maxEnvelopeBytes: config.max_envelope_bytes,
        dedupeContent: !argv['allow-duplicate-content'],
        config: {
          max_messages_per_segment:
            argv['max-messages-per-segment'] ?? DEFAULT_TOPIC_CONFIG.max_messages_per_segment,
          max_segment_bytes: argv['max-segment-bytes'] ?? DEFAULT_TOPIC_CONFIG.max_segment_bytes,
        },
        retry: { sleep: (ms) => sleep(ms), random: Math.random },
      });
      const human = result.published.map(
        (p) => `${p.offset} ${p.segment} ${p.commit.slice(0, 12)} ${p.ulid}`,
      );
      for (const d of result.duplicates) human.push(`duplicate (${d.reason}): ${d.ulid}`);
      for (const s of result.sealed)
        human.push(`sealed segment ${s.segment} (summary ${s.summary.slice(0, 12)})`);
      const { topic, published, duplicates, sealed, swaps } = result; // `appends` is for in-process indexes
      return { json: { ok: true, actor, topic, published, duplicates, sealed, swaps }, human };
    });
  },
};
export const { builder, handler } = mod;
