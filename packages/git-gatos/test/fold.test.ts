/**
 * Proof-of-Fold end to end, the fold milestone's "What it must show": real repositories, the real `git gatos` in
 * child processes. The core API is called in-process only to build inputs where the CLI is not what is under test
 * (forged proofs, appends between folds, the golden vectors).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as core from '@gatos/core';
import * as gitlib from '@gatos/git';
import { beforeAll, describe, expect, it } from 'vitest';
import { GOLDEN_DIR, GOLDEN_FILES, generateGolden } from '../../../conformance/fold/golden/generate.mjs';
import { type CliRun, expectOk, gatos, gatosAsync, git, repoWithHome, snapshot, tmp } from './helpers.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const LEDGER = join(FIXTURES, 'ledger.lua');
const SPIN = join(FIXTURES, 'spin.lua');
const CONFORMANCE_FOLD = join(import.meta.dirname, '../../../conformance/fold');
const PAIRS = join(CONFORMANCE_FOLD, 'hostile/uses-pairs.lua');
const COUNTER = join(CONFORMANCE_FOLD, 'reducers/counter.lua');

const NS = 'demo';
const STATE_REF = `refs/gatos/state/${NS}`;
const FOLDER = 'service:folder';
const ACTORS = ['user:alice', 'user:bob', 'agent:carl'] as const;
const FUEL = core.PROFILES.default.fold.fuel;

/** An event of the test journal (append order = index `i`). */
interface Ev {
  i: number;
  actor: string;
  type: string;
  ulid: string;
  ts: string;
  payload: { n: number } | { key: string; value: string };
}

const T0 = Date.UTC(2026, 2, 1, 9, 0, 0);
/**
 * 48 events of three actors, two per second: ties on `ts` are broken by actor, so namespace order is not append
 * order (e.g. #3 of alice comes before #2 of carl). Every 4th event sets `mode` or `level`, the others add.
 */
const EVENTS: Ev[] = Array.from({ length: 48 }, (_, i) => {
  const ms = T0 + Math.floor(i / 2) * 1000;
  const set = i % 4 === 3;
  return {
    i,
    actor: ACTORS[i % 3]!,
    type: set ? 'set' : 'add',
    ulid: core.ulidFrom(ms, new Uint8Array(10).fill(i)),
    ts: new Date(ms).toISOString(),
    payload: set ? { key: i % 8 === 3 ? 'mode' : 'level', value: `v${i}` } : { n: ((i * 7) % 11) + 1 },
  };
});
/** Event-CID by ULID, filled in by the first append. */
const CID = new Map<string, string>();

/** Namespace order (spec/journal.md): (ts, actor, ulid); each journal here is in increasing ts. */
function nsOrder(events: readonly Ev[]): Ev[] {
  const key = (e: Ev) => [e.ts, e.actor, e.ulid];
  return [...events].sort((x, y) => {
    const [a, b] = [key(x), key(y)];
    for (let k = 0; k < 3; k++) if (a[k] !== b[k]) return a[k]! < b[k]! ? -1 : 1;
    return 0;
  });
}

/** `fixtures/ledger.lua` written again in JavaScript. */
function ledger(events: readonly Ev[]): any {
  const s: any = {};
  for (const e of nsOrder(events)) {
    s.events = (s.events ?? 0) + 1;
    if ('n' in e.payload) s.totals = { ...s.totals, [e.actor]: (s.totals?.[e.actor] ?? 0) + e.payload.n };
    else s.reg = { ...s.reg, [e.payload.key]: e.payload.value };
    s.last = e.ulid;
  }
  return s;
}

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const blob = (repo: string, spec: string): Buffer =>
  execFileSync('git', ['cat-file', 'blob', spec], { cwd: repo });
const hexBytes = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));

