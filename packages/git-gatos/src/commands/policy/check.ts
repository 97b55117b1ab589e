/**
 * `git gatos policy check [--remote <name|path|url>] [--ref <ref>…]`: a dry run of the push-gate. For every local
 * `refs/gatos/*` ref that differs from the remote (or each `--ref`), asks the gate's own decision function what it
 * would decide for a push of those refs, reading the local object store and the remote's ref values. Writes
 * nothing (no DENY record). Exit 0 when the gate would accept, 7 when it would refuse.
 */
import {
  AUDIT_PREFIX,
  createMemoryRefStore,
  ErrorCodes,
  GATOS_PREFIX,
  GatosError,
  type Oid,
  readOnlyRefView,
  ZERO_OID,
} from '@gatos/core';
import { isAncestor, runGit } from '@gatos/git';
import { decidePush, type PushUpdate } from '@gatos/gatosd/gate';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';
import { withContext } from '../../context.js';

interface CheckArgs {
  remote: string;
  ref?: string[];
}

function parseRefLines(text: string): Map<string, Oid> {
  const m = new Map<string, Oid>();
  for (const line of text.split('\n')) {
    const [oid, ref] = line.trim().split(/\s+/);
    if (oid && ref && !ref.endsWith('^{}')) m.set(ref, oid);
  }
  return m;
}

const mod: CommandModule<CheckArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('remote', {
        type: 'string',
        default: 'origin',
        describe: 'The remote (name, bare repository path or URL)',
      })
      .option('ref', {
        type: 'string',
        array: true,
        describe: `Check only these local refs (default: every differing ${GATOS_PREFIX}* ref)`,
      })
      .example(
        'git gatos policy check --remote /srv/git/lab.git',
        'Would the gate accept a push of my GATOS refs?',
      ) as unknown as Argv<CheckArgs>,
  handler: async (argv, io) =>
    withContext(io, async ({ repo, objects }) => {
      let remoteText: string;
      try {
        remoteText = (await runGit(repo, ['ls-remote', argv.remote, `${GATOS_PREFIX}*`])).toString('utf8');
      } catch (cause) {
        throw new GatosError('GATOS_E_GIT', `cannot list the refs of ${argv.remote}`, {
          cause,
          data: { remote: argv.remote },
        });
      }
      const remote = parseRefLines(remoteText);
      const local = parseRefLines(
        (await runGit(repo, ['for-each-ref', '--format=%(objectname) %(refname)', GATOS_PREFIX])).toString(
          'utf8',
        ),
      );
      const wanted = argv.ref?.length
        ? argv.ref
        : [...local.keys()].filter((r) => !r.startsWith(AUDIT_PREFIX));
      const updates: PushUpdate[] = [];
      for (const ref of wanted) {
        const next = local.get(ref) ?? null;
        const old = remote.get(ref) ?? null;
        if (next !== old) updates.push({ ref, old, new: next });
      }
      // The refs as the remote has them, read-only: policy check never writes.
      const view = readOnlyRefView(createMemoryRefStore(remote));
      const decision = await decidePush({
        objects,
        refs: view,
        updates,
        isAncestor: (a, d) => isAncestor(repo, a, d),
      });
      const human =
        updates.length === 0 ? ['nothing to push: no local GATOS ref differs from the remote'] : [];
      for (const u of updates) {
        const d = decision.denials.find((x) => x.ref === u.ref);
        human.push(
          `${d ? 'DENY ' : 'ok   '} ${u.ref} ${(u.old ?? ZERO_OID).slice(0, 12)}..${(u.new ?? ZERO_OID).slice(0, 12)}${d ? ` rule ${d.rule}: ${d.reason}` : ''}`,
        );
      }
      human.push(
        decision.allowed
          ? 'the push-gate would ACCEPT this push'
          : 'the push-gate would REFUSE this push (as a whole)',
      );
      return {
        json: { ok: decision.allowed, remote: argv.remote, updates, denials: decision.denials },
        human,
        exitCode: decision.allowed ? 0 : ErrorCodes.GATOS_E_POLICY_DENY[0],
      };
    }),
};
export const { builder, handler } = mod;
