/** `git gatos fold <ns>`: fold new events into a checkpoint on `refs/gatos/state/<ns>` with a signed proof. */
import { foldNamespace, openFoldEngine, requireRepoConfig } from '@gatos/core';
import { resolveIdentity } from '@gatos/gatosd/identity';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';
import { withContext } from '../../context.js';
import { readTextInput } from '../../input.js';

interface FoldArgs {
  ns: string;
  fold?: string;
  actor?: string;
  'dry-run': boolean;
  'from-scratch': boolean;
}

const mod: CommandModule<FoldArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('ns', { type: 'string', demandOption: true, describe: 'Namespace' })
      .option('fold', {
        type: 'string',
        describe: 'Lua fold source (default: the one of the last checkpoint)',
      })
      .option('actor', {
        type: 'string',
        describe: 'Who signs the Proof-of-Fold (a registered key, e.g. service:folder)',
      })
      .option('dry-run', {
        type: 'boolean',
        default: false,
        describe: 'Compute the checkpoint and proof, write nothing',
      })
      .option('from-scratch', {
        type: 'boolean',
        default: false,
        describe:
          'Fold the whole history from the initial state (a root checkpoint), ignoring earlier checkpoints',
      })
      .example('git gatos fold lab --fold reducer.lua', 'First fold of namespace lab')
      .example(
        'git gatos fold lab',
        'Fold what is new since the last checkpoint',
      ) as unknown as Argv<FoldArgs>,
  handler: async (argv, io) =>
    withContext(io, async ({ objects, refs }) => {
      const config = await requireRepoConfig(objects, refs);
      const identity = await resolveIdentity({ objects, refs, env: io.env, actor: argv.actor });
      const foldSource = argv.fold === undefined ? undefined : await readTextInput(io, argv.fold);
      const engine = await openFoldEngine(config);
      try {
        const out = await foldNamespace({
          objects,
          refs,
          ns: argv.ns,
          config,
          loadFold: engine.loadFold,
          engine: engine.engine,
          ...(foldSource === undefined ? {} : { foldSource }),
          signer: identity.dsse,
          dryRun: argv['dry-run'],
          fromScratch: argv['from-scratch'],
        });
        const json = {
          ok: true,
          ref: out.ref,
          advanced: out.advanced,
          checkpoint: out.checkpoint,
          state_root: out.stateRoot,
          folded: out.folded,
          fuel_used: out.fuelUsed,
          ...(out.result ? { proof_digest: out.result.proofDigest } : {}),
        };
        const human = argv['dry-run']
          ? `dry run: checkpoint ${out.checkpoint} state ${out.stateRoot} (${out.folded} events, nothing written)`
          : out.advanced
            ? `${out.ref} ${out.checkpoint.slice(0, 12)}: folded ${out.folded} events → ${out.stateRoot}`
            : `${out.ref} is up to date (${out.stateRoot})`;
        return { json, human };
      } finally {
        engine.close();
      }
    }),
};
export const { builder, handler } = mod;