/** Appends `events` with the CLI, one `--batch` per actor; records their CIDs. */
function appendCli(
  repo: string,
  env: NodeJS.ProcessEnv,
  events: readonly Ev[],
  actors: readonly string[] = ACTORS,
): void {
  for (const actor of actors) {
    const mine = events.filter((e) => e.actor === actor);
    const file = join(tmp(), 'events.jsonl');
    writeFileSync(
      file,
      mine.map(({ type, payload, ulid, ts }) => JSON.stringify({ type, payload, ulid, ts })).join('\n'),
    );
    const r = expectOk(
      gatos(repo, env, ['event', 'append', '--ns', NS, '--actor', actor, '--batch', file, '--json']),
    ).json;
    expect(r.appended).toHaveLength(mine.length);
    r.appended.forEach((a: any, k: number) => {
      CID.set(mine[k]!.ulid, a.cid);
    });
  }
}

/** A private key file of `actor` from the key home of `env`. */
function keyFile(env: NodeJS.ProcessEnv, actor: string): { key_id: string; seed: string } {
  const dir = join(env.GATOS_HOME!, 'keys');
  const files = readdirSync(dir).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
  return files.find((k) => k.actor === actor)!;
}

/** Runs `fn` with the object and ref stores of `repo` (in-process). */
async function withStores<T>(
  repo: string,
  fn: (s: { objects: core.ObjectStore; refs: core.RefStore }) => Promise<T>,
): Promise<T> {
  const r = await gitlib.openRepository({ cwd: repo });
  const objects = gitlib.createObjectStore(r);
  try {
    return await fn({ objects, refs: gitlib.createRefStore(r) });
  } finally {
    await objects.close();
  }
}

/** Appends `events` in-process with the keys of `env` (the same commits the CLI writes). */
async function appendInProcess(repo: string, env: NodeJS.ProcessEnv, events: readonly Ev[], ns = NS) {
  await withStores(repo, async ({ objects, refs }) => {
    for (const actor of ACTORS) {
      const mine = events.filter((e) => e.actor === actor);
      if (mine.length === 0) continue;
      const k = keyFile(env, actor);
      const seed = hexBytes(k.seed);
      const envelopes = mine.map((e) =>
        core.createEnvelope({
          type: e.type,
          payload: e.payload,
          actor,
          ulid: e.ulid,
          ts: e.ts,
          policy_root: core.NO_POLICY_ROOT,
        }),
      );
      await core.appendEvents(envelopes, {
        objects,
        refs,
        ns,
        signer: { actor, keyId: k.key_id, sign: (pos) => core.signEvent(seed, pos) },
      });
    }
  });
}

const ALL_REFS = ['refs/gatos/*:refs/gatos/*'];
const NO_STATE = [
  'refs/gatos/config:refs/gatos/config',
  'refs/gatos/trust/*:refs/gatos/trust/*',
  'refs/gatos/journal/*:refs/gatos/journal/*',
];

/** A new repository holding the given refs of `from` (plain `git fetch`). */
function copyRepo(from: string, refspecs: string[]): string {
  const repo = tmp('gatos-repo-');
  git(repo, 'init', '-q');
  git(repo, 'fetch', '-q', from, ...refspecs);
  return repo;
}

function writeObject(repo: string, type: string, body: Buffer | string): string {
  return execFileSync('git', ['hash-object', '-w', '-t', type, '--stdin'], {
    cwd: repo,
    input: body,
    encoding: 'utf8',
  }).trim();
}

/** With plain git: a copy of `commit` (same parents, identity, dates and message) with one file replaced. */
function replaceFile(repo: string, commit: string, name: string, content: Buffer | string): string {
  const oid = writeObject(repo, 'blob', content);
  const entries = git(repo, 'ls-tree', commit)
    .split('\n')
    .map((l) => (l.split('\t')[1] === name ? `100644 blob ${oid}\t${name}` : l));
  const tree = execFileSync('git', ['mktree'], {
    cwd: repo,
    input: `${entries.join('\n')}\n`,
    encoding: 'utf8',
  });
  const raw = execFileSync('git', ['cat-file', 'commit', commit], { cwd: repo, encoding: 'utf8' });
  const forged = writeObject(repo, 'commit', raw.replace(/^tree [0-9a-f]{40}\n/, `tree ${tree.trim()}\n`));
  expect(forged).not.toBe(commit);
  return forged;
}

const foldVerify = (repo: string, env: NodeJS.ProcessEnv) =>
  gatos(repo, env, ['fold', 'verify', NS, '--json']);

