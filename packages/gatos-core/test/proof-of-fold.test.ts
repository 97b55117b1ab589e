import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as dagCbor from '@ipld/dag-cbor';
import { blake3 } from '@noble/hashes/blake3.js';
import { afterAll, describe, expect, it } from 'vitest';
import { type DsseEnvelope, parseDsse, serializeDsse, signDsse } from '../src/proofs/dsse.js';
import { keyId, keyPairFromSeed, sign } from '../src/trust/ed25519.js';
import type { GatosError } from '../src/errors.js';
import { eventCidString } from '../src/events/event-cid.js';
import { type GitObject, hashObject, parseCommit } from '../src/store/git-object.js';
import { IN_TOTO_PAYLOAD_TYPE, canonicalJsonBytes, statementBytes } from '../src/proofs/in-toto.js';
import {
  CHECKPOINT_FILES,
  PROOF_OF_FOLD_PREDICATE_TYPE,
  type ProofOfFoldFields,
  type ProofOfFoldStatement,
  buildFoldStatement,
  checkpointCommit,
  checkpointMessage,
  engineString,
  foldRoot,
  historyRoot,
  parseCheckpoint,
  proofDigest,
  signProofOfFold,
  validateFoldStatement,
  verifyProofOfFold,
} from '../src/index.js';
import { stateBytes, stateRoot } from '../src/fold/state-root.js';
import { type TrustSet, checkTrustedKey, trustedKeyEntry } from '../src/trust/trust-registry.js';

const repoRoot = join(import.meta.dirname, '../../..');
const vectors = JSON.parse(readFileSync(join(repoRoot, 'conformance/dsse/vectors.json'), 'utf8')) as {
  dsse: { public_key: string; envelope_bytes: string };
  history_root: {
    journals: { actor: string; head: string }[];
    history_root: string;
    empty_history_root: string;
  };
  fold_root: { source: string; fold_root: string };
  state_root: { state: unknown; state_root: string };
  proof_of_fold: {
    seed: string;
    public_key: string;
    fields: ProofOfFoldFields;
    statement: ProofOfFoldStatement;
    statement_canonical: string;
    envelope_bytes: string;
    proof_digest: string;
    checkpoint: { fold_source: string; tree: string; commit: string; message: string };
  };
};
const V = vectors.proof_of_fold;
const enc = new TextEncoder();
const dec = new TextDecoder();
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fail = (fn: () => unknown): GatosError => {
  try {
    fn();
  } catch (e) {
    return e as GatosError;
  }
  throw new Error('expected an error');
};

const seed = new Uint8Array(32).fill(0x42);
const { publicKey } = keyPairFromSeed(seed);
const signer = { keyId: keyId(publicKey), sign: (m: Uint8Array) => sign(seed, m) };
const entry = trustedKeyEntry('service:gatosd', publicKey, (m) => sign(seed, m));
const trust: TrustSet = {
  head: null,
  keys: [entry],
  byId: new Map([[entry.key_id, { ...entry, publicKey: checkTrustedKey(entry) }]]),
};
const otherSeed = new Uint8Array(32).fill(0x07);
const other = keyPairFromSeed(otherSeed);
const otherSigner = { keyId: keyId(other.publicKey), sign: (m: Uint8Array) => sign(otherSeed, m) };

