/**
 * Governance end to end: a bare repository guarded by the push-gate, policies bootstrapped, changed by
 * propose → approve → grant with quorum, enforced on journal events; real `git push` over file://.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  activationCommit,
  appendGovEvents,
  approvalRef,
  bundleCommit,
  createEnvelope,
  GOV_EVENT,
  grantRef,
  keyPairFromSeed,
  POLICY_ACTIVE_REF,
  readActivePolicy,
  readProposal,
  readTrust,
  blobObject,
  commitObject,
  encodeRefComponent,
  SYSTEM_IDENT,
  TRUST_KEYS_REF,
  treeFromFiles,
  sign,
  signEvent,
  trustedKeyEntry,
} from '@gatos/core';
import { createObjectStore, createRefStore, openRepository } from '@gatos/git';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectOk, gatos, git, tmp } from '../../git-gatos/test/helpers.js';

const DENY_REF = 'refs/gatos/audit/policy/deny';
const policy = (version: number, cap: string) => `policy "lab" version ${version}
group maintainers = ["user:alice", "user:bob", "user:carol", "user:dave"]
rule "gov" allow when ref == "refs/gatos/policies/active" and approvals(group maintainers) >= 2 because "two maintainers approve policy changes"
rule "need-cap" deny when ref matches "refs/gatos/journal/**" and not "${cap}" in caps because "journal writes need ${cap}"
rule "write" allow when ref matches "refs/gatos/journal/lab/**" because "lab is open to holders of ${cap}"
`;

let root: string;
let server: string;
let client: string;
let env: NodeJS.ProcessEnv;

function push(...args: string[]) {
  const r = spawnSync('git', ['push', '--porcelain', 'origin', ...args], {
    cwd: client,
    encoding: 'utf8',
    env: { ...env, LC_ALL: 'C' },
  });
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}
const serverRefs = () =>
  git(server, 'for-each-ref', '--format=%(objectname) %(refname)')
    .split('\n')
    .filter((l) => !l.endsWith(` ${DENY_REF}`))
    .join('\n');

function expectDenied(p: { status: number; out: string }, rule: string, before: string): void {
  expect(p.status, p.out).not.toBe(0);
  expect(p.out).toMatch(new RegExp(`GATOS DENY \\w{26}: \\S+ rule ${rule}:`));
  expect(serverRefs()).toBe(before);
  const log = expectOk(gatos(server, env, ['audit', 'log', '--json'])).json;
  expect(log.chain_ok).toBe(true);
  expect(log.records[0].denials.map((d: any) => d.rule)).toContain(rule);
}

const append = (caps: string[]) =>
  expectOk(
    gatos(client, env, [
      'event',
      'append',
      '--ns',
      'lab',
      '--type',
      'add',
      '--payload',
      '{"n":1}',
      '--actor',
      'user:alice',
      ...(caps.length ? ['--caps', ...caps] : []),
    ]),
  );
const ALICE = 'refs/gatos/journal/lab/user/alice';
const check = () => gatos(client, env, ['policy', 'check', '--remote', server, '--json']);

function seedOf(actor: string): Uint8Array {
  const dir = join(env.GATOS_HOME!, 'keys');
  for (const f of readdirSync(dir)) {
    const k = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    if (k.actor === actor) return Uint8Array.from(Buffer.from(k.seed, 'hex'));
  }
  throw new Error(`no key for ${actor}`);
}

async function stores() {
  const repo = await openRepository({ cwd: client });
  return { objects: createObjectStore(repo), refs: createRefStore(repo) };
}

/** Writes a grant + bundle + activation for a proposal WITHOUT the quorum check (what a cheating client does). */
async function forceGrant(id: string, approvals: { actor: string; keyId: string; commit: string }[]) {
  const { objects, refs } = await stores();
  try {
    const trust = await readTrust(objects, refs);
    const active = (await readActivePolicy(objects, refs))!;
    const p = await readProposal(objects, refs, id);
    const b = bundleCommit({
      source: p.payload.source,
      version: p.payload.version,
      parentVersion: active.record.version,
      proposal: id,
    });
    await objects.put(b.objects);
    const seed = seedOf('user:alice');
    const keyId = trust.keys.find((k) => k.actor === 'user:alice')!.key_id;
    const payload = {
      proposal: id,
      proposal_commit: p.propose.commit,
      version: p.payload.version,
      policy_code_root: b.manifest.policy_code_root,
      bundle: b.commit.oid,
      policy_root: active.record.policy_code_root,
      policy_version: active.record.version,
      approvals: approvals.map((a) => ({ actor: a.actor, key_id: a.keyId, commit: a.commit })),
    };
    const env0 = createEnvelope({
      type: GOV_EVENT.grant,
      actor: 'user:alice',
      ulid: '01M9000000000000000000GRNT',
      ts: '2026-11-23T10:00:00.000Z',
      payload,
      policy_root: active.record.policy_code_root,
    });
    const [g] = await appendGovEvents([env0], {
      objects,
      refs,
      ref: grantRef(id),
      signer: { actor: 'user:alice', keyId, sign: (c) => signEvent(seed, c) },
    });
    const act = activationCommit(
      {
        format: 'gatos.policy-active/1',
        version: p.payload.version,
        bundle: b.commit.oid,
        policy_code_root: b.manifest.policy_code_root,
        grant: { proposal: id, commit: g!.commit },
      },
      active.head,
    );
    await objects.put(act.objects);
    git(client, 'update-ref', `refs/gatos/policies/bundles/${p.payload.version}`, b.commit.oid);
    git(client, 'update-ref', POLICY_ACTIVE_REF, act.commit.oid);
  } finally {
    await objects.close();
  }
}

