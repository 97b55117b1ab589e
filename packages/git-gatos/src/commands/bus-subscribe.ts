/**
 * `git gatos bus subscribe`: follows a topic live, like `tail -f`, from a consumer group's position. Through a
 * running gatosd (`--daemon <url>` or `$GATOSD_URL`: its SSE stream, resumed with `Last-Event-ID` after a
 * reconnect), else by polling the repository every 200 ms. `--ack` acknowledges each message after printing it.
 * Runs until SIGINT/SIGTERM, then exits 0.
 */
import { ack, type BusMessage, createTopicIndex, GatosError, readGroup, readMessages } from '@gatos/core';
import type { Argv } from 'yargs';
import type { CliIo, CommandModule, GlobalArgs } from '../command.js';
import { withContext } from '../context.js';
import { toJsonValue } from '../input.js';
import { busNow } from './bus-common.js';
import { type Daemon, resolveDaemon } from './bus-daemon.js';

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

/** Follows gatosd's SSE stream, reconnecting (with `Last-Event-ID`) after errors until `signal` aborts. */
async function followDaemon(
  daemon: Daemon,
  argv: SubscribeArgs,
  io: CliIo,
  signal: AbortSignal,
  emit: (l: Line) => void,
): Promise<void> {
  const root = daemon.url;
  const topic = encodeURIComponent(argv.topic);
  const auth = daemon.headers;
  let lastId: string | null = null;
  let retryMs = 1000;
  while (!signal.aborted) {
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream', ...auth };
      if (lastId !== null) headers['last-event-id'] = lastId;
      const res = await fetch(`${root}/v1/topics/${topic}/stream?group=${encodeURIComponent(argv.group)}`, {
        headers,
        signal,
      });
      if (!res.ok || !res.body) {
        const text = await res.text().catch(() => '');
        const err = new GatosError('GATOS_E_USAGE', `gatosd answered ${res.status}: ${text.slice(0, 300)}`);
        // Client errors do not heal by retrying.
        if (res.status >= 400 && res.status < 500) throw err;
        throw Object.assign(err, { retry: true });
      }
      const decoder = new TextDecoder();
      let buf = '';
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true }).replace(/\r\n?/g, '\n');
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let id: string | null = null;
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const c = line.indexOf(':');
            const field = c < 0 ? line : line.slice(0, c);
            const value = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
            if (field === 'id') id = value;
            else if (field === 'event') event = value;
            else if (field === 'data') data.push(value);
            else if (field === 'retry' && /^\d+$/.test(value)) retryMs = Number(value);
          }
          if (event !== 'message' || data.length === 0) continue;
          const m = JSON.parse(data.join('\n')) as Line;
          emit(m);
          if (id !== null) lastId = id;
          if (argv.ack) {
            const r = await fetch(`${root}/v1/topics/${topic}/ack`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', ...auth },
              body: JSON.stringify({ group: argv.group, offset: m.offset }),
              signal,
            });
            if (!r.ok) throw new GatosError('GATOS_E_USAGE', `ack answered ${r.status}: ${await r.text()}`);
          }
        }
      }
    } catch (e) {
      if (signal.aborted) return;
      if (e instanceof GatosError && !(e as GatosError & { retry?: boolean }).retry) throw e;
      io.stderr(`git-gatos: stream interrupted (${(e as Error).message}); reconnecting\n`);
    }
    await sleep(retryMs, signal);
  }
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
      if (daemon) await followDaemon(daemon, argv, io, controller.signal, emit);
      else await followRepo(argv, io, controller.signal, emit);
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
