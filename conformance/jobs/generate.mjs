#!/usr/bin/env node
// Regenerates conformance/jobs/vectors.json with the built @gatos/core (run `npx tsc -b` first).
// Every identity is cross-checked here without the implementation (blake3 + dag-cbor by hand, the job id's
// base32 by hand, signatures with @noble/ed25519), and again by packages/gatos-core/test/job-*.test.ts.
// The invalid manifests hold their expected code and path by hand; the script refuses to write a file whose
// expectations the implementation does not meet.
//   node conformance/jobs/generate.mjs
import { writeFileSync } from 'node:fs';
import * as dagCbor from '../../packages/gatos-core/node_modules/@ipld/dag-cbor/src/index.js';
import * as ed from '../../packages/gatos-core/node_modules/@noble/ed25519/index.js';
import { blake3 } from '../../packages/gatos-core/node_modules/@noble/hashes/blake3.js';
import { sha512 } from '../../packages/gatos-core/node_modules/@noble/hashes/sha2.js';
import {
  IN_TOTO_PAYLOAD_TYPE,
  buildExecutionStatement,
  buildJobResult,
  claimCommitObjects,
  claimDecision,
  claimSigningInput,
  encodeClaim,
  encodeManifest,
  encodeResult,
  jobIdentities,
  keyId,
  keyPairFromSeed,
  manifestCommitObjects,
  nextClaim,
  outputsRoot,
  pae,
  resultCommitObjects,
  serializeDsse,
  sign,
  signExecution,
  statementBytes,
  validateManifest,
} from '../../packages/gatos-core/dist/index.js';

