/** Test helpers: temporary repositories and key homes, and the real CLI run as a child process. */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/** The built CLI entry (`pnpm test` builds before running tests). */
export const BIN = join(import.meta.dirname, '../bin/git-gatos');
export const BIN_DIR = join(import.meta.dirname, '../bin');

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh temporary directory, removed after the test file. */
export function tmp(prefix = 'gatos-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** Runs git and returns trimmed stdout. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } }).trim();
}

/** A new repository plus a private key home for it; `env` points the CLI at that home. */
export function repoWithHome(bare = false): { repo: string; env: NodeJS.ProcessEnv } {
  const repo = tmp('gatos-repo-');
  git(repo, 'init', '-q', ...(bare ? ['--bare'] : []));
  const home = tmp('gatos-home-');
  return { repo, env: { ...process.env, GATOS_HOME: home, GATOS_ACTOR: '' } };
}

/** The result of one CLI run. */
export interface CliRun {
  status: number;
  stdout: string;
  stderr: string;
  json: any;
}

/** Runs `git gatos <args>` for real (through `git`, which finds `git-gatos` on PATH). */
export function gatos(cwd: string, env: NodeJS.ProcessEnv, args: string[], input?: string): CliRun {
  const r = spawnSync('git', ['gatos', ...args], {
    cwd,
    env: { ...env, PATH: `${BIN_DIR}:${env.PATH ?? ''}` },
    encoding: 'utf8',
    input,
  });
  let json: unknown;
  if (args.includes('--json')) {
    try {
      json = JSON.parse(r.stdout);
    } catch {
      json = undefined;
    }
  }
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json };
}

/** Like {@link gatos} but async, for concurrency tests. */
export function gatosAsync(cwd: string, env: NodeJS.ProcessEnv, args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn('git', ['gatos', ...args], {
      cwd,
      env: { ...env, PATH: `${BIN_DIR}:${env.PATH ?? ''}` },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr, json: undefined }));
  });
}

/** Everything stored: all refs with their values, and the object count. Used to prove "nothing was written". */
export function snapshot(repo: string): { refs: string; objects: string } {
  const refs = git(repo, 'for-each-ref', '--format=%(objectname) %(refname)');
  const counts = git(repo, 'count-objects', '-v');
  const objects = counts
    .split('\n')
    .filter((l) => /^(count|in-pack):/.test(l))
    .join(' ');
  return { refs, objects };
}

/** Initializes GATOS and creates a published key for `actor`. */
export function setup(actor = 'user:alice', profile = 'default'): { repo: string; env: NodeJS.ProcessEnv } {
  const r = repoWithHome();
  expectOk(gatos(r.repo, r.env, ['init', '--profile', profile]));
  expectOk(gatos(r.repo, r.env, ['key', 'new', '--actor', actor]));
  return r;
}

/** Throws with the CLI's output when a run failed. */
export function expectOk(r: CliRun): CliRun {
  if (r.status !== 0) throw new Error(`git gatos failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r;
}
