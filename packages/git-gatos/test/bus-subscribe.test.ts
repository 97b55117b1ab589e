/** `git gatos bus subscribe` as a real child process: polling the repository, and through gatosd's SSE stream. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, BIN_DIR, expectOk, gatos, setup } from './helpers.js';

const GATOSD = join(import.meta.dirname, '../../gatosd/bin/gatosd');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Starts `git-gatos <args>` (node directly, so signals reach it) and collects stdout lines. */
function start(cwd: string, env: NodeJS.ProcessEnv, args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...env, PATH: `${BIN_DIR}:${env.PATH ?? ''}` },
  });
  children.push(child);
  const lines: string[] = [];
  let buf = '';
  let err = '';
  let waiter: (() => void) | null = null;
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    waiter?.();
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    child,
    exited,
    stderr: () => err,
    /** Resolves with the first `n` lines, or rejects after `ms`. */
    async lines(n: number, ms = 15_000): Promise<string[]> {
      const deadline = Date.now() + ms;
      while (lines.length < n) {
        if (Date.now() > deadline) throw new Error(`got ${lines.length}/${n} lines; stderr: ${err}`);
        await new Promise<void>((r) => {
          waiter = r;
          setTimeout(r, 100);
        });
      }
      return lines.slice(0, n);
    },
  };
}

function publish(repo: string, env: NodeJS.ProcessEnv, topic: string, data: unknown): void {
  expectOk(gatos(repo, env, ['bus', 'publish', '--topic', topic, '--data', JSON.stringify(data)]));
}

describe('git gatos bus subscribe', () => {
  it('follows the repository live, prints JSON lines, acks with --ack and exits 0 on SIGTERM', async () => {
    const { repo, env } = setup('user:alice');
    publish(repo, env, 'orders', { n: 0 });
    expectOk(gatos(repo, env, ['bus', 'ack', '--topic', 'orders', '--group', 'g', '--to', '0']));
    const sub = start(repo, env, [
      'bus',
      'subscribe',
      '--topic',
      'orders',
      '--group',
      'g',
      '--ack',
      '--json',
    ]);
    await new Promise((r) => setTimeout(r, 500));
    for (let n = 1; n <= 3; n++) publish(repo, env, 'orders', { n });
    const lines = (await sub.lines(3)).map((l) => JSON.parse(l));
    expect(lines.map((m) => m.data)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(lines.map((m) => m.offset)).toEqual([1, 2, 3]);
    sub.child.kill('SIGTERM');
    expect(await sub.exited).toBe(0);
    // Everything printed was acknowledged.
    const r = expectOk(gatos(repo, env, ['bus', 'read', '--topic', 'orders', '--group', 'g', '--json'])).json;
    expect(r.position.offset).toBe(3);
    expect(r.messages).toEqual([]);
  });

  it('follows through gatosd over SSE and resumes after the daemon restarts', async () => {
    const { repo, env } = setup('user:alice');
    expectOk(gatos(repo, env, ['key', 'new', '--actor', 'service:gatosd']));
    const daemonEnv = { ...env };
    for (const k of Object.keys(daemonEnv)) if (k.startsWith('GATOSD_')) delete daemonEnv[k];
    const startDaemon = async (port: string) => {
      const d = spawn(process.execPath, [GATOSD, '--repo', repo, '--port', port], { env: daemonEnv });
      children.push(d);
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        d.stdout.setEncoding('utf8').on('data', (s: string) => {
          out += s;
          if (out.includes('\n')) resolve(out.split('\n')[0]!);
        });
        d.on('exit', (c) => reject(new Error(`gatosd exited ${c}`)));
      });
      return { d, url, exited: new Promise((r) => d.on('exit', r)) };
    };
    const post = async (url: string, data: unknown) => {
      const res = await fetch(`${url}/v1/topics/feed/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ data }),
      });
      expect(res.status).toBe(201);
    };
    let daemon = await startDaemon('0');
    const port = new URL(daemon.url).port;
    const sub = start(repo, { ...daemonEnv, GATOSD_URL: daemon.url }, [
      'bus',
      'subscribe',
      '--topic',
      'feed',
      '--group',
      'g',
    ]);
    await new Promise((r) => setTimeout(r, 500));
    for (let n = 1; n <= 3; n++) await post(daemon.url, { n });
    const lines = await sub.lines(3);
    expect(lines.map((l) => l.split(' ')[0])).toEqual(['0', '1', '2']);
    expect(lines[2]).toMatch(/ \{"n":3\}$/);
    // The daemon restarts on the same port: the stream resumes after the last message seen (no repeat).
    daemon.d.kill('SIGTERM');
    await daemon.exited;
    daemon = await startDaemon(port);
    await post(daemon.url, { n: 4 });
    const more = await sub.lines(4);
    expect(more[3]).toMatch(/^3 .* \{"n":4\}$/);
    sub.child.kill('SIGINT');
    expect(await sub.exited).toBe(0);
    daemon.d.kill('SIGTERM');
    await daemon.exited;
  });
});