ed.hashes.sha512 = sha512;
const here = new URL('.', import.meta.url);
const enc = new TextEncoder();
const hex = (b) => Buffer.from(b).toString('hex');
const utf8 = (s) => enc.encode(s);
const expect = (what, got, want) => {
  if (got !== want) throw new Error(`${what}: expected ${want}, got ${got}`);
};
const b3 = (b) => `blake3:${hex(blake3(b))}`;
const byHand = (domain, value) => b3(Buffer.concat([Buffer.from(domain), dagCbor.encode(value)]));
const base32 = (bytes) => {
  const abc = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = 0;
  let acc = 0;
  let out = '';
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += abc[(acc >> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += abc[(acc << (5 - bits)) & 31];
  return out;
};

// ---- a manifest with its files ----
const programFiles = {
  'lib/util.js': 'export const twice = (s) => s + s;\n',
  'main.js': "import { readFileSync, writeFileSync } from 'node:fs';\nconsole.log('hello');\n",
};
const inputFiles = { 'data/a.txt': 'alpha\n', 'b.txt': 'beta\n' };
const fileList = (obj, key) =>
  Object.keys(obj)
    .sort()
    .map((k) => ({ [key]: k, digest: b3(utf8(obj[k])), size: utf8(obj[k]).length }));
const manifest = {
  v: 1,
  type: 'gatos.job',
  program: {
    kind: 'script',
    entry: 'main.js',
    files: fileList(programFiles, 'path'),
    runtime: { name: 'node', version: 'v20.19.0', digest: `sha256:${'ab'.repeat(32)}` },
  },
  args: ['--n', '3'],
  env: { LANG: 'C', TZ: 'UTC' },
  inputs: fileList(inputFiles, 'name'),
  limits: { timeout_ms: 60_000, max_output_bytes: 1_048_576, max_memory_mb: 256 },
  cache: true,
  nonce: '',
};
const mBytes = encodeManifest(manifest);
expect('manifest bytes', hex(mBytes), hex(dagCbor.encode(manifest)));
const jobId = `b${base32(Buffer.concat([Buffer.from([1, 0x71, 0x1e, 0x20]), blake3(mBytes)]))}`;
const ids = jobIdentities(manifest);
const p = manifest.program;
expect(
  'program_id',
  ids.program_id,
  byHand('gatos/program-id/v1\0', { kind: p.kind, entry: p.entry, files: p.files, runtime: p.runtime }),
);
expect('inputs_root', ids.inputs_root, byHand('gatos/inputs-root/v1\0', manifest.inputs));
expect(
  'params_digest',
  ids.params_digest,
  byHand('gatos/job-params/v1\0', { args: manifest.args, env: manifest.env, limits: manifest.limits }),
);
expect(
  'cache_key',
  ids.cache_key,
  byHand('gatos/job-cache-key/v1\0', {
    program_id: ids.program_id,
    inputs_root: ids.inputs_root,
    params_digest: ids.params_digest,
  }),
);
const toMap = (o) => new Map(Object.entries(o).map(([k, v]) => [k, utf8(v)]));
const mc = manifestCommitObjects({
  manifest,
  programFiles: toMap(programFiles),
  inputFiles: toMap(inputFiles),
});
expect('job id', mc.jobId, jobId);

// ---- claims ----
const seed = new Uint8Array(32).fill(0x42);
const { publicKey } = keyPairFromSeed(seed);
const worker = keyId(publicKey);
const signer = { keyId: worker, sign: (m) => sign(seed, m) };
const claim = nextClaim(null, 'claim', { jobId, worker, nowMs: 1_800_000_000_000, leaseMs: 30_000 });
const claimBytes = encodeClaim(claim);
const cc = claimCommitObjects(claim, null, signer);
if (!ed.verify(cc.sig, Buffer.concat([Buffer.from('gatos/job-claim/v1\0'), claimBytes]), publicKey)) {
  throw new Error('noble does not verify the claim signature');
}
const heartbeat = nextClaim(claim, 'heartbeat', {
  jobId,
  worker,
  nowMs: 1_800_000_010_000,
  leaseMs: 30_000,
  epoch: 0,
});
const hc = claimCommitObjects(heartbeat, cc.commit.oid, signer);

// ---- decision table (tip expires at 1000, skew 2000) ----
const tip = (state, extra = {}) => ({
  ...claim,
  state,
  expires_at_ms: 1000,
  result: state === 'done' ? 'c'.repeat(40) : null,
  ...extra,
});
const decisions = [
  ['no claim', null, 0],
  ['released', tip('released', { epoch: 3, seq: 2 }), 0],
  ['claimed, lease running', tip('claimed'), 500],
  ['claimed, expired but inside the skew', tip('claimed'), 2999],
  ['claimed, exactly at expiry + skew', tip('claimed'), 3000],
  ['claimed, long expired', tip('claimed', { epoch: 4 }), 1_000_000],
  ['done', tip('done', { seq: 1 }), 1_000_000],
].map(([name, t, nowMs]) => ({
  name,
  tip: t,
  now_ms: nowMs,
  skew_ms: 2000,
  decision: claimDecision(t, nowMs, 2000),
}));
expect('skew boundary', decisions[3].decision.kind + decisions[4].decision.kind, 'heldclaimable');

// ---- result and Proof-of-Execution ----
const outputs = { 'out/report.txt': 'alpha beta\n', 'sum.json': '{"n":3}\n' };
const run = {
  status: 'succeeded',
  exit_code: 0,
  signal: null,
  error: null,
  outputs: toMap(outputs),
  stdout: utf8('hello\n'),
  stderr: utf8(''),
  runtime: manifest.program.runtime,
};
const result = buildJobResult({ jobId, manifest }, run, { worker, epoch: 0, commit: cc.commit.oid });
expect(
  'outputs_root',
  result.outputs_root,
  byHand('gatos/outputs-root/v1\0', {
    outputs: fileList(outputs, 'path'),
    stdout: { digest: b3(run.stdout), size: 6 },
    stderr: { digest: b3(run.stderr), size: 0 },
  }),
);
expect('outputs_root again', outputsRoot(result), result.outputs_root);
const resultBytes = encodeResult(result);
const statement = buildExecutionStatement(manifest, result);
expect('subject job-result', statement.subject[0].digest.blake3, hex(blake3(resultBytes)));
const envelope = signExecution(statement, signer);
if (
  !ed.verify(
    Buffer.from(envelope.signatures[0].sig, 'base64'),
    pae(IN_TOTO_PAYLOAD_TYPE, statementBytes(statement)),
    publicKey,
  )
) {
  throw new Error('noble does not verify the PoE envelope');
}
const runLog = {
  started_at: '2027-01-15T08:00:00.000Z',
  finished_at: '2027-01-15T08:00:01.250Z',
  duration_ms: 1250,
  host: 'vector',
};
const rc = resultCommitObjects({
  result,
  outputs: run.outputs,
  stdout: run.stdout,
  stderr: run.stderr,
  envelope,
  runLog,
});

// ---- invalid manifests: one per rule, expected code and path by hand ----
const clone = () => structuredClone(manifest);
const invalid = [
  [
    'unknown field',
    (m) => {
      m.extra = 1;
    },
    '(root)',
  ],
  [
    'v is not 1',
    (m) => {
      m.v = 2;
    },
    'v',
  ],
  [
    'type',
    (m) => {
      m.type = 'job';
    },
    'type',
  ],
  [
    'program kind',
    (m) => {
      m.program.kind = 'python';
    },
    'program.kind',
  ],
  [
    'files not sorted',
    (m) => {
      m.program.files.reverse();
    },
    'program.files[1].path',
  ],
  [
    'duplicate file',
    (m) => {
      m.program.files[1] = { ...m.program.files[0] };
    },
    'program.files[1].path',
  ],
  [
    'dot-dot segment',
    (m) => {
      m.program.files[0].path = 'lib/../x.js';
    },
    'program.files[0].path',
  ],
  [
    'absolute path',
    (m) => {
      m.program.files[0].path = '/etc/passwd';
    },
    'program.files[0].path',
  ],
  [
    'path too long',
    (m) => {
      m.program.files[0].path = 'a'.repeat(256);
    },
    'program.files[0].path',
  ],
  [
    'file and directory',
    (m) => {
      m.program.files[0].path = 'lib';
      m.program.files[1].path = 'lib/x.js';
    },
    'program.files',
  ],
  [
    'digest not blake3',
    (m) => {
      m.program.files[0].digest = `sha256:${'0'.repeat(64)}`;
    },
    'program.files[0].digest',
  ],
  [
    'uppercase digest',
    (m) => {
      m.program.files[0].digest = `blake3:${'A'.repeat(64)}`;
    },
    'program.files[0].digest',
  ],
  [
    'negative size',
    (m) => {
      m.program.files[0].size = -1;
    },
    'program.files[0].size',
  ],
  [
    'entry not a file',
    (m) => {
      m.program.entry = 'missing.js';
    },
    'program.entry',
  ],
  [
    'runtime digest',
    (m) => {
      m.program.runtime.digest = 'no-colon';
    },
    'program.runtime.digest',
  ],
  [
    'arg not a string',
    (m) => {
      m.args = [1];
    },
    'args[0]',
  ],
  [
    'arg with NUL',
    (m) => {
      m.args = ['a\0b'];
    },
    'args[0]',
  ],
  [
    'env name',
    (m) => {
      m.env = { 'A-B': 'x' };
    },
    'env["A-B"]',
  ],
  [
    'reserved env',
    (m) => {
      m.env = { GATOS_JOB_ID: 'x' };
    },
    'env.GATOS_JOB_ID',
  ],
  [
    'inputs duplicate',
    (m) => {
      m.inputs[1] = { ...m.inputs[0] };
    },
    'inputs[1].name',
  ],
  [
    'timeout 0',
    (m) => {
      m.limits.timeout_ms = 0;
    },
    'limits.timeout_ms',
  ],
  [
    'timeout over 24 h',
    (m) => {
      m.limits.timeout_ms = 86_400_001;
    },
    'limits.timeout_ms',
  ],
  [
    'output over 1 GiB',
    (m) => {
      m.limits.max_output_bytes = 1_073_741_825;
    },
    'limits.max_output_bytes',
  ],
  [
    'memory under 16 MB',
    (m) => {
      m.limits.max_memory_mb = 15;
    },
    'limits.max_memory_mb',
  ],
  [
    'memory over 64 GiB',
    (m) => {
      m.limits.max_memory_mb = 65_537;
    },
    'limits.max_memory_mb',
  ],
  [
    'cache not boolean',
    (m) => {
      m.cache = 'yes';
    },
    'cache',
  ],
  [
    'nonce not printable',
    (m) => {
      m.nonce = 'é';
    },
    'nonce',
  ],
].map(([name, mutate, path]) => {
  const m = clone();
  mutate(m);
  try {
    validateManifest(m);
  } catch (e) {
    expect(`${name}: code`, e.code, 'GATOS_E_JOB_MANIFEST');
    expect(`${name}: path`, e.data.path, path);
    return { name, manifest: m, code: 'GATOS_E_JOB_MANIFEST', path };
  }
  throw new Error(`${name}: accepted`);
});

const out = {
  description: 'GATOS job plane vectors; see spec/job-plane.md § 7',
  manifest: {
    program_files: programFiles,
    input_files: inputFiles,
    manifest,
    manifest_hex: hex(mBytes),
    job_id: jobId,
    identities: ids,
    commit: mc.commit.oid,
  },
  claim: {
    seed: hex(seed),
    public_key: hex(publicKey),
    worker,
    record: claim,
    claim_hex: hex(claimBytes),
    signing_input_hex: hex(claimSigningInput(claimBytes)),
    sig_hex: hex(cc.sig),
    commit: cc.commit.oid,
    heartbeat: { record: heartbeat, commit: hc.commit.oid },
  },
  decisions,
  result: {
    outputs,
    stdout: 'hello\n',
    stderr: '',
    run_log: runLog,
    record: result,
    result_hex: hex(resultBytes),
    statement,
    statement_canonical: Buffer.from(statementBytes(statement)).toString('utf8'),
    envelope_bytes: Buffer.from(serializeDsse(envelope)).toString('utf8'),
    commit: rc.commit.oid,
  },
  invalid_manifests: invalid,
};
writeFileSync(new URL('vectors.json', here), `${JSON.stringify(out, null, 2)}\n`);
console.log('wrote conformance/jobs/vectors.json');
