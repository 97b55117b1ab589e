/**
 * One rule for every ref under `refs/gatos/` (`spec/push-gate.md` § 2.6), through real pushes to a gated bare
 * repository: names no plane defines are refused (`ref-unknown`); the config, governance and bus refs are guarded
 * (no deletion, fast-forward only, every new commit a record of its plane); the honest path of each is accepted.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  actorRefPath,
  appendGovEvents,
  approvalRef,
  blobObject,
  commitObject,
  createEnvelope,
  encodeRefComponent,
  GOV_EVENT,
  keyPairFromSeed,
  proposalRef,
  readProposal,
  SYSTEM_IDENT,
  sign,
  signEvent,
  TRUST_KEYS_REF,
  treeFromFiles,
  trustedKeyEntry,
} from '@gatos/core';
import { provenKeysPath, trustSnapshotPath } from '@gatos/gatosd/gate';
import { keySeed, listKeyFiles } from '@gatos/gatosd/identity';
import { createObjectStore, createRefStore, openRepository } from '@gatos/git';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectOk, gatos, git, tmp } from '../../git-gatos/test/helpers.js';
import { gatedRepo } from './support/gated-repo.js';

let server: string;
let client: string;
let env: NodeJS.ProcessEnv;
let push: ReturnType<typeof gatedRepo>['push'];
let serverRefs: () => string;
let records: () => any[];

/** A refused push: the rule is named for `ref`, a DENY record says so, nothing else moved. */
function expectRefused(args: string[], rule: string, ref: string): void {
  const before = serverRefs();
  const n = records().length;
  const p = push(...args);
  expect(p.status, p.out).not.toBe(0);
  expect(p.out, p.out).toMatch(
    new RegExp(`GATOS DENY \\w{26}: ${ref.replace(/[/.]/g, '\\$&')} rule ${rule}:`),
  );
  expect(serverRefs()).toBe(before);
  expect(records()).toHaveLength(n + 1);
}

function expectAccepted(...args: string[]): void {
  const p = push(...args);
  expect(p.status, p.out).toBe(0);
}

/** A commit on top of `parent` (or a root) whose tree holds `files`. */
function commitWith(files: Record<string, string>, parent?: string): string {
  const lines = Object.entries(files).map(([name, body]) => {
    const blob = spawnSync('git', ['hash-object', '-w', '--stdin'], {
      cwd: client,
      input: body,
      encoding: 'utf8',
    });
    return `100644 blob ${blob.stdout.trim()}\t${name}`;
  });
  const tree = spawnSync('git', ['mktree'], {
    cwd: client,
    input: `${lines.join('\n')}\n`,
    encoding: 'utf8',
  });
  return git(client, 'commit-tree', tree.stdout.trim(), ...(parent ? ['-p', parent] : []), '-m', 'forged');
}

beforeAll(() => {
  ({ server, client, env, push, serverRefs, records } = gatedRepo('gatos-gate-planes-'));
  expectOk(gatos(client, env, ['init']));
  for (const a of ['user:alice', 'user:bob']) expectOk(gatos(client, env, ['key', 'new', '--actor', a]));
  expectAccepted('refs/gatos/config', 'refs/gatos/trust/keys');
});

describe('the gate proves each trust entry once', () => {
  it('records the entries it proved server-side, so later pushes cost what they change', () => {
    const cache = readFileSync(provenKeysPath(server), 'utf8').trim().split('\n');
    const entries = git(server, 'ls-tree', '-r', '--format=%(objectname)', 'refs/gatos/trust/keys').split(
      '\n',
    );
    expect(cache.sort()).toEqual(entries.sort());
    expect(entries).toHaveLength(2);
    // The registry read in full, kept by its commit: the next push does not read its entries again.
    const snapshot = JSON.parse(readFileSync(trustSnapshotPath(server), 'utf8'));
    expect(snapshot.head).toBe(git(server, 'rev-parse', 'refs/gatos/trust/keys'));
    expect(snapshot.keys.map((k: { actor: string }) => k.actor).sort()).toEqual(['user:alice', 'user:bob']);
  });
});

