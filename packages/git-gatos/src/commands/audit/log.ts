/** `git gatos audit log`: the DENY records of the push-gate, newest first, with a check of the chain. */
import { ErrorCodes, readDenyLog } from '@gatos/core';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';
import { withContext } from '../../context.js';

interface AuditLogArgs {
  limit?: number;
}

const mod: CommandModule<AuditLogArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('limit', { type: 'number', describe: 'Show at most this many records' })
      .example(
        'git gatos -C /srv/git/lab.git audit log',
        'Refused pushes of a guarded repository',
      ) as unknown as Argv<AuditLogArgs>,
  handler: async (argv, io) =>
    withContext(io, async ({ objects, refs }) => {
      const log = await readDenyLog(objects, refs);
      const records = argv.limit === undefined ? log.records : log.records.slice(0, Math.max(0, argv.limit));
      const human = records.map((r) => {
        const d = r.record.denials;
        const rules = [...new Set(d.map((x) => x.rule))].join(',');
        return `${r.record.id}  ${r.record.ts}  #${r.record.seq}  ${rules}  ${d.map((x) => x.ref).join(' ')}`;
      });
      if (records.length === 0) human.push('no DENY records');
      if (!log.chainOk) human.push(`audit chain BROKEN: ${log.problems.join('; ')}`);
      return {
        json: {
          ok: log.chainOk,
          head: log.head,
          chain_ok: log.chainOk,
          problems: log.problems,
          total: log.records.length,
          records: records.map((r) => ({ commit: r.commit, digest: r.digest, ...r.record })),
        },
        human,
        ...(log.chainOk ? {} : { exitCode: ErrorCodes.GATOS_E_AUDIT_CORRUPT[0] }),
      };
    }),
};
export const { builder, handler } = mod;