/** Puts the client's policy/grant refs back to the server's values. */
function resetTo(...refs: string[]) {
  for (const r of refs) {
    const v = spawnSync('git', ['rev-parse', '-q', '--verify', r], {
      cwd: server,
      encoding: 'utf8',
    }).stdout.trim();
    if (v) git(client, 'update-ref', r, v);
    else git(client, 'update-ref', '-d', r);
  }
}

const approvalsOf = (id: string) =>
  git(client, 'for-each-ref', '--format=%(refname)', `refs/gatos/approvals/${id}/`)
    .split('\n')
    .filter(Boolean);

beforeAll(() => {
  root = tmp('gatos-gov-');
  server = join(root, 'srv.git');
  git(root, 'init', '-q', '--bare', server);
  env = { ...process.env, GATOS_HOME: join(root, 'home'), GATOS_ACTOR: '' };
  expectOk(gatos(root, env, ['hook', 'install', server]));
  client = join(root, 'client');
  git(root, 'clone', '-q', server, client);
  expectOk(gatos(client, env, ['init']));
  for (const a of ['alice', 'bob', 'carol'])
    expectOk(gatos(client, env, ['key', 'new', '--actor', `user:${a}`]));
  writeFileSync(join(root, 'v1.rgs'), policy(1, 'lab.write'));
  writeFileSync(join(root, 'v2.rgs'), policy(2, 'lab.v2'));
  writeFileSync(join(root, 'v3.rgs'), policy(3, 'lab.v3'));
});

