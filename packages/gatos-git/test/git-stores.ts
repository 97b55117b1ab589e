/** A fresh git repository with `@gatos/git` stores over it, for tests of core operations against real git. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobStores } from '@gatos/core';
import { createObjectStore, createRefStore, openRepository } from '../src/index.js';

/** Runs git in `dir`, without user or system config. */
export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd: dir,
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
    .toString('utf8')
    .trim();
}

/** A fresh git repository in a temp dir with @gatos/git stores over it. */
export async function tempStores(): Promise<JobStores & { dir: string; cleanup: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'gatos-job-test-'));
  git(dir, 'init', '-q');
  const repo = await openRepository({ cwd: dir });
  const objects = createObjectStore(repo);
  const refs = createRefStore(repo);
  return {
    dir,
    objects,
    refs,
    cleanup: async () => {
      await objects.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
