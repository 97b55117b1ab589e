/**
 * `git gatos policy activate --bootstrap <file.rgs> [--version N]`: activate the FIRST policy, without a grant.
 * Allowed only while no policy is active; every later activation goes through propose → approve → grant.
 */
import {
  activationCommit,
  bundleCommit,
  bundleRef,
  GatosError,
  POLICY_ACTIVE_REF,
  readActivePolicy,
} from '@gatos/core';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';
import { withContext } from '../../context.js';
import { readTextInput } from '../../input.js';
import { versionArg } from '../governance/propose.js';

interface ActivateArgs {
  file: string;
  bootstrap: boolean;
  'policy-version'?: string;
}

const mod: CommandModule<ActivateArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'The .rgs policy' })
      .option('bootstrap', {
        type: 'boolean',
        default: false,
        describe: 'Required: activate the first policy (no policy active yet)',
      })
      .option('policy-version', {
        type: 'string',
        describe: 'Bundle version (default 1)',
      }) as unknown as Argv<ActivateArgs>,
  handler: async (argv, io) =>
    withContext(io, async ({ objects, refs }) => {
      if (!argv.bootstrap) {
        throw new GatosError('GATOS_E_USAGE', 'only the first policy is activated directly (--bootstrap)', {
          hint: 'Later policies: git gatos propose / approve / grant.',
        });
      }
      if (await readActivePolicy(objects, refs)) {
        throw new GatosError('GATOS_E_GOV_STATE', 'a policy is already active; bootstrap is refused', {
          hint: 'Change the policy with git gatos propose / approve / grant.',
        });
      }
      const version = versionArg(argv['policy-version']) ?? 1;
      const source = await readTextInput(io, argv.file);
      const b = bundleCommit({ source, version, parentVersion: null, proposal: null, file: argv.file });
      const record = {
        format: 'gatos.policy-active/1' as const,
        version,
        bundle: b.commit.oid,
        policy_code_root: b.manifest.policy_code_root,
        grant: null,
      };
      const act = activationCommit(record, null);
      await objects.put([...b.objects, ...act.objects]);
      const bref = bundleRef(version);
      const existing = await refs.read(bref);
      if (existing !== b.commit.oid && !(await refs.cas({ ref: bref, expect: null, next: b.commit.oid }))) {
        throw new GatosError('GATOS_E_GOV_STATE', `${bref} already holds another bundle`);
      }
      if (!(await refs.cas({ ref: POLICY_ACTIVE_REF, expect: null, next: act.commit.oid }))) {
        throw new GatosError('GATOS_E_GOV_STATE', 'a policy was activated concurrently');
      }
      return {
        json: {
          ok: true,
          version,
          policy_code_root: record.policy_code_root,
          bundle: { ref: bref, commit: b.commit.oid },
          active: act.commit.oid,
        },
        human: `bootstrapped policy version ${version} (${record.policy_code_root.slice(0, 16)}…)`,
      };
    }),
};
export const { builder, handler } = mod;