describe('governance at the push-gate', () => {
  let v2: string;

  it('bootstraps the first policy only while none is active', () => {
    const r = expectOk(
      gatos(client, env, ['policy', 'activate', '--bootstrap', join(root, 'v1.rgs'), '--json']),
    ).json;
    expect(r.version).toBe(1);
    expect(
      gatos(client, env, ['policy', 'activate', '--bootstrap', join(root, 'v1.rgs'), '--json']).json.error
        .code,
    ).toBe('GATOS_E_GOV_STATE');
    const p = push(
      '--atomic',
      'refs/gatos/config',
      'refs/gatos/trust/keys',
      POLICY_ACTIVE_REF,
      'refs/gatos/policies/bundles/1',
    );
    expect(p.status, p.out).toBe(0);
  });

  it('refuses an event without the needed cap with the policy rule; policy check predicts it', () => {
    append([]);
    const c = check();
    expect(c.status).toBe(7);
    expect(c.json.denials.map((d: any) => d.rule)).toEqual(['need-cap']);
    const before = serverRefs();
    expectDenied(push(ALICE), 'need-cap', before);
    git(client, 'update-ref', '-d', ALICE);
    append(['lab.write']);
    expect(check().status).toBe(0);
    const ok = push(ALICE);
    expect(ok.status, ok.out).toBe(0);
  });

  it('refuses a policy change without quorum (CLI and gate)', async () => {
    v2 = expectOk(
      gatos(client, env, ['propose', '--bundle', join(root, 'v2.rgs'), '--actor', 'user:alice', '--json']),
    ).json.proposal;
    expectOk(gatos(client, env, ['approve', v2, '--actor', 'user:alice']));
    const g = gatos(client, env, ['grant', v2, '--actor', 'user:alice', '--json']);
    expect(g.status).toBe(7);
    expect(g.json.error.code).toBe('GATOS_E_POLICY_QUORUM');
    const { objects, refs } = await stores();
    const a = await refs.read(approvalRef(v2, 'user:alice'));
    const trust = await readTrust(objects, refs);
    await objects.close();
    await forceGrant(v2, [
      { actor: 'user:alice', keyId: trust.keys.find((k) => k.actor === 'user:alice')!.key_id, commit: a! },
    ]);
    const before = serverRefs();
    const refsToPush = [
      POLICY_ACTIVE_REF,
      'refs/gatos/policies/bundles/2',
      grantRef(v2),
      `refs/gatos/proposals/${v2}`,
      ...approvalsOf(v2),
    ];
    expect(check().status).toBe(7);
    expectDenied(push('--atomic', ...refsToPush), 'policy-quorum', before);
    resetTo(POLICY_ACTIVE_REF, 'refs/gatos/policies/bundles/2', grantRef(v2));
  });

  it('accepts a grant with two distinct approvers, then enforces the new policy', () => {
    expectOk(gatos(client, env, ['approve', v2, '--actor', 'user:bob']));
    const g = expectOk(gatos(client, env, ['grant', v2, '--actor', 'user:carol', '--json'])).json;
    expect(g.distinct_keys).toBe(2);
    expect(g.rule).toBe('gov');
    const refsToPush = [
      POLICY_ACTIVE_REF,
      'refs/gatos/policies/bundles/2',
      grantRef(v2),
      `refs/gatos/proposals/${v2}`,
      ...approvalsOf(v2),
    ];
    expect(check().json.ok).toBe(true);
    const p = push('--atomic', ...refsToPush);
    expect(p.status, p.out).toBe(0);
    // Enforced: the old cap no longer suffices.
    append(['lab.write']);
    const before = serverRefs();
    expectDenied(push(ALICE), 'need-cap', before);
    git(client, 'update-ref', ALICE, git(server, 'rev-parse', ALICE));
    append(['lab.v2']);
    expect(push(ALICE).status).toBe(0);
  });

  it('refuses a policy rollback, even with a valid grant', async () => {
    expect(
      gatos(client, env, [
        'propose',
        '--bundle',
        join(root, 'v1.rgs'),
        '--policy-version',
        '2',
        '--actor',
        'user:alice',
        '--json',
      ]).json.error.code,
    ).toBe('GATOS_E_POLICY_ROLLBACK');
    const { objects, refs } = await stores();
    let oid: string;
    try {
      const active = (await readActivePolicy(objects, refs))!;
      const v1 = git(client, 'rev-parse', 'refs/gatos/policies/bundles/1');
      const act = activationCommit(
        {
          ...active.record,
          version: 1,
          bundle: v1,
          policy_code_root: git(client, 'show', `${v1}:bundle.json`).match(
            /"policy_code_root":"([0-9a-f]{64})"/,
          )![1]!,
        },
        active.head,
      );
      await objects.put(act.objects);
      oid = act.commit.oid;
    } finally {
      await objects.close();
    }
    const before = serverRefs();
    expectDenied(push(`${oid}:${POLICY_ACTIVE_REF}`), 'policy-rollback', before);
  });

  it('counts one key registered under two actor names once', async () => {
    const v3 = expectOk(
      gatos(client, env, ['propose', '--bundle', join(root, 'v3.rgs'), '--actor', 'user:alice', '--json']),
    ).json.proposal;
    const bobSeed = seedOf('user:bob');
    const bobPk = keyPairFromSeed(bobSeed).publicKey;
    const { objects, refs } = await stores();
    const approvals: { actor: string; keyId: string; commit: string }[] = [];
    try {
      // registerKey replaces an entry with the same key id, so a registry holding one key under two actor
      // names is crafted by hand (as a cheating client would push it).
      const dave = trustedKeyEntry('user:dave', bobPk, (m) => sign(bobSeed, m));
      const blob = blobObject(`${JSON.stringify(dave, null, 2)}\n`);
      const existing = git(client, 'ls-tree', '-r', TRUST_KEYS_REF)
        .split('\n')
        .map((l) => ({ path: l.split('\t')[1]!, oid: l.split(' ')[2]!.split('\t')[0]! }));
      const path = `keys/user/dave/${encodeRefComponent(dave.key_id)}.json`;
      const { root: tree, trees } = treeFromFiles([...existing, { path, oid: blob.oid }]);
      const commit = commitObject({
        tree,
        parents: [git(client, 'rev-parse', TRUST_KEYS_REF)],
        author: SYSTEM_IDENT,
        committer: SYSTEM_IDENT,
        message: 'register dave\n',
      });
      await objects.put([blob, ...trees, commit]);
      git(client, 'update-ref', TRUST_KEYS_REF, commit.oid);
      expect((await readTrust(objects, refs)).keys.filter((k) => k.key_id === dave.key_id)).toHaveLength(2);
      const p = await readProposal(objects, refs, v3);
      const trust = await readTrust(objects, refs);
      const keyId = trust.keys.find((k) => k.actor === 'user:bob')!.key_id;
      for (const actor of ['user:bob', 'user:dave']) {
        const e = createEnvelope({
          type: GOV_EVENT.approve,
          actor,
          ulid: actor === 'user:bob' ? '01M9000000000000000000APPB' : '01M9000000000000000000APPD',
          ts: '2026-11-23T10:00:00.000Z',
          payload: {
            proposal: v3,
            proposal_commit: p.propose.commit,
            version: 3,
            policy_code_root: p.payload.policy_code_root,
          },
          policy_root: p.payload.policy_code_root,
        });
        const [w] = await appendGovEvents([e], {
          objects,
          refs,
          ref: approvalRef(v3, actor),
          signer: { actor, keyId, sign: (c) => signEvent(bobSeed, c) },
        });
        approvals.push({ actor, keyId, commit: w!.commit });
      }
    } finally {
      await objects.close();
    }
    const g = gatos(client, env, ['grant', v3, '--actor', 'user:alice', '--json']);
    expect(g.json.error.code, g.stdout).toBe('GATOS_E_POLICY_QUORUM');
    expect(g.json.error.message).toContain('2 approval(s), 1 distinct key(s)');
    await forceGrant(v3, approvals);
    const before = serverRefs();
    const p = push(
      '--atomic',
      'refs/gatos/trust/keys',
      POLICY_ACTIVE_REF,
      'refs/gatos/policies/bundles/3',
      grantRef(v3),
      `refs/gatos/proposals/${v3}`,
      ...approvalsOf(v3),
    );
    expectDenied(p, 'policy-quorum', before);
    expect(p.out).toContain('1 distinct key(s)');
  });

  it('never counts a withdrawn approval (policy.unapprove); a renewed approval counts again', async () => {
    // Undo the cheating client of the test before (its hand-made registry and forced grant).
    resetTo(TRUST_KEYS_REF, POLICY_ACTIVE_REF, 'refs/gatos/policies/bundles/3');
    const v = expectOk(
      gatos(client, env, ['propose', '--bundle', join(root, 'v3.rgs'), '--actor', 'user:alice', '--json']),
    ).json.proposal;
    expectOk(gatos(client, env, ['approve', v, '--actor', 'user:alice']));
    expectOk(gatos(client, env, ['approve', v, '--actor', 'user:bob']));
    const { objects, refs } = await stores();
    const approvals: { actor: string; keyId: string; commit: string }[] = [];
    try {
      const trust = await readTrust(objects, refs);
      for (const actor of ['user:alice', 'user:bob']) {
        const keyId = trust.keys.find((k) => k.actor === actor)!.key_id;
        approvals.push({ actor, keyId, commit: (await refs.read(approvalRef(v, actor)))! });
      }
    } finally {
      await objects.close();
    }
    // bob withdraws; the client's grant no longer finds a quorum.
    expectOk(gatos(client, env, ['revoke', v, '--actor', 'user:bob']));
    expect(gatos(client, env, ['grant', v, '--actor', 'user:carol', '--json']).json.error.code).toBe(
      'GATOS_E_POLICY_QUORUM',
    );
    // A cheating client lists bob's withdrawn approval anyway: the gate refuses it.
    await forceGrant(v, approvals);
    const toPush = () => [
      POLICY_ACTIVE_REF,
      'refs/gatos/policies/bundles/3',
      grantRef(v),
      `refs/gatos/proposals/${v}`,
      ...approvalsOf(v),
    ];
    const before = serverRefs();
    const p = push('--atomic', ...toPush());
    expectDenied(p, 'policy-quorum', before);
    expect(p.out).toContain('withdrawn or superseded');
    resetTo(POLICY_ACTIVE_REF, 'refs/gatos/policies/bundles/3', grantRef(v));
    // bob approves again: the honest grant passes the gate.
    expectOk(gatos(client, env, ['approve', v, '--actor', 'user:bob']));
    expect(
      expectOk(gatos(client, env, ['grant', v, '--actor', 'user:carol', '--json'])).json.distinct_keys,
    ).toBe(2);
    const ok = push('--atomic', ...toPush());
    expect(ok.status, ok.out).toBe(0);
  });
});
