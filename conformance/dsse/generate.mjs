#!/usr/bin/env node
// Regenerates conformance/dsse/vectors.json with the built @gatos/core (run `npx tsc -b` first).
// The PAE vector is hard-coded (NOTES / DSSE spec) and checked; everything else comes from the implementation and is
// cross-checked here without it (PAE by hand, signatures with @noble/ed25519, history root with @noble/hashes +
// @ipld/dag-cbor), and again by packages/gatos-core/test/{dsse,proof-of-fold}.test.ts and conformance/dsse/
// verify_dsse.py (Python `cryptography`).
//   node conformance/dsse/generate.mjs
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as dagCbor from '../../packages/gatos-core/node_modules/@ipld/dag-cbor/src/index.js';
import * as ed from '../../packages/gatos-core/node_modules/@noble/ed25519/index.js';
import { blake3 } from '../../packages/gatos-core/node_modules/@noble/hashes/blake3.js';
import { sha512 } from '../../packages/gatos-core/node_modules/@noble/hashes/sha2.js';
import { keyId, keyPairFromSeed, sign } from '../../packages/gatos-core/dist/ed25519.js';
import { pae, serializeDsse, signDsse } from '../../packages/gatos-core/dist/dsse.js';
import {
  IN_TOTO_PAYLOAD_TYPE,
  buildStatement,
  statementBytes,
} from '../../packages/gatos-core/dist/in-toto.js';
import {
  buildFoldStatement,
  checkpointCommit,
  engineString,
  foldRoot,
  historyRoot,
  proofDigest,
  signProofOfFold,
} from '../../packages/gatos-core/dist/proof-of-fold.js';
import { stateBytes, stateJsonView, stateRoot } from '../../packages/gatos-core/dist/state-root.js';

ed.hashes.sha512 = sha512;
const here = new URL('.', import.meta.url);
const enc = new TextEncoder();
const hex = (b) => Buffer.from(b).toString('hex');
const sha256 = (b) => createHash('sha256').update(b).digest('hex');
const expect = (what, got, want) => {
  if (got !== want) throw new Error(`${what}: expected ${want}, got ${got}`);
};

// ---- PAE (DSSE spec / NOTES) ----
const paeVector = {
  payloadType: 'http://example.com/HelloWorld',
  payload_utf8: 'hello world',
  pae_utf8: 'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
};
expect(
  'pae',
  Buffer.from(pae(paeVector.payloadType, enc.encode(paeVector.payload_utf8))).toString('utf8'),
  paeVector.pae_utf8,
);
paeVector.pae_hex = hex(enc.encode(paeVector.pae_utf8));

// ---- a signed DSSE envelope over a fixed in-toto statement ----
const seed = new Uint8Array(32).fill(0x42);
const { publicKey } = keyPairFromSeed(seed);
const signer = { keyId: keyId(publicKey), sign: (m) => sign(seed, m) };
const statement = buildStatement(
  [{ name: 'hello.txt', digest: { sha256: sha256(enc.encode('hello world')) } }],
  'https://gatos.dev/test/v1',
  { note: 'conformance vector', n: 1, z: [true, null, 'é'] },
);
const payload = statementBytes(statement);
const envelope = signDsse(IN_TOTO_PAYLOAD_TYPE, payload, [signer]);
const paeBytes = pae(IN_TOTO_PAYLOAD_TYPE, payload);
const sig = Buffer.from(envelope.signatures[0].sig, 'base64');
if (!ed.verify(sig, paeBytes, publicKey)) throw new Error('noble does not verify the DSSE vector');
const handPae = `DSSEv1 ${IN_TOTO_PAYLOAD_TYPE.length} ${IN_TOTO_PAYLOAD_TYPE} ${payload.length} `;
expect('pae by hand', hex(paeBytes), hex(Buffer.concat([Buffer.from(handPae), payload])));
const dsseVector = {
  seed: hex(seed),
  public_key: hex(publicKey),
  key_id: signer.keyId,
  statement,
  statement_canonical: Buffer.from(payload).toString('utf8'),
  pae_hex: hex(paeBytes),
  signature_hex: hex(sig),
  envelope,
  envelope_bytes: Buffer.from(serializeDsse(envelope)).toString('utf8'),
};

