/** Shared by the `bus-cli-*` tests: a real gatosd child process on a repository set up with the real CLI. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { expectOk, gatos, repoWithHome } from '../../git-gatos/test/helpers.js';

const GATOSD = join(import.meta.dirname, '../bin/gatosd');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Remembers a child process so it is killed if a test fails before stopping it. */
export function track(c: ChildProcess): ChildProcess {
  children.push(c);
  return c;
}

/** A repository with GATOS initialised, a key for `user:alice` and one for the daemon; env without GATOSD_*. */
export function busRepo(): { repo: string; env: NodeJS.ProcessEnv } {
  const { repo, env } = repoWithHome();
  for (const k of Object.keys(env)) if (k.startsWith('GATOSD_')) delete env[k];
  expectOk(gatos(repo, env, ['init']));
  expectOk(gatos(repo, env, ['key', 'new', '--actor', 'user:alice']));
  expectOk(gatos(repo, env, ['key', 'new', '--actor', 'service:gatosd']));
  return { repo, env };
}

/** A running gatosd. */
export interface Daemon {
  url: string;
  child: ChildProcess;
  stop: () => Promise<number | null>;
}

/** Starts gatosd on a free port; resolves once it prints its URL. */
export function startDaemon(repo: string, env: NodeJS.ProcessEnv, extra: string[] = []): Promise<Daemon> {
  const child = track(spawn(process.execPath, [GATOSD, '--repo', repo, '--port', '0', ...extra], { env }));
  let err = '';
  child.stderr?.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0)
        resolve({
          url: out.slice(0, nl),
          child,
          stop: () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
    });
    exited.then((code) => reject(new Error(`gatosd exited ${code}: ${err}`)));
  });
}
