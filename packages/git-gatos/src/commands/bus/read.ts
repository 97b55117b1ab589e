/**
 * `git gatos bus read`: the messages a consumer group has not acknowledged yet (at-least-once), from the repository
 * or through a running gatosd (`--daemon`/`$GATOSD_URL`), with the same JSON either way.
 */
import { assertGroup, assertTopic, type ConsumerPosition, readGroup } from '@gatos/core';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';
import { withContext } from '../../context.js';
import { toJsonValue } from '../../input.js';
import { type Daemon, daemonRequest, resolveDaemon, topicPath } from './daemon.js';

interface ReadArgs {
  topic: string;
  group: string;
  limit: number;
  daemon?: string;
}

/** One message as printed. */
interface Out {
  offset: number;
  segment: string;
  commit: string;
  ulid: string;
  cid: string;
  type: string;
  actor: string;
  ts: string;
  content_hash: string;
  data: unknown;
}

async function fromRepo(
  argv: ReadArgs,
  io: Parameters<CommandModule<ReadArgs>['handler']>[1],
): Promise<{ position: ConsumerPosition | null; messages: Out[] }> {
  return withContext(io, async (ctx) => {
    const { position, messages } = await readGroup(ctx, {
      topic: argv.topic,
      group: argv.group,
      limit: argv.limit,
    });
    return {
      position,
      messages: messages.map((m) => ({
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
      })),
    };
  });
}

async function fromDaemon(
  daemon: Daemon,
  argv: ReadArgs,
): Promise<{ position: ConsumerPosition | null; messages: Out[] }> {
  const q = `group=${encodeURIComponent(argv.group)}&limit=${encodeURIComponent(String(argv.limit))}`;
  const r = await daemonRequest<{ position_record: ConsumerPosition | null; messages: Out[] }>(
    daemon,
    'GET',
    topicPath(argv.topic, `messages?${q}`),
  );
  return {
    position: r.position_record,
    messages: r.messages.map((m) => ({
      offset: m.offset,
      segment: m.segment,
      commit: m.commit,
      ulid: m.ulid,
      cid: m.cid,
      type: m.type,
      actor: m.actor,
      ts: m.ts,
      content_hash: m.content_hash,
      data: m.data,
    })),
  };
}

const mod: CommandModule<ReadArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('topic', { type: 'string', demandOption: true, describe: 'Topic' })
      .option('group', { type: 'string', demandOption: true, describe: 'Consumer group' })
      .option('limit', {
        type: 'number',
        default: 100,
        describe: 'Most messages to return (through gatosd: 1-1000)',
      })
      .option('daemon', {
        type: 'string',
        describe: 'Read through this gatosd (default: $GATOSD_URL; token: $GATOSD_TOKEN)',
      })
      .example(
        'git gatos bus read --topic orders --group billing --json',
        'Read, then `bus ack` what you handled',
      ),
  handler: async (argv, io) => {
    assertTopic(argv.topic);
    assertGroup(argv.group);
    const daemon = resolveDaemon(argv.daemon, io);
    const { position, messages } = daemon ? await fromDaemon(daemon, argv) : await fromRepo(argv, io);
    return {
      json: { ok: true, topic: argv.topic, group: argv.group, position, messages },
      human: messages.map((m) => `${m.offset} ${m.commit.slice(0, 12)} ${m.ulid} ${JSON.stringify(m.data)}`),
    };
  },
};
export const { builder, handler } = mod;