/** The repository every test starts from: three actors' journals (48 events, CLI) and one checkpoint. */
let base: { repo: string; env: NodeJS.ProcessEnv; fold: any };

beforeAll(() => {
  const { repo, env } = repoWithHome();
  expectOk(gatos(repo, env, ['init']));
  for (const actor of [...ACTORS, FOLDER]) expectOk(gatos(repo, env, ['key', 'new', '--actor', actor]));
  appendCli(repo, env, EVENTS);
  const fold = expectOk(gatos(repo, env, ['fold', NS, '--fold', LEDGER, '--actor', FOLDER, '--json'])).json;
  base = { repo, env, fold };
});

describe('determinism', () => {
  it('5 fresh processes and a second repository fold to the same state root, checkpoint and proof bytes', () => {
    const { repo, env, fold } = base;
    expect(fold).toMatchObject({ ok: true, advanced: true, folded: 48, ref: STATE_REF });
    expect(git(repo, 'rev-parse', STATE_REF)).toBe(fold.checkpoint);
    expect(JSON.parse(blob(repo, `${fold.checkpoint}:state.json`).toString())).toEqual(ledger(EVENTS));
    const proof = blob(repo, `${fold.checkpoint}:proof.dsse.json`);
    expect(sha256(proof)).toBe(fold.proof_digest);

    // `--fold` with an absolute path: each process folds that source over the whole history.
    const det = expectOk(
      gatos(repo, env, ['verify-determinism', NS, '--n', '5', '--fold', LEDGER, '--actor', FOLDER, '--json']),
    );
    expect(det.json.ok).toBe(true);
    expect(det.json.runs).toHaveLength(5);
    for (const field of ['TZ', 'LC_ALL', 'umask', 'cwd']) {
      expect(new Set(det.json.runs.map((r: any) => r[field])).size, field).toBe(5);
    }
    for (const r of det.json.runs) {
      expect({ state_root: r.state_root, checkpoint: r.checkpoint, proof_digest: r.proof_digest }).toEqual({
        state_root: fold.state_root,
        checkpoint: fold.checkpoint,
        proof_digest: fold.proof_digest,
      });
    }

    // Another repository, another copy of the same keys, another time zone and locale, actors in another order.
    const home = tmp('gatos-home-');
    cpSync(env.GATOS_HOME!, home, { recursive: true });
    chmodSync(join(home, 'keys'), 0o700);
    for (const f of readdirSync(join(home, 'keys'))) chmodSync(join(home, 'keys', f), 0o600);
    const b = {
      repo: tmp('gatos-repo-'),
      env: { ...env, GATOS_HOME: home, TZ: 'Pacific/Chatham', LANG: 'C' },
    };
    git(b.repo, 'init', '-q');
    expectOk(gatos(b.repo, b.env, ['init']));
    for (const actor of [FOLDER, ...ACTORS]) {
      const k = expectOk(gatos(b.repo, b.env, ['key', 'new', '--actor', actor, '--json'])).json;
      expect(k).toMatchObject({ created: false, published: true });
    }
    appendCli(b.repo, b.env, EVENTS, [...ACTORS].reverse());
    const foldB = expectOk(
      gatos(b.repo, b.env, ['fold', NS, '--fold', LEDGER, '--actor', FOLDER, '--json']),
    ).json;
    expect(foldB.checkpoint).toBe(fold.checkpoint);
    expect(foldB.state_root).toBe(fold.state_root);
    const refsOf = (r: string) =>
      git(r, 'for-each-ref', '--format=%(objectname) %(refname)', 'refs/gatos/journal', 'refs/gatos/state');
    expect(refsOf(b.repo)).toBe(refsOf(repo));
    expect(blob(b.repo, `${foldB.checkpoint}:proof.dsse.json`).equals(proof)).toBe(true);
  });
});

