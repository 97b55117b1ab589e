/**
 * Test helpers: throwaway git repositories and a synchronous git runner for assertions.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commitObject, type GitIdent, type GitObject, treeObject } from '@gatos/core';

// Keep the machine's git config (hooks, fsmonitor, signing) out of the tests; give git an identity.
const ISOLATION = {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
};
Object.assign(process.env, ISOLATION);

/** The environment for child processes spawned by tests. */
export const childEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...process.env,
  ...ISOLATION,
  ...extra,
});

/** The built package the child-process tests import (built by `tsc -b` before tests run). */
export const DIST_INDEX = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/** Fails clearly when the package has not been built. */
export function requireDist(): void {
  if (!existsSync(DIST_INDEX)) throw new Error(`${DIST_INDEX} is missing: run \`npx tsc -b\` first`);
}

/** A fixture script under test/fixtures. */
export const fixture = (name: string): string =>
  fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** Creates an empty repository in the temp dir; returns its path and a cleanup. */
export function tempRepo(opts: { bare?: boolean } = {}): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'gatos-git-test-'));
  execFileSync('git', ['init', '-q', ...(opts.bare ? ['--bare'] : []), dir], { env: childEnv() });
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs git synchronously and returns trimmed stdout; throws on failure. */
export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, env: childEnv(), maxBuffer: 256 * 1024 * 1024 })
    .toString('utf8')
    .trim();
}

/** Runs git synchronously with `input` on stdin and returns trimmed stdout. */
export function gitInput(dir: string, input: string | Uint8Array, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, env: childEnv(), input }).toString('utf8').trim();
}

/** Runs git synchronously and returns its exit status and output, never throwing. */
export function gitStatus(
  dir: string,
  ...args: string[]
): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('git', args, { cwd: dir, env: childEnv(), maxBuffer: 256 * 1024 * 1024 });
  return { status: r.status ?? -1, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
}

/** Asserts `git fsck --strict` finds nothing wrong (dangling objects are fine: nothing may point at them). */
export function expectFsckClean(dir: string): void {
  const r = gitStatus(dir, 'fsck', '--strict', '--no-dangling', '--no-progress');
  const problems = `${r.stdout}\n${r.stderr}`
    .split('\n')
    .filter((l) => /error|missing|broken|corrupt|bad|invalid|fatal|warning/i.test(l));
  if (r.status !== 0 || problems.length > 0) {
    throw new Error(`git fsck failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
}

/** A fixed identity, so commits are reproducible. */
export const IDENT: GitIdent = {
  name: 'GATOS Test',
  email: 'test@gatos.invalid',
  seconds: 1_700_000_000,
  tz: '+0000',
};

/** The empty tree (git knows it without storing it; fsck wants it stored when commits use it). */
export const EMPTY_TREE = treeObject([]);

/** A first-parent chain of `n` commits over the empty tree; messages are `0\n`, `1\n`, ... */
export function commitChain(n: number, parent: string | null = null, start = 0): GitObject[] {
  const out: GitObject[] = [];
  let p = parent;
  for (let i = 0; i < n; i++) {
    const c = commitObject({
      tree: EMPTY_TREE.oid,
      parents: p ? [p] : [],
      author: IDENT,
      committer: IDENT,
      message: `${start + i}\n`,
    });
    out.push(c);
    p = c.oid;
  }
  return out;
}

/** The GatosError code an async call rejects with, or 'RESOLVED'. */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'RESOLVED';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}
