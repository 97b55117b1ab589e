/**
 * `git gatos bus subscribe`: follows a topic live, like `tail -f`, from a consumer group's position. Through a
 * running gatosd (`--daemon <url>` or `$GATOSD_URL`: its SSE stream, resumed with `Last-Event-ID` after a
 * reconnect), else by polling the repository every 200 ms. `--ack` acknowledges each message after printing it.
 * Runs until SIGINT/SIGTERM, then exits 0.
 */
import { ack, type BusMessage, createTopicIndex, readGroup, readMessages } from '@gatos/core';
import type { Argv } from 'yargs';
import type { CliIo, CommandModule, GlobalArgs } from '../../command.js';
import { withContext } from '../../context.js';
import { toJsonValue } from '../../input.js';
import { busNow } from './common.js';
import { followDaemon, resolveDaemon } from './daemon.js';

interface SubscribeArgs {
  topic: string;
  group: string;
  daemon?: string;
  ack: boolean;
  'interval-ms': number;
}

/** One delivered message as printed (`--json`: one object per line). */
interface Line {
  topic: string;
  offset: number;
  segment: string;
  commit: string;
  ulid: string;
  cid: string;
  type: string;
  actor: string;
  ts: string;
  data: unknown;
}

function fromBus(m: BusMessage): Line {
  return {
    topic: m.topic,
    offset: m.offset,
    segment: m.segment,
    commit: m.commit,
    ulid: m.ulid,
    cid: m.cid,
    type: m.envelope.type,
    actor: m.envelope.actor,
    ts: m.envelope.ts,
    data: toJsonValue(m.envelope.payload),
  };
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

/** Follows the repository directly: read after the last printed offset every `intervalMs`. */
async function followRepo(
  argv: SubscribeArgs,
  io: CliIo,
  signal: AbortSignal,
  emit: (l: Line) => void,
): Promise<void> {
  await withContext(io, async (ctx) => {
    const index = createTopicIndex(argv.topic);
    const start = await readGroup(ctx, { topic: argv.topic, group: argv.group, limit: 1, index });
    let after = start.position?.offset ?? -1;
    while (!signal.aborted) {
      const page = await readMessages(ctx, { topic: argv.topic, after, limit: 500, index });
      for (const m of page) {
        if (signal.aborted) break;
        emit(fromBus(m));
        after = m.offset;
        if (argv.ack) {
          await ack(ctx, {
            topic: argv.topic,
            group: argv.group,
            to: { offset: m.offset },
            now: busNow(io),
          });
        }
      }
      if (page.length < 500) await sleep(argv['interval-ms'], signal);
    }
  });
}

const mod: CommandModule<SubscribeArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('topic', { type: 'string', demandOption: true, describe: 'Topic' })
      .option('group', {
        type: 'string',
        demandOption: true,
        describe: 'Consumer group (starts after its acknowledged position)',
      })
      .option('daemon', {
        type: 'string',
        describe: 'gatosd URL (default: $GATOSD_URL); else poll the repository',
      })
      .option('ack', {
        type: 'boolean',
        default: false,
        describe: 'Acknowledge each message after printing it',
      })
      .option('interval-ms', { type: 'number', default: 200, describe: 'Repository polling interval' })
      .example(
        'git gatos bus subscribe --topic orders --group billing --ack --json',
        'Follow live, JSON lines',
      ),
  handler: async (argv, io) => {
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    let delivered = 0;
    const emit = (l: Line) => {
      delivered++;
      io.stdout(
        argv.json
          ? `${JSON.stringify(l)}\n`
          : `${l.offset} ${l.commit.slice(0, 12)} ${l.ulid} ${JSON.stringify(l.data)}\n`,
      );
    };
    const daemon = resolveDaemon(argv.daemon, io);
    try {
      if (daemon) {
        await followDaemon(
          daemon,
          { topic: argv.topic, group: argv.group, ack: argv.ack },
          controller.signal,
          (m) => emit(m as unknown as Line),
          (why) => io.stderr(`git-gatos: stream interrupted (${why}); reconnecting\n`),
        );
      } else await followRepo(argv, io, controller.signal, emit);
    } finally {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
    }
    return {
      json: { ok: true, topic: argv.topic, group: argv.group, delivered },
      human: [],
    };
  },
};
export const { builder, handler } = mod;
