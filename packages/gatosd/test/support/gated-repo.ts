/** A gated bare repository and a clone of it, for push-gate tests: real `git push` through the installed hook. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expectOk, gatos, git, tmp } from '../../../git-gatos/test/helpers.js';

const DENY_REF = 'refs/gatos/audit/policy/deny';

/** What a push printed and how it ended. */
export interface PushOutcome {
  status: number;
  out: string;
}

/** A gated server, a client clone with a git identity, and the helpers every gate test uses. */
export function gatedRepo(prefix: string) {
  const root = tmp(prefix);
  const server = join(root, 'srv.git');
  git(root, 'init', '-q', '--bare', server);
  const env: NodeJS.ProcessEnv = { ...process.env, GATOS_HOME: join(root, 'home'), GATOS_ACTOR: '' };
  expectOk(gatos(root, env, ['hook', 'install', server]));
  const client = join(root, 'client');
  git(root, 'clone', '-q', server, client);
  git(client, 'config', 'user.email', 't@example.org');
  git(client, 'config', 'user.name', 'T');
  /** `git push --porcelain origin …` from the client. */
  const push = (...args: string[]): PushOutcome => {
    const r = spawnSync('git', ['push', '--porcelain', 'origin', ...args], {
      cwd: client,
      encoding: 'utf8',
      env: { ...env, LC_ALL: 'C' },
    });
    return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
  };
  /** Every ref of the server but the DENY chain. */
  const serverRefs = () =>
    git(server, 'for-each-ref', '--format=%(objectname) %(refname)')
      .split('\n')
      .filter((l) => !l.endsWith(` ${DENY_REF}`))
      .join('\n');
  /** The DENY records, newest first (none before the first refusal). */
  const records = (): any[] =>
    git(server, 'for-each-ref', DENY_REF)
      ? expectOk(gatos(server, env, ['audit', 'log', '--json'])).json.records
      : [];
  return { root, server, client, env, push, serverRefs, records };
}
