/** `git gatos worker run`: claim and run jobs from a shared repository (or this one) until stopped or idle. */
import { GatosError, JOBS_TOPIC } from '@gatos/core';
import { fetchJobs } from '@gatos/git';
import { runWorker, type WorkerEvent } from '@gatos/gatosd/jobs';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';
import { withContext } from '../../context.js';
import { followDaemon, resolveDaemon } from '../bus/daemon.js';
import { formatDuration, jobActor, parseDuration } from '../job/common.js';

interface WorkerArgs {
  remote?: string;
  concurrency: number;
  'until-idle': boolean;
  lease: string;
  skew: string;
  poll: string;
  'max-jobs'?: number;
  actor?: string;
  notify: boolean;
  daemon?: string;
}

function line(e: WorkerEvent): string {
  const id = 'jobId' in e && e.jobId ? e.jobId.slice(0, 16) : '';
  switch (e.event) {
    case 'claimed':
      return `claimed   ${id} epoch ${e.epoch}${e.reclaimed ? ' (reclaimed after release or expiry)' : ''}`;
    case 'completed':
      return `completed ${id} ${e.status}${e.exitCode === null ? '' : ` exit ${e.exitCode}`} in ${formatDuration(e.ms)}${e.cached ? ' (cached)' : ''}`;
    case 'lost-race':
      return `lost race ${id} (another worker claimed it first)`;
    case 'repaired':
      return `repaired  ${id}: finished an interrupted completion (${e.status})`;
    case 'lease-lost':
      return `lease lost ${id}: another worker took the job over; run abandoned`;
    case 'refused':
      return `refused   ${id}: ${e.message}`;
    case 'skipped':
      return `skipped   ${id}: ${e.message}`;
    case 'error':
      return `error     ${id} ${e.code}: ${e.message}`;
  }
}

const mod: CommandModule<WorkerArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('remote', {
        type: 'string',
        describe:
          'Shared repository (path, URL or remote name) to take jobs from; claims and results go there by leased ' +
          'push. Without it, jobs of this repository are claimed by local compare-and-swap',
      })
      .option('concurrency', { type: 'number', default: 1, describe: 'Jobs run at once' })
      .option('until-idle', {
        type: 'boolean',
        default: false,
        describe: 'Exit once no job is left that could become claimable (for scripts and CI)',
      })
      .option('lease', {
        type: 'string',
        default: '30s',
        describe: 'Lease of each claim; renewed every third',
      })
      .option('skew', {
        type: 'string',
        default: '2s',
        describe: 'Clock-skew margin before an expired lease of another worker is taken over',
      })
      .option('poll', { type: 'string', default: '500ms', describe: 'Pause between looks for new jobs' })
      .option('max-jobs', { type: 'number', describe: 'Stop after claiming this many jobs' })
      .option('actor', {
        type: 'string',
        describe:
          'The worker identity whose key signs claims and proofs (default: $GATOS_ACTOR or your only key)',
      })
      .option('notify', {
        type: 'boolean',
        default: true,
        describe: 'Publish a job.completed message on bus topic `jobs` after each result',
      })
      .option('daemon', {
        type: 'string',
        describe:
          'gatosd serving the shared repository (default: $GATOSD_URL; token: $GATOSD_TOKEN): follow its live ' +
          'stream of bus topic `jobs` and look for work as soon as a job is announced, instead of at the next poll',
      })
      .example('git gatos worker run --remote ../shared.git --concurrency 2', 'Serve jobs until stopped')
      .example(
        'git gatos worker run --remote ../shared.git --until-idle --json',
        'Drain the queue, then report',
      ),
  handler: async (argv, io) => {
    if (!Number.isInteger(argv.concurrency) || argv.concurrency < 1 || argv.concurrency > 64) {
      throw new GatosError('GATOS_E_USAGE', '--concurrency takes an integer from 1 to 64');
    }
    const leaseMs = parseDuration(argv.lease, 'lease');
    const skewMs = parseDuration(argv.skew, 'skew');
    const pollMs = parseDuration(argv.poll, 'poll');
    return withContext(io, async (ctx) => {
      // The worker's key must be registered in the shared repository's trust registry: mirror it first.
      if (argv.remote) await fetchJobs(ctx.repo, argv.remote);
      const who = await jobActor(io, ctx.objects, ctx.refs, argv.actor);
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const print = argv.json ? io.stderr : io.stdout;
      const daemon = resolveDaemon(argv.daemon, io);
      const subscribe = daemon
        ? (onMessage: () => void, signal: AbortSignal) =>
            followDaemon(
              daemon,
              { topic: JOBS_TOPIC, group: 'workers', ack: false },
              signal,
              onMessage,
              (why) => print(`job stream interrupted (${why}); reconnecting\n`),
            )
        : undefined;
      try {
        const report = await runWorker({
          repo: ctx.repo,
          objects: ctx.objects,
          refs: ctx.refs,
          ...(argv.remote ? { remote: argv.remote } : {}),
          signer: who.claims,
          ...(argv.notify ? { busSigner: who.events } : {}),
          concurrency: argv.concurrency,
          untilIdle: argv['until-idle'],
          leaseMs,
          skewMs,
          pollMs,
          ...(argv['max-jobs'] === undefined ? {} : { maxJobs: argv['max-jobs'] }),
          onEvent: (e) => print(`${line(e)}\n`),
          signal: stop.signal,
          ...(subscribe ? { subscribe } : {}),
        });
        const summary = Object.entries(report.statuses)
          .map(([s, n]) => `${n} ${s}`)
          .join(', ');
        return {
          json: { ok: true, actor: who.actor, ...report },
          human: [
            `worker ${who.actor} (${report.worker}): ${report.completed} completed${summary ? ` (${summary})` : ''}, ` +
              `${report.cacheHits} from cache, ${report.lostRaces} lost races, ${report.leaseLost} leases lost, ` +
              `${report.refused} results refused`,
          ],
        };
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
  },
};
export const { builder, handler } = mod;
