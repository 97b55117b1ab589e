/** Installing the push-gate as a repository's `hooks/pre-receive`. */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GatosError } from '@gatos/core';
import { openRepository } from '@gatos/git';

/** The marker line that identifies a hook GATOS installed. */
export const HOOK_MARKER = '# gatos-pre-receive: installed by `git gatos hook install`';

/** Absolute path of the executable hook entry (`packages/gatosd/bin/gatos-pre-receive`). */
export const PRE_RECEIVE_BIN = fileURLToPath(new URL('../../bin/gatos-pre-receive', import.meta.url));

/** The hook script: a small sh wrapper exec'ing node on the built entry. */
export function hookScript(node: string = process.execPath, bin: string = PRE_RECEIVE_BIN): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return `#!/bin/sh\n${HOOK_MARKER}\nexec ${q(node)} ${q(bin)} "$@"\n`;
}

/** What {@link installHook} did. */
export interface HookInstallResult {
  repo: string;
  hook: string;
  /** `installed` (new), `updated` (ours, rewritten), `replaced` (a foreign hook, with force), `unchanged`. */
  action: 'installed' | 'updated' | 'replaced' | 'unchanged';
  node: string;
  bin: string;
}

/** Installs the pre-receive hook into the repository at `dir`; refuses a foreign hook unless `force`. */
export async function installHook(dir: string, opts: { force?: boolean } = {}): Promise<HookInstallResult> {
  const repo = await openRepository({ cwd: dir });
  const hooks = join(repo.commonDir, 'hooks');
  const hook = join(hooks, 'pre-receive');
  const script = hookScript();
  let existing: string | null = null;
  try {
    existing = await readFile(hook, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const ours = existing?.includes(HOOK_MARKER) ?? false;
  if (existing !== null && !ours && !opts.force) {
    throw new GatosError('GATOS_E_HOOK_EXISTS', `${hook} exists and was not installed by GATOS`, {
      data: { hook },
      hint: 'Move it aside, or pass --force to replace it.',
    });
  }
  const base = { repo: repo.commonDir, hook, node: process.execPath, bin: PRE_RECEIVE_BIN };
  if (existing === script) return { ...base, action: 'unchanged' };
  await mkdir(hooks, { recursive: true });
  const tmp = `${hook}.gatos-tmp-${process.pid}`;
  await writeFile(tmp, script, { mode: 0o755 });
  await chmod(tmp, 0o755);
  await rename(tmp, hook);
  return { ...base, action: existing === null ? 'installed' : ours ? 'updated' : 'replaced' };
}
