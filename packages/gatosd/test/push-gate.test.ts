/**
 * The push-gate end to end: a bare repository guarded by the hook installed through the CLI, real `git push`
 * over file:// from a clone. Every refusal must leave a DENY record naming the rule, print its id to the pusher,
 * and change no other ref of the server.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  appendEvents,
  blobObject,
  commitObject,
  encodeRefComponent,
  formatSignature,
  popInput,
  SYSTEM_IDENT,
  TRUST_KEYS_REF,
  treeFromFiles,
  checkpointCommit,
  eventCommitObjects,
  journalRef,
  keyId,
  keyPairFromSeed,
  readCheckpoint,
  readJournal,
  readTrust,
  sign,
  signEvent,
  signProofOfFold,
  stateRef,
} from '@gatos/core';
import { createObjectStore, createRefStore, openRepository } from '@gatos/git';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectOk, gatos, git, tmp } from '../../git-gatos/test/helpers.js';

const DENY_REF = 'refs/gatos/audit/policy/deny';
const LEDGER = join(import.meta.dirname, '../../git-gatos/test/fixtures/ledger.lua');
const ALICE = journalRef('lab', 'user:alice');

let server: string;
let client: string;
let env: NodeJS.ProcessEnv;

interface Push {
  status: number;
  out: string;
}

function push(cwd: string, ...args: string[]): Push {
  const r = spawnSync('git', ['push', '--porcelain', 'origin', ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...env, LC_ALL: 'C' },
  });
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

function pushAsync(cwd: string, ...args: string[]): Promise<Push> {
  return new Promise((resolve) => {
    const child = spawn('git', ['push', '--porcelain', 'origin', ...args], {
      cwd,
      env: { ...env, LC_ALL: 'C' },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ status: code ?? -1, out }));
  });
}

/** Every ref of the server except the deny chain. */
function serverRefs(): string {
  return git(server, 'for-each-ref', '--format=%(objectname) %(refname)')
    .split('\n')
    .filter((l) => !l.endsWith(` ${DENY_REF}`))
    .join('\n');
}

function auditLog(): any {
  return expectOk(gatos(server, env, ['audit', 'log', '--json'])).json;
}

