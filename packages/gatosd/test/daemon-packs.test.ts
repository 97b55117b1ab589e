/**
 * gatosd writes each group commit as one small pack and merges its packs in the background: sequential single
 * publishes (one group, one pack each) leave a handful of packs and no loose objects, git fsck stays clean, and
 * a restarted daemon reads every message back.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const GATOSD = join(import.meta.dirname, '../bin/gatosd');
const CLI_DIR = join(import.meta.dirname, '../../git-gatos/bin');
const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tmp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

function setup(): { repo: string; env: NodeJS.ProcessEnv } {
  const repo = tmp('gatosd-packs-repo-');
  execFileSync('git', ['init', '-q'], { cwd: repo });
  const env: NodeJS.ProcessEnv = { ...process.env, GATOS_HOME: tmp('gatosd-packs-home-'), GATOS_ACTOR: '' };
  for (const k of Object.keys(env)) if (k.startsWith('GATOSD_')) delete env[k];
  for (const args of [['init'], ['key', 'new', '--actor', 'service:gatosd']]) {
    const r = spawnSync('git', ['gatos', ...args], {
      cwd: repo,
      env: { ...env, PATH: `${CLI_DIR}:${env.PATH ?? ''}` },
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(r.stderr);
  }
  return { repo, env };
}

async function startDaemon(repo: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [GATOSD, '--repo', repo, '--port', '0'], { env });
  children.push(child);
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    exited.then((c) => reject(new Error(`gatosd exited ${c}`)));
  });
  return { url, child, exited };
}

function objectFiles(repo: string): { loose: number; packs: number } {
  const dir = join(repo, '.git/objects');
  let loose = 0;
  for (const d of readdirSync(dir)) if (/^[0-9a-f]{2}$/.test(d)) loose += readdirSync(join(dir, d)).length;
  const packs = readdirSync(join(dir, 'pack')).filter((f) => f.endsWith('.idx')).length;
  return { loose, packs };
}

describe('gatosd pack per group', () => {
  it('leaves few packs and no loose objects after many small groups; fsck clean; all readable after restart', async () => {
    const { repo, env } = setup();
    const d = await startDaemon(repo, env);
    const before = objectFiles(repo);
    const n = 100;
    for (let k = 0; k < n; k++) {
      // Sequential: each request is its own group commit, so its own pack.
      const r = await fetch(`${d.url}/v1/topics/packs/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ data: { k } }),
      });
      expect(r.status).toBe(201);
    }
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    const after = objectFiles(repo);
    expect(after.loose).toBe(before.loose);
    // 100 packs written; geometric merging every 16 keeps at most 16 fresh ones plus ~log2(100) merged ones.
    expect(after.packs - before.packs).toBeLessThanOrEqual(16 + 8);
    const fsck = spawnSync('git', ['fsck', '--strict', '--no-dangling', '--no-progress'], {
      cwd: repo,
      encoding: 'utf8',
    });
    expect(fsck.status).toBe(0);
    expect(`${fsck.stdout}${fsck.stderr}`).not.toMatch(/error|missing|broken|corrupt/i);

    const again = await startDaemon(repo, env);
    const res = await fetch(`${again.url}/v1/topics/packs/messages?after=-1&limit=1000`);
    const body = (await res.json()) as { messages: { offset: number; data: { k: number } }[] };
    expect(body.messages.map((m) => m.data.k)).toEqual(Array.from({ length: n }, (_, k) => k));
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });
});
