/**
 * gatosd's group commit and live delivery: many single-message publishes fired at once are written together (a
 * few packs, not one loose write each), every one is answered 201, and open streams get each message once, in
 * offset order, whether from memory (caught up) or from the repository (behind).
 */
import { readdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { busRepo, startDaemon } from './bus-cli-helpers.js';

/** Collects `{id, data}` of an SSE stream. */
function sse(url: string) {
  const events: { id: number; data: { offset: number; data: { k: number } } }[] = [];
  let buf = '';
  const req = request(url, (res) => {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const id = /^id: (\d+)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (id !== undefined && data !== undefined) events.push({ id: Number(id), data: JSON.parse(data) });
      }
    });
  });
  req.end();
  return {
    events,
    close: () => req.destroy(),
    async until(n: number, ms = 20_000) {
      const end = Date.now() + ms;
      while (events.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      return events;
    },
  };
}

function objectFiles(repo: string): { loose: number; packs: number } {
  const dir = join(repo, '.git/objects');
  let loose = 0;
  for (const d of readdirSync(dir)) if (/^[0-9a-f]{2}$/.test(d)) loose += readdirSync(join(dir, d)).length;
  const packs = readdirSync(join(dir, 'pack')).filter((f) => f.endsWith('.pack')).length;
  return { loose, packs };
}

describe('gatosd group commit', () => {
  it('writes concurrent single publishes together and streams each once, in order', async () => {
    const { repo, env } = busRepo();
    const d = await startDaemon(repo, env);
    const live = sse(`${d.url}/v1/topics/lat/stream?after=-1`);
    await new Promise((r) => setTimeout(r, 200));
    const before = objectFiles(repo);
    const n = 200;
    const post = (k: number) =>
      fetch(`${d.url}/v1/topics/lat/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ data: { k } }),
      }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { published: { offset: number }[] },
      }));
    // Open loop: every request is fired without waiting for earlier answers.
    const answers = await Promise.all(Array.from({ length: n }, (_, k) => post(k)));
    expect(answers.every((a) => a.status === 201 && a.body.published.length === 1)).toBe(true);
    const offsets = answers.map((a) => a.body.published[0]!.offset).sort((a, b) => a - b);
    expect(offsets).toEqual(Array.from({ length: n }, (_, i) => i));
    // Grouped: far fewer writes than requests (groups of 11+ messages are one pack each, not 33+ loose files).
    const after = objectFiles(repo);
    expect(after.packs - before.packs).toBeGreaterThanOrEqual(1);
    expect(after.loose - before.loose).toBeLessThan(3 * n * 0.5);

    const events = await live.until(n);
    expect(events.map((e) => e.id)).toEqual(offsets);
    expect(new Set(events.map((e) => e.data.data.k)).size).toBe(n);
    // A stream that starts behind catches up from the repository, then continues live without gap or repeat.
    const late = sse(`${d.url}/v1/topics/lat/stream?after=149`);
    await late.until(50);
    await Promise.all(Array.from({ length: 20 }, (_, k) => post(n + k)));
    const lateEvents = await late.until(70);
    expect(lateEvents.map((e) => e.id)).toEqual(Array.from({ length: 70 }, (_, i) => 150 + i));
    expect((await live.until(n + 20)).map((e) => e.id)).toEqual(Array.from({ length: n + 20 }, (_, i) => i));
    live.close();
    late.close();
    expect(await d.stop()).toBe(0);
  });
});