// ---- state root ----
const state = {
  counts: { 'issue.closed': 1, 'issue.opened': 2 },
  open: ['01JDA6ZB7T3Q9V2W5X8Y4K1M0N'],
  total: 3,
  B: { 10: 'ten', 2: 'two', aa: [], b: {} },
  neg: -1,
};
const sb = stateBytes(state);
const stateVector = {
  state,
  state_cbor_hex: hex(sb),
  state_root: stateRoot(state),
  state_json: stateJsonView(state),
};
expect('state root digest', stateVector.state_root, stateRoot(structuredClone(state)));

// ---- history root ----
const journals = [
  { actor: 'user:bob', head: 'b'.repeat(40), events: 1 },
  { actor: 'user:alice', head: 'a'.repeat(40), events: 2 },
];
const byHand = (pairs) =>
  hex(blake3(Buffer.concat([Buffer.from('GATOS-HISTORY-ROOT-v1\0'), dagCbor.encode(pairs)])));
const historyVector = {
  journals: journals.map(({ actor, head }) => ({ actor, head })),
  history_root: historyRoot(journals),
  empty_history_root: historyRoot([]),
};
expect(
  'history root',
  historyVector.history_root,
  byHand([
    ['user:alice', 'a'.repeat(40)],
    ['user:bob', 'b'.repeat(40)],
  ]),
);
expect('empty history root', historyVector.empty_history_root, byHand([]));

// ---- fold root, engine ----
const foldSource =
  'function fold(state, event)\n  state.total = (state.total or 0) + 1\n  return state\nend\n';
const foldVector = { source: foldSource, fold_root: foldRoot(foldSource) };
expect('fold root', foldVector.fold_root, sha256(enc.encode(foldSource)));
const engine = engineString({
  echolua: '1',
  wasmoon: '1.16.0',
  wasmSha256: sha256(enc.encode('example wasm')),
});

// ---- Proof-of-Fold ----
const fields = {
  ns: 'demo',
  state_root: stateVector.state_root,
  journals,
  prev_checkpoint: null,
  prev_state_root: null,
  event_range: {
    first: 'bafyr4id4lvq2lzo3mieds2ymf5pydfvfca5yijwu4l347upoxexva2iscy',
    last: stateRoot('last event (example)'),
    count: 3,
  },
  policy_root: 'c951755741eeabc3b72853536c1f11cee6ba3c44cb44cf98712259e168de8a53',
  fold_root: foldVector.fold_root,
  engine,
  profile: { fuel: 100_000_000, memory_bytes: 268_435_456 },
};
const pof = buildFoldStatement(fields);
const pofEnvelope = signProofOfFold(pof, signer);
const pofEnvelopeBytes = serializeDsse(pofEnvelope);
const cp = checkpointCommit({ envelope: pofEnvelope, state, foldSource });
const pofVector = {
  seed: hex(seed),
  public_key: hex(publicKey),
  fields,
  statement: pof,
  statement_canonical: Buffer.from(statementBytes(pof)).toString('utf8'),
  envelope_bytes: Buffer.from(pofEnvelopeBytes).toString('utf8'),
  proof_digest: proofDigest(pofEnvelopeBytes),
  checkpoint: {
    fold_source: foldSource,
    tree: cp.tree.oid,
    commit: cp.commit.oid,
    message: Buffer.from(cp.commit.body).toString('utf8').split('\n\n').slice(1).join('\n\n'),
  },
};
if (
  !ed.verify(
    Buffer.from(pofEnvelope.signatures[0].sig, 'base64'),
    pae(IN_TOTO_PAYLOAD_TYPE, statementBytes(pof)),
    publicKey,
  )
) {
  throw new Error('noble does not verify the proof-of-fold vector');
}

const out = {
  description: 'GATOS DSSE / in-toto / Proof-of-Fold vectors; see spec/proof-of-fold.md § Vectors',
  pae: paeVector,
  dsse: dsseVector,
  state_root: stateVector,
  history_root: historyVector,
  fold_root: foldVector,
  proof_of_fold: pofVector,
};
writeFileSync(new URL('vectors.json', here), `${JSON.stringify(out, null, 2)}\n`);
console.log('wrote conformance/dsse/vectors.json');
