/** `git gatos state show <ns>`: the state at the namespace's last checkpoint, or at `--at <checkpoint>`. */
import { GatosError, readCheckpoint, stateJsonView, stateRef } from '@gatos/core';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';
import { withContext } from '../../context.js';
import { runGit } from '@gatos/git';

interface ShowArgs {
  ns: string;
  at?: string;
}

const mod: CommandModule<ShowArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('ns', { type: 'string', demandOption: true, describe: 'Namespace' })
      .option('at', { type: 'string', describe: 'A checkpoint commit (any revision git understands)' })
      .example('git gatos state show lab', 'Current state')
      .example(
        `git gatos state show lab --at ${stateRef('lab')}~2`,
        'An older checkpoint',
      ) as unknown as Argv<ShowArgs>,
  handler: async (argv, io) =>
    withContext(io, async ({ repo, objects, refs }) => {
      const ref = stateRef(argv.ns);
      let oid = await refs.read(ref);
      if (argv.at !== undefined) {
        try {
          oid = (await runGit(repo.gitDir, ['rev-parse', '--verify', '--quiet', `${argv.at}^{commit}`]))
            .toString()
            .trim();
        } catch {
          throw new GatosError('GATOS_E_STATE_NOT_FOUND', `no checkpoint at ${argv.at}`, {
            data: { at: argv.at },
          });
        }
      }
      if (!oid) {
        throw new GatosError('GATOS_E_STATE_NOT_FOUND', `namespace ${argv.ns} has no checkpoint`, {
          hint: `git gatos fold ${argv.ns} --fold <reducer.lua>`,
        });
      }
      const cp = await readCheckpoint(objects, oid);
      return {
        json: {
          ok: true,
          ns: cp.ns,
          checkpoint: cp.oid,
          state_root: cp.stateRoot,
          history_root: cp.historyRoot,
          policy_root: cp.policyRoot,
          fold_root: cp.foldRoot,
          engine: cp.engine,
          journals: cp.predicate.journals,
          state: cp.state,
        },
        human: [
          `checkpoint ${cp.oid}  state ${cp.stateRoot}`,
          `journals   ${cp.predicate.journals.map((j) => `${j.actor}@${j.head.slice(0, 12)} (${j.events})`).join(', ')}`,
          stateJsonView(cp.state).trimEnd(),
        ],
      };
    }),
};
export const { builder, handler } = mod;
