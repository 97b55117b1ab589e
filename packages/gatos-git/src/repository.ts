/**
 * Locating a repository: its git dir, common dir and object directory, from one `git rev-parse`.
 */
import { existsSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { GatosError, isGatosError } from '@gatos/core';
import { type GitEnv, runGit } from './run-git.js';

/** A located repository; every path is absolute. */
export interface Repository {
  /** The directory git commands run in. */
  readonly cwd: string;
  /** Environment overrides applied to every git child for this repository. */
  readonly env: GitEnv;
  /** `$GIT_DIR` (for a linked worktree, its private dir). */
  readonly gitDir: string;
  /** Where refs, packed-refs and config live (shared by all worktrees). */
  readonly commonDir: string;
  /** Where objects are written; honours `GIT_OBJECT_DIRECTORY` (e.g. a pre-receive quarantine). */
  readonly objectsDir: string;
  /** True for a bare repository. */
  readonly isBare: boolean;
  /** The top of the work tree when `cwd` is inside one, else null. */
  readonly workTree: string | null;
}

/** Options of {@link openRepository}. */
export interface OpenRepositoryOptions {
  /** A directory inside the repository (default: `process.cwd()`). */
  cwd?: string;
  /** Environment overrides for every git child; `undefined` unsets (e.g. to write outside a quarantine). */
  env?: GitEnv;
}

/** Locates the repository containing `cwd` with a single `git rev-parse`; throws `GATOS_E_NOT_A_REPO`. */
export async function openRepository(opts: OpenRepositoryOptions = {}): Promise<Repository> {
  const cwd = resolve(opts.cwd ?? process.cwd());
  const env = opts.env ?? {};
  // A missing directory would surface as spawn ENOENT, indistinguishable from "git is not installed".
  if (!existsSync(cwd)) {
    throw new GatosError('GATOS_E_NOT_A_REPO', `no such directory: ${cwd}`, { data: { cwd } });
  }
  let out: string;
  try {
    // `--show-toplevel` fails outside a work tree, so the work tree is derived from `--show-cdup` instead,
    // which prints an empty line there; `--git-path objects` is what honours GIT_OBJECT_DIRECTORY.
    out = (
      await runGit({ cwd, env }, [
        'rev-parse',
        '--path-format=absolute',
        '--git-dir',
        '--git-common-dir',
        '--git-path',
        'objects',
        '--is-bare-repository',
        '--is-inside-work-tree',
        '--show-cdup',
      ])
    ).toString('utf8');
  } catch (e) {
    const stderr = isGatosError(e) ? String(e.data.stderr ?? '') : '';
    if (isGatosError(e, 'GATOS_E_GIT') && /not a git repository|cannot change to/i.test(stderr)) {
      throw new GatosError('GATOS_E_NOT_A_REPO', `not a git repository: ${cwd}`, {
        cause: e,
        data: { cwd },
        hint: 'Run inside a git repository, or `git init` one first.',
      });
    }
    if (isGatosError(e, 'GATOS_E_GIT') && e.data.exitCode === undefined) throw e;
    throw new GatosError('GATOS_E_NOT_A_REPO', `cannot open a git repository at ${cwd}: ${stderr}`, {
      cause: e,
      data: { cwd, stderr },
    });
  }
  const lines = out.split('\n');
  const [gitDir, commonDir, objectsDir, bare, inside, cdup] = lines;
  if (!gitDir || !commonDir || !objectsDir || (bare !== 'true' && bare !== 'false')) {
    throw new GatosError('GATOS_E_GIT', 'unexpected output from git rev-parse', { data: { cwd, out } });
  }
  let workTree: string | null = null;
  if (inside === 'true') {
    const top = resolve(cwd, cdup ?? '');
    try {
      workTree = realpathSync(top);
    } catch {
      workTree = top;
    }
  }
  return { cwd, env, gitDir, commonDir, objectsDir, isBare: bare === 'true', workTree };
}
