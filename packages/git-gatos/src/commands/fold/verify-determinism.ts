/**
 * `git gatos verify-determinism <ns> --n 5`: fold the namespace (dry run) in N fresh processes, each with another
 * time zone, locale, working directory and umask; every state root, checkpoint id and proof digest must match.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, GatosError } from '@gatos/core';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';
import { openRepository } from '@gatos/git';

interface DetArgs {
  ns: string;
  n: number;
  fold?: string;
  actor?: string;
}

const ENVIRONMENTS = [
  { TZ: 'UTC', LC_ALL: 'C', umask: '022' },
  { TZ: 'America/Los_Angeles', LC_ALL: 'en_US.UTF-8', umask: '077' },
  { TZ: 'Asia/Kolkata', LC_ALL: 'de_DE.UTF-8', umask: '002' },
  { TZ: 'Pacific/Chatham', LC_ALL: 'tr_TR.UTF-8', umask: '027' },
  { TZ: 'Europe/Berlin', LC_ALL: 'ja_JP.UTF-8', umask: '000' },
];

const BIN = fileURLToPath(new URL('../../../bin/git-gatos', import.meta.url));

function runOnce(
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  umask: string,
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', `umask ${umask} && exec "$0" "$@"`, process.execPath, BIN, ...args], {
      cwd,
      env,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

const mod: CommandModule<DetArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('ns', { type: 'string', demandOption: true, describe: 'Namespace' })
      .option('n', { type: 'number', default: 5, describe: 'How many fresh processes' })
      .option('fold', { type: 'string', describe: 'Fold source (default: the last checkpoint’s)' })
      .option('actor', { type: 'string', describe: 'Who signs the proofs' })
      .example(
        'git gatos verify-determinism lab --n 5',
        'Five processes, five environments',
      ) as unknown as Argv<DetArgs>,
  handler: async (argv, io) => {
    if (!Number.isSafeInteger(argv.n) || argv.n < 2 || argv.n > 64) {
      throw new GatosError('GATOS_E_USAGE', '--n must be between 2 and 64');
    }
    const repo = await openRepository({ cwd: io.cwd });
    const top = repo.workTree ?? repo.gitDir;
    const foldArg = argv.fold ? ['--fold', resolve(io.cwd, argv.fold)] : [];
    const runs: {
      run: number;
      TZ: string;
      LC_ALL: string;
      umask: string;
      cwd: string;
      state_root: string;
      checkpoint: string;
      proof_digest: string;
    }[] = [];
    for (let i = 0; i < argv.n; i++) {
      const e = ENVIRONMENTS[i % ENVIRONMENTS.length]!;
      const cwd = await mkdtemp(join(tmpdir(), 'gatos-det-'));
      try {
        const args = [
          '-C',
          top,
          'fold',
          argv.ns,
          '--dry-run',
          '--from-scratch',
          '--json',
          ...foldArg,
          ...(argv.actor ? ['--actor', argv.actor] : []),
        ];
        const r = await runOnce(
          args,
          cwd,
          { ...io.env, TZ: e.TZ, LC_ALL: e.LC_ALL, LANG: e.LC_ALL },
          e.umask,
        );
        if (r.code !== 0) {
          throw new GatosError(
            'GATOS_E_DETERMINISM',
            `run ${i + 1} failed: ${r.err.trim() || r.out.trim()}`,
            {
              data: { run: i + 1, env: e },
            },
          );
        }
        const j = JSON.parse(r.out);
        runs.push({
          run: i + 1,
          ...e,
          cwd,
          state_root: j.state_root,
          checkpoint: j.checkpoint,
          proof_digest: j.proof_digest,
        });
      } finally {
        await rm(cwd, { recursive: true, force: true });
      }
    }
    const key = (r: (typeof runs)[number]) => `${r.state_root} ${r.checkpoint} ${r.proof_digest}`;
    const ok = runs.every((r) => key(r) === key(runs[0]!));
    const human = runs.map(
      (r) =>
        `run ${r.run} TZ=${r.TZ} LC_ALL=${r.LC_ALL} umask=${r.umask}: ${r.state_root} ${r.checkpoint.slice(0, 12)}`,
    );
    human.push(ok ? `all ${runs.length} runs agree` : 'runs DISAGREE');
    return { json: { ok, runs }, human, exitCode: ok ? 0 : ErrorCodes.GATOS_E_DETERMINISM[0] };
  },
};
export const { builder, handler } = mod;
