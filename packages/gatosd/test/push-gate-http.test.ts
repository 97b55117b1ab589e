/**
 * The push-gate over smart HTTP end to end: a bare repository with the hook installed, served by
 * {@link startGitHttpServer} (`git http-backend` as CGI on 127.0.0.1), real `git push` over http:// from a clone.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { join } from 'node:path';
import { appendEvents, journalRef, keyId, keyPairFromSeed, readTrust, signEvent } from '@gatos/core';
import { createObjectStore, createRefStore, openRepository } from '@gatos/git';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk, gatos, git, tmp } from '../../git-gatos/test/helpers.js';
import { type GitHttpServer, parseCgiHead, startGitHttpServer } from './support/http-git-server.js';

const DENY_REF = 'refs/gatos/audit/policy/deny';
const ALICE = journalRef('lab', 'user:alice');

let server: string;
let client: string;
let env: NodeJS.ProcessEnv;
let http: GitHttpServer;

interface Push {
  status: number;
  stderr: string;
  out: string;
}

function push(...args: string[]): Promise<Push> {
  return gitAsync(client, 'push', '--porcelain', http.url, ...args);
}

/** Runs git without blocking the event loop (the HTTP server shares this process). */
function gitAsync(cwd: string, ...args: string[]): Promise<Push> {
  return new Promise((resolve) => {
    const child = spawn('git', args, {
      cwd,
      env: { ...env, LC_ALL: 'C', GIT_TERMINAL_PROMPT: '0' },
    });
    let out = '';
    let stderr = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      out += d;
    });
    child.on('close', (code) => resolve({ status: code ?? -1, stderr, out }));
  });
}

function serverRefs(): string {
  return git(server, 'for-each-ref', '--format=%(objectname) %(refname)')
    .split('\n')
    .filter((l) => !l.endsWith(` ${DENY_REF}`))
    .join('\n');
}

function expectDenied(p: Push, rule: string, before: string, ref: string): void {
  expect(p.status, p.out).not.toBe(0);
  const m = new RegExp(`remote: GATOS DENY (\\w{26}): (\\S+) rule ${rule}:`).exec(p.stderr);
  expect(m, p.out).not.toBeNull();
  expect(m![2]).toBe(ref);
  expect(serverRefs()).toBe(before);
  const log = expectOk(gatos(server, env, ['audit', 'log', '--json'])).json;
  expect(log.chain_ok).toBe(true);
  const rec = log.records.find((r: { id: string }) => r.id === m![1]);
  expect(rec, `no DENY record ${m![1]}`).toBeDefined();
  expect(rec.denials.map((d: { rule: string }) => d.rule)).toContain(rule);
}

beforeAll(async () => {
  const root = tmp('gatos-gate-http-');
  server = join(root, 'srv.git');
  git(root, 'init', '-q', '--bare', server);
  env = { ...process.env, GATOS_HOME: join(root, 'home'), GATOS_ACTOR: '' };
  expectOk(gatos(root, env, ['hook', 'install', server, '--json']));
  http = await startGitHttpServer({ repo: server });
  client = join(root, 'client');
  // Asynchronously: the server runs in this process, a synchronous clone would block it.
  const cloned = await gitAsync(root, 'clone', '-q', http.url, client);
  expect(cloned.status, cloned.out).toBe(0);
  expectOk(gatos(client, env, ['init']));
  expectOk(gatos(client, env, ['key', 'new', '--actor', 'user:alice']));
  for (const n of [1, 2]) {
    expectOk(
      gatos(client, env, ['event', 'append', '--ns', 'lab', '--type', 'add', '--payload', `{"n":${n}}`]),
    );
  }
});

afterAll(async () => {
  await http?.close();
});

describe('parseCgiHead', () => {
  it('reads Status and headers, and a Location redirect', () => {
    expect(parseCgiHead('Status: 404 Not Found\r\nContent-Type: text/plain\r\n')).toEqual({
      status: 404,
      reason: 'Not Found',
      headers: [['Content-Type', 'text/plain']],
    });
    expect(parseCgiHead('Content-Type: x\nExpires: 0').status).toBe(200);
    expect(parseCgiHead('Location: /x').status).toBe(302);
    expect(() => parseCgiHead('garbage')).toThrow(/malformed/);
  });
});

describe('push-gate over http://', () => {
  it('accepts valid events, then more on top', async () => {
    const p = await push('refs/gatos/config', 'refs/gatos/trust/keys', ALICE);
    expect(p.status, p.out).toBe(0);
    expect(git(server, 'rev-parse', ALICE)).toBe(git(client, 'rev-parse', ALICE));
    expectOk(gatos(client, env, ['event', 'append', '--ns', 'lab', '--type', 'add', '--payload', '{"n":3}']));
    const q = await push(ALICE);
    expect(q.status, q.out).toBe(0);
    expect(git(server, 'rev-parse', ALICE)).toBe(git(client, 'rev-parse', ALICE));
  });

  it('refuses a non-fast-forward journal update with remote: GATOS DENY', async () => {
    const before = serverRefs();
    expectDenied(await push('--force', `${ALICE}~1:${ALICE}`), 'ff-only', before, ALICE);
  });

  it('refuses a forged event, and the plain branch riding along', async () => {
    const repo = await openRepository({ cwd: client });
    const objects = createObjectStore(repo);
    try {
      const refs = createRefStore(repo);
      const alice = (await readTrust(objects, refs)).keys.find((k) => k.actor === 'user:alice')!;
      const seed = Uint8Array.from(randomBytes(32));
      expect(keyId(keyPairFromSeed(seed).publicKey)).not.toBe(alice.key_id);
      await appendEvents(
        [
          {
            type: 'add',
            actor: 'user:alice',
            ulid: '01M8000000000000000000FXRG',
            ts: '2026-11-23T10:00:00.000Z',
            payload: { n: 9 },
            policy_root: '0'.repeat(64),
            sig_alg: 'ed25519',
          },
        ],
        {
          objects,
          refs,
          ns: 'lab',
          signer: { actor: 'user:alice', keyId: alice.key_id, sign: (ctx) => signEvent(seed, ctx) },
        },
      );
    } finally {
      await objects.close();
    }
    git(client, 'commit', '-q', '--allow-empty', '-m', 'rides along');
    const before = serverRefs();
    expectDenied(await push('--atomic', ALICE, 'HEAD:refs/heads/main'), 'event-signature', before, ALICE);
  });

  it('refuses a name no plane defines and a squat of the DENY chain, each recorded', async () => {
    const c = git(client, 'rev-parse', 'refs/gatos/config');
    for (const [ref, rule] of [
      ['refs/gatos/pointers/x', 'ref-unknown'],
      ['refs/gatos/audit/policy/deny/x', 'audit-reserved'],
    ] as const) {
      const before = serverRefs();
      expectDenied(await push(`${c}:${ref}`), rule, before, ref);
    }
  });

  it('serves only its repository, and stops cleanly', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(http.url);
      request({ host: u.hostname, port: u.port, path: '/other.git/info/refs', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    expect(status).toBe(404);
    expect(http.requests).toBeGreaterThan(5);
    await http.close();
    const err = await new Promise<string>((resolve) => {
      request({ host: '127.0.0.1', port: http.port, path: '/', agent: false }, () => resolve('connected'))
        .on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'))
        .end();
    });
    expect(err).toBe('ECONNREFUSED');
  });
});
