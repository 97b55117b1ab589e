/**
 * The push-gate on every protected namespace (`spec/push-gate.md` § 2, `spec/governance.md` § 5): for journal,
 * state, policies (active and a bundle), audit (a plain audit ref and the reserved DENY chain) and trust refs, a
 * non-fast-forward push and a deleting push are refused with the rule of the spec, leave a DENY record naming it,
 * and change no other ref of the server. Also: a correctly signed proof of ANOTHER checkpoint is refused
 * (`state-proof`), a valid trust-registry push and plain branch pushes are accepted untouched.
 * Real `git push` over file:// to a bare repository guarded by the hook installed through the CLI.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { journalRef, POLICY_ACTIVE_REF, stateRef, TRUST_KEYS_REF } from '@gatos/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectOk, gatos, git, tmp } from '../../git-gatos/test/helpers.js';

const DENY_REF = 'refs/gatos/audit/policy/deny';
const LEDGER = join(import.meta.dirname, '../../git-gatos/test/fixtures/ledger.lua');
const ALICE = journalRef('lab', 'user:alice');
const STATE = stateRef('lab');
const BUNDLE = 'refs/gatos/policies/bundles/1';
// Job audit chains (refs/gatos/audit/jobs/<job-id>) are checked as job records (job-gate.test.ts); this is a plain audit ref.
const AUDIT_JOBS = 'refs/gatos/audit/misc/x';
const OPEN_POLICY = `policy "open" version 1
rule "journal" allow when ref matches "refs/gatos/journal/**" because "journals are open in this test"
`;

let root: string;
let server: string;
let client: string;
let env: NodeJS.ProcessEnv;
/** The two checkpoints of `lab` (cp2's parent is cp1). */
let cp1: string;
let cp2: string;

interface Push {
  status: number;
  out: string;
}

