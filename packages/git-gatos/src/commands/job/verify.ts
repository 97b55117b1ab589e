/**
 * `git gatos job verify <job-id>`: checks a job's result end to end against the trust registry — PoE signature
 * and key, the worker's claim chain, program, inputs, outputs and logs recomputed from the commits, the audit
 * tip, and for a cache hit the source job — and lists every problem (exit 6, `GATOS_E_JOB_VERIFY`).
 */
import { ErrorCodes, GatosError, readTrust, verifyJob } from '@gatos/core';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';
import { REMOTE_OPTION, withJobStores } from './common.js';

interface VerifyArgs {
  job: string;
  remote?: string;
}

const mod: CommandModule<VerifyArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('job', { type: 'string', demandOption: true, describe: 'Job id' })
      .option('remote', {
        ...REMOTE_OPTION,
        describe: 'Fetch the jobs and trust registry of this shared repository first',
      })
      .example(
        'git gatos job verify b…',
        'Exit 0 when the result and its proof hold, 6 with every problem otherwise',
      ),
  handler: async (argv, io) =>
    withJobStores(io, argv.remote, async ({ stores }) => {
      const jobId = String(argv.job);
      const trust = await readTrust(stores.objects, stores.refs);
      const report = await verifyJob(stores, jobId, trust);
      if (report.ok) {
        return {
          json: { ...report, job_id: jobId },
          human: `ok: job ${jobId}: result, proof, claims and audit verify`,
        };
      }
      const lines = report.problems.map((p) => `  ${p.kind}: ${p.message}`);
      if (argv.json) {
        const error = { code: 'GATOS_E_JOB_VERIFY', message: `job ${jobId} does not verify` };
        return {
          json: { ...report, job_id: jobId, error },
          human: [],
          exitCode: ErrorCodes.GATOS_E_JOB_VERIFY[0],
        };
      }
      throw new GatosError(
        'GATOS_E_JOB_VERIFY',
        `job ${jobId} does not verify (${report.problems.length} problem${report.problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
        {
          data: { jobId, problems: report.problems },
          hint: 'Do not trust this result; re-run the job on a trusted worker.',
        },
      );
    }),
};
export const { builder, handler } = mod;
