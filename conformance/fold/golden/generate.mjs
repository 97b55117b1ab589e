#!/usr/bin/env node
// Proof-of-Fold golden vectors: a fixed journal (fixed key seeds, ULIDs and timestamps), folded by `reducer.lua` into
// two checkpoints (a root checkpoint, then an incremental one), with every byte a verifier must reproduce.
//
// Regenerate after a deliberate change (then review the diff):
//   npx tsc -b && node conformance/fold/golden/generate.mjs
// `packages/git-gatos/test/fold.test.ts` calls `generateGolden` with the TypeScript sources and compares every file
// byte for byte, and rebuilds the same checkpoints with the real `git gatos` CLI. See conformance/README.md.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const GOLDEN_DIR = fileURLToPath(new URL('.', import.meta.url));
export const NS = 'golden';
export const SIGNER = 'service:golden';
/** The key seeds (32 bytes, hex): fixed, so that every signature is fixed (Ed25519 is deterministic). */
export const KEYS = [
  { actor: 'user:alice', seed: '01'.repeat(32) },
  { actor: 'user:bob', seed: '02'.repeat(32) },
  { actor: SIGNER, seed: '03'.repeat(32) },
];
/** The files this script writes (besides them, the directory holds `reducer.lua` and this script). */
export const GOLDEN_FILES = [
  'vectors.json',
  'checkpoint-1.statement.json',
  'checkpoint-1.proof.dsse.json',
  'checkpoint-1.state.json',
  'checkpoint-2.statement.json',
  'checkpoint-2.proof.dsse.json',
  'checkpoint-2.state.json',
];

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const SET_KEYS = ['b', '10', 'a', '2'];

/**
 * The journal, in append order: 20 events of alice and bob, 12 in round 1 and 8 in round 2 (later timestamps).
 * Two events share each second; in every third second bob's is 1 ms earlier, elsewhere the tie is broken by actor.
 */
export function goldenEvents(ulidFrom) {
  const out = [];
  for (let i = 0; i < 20; i++) {
    const actor = i % 2 === 0 ? 'user:alice' : 'user:bob';
    const second = Math.floor(i / 2);
    const ms = T0 + second * 1000 - (actor === 'user:bob' && second % 3 === 0 ? 1 : 0);
    const kind = i % 5;
    const [type, payload] =
      kind === 0
        ? ['add', { n: i + 1 }]
        : kind === 1
          ? ['note', { text: `h\u00e9llo ${i} \u2713` }]
          : kind === 2
            ? [
                'set',
                { key: SET_KEYS[Math.floor(i / 5) % 4], value: { i, even: i % 2 === 0, tags: ['x', i] } },
              ]
            : kind === 3
              ? ['add', { n: -i }]
              : ['tick', {}];
    const e = {
      round: i < 12 ? 1 : 2,
      actor,
      type,
      ulid: ulidFrom(ms, new Uint8Array(10).fill(i + 1)),
      ts: new Date(ms).toISOString(),
      payload,
    };
    if (i % 3 === 0) e.caps = ['audit', 'ledger.write'];
    out.push(e);
  }
  return out;
}

const bytewise = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** `reducer.lua` written again in JavaScript: the generator checks the Lua fold against it. */
export function goldenModel(events) {
  const s = {};
  for (const e of events) {
    s.n = (s.n ?? 0) + 1;
    const by = s.by_actor ?? {};
    const a = by[e.actor] ?? { count: 0, sum: 0 };
    a.count += 1;
    if (e.type === 'add') a.sum += e.payload.n;
    else if (e.type === 'note') s.notes = [...(s.notes ?? []), `${e.actor}: ${e.payload.text}`];
    else if (e.type === 'set') {
      s.kv = { ...(s.kv ?? {}), [e.payload.key]: e.payload.value };
      s.kv_keys = Object.keys(s.kv).sort(bytewise).join(',');
    }
    by[e.actor] = a;
    s.by_actor = by;
    s.last = { cid: e.cid, ts: e.ts, ulid: e.ulid, caps: (e.caps ?? []).join(' ') };
  }
  return s;
}

