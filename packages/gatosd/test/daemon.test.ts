/** gatosd as a real process: HTTP publish/read/ack, SSE with resume, crash safety, the lock, bad input, pushes. */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
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

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } }).trim();
}

function gatos(cwd: string, env: NodeJS.ProcessEnv, args: string[]) {
  const r = spawnSync('git', ['gatos', ...args], {
    cwd,
    env: { ...env, PATH: `${CLI_DIR}:${env.PATH ?? ''}` },
    encoding: 'utf8',
  });
  if (r.status !== 0)
    throw new Error(`git gatos ${args.join(' ')} failed (${r.status}): ${r.stdout}${r.stderr}`);
  return args.includes('--json') ? JSON.parse(r.stdout) : r.stdout;
}

/** A repository with GATOS initialised and a registered key for the daemon's identity. */
function setup(): { repo: string; env: NodeJS.ProcessEnv } {
  const repo = tmp('gatosd-repo-');
  git(repo, 'init', '-q');
  const env = { ...process.env, GATOS_HOME: tmp('gatosd-home-'), GATOS_ACTOR: '' };
  for (const k of Object.keys(env)) if (k.startsWith('GATOSD_')) delete env[k];
  gatos(repo, env, ['init']);
  gatos(repo, env, ['key', 'new', '--actor', 'service:gatosd']);
  return { repo, env };
}

interface Running {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

function startDaemon(repo: string, env: NodeJS.ProcessEnv, extra: string[] = []): Promise<Running> {
  const child = spawn(process.execPath, [GATOSD, '--repo', repo, '--port', '0', ...extra], { env });
  children.push(child);
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ url: out.slice(0, nl), child, stderr: () => err, exited });
    });
    exited.then((code) => reject(new Error(`gatosd exited ${code}: ${err}`)));
  });
}

async function stop(d: Running): Promise<void> {
  d.child.kill('SIGTERM');
  expect(await d.exited).toBe(0);
}

