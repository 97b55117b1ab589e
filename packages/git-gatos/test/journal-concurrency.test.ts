/**
 * Journals under real concurrency and real crashes: separate processes race on one journal ref, and processes are
 * killed with SIGKILL at random moments. Tagged slow: these spawn many processes.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectOk, gatos, gatosAsync, git, setup } from './helpers.js';

const WORKER = join(import.meta.dirname, 'fixtures/append-worker.mjs');
const REF = 'refs/gatos/journal/demo/user/alice';

function worker(repo: string, env: NodeJS.ProcessEnv, count: number, tag: string) {
  const child = spawn(process.execPath, [WORKER, repo, 'demo', 'user:alice', String(count), tag], {
    env: { ...env, GATOS_STALE_LOCK_MS: '300' },
  });
  let out = '';
  let err = '';
  let markStarted: () => void = () => {};
  const started = new Promise<void>((r) => {
    markStarted = r;
  });
  child.stdout.on('data', (d) => {
    out += d;
    if (out.includes('ok ')) markStarted();
  });
  child.stderr.on('data', (d) => (err += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  void done.then(() => markStarted());
  return { child, done, started, out: () => out, err: () => err };
}

function successes(out: string): { ulid: string; commit: string }[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('ok '))
    .map((l) => {
      const [, ulid, commit] = l.split(' ');
      return { ulid: ulid!, commit: commit! };
    });
}

describe('journals under concurrency (slow)', () => {
  it('8 processes × 200 appends to one journal: 1,600 events, each once, one linear chain, fsck clean', async () => {
    const { repo, env } = setup('user:alice');
    const workers = Array.from({ length: 8 }, (_, i) => worker(repo, env, 200, `w${i}`));
    const results = await Promise.all(workers.map((w) => w.done));
    for (const [i, r] of results.entries()) expect(r.code, workers[i]!.err()).toBe(0);
    const reported = workers.flatMap((w) => successes(w.out()));
    expect(reported).toHaveLength(1600);
    expect(git(repo, 'rev-list', '--count', REF)).toBe('1600');
    expect(git(repo, 'rev-list', '--count', '--merges', REF)).toBe('0');
    const chain = new Set(git(repo, 'rev-list', REF).split('\n'));
    for (const r of reported) expect(chain.has(r.commit)).toBe(true);
    const log = expectOk(gatos(repo, env, ['log', 'demo', '--limit', '0', '--json'])).json.events;
    const tags = log.map((e: { payload: { tag: string; i: number } }) => `${e.payload.tag}/${e.payload.i}`);
    expect(new Set(tags).size).toBe(1600);
    expect(expectOk(gatos(repo, env, ['event', 'verify', 'demo', '--json'])).json).toMatchObject({
      ok: true,
      events: 1600,
    });
    expect(git(repo, 'fsck', '--strict', '--no-dangling')).toBe('');
  }, 240_000);

  it('kill -9 at random moments, 50 times: the ref always names a valid chain holding every reported append', async () => {
    const { repo, env } = setup('user:alice');
    expectOk(gatos(repo, env, ['event', 'append', '--ns', 'demo', '--type', 'seed']));
    const reported: string[] = [];
    let killedMidway = 0;
    for (let trial = 0; trial < 50; trial++) {
      const w = worker(repo, env, 1_000_000, `t${trial}`);
      // Once it is appending, SIGKILL it at a random moment within the next few appends.
      await w.started;
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 40)));
      w.child.kill('SIGKILL');
      const r = await w.done;
      expect(r.signal ?? r.code, w.err()).toBe('SIGKILL');
      const got = successes(w.out());
      if (got.length > 0 && !w.err()) killedMidway++;
      reported.push(...got.map((s) => s.commit));
      const head = git(repo, 'rev-parse', REF);
      const chain = new Set(git(repo, 'rev-list', head).split('\n'));
      for (const c of reported) expect(chain.has(c), `trial ${trial}: lost ${c}`).toBe(true);
    }
    expect(killedMidway).toBe(50);
    const v = expectOk(gatos(repo, env, ['event', 'verify', 'demo', '--json'])).json;
    expect(v.ok).toBe(true);
    expect(v.events).toBeGreaterThanOrEqual(reported.length);
    expect(git(repo, 'fsck', '--strict', '--no-dangling')).toBe('');
  }, 300_000);

  it('8 processes appending the same --ulid at once: exactly one event lands, the others report the duplicate', async () => {
    const { repo, env } = setup('user:alice');
    const base = '01JZ000000000000000000RAC'; // + one digit per round: 26 characters
    for (let round = 0; round < 3; round++) {
      const id = `${base}${round}`;
      const runs = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          gatosAsync(repo, env, [
            'event',
            'append',
            '--ns',
            'race',
            '--type',
            'note.created',
            '--payload',
            JSON.stringify({ i }),
            '--ulid',
            id,
            '--json',
          ]),
        ),
      );
      for (const r of runs) expect(r.status, r.stderr).toBe(0);
      const outs = runs.map(
        (r) => JSON.parse(r.stdout) as { appended: { ulid: string }[]; duplicates: string[] },
      );
      const appended = outs.flatMap((o) => o.appended);
      const duplicates = outs.flatMap((o) => o.duplicates);
      expect(appended.map((a) => a.ulid)).toEqual([id]);
      expect(duplicates).toEqual(Array(7).fill(id));
    }
    const log = expectOk(gatos(repo, env, ['log', 'race', '--limit', '0', '--json'])).json.events;
    expect(log.map((e: { ulid: string }) => e.ulid)).toEqual([0, 1, 2].map((r) => `${base}${r}`));
  });
});