describe('fold verify catches', () => {
  it('a forged event folded into a checkpoint: its CID and signature, naming the event', () => {
    const repo = copyRepo(base.repo, NO_STATE);
    const ref = `refs/gatos/journal/${NS}/user/bob`;
    const head = git(repo, 'rev-parse', ref);
    const original = EVENTS.filter((e) => e.actor === 'user:bob').at(-1)!;
    const envelope = core.decodeEnvelope(blob(repo, `${head}:event.cbor`));
    expect(envelope.ulid).toBe(original.ulid);
    // Plain git: the same commit (parent, dates, message with the old Event-CID and Sig) over a changed event.
    const forgedBytes = core.encodeEnvelope({ ...envelope, payload: { n: 1000 } });
    const forged = replaceFile(repo, head, 'event.cbor', Buffer.from(forgedBytes));
    git(repo, 'update-ref', ref, forged, head);

    // The fold runner reads history as it is: it folds the forged payload into a signed checkpoint.
    const fold = expectOk(
      gatos(repo, base.env, ['fold', NS, '--fold', LEDGER, '--actor', FOLDER, '--json']),
    ).json;
    const state = JSON.parse(blob(repo, `${fold.checkpoint}:state.json`).toString());
    const honest = ledger(EVENTS);
    expect(state.totals['user:bob']).toBe(honest.totals['user:bob'] - (original.payload as any).n + 1000);

    const r = foldVerify(repo, base.env);
    expect(r.status).toBe(6);
    expect(r.json.ok).toBe(false);
    const cid = CID.get(original.ulid)!;
    const realCid = core.eventCid(forgedBytes).toString();
    const problems = r.json.problems;
    expect(problems.map((p: any) => p.code).sort()).toEqual([
      'GATOS_E_JOURNAL_BROKEN',
      'GATOS_E_SIG_INVALID',
    ]);
    for (const p of problems) {
      expect(p.checkpoint).toBe(fold.checkpoint);
      expect(p.data).toEqual({ event: cid, commit: forged });
      expect(p.message).toContain(`event ${cid} (user:bob #15): `);
    }
    const byCode = (c: string) => problems.find((p: any) => p.code === c).message;
    expect(byCode('GATOS_E_JOURNAL_BROKEN')).toContain(`Event-CID trailer ${cid} does not match ${realCid}`);
    expect(byCode('GATOS_E_SIG_INVALID')).toContain(
      'signature does not verify for this journal and position',
    );
    expect(r.json.checkpoints).toEqual([
      { oid: fold.checkpoint, stateRoot: fold.state_root, events: 48, ok: false },
    ]);
  });

  it('a tampered state blob: state_root mismatch', () => {
    const repo = copyRepo(base.repo, ALL_REFS);
    const ckpt = base.fold.checkpoint;
    const wrong = ledger(EVENTS);
    wrong.totals['user:alice'] += 1;
    const tampered = replaceFile(repo, ckpt, 'state.cbor', Buffer.from(core.stateBytes(wrong)));
    git(repo, 'update-ref', STATE_REF, tampered, ckpt);
    const r = foldVerify(repo, base.env);
    expect(r.status).toBe(6);
    expect(r.json.problems).toHaveLength(1);
    const [p] = r.json.problems;
    expect(p.code).toBe('GATOS_E_PROOF_MISMATCH');
    expect(p.checkpoint).toBe(tampered);
    expect(p.data).toEqual({
      field: 'state_root',
      expected: base.fold.state_root,
      actual: core.stateRoot(wrong),
    });
    expect(p.message).toBe(
      `checkpoint ${tampered} state_root: expected ${base.fold.state_root}, got ${core.stateRoot(wrong)}`,
    );
  });

  it('a proof signed by a key the repository does not trust: GATOS_E_PROOF_SIG', () => {
    // Another machine: the same journals, but its own key for service:folder.
    const other = copyRepo(base.repo, NO_STATE);
    const otherEnv = { ...base.env, GATOS_HOME: tmp('gatos-home-') };
    const key = expectOk(gatos(other, otherEnv, ['key', 'new', '--actor', FOLDER, '--json'])).json;
    expect(key.created).toBe(true);
    expect(key.key_id).not.toBe(keyFile(base.env, FOLDER).key_id);
    const rogue = expectOk(
      gatos(other, otherEnv, ['fold', NS, '--fold', LEDGER, '--actor', FOLDER, '--json']),
    ).json;
    expect(rogue.state_root).toBe(base.fold.state_root);
    expect(rogue.checkpoint).not.toBe(base.fold.checkpoint);
    expect(expectOk(foldVerify(other, otherEnv)).json.ok).toBe(true);

    // Transplanted where that key is not registered.
    const repo = copyRepo(base.repo, ALL_REFS);
    git(repo, 'fetch', '-q', other, `+${STATE_REF}:${STATE_REF}`);
    expect(git(repo, 'rev-parse', STATE_REF)).toBe(rogue.checkpoint);
    const r = foldVerify(repo, base.env);
    expect(r.status).toBe(6);
    expect(r.json.problems).toHaveLength(1);
    const [p] = r.json.problems;
    expect(p.code).toBe('GATOS_E_PROOF_SIG');
    expect(p.checkpoint).toBe(rogue.checkpoint);
    expect(p.message).toContain(`0 of 1 required signatures verify (${key.key_id}: unknown-key)`);
    expect(p.data.signatures).toEqual([{ keyid: key.key_id, result: 'unknown-key' }]);
  });

  it('a checkpoint whose fold.lua was replaced: fold_root mismatch', () => {
    const repo = copyRepo(base.repo, ALL_REFS);
    const ckpt = base.fold.checkpoint;
    const tampered = replaceFile(repo, ckpt, 'fold.lua', readFileSync(COUNTER));
    git(repo, 'update-ref', STATE_REF, tampered, ckpt);
    const r = foldVerify(repo, base.env);
    expect(r.status).toBe(6);
    expect(r.json.problems).toHaveLength(1);
    const [p] = r.json.problems;
    expect(p.code).toBe('GATOS_E_PROOF_MISMATCH');
    const expected = sha256(readFileSync(LEDGER));
    const actual = sha256(readFileSync(COUNTER));
    expect(p.data).toEqual({ field: 'fold_root', expected, actual });
    expect(p.message).toBe(`checkpoint ${tampered} fold_root: expected ${expected}, got ${actual}`);
  });

  it('a correctly signed proof of a state history does not give: GATOS_E_FOLD_DIVERGED at the event and path', async () => {
    const repo = copyRepo(base.repo, ALL_REFS);
    const ckpt = base.fold.checkpoint;
    const honest = core.foldStatementOfEnvelope(
      core.parseDsse(blob(repo, `${ckpt}:proof.dsse.json`)),
    ).predicate;
    // Claim `reg.mode` as it was before the last event that set it.
    const modeSets = nsOrder(EVENTS).filter((e) => 'key' in e.payload && e.payload.key === 'mode');
    const last = modeSets.at(-1)! as Ev & { payload: { value: string } };
    const before = (modeSets.at(-2)!.payload as { value: string }).value;
    const wrong = ledger(EVENTS);
    wrong.reg.mode = before;
    const { history_root: _, ...fields } = honest;
    const statement = core.buildFoldStatement({ ...fields, state_root: core.stateRoot(wrong) });
    const folder = keyFile(base.env, FOLDER);
    const seed = hexBytes(folder.seed);
    const envelope = core.signProofOfFold(statement, {
      keyId: folder.key_id,
      sign: (m) => core.sign(seed, m),
    });
    const forged = core.checkpointCommit({
      envelope,
      state: wrong,
      foldSource: readFileSync(LEDGER, 'utf8'),
    });
    await withStores(repo, ({ objects }) => objects.put(forged.objects));
    git(repo, 'update-ref', STATE_REF, forged.commit.oid, ckpt);

    const r = foldVerify(repo, base.env);
    expect(r.status).toBe(6);
    expect(r.json.problems).toHaveLength(1);
    const [p] = r.json.problems;
    expect(p.code).toBe('GATOS_E_FOLD_DIVERGED');
    expect(p.checkpoint).toBe(forged.commit.oid);
    const index = nsOrder(EVENTS).indexOf(last);
    const cid = CID.get(last.ulid)!;
    expect(p.data).toEqual({
      recomputed: base.fold.state_root,
      claimed: core.stateRoot(wrong),
      event_index: index,
      event: cid,
      path: ['reg', 'mode'],
      history_value: last.payload.value,
      checkpoint_value: before,
    });
    expect(p.message).toContain(`first diverges at event #${index} (${last.actor} set ${cid})`);
    expect(p.message).toContain(
      `path ["reg","mode"]: history gives "${last.payload.value}", checkpoint has "${before}"`,
    );
  });
});

