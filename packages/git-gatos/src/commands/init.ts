/** `git gatos init`: writes the repository's GATOS config (profile) to `refs/gatos/config`. */
import { CONFIG_REF, GatosError, configCommit, profileConfig, readRepoConfig } from '@gatos/core';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../command.js';
import { withContext } from '../context.js';

interface InitArgs {
  profile: string;
}

const mod: CommandModule<InitArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('profile', {
        type: 'string',
        default: 'default',
        choices: ['default', 'research'],
        describe: 'default: proofs checked at the gate; research: the gate also re-folds state pushes',
      })
      .example('git gatos init', 'Initialize with the default profile')
      .example('git gatos init --profile research', 'Conservative profile for reproducible science'),
  handler: async (argv, io) =>
    withContext(io, async ({ objects, refs }) => {
      const config = profileConfig(argv.profile);
      const existing = await readRepoConfig(objects, refs);
      if (existing) {
        if (existing.profile !== config.profile) {
          throw new GatosError(
            'GATOS_E_ALREADY_INITIALIZED',
            `already initialized with profile ${existing.profile}`,
            {
              data: { profile: existing.profile },
              hint: 'Profiles are shared law; change them through governance.',
            },
          );
        }
        return {
          json: { ok: true, created: false, ref: CONFIG_REF, config: existing },
          human: `GATOS already initialized (profile ${existing.profile}).`,
        };
      }
      const { commit, objects: objs } = configCommit(config, null);
      await objects.put(objs);
      if (!(await refs.cas({ ref: CONFIG_REF, expect: null, next: commit.oid }))) {
        // Someone initialized concurrently; report what is there now.
        const now = await readRepoConfig(objects, refs);
        if (now?.profile !== config.profile) {
          throw new GatosError(
            'GATOS_E_ALREADY_INITIALIZED',
            `initialized concurrently with profile ${now?.profile}`,
          );
        }
      }
      return {
        json: { ok: true, created: true, ref: CONFIG_REF, commit: commit.oid, config },
        human: [`Initialized GATOS (profile ${config.profile}) at ${CONFIG_REF} ${commit.oid.slice(0, 12)}.`],
      };
    }),
};
export const { builder, handler } = mod;
