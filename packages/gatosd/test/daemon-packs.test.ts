/**
 * gatosd writes each group commit as one small pack and merges its packs in the background: sequential single
 * publishes (one group, one pack each) leave a handful of packs and no loose objects, git fsck stays clean, and
 * a restarted daemon reads every message back.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { busRepo, startDaemon } from './bus-cli-helpers.js';

function objectFiles(repo: string): { loose: number; packs: number } {
  const dir = join(repo, '.git/objects');
  let loose = 0;
  for (const d of readdirSync(dir)) if (/^[0-9a-f]{2}$/.test(d)) loose += readdirSync(join(dir, d)).length;
  const packs = readdirSync(join(dir, 'pack')).filter((f) => f.endsWith('.idx')).length;
  return { loose, packs };
}

describe('gatosd pack per group', () => {
  it('leaves few packs and no loose objects after many small groups; fsck clean; all readable after restart', async () => {
    const { repo, env } = busRepo();
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
    expect(await d.stop()).toBe(0);
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
    expect(await again.stop()).toBe(0);
  });
});
