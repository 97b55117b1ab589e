/**
 * `git gatos job result <job-id>`: the result of a done job — its summary, one output's raw bytes (`--output`),
 * the run's stdout or stderr, or every output written into a directory (`--extract`). The result commit is read
 * strictly: outputs and logs that do not match the signed record are refused, not handed out.
 */
import { GatosError, jobResultRef, readJob, readResultCommit } from '@gatos/core';
import { materialize } from '@gatos/gatosd/jobs';
import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';
import { REMOTE_OPTION, formatBytes, jobNowMs, withJobStores } from './common.js';

interface ResultArgs {
  job: string;
  output?: string;
  extract?: string;
  stdout: boolean;
  stderr: boolean;
  remote?: string;
}

/** Raw bytes to the process's stdout (the CLI's text channel would re-encode them). */
function writeRaw(bytes: Uint8Array): Promise<void> {
  return new Promise((res, rej) => process.stdout.write(bytes, (e) => (e ? rej(e) : res())));
}

const mod: CommandModule<ResultArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('job', { type: 'string', demandOption: true, describe: 'Job id' })
      .option('output', { type: 'string', describe: 'Print this output file raw (its path in the result)' })
      .option('extract', {
        type: 'string',
        describe: 'Write every output under this directory (must not clash)',
      })
      .option('stdout', { type: 'boolean', default: false, describe: "Print the run's stdout raw" })
      .option('stderr', { type: 'boolean', default: false, describe: "Print the run's stderr raw" })
      .option('remote', { ...REMOTE_OPTION, describe: 'Fetch the jobs of this shared repository first' })
      .example('git gatos job result b…', 'Status, exit code and outputs')
      .example('git gatos job result b… --output report.txt > report.txt', 'One output, byte for byte')
      .example('git gatos job result b… --extract out/', 'All outputs into out/'),
  handler: async (argv, io) =>
    withJobStores(io, argv.remote, async ({ stores }) => {
      const jobId = String(argv.job);
      // By hand: yargs counts boolean defaults as given, so `.conflicts` would refuse every call.
      const modes = [
        argv.output !== undefined && '--output',
        argv.extract !== undefined && '--extract',
        argv.stdout && '--stdout',
        argv.stderr && '--stderr',
      ].filter(Boolean);
      if (modes.length > 1) {
        throw new GatosError('GATOS_E_USAGE', `${modes.join(' and ')} cannot be combined`, {
          hint: 'Choose one of --output <path>, --stdout, --stderr or --extract <dir>.',
        });
      }
      const job = await readJob(stores, jobId, { nowMs: jobNowMs(io) });
      if (!job.result) {
        throw new GatosError('GATOS_E_JOB_RECORD', `job ${jobId} has no result yet (it is ${job.state})`, {
          data: { jobId, state: job.state, ref: jobResultRef(jobId) },
          hint: 'Wait for a worker to finish it (`git gatos job list`), or fetch with --remote.',
        });
      }
      const rd = await readResultCommit(stores.objects, job.result);
      const r = rd.result;
      const raw =
        argv.output !== undefined
          ? rd.outputs.get(argv.output)
          : argv.stdout
            ? rd.stdout
            : argv.stderr
              ? rd.stderr
              : undefined;
      if (argv.output !== undefined && raw === undefined) {
        throw new GatosError('GATOS_E_USAGE', `job ${jobId} has no output ${JSON.stringify(argv.output)}`, {
          data: { jobId, outputs: r.outputs.map((o) => o.path) },
          hint: r.outputs.length
            ? `Outputs: ${r.outputs.map((o) => o.path).join(', ')}`
            : 'The job produced no outputs.',
        });
      }
      if (raw) {
        if (argv.json) {
          const what = argv.output ?? (argv.stdout ? 'stdout' : 'stderr');
          return {
            json: {
              ok: true,
              job_id: jobId,
              file: what,
              size: raw.length,
              base64: Buffer.from(raw).toString('base64'),
            },
            human: [],
          };
        }
        await writeRaw(raw);
        return { json: null, human: [] };
      }
      let extracted: string | null = null;
      if (argv.extract !== undefined) {
        extracted = resolve(io.cwd, argv.extract);
        await materialize(extracted, rd.outputs);
      }
      const summary = {
        ok: true,
        job_id: jobId,
        commit: job.result,
        status: r.status,
        exit_code: r.exit_code,
        signal: r.signal,
        error: r.error,
        worker: r.worker,
        outputs: r.outputs,
        stdout: r.stdout,
        stderr: r.stderr,
        cached_from: r.cached_from,
        extracted,
      };
      const exit = r.exit_code !== null ? `exit ${r.exit_code}` : (r.signal ?? r.error ?? '');
      const human = [`${r.status} (${exit})  result ${job.result}`];
      for (const o of r.outputs) human.push(`  ${o.path}  ${formatBytes(o.size)}  ${o.digest}`);
      human.push(`  stdout ${formatBytes(r.stdout.size)}, stderr ${formatBytes(r.stderr.size)}`);
      if (extracted) human.push(`wrote ${r.outputs.length} output(s) under ${extracted}`);
      return { json: summary, human };
    }),
};
export const { builder, handler } = mod;