function push(...args: string[]): Push {
  const r = spawnSync('git', ['push', '--porcelain', 'origin', ...args], {
    cwd: client,
    encoding: 'utf8',
    env: { ...env, LC_ALL: 'C' },
  });
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

function expectAccepted(p: Push): void {
  expect(p.status, p.out).toBe(0);
  expect(p.out).not.toContain('GATOS DENY');
}

/** Every ref of the server except the deny chain. */
function serverRefs(): string {
  return git(server, 'for-each-ref', '--format=%(objectname) %(refname)')
    .split('\n')
    .filter((l) => !l.endsWith(` ${DENY_REF}`))
    .join('\n');
}

function denyHead(): string | null {
  const r = spawnSync('git', ['rev-parse', '-q', '--verify', DENY_REF], { cwd: server, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function auditLog(): any {
  return expectOk(gatos(server, env, ['audit', 'log', '--json'])).json;
}

/**
 * Pushes `args`, expects the push refused with `rule` on `ref`; then: the DENY chain grew by exactly one record
 * (a child of the previous head) naming that rule for that ref, and no other server ref moved.
 */
function expectRefused(args: string[], rule: string, ref: string): any {
  const before = serverRefs();
  const head = denyHead();
  const total = head ? auditLog().total : 0;
  const p = push(...args);
  expect(p.status, p.out).not.toBe(0);
  const m = /GATOS DENY (\w{26}): (\S+) rule (\S+):/.exec(p.out);
  expect(m, p.out).not.toBeNull();
  expect([m![2], m![3]], p.out).toEqual([ref, rule]);
  expect(serverRefs()).toBe(before);
  const newHead = denyHead()!;
  expect(git(server, 'rev-list', '--parents', '-n', '1', newHead).split(' ').slice(1)).toEqual(
    head ? [head] : [],
  );
  const log = auditLog();
  expect(log.chain_ok).toBe(true);
  expect(log.total).toBe(total + 1);
  const rec = log.records[0];
  expect(rec.id).toBe(m![1]);
  expect(rec.denials.map((d: any) => [d.ref, d.rule])).toEqual([[ref, rule]]);
  return rec;
}

/** A commit with an empty tree (and the given parents) in the client. */
function emptyCommit(msg: string, ...parents: string[]): string {
  const tree = spawnSync('git', ['mktree'], { cwd: client, input: '', encoding: 'utf8' }).stdout.trim();
  return git(client, 'commit-tree', tree, ...parents.flatMap((p) => ['-p', p]), '-m', msg);
}

function append(n: number) {
  expectOk(
    gatos(client, env, [
      'event',
      'append',
      '--ns',
      'lab',
      '--type',
      'add',
      '--payload',
      `{"n":${n}}`,
      '--actor',
      'user:alice',
    ]),
  );
}

beforeAll(() => {
  root = tmp('gatos-gate-ns-');
  server = join(root, 'srv.git');
  git(root, 'init', '-q', '--bare', server);
  env = { ...process.env, GATOS_HOME: join(root, 'home'), GATOS_ACTOR: '' };
  expectOk(gatos(root, env, ['hook', 'install', server]));
  client = join(root, 'client');
  git(root, 'clone', '-q', server, client);
  git(client, 'config', 'user.email', 't@example.org');
  git(client, 'config', 'user.name', 'T');
  expectOk(gatos(client, env, ['init']));
  expectOk(gatos(client, env, ['key', 'new', '--actor', 'user:alice']));
  expectOk(gatos(client, env, ['key', 'new', '--actor', 'service:folder']));
  // Two checkpoints signed by the registered service key, events before and between them.
  append(1);
  append(2);
  expectOk(gatos(client, env, ['fold', 'lab', '--fold', LEDGER, '--actor', 'service:folder']));
  cp1 = git(client, 'rev-parse', STATE);
  append(3);
  expectOk(gatos(client, env, ['fold', 'lab', '--fold', LEDGER, '--actor', 'service:folder']));
  cp2 = git(client, 'rev-parse', STATE);
  expect(git(client, 'rev-parse', `${cp2}^`)).toBe(cp1);
  writeFileSync(join(root, 'open.rgs'), OPEN_POLICY);
  expectOk(gatos(client, env, ['policy', 'activate', '--bootstrap', join(root, 'open.rgs')]));
}, 60_000);

describe('push-gate on every protected namespace', () => {
  it('accepts valid pushes of config, trust, journal, state (first checkpoint), audit and the policy', () => {
    expectAccepted(push('refs/gatos/config', TRUST_KEYS_REF, ALICE, `${cp1}:${STATE}`));
    const j1 = emptyCommit('job 1');
    const j2 = emptyCommit('job 2', j1);
    expectAccepted(push(`${j2}:${AUDIT_JOBS}`));
    expectAccepted(push('--atomic', POLICY_ACTIVE_REF, BUNDLE));
    for (const r of [TRUST_KEYS_REF, ALICE, POLICY_ACTIVE_REF, BUNDLE])
      expect(git(server, 'rev-parse', r)).toBe(git(client, 'rev-parse', r));
    expect(git(server, 'rev-parse', STATE)).toBe(cp1);
    expect(git(server, 'rev-parse', AUDIT_JOBS)).toBe(j2);
    expect(denyHead()).toBeNull();
  });

  it('refuses a correctly signed proof of another checkpoint (state-proof), then accepts the real one', () => {
    // cp2's commit, byte for byte, except that its tree carries cp1's proof.dsse.json (a valid signature by a
    // registered key, over a statement that does not describe this checkpoint).
    const proof1 = git(client, 'rev-parse', `${cp1}:proof.dsse.json`);
    const tree = git(client, 'ls-tree', `${cp2}^{tree}`)
      .split('\n')
      .map((l) => (l.endsWith('\tproof.dsse.json') ? `100644 blob ${proof1}\tproof.dsse.json` : l))
      .join('\n');
    const badTree = spawnSync('git', ['mktree'], {
      cwd: client,
      input: `${tree}\n`,
      encoding: 'utf8',
    }).stdout.trim();
    const body = git(client, 'cat-file', 'commit', cp2).replace(/^tree [0-9a-f]{40}$/m, `tree ${badTree}`);
    const bad = spawnSync('git', ['hash-object', '-t', 'commit', '-w', '--stdin'], {
      cwd: client,
      input: `${body}\n`,
      encoding: 'utf8',
    }).stdout.trim();
    expect(git(client, 'rev-parse', `${bad}^`)).toBe(cp1);
    // The proof itself verifies: pushing cp1 itself was accepted above.
    const rec = expectRefused([`${bad}:${STATE}`], 'state-proof', STATE);
    expect(rec.denials[0].code).toBe('GATOS_E_PROOF_MISMATCH');
    expect(rec.denials[0].commit).toBe(bad);
    expectAccepted(push(STATE));
    expect(git(server, 'rev-parse', STATE)).toBe(cp2);
  });

  it('journal: refuses non-fast-forward (ff-only) and deletion (no-delete)', () => {
    expect(git(server, 'rev-list', '--count', ALICE)).toBe('3');
    expectRefused(['--force', `${ALICE}~1:${ALICE}`], 'ff-only', ALICE);
    expectRefused(['--force', `:${ALICE}`], 'no-delete', ALICE);
    expectRefused(['--delete', ALICE], 'no-delete', ALICE);
  });

  it('state: refuses non-fast-forward (ff-only) and deletion (no-delete)', () => {
    expectRefused(['--force', `${cp1}:${STATE}`], 'ff-only', STATE);
    expectRefused(['--force', `:${STATE}`], 'no-delete', STATE);
  });

  it('policies: refuses non-fast-forward and deletion of active and of a bundle ref', () => {
    expectRefused(['--force', `${BUNDLE}:${POLICY_ACTIVE_REF}`], 'ff-only', POLICY_ACTIVE_REF);
    expectRefused(['--force', `:${POLICY_ACTIVE_REF}`], 'no-delete', POLICY_ACTIVE_REF);
    expectRefused(['--force', `${POLICY_ACTIVE_REF}:${BUNDLE}`], 'ff-only', BUNDLE);
    expectRefused(['--delete', BUNDLE], 'no-delete', BUNDLE);
  });

  it('audit: refuses non-fast-forward and deletion of an audit ref', () => {
    const j1 = git(server, 'rev-parse', `${AUDIT_JOBS}~1`);
    expectRefused(['--force', `${j1}:${AUDIT_JOBS}`], 'ff-only', AUDIT_JOBS);
    expectRefused(['--force', `:${AUDIT_JOBS}`], 'no-delete', AUDIT_JOBS);
  });

  it('audit: the DENY chain itself cannot be changed by a push at all', () => {
    const unrelated = emptyCommit('not a deny record');
    expectRefused(['--force', `${unrelated}:${DENY_REF}`], 'audit-reserved', DENY_REF);
    // Even a fast-forward on top of the real chain.
    git(client, 'fetch', '-q', 'origin', `${DENY_REF}:refs/remotes/deny`);
    const child = emptyCommit('forged record', git(client, 'rev-parse', 'refs/remotes/deny'));
    expectRefused([`${child}:${DENY_REF}`], 'audit-reserved', DENY_REF);
    // A deletion breaks the common rule first (push-gate.md § 2: every audit ref, no-delete).
    expectRefused(['--force', `:${DENY_REF}`], 'no-delete', DENY_REF);
  });

  it('accepts a valid trust-registry push (new key), then guards the registry like the other chains', () => {
    const n = auditLog().total;
    expectOk(gatos(client, env, ['key', 'new', '--actor', 'user:bob']));
    expectAccepted(push(TRUST_KEYS_REF));
    expect(git(server, 'rev-parse', TRUST_KEYS_REF)).toBe(git(client, 'rev-parse', TRUST_KEYS_REF));
    expect(git(server, 'ls-tree', '-r', '--name-only', TRUST_KEYS_REF)).toMatch(/^keys\/user\/bob\//m);
    expect(auditLog().total).toBe(n);
    expectRefused(['--force', `${TRUST_KEYS_REF}~1:${TRUST_KEYS_REF}`], 'ff-only', TRUST_KEYS_REF);
    expectRefused(['--force', `:${TRUST_KEYS_REF}`], 'no-delete', TRUST_KEYS_REF);
  });

  it('lets plain branches and tags pass untouched: create, rewrite, delete', () => {
    const n = auditLog().total;
    const head = denyHead();
    const a = emptyCommit('plain a');
    const b = emptyCommit('plain b');
    expectAccepted(push(`${a}:refs/heads/main`, `${a}:refs/tags/v1`));
    expectAccepted(push('--force', `${b}:refs/heads/main`));
    expect(git(server, 'rev-parse', 'refs/heads/main')).toBe(b);
    expectAccepted(push('--delete', 'refs/heads/main', 'refs/tags/v1'));
    expect(git(server, 'for-each-ref', 'refs/heads', 'refs/tags')).toBe('');
    expect(denyHead()).toBe(head);
    expect(auditLog().total).toBe(n);
  });
});
