/**
 * `git gatos job list`: every job with a manifest ref, its state at this instant (pending, claimed, expired,
 * released, done), who holds it, the claim epoch, the lease left and, when done, the result status.
 */
import { type JobState, listJobs, readResultCommit, readTrust } from '@gatos/core';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';
import { REMOTE_OPTION, formatDuration, jobNowMs, table, withJobStores } from './common.js';

const STATES = ['pending', 'claimed', 'expired', 'released', 'done'] as const;

interface ListArgs {
  state?: JobState;
  remote?: string;
}

const mod: CommandModule<ListArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('state', { type: 'string', choices: STATES, describe: 'Only jobs in this state' })
      .option('remote', { ...REMOTE_OPTION, describe: 'Fetch the jobs of this shared repository first' })
      .example('git gatos job list --state pending', 'Jobs nobody has claimed yet')
      .example('git gatos job list --remote origin --json', 'The shared queue, machine-readable'),
  handler: async (argv, io) =>
    withJobStores(io, argv.remote, async ({ stores }) => {
      const nowMs = jobNowMs(io);
      const all = await listJobs(stores, { nowMs });
      // People know workers by actor; the key id stays in --json.
      const trust = await readTrust(stores.objects, stores.refs);
      const actorOf = (keyId: string) => trust.byId.get(keyId)?.actor ?? keyId;
      const jobs = [];
      for (const j of all) {
        if (argv.state && j.state !== argv.state) continue;
        const status = j.result ? (await readResultCommit(stores.objects, j.result)).result.status : null;
        const c = j.claim;
        jobs.push({
          job_id: j.jobId,
          state: j.state,
          manifest: j.manifest,
          worker: c?.worker ?? null,
          worker_actor: c ? actorOf(c.worker) : null,
          epoch: c?.epoch ?? null,
          seq: c?.seq ?? null,
          expires_at_ms: c?.state === 'claimed' ? c.expires_at_ms : null,
          lease_left_ms: c?.state === 'claimed' ? Math.max(0, c.expires_at_ms - nowMs) : null,
          result: j.result,
          status,
        });
      }
      const rows = [['JOB', 'STATE', 'WORKER', 'EPOCH', 'LEASE LEFT', 'STATUS']];
      for (const j of jobs) {
        rows.push([
          j.job_id,
          j.state,
          j.worker_actor ?? '-',
          j.epoch === null ? '-' : String(j.epoch),
          j.lease_left_ms === null ? '-' : formatDuration(j.lease_left_ms),
          j.status ?? '-',
        ]);
      }
      return {
        json: { ok: true, now_ms: nowMs, jobs },
        human: jobs.length ? table(rows) : `no jobs${argv.state ? ` in state ${argv.state}` : ''}`,
      };
    }),
};
export const { builder, handler } = mod;
