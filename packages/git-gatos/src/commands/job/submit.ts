/**
 * `git gatos job submit`: builds a job manifest from program files, inputs, args, env and limits (runtime pinned
 * to this machine's), writes the manifest commit to `refs/gatos/jobs/<job-id>/manifest` (create-only, so
 * resubmitting is a no-op) and announces the job on bus topic `jobs` with a key derived from the job id.
 */
import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  busEnvelope,
  contentDigest,
  encodeManifest,
  GatosError,
  jobIdentities,
  jobIdOf,
  type JobManifest,
  jobManifestRef,
  JOBS_TOPIC,
  PROFILES,
  publish,
  readRepoConfig,
  requireRepoConfig,
  submitJob,
} from '@gatos/core';
import { currentRuntime } from '@gatos/gatosd/jobs';
import type { Argv } from 'yargs';
import type { CliIo, CommandModule, GlobalArgs } from '../../command.js';
import { busNow } from '../bus/common.js';
import { REMOTE_OPTION, announceUlid, jobActor, parseDuration, parseSize, withJobStores } from './common.js';

interface SubmitArgs {
  program: string[];
  entry?: string;
  kind?: string;
  input: string[];
  arg: string[];
  env: string[];
  timeout: string;
  'max-output': string;
  'max-memory': number;
  cache: boolean;
  nonce: string;
  actor?: string;
  remote?: string;
  announce: boolean;
}

/** `name=path` or `path` (named by its basename). */
function namedFile(spec: string, option: string): { name: string; path: string } {
  const eq = spec.indexOf('=');
  if (eq === 0 || eq === spec.length - 1) {
    throw new GatosError('GATOS_E_USAGE', `--${option} ${JSON.stringify(spec)}: expected name=path or path`, {
      hint: `e.g. --${option} data.csv or --${option} data/in.csv=./local.csv`,
    });
  }
  return eq > 0
    ? { name: spec.slice(0, eq), path: spec.slice(eq + 1) }
    : { name: basename(spec), path: spec };
}

async function readNamed(
  io: CliIo,
  specs: readonly string[],
  option: string,
): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const spec of specs) {
    const { name, path } = namedFile(spec, option);
    if (out.has(name)) {
      throw new GatosError('GATOS_E_USAGE', `--${option}: two files are named ${JSON.stringify(name)}`, {
        hint: `Name one of them explicitly: --${option} other-name=${path}`,
      });
    }
    try {
      out.set(name, new Uint8Array(await readFile(resolve(io.cwd, path))));
    } catch (cause) {
      throw new GatosError('GATOS_E_INPUT_FILE', `--${option}: cannot read ${path}`, {
        cause,
        data: { option, path },
        hint: 'Give a readable file (relative paths are from the current directory).',
      });
    }
  }
  return out;
}

function parseEnv(specs: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq <= 0) {
      throw new GatosError('GATOS_E_USAGE', `--env ${JSON.stringify(spec)}: expected NAME=VALUE`, {
        hint: 'e.g. --env MODE=fast (the value may be empty: --env EMPTY=)',
      });
    }
    const k = spec.slice(0, eq);
    if (Object.hasOwn(env, k)) throw new GatosError('GATOS_E_USAGE', `--env ${k} is given twice`);
    env[k] = spec.slice(eq + 1);
  }
  return env;
}

const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

