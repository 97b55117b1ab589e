/** `git gatos hook install <repo>`: install the push-gate as the repository's pre-receive hook. */
import { resolve } from 'node:path';
import { installHook } from '@gatos/gatosd/gate';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';

interface HookInstallArgs {
  repo: string;
  force: boolean;
}

const mod: CommandModule<HookInstallArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('repo', { type: 'string', demandOption: true, describe: 'The (bare) repository to guard' })
      .option('force', {
        type: 'boolean',
        default: false,
        describe: 'Replace a pre-receive hook that GATOS did not install',
      })
      .example(
        'git gatos hook install /srv/git/lab.git',
        'Guard a bare repository',
      ) as unknown as Argv<HookInstallArgs>,
  handler: async (argv, io) => {
    const r = await installHook(resolve(io.cwd, argv.repo), { force: argv.force });
    return {
      json: { ok: true, ...r },
      human: [`${r.action} ${r.hook}`, `  runs ${r.node} ${r.bin}`],
    };
  },
};
export const { builder, handler } = mod;