/** Asserts a refused push: output names a DENY id, the record names the rule, nothing else moved. */
function expectDenied(p: Push, rule: string, before: string, ref?: string): string {
  expect(p.status, p.out).not.toBe(0);
  const m = new RegExp(`GATOS DENY (\\w{26}): (\\S+) rule ${rule}:`).exec(p.out);
  expect(m, p.out).not.toBeNull();
  const id = m![1]!;
  if (ref) expect(m![2]).toBe(ref);
  expect(serverRefs()).toBe(before);
  const log = auditLog();
  expect(log.chain_ok).toBe(true);
  const rec = log.records.find((r: any) => r.id === id);
  expect(rec, `no DENY record ${id}`).toBeDefined();
  expect(rec.denials.map((d: any) => d.rule)).toContain(rule);
  expect(rec.push_digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  return id;
}

async function clientStores() {
  const repo = await openRepository({ cwd: client });
  return { objects: createObjectStore(repo), refs: createRefStore(repo) };
}

function strangerKey() {
  const seed = Uint8Array.from(randomBytes(32));
  const pk = keyPairFromSeed(seed).publicKey;
  return { seed, keyId: keyId(pk) };
}

beforeAll(() => {
  const root = tmp('gatos-gate-');
  server = join(root, 'srv.git');
  git(root, 'init', '-q', '--bare', server);
  env = { ...process.env, GATOS_HOME: join(root, 'home'), GATOS_ACTOR: '' };
  const inst = expectOk(gatos(root, env, ['hook', 'install', server, '--json'])).json;
  expect(inst.action).toBe('installed');
  client = join(root, 'client');
  git(root, 'clone', '-q', server, client);
  git(client, 'config', 'user.email', 't@example.org');
  git(client, 'config', 'user.name', 'T');
  expectOk(gatos(client, env, ['init']));
  expectOk(gatos(client, env, ['key', 'new', '--actor', 'user:alice']));
  for (const n of [1, 2]) {
    expectOk(
      gatos(client, env, ['event', 'append', '--ns', 'lab', '--type', 'add', '--payload', `{"n":${n}}`]),
    );
  }
});

describe('push-gate', () => {
  it('installs only over its own hook unless --force', () => {
    const hook = join(server, 'hooks', 'pre-receive');
    expect(readFileSync(hook, 'utf8')).toContain('gatos-pre-receive');
    expect(expectOk(gatos(server, env, ['hook', 'install', '.', '--json'])).json.action).toBe('unchanged');
    const other = tmp('gatos-foreign-');
    git(other, 'init', '-q', '--bare');
    writeFileSync(join(other, 'hooks', 'pre-receive'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const r = gatos(other, env, ['hook', 'install', other, '--json']);
    expect(r.status).toBe(5);
    expect(r.json.error.code).toBe('GATOS_E_HOOK_EXISTS');
    expect(expectOk(gatos(other, env, ['hook', 'install', other, '--force', '--json'])).json.action).toBe(
      'replaced',
    );
  });

  it('accepts a valid push of journal events with the trust registry, and plain branches', () => {
    const p = push(client, 'refs/gatos/config', 'refs/gatos/trust/keys', ALICE);
    expect(p.status, p.out).toBe(0);
    expect(git(server, 'rev-parse', ALICE)).toBe(git(client, 'rev-parse', ALICE));
    // More events on top: fast-forward.
    expectOk(gatos(client, env, ['event', 'append', '--ns', 'lab', '--type', 'add', '--payload', '{"n":3}']));
    expect(push(client, ALICE).status).toBe(0);
    git(client, 'commit', '-q', '--allow-empty', '-m', 'plain');
    const b = push(client, 'HEAD:refs/heads/main');
    expect(b.status, b.out).toBe(0);
    git(client, 'commit', '-q', '--allow-empty', '--amend', '-m', 'rewritten');
    expect(push(client, '--force', 'HEAD:refs/heads/main').status).toBe(0);
    expect(existsSync(join(server, 'refs', 'gatos', 'audit'))).toBe(false);
    expect(auditLog().total).toBe(0);
  });

  it('refuses a non-fast-forward journal update and a deletion, even with --force', () => {
    const before = serverRefs();
    expectDenied(push(client, '--force', `${ALICE}~1:${ALICE}`), 'ff-only', before, ALICE);
    expectDenied(push(client, '--force', `:${ALICE}`), 'no-delete', before, ALICE);
    expectDenied(push(client, '--force', `${ALICE}:${DENY_REF}`), 'audit-reserved', before, DENY_REF);
  });

  it('refuses an event with a forged signature, and the whole push with it', async () => {
    const { objects, refs } = await clientStores();
    try {
      const trust = await readTrust(objects, refs);
      const alice = trust.keys.find((k) => k.actor === 'user:alice')!;
      const stranger = strangerKey();
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
          signer: { actor: 'user:alice', keyId: alice.key_id, sign: (ctx) => signEvent(stranger.seed, ctx) },
        },
      );
    } finally {
      await objects.close();
    }
    const before = serverRefs();
    git(client, 'commit', '-q', '--allow-empty', '-m', 'rides along');
    const p = push(client, '--atomic', ALICE, 'HEAD:refs/heads/main');
    expectDenied(p, 'event-signature', before, ALICE);
    git(client, 'update-ref', ALICE, git(server, 'rev-parse', ALICE));
  });

  it('refuses an event replayed from another journal', async () => {
    const { objects } = await clientStores();
    let copy: string;
    try {
      const [first] = await readJournal(objects, ALICE, git(client, 'rev-parse', ALICE));
      // Same blob, trailers and position (first event), but in alice's journal of namespace `other`.
      const objs = eventCommitObjects({
        envelope: first!.envelope,
        bytes: first!.bytes,
        cid: first!.cid,
        sig: first!.sig,
        keyId: first!.keyId,
        parent: null,
      });
      await objects.put([objs.blob, objs.tree, objs.commit]);
      copy = objs.commit.oid;
    } finally {
      await objects.close();
    }
    const other = journalRef('other', 'user:alice');
    const before = serverRefs();
    expectDenied(push(client, `${copy}:${other}`), 'event-signature', before, other);
  });

  it('refuses a trust registry entry whose proof of possession fails', async () => {
    const { objects, refs } = await clientStores();
    let bad: string;
    try {
      const trust = await readTrust(objects, refs);
      const stranger = strangerKey();
      const pk = keyPairFromSeed(stranger.seed).publicKey;
      const entry = {
        actor: 'user:mallory',
        alg: 'ed25519',
        key_id: stranger.keyId,
        public_key: Buffer.from(pk).toString('hex'),
        // A proof of possession made for another actor.
        pop: formatSignature(sign(stranger.seed, popInput('user:alice', pk))),
      };
      const blob = blobObject(`${JSON.stringify(entry, null, 2)}\n`);
      const existing = git(client, 'ls-tree', '-r', TRUST_KEYS_REF)
        .split('\n')
        .map((l) => ({ path: l.split('\t')[1]!, oid: l.split(' ')[2]!.split('\t')[0]! }));
      const path = `keys/user/mallory/${encodeRefComponent(stranger.keyId)}.json`;
      const { root, trees } = treeFromFiles([...existing, { path, oid: blob.oid }]);
      const commit = commitObject({
        tree: root,
        parents: [trust.head!],
        author: SYSTEM_IDENT,
        committer: SYSTEM_IDENT,
        message: 'register mallory\n',
      });
      await objects.put([blob, ...trees, commit]);
      bad = commit.oid;
    } finally {
      await objects.close();
    }
    const before = serverRefs();
    expectDenied(push(client, `${bad}:${TRUST_KEYS_REF}`), 'trust-key', before, TRUST_KEYS_REF);
  });

  it('refuses a state checkpoint with a forged or absent proof, accepts a valid one', async () => {
    expectOk(gatos(client, env, ['fold', 'lab', '--fold', LEDGER, '--actor', 'user:alice']));
    const ref = stateRef('lab');
    const valid = git(client, 'rev-parse', ref);
    const { objects } = await clientStores();
    let forged: string;
    try {
      const cp = await readCheckpoint(objects, valid);
      const stranger = strangerKey();
      const envelope = signProofOfFold(cp.statement, {
        keyId: stranger.keyId,
        sign: (msg) => sign(stranger.seed, msg),
      });
      const c = checkpointCommit({ envelope, state: cp.state, foldSource: cp.foldSource });
      await objects.put(c.objects);
      forged = c.commit.oid;
    } finally {
      await objects.close();
    }
    const before = serverRefs();
    expectDenied(push(client, `${forged}:${ref}`), 'state-proof', before, ref);

    const tree = git(client, 'ls-tree', `${valid}^{tree}`)
      .split('\n')
      .filter((l) => !l.endsWith('\tproof.dsse.json'))
      .join('\n');
    const noProofTree = spawnSync('git', ['mktree'], {
      cwd: client,
      input: `${tree}\n`,
      encoding: 'utf8',
    }).stdout.trim();
    const msg = git(client, 'log', '-1', '--format=%B', valid);
    const noProof = spawnSync('git', ['commit-tree', noProofTree], {
      cwd: client,
      input: msg,
      encoding: 'utf8',
      env,
    }).stdout.trim();
    expectDenied(push(client, `${noProof}:${ref}`), 'state-proof', before, ref);

    const ok = push(client, ref);
    expect(ok.status, ok.out).toBe(0);
    expect(git(server, 'rev-parse', ref)).toBe(valid);
  });

  it('keeps a linear audit chain under concurrent refused pushes', async () => {
    const before = serverRefs();
    const n0 = auditLog().total;
    const [a, b] = await Promise.all([
      pushAsync(client, '--force', `${ALICE}~1:${ALICE}`),
      pushAsync(client, '--force', `:${ALICE}`),
    ]);
    const ids = [expectDenied(a, 'ff-only', before), expectDenied(b, 'no-delete', before)];
    const log = auditLog();
    expect(log.chain_ok).toBe(true);
    expect(log.total).toBe(n0 + 2);
    expect(log.records.map((r: any) => r.seq)).toEqual(
      Array.from({ length: log.total }, (_, i) => log.total - i),
    );
    expect(new Set(log.records.slice(0, 2).map((r: any) => r.id))).toEqual(new Set(ids));
    expect(git(server, 'rev-list', '--count', '--merges', DENY_REF)).toBe('0');
    const shown = expectOk(gatos(server, env, ['audit', 'show', ids[0]!]));
    expect(shown.stdout).toContain('broke rule ff-only');
  });
});
