/**
 * `git gatos job claim <job-id>`: claims a job by hand (or reclaims it after a release or an expired lease) with
 * one compare-and-swap of its claim ref — with `--remote`, one leased push to the shared repository, so of two
 * claimants exactly one wins. A live lease of someone else is `GATOS_E_JOB_CLAIMED` (exit 5).
 */
import { GatosError, claimJob, readTrust } from '@gatos/core';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';
import {
  REMOTE_OPTION,
  formatDuration,
  isoMs,
  jobActor,
  jobNowMs,
  parseDuration,
  withJobStores,
} from './common.js';

interface ClaimArgs {
  job: string;
  lease: string;
  actor?: string;
  remote?: string;
}

const mod: CommandModule<ClaimArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('job', { type: 'string', demandOption: true, describe: 'Job id' })
      .option('lease', {
        type: 'string',
        default: '60s',
        describe: 'How long the claim holds without a heartbeat: 500ms, 30s, 5m, 2h',
      })
      .option('actor', { type: 'string', describe: 'Who claims (default: $GATOS_ACTOR or your only key)' })
      .option('remote', REMOTE_OPTION)
      .example('git gatos job claim b… --lease 5m', 'Hold a job for five minutes')
      .example(
        'git gatos job claim b… --remote origin',
        'Claim on the shared repository (one claimant wins)',
      ),
  handler: async (argv, io) => {
    const leaseMs = parseDuration(argv.lease, 'lease');
    return withJobStores(io, argv.remote, async ({ stores, remote }) => {
      const me = await jobActor(io, stores.objects, stores.refs, argv.actor);
      const nowMs = jobNowMs(io);
      const jobId = String(argv.job);
      const r = await claimJob(stores, { jobId, signer: me.claims, nowMs, leaseMs });
      if (r.outcome === 'held') {
        const trust = await readTrust(stores.objects, stores.refs);
        const holder = trust.byId.get(r.worker)?.actor ?? r.worker;
        const mine = r.worker === me.keyId;
        throw new GatosError(
          'GATOS_E_JOB_CLAIMED',
          `job ${jobId} is claimed by ${holder} (${r.worker}, epoch ${r.epoch}) until ${isoMs(r.expires_at_ms)}` +
            ` (${formatDuration(Math.max(0, r.expires_at_ms - nowMs))} left)${r.race ? '; it won the race' : ''}`,
          {
            data: { ...r, actor: trust.byId.get(r.worker)?.actor ?? null },
            hint: mine
              ? 'You hold it already; `git gatos job release` gives it up.'
              : 'Wait for the lease to expire (plus 2 s of clock skew), or pick another job.',
          },
        );
      }
      if (r.outcome === 'done') {
        throw new GatosError('GATOS_E_JOB_CLAIMED', `job ${jobId} is done (result ${r.result})`, {
          data: { jobId, result: r.result },
          hint: '`git gatos job result` shows what it produced.',
        });
      }
      if (r.outcome === 'lost-race') {
        throw new GatosError('GATOS_E_JOB_CLAIMED', `job ${jobId}: another claim step landed first`, {
          data: { jobId },
          hint: 'Run the claim again: it decides from the new claim tip.',
        });
      }
      const rec = r.record;
      return {
        json: {
          ok: true,
          job_id: jobId,
          remote,
          actor: me.actor,
          worker: me.keyId,
          epoch: r.epoch,
          reclaimed: r.reclaimed,
          commit: r.commit,
          lease_ms: rec.lease_ms,
          expires_at_ms: rec.expires_at_ms,
        },
        human: `${r.reclaimed ? 'reclaimed' : 'claimed'} job ${jobId} as ${me.actor} (epoch ${r.epoch}) until ${isoMs(rec.expires_at_ms)}${remote ? ` on ${remote}` : ''}`,
      };
    });
  },
};
export const { builder, handler } = mod;
