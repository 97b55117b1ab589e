import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectOk, gatos, git, repoWithHome, setup, snapshot, tmp } from './helpers.js';

describe('git gatos: setup and keys', () => {
  it('is found by git on PATH and teaches with --help', () => {
    const { repo, env } = repoWithHome();
    const r = gatos(repo, env, ['help']);
    expect(r.status).toBe(0);
    for (const c of ['init', 'key', 'event', 'log']) expect(r.stdout).toContain(c);
    const sub = gatos(repo, env, ['event', 'append', '-h']);
    expect(sub.status).toBe(0);
    expect(sub.stdout).toContain('--payload');
  });

  it('init writes a deterministic config commit, and is idempotent', () => {
    const a = repoWithHome();
    const b = repoWithHome();
    const ra = expectOk(gatos(a.repo, a.env, ['init', '--json'])).json;
    const rb = expectOk(gatos(b.repo, b.env, ['init', '--json'])).json;
    expect(ra.commit).toBe(rb.commit);
    expect(git(a.repo, 'rev-parse', 'refs/gatos/config')).toBe(ra.commit);
    expect(expectOk(gatos(a.repo, a.env, ['init', '--json'])).json.created).toBe(false);
    const clash = gatos(a.repo, a.env, ['init', '--profile', 'research', '--json']);
    expect(clash.status).toBe(5);
    expect(clash.json.error.code).toBe('GATOS_E_ALREADY_INITIALIZED');
  });

  it('key new keeps the private key 0600 outside the repo and publishes the public key', () => {
    const { repo, env } = setup('user:alice');
    const keysDir = join(env.GATOS_HOME!, 'keys');
    const files = readdirSync(keysDir);
    expect(files).toHaveLength(1);
    expect(statSync(join(keysDir, files[0]!)).mode & 0o777).toBe(0o600);
    expect(statSync(keysDir).mode & 0o777).toBe(0o700);
    const tree = git(repo, 'ls-tree', '-r', '--name-only', 'refs/gatos/trust/keys');
    expect(tree).toMatch(/^keys\/user\/alice\/ed25519%3A[0-9a-f]{32}\.json$/);
    // No private material anywhere in the repository's objects.
    const seed = JSON.parse(git(repo, 'show', `refs/gatos/trust/keys:${tree}`)).public_key;
    expect(seed).toMatch(/^[0-9a-f]{64}$/);
    const list = expectOk(gatos(repo, env, ['key', 'list', '--json'])).json;
    expect(list.local[0].registered).toBe(true);
    expect(JSON.stringify(list)).not.toContain('seed');
    const show = expectOk(gatos(repo, env, ['key', 'show', 'user:alice', '--json'])).json;
    expect(show.keys[0]).toMatchObject({ actor: 'user:alice', local: true, registered: true });
  });

  it('refuses a private key readable by others', () => {
    const { repo, env } = setup('user:alice');
    const keysDir = join(env.GATOS_HOME!, 'keys');
    const f = join(keysDir, readdirSync(keysDir)[0]!);
    chmodSync(f, 0o644);
    const r = gatos(repo, env, ['event', 'append', '--ns', 'demo', '--type', 'a.b', '--json']);
    expect(r.status).toBe(8);
    expect(r.json.error.code).toBe('GATOS_E_KEY_PERMISSIONS');
  });
});