async function http(
  url: string,
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: any; text: string }> {
  const res = await fetch(url, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

interface SseEvent {
  id: number;
  data: any;
}

/** A minimal EventSource over node:http; `close()` drops the connection. */
function sse(url: string, lastEventId?: number) {
  const events: SseEvent[] = [];
  const waiters: (() => void)[] = [];
  let buf = '';
  const req = request(url, {
    headers: lastEventId === undefined ? {} : { 'last-event-id': String(lastEventId) },
  });
  const opened = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      resolve(res.statusCode ?? 0);
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
        for (const w of waiters.splice(0)) w();
      });
    });
    req.on('error', reject);
  });
  req.end();
  return {
    events,
    opened,
    async waitFor(n: number, ms = 10_000): Promise<SseEvent[]> {
      const until = Date.now() + ms;
      while (events.length < n) {
        if (Date.now() > until) throw new Error(`waited for ${n} events, got ${events.length}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
      return events;
    },
    close: () => req.destroy(),
  };
}

function snapshot(repo: string): string {
  return git(repo, 'for-each-ref', '--format=%(objectname) %(refname)');
}

describe('gatosd', () => {
  it('publishes single and batch messages, reads by group, acks, and reports metrics', async () => {
    const { repo, env } = setup();
    const d = await startDaemon(repo, env);
    try {
      expect(d.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await http(`${d.url}/health`, 'GET')).json).toMatchObject({
        ok: true,
        actor: 'service:gatosd',
      });
      const one = await http(`${d.url}/v1/topics/orders/messages`, 'POST', { data: { id: 1 } });
      expect(one.status).toBe(201);
      expect(one.json.published).toHaveLength(1);
      expect(one.json.published[0]).toMatchObject({ offset: 0 });
      const key = '01KAR0000000000000000000AA';
      const batch = await http(`${d.url}/v1/topics/orders/messages`, 'POST', {
        messages: [{ data: { id: 2 }, key }, { data: { id: 3 }, type: 'order.created' }, { data: { id: 1 } }],
      });
      expect(batch.status).toBe(201);
      expect(batch.json.published.map((p: { offset: number }) => p.offset)).toEqual([1, 2]);
      expect(batch.json.duplicates).toEqual([expect.objectContaining({ reason: 'content', offset: 0 })]);
      const again = await http(`${d.url}/v1/topics/orders/messages`, 'POST', { data: { id: 9 }, key });
      expect(again.status).toBe(200);
      expect(again.json.duplicates).toEqual([{ ulid: key, reason: 'ulid', offset: 1 }]);
      const read = await http(`${d.url}/v1/topics/orders/messages?group=billing&limit=2`, 'GET');
      expect(read.json.messages.map((m: { data: unknown }) => m.data)).toEqual([{ id: 1 }, { id: 2 }]);
      expect(read.json.messages[1]).toMatchObject({
        ulid: key,
        actor: 'service:gatosd',
        type: 'bus.message',
      });
      expect(
        (await http(`${d.url}/v1/topics/orders/ack`, 'POST', { group: 'billing', offset: 1 })).json,
      ).toMatchObject({
        moved: true,
        offset: 1,
      });
      const rest = await http(`${d.url}/v1/topics/orders/messages?group=billing`, 'GET');
      expect(rest.json.messages.map((m: { offset: number; type: string }) => [m.offset, m.type])).toEqual([
        [2, 'order.created'],
      ]);
      const metrics = (await http(`${d.url}/metrics`, 'GET')).text;
      expect(metrics).toContain('gatosd_messages_published_total{topic="orders"} 3');
      expect(metrics).toContain('gatosd_messages_duplicate_total{topic="orders"} 2');
      expect(metrics).toContain('gatosd_publish_duration_seconds_count 3');
      expect(gatos(repo, env, ['bus', 'verify', 'orders', '--json']).ok).toBe(true);

      // A second daemon on the same repository refuses.
      const second = spawnSync(process.execPath, [GATOSD, '--repo', repo, '--port', '0'], {
        env,
        encoding: 'utf8',
      });
      expect(second.status).toBe(5);
      expect(second.stderr).toContain('GATOS_E_DAEMON_LOCKED');
    } finally {
      await stop(d);
    }
    expect(existsSync(join(repo, '.git', 'gatosd.lock'))).toBe(false);
  });

  it('is not a browser target: a foreign Host (DNS rebinding), a foreign Origin and a non-JSON write are refused', async () => {
    const { repo, env } = setup();
    const d = await startDaemon(repo, env, ['--allowed-hosts', 'gatos.internal']);
    /** A raw request: fetch may not set Host. */
    const raw = (path: string, method: string, headers: Record<string, string>, body = '') =>
      new Promise<{ status: number; code: string | undefined }>((resolve, reject) => {
        const u = new URL(d.url);
        const req = request({ host: u.hostname, port: u.port, path, method, headers }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => {
            let code: string | undefined;
            try {
              code = JSON.parse(text).error?.code;
            } catch {}
            resolve({ status: res.statusCode ?? 0, code });
          });
        });
        req.on('error', reject);
        req.end(body);
      });
    try {
      const before = snapshot(repo);
      const path = '/v1/topics/orders/messages';
      const json = { 'content-type': 'application/json' };
      const body = JSON.stringify({ data: { evil: true } });
      const port = new URL(d.url).port;
      const refused: [string, Record<string, string>, number, string][] = [
        ['rebinding Host', { ...json, host: `evil.example:${port}` }, 403, 'GATOS_E_HTTP_FORBIDDEN'],
        ['malformed Host', { ...json, host: 'a b' }, 403, 'GATOS_E_HTTP_FORBIDDEN'],
        ['foreign Origin', { ...json, origin: 'https://evil.example' }, 403, 'GATOS_E_HTTP_FORBIDDEN'],
        ['opaque Origin', { ...json, origin: 'null' }, 403, 'GATOS_E_HTTP_FORBIDDEN'],
        ['text/plain write', { 'content-type': 'text/plain' }, 415, 'GATOS_E_HTTP_MEDIA_TYPE'],
        [
          'form write',
          { 'content-type': 'application/x-www-form-urlencoded' },
          415,
          'GATOS_E_HTTP_MEDIA_TYPE',
        ],
        ['no type', {}, 415, 'GATOS_E_HTTP_MEDIA_TYPE'],
      ];
      for (const [name, headers, status, code] of refused) {
        const r = await raw(path, 'POST', headers, body);
        expect([name, r.status, r.code]).toEqual([name, status, code]);
      }
      // A foreign page cannot read either (EventSource and fetch send its Origin).
      const read = await raw(path, 'GET', { origin: 'http://evil.example' });
      expect([read.status, read.code]).toEqual([403, 'GATOS_E_HTTP_FORBIDDEN']);
      expect(snapshot(repo)).toBe(before);
      // The honest paths: loopback names, a configured name, and a same-host Origin.
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'gatos.internal']) {
        const ok = await raw(
          path,
          'POST',
          { ...json, host, origin: `http://${host}` },
          JSON.stringify({ data: host }),
        );
        expect([host, ok.status]).toEqual([host, 201]);
      }
      expect(
        (
          await raw(
            path,
            'POST',
            { 'content-type': 'application/json; charset=utf-8' },
            JSON.stringify({ data: 'utf-8' }),
          )
        ).status,
      ).toBe(201);
    } finally {
      await stop(d);
    }
  });

  it('rejects malformed publishes with 4xx codes and changes nothing; enforces the token', async () => {
    const { repo, env } = setup();
    const token = 'secret-token-0123456789';
    const d = await startDaemon(repo, { ...env, GATOSD_TOKEN: token }, ['--max-body-bytes', '2048']);
    try {
      const auth = { authorization: `Bearer ${token}` };
      const before = snapshot(repo);
      const url = `${d.url}/v1/topics/orders/messages`;
      const cases: [string, unknown, Record<string, string>, number, string][] = [
        ['no token', { data: 1 }, {}, 401, 'GATOS_E_HTTP_AUTH'],
        [
          'wrong token',
          { data: 1 },
          { authorization: 'Bearer nope-nope-nope-nope' },
          401,
          'GATOS_E_HTTP_AUTH',
        ],
        ['bad json', '{"data": ', auth, 400, 'GATOS_E_HTTP_BAD_REQUEST'],
        ['no data', { value: 1 }, auth, 400, 'GATOS_E_HTTP_BAD_REQUEST'],
        ['oversize', { data: 'x'.repeat(4096) }, auth, 413, 'GATOS_E_HTTP_TOO_LARGE'],
        ['bad key', { data: 1, key: 'not-a-ulid' }, auth, 400, 'GATOS_E_ENVELOPE_ULID'],
      ];
      for (const [name, body, headers, status, code] of cases) {
        const r = await http(url, 'POST', body, headers);
        expect([name, r.status, r.json?.ok, r.json?.error?.code]).toEqual([name, status, false, code]);
      }
      const badTopic = await http(`${d.url}/v1/topics/Bad.Topic/messages`, 'POST', { data: 1 }, auth);
      expect([badTopic.status, badTopic.json.error.code]).toEqual([400, 'GATOS_E_BUS_TOPIC']);
      expect((await http(`${d.url}/nope`, 'GET', undefined, auth)).json.error.code).toBe(
        'GATOS_E_HTTP_NOT_FOUND',
      );
      expect(snapshot(repo)).toBe(before);
      expect((await http(url, 'POST', { data: 1 }, auth)).status).toBe(201);
    } finally {
      await stop(d);
    }
    // Non-loopback without a token: refuses to start.
    const r = spawnSync(process.execPath, [GATOSD, '--repo', repo, '--host', '0.0.0.0', '--port', '0'], {
      env,
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('GATOS_E_DAEMON_CONFIG');
  });

  it('streams live over SSE and resumes with Last-Event-ID: no gap, no repeat', async () => {
    const { repo, env } = setup();
    const d = await startDaemon(repo, env);
    try {
      const pub = (i: number) => http(`${d.url}/v1/topics/ev/messages`, 'POST', { data: { i } });
      await pub(0);
      const a = sse(`${d.url}/v1/topics/ev/stream?group=g1`);
      expect(await a.opened).toBe(200);
      await a.waitFor(1);
      for (let i = 1; i < 5; i++) await pub(i);
      const first = await a.waitFor(5);
      expect(first.map((e) => e.id)).toEqual([0, 1, 2, 3, 4]);
      expect(first.map((e) => e.data.data.i)).toEqual([0, 1, 2, 3, 4]);
      a.close();
      const lastId = first.at(-1)!.id;
      for (let i = 5; i < 12; i++) await pub(i);
      const b = sse(`${d.url}/v1/topics/ev/stream?group=g1`, lastId);
      await b.waitFor(7);
      await pub(12);
      const got = await b.waitFor(8);
      await new Promise((r) => setTimeout(r, 300));
      expect(b.events.map((e) => e.id)).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
      expect(got.map((e) => e.data.data.i)).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
      expect((await http(`${d.url}/metrics`, 'GET')).text).toContain('gatosd_sse_clients 1');
      b.close();
    } finally {
      await stop(d);
    }
  });

  it('keeps every acknowledged (201) publish across SIGKILL; a new daemon takes over the stale lock', async () => {
    const { repo, env } = setup();
    const d = await startDaemon(repo, env);
    const acked: string[] = [];
    let stopBurst = false;
    const burst = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; !stopBurst; i++) {
        try {
          const r = await http(`${d.url}/v1/topics/burst/messages`, 'POST', { data: { w, i } });
          if (r.status === 201) acked.push(r.json.published[0].ulid);
        } catch {
          return; // connection refused/reset after the kill
        }
      }
    });
    while (acked.length < 40) await new Promise((r) => setTimeout(r, 10));
    d.child.kill('SIGKILL');
    await d.exited;
    stopBurst = true;
    await Promise.all(burst);
    expect(existsSync(join(repo, '.git', 'gatosd.lock'))).toBe(true);
    // A writer killed inside a ref update leaves `<ref>.lock` behind; it is broken once older than
    // GATOS_STALE_LOCK_MS (30 s by default), shortened here as in the journal crash test.
    const d2 = await startDaemon(repo, { ...env, GATOS_STALE_LOCK_MS: '300' });
    try {
      expect(d2.stderr()).toContain('stale lock');
      const stored = new Set<string>();
      for (let after = -1; ; ) {
        const r = await http(`${d2.url}/v1/topics/burst/messages?after=${after}&limit=1000`, 'GET');
        for (const m of r.json.messages) stored.add(m.ulid);
        if (r.json.messages.length === 0) break;
        after = r.json.messages.at(-1).offset;
      }
      for (const u of acked) expect(stored.has(u)).toBe(true);
      git(repo, 'fsck', '--strict');
      expect(gatos(repo, env, ['bus', 'verify', 'burst', '--json']).ok).toBe(true);
      expect((await http(`${d2.url}/v1/topics/burst/messages`, 'POST', { data: 'after' })).status).toBe(201);
    } finally {
      await stop(d2);
    }
  });

  it('a consumer killed before acking resumes without loss (at-least-once, applied once)', async () => {
    const { repo, env } = setup();
    const d = await startDaemon(repo, env);
    try {
      await http(`${d.url}/v1/topics/jobs/messages`, 'POST', {
        messages: Array.from({ length: 10 }, (_, i) => ({ data: i })),
      });
      const applied: number[] = [];
      const seen = new Set<string>();
      // Consumer 1 processes 4 messages, acks after the first 3, then "dies" before acking the 4th.
      const c1 = (await http(`${d.url}/v1/topics/jobs/messages?group=workers&limit=4`, 'GET')).json.messages;
      for (const m of c1) {
        applied.push(m.data);
        seen.add(m.ulid);
        if (m.offset === 2)
          await http(`${d.url}/v1/topics/jobs/ack`, 'POST', { group: 'workers', offset: 2 });
      }
      // Consumer 2 (a new process would do the same) reads from the group's position.
      for (let round = 0; ; round++) {
        const page = (await http(`${d.url}/v1/topics/jobs/messages?group=workers&limit=3`, 'GET')).json
          .messages;
        if (page.length === 0) break;
        if (round === 0) expect(page[0].offset).toBe(3); // the unacked message is delivered again
        for (const m of page) {
          if (!seen.has(m.ulid)) applied.push(m.data);
          seen.add(m.ulid);
        }
        await http(`${d.url}/v1/topics/jobs/ack`, 'POST', { group: 'workers', offset: page.at(-1).offset });
      }
      expect(applied).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    } finally {
      await stop(d);
    }
  });

  it('messages pushed into the repository by plain git push appear on an open SSE stream', async () => {
    const { repo, env } = setup();
    const d = await startDaemon(repo, env, ['--poll-ms', '100']);
    try {
      await http(`${d.url}/v1/topics/feed/messages`, 'POST', { data: 'from-daemon' });
      const s = sse(`${d.url}/v1/topics/feed/stream?after=-1`);
      await s.waitFor(1);
      const clone = tmp('gatosd-clone-');
      git(clone, 'clone', '-q', repo, '.');
      git(clone, 'fetch', '-q', 'origin', '+refs/gatos/*:refs/gatos/*');
      gatos(clone, env, [
        'bus',
        'publish',
        '--topic',
        'feed',
        '--data',
        '"from-clone"',
        '--actor',
        'service:gatosd',
      ]);
      git(clone, 'push', '-q', 'origin', 'refs/gatos/mbus/*:refs/gatos/mbus/*');
      const events = await s.waitFor(2);
      expect(events.map((e) => [e.id, e.data.data])).toEqual([
        [0, 'from-daemon'],
        [1, 'from-clone'],
      ]);
      s.close();
    } finally {
      await stop(d);
    }
  });
});