describe('incremental folds and state show', () => {
  const rounds = [EVENTS.slice(0, 16), EVENTS.slice(16, 32), EVENTS.slice(32)];
  let inc: { repo: string; env: NodeJS.ProcessEnv; folds: any[] };

  beforeAll(async () => {
    const repo = copyRepo(base.repo, [
      'refs/gatos/config:refs/gatos/config',
      'refs/gatos/trust/*:refs/gatos/trust/*',
    ]);
    const folds: any[] = [];
    for (const [k, round] of rounds.entries()) {
      await appendInProcess(repo, base.env, round);
      const foldArg = k === 0 ? ['--fold', LEDGER] : [];
      folds.push(expectOk(gatos(repo, base.env, ['fold', NS, ...foldArg, '--actor', FOLDER, '--json'])).json);
    }
    inc = { repo, env: base.env, folds };
  });

  it('three incremental checkpoints end at the state a fold from scratch gives', () => {
    const { repo, env, folds } = inc;
    for (let k = 1; k < 3; k++) expect(rounds[k]![0]!.ts > rounds[k - 1]!.at(-1)!.ts).toBe(true);
    folds.forEach((f, k) => {
      expect(f).toMatchObject({ ok: true, advanced: true, folded: 16 });
      const st = JSON.parse(blob(repo, `${f.checkpoint}:state.json`).toString());
      expect(st).toEqual(ledger(EVENTS.slice(0, 16 * (k + 1))));
    });
    expect(git(repo, 'rev-list', '--first-parent', STATE_REF)).toBe(
      folds
        .map((f) => f.checkpoint)
        .reverse()
        .join('\n'),
    );
    const head = core.foldStatementOfEnvelope(
      core.parseDsse(blob(repo, `${folds[2].checkpoint}:proof.dsse.json`)),
    ).predicate;
    expect(head).toMatchObject({
      prev_checkpoint: folds[1].checkpoint,
      prev_state_root: folds[1].state_root,
      event_range: { count: 16, first: CID.get(nsOrder(rounds[2]!)[0]!.ulid) },
    });

    const before = snapshot(repo);
    const full = expectOk(
      gatos(repo, env, ['fold', NS, '--dry-run', '--from-scratch', '--actor', FOLDER, '--json']),
    ).json;
    expect(full).toMatchObject({ ok: true, advanced: false, folded: 48 });
    expect(full.state_root).toBe(folds[2].state_root);
    // The same journals as the base repository: the same root checkpoint, to the byte.
    expect(full.state_root).toBe(base.fold.state_root);
    expect(full.checkpoint).toBe(base.fold.checkpoint);
    expect(full.proof_digest).toBe(base.fold.proof_digest);
    expect(snapshot(repo)).toEqual(before);

    const v = expectOk(foldVerify(repo, env)).json;
    expect(v.ok).toBe(true);
    expect(v.checkpoints.map((c: any) => [c.oid, c.events, c.ok])).toEqual(
      folds.map((f) => [f.checkpoint, 16, true]),
    );
  });

  it('state show: human, --json, --at an older checkpoint', () => {
    const { repo, env, folds } = inc;
    const head = folds[2];
    const show = expectOk(gatos(repo, env, ['state', 'show', NS, '--json'])).json;
    expect(show).toMatchObject({
      ok: true,
      ns: NS,
      checkpoint: head.checkpoint,
      state_root: head.state_root,
      fold_root: sha256(readFileSync(LEDGER)),
      policy_root: core.NO_POLICY_ROOT,
    });
    expect(show.state).toEqual(ledger(EVENTS));
    expect(show.journals.map((j: any) => [j.actor, j.head, j.events])).toEqual(
      [...ACTORS]
        .sort()
        .map((a) => [a, git(repo, 'rev-parse', `refs/gatos/journal/${NS}/${a.replace(':', '/')}`), 16]),
    );

    const human = expectOk(gatos(repo, env, ['state', 'show', NS])).stdout;
    expect(human).toContain(`checkpoint ${head.checkpoint}  state ${head.state_root}`);
    expect(human).toContain(
      `user:alice@${show.journals.find((j: any) => j.actor === 'user:alice').head.slice(0, 12)} (16)`,
    );
    expect(human).toContain(core.stateJsonView(ledger(EVENTS)).trimEnd());

    const first = expectOk(gatos(repo, env, ['state', 'show', NS, '--at', `${STATE_REF}~2`, '--json'])).json;
    expect(first.checkpoint).toBe(folds[0].checkpoint);
    expect(first.state).toEqual(ledger(rounds[0]!));
    expect(first.journals.map((j: any) => [j.actor, j.events])).toEqual([
      ['agent:carl', 5],
      ['user:alice', 6],
      ['user:bob', 5],
    ]);
    const second = expectOk(gatos(repo, env, ['state', 'show', NS, '--at', folds[1].checkpoint])).stdout;
    expect(second).toContain(`checkpoint ${folds[1].checkpoint}  state ${folds[1].state_root}`);
    expect(second).toContain(core.stateJsonView(ledger(EVENTS.slice(0, 32))).trimEnd());
  });

  it('errors: no checkpoint, no fold source, lint, fuel; none writes anything', async () => {
    const { repo, env } = inc;
    await appendInProcess(repo, env, EVENTS.slice(0, 3), 'fresh');
    const before = snapshot(repo);
    const expectError = (r: CliRun, code: string, status: number) => {
      expect(r.json?.error?.code, r.stdout + r.stderr).toBe(code);
      expect(r.status).toBe(status);
      expect(snapshot(repo)).toEqual(before);
      return r.json.error;
    };

    const none = expectError(
      gatos(repo, env, ['state', 'show', 'fresh', '--json']),
      'GATOS_E_STATE_NOT_FOUND',
      4,
    );
    expect(none.message).toBe('namespace fresh has no checkpoint');
    const at = expectError(
      gatos(repo, env, ['state', 'show', NS, '--at', '0123456789abcdef0123456789abcdef01234567', '--json']),
      'GATOS_E_STATE_NOT_FOUND',
      4,
    );
    expect(at.message).toContain('no checkpoint at 0123456789abcdef');

    const usage = expectError(
      gatos(repo, env, ['fold', 'fresh', '--actor', FOLDER, '--json']),
      'GATOS_E_USAGE',
      2,
    );
    expect(usage.message).toBe('namespace fresh has no checkpoint yet: name the fold source');

    const lint = expectError(
      gatos(repo, env, ['fold', 'fresh', '--fold', PAIRS, '--actor', FOLDER, '--json']),
      'GATOS_E_FOLD_LINT',
      3,
    );
    expect(lint.message).toContain("'pairs' is not available in EchoLua");
    expect(lint.data).toMatchObject({ line: 4, name: 'pairs' });

    // Out of fuel at the first `set level` in namespace order, the same way in two processes.
    const runs = await Promise.all(
      [0, 1].map(() => gatosAsync(repo, env, ['fold', NS, '--fold', SPIN, '--actor', FOLDER, '--json'])),
    );
    const stuck = nsOrder(EVENTS).findIndex((e) => 'key' in e.payload && e.payload.key === 'level');
    const event = nsOrder(EVENTS)[stuck]!;
    const journalCommit = (e: Ev) =>
      git(repo, 'rev-list', '--reverse', `refs/gatos/journal/${NS}/${e.actor.replace(':', '/')}`).split('\n')[
        EVENTS.filter((x) => x.actor === e.actor).indexOf(e)
      ];
    const errors = runs.map((r) => expectError({ ...r, json: JSON.parse(r.stdout) }, 'GATOS_E_FOLD_FUEL', 9));
    expect(errors[0].data).toEqual({
      fold: 'fold',
      phase: 'run',
      event: stuck,
      fuel: FUEL,
      instructions: FUEL + 1,
      allocation: 0,
      cid: CID.get(event.ulid),
      commit: journalCommit(event),
      actor: event.actor,
    });
    expect(errors[1].data).toEqual(errors[0].data);
    expect(errors[0].message).toContain(`out of fuel (budget ${FUEL} per event; ${FUEL + 1} instructions`);
  });
});

