/** `git gatos event verify <ns>`: check every signature, chain link and commit of a namespace's journals. */
import { ErrorCodes, GatosError, listJournals, readTrust, verifyJournal } from '@gatos/core';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';
import { withContext } from '../../context.js';

interface VerifyArgs {
  ns: string;
  actor?: string;
}

const mod: CommandModule<VerifyArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('ns', { type: 'string', demandOption: true, describe: 'Namespace' })
      .option('actor', { type: 'string', describe: "Only this actor's journal" })
      .example(
        'git gatos event verify demo',
        'Verify every journal of namespace demo',
      ) as unknown as Argv<VerifyArgs>,
  handler: async (argv, io) =>
    withContext(io, async ({ objects, refs }) => {
      const trust = await readTrust(objects, refs);
      const journals = (await listJournals(refs, argv.ns)).filter(
        (j) => !argv.actor || j.actor === argv.actor,
      );
      if (journals.length === 0) {
        throw new GatosError('GATOS_E_JOURNAL_NOT_FOUND', `no journals in namespace ${argv.ns}`, {
          data: { ns: argv.ns, actor: argv.actor },
        });
      }
      const reports = [];
      for (const j of journals) reports.push(await verifyJournal(objects, trust, j.ref, j.head));
      const ok = reports.every((r) => r.ok);
      const events = reports.reduce((n, r) => n + r.events, 0);
      const human: string[] = [];
      for (const r of reports) {
        human.push(`${r.ok ? 'ok  ' : 'FAIL'} ${r.ref}: ${r.events} events`);
        for (const p of r.problems)
          human.push(`     #${p.index} ${p.commit.slice(0, 12)} ${p.code}: ${p.message}`);
      }
      human.push(ok ? `verified ${events} events in ${reports.length} journals` : 'verification FAILED');
      return {
        json: { ok, ns: argv.ns, events, journals: reports },
        human,
        exitCode: ok ? 0 : ErrorCodes.GATOS_E_JOURNAL_BROKEN[0],
      };
    }),
};
export const { builder, handler } = mod;
