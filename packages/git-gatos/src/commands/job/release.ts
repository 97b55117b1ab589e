/**
 * `git gatos job release <job-id>`: gives up a claim this actor holds (one compare-and-swap of the claim ref, or
 * one leased push with `--remote`), so another worker may claim the job at once instead of waiting for expiry.
 */
import { GatosError, readJob, readTrust, releaseJob } from '@gatos/core';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';
import { REMOTE_OPTION, isoMs, jobActor, jobNowMs, withJobStores } from './common.js';

interface ReleaseArgs {
  job: string;
  actor?: string;
  remote?: string;
}

const mod: CommandModule<ReleaseArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('job', { type: 'string', demandOption: true, describe: 'Job id' })
      .option('actor', {
        type: 'string',
        describe: 'Who holds the claim (default: $GATOS_ACTOR or your only key)',
      })
      .option('remote', REMOTE_OPTION)
      .example('git gatos job release b…', 'Give the job back to the queue'),
  handler: async (argv, io) =>
    withJobStores(io, argv.remote, async ({ stores, remote }) => {
      const me = await jobActor(io, stores.objects, stores.refs, argv.actor);
      const nowMs = jobNowMs(io);
      const jobId = String(argv.job);
      const job = await readJob(stores, jobId, { nowMs });
      const tip = job.claim?.record ?? null;
      const refuse = async (t: typeof tip) => {
        if (t?.state === 'claimed' && t.worker !== me.keyId && nowMs < t.expires_at_ms) {
          const holder = (await readTrust(stores.objects, stores.refs)).byId.get(t.worker)?.actor ?? t.worker;
          return new GatosError(
            'GATOS_E_JOB_CLAIMED',
            `job ${jobId} is claimed by ${holder} (${t.worker}, epoch ${t.epoch}) until ${isoMs(t.expires_at_ms)}, not by ${me.actor}`,
            { data: { jobId, worker: t.worker, epoch: t.epoch, expires_at_ms: t.expires_at_ms } },
          );
        }
        const now = t === null ? 'unclaimed' : `${t.state} by ${t.worker} (epoch ${t.epoch})`;
        return new GatosError(
          'GATOS_E_JOB_LEASE_LOST',
          `${me.actor} does not hold job ${jobId}: it is ${now}`,
          {
            data: { jobId, worker: me.keyId, tip: t },
            hint: 'Only the current holder can release a claim.',
          },
        );
      };
      if (tip?.state !== 'claimed' || tip.worker !== me.keyId) throw await refuse(tip);
      const r = await releaseJob(stores, { jobId, signer: me.claims, nowMs, epoch: tip.epoch });
      if (r.outcome === 'lease-lost') throw await refuse(r.tip);
      return {
        json: {
          ok: true,
          job_id: jobId,
          remote,
          actor: me.actor,
          worker: me.keyId,
          epoch: tip.epoch,
          commit: r.commit,
        },
        human: `released job ${jobId} (epoch ${tip.epoch})${remote ? ` on ${remote}` : ''}`,
      };
    }),
};
export const { builder, handler } = mod;