describe('golden vectors (conformance/fold/golden)', () => {
  it('regenerate byte for byte', async () => {
    const files: Record<string, Uint8Array> = await generateGolden(core, gitlib, join(tmp(), 'golden.git'));
    expect(Object.keys(files).sort()).toEqual([...GOLDEN_FILES].sort());
    for (const [name, bytes] of Object.entries(files)) {
      expect(Buffer.from(bytes).equals(readFileSync(join(GOLDEN_DIR, name))), name).toBe(true);
    }
    expect(readdirSync(GOLDEN_DIR).sort()).toEqual([...GOLDEN_FILES, 'generate.mjs', 'reducer.lua'].sort());
  });

  it('the CLI reproduces the golden checkpoints from the golden keys and events', () => {
    const v = JSON.parse(readFileSync(join(GOLDEN_DIR, 'vectors.json'), 'utf8'));
    const { repo, env } = repoWithHome();
    const keysDir = join(env.GATOS_HOME!, 'keys');
    mkdirSync(keysDir, { recursive: true, mode: 0o700 });
    for (const k of v.keys) {
      const file = {
        version: 1,
        actor: k.actor,
        alg: 'ed25519',
        key_id: k.key_id,
        public_key: k.public_key,
        seed: k.seed,
      };
      writeFileSync(
        join(keysDir, `${core.encodeRefComponent(k.key_id)}.json`),
        `${JSON.stringify(file, null, 2)}\n`,
        {
          mode: 0o600,
        },
      );
    }
    expectOk(gatos(repo, env, ['init']));
    for (const k of v.keys) {
      const r = expectOk(gatos(repo, env, ['key', 'new', '--actor', k.actor, '--json'])).json;
      expect(r).toMatchObject({ created: false, key_id: k.key_id });
    }
    for (const round of [1, 2]) {
      for (const actor of ['user:alice', 'user:bob']) {
        const mine = v.events.filter((e: any) => e.round === round && e.actor === actor);
        const file = join(tmp(), 'events.jsonl');
        writeFileSync(
          file,
          mine
            .map(({ type, payload, ulid, ts, caps }: any) =>
              JSON.stringify({ type, payload, ulid, ts, caps }),
            )
            .join('\n'),
        );
        const r = expectOk(
          gatos(repo, env, ['event', 'append', '--ns', v.ns, '--actor', actor, '--batch', file, '--json']),
        ).json;
        expect(r.appended.map((a: any) => [a.cid, a.commit])).toEqual(
          mine.map((e: any) => [e.cid, e.commit]),
        );
      }
      const want = v.checkpoints[round - 1];
      const foldArg = round === 1 ? ['--fold', join(GOLDEN_DIR, v.reducer)] : [];
      const f = expectOk(gatos(repo, env, ['fold', v.ns, ...foldArg, '--actor', v.signer, '--json'])).json;
      expect([f.checkpoint, f.state_root, f.proof_digest]).toEqual([
        want.commit,
        want.state_root,
        want.proof_digest,
      ]);
      const proof = blob(repo, `${f.checkpoint}:proof.dsse.json`);
      expect(proof.equals(readFileSync(join(GOLDEN_DIR, want.proof_file)))).toBe(true);
      expect(
        blob(repo, `${f.checkpoint}:state.json`).equals(readFileSync(join(GOLDEN_DIR, want.state_json_file))),
      ).toBe(true);
      const payload = Buffer.from(JSON.parse(proof.toString()).payload, 'base64');
      expect(payload.equals(readFileSync(join(GOLDEN_DIR, want.statement_file)))).toBe(true);
      expect(git(repo, 'rev-parse', `${f.checkpoint}^{tree}`)).toBe(want.tree);
      const raw = execFileSync('git', ['cat-file', 'commit', f.checkpoint], { cwd: repo, encoding: 'utf8' });
      expect(raw.slice(raw.indexOf('\n\n') + 2)).toBe(want.message);
    }
    expect(expectOk(gatos(repo, env, ['fold', 'verify', v.ns, '--json'])).json.ok).toBe(true);
  });
});