describe('git gatos: events, log and verify', () => {
  it('appends signed events whose commits derive from the event alone', () => {
    const { repo, env } = setup('user:alice');
    const ts = '2026-11-23T10:00:00.000Z';
    const r = expectOk(
      gatos(repo, env, [
        'event',
        'append',
        '--ns',
        'demo',
        '--type',
        'note.created',
        '--payload',
        '{"text":"hi"}',
        '--ts',
        ts,
        '--json',
      ]),
    ).json;
    expect(r.ref).toBe('refs/gatos/journal/demo/user/alice');
    const commit = r.appended[0].commit;
    expect(git(repo, 'rev-parse', r.ref)).toBe(commit);
    expect(git(repo, 'log', '-1', '--format=%an <%ae> %at|%cn <%ce> %ct', commit)).toBe(
      'user:alice <user:alice> 1795428000|user:alice <user:alice> 1795428000',
    );
    const msg = git(repo, 'log', '-1', '--format=%B', commit);
    expect(msg).toContain(`Event-CID: ${r.appended[0].cid}`);
    expect(msg).toMatch(/Sig: ed25519:[A-Za-z0-9+/]{86}==/);
    expect(git(repo, 'ls-tree', '--name-only', commit)).toBe('event.cbor');
    // The stored blob is the canonical envelope; its CID is what `event cid` computes from the same JSON.
    const envelope = {
      type: 'note.created',
      ulid: r.appended[0].ulid,
      actor: 'user:alice',
      payload: { text: 'hi' },
      policy_root: '0'.repeat(64),
      sig_alg: 'ed25519',
      ts,
    };
    const cid = expectOk(gatos(repo, env, ['event', 'cid', '-', '--json'], JSON.stringify(envelope))).json;
    expect(cid.cid).toBe(r.appended[0].cid);
    expect(
      execFileSync('git', ['cat-file', 'blob', `${commit}:event.cbor`], { cwd: repo }).toString('hex'),
    ).toBe(cid.canonical_hex);
    expect(git(repo, 'fsck', '--strict', '--no-dangling')).toBe('');
  });

  it('logs in namespace order and pages with cursors that never skip or repeat', () => {
    const { repo, env } = setup('user:alice');
    expectOk(gatos(repo, env, ['key', 'new', '--actor', 'user:bob']));
    const lines = (actor: string, n: number, offset: number) =>
      Array.from({ length: n }, (_, i) =>
        JSON.stringify({
          type: 'tick',
          payload: { actor, i },
          ts: `2026-01-01T00:00:${String(offset + 2 * i).padStart(2, '0')}.000Z`,
        }),
      ).join('\n');
    const fa = join(tmp(), 'a.jsonl');
    const fb = join(tmp(), 'b.jsonl');
    writeFileSync(fa, lines('alice', 7, 0));
    writeFileSync(fb, lines('bob', 6, 1));
    expectOk(gatos(repo, env, ['event', 'append', '--ns', 'demo', '--actor', 'user:alice', '--batch', fa]));
    expectOk(gatos(repo, env, ['event', 'append', '--ns', 'demo', '--actor', 'user:bob', '--batch', fb]));
    const all = expectOk(gatos(repo, env, ['log', 'demo', '--limit', '0', '--json'])).json.events;
    expect(all.map((e: any) => e.ts)).toEqual([...all.map((e: any) => e.ts)].sort());
    expect(all).toHaveLength(13);
    // Page by 4 while a new event lands between pages: every event exactly once.
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const r = expectOk(
        gatos(repo, env, ['log', 'demo', '--limit', '4', '--json', ...(cursor ? ['--after', cursor] : [])]),
      ).json;
      seen.push(...r.events.map((e: any) => e.ulid));
      cursor = r.next;
      if (page === 1) {
        expectOk(
          gatos(repo, env, [
            'event',
            'append',
            '--ns',
            'demo',
            '--actor',
            'user:bob',
            '--type',
            'late',
            '--ts',
            '2025-01-01T00:00:00.000Z',
          ]),
        );
      }
      if (!r.has_more) break;
    }
    expect(seen).toHaveLength(14);
    expect(new Set(seen).size).toBe(14);
    const bad = gatos(repo, env, ['log', 'demo', '--after', 'c1.garbage', '--json']);
    expect(bad.status).toBe(3);
    expect(bad.json.error.code).toBe('GATOS_E_CURSOR');
  });

  it('verify passes a good journal and names the commit of a forged one', () => {
    const { repo, env } = setup('user:alice');
    for (let i = 0; i < 3; i++) {
      expectOk(
        gatos(repo, env, ['event', 'append', '--ns', 'demo', '--type', 'n', '--payload', `{"i":${i}}`]),
      );
    }
    const ok = expectOk(gatos(repo, env, ['event', 'verify', 'demo', '--json'])).json;
    expect(ok).toMatchObject({ ok: true, events: 3 });
    // Rewrite the last commit with plain git: same tree, different message (signature of another event).
    const ref = 'refs/gatos/journal/demo/user/alice';
    const head = git(repo, 'rev-parse', ref);
    const parent = git(repo, 'rev-parse', `${ref}~1`);
    const forged = git(
      repo,
      'commit-tree',
      `${head}^{tree}`,
      '-p',
      parent,
      '-m',
      git(repo, 'log', '-1', '--format=%B', parent),
    );
    git(repo, 'update-ref', ref, forged);
    const bad = gatos(repo, env, ['event', 'verify', 'demo', '--json']);
    expect(bad.status).toBe(6);
    expect(bad.json.ok).toBe(false);
    const problems = bad.json.journals[0].problems;
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((p: any) => p.commit === forged && p.index === 2)).toBe(true);
  });

  it('an explicit --ulid is an idempotency key', () => {
    const { repo, env } = setup('user:alice');
    const args = [
      'event',
      'append',
      '--ns',
      'demo',
      '--type',
      'pay',
      '--ulid',
      '01JD0000000000000000000000',
      '--json',
    ];
    expect(expectOk(gatos(repo, env, args)).json.appended).toHaveLength(1);
    const again = expectOk(gatos(repo, env, args)).json;
    expect(again.appended).toHaveLength(0);
    expect(again.duplicates).toEqual(['01JD0000000000000000000000']);
    expect(git(repo, 'rev-list', '--count', 'refs/gatos/journal/demo/user/alice')).toBe('1');
  });

  it('event cid matches the conformance vectors', () => {
    const { repo, env } = repoWithHome();
    const vectors = JSON.parse(
      readFileSync(join(import.meta.dirname, '../../../conformance/envelope/valid.json'), 'utf8'),
    );
    const list = Array.isArray(vectors) ? vectors : vectors.vectors;
    for (const v of list.slice(0, 3)) {
      const r = expectOk(gatos(repo, env, ['event', 'cid', '-', '--json'], JSON.stringify(v.envelope))).json;
      expect(r.cid).toBe(v.cid);
      expect(r.canonical_hex).toBe(v.canonical_hex);
    }
  });
});