const state = vectors.state_root.state as Record<string, unknown>;
const foldSource = V.checkpoint.fold_source;
const fields = (): ProofOfFoldFields => structuredClone(V.fields);
const tmp = mkdtempSync(join(tmpdir(), 'gatos-pof-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Re-signs a modified statement without any validation (a forger's envelope). */
function forge(statement: unknown, by = signer): DsseEnvelope {
  return signDsse(IN_TOTO_PAYLOAD_TYPE, canonicalJsonBytes(statement), [by]);
}

describe('digests', () => {
  it('history_root: blake3 of the domain and the DAG-CBOR list of sorted [actor, head] pairs', () => {
    const h = vectors.history_root;
    expect(historyRoot(h.journals)).toBe(h.history_root);
    expect(historyRoot([...h.journals].reverse())).toBe(h.history_root);
    const pairs = [...h.journals].sort((a, b) => (a.actor < b.actor ? -1 : 1)).map((j) => [j.actor, j.head]);
    const msg = Buffer.concat([Buffer.from('GATOS-HISTORY-ROOT-v1\0'), dagCbor.encode(pairs)]);
    expect(h.history_root).toBe(hex(blake3(msg)));
    expect(historyRoot([])).toBe(h.empty_history_root);
    expect(h.empty_history_root).toBe(hex(blake3(Buffer.from('GATOS-HISTORY-ROOT-v1\0\x80', 'latin1'))));
    expect(fail(() => historyRoot([h.journals[0]!, h.journals[0]!])).code).toBe('GATOS_E_PROOF_MALFORMED');
    expect(fail(() => historyRoot([{ actor: 'alice', head: 'a'.repeat(40) }])).data.field).toBe('journals');
    expect(fail(() => historyRoot([{ actor: 'user:a', head: 'A'.repeat(40) }])).code).toBe(
      'GATOS_E_PROOF_MALFORMED',
    );
  });

  it('fold_root: sha256 of the fold source bytes; engine string', () => {
    expect(foldRoot(vectors.fold_root.source)).toBe(vectors.fold_root.fold_root);
    expect(foldRoot(enc.encode(vectors.fold_root.source))).toBe(vectors.fold_root.fold_root);
    expect(foldRoot('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const e = engineString({ echolua: '1', wasmoon: '1.16.0', wasmSha256: 'ab'.repeat(32) });
    expect(e).toBe(`EchoLua/1 wasmoon/1.16.0 wasm-sha256/${'ab'.repeat(32)}`);
    expect(() => engineString({ echolua: '1 2', wasmoon: '1', wasmSha256: 'ab'.repeat(32) })).toThrow();
    expect(() => engineString({ echolua: '1', wasmoon: '1', wasmSha256: 'AB'.repeat(32) })).toThrow();
  });
});

describe('Proof-of-Fold statement', () => {
  it('matches the conformance vector', () => {
    const st = buildFoldStatement(fields());
    expect(st).toEqual(V.statement);
    expect(st.predicateType).toBe(PROOF_OF_FOLD_PREDICATE_TYPE);
    expect(st.subject).toEqual([{ name: 'state:demo', digest: { blake3: hex(blake3(stateBytes(state))) } }]);
    expect(st.predicate.journals.map((j) => j.actor)).toEqual(['user:alice', 'user:bob']);
    expect(dec.decode(statementBytes(st))).toBe(V.statement_canonical);
    const env = signProofOfFold(st, signer);
    expect(dec.decode(serializeDsse(env))).toBe(V.envelope_bytes);
    expect(proofDigest(serializeDsse(env))).toBe(V.proof_digest);
    expect(V.fields.state_root).toBe(stateRoot(state));
  });

  it('holds no timestamps or run metrics: the predicate has exactly the documented fields', () => {
    expect(Object.keys(V.statement.predicate).sort()).toEqual(
      [
        'engine',
        'event_range',
        'fold_root',
        'history_root',
        'journals',
        'ns',
        'policy_root',
        'prev_checkpoint',
        'prev_state_root',
        'profile',
        'state_root',
      ].sort(),
    );
  });

  it('refuses ill-formed fields with GATOS_E_PROOF_MALFORMED naming the field', () => {
    const cid = V.fields.state_root;
    const cases: [string, (f: ProofOfFoldFields) => void, string][] = [
      ['ns', (f) => (f.ns = 'Demo'), 'ns'],
      ['state_root', (f) => (f.state_root = 'bafy'), 'state_root'],
      ['journal actor', (f) => (f.journals[0]!.actor = 'bob'), 'journals'],
      ['journal events', (f) => (f.journals[0]!.events = 0), 'journals[1]'],
      ['duplicate actor', (f) => (f.journals[1]!.actor = f.journals[0]!.actor), 'journals'],
      ['prev half set', (f) => (f.prev_checkpoint = 'c'.repeat(40)), 'prev_state_root'],
      [
        'prev bad oid',
        (f) => {
          f.prev_checkpoint = 'xyz';
          f.prev_state_root = cid;
        },
        'prev_checkpoint',
      ],
      ['count without first', (f) => (f.event_range.first = null), 'event_range'],
      ['count 0 with cids', (f) => (f.event_range.count = 0), 'event_range'],
      ['count too high', (f) => (f.event_range.count = 4), 'event_range'],
      ['first checkpoint partial', (f) => (f.event_range.count = 2), 'event_range'],
      ['policy_root', (f) => (f.policy_root = `sha256:${f.policy_root}`), 'policy_root'],
      ['fold_root', (f) => (f.fold_root = f.fold_root.toUpperCase()), 'fold_root'],
      ['engine newline', (f) => (f.engine = 'EchoLua/1\nX: y'), 'engine'],
      ['engine empty', (f) => (f.engine = ''), 'engine'],
      ['profile', (f) => (f.profile.fuel = 0), 'profile'],
      ['profile float', (f) => (f.profile.memory_bytes = 1.5), 'profile'],
    ];
    for (const [name, mutate, field] of cases) {
      const f = fields();
      mutate(f);
      const e = fail(() => buildFoldStatement(f));
      expect(e.code, name).toBe('GATOS_E_PROOF_MALFORMED');
      expect(e.data.field, name).toBe(field);
    }
    const wrongHr = { ...fields(), history_root: '0'.repeat(64) };
    expect(fail(() => buildFoldStatement(wrongHr)).data.field).toBe('history_root');
  });

  it('accepts a later checkpoint folding only new events, and an empty namespace', () => {
    const f = fields();
    f.prev_checkpoint = 'c'.repeat(40);
    f.prev_state_root = V.fields.state_root;
    f.event_range = { first: V.fields.event_range.last, last: V.fields.event_range.last, count: 1 };
    expect(buildFoldStatement(f).predicate.event_range.count).toBe(1);
    const empty = {
      ...fields(),
      journals: [],
      event_range: { first: null, last: null, count: 0 },
      state_root: stateRoot(null),
    };
    expect(buildFoldStatement(empty).predicate.history_root).toBe(vectors.history_root.empty_history_root);
  });

  it('validateFoldStatement catches a subject or history_root that disagrees (GATOS_E_PROOF_MISMATCH)', () => {
    const st = structuredClone(V.statement);
    st.subject[0]!.digest = { blake3: '00'.repeat(32) };
    expect(fail(() => validateFoldStatement(st)).data.field).toBe('subject');
    const st2 = structuredClone(V.statement);
    st2.predicate.journals[0]!.head = 'd'.repeat(40);
    const e = fail(() => validateFoldStatement(st2));
    expect(e.code).toBe('GATOS_E_PROOF_MISMATCH');
    expect(e.data.field).toBe('history_root');
    const st3 = { ...structuredClone(V.statement), predicateType: 'https://slsa.dev/provenance/v1' };
    expect(fail(() => validateFoldStatement(st3)).code).toBe('GATOS_E_PROOF_MALFORMED');
  });
});

describe('verifyProofOfFold', () => {
  const env = signProofOfFold(buildFoldStatement(fields()), signer);

  it('verifies against the trust registry and returns the statement and signer', () => {
    const out = verifyProofOfFold(env, trust);
    expect(out.statement).toEqual(V.statement);
    expect(out.predicate).toEqual(V.statement.predicate);
    expect(out.signers).toEqual([{ keyid: entry.key_id, actor: 'service:gatosd' }]);
    expect(dec.decode(out.payload)).toBe(V.statement_canonical);
    expect(verifyProofOfFold(serializeDsse(env), trust).statement).toEqual(V.statement);
    expect(verifyProofOfFold(V.envelope_bytes, trust).statement).toEqual(V.statement);
    const fn = (id: string) => (id === entry.key_id ? { actor: 'agent:folder', publicKey } : undefined);
    expect(verifyProofOfFold(env, fn).signers[0]!.actor).toBe('agent:folder');
  });

  it('checks expected fields and names the first that differs', () => {
    const p = V.statement.predicate;
    const all = { ...p, journals: [...p.journals].reverse() };
    expect(verifyProofOfFold(env, trust, all).statement).toEqual(V.statement);
    const e = fail(() =>
      verifyProofOfFold(env, trust, { state_root: stateRoot({ other: 1 }), policy_root: '0'.repeat(64) }),
    );
    expect(e.code).toBe('GATOS_E_PROOF_MISMATCH');
    expect(e.exitStatus).toBe(6);
    expect(e.data).toEqual({ field: 'state_root', expected: stateRoot({ other: 1 }), actual: p.state_root });
    expect(e.message).toContain('state_root');
    const cases: [Partial<ProofOfFoldStatement['predicate']>, string][] = [
      [{ ns: 'other' }, 'ns'],
      [{ history_root: '0'.repeat(64) }, 'history_root'],
      [{ journals: p.journals.slice(1) }, 'journals'],
      [{ prev_checkpoint: 'c'.repeat(40) }, 'prev_checkpoint'],
      [{ event_range: { ...p.event_range, count: 2 } }, 'event_range'],
      [{ policy_root: '0'.repeat(64) }, 'policy_root'],
      [{ fold_root: foldRoot('other') }, 'fold_root'],
      [{ engine: 'EchoLua/2' }, 'engine'],
      [{ profile: { fuel: 1, memory_bytes: p.profile.memory_bytes } }, 'profile'],
    ];
    for (const [exp, field] of cases) {
      const err = fail(() => verifyProofOfFold(env, trust, exp));
      expect(err.code, field).toBe('GATOS_E_PROOF_MISMATCH');
      expect(err.data.field).toBe(field);
    }
  });

  it('refuses unknown keys, keys of engines not accepted, and forged payloads (GATOS_E_PROOF_SIG)', () => {
    const unknown = signProofOfFold(buildFoldStatement(fields()), otherSigner);
    expect(fail(() => verifyProofOfFold(unknown, trust)).code).toBe('GATOS_E_PROOF_SIG');
    expect(verifyProofOfFold(env, trust, {}, { actors: ['service:gatosd'] }).signers).toHaveLength(1);
    const refused = fail(() => verifyProofOfFold(env, trust, {}, { actors: ['service:other'] }));
    expect(refused.code).toBe('GATOS_E_PROOF_SIG');
    expect(refused.data.refused).toEqual([{ keyid: entry.key_id, actor: 'service:gatosd' }]);
    expect(refused.message).toContain('not an accepted engine');
    // Swap in another statement's payload under the original signature.
    const st = structuredClone(V.statement);
    st.predicate.policy_root = '0'.repeat(64);
    const swapped = { ...env, payload: Buffer.from(canonicalJsonBytes(st)).toString('base64') };
    expect(fail(() => verifyProofOfFold(swapped, trust)).code).toBe('GATOS_E_PROOF_SIG');
  });

  it('refuses validly signed but malformed or non-canonical proofs', () => {
    const wrongType = signDsse('application/json', statementBytes(V.statement), [signer]);
    expect(fail(() => verifyProofOfFold(wrongType, trust)).data.field).toBe('payloadType');
    const pretty = signDsse(IN_TOTO_PAYLOAD_TYPE, enc.encode(JSON.stringify(V.statement)), [signer]);
    const e = fail(() => verifyProofOfFold(pretty, trust));
    expect(e.code).toBe('GATOS_E_PROOF_MALFORMED');
    expect(e.data.reason).toBe('not-canonical');
    const st = structuredClone(V.statement);
    st.predicate.journals[0]!.head = 'd'.repeat(40); // history_root no longer binds the heads
    expect(fail(() => verifyProofOfFold(forge(st), trust)).data.field).toBe('history_root');
    const st2 = structuredClone(V.statement) as unknown as { predicate: Record<string, unknown> };
    st2.predicate.run_ms = 12;
    expect(fail(() => verifyProofOfFold(forge(st2), trust)).code).toBe('GATOS_E_PROOF_MALFORMED');
    const notCanonicalEnvelope = JSON.stringify(env, null, 2);
    expect(fail(() => verifyProofOfFold(notCanonicalEnvelope, trust)).code).toBe('GATOS_E_PROOF_MALFORMED');
  });
});

describe('checkpoint commits', () => {
  const st = buildFoldStatement(fields());
  const env = signProofOfFold(st, signer);
  const cp = checkpointCommit({ envelope: env, state, foldSource });
  const filesOf = (c: { files: Record<string, Uint8Array> }) => new Map(Object.entries(c.files));
  const parsed = parseCommit(cp.commit.oid, cp.commit.body);

  it('matches the conformance vector: tree, commit, message', () => {
    expect(cp.tree.oid).toBe(V.checkpoint.tree);
    expect(cp.commit.oid).toBe(V.checkpoint.commit);
    expect(parsed.message).toBe(V.checkpoint.message);
    expect(parsed.message).toBe(checkpointMessage(st.predicate, proofDigest(serializeDsse(env))));
    expect(parsed.parents).toEqual([]);
    expect(parsed.author).toEqual({ name: 'GATOS', email: 'gatos@localhost', seconds: 0, tz: '+0000' });
    expect(parsed.committer).toEqual(parsed.author);
    expect(Object.keys(cp.files).sort()).toEqual([...CHECKPOINT_FILES]);
    expect(cp.objects.map((o) => o.type)).toEqual(['blob', 'blob', 'blob', 'blob', 'tree', 'commit']);
    expect(dec.decode(cp.files['proof.dsse.json'])).toBe(V.envelope_bytes);
    expect(cp.proofDigest).toBe(V.proof_digest);
    expect(parsed.message).toBe(
      [
        'gatos state demo: 3 events',
        '',
        `State-Root: ${st.predicate.state_root}`,
        `History-Root: ${st.predicate.history_root}`,
        `Journal-Head: user:alice ${'a'.repeat(40)}`,
        `Journal-Head: user:bob ${'b'.repeat(40)}`,
        `Policy-Root: ${st.predicate.policy_root}`,
        `Fold-Root: ${st.predicate.fold_root}`,
        `Fold-Engine: ${st.predicate.engine}`,
        `Proof-Of-Fold: ${V.proof_digest}`,
        '',
      ].join('\n'),
    );
  });

  it('is what git itself computes, passes git fsck, and its trailers parse with git', () => {
    const repo = join(tmp, 'repo');
    const git = (args: string[], input?: Uint8Array) =>
      execFileSync('git', ['-C', repo, ...args], {
        ...(input === undefined ? {} : { input }),
        env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
        stdio: ['pipe', 'pipe', 'pipe'],
      }).toString();
    execFileSync('git', ['init', '-q', repo], { stdio: 'pipe' });
    const write = (o: GitObject) => git(['hash-object', '-w', '-t', o.type, '--stdin'], o.body).trim();
    for (const o of cp.objects) expect(write(o), o.type).toBe(o.oid);
    git(['update-ref', 'refs/gatos/state/demo', cp.commit.oid]);
    git(['fsck', '--strict', '--no-dangling']);
    expect(git(['show', `${cp.commit.oid}:state.json`])).toBe(dec.decode(cp.files['state.json']));
    const trailers = git(['interpret-trailers', '--parse'], enc.encode(parsed.message));
    expect(trailers.split('\n').filter((l) => l.startsWith('Journal-Head: '))).toHaveLength(2);
    expect(trailers).toContain(`Proof-Of-Fold: ${V.proof_digest}`);
  });

  it('parseCheckpoint reads it back: trailers → fields, files → state, proof, fold source', () => {
    const back = parseCheckpoint(parsed, filesOf(cp));
    expect(back.oid).toBe(cp.commit.oid);
    expect(back.parent).toBeNull();
    expect(back.ns).toBe('demo');
    expect(back.count).toBe(3);
    expect(back.stateRoot).toBe(st.predicate.state_root);
    expect(back.historyRoot).toBe(st.predicate.history_root);
    expect(back.journals).toEqual([
      { actor: 'user:alice', head: 'a'.repeat(40) },
      { actor: 'user:bob', head: 'b'.repeat(40) },
    ]);
    expect(back.policyRoot).toBe(st.predicate.policy_root);
    expect(back.foldRoot).toBe(st.predicate.fold_root);
    expect(back.engine).toBe(st.predicate.engine);
    expect(back.proofDigest).toBe(V.proof_digest);
    expect(back.state).toEqual(state);
    expect(back.foldSource).toBe(foldSource);
    expect(back.statement).toEqual(st);
    expect(verifyProofOfFold(back.envelope, trust, { state_root: stateRoot(back.state) }).predicate.ns).toBe(
      'demo',
    );
    // A record of files works too.
    expect(parseCheckpoint(parsed, cp.files).oid).toBe(cp.commit.oid);
  });

  it('chains: the next checkpoint has the previous one as its only parent', () => {
    const next = { ...state, total: 4 };
    const f = fields();
    f.journals[1]!.events = 3; // user:alice (listed second in the vector fields) grew by one event
    f.journals[1]!.head = 'e'.repeat(40);
    f.state_root = stateRoot(next);
    f.prev_checkpoint = cp.commit.oid;
    f.prev_state_root = st.predicate.state_root;
    const cid = eventCidString(enc.encode('event 4'));
    f.event_range = { first: cid, last: cid, count: 1 };
    const env2 = signProofOfFold(buildFoldStatement(f), signer);
    const cp2 = checkpointCommit({ envelope: env2, state: next, foldSource });
    const p2 = parseCommit(cp2.commit.oid, cp2.commit.body);
    expect(p2.parents).toEqual([cp.commit.oid]);
    expect(p2.message.split('\n')[0]).toBe('gatos state demo: 1 events');
    expect(parseCheckpoint(p2, filesOf(cp2)).parent).toBe(cp.commit.oid);
    // The same checkpoint with no parent: parent ≠ prev_checkpoint.
    const orphan = parseCommit(
      'f'.repeat(40),
      enc.encode(dec.decode(cp2.commit.body).replace(`parent ${cp.commit.oid}\n`, '')),
    );
    expect(fail(() => parseCheckpoint(orphan, filesOf(cp2))).data.field).toBe('prev_checkpoint');
  });

  it('checkpointCommit refuses a state or fold source the proof does not name', () => {
    const e = fail(() => checkpointCommit({ envelope: env, state: { ...state, total: 99 }, foldSource }));
    expect(e.code).toBe('GATOS_E_PROOF_MISMATCH');
    expect(e.data.field).toBe('state_root');
    expect(
      fail(() => checkpointCommit({ envelope: env, state, foldSource: `${foldSource}-- x\n` })).data.field,
    ).toBe('fold_root');
  });

  it('parseCheckpoint refuses tampered files, trailers and commits', () => {
    const files = () => filesOf(cp);
    const withFile = (name: string, bytes: Uint8Array) => {
      const m = files();
      m.set(name, bytes);
      return m;
    };
    const missing = files();
    missing.delete('fold.lua');
    expect(fail(() => parseCheckpoint(parsed, missing)).code).toBe('GATOS_E_CHECKPOINT_INVALID');
    expect(fail(() => parseCheckpoint(parsed, withFile('extra', new Uint8Array()))).code).toBe(
      'GATOS_E_CHECKPOINT_INVALID',
    );
    const otherState = stateBytes({ ...state, total: 99 });
    expect(fail(() => parseCheckpoint(parsed, withFile('state.cbor', otherState))).data.field).toBe(
      'state_root',
    );
    expect(fail(() => parseCheckpoint(parsed, withFile('fold.lua', enc.encode('x')))).data.field).toBe(
      'fold_root',
    );
    const badJson = withFile('state.json', enc.encode('{}\n'));
    const ej = fail(() => parseCheckpoint(parsed, badJson));
    expect(ej.code).toBe('GATOS_E_CHECKPOINT_INVALID');
    expect(ej.data.file).toBe('state.json');
    const prettyProof = withFile('proof.dsse.json', enc.encode(JSON.stringify(env, null, 2)));
    const ep = fail(() => parseCheckpoint(parsed, prettyProof));
    expect(ep.code).toBe('GATOS_E_CHECKPOINT_INVALID');
    expect(ep.data.file).toBe('proof.dsse.json');
    expect(ep.exitStatus).toBe(6);
    expect(fail(() => parseCheckpoint(parsed, withFile('state.cbor', Uint8Array.of(0xff)))).data.file).toBe(
      'state.cbor',
    );

    const edit = (from: string, to: string) => {
      const body = dec.decode(cp.commit.body);
      expect(body).toContain(from);
      const edited = enc.encode(body.replace(from, to));
      return parseCommit(hashObject('commit', edited).oid, edited);
    };
    const eng = edit(`Fold-Engine: ${st.predicate.engine}`, 'Fold-Engine: EchoLua/evil');
    expect(fail(() => parseCheckpoint(eng, files())).data.field).toBe('trailer:Fold-Engine');
    const head = edit(`Journal-Head: user:bob ${'b'.repeat(40)}\n`, '');
    expect(fail(() => parseCheckpoint(head, files())).data.field).toBe('trailer:Journal-Head');
    const pod = edit(`Proof-Of-Fold: ${V.proof_digest}`, `Proof-Of-Fold: ${'0'.repeat(64)}`);
    expect(fail(() => parseCheckpoint(pod, files())).data.field).toBe('trailer:Proof-Of-Fold');
    const subj = edit('gatos state demo: 3 events', 'gatos state demo: 2 events');
    expect(fail(() => parseCheckpoint(subj, files())).data.field).toBe('subject:count');
    const dup = edit('Policy-Root:', 'Fold-Root: x\nPolicy-Root:');
    expect(fail(() => parseCheckpoint(dup, files())).code).toBe('GATOS_E_CHECKPOINT_INVALID');
    // Same fields, different bytes (e.g. a committer date): caught by rebuilding the commit.
    const date = edit(
      'committer GATOS <gatos@localhost> 0 +0000',
      'committer GATOS <gatos@localhost> 1 +0000',
    );
    const ed = fail(() => parseCheckpoint(date, files()));
    expect(ed.code).toBe('GATOS_E_CHECKPOINT_INVALID');
    expect(ed.data.field).toBe('committer');
    // An id that is not the hash of these parts: caught too.
    const stale = { ...parsed, oid: 'f'.repeat(40) };
    expect(fail(() => parseCheckpoint(stale, files())).data.expected).toBe(cp.commit.oid);
  });
});

describe('independent check with Python cryptography (conformance/dsse/verify_dsse.py)', () => {
  const python = '/usr/bin/python3';
  const script = join(repoRoot, 'conformance/dsse/verify_dsse.py');
  const run = (file: string, pk: string) => spawnSync(python, [script, file, pk], { encoding: 'utf8' });

  it('has python3-cryptography under /usr/bin/python3', () => {
    const r = spawnSync(python, ['-c', 'import cryptography.hazmat.primitives.asymmetric.ed25519'], {
      encoding: 'utf8',
    });
    expect(
      r.status,
      `${python} cannot import cryptography (${r.error?.message ?? r.stderr}); ` +
        'install it: apt-get install -y python3-cryptography',
    ).toBe(0);
  });

  it('verifies a proof-of-fold envelope and refuses tampered copies', () => {
    const env = signProofOfFold(buildFoldStatement(fields()), signer);
    const bytes = serializeDsse(env);
    const good = join(tmp, 'proof.dsse.json');
    writeFileSync(good, bytes);
    const ok = run(good, hex(publicKey));
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`keyid ${signer.keyId}`);

    const st = structuredClone(V.statement);
    st.predicate.state_root = stateRoot({ tampered: true });
    const tampered = { ...env, payload: Buffer.from(canonicalJsonBytes(st)).toString('base64') };
    const bad = join(tmp, 'tampered.dsse.json');
    writeFileSync(bad, serializeDsse(tampered));
    const r1 = run(bad, hex(publicKey));
    expect(r1.status, r1.stdout).not.toBe(0);
    expect(r1.stderr).toContain('no signature verifies');

    const typeSwap = join(tmp, 'type.dsse.json');
    writeFileSync(typeSwap, serializeDsse({ ...env, payloadType: 'application/json' }));
    expect(run(typeSwap, hex(publicKey)).status).not.toBe(0);
    expect(run(good, hex(other.publicKey)).status).not.toBe(0);
  });

  it('verifies the conformance vectors', () => {
    const a = join(tmp, 'vector-dsse.json');
    writeFileSync(a, vectors.dsse.envelope_bytes);
    const r = run(a, vectors.dsse.public_key);
    expect(r.status, r.stderr).toBe(0);
    const b = join(tmp, 'vector-pof.json');
    writeFileSync(b, V.envelope_bytes);
    expect(parseDsse(V.envelope_bytes).signatures).toHaveLength(1);
    const r2 = run(b, V.public_key);
    expect(r2.status, r2.stderr).toBe(0);
  });
});
