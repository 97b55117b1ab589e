import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openRepository, runGit } from '../src/index.js';
import { codeOf, git, tempRepo } from './helpers.js';

const work = tempRepo();
const bare = tempRepo({ bare: true });
afterAll(() => {
  work.cleanup();
  bare.cleanup();
});

describe('openRepository', () => {
  it('locates a work-tree repository from a subdirectory', async () => {
    mkdirSync(join(work.dir, 'a', 'b'), { recursive: true });
    const repo = await openRepository({ cwd: join(work.dir, 'a', 'b') });
    const top = realpathSync(work.dir);
    expect(repo.gitDir).toBe(join(top, '.git'));
    expect(repo.commonDir).toBe(join(top, '.git'));
    expect(repo.objectsDir).toBe(join(top, '.git', 'objects'));
    expect(repo.isBare).toBe(false);
    expect(repo.workTree).toBe(top);
  });

  it('locates a bare repository (no work tree)', async () => {
    const repo = await openRepository({ cwd: bare.dir });
    expect(repo.isBare).toBe(true);
    expect(repo.workTree).toBeNull();
    expect(repo.objectsDir).toBe(join(realpathSync(bare.dir), 'objects'));
  });

  it('inside .git there is a repository but no work tree', async () => {
    const repo = await openRepository({ cwd: join(work.dir, '.git') });
    expect(repo.isBare).toBe(false);
    expect(repo.workTree).toBeNull();
  });

  it('honours GIT_OBJECT_DIRECTORY (a quarantine) and can unset it', async () => {
    const quarantine = join(work.dir, '.git', 'objects', 'incoming-test');
    mkdirSync(quarantine, { recursive: true });
    const inQ = await openRepository({ cwd: work.dir, env: { GIT_OBJECT_DIRECTORY: quarantine } });
    expect(inQ.objectsDir).toBe(realpathSync(quarantine));
    const out = await openRepository({ cwd: work.dir, env: { GIT_OBJECT_DIRECTORY: undefined } });
    expect(out.objectsDir).toBe(join(realpathSync(work.dir), '.git', 'objects'));
  });

  it('rejects a directory outside any repository with GATOS_E_NOT_A_REPO', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatos-not-a-repo-'));
    try {
      // GIT_CEILING_DIRECTORIES stops discovery at the temp dir even if /tmp itself sits in a repository.
      const env = { GIT_CEILING_DIRECTORIES: tmpdir() };
      expect(await codeOf(openRepository({ cwd: dir, env }))).toBe('GATOS_E_NOT_A_REPO');
      expect(await codeOf(openRepository({ cwd: join(dir, 'does-not-exist'), env }))).toBe(
        'GATOS_E_NOT_A_REPO',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('runGit', () => {
  it('returns stdout and passes stdin', async () => {
    const repo = await openRepository({ cwd: work.dir });
    const oid = (await runGit(repo, ['hash-object', '-w', '--stdin'], { input: 'hello\n' }))
      .toString()
      .trim();
    expect(git(work.dir, 'cat-file', '-p', oid)).toBe('hello');
  });

  it('runs with LC_ALL=C and no terminal prompt', async () => {
    const out = await runGit(work.dir, ['var', 'GIT_EDITOR'], { env: { GIT_EDITOR: 'true' } });
    expect(out.toString().trim()).toBe('true');
    const env = (await runGit(work.dir, ['-c', 'alias.e=!env', 'e'])).toString();
    expect(env).toMatch(/^LC_ALL=C$/m);
    expect(env).toMatch(/^GIT_TERMINAL_PROMPT=0$/m);
  });

  it('throws GATOS_E_GIT with stderr and exit code', async () => {
    try {
      await runGit(work.dir, ['rev-parse', '--verify', 'refs/heads/nope']);
      expect.unreachable();
    } catch (e) {
      const err = e as { code: string; data: { stderr: string; exitCode: number } };
      expect(err.code).toBe('GATOS_E_GIT');
      expect(err.data.exitCode).toBe(128);
      expect(err.data.stderr).toMatch(/fatal/);
    }
  });
});