describe('one rule for every ref under refs/gatos/', () => {
  it('refuses names no plane defines (pointers, exports, other trust refs, anything new): ref-unknown', () => {
    const c = commitWith({ 'x.txt': 'squat\n' });
    for (const ref of [
      'refs/gatos/pointers/x',
      'refs/gatos/exports/x',
      'refs/gatos/experiments/x',
      'refs/gatos/trust/other',
      'refs/gatos/config/x',
      'refs/gatos/anything-new',
      'refs/gatos/mbus/t/not-a-segment',
      'refs/gatos/proposals/not-a-ulid',
    ]) {
      expectRefused([`${c}:${ref}`], 'ref-unknown', ref);
    }
  });

  it('config: no deletion, fast-forward only, and the new value must be a readable profile', () => {
    const cfg = git(client, 'rev-parse', 'refs/gatos/config');
    expectRefused(['--delete', 'refs/gatos/config'], 'no-delete', 'refs/gatos/config');
    expectRefused(
      ['--force', `${commitWith({ 'config.json': '{}' })}:refs/gatos/config`],
      'ff-only',
      'refs/gatos/config',
    );
    expectRefused(
      [`${commitWith({ 'config.json': 'not json' }, cfg)}:refs/gatos/config`],
      'config-invalid',
      'refs/gatos/config',
    );
    expect(git(server, 'rev-parse', 'refs/gatos/config')).toBe(cfg);
  });

  it('governance: honest proposals and approvals pass; a forged or foreign-signed event is refused', async () => {
    const rgs = (v: number) =>
      `policy "lab" version ${v}\ngroup maintainers = ["user:alice", "user:bob"]\n` +
      `rule "gov" allow when ref == "refs/gatos/policies/active" and approvals(group maintainers) >= 2 because "two approve"\n` +
      `rule "write" allow when ref matches "refs/gatos/journal/**" because "open"\n`;
    const dir = tmp('gatos-gate-planes-rgs-');
    writeFileSync(join(dir, 'v1.rgs'), rgs(1));
    writeFileSync(join(dir, 'v2.rgs'), rgs(2));
    expectOk(gatos(client, env, ['policy', 'activate', '--bootstrap', join(dir, 'v1.rgs')]));
    expectAccepted('--atomic', 'refs/gatos/policies/active', 'refs/gatos/policies/bundles/1');
    const id = expectOk(
      gatos(client, env, ['propose', '--bundle', join(dir, 'v2.rgs'), '--actor', 'user:alice', '--json']),
    ).json.proposal as string;
    expectOk(gatos(client, env, ['approve', id, '--actor', 'user:alice']));
    const proposal = proposalRef(id);
    const alicesApproval = approvalRef(id, 'user:alice');
    expectAccepted(proposal, alicesApproval);

    // bob signs an approval and puts it on alice's approval chain.
    const keys = await listKeyFiles(env);
    const bob = keys.find((k) => k.actor === 'user:bob')!;
    const seed = keySeed(bob);
    const repo = await openRepository({ cwd: client });
    const objects = createObjectStore(repo);
    const local = createRefStore(repo);
    try {
      const p = await readProposal(objects, local, id);
      const envelope = createEnvelope({
        type: GOV_EVENT.approve,
        actor: 'user:bob',
        ulid: '01M9000000000000000000APPX',
        ts: '2026-12-06T10:00:00.000Z',
        payload: {
          proposal: id,
          proposal_commit: p.propose.commit,
          version: 2,
          policy_code_root: p.payload.policy_code_root,
        },
        policy_root: p.payload.policy_code_root,
      });
      await appendGovEvents([envelope], {
        objects,
        refs: local,
        ref: alicesApproval,
        signer: { actor: 'user:bob', keyId: bob.key_id, sign: (c) => signEvent(seed, c) },
      });
    } finally {
      await objects.close();
    }
    expectRefused([alicesApproval], 'governance-event', alicesApproval);
    git(client, 'update-ref', alicesApproval, git(server, 'rev-parse', alicesApproval));
    // A commit that is no governance event at all, on the proposal chain.
    const junk = commitWith({ 'event.cbor': 'junk' }, git(client, 'rev-parse', proposal));
    expectRefused([`${junk}:${proposal}`], 'governance-event', proposal);
    // bob's own approval, on his own chain, passes.
    expectOk(gatos(client, env, ['approve', id, '--actor', 'user:bob']));
    expectAccepted(approvalRef(id, 'user:bob'));
  });

  it('bus: signed messages pass, a forged message is refused, and a segment is deleted only once pruned', () => {
    const at = (iso: string) => ({ ...env, GATOS_NOW: iso, GATOS_ACTOR: 'user:alice' });
    const publish = (iso: string, data: string) =>
      expectOk(gatos(client, at(iso), ['bus', 'publish', '--topic', 't', '--data', data, '--json'])).json;
    const first = publish('2026-01-01T00:00:00.000Z', '1');
    const seg = first.published[0].ref as string;
    expectAccepted(seg);
    // A commit that is not a signed message of this segment.
    expectRefused(
      [`${commitWith({ 'event.cbor': 'x' }, git(client, 'rev-parse', seg))}:${seg}`],
      'bus-record',
      seg,
    );
    // Deleting an honest segment without a pruned summary of it.
    expectRefused(['--delete', seg], 'no-delete', seg);
    // A summary chain holding another topic's summary.
    expect(publish('2026-03-01T00:00:00.000Z', '2').sealed).toHaveLength(1);
    const summaries = 'refs/gatos/mbus-summary/t';
    const sealed = git(client, 'rev-parse', summaries);
    const otherTopic = git(client, 'cat-file', 'blob', `${sealed}:summary.json`).replace(
      '"topic":"t"',
      '"topic":"u"',
    );
    expectRefused(
      [`${commitWith({ 'summary.json': otherTopic }, sealed)}:${summaries}`],
      'bus-record',
      summaries,
    );
    // The honest path: rotate, prune the old segment, push the pruned summary with the deletion.
    const next = git(client, 'for-each-ref', '--format=%(refname)', 'refs/gatos/mbus/t/2026/03/');
    expectAccepted('--atomic', summaries, next);
    expectOk(
      gatos(client, at('2026-03-02T00:00:00.000Z'), ['bus', 'prune', '--topic', 't', '--ttl-days', '30']),
    );
    expect(spawnSync('git', ['rev-parse', '-q', '--verify', seg], { cwd: client }).status).not.toBe(0);
    expectAccepted('--atomic', summaries, `:${seg}`);
    expect(spawnSync('git', ['rev-parse', '-q', '--verify', seg], { cwd: server }).status).not.toBe(0);
  });

  it("refuses a journal event dated further ahead than the server's skew (event-future); the server sets the skew", () => {
    const ref = 'refs/gatos/journal/fresh/user/alice';
    const ahead = new Date(Date.now() + 3600_000).toISOString();
    expectOk(
      gatos(client, env, [
        'event',
        'append',
        '--ns',
        'fresh',
        '--actor',
        'user:alice',
        '--type',
        'note.x',
        '--ts',
        ahead,
      ]),
    );
    expectRefused([ref], 'event-future', ref);
    // A malformed server setting fails closed: the push is refused.
    git(server, 'config', 'gatos.gate.maxFutureSkewSeconds', 'soon');
    const broken = push(ref);
    expect(broken.status, broken.out).not.toBe(0);
    expect(broken.out).toContain('gatos.gate.maxFutureSkewSeconds must be whole seconds');
    // The server allows two hours: the same event passes.
    git(server, 'config', 'gatos.gate.maxFutureSkewSeconds', '7200');
    expectAccepted(ref);
  });

  it('actors keep their names: no further key for a registered actor, no removed entry; a new actor enrols', async () => {
    const repo = await openRepository({ cwd: client });
    const objects = createObjectStore(repo);
    try {
      const head = git(client, 'rev-parse', TRUST_KEYS_REF);
      const files = git(client, 'ls-tree', '-r', TRUST_KEYS_REF)
        .split('\n')
        .map((l) => ({ path: l.split('\t')[1]!, oid: l.split(' ')[2]!.split('\t')[0]! }));
      const commitOf = async (fs: { path: string; oid: string }[], message: string) => {
        const { root, trees } = treeFromFiles(fs);
        const c = commitObject({
          tree: root,
          parents: [head],
          author: SYSTEM_IDENT,
          committer: SYSTEM_IDENT,
          message,
        });
        await objects.put([...trees, c]);
        return c.oid;
      };
      const entryFor = async (actor: string) => {
        const seed = Uint8Array.from(randomBytes(32));
        const e = trustedKeyEntry(actor, keyPairFromSeed(seed).publicKey, (m) => sign(seed, m));
        const blob = blobObject(`${JSON.stringify(e, null, 2)}\n`);
        await objects.put([blob]);
        return { path: `keys/${actorRefPath(actor)}/${encodeRefComponent(e.key_id)}.json`, oid: blob.oid };
      };
      // An attacker registers a key of their own under alice's name.
      const second = await commitOf([...files, await entryFor('user:alice')], 'a second key for alice\n');
      expectRefused([`${second}:${TRUST_KEYS_REF}`], 'trust-owner', TRUST_KEYS_REF);
      // ... or removes bob's key, so his history no longer verifies.
      const without = await commitOf(
        files.filter((f) => !f.path.includes('/user/bob/')),
        'drop bob\n',
      );
      expectRefused([`${without}:${TRUST_KEYS_REF}`], 'trust-key', TRUST_KEYS_REF);
      // A new actor enrols.
      const carol = await commitOf([...files, await entryFor('user:carol')], 'carol\n');
      expectAccepted(`${carol}:${TRUST_KEYS_REF}`);
    } finally {
      await objects.close();
    }
  });
});
