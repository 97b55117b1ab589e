/** `git gatos fold verify <state-ref>`: re-fold history and check every checkpoint, proof and root. */
import {
  ErrorCodes,
  GATOS_PREFIX,
  GatosError,
  NAMESPACE_RE,
  openFoldEngine,
  readTrust,
  requireRepoConfig,
  stateRef,
  verifyFoldChain,
} from '@gatos/core';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';
import { withContext } from '../../context.js';

interface VerifyArgs {
  'state-ref': string;
}

const mod: CommandModule<VerifyArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('state-ref', {
        type: 'string',
        demandOption: true,
        describe: `${GATOS_PREFIX}state/<ns>, or just <ns>`,
      })
      .example(
        `git gatos fold verify ${stateRef('lab')}`,
        'Verify the whole chain',
      ) as unknown as Argv<VerifyArgs>,
  handler: async (argv, io) =>
    withContext(io, async ({ objects, refs }) => {
      const arg = argv['state-ref'];
      const ref = NAMESPACE_RE.test(arg) ? stateRef(arg) : arg;
      const head = await refs.read(ref);
      if (!head) throw new GatosError('GATOS_E_STATE_NOT_FOUND', `${ref} does not exist`);
      const config = await requireRepoConfig(objects, refs);
      const trust = await readTrust(objects, refs);
      const engine = await openFoldEngine(config);
      try {
        const report = await verifyFoldChain({
          objects,
          trust,
          head,
          loadFold: engine.loadFold,
          engine: engine.engine,
          profile: config.fold,
        });
        const human = report.checkpoints.map(
          (c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.oid.slice(0, 12)} ${c.stateRoot} (${c.events} events)`,
        );
        for (const p of report.problems)
          human.push(`     ${p.checkpoint.slice(0, 12)} ${p.code}: ${p.message}`);
        human.push(
          report.ok ? `verified ${report.checkpoints.length} checkpoints of ${ref}` : 'verification FAILED',
        );
        return {
          json: { ...report, ref },
          human,
          exitCode: report.ok ? 0 : ErrorCodes.GATOS_E_FOLD_DIVERGED[0],
        };
      } finally {
        engine.close();
      }
    }),
};
export const { builder, handler } = mod;
