/**
 * `git gatos job show <job-id>`: what the job runs (program id, entry, files, inputs, args, env names, limits,
 * cache), its claim chain (epoch, seq, state, worker, expiry), its result (status, exit code, outputs) and its
 * audit tip.
 */
import {
  type ClaimLink,
  jobIdentities,
  readClaimLinks,
  readJob,
  readResultCommit,
  readTrust,
} from '@gatos/core';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';
import { REMOTE_OPTION, formatBytes, formatDuration, isoMs, jobNowMs, withJobStores } from './common.js';

interface ShowArgs {
  job: string;
  remote?: string;
}

const mod: CommandModule<ShowArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('job', {
        type: 'string',
        demandOption: true,
        describe: 'Job id (b…, from `job submit`/`job list`)',
      })
      .option('remote', { ...REMOTE_OPTION, describe: 'Fetch the jobs of this shared repository first' })
      .example('git gatos job show bafy…', 'Manifest, claims, result and audit of one job'),
  handler: async (argv, io) =>
    withJobStores(io, argv.remote, async ({ stores }) => {
      const nowMs = jobNowMs(io);
      const job = await readJob(stores, String(argv.job), { nowMs });
      const trust = await readTrust(stores.objects, stores.refs);
      const who = (keyId: string) => trust.byId.get(keyId)?.actor ?? null;
      const m = job.manifest.manifest;
      const ids = jobIdentities(m);
      const chain: ClaimLink[] = job.claimHead ? await readClaimLinks(stores.objects, job.claimHead) : [];
      const claims = chain.map((l) => ({
        commit: l.commit,
        epoch: l.record.epoch,
        seq: l.record.seq,
        state: l.record.state,
        worker: l.record.worker,
        actor: who(l.record.worker),
        lease_ms: l.record.lease_ms,
        expires_at_ms: l.record.expires_at_ms,
        result: l.record.result,
      }));
      const rd = job.result ? await readResultCommit(stores.objects, job.result, { strict: false }) : null;
      const r = rd?.result;
      const result = r
        ? {
            commit: job.result,
            status: r.status,
            exit_code: r.exit_code,
            signal: r.signal,
            error: r.error,
            worker: r.worker,
            actor: who(r.worker),
            claim: r.claim,
            runtime: r.runtime,
            outputs: r.outputs,
            stdout: r.stdout,
            stderr: r.stderr,
            outputs_root: r.outputs_root,
            cached_from: r.cached_from,
          }
        : null;
      const json = {
        ok: true,
        job_id: job.jobId,
        state: job.state,
        manifest: {
          commit: job.manifest.commit,
          program_id: ids.program_id,
          inputs_root: ids.inputs_root,
          params_digest: ids.params_digest,
          cache_key: ids.cache_key,
          kind: m.program.kind,
          entry: m.program.entry,
          files: m.program.files,
          runtime: m.program.runtime,
          inputs: m.inputs,
          args: m.args,
          env_keys: Object.keys(m.env).sort(),
          limits: m.limits,
          cache: m.cache,
          nonce: m.nonce,
        },
        claims,
        result,
        audit: job.audit,
      };
      const human = [
        `job ${job.jobId}  [${job.state}]`,
        `manifest    ${job.manifest.commit}`,
        `program     ${m.program.kind} ${m.program.entry}  ${ids.program_id}`,
        `runtime     ${m.program.runtime.name} ${m.program.runtime.version} ${m.program.runtime.digest}`,
        ...m.program.files.map((f) => `  file      ${f.path} (${formatBytes(f.size)})`),
        `inputs      ${ids.inputs_root}`,
        ...m.inputs.map((f) => `  input     ${f.name} (${formatBytes(f.size)})`),
        `args        ${JSON.stringify(m.args)}`,
        `env         ${Object.keys(m.env).sort().join(' ') || '(none)'}`,
        `limits      timeout ${formatDuration(m.limits.timeout_ms)}, output ${formatBytes(m.limits.max_output_bytes)}, memory ${m.limits.max_memory_mb} MB`,
        `cache       ${m.cache ? 'allowed' : 'no'}${m.nonce ? `  nonce ${JSON.stringify(m.nonce)}` : ''}`,
      ];
      human.push(claims.length ? 'claims:' : 'claims      (none)');
      for (const c of claims) {
        const until =
          c.state === 'claimed'
            ? ` until ${isoMs(c.expires_at_ms)}${c.expires_at_ms > nowMs ? ` (${formatDuration(c.expires_at_ms - nowMs)} left)` : ' (expired)'}`
            : c.state === 'done'
              ? ` result ${c.result}`
              : '';
        human.push(
          `  epoch ${c.epoch} seq ${c.seq} ${c.state.padEnd(8)} ${c.actor ?? '?'} ${c.worker}${until}`,
        );
      }
      if (result) {
        const exit =
          result.exit_code !== null
            ? `exit ${result.exit_code}`
            : result.signal
              ? result.signal
              : (result.error ?? '');
        human.push(`result      ${result.status} (${exit}) by ${result.actor ?? '?'} ${result.worker}`);
        human.push(`  commit    ${result.commit}`);
        for (const o of result.outputs) human.push(`  output    ${o.path} (${formatBytes(o.size)})`);
        human.push(
          `  stdout    ${formatBytes(result.stdout.size)}, stderr ${formatBytes(result.stderr.size)}`,
        );
        if (result.cached_from) human.push(`  cached from ${result.cached_from}`);
      } else human.push('result      (none)');
      human.push(`audit       ${job.audit ?? '(none)'}`);
      return { json, human };
    }),
};
export const { builder, handler } = mod;