/** Namespace order (spec/journal.md): by (ts, actor, ulid); each journal's events are in increasing ts here. */
function namespaceOrder(events) {
  const key = (e) => [e.ts, e.actor, e.ulid];
  return [...events].sort((x, y) => {
    const [a, b] = [key(x), key(y)];
    for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
    return 0;
  });
}

function check(what, ok) {
  if (!ok) throw new Error(`golden: ${what}`);
}

/**
 * Builds the golden repository in `workDir` (a new directory) with `core` (@gatos/core) and `gitlib`
 * (@gatos/git), and returns the vector files by name, as bytes.
 */
export async function generateGolden(core, gitlib, workDir) {
  const enc = new TextEncoder();
  const hex = (b) => Buffer.from(b).toString('hex');
  const reducer = readFileSync(join(GOLDEN_DIR, 'reducer.lua'), 'utf8');
  execFileSync('git', ['init', '-q', '--bare', workDir]);
  const repo = await gitlib.openRepository({ cwd: workDir });
  const objects = gitlib.createObjectStore(repo);
  const refs = gitlib.createRefStore(repo);
  const config = core.profileConfig('default');
  const vm = await core.createEchoLua({ fuel: config.fold.fuel, memoryBytes: config.fold.memory_bytes });
  try {
    const cfg = core.configCommit(config, null);
    await objects.put(cfg.objects);
    check('config', await refs.cas({ ref: core.CONFIG_REF, expect: null, next: cfg.commit.oid }));
    const keys = KEYS.map((k) => {
      const seed = Uint8Array.from(Buffer.from(k.seed, 'hex'));
      const { publicKey } = core.keyPairFromSeed(seed);
      return { ...k, seedBytes: seed, public_key: hex(publicKey), key_id: core.keyId(publicKey), publicKey };
    });
    for (const k of keys) {
      await core.registerKey(
        objects,
        refs,
        core.trustedKeyEntry(k.actor, k.publicKey, (m) => core.sign(k.seedBytes, m)),
      );
    }
    const keyOf = (actor) => keys.find((k) => k.actor === actor);
    const engine = await core.echoLuaEngineId();
    const events = goldenEvents(core.ulidFrom);
    const checkpoints = [];
    for (const round of [1, 2]) {
      for (const actor of ['user:alice', 'user:bob']) {
        const mine = events.filter((e) => e.round === round && e.actor === actor);
        const k = keyOf(actor);
        const appended = await core.appendEvents(
          mine.map((e) =>
            core.createEnvelope({
              type: e.type,
              payload: e.payload,
              actor,
              ulid: e.ulid,
              ts: e.ts,
              policy_root: core.NO_POLICY_ROOT,
              caps: e.caps,
            }),
          ),
          {
            objects,
            refs,
            ns: NS,
            signer: { actor, keyId: k.key_id, sign: (pos) => core.signEvent(k.seedBytes, pos) },
          },
        );
        appended.forEach((a, i) => {
          Object.assign(mine[i], { cid: a.cid, commit: a.commit });
        });
      }
      const signer = keyOf(SIGNER);
      const out = await core.foldNamespace({
        objects,
        refs,
        ns: NS,
        config,
        loadFold: (src) => vm.loadFold(src, 'fold'),
        engine,
        ...(round === 1 ? { foldSource: reducer } : {}),
        signer: { keyId: signer.key_id, sign: (m) => core.sign(signer.seedBytes, m) },
      });
      check(`round ${round} advanced`, out.advanced && out.result);
      const r = out.result;
      const folded = namespaceOrder(events.filter((e) => e.round === round));
      const state = core.stateFromBytes(r.files['state.cbor']);
      const model = goldenModel(namespaceOrder(events.filter((e) => e.round <= round)));
      check(
        `round ${round} state equals the JavaScript model`,
        core.canonicalJson(state) === core.canonicalJson(model),
      );
      const p = r.statement.predicate;
      check(
        `round ${round} event_range`,
        p.event_range.first === folded[0].cid &&
          p.event_range.last === folded.at(-1).cid &&
          p.event_range.count === folded.length,
      );
      const statementBytes = core.decodeBase64Strict(core.parseDsse(r.files['proof.dsse.json']).payload);
      check(
        `round ${round} statement is canonical`,
        core.canonicalJson(r.statement) === Buffer.from(statementBytes).toString(),
      );
      checkpoints.push({
        round,
        folded: folded.map((e) => e.cid),
        state,
        state_cbor_hex: hex(r.files['state.cbor']),
        state_root: p.state_root,
        history_root: p.history_root,
        journals: p.journals,
        prev_checkpoint: p.prev_checkpoint,
        prev_state_root: p.prev_state_root,
        statement: r.statement,
        statement_file: `checkpoint-${round}.statement.json`,
        proof_file: `checkpoint-${round}.proof.dsse.json`,
        state_json_file: `checkpoint-${round}.state.json`,
        proof_digest: r.proofDigest,
        tree: r.tree.oid,
        commit: r.commit.oid,
        message: core.checkpointMessage(p, r.proofDigest),
        files: { statement: statementBytes, proof: r.files['proof.dsse.json'], state: r.files['state.json'] },
      });
    }
    // Everything verifies from the repository alone.
    const trust = await core.readTrust(objects, refs);
    const report = await core.verifyFoldChain({
      objects,
      trust,
      head: checkpoints[1].commit,
      loadFold: (src) => vm.loadFold(src, 'fold'),
    });
    check(`fold verify: ${JSON.stringify(report.problems)}`, report.ok && report.checkpoints.length === 2);
    for (const c of checkpoints) {
      const v = core.verifyProofOfFold(c.files.proof, trust, {}, { actors: [SIGNER] });
      check('proof signer', v.signers.length === 1 && v.signers[0].actor === SIGNER);
    }
    execFileSync('git', ['fsck', '--strict', '--no-dangling'], { cwd: workDir, stdio: 'pipe' });

    const vectors = {
      description:
        'Proof-of-Fold golden vectors: the journal `events` (append order, per actor and round) of namespace `ns`, ' +
        'signed with the keys from `keys[].seed`, folded by reducer.lua with the `engine` and `profile` into ' +
        'checkpoint 1 (round 1, a root checkpoint) and checkpoint 2 (round 2, on top of checkpoint 1), signed by ' +
        '`signer`. Every id and byte here must be reproduced exactly. See conformance/README.md.',
      ns: NS,
      profile: config.profile,
      fold_profile: { fuel: config.fold.fuel, memory_bytes: config.fold.memory_bytes },
      engine,
      policy_root: core.NO_POLICY_ROOT,
      keys: keys.map((k) => ({ actor: k.actor, seed: k.seed, public_key: k.public_key, key_id: k.key_id })),
      signer: SIGNER,
      reducer: 'reducer.lua',
      fold_root: core.foldRoot(reducer),
      events: events.map((e) => ({
        round: e.round,
        actor: e.actor,
        type: e.type,
        ulid: e.ulid,
        ts: e.ts,
        ...(e.caps ? { caps: e.caps } : {}),
        payload: e.payload,
        cid: e.cid,
        commit: e.commit,
      })),
      checkpoints: checkpoints.map(({ files: _files, ...c }) => c),
    };
    const files = {
      'vectors.json': enc.encode(`${JSON.stringify(vectors, null, 2)}\n`),
    };
    for (const c of checkpoints) {
      files[c.statement_file] = c.files.statement;
      files[c.proof_file] = c.files.proof;
      files[c.state_json_file] = c.files.state;
    }
    check(
      'file list',
      core.canonicalJson(Object.keys(files).sort()) === core.canonicalJson([...GOLDEN_FILES].sort()),
    );
    return files;
  } finally {
    vm.close();
    await objects.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const core = await import('../../../packages/gatos-core/dist/index.js');
  const gitlib = await import('../../../packages/gatos-git/dist/index.js');
  const work = mkdtempSync(join(tmpdir(), 'gatos-golden-'));
  try {
    const files = await generateGolden(core, gitlib, join(work, 'repo.git'));
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(GOLDEN_DIR, name), bytes);
    console.log(`wrote ${Object.keys(files).length} files to ${GOLDEN_DIR}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