describe('git gatos: bad input gets its code and changes nothing', () => {
  const cases: [string, string[], string, number][] = [
    ['bad JSON payload', ['--type', 'a', '--payload', '{nope'], 'GATOS_E_INPUT_JSON', 3],
    ['float in payload', ['--type', 'a', '--payload', '{"x":1.5}'], 'GATOS_E_PAYLOAD_FLOAT', 3],
    [
      'unsafe integer',
      ['--type', 'a', '--payload', '{"x":9007199254740993}'],
      'GATOS_E_PAYLOAD_UNSAFE_INT',
      3,
    ],
    ['bad type', ['--type', 'Bad Type'], 'GATOS_E_ENVELOPE_TYPE', 3],
    ['bad ulid', ['--type', 'a', '--ulid', 'not-a-ulid'], 'GATOS_E_ENVELOPE_ULID', 3],
    ['bad timestamp', ['--type', 'a', '--ts', '2026-02-30T00:00:00.000Z'], 'GATOS_E_ENVELOPE_TS', 3],
    ['bad caps', ['--type', 'a', '--caps', 'Not A Cap'], 'GATOS_E_ENVELOPE_CAPS', 3],
    ['bad policy root', ['--type', 'a', '--policy-root', 'xyz'], 'GATOS_E_ENVELOPE_POLICY_ROOT', 3],
    ['bad namespace', ['--type', 'a', '--ns', 'Bad/NS'], 'GATOS_E_NAMESPACE', 3],
    ['unknown actor', ['--type', 'a', '--actor', 'user:mallory'], 'GATOS_E_KEY_NOT_FOUND', 4],
    ['malformed actor', ['--type', 'a', '--actor', 'robot:x'], 'GATOS_E_ENVELOPE_ACTOR', 3],
    ['missing file', ['--type', 'a', '--payload', '@/nonexistent/x.json'], 'GATOS_E_INPUT_FILE', 8],
    ['unknown option', ['--type', 'a', '--frobnicate'], 'GATOS_E_USAGE', 2],
  ];
  it.each(cases)('%s', (_name, extra, code, status) => {
    const { repo, env } = setup('user:alice');
    expectOk(gatos(repo, env, ['event', 'append', '--ns', 'demo', '--type', 'seed']));
    const before = snapshot(repo);
    const args = ['event', 'append', '--ns', 'demo', ...extra, '--json'];
    const ns = extra.indexOf('--ns');
    if (ns >= 0) args.splice(2, 2);
    const r = gatos(repo, env, args);
    expect(r.json?.error?.code, r.stdout + r.stderr).toBe(code);
    expect(r.status).toBe(status);
    expect(snapshot(repo)).toEqual(before);
  });

  it('oversize envelope is refused with its code', () => {
    const { repo, env } = setup('user:alice');
    const before = snapshot(repo);
    const big = join(tmp(), 'big.json');
    writeFileSync(big, JSON.stringify({ blob: 'x'.repeat(1_100_000) }));
    const r = gatos(repo, env, [
      'event',
      'append',
      '--ns',
      'demo',
      '--type',
      'a',
      '--payload',
      `@${big}`,
      '--json',
    ]);
    expect(r.json.error.code).toBe('GATOS_E_PAYLOAD_TOO_LARGE');
    expect(r.status).toBe(9);
    expect(snapshot(repo)).toEqual(before);
  });

  it('outside a repository and before init, errors say what to do', () => {
    const { env } = repoWithHome();
    const r = gatos(tmp(), env, ['log', 'demo', '--json']);
    expect(r.json.error.code).toBe('GATOS_E_NOT_A_REPO');
    const fresh = repoWithHome();
    const r2 = gatos(fresh.repo, fresh.env, ['event', 'append', '--ns', 'demo', '--type', 'a']);
    expect(r2.status).toBe(4);
    expect(r2.stderr).toContain('GATOS_E_NOT_INITIALIZED');
    expect(r2.stderr).toContain('hint: Run `git gatos init`');
  });
});