const mod: CommandModule<SubmitArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('program', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'A program file (repeatable), named by its basename, or `name=path` to choose its job path',
      })
      .option('entry', {
        type: 'string',
        describe: 'Job path of the file that runs (default: the first --program)',
      })
      .option('kind', {
        type: 'string',
        choices: ['script', 'wasm'],
        describe: 'script (node) or wasm (WASI preview1); default: wasm when the entry ends in .wasm',
      })
      .option('input', {
        type: 'string',
        array: true,
        default: [],
        describe:
          'An input file (repeatable): `name=path` or `path`; the job sees it as $GATOS_JOB_INPUTS/<name>',
      })
      .option('arg', {
        type: 'string',
        array: true,
        default: [],
        describe: 'An argument (repeatable, in order)',
      })
      .option('env', {
        type: 'string',
        array: true,
        default: [],
        describe: 'NAME=VALUE (repeatable): the whole environment of the job besides GATOS_JOB_*',
      })
      .option('timeout', { type: 'string', default: '60s', describe: 'Wall-clock limit: 500ms, 30s, 5m, 2h' })
      .option('max-output', {
        type: 'string',
        default: '64MiB',
        describe: 'Most bytes of outputs plus logs: 65536, 64KiB, 64MiB, 1GiB',
      })
      .option('max-memory', { type: 'number', default: 512, describe: 'Memory limit in MB (16-65536)' })
      .option('cache', {
        type: 'boolean',
        default: false,
        describe:
          'Allow a verified earlier result of the same program, inputs, args, env and limits to be reused',
      })
      .option('nonce', {
        type: 'string',
        default: '',
        describe: 'Make identical work a distinct job (the job id is the hash of the manifest)',
      })
      .option('actor', {
        type: 'string',
        describe: 'Who announces the job (default: $GATOS_ACTOR or your only key)',
      })
      .option('remote', REMOTE_OPTION)
      .option('announce', {
        type: 'boolean',
        default: true,
        describe: 'Announce on bus topic `jobs` (--no-announce: only write the manifest)',
      })
      .example(
        'git gatos job submit --program wc.mjs --input words.txt --arg words.txt',
        'Submit a node script',
      )
      .example(
        'git gatos job submit --program main.wasm --timeout 10s --remote origin',
        'Submit a WASI module to the shared repository',
      ),
  handler: async (argv, io) => {
    const programFiles = await readNamed(io, argv.program, 'program');
    const inputFiles = await readNamed(io, argv.input, 'input');
    const env = parseEnv(argv.env);
    const timeout_ms = parseDuration(argv.timeout, 'timeout');
    const max_output_bytes = parseSize(argv['max-output'], 'max-output');
    const entry = argv.entry ?? namedFile(argv.program[0]!, 'program').name;
    const kind = (argv.kind ?? (entry.endsWith('.wasm') ? 'wasm' : 'script')) as 'script' | 'wasm';
    const manifest: JobManifest = {
      v: 1,
      type: 'gatos.job',
      program: {
        kind,
        entry,
        files: [...programFiles]
          .map(([path, b]) => ({ path, digest: contentDigest(b), size: b.length }))
          .sort((a, b) => byBytes(a.path, b.path)),
        runtime: { ...(await currentRuntime(kind)) },
      },
      args: argv.arg.map(String),
      env,
      inputs: [...inputFiles]
        .map(([name, b]) => ({ name, digest: contentDigest(b), size: b.length }))
        .sort((a, b) => byBytes(a.name, b.name)),
      limits: { timeout_ms, max_output_bytes, max_memory_mb: argv['max-memory'] },
      cache: argv.cache,
      nonce: argv.nonce,
    };
    return withJobStores(io, argv.remote, async ({ ctx, stores, remote }) => {
      // The repository's own config governs a local submit; a fresh clone may not have fetched it.
      const config = remote
        ? ((await readRepoConfig(ctx.objects, ctx.refs)) ?? PROFILES.default)
        : await requireRepoConfig(ctx.objects, ctx.refs);
      // Resolve the signer before writing anything, so a missing key changes nothing.
      const who = argv.announce ? await jobActor(io, stores.objects, stores.refs, argv.actor) : null;
      // A leased push of a ref to the value it already has reports success, so "new" is asked before.
      const existed = (await stores.refs.read(jobManifestRef(jobIdOf(encodeManifest(manifest))))) !== null;
      const done = await submitJob(stores, { manifest, programFiles, inputFiles });
      const submitted = { ...done, created: done.created && !existed };
      let announced: { ulid: string; stored: boolean; commit: string | null } | null = null;
      if (who) {
        const now = busNow(io);
        const ulid = announceUlid(submitted.jobId);
        const envelope = busEnvelope(
          { actor: who.actor, ulid, now, data: { job_id: submitted.jobId, manifest: submitted.commit } },
          { maxBytes: config.max_envelope_bytes },
        );
        const r = await publish([envelope], {
          ...stores,
          topic: JOBS_TOPIC,
          signer: who.events,
          now,
          maxEnvelopeBytes: config.max_envelope_bytes,
          retry: { sleep: (ms) => sleep(ms), random: Math.random },
        });
        announced = { ulid, stored: r.published.length > 0, commit: r.published[0]?.commit ?? null };
      }
      const ids = jobIdentities(manifest);
      const json = {
        ok: true,
        job_id: submitted.jobId,
        manifest_commit: submitted.commit,
        created: submitted.created,
        remote,
        program_id: ids.program_id,
        inputs_root: ids.inputs_root,
        cache_key: ids.cache_key,
        runtime: manifest.program.runtime,
        announced,
      };
      const human = [
        `${submitted.created ? 'submitted' : 'already submitted'} job ${submitted.jobId}`,
        `manifest ${submitted.commit}${remote ? ` (on ${remote})` : ''}`,
        announced
          ? `announced on bus topic ${JOBS_TOPIC}: ${announced.stored ? `stored (${announced.ulid})` : `already announced (${announced.ulid})`}`
          : 'not announced (--no-announce)',
      ];
      return { json, human };
    });
  },
};
export const { builder, handler } = mod;
