/** `git gatos audit show <id>`: one DENY record explained. */
import { findDenyRecord } from '@gatos/core';
import { RULES } from '@gatos/gatosd/gate';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';
import { withContext } from '../../context.js';

interface AuditShowArgs {
  id: string;
}

const short = (oid: string | null) => (oid ? oid.slice(0, 12) : '(none)');

const mod: CommandModule<AuditShowArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('id', {
        type: 'string',
        demandOption: true,
        describe: 'The DENY id (ULID, a prefix, or its commit)',
      })
      .example('git gatos audit show 01JD…', 'Why a push was refused') as unknown as Argv<AuditShowArgs>,
  handler: async (argv, io) =>
    withContext(io, async ({ objects, refs }) => {
      const r = await findDenyRecord(objects, refs, argv.id);
      const rec = r.record;
      const human = [
        `DENY ${rec.id} (record #${rec.seq}, commit ${r.commit})`,
        `At ${rec.ts} the push-gate refused a push of ${rec.updates.length} ref update(s); none was applied.`,
        `Push input ${rec.push_digest}; record ${r.digest}; previous ${rec.prev ?? '(first record)'}`,
      ];
      for (const d of rec.denials) {
        human.push(
          `- ${d.ref} (${short(d.old)} -> ${short(d.new)})${d.actor ? ` of ${d.actor}` : ''}`,
          `  broke rule ${d.rule}: ${(RULES as Record<string, string>)[d.rule] ?? d.rule}`,
          `  because ${d.reason}${d.code ? ` [${d.code}]` : ''}`,
        );
      }
      return { json: { ok: true, commit: r.commit, digest: r.digest, ...rec }, human };
    }),
};
export const { builder, handler } = mod;
