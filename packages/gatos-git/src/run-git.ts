/**
 * Running one `git` command to completion, with a fixed locale and no prompts.
 */
import { spawn } from 'node:child_process';
import { GatosError, isGatosError } from '@gatos/core';

/** Environment overrides for git children; `undefined` removes a variable (e.g. `GIT_OBJECT_DIRECTORY`). */
export type GitEnv = Readonly<Record<string, string | undefined>>;

/** Where to run git: a directory, or anything carrying `cwd` and `env` (a {@link Repository}). */
export type GitTarget = string | { readonly cwd: string; readonly env?: GitEnv };

/** Options of {@link runGit}. */
export interface RunGitOptions {
  /** Bytes written to git's stdin. */
  input?: string | Uint8Array;
  /** Extra environment overrides, applied after the target's. */
  env?: GitEnv;
}

/** How much of git's stderr an error keeps: enough to diagnose, never megabytes. */
const STDERR_KEEP = 8192;

/**
 * The full environment for a git child. `LC_ALL=C` because we parse git's messages; `GIT_TERMINAL_PROMPT=0`
 * because a background process must fail instead of waiting for a password nobody will type.
 */
export function gitEnvironment(...overrides: (GitEnv | undefined)[]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const o of overrides) {
    if (!o) continue;
    for (const [k, v] of Object.entries(o)) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
  }
  env.LC_ALL = 'C';
  env.GIT_TERMINAL_PROMPT = '0';
  return env;
}

/** Splits a target into its directory and environment overrides. */
export function targetOf(target: GitTarget): { cwd: string; env: GitEnv | undefined } {
  return typeof target === 'string' ? { cwd: target, env: undefined } : { cwd: target.cwd, env: target.env };
}

/** Runs `git <args>` and resolves to its stdout; a non-zero exit throws `GATOS_E_GIT` with stderr in `data`. */
export async function runGit(
  target: GitTarget,
  args: readonly string[],
  opts: RunGitOptions = {},
): Promise<Buffer> {
  const out: Buffer[] = [];
  await streamGit(target, args, (c) => out.push(c), opts);
  return Buffer.concat(out);
}

/** Runs `git <args>`, handing stdout to `onData` as it arrives (so work can overlap git's); errors as {@link runGit}. */
export function streamGit(
  target: GitTarget,
  args: readonly string[],
  onData: (chunk: Buffer) => void,
  opts: RunGitOptions = {},
): Promise<void> {
  const { cwd, env } = targetOf(target);
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd,
      env: gitEnvironment(env, opts.env),
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const err: Buffer[] = [];
    let errLen = 0;
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => {
      if (errLen < STDERR_KEEP) {
        err.push(c);
        errLen += c.length;
      }
    });
    child.on('error', (cause) => {
      reject(
        new GatosError('GATOS_E_GIT', `could not run git ${args[0] ?? ''}: ${cause.message}`, {
          cause,
          data: { args: [...args], cwd },
          hint: 'Is git installed and on PATH?',
        }),
      );
    });
    child.on('close', (code, signal) => {
      if (code === 0) {
        resolve();
        return;
      }
      const stderr = Buffer.concat(err).toString('utf8').slice(0, STDERR_KEEP).trim();
      reject(
        new GatosError('GATOS_E_GIT', `git ${args[0] ?? ''} failed: ${stderr.split('\n')[0] ?? ''}`, {
          data: { args: [...args], cwd, exitCode: code, signal, stderr },
        }),
      );
    });
    if (child.stdin) {
      // git may exit before reading all input (e.g. on a bad argument); the exit code tells the story.
      child.stdin.on('error', () => {});
      child.stdin.end(opts.input);
    }
  });
}

/** True when `ancestor` is an ancestor of (or equal to) `descendant` (`git merge-base --is-ancestor`). */
export async function isAncestor(target: GitTarget, ancestor: string, descendant: string): Promise<boolean> {
  try {
    await runGit(target, ['merge-base', '--is-ancestor', ancestor, descendant]);
    return true;
  } catch (e) {
    if (isGatosError(e, 'GATOS_E_GIT') && e.data.exitCode === 1) return false;
    throw e;
  }
}
