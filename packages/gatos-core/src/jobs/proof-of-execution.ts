/**
 * Proof-of-Execution: an in-toto Statement v1 (canonical JSON) in a DSSE envelope signed by the worker, stating
 * that a job's program, inputs and parameters produced given outputs and logs. Modelled on SLSA provenance v1;
 * no timestamps, so the same run always gives the same statement. {@link verifyExecution} recomputes everything
 * from the manifest commit, the result commit, the claim chain and the audit entry, and lists every mismatch.
 * Normative text: `spec/job-plane.md` § 6.
 */
import { blake3 } from '@noble/hashes/blake3.js';
import { bytesEqual, hexOf } from '../encoding/bytes.js';
import {
  type DsseEnvelope,
  type DsseSigner,
  decodeBase64Strict,
  openDsse,
  parseDsse,
  signDsse,
} from '../proofs/dsse.js';
import { GatosError, isGatosError } from '../errors.js';
import type { Oid } from '../store/git-object.js';
import {
  IN_TOTO_PAYLOAD_TYPE,
  type InTotoStatement,
  type JsonObject,
  buildStatement,
  statementBytes,
} from '../proofs/in-toto.js';
import { type ClaimLink, type JobTrust, claimChainProblem } from './claim.js';
import { contentDigest } from './fields.js';
import { jobIdentities } from './job-identity.js';
import { type JobResult, type ResultCommitData, encodeResult, resultFileProblems } from './job-result.js';
import { type JobManifest, jobIdOf } from './manifest.js';
import { type ManifestCommitData, compareFiles } from './manifest-commit.js';

/** `predicateType` of a Proof-of-Execution statement. */
export const PROOF_OF_EXECUTION_PREDICATE_TYPE = 'https://gatos.dev/ProofOfExecution/v1';
/** `buildDefinition.buildType` of the predicate. */
export const JOB_BUILD_TYPE = 'https://gatos.dev/job/v1';

/** The Proof-of-Execution predicate. */
export interface ProofOfExecutionPredicate {
  buildDefinition: {
    buildType: string;
    externalParameters: {
      job_id: string;
      args: string[];
      env: Record<string, string>;
      limits: { timeout_ms: number; max_output_bytes: number; max_memory_mb: number };
    };
    resolvedDependencies: { name: string; digest: Record<string, string> }[];
  };
  runDetails: { builder: { id: string }; metadata: { invocationId: string } };
  gatos: {
    program_id: string;
    inputs_root: string;
    params_digest: string;
    outputs_root: string;
    status: string;
    exit_code: number | null;
    signal: string | null;
    worker: string;
    cached_from: string | null;
  };
}

/** A Proof-of-Execution statement. */
export type ExecutionStatement = InTotoStatement<ProofOfExecutionPredicate>;

const blakeHex = (d: string): string => d.slice('blake3:'.length);

function runtimeDigest(digest: string): Record<string, string> {
  const i = digest.indexOf(':');
  return { [digest.slice(0, i)]: digest.slice(i + 1) };
}

/**
 * The statement for `result` of the job `manifest`: subjects `job-result` (blake3 of `result.cbor`), then
 * `outputs/<path>` per output, `logs/stdout`, `logs/stderr`; the predicate as in § 6. Pure: equal inputs give
 * byte-identical statements.
 */
export function buildExecutionStatement(manifest: JobManifest, result: JobResult): ExecutionStatement {
  const resultBytes = encodeResult(result);
  const subject = [
    { name: 'job-result', digest: { blake3: hexOf(blake3(resultBytes)) } },
    ...result.outputs.map((o) => ({ name: `outputs/${o.path}`, digest: { blake3: blakeHex(o.digest) } })),
    { name: 'logs/stdout', digest: { blake3: blakeHex(result.stdout.digest) } },
    { name: 'logs/stderr', digest: { blake3: blakeHex(result.stderr.digest) } },
  ];
  const rt = manifest.program.runtime;
  const predicate: ProofOfExecutionPredicate = {
    buildDefinition: {
      buildType: JOB_BUILD_TYPE,
      externalParameters: {
        job_id: result.job_id,
        args: [...manifest.args],
        env: Object.fromEntries(Object.entries(manifest.env)),
        limits: {
          timeout_ms: manifest.limits.timeout_ms,
          max_output_bytes: manifest.limits.max_output_bytes,
          max_memory_mb: manifest.limits.max_memory_mb,
        },
      },
      resolvedDependencies: [
        ...manifest.program.files.map((f) => ({
          name: `program/${f.path}`,
          digest: { blake3: blakeHex(f.digest) },
        })),
        ...manifest.inputs.map((f) => ({ name: `inputs/${f.name}`, digest: { blake3: blakeHex(f.digest) } })),
        { name: `runtime/${rt.name}@${rt.version}`, digest: runtimeDigest(rt.digest) },
      ],
    },
    runDetails: {
      builder: { id: `gatos-worker:${result.worker}` },
      metadata: { invocationId: `${result.job_id}/${result.claim.epoch}` },
    },
    gatos: {
      program_id: result.program_id,
      inputs_root: result.inputs_root,
      params_digest: result.params_digest,
      outputs_root: result.outputs_root,
      status: result.status,
      exit_code: result.exit_code,
      signal: result.signal,
      worker: result.worker,
      cached_from: result.cached_from,
    },
  };
  return buildStatement(subject, PROOF_OF_EXECUTION_PREDICATE_TYPE, predicate);
}

/** Signs a statement: a DSSE envelope (`application/vnd.in-toto+json`) by the worker named in the predicate. */
export function signExecution(statement: ExecutionStatement, signer: DsseSigner): DsseEnvelope {
  if (signer.keyId !== statement.predicate.gatos.worker) {
    throw new GatosError(
      'GATOS_E_JOB_RECORD',
      `the statement names worker ${statement.predicate.gatos.worker}, the signer is ${signer.keyId}`,
      { data: { worker: statement.predicate.gatos.worker, signer: signer.keyId } },
    );
  }
  return signDsse(IN_TOTO_PAYLOAD_TYPE, statementBytes(statement), [signer]);
}

/** A kind of problem {@link verifyExecution} reports. */
export type ExecutionProblemKind =
  | 'record'
  | 'signature'
  | 'unknown-key'
  | 'worker-mismatch'
  | 'job-id'
  | 'program'
  | 'inputs'
  | 'params'
  | 'outputs'
  | 'logs'
  | 'statement'
  | 'claim'
  | 'audit'
  | 'cache-source';

/** One problem found by {@link verifyExecution}. */
export interface ExecutionProblem {
  kind: ExecutionProblemKind;
  message: string;
}

/** What {@link verifyExecution} checks. */
export interface VerifyExecutionInput {
  manifest: ManifestCommitData;
  result: ResultCommitData;
  /** Registered keys (a `TrustSet` fits). */
  trust: JobTrust;
  /** The job's claim chain, oldest first (`readClaimChain` without trust; signatures are checked here). */
  claimChain: readonly ClaimLink[];
  /** The PoE envelope bytes on the audit chain's tip: `undefined` skips the check, `null` means absent. */
  auditEnvelope?: Uint8Array | null;
  /** For a cache hit (`cached_from`): the source job's manifest and result commits (verified separately). */
  cacheSource?: { manifest: ManifestCommitData; result: ResultCommitData } | null;
  /** The job id the caller asked for (checked against the manifest when given). */
  jobId?: string;
}

/** The verdict: `ok` when `problems` is empty. */
export interface ExecutionReport {
  ok: boolean;
  jobId: string;
  resultCommit: Oid;
  problems: ExecutionProblem[];
}

/**
 * Verifies a job's Proof-of-Execution without trusting any stored digest: job id, program files and program id,
 * inputs and inputs root, params digest, runtime, outputs, logs and outputs root, output limit, the envelope
 * (exactly one signature, by `result.worker`, a registered key), the signed statement against the rebuilt one,
 * the claim chain (the result's claim commit is the epoch's claim by the same worker; the chain ends in `done`
 * naming this result commit; every claim signature verifies), the audit copy and, for a cache hit, the source.
 */
export function verifyExecution(input: VerifyExecutionInput): ExecutionReport {
  const problems: ExecutionProblem[] = [];
  const add = (kind: ExecutionProblemKind, message: string) => problems.push({ kind, message });
  const { manifest: md, result: rd } = input;
  const m = md.manifest;
  const r = rd.result;

  // job id
  const jobId = jobIdOf(md.manifestBytes);
  if (input.jobId !== undefined && input.jobId !== jobId)
    add('job-id', `the manifest is job ${jobId}, not ${input.jobId}`);
  if (r.job_id !== jobId) add('job-id', `the result is for job ${r.job_id}, the manifest is job ${jobId}`);

  // program, inputs, params
  const ids = jobIdentities(m);
  for (const p of compareFiles(m.program.files, md.programFiles, 'program file')) add('program', p.message);
  for (const f of md.strayFiles) add('program', `unexpected file ${f} in the manifest commit`);
  if (r.program_id !== ids.program_id)
    add('program', `program_id is ${r.program_id}, recomputed ${ids.program_id}`);
  const rt = m.program.runtime;
  if (r.runtime.name !== rt.name || r.runtime.version !== rt.version || r.runtime.digest !== rt.digest) {
    add(
      'program',
      `ran on ${r.runtime.name} ${r.runtime.version} (${r.runtime.digest}); the manifest pins ${rt.name} ${rt.version} (${rt.digest})`,
    );
  }
  for (const p of compareFiles(m.inputs, md.inputFiles, 'input')) add('inputs', p.message);
  if (r.inputs_root !== ids.inputs_root)
    add('inputs', `inputs_root is ${r.inputs_root}, recomputed ${ids.inputs_root}`);
  if (r.params_digest !== ids.params_digest)
    add('params', `params_digest is ${r.params_digest}, recomputed ${ids.params_digest}`);

  // outputs and logs (outputs_root itself is checked when the result record is decoded)
  for (const p of resultFileProblems(rd)) add(p.kind, p.message);
  const total = r.outputs.reduce((n, o) => n + o.size, 0) + r.stdout.size + r.stderr.size;
  if (total > m.limits.max_output_bytes)
    add('outputs', `outputs and logs hold ${total} bytes, the limit is ${m.limits.max_output_bytes}`);

  // envelope and statement
  if (rd.envelopeBytes !== null) checkEnvelope(input, m, r, rd.envelopeBytes, add);

  // claim chain
  checkClaims(input, add);

  // audit copy
  if (input.auditEnvelope !== undefined) {
    if (input.auditEnvelope === null) add('audit', 'the audit chain has no entry for this result');
    else if (rd.envelopeBytes === null || !bytesEqual(input.auditEnvelope, rd.envelopeBytes)) {
      add('audit', 'the audit entry differs from the result commit envelope');
    }
  }

  // cache source
  if (r.cached_from !== null) {
    const src = input.cacheSource;
    if (!src) add('cache-source', `the result reuses job ${r.cached_from}, whose result was not given`);
    else {
      const srcId = jobIdOf(src.manifest.manifestBytes);
      const sr = src.result.result;
      if (srcId !== r.cached_from || sr.job_id !== srcId)
        add('cache-source', `the source is job ${srcId}, the result names ${r.cached_from}`);
      if (jobIdentities(src.manifest.manifest).cache_key !== ids.cache_key)
        add('cache-source', 'the source job has a different cache key');
      if (!m.cache) add('cache-source', 'the manifest does not allow a cached result (cache: false)');
      if (sr.status !== 'succeeded') add('cache-source', `the source result is ${sr.status}, not succeeded`);
      if (sr.outputs_root !== r.outputs_root)
        add('cache-source', 'the outputs differ from the source result');
    }
  } else if (input.cacheSource)
    add('cache-source', 'a cache source was given but the result is not a cache hit');

  return { ok: problems.length === 0, jobId, resultCommit: rd.commit, problems };
}

function checkEnvelope(
  input: VerifyExecutionInput,
  m: JobManifest,
  r: JobResult,
  bytes: Uint8Array,
  add: (k: ExecutionProblemKind, msg: string) => void,
): void {
  let env: DsseEnvelope;
  try {
    env = parseDsse(bytes);
  } catch (e) {
    add('record', (e as Error).message);
    return;
  }
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) add('statement', `payloadType is ${env.payloadType}`);
  if (env.signatures.length !== 1)
    add(
      'signature',
      `the envelope has ${env.signatures.length} signatures; exactly one (the worker's) is required`,
    );
  const others = env.signatures.filter((s) => s.keyid !== r.worker);
  for (const s of others) add('worker-mismatch', `signed by ${s.keyid}, the result names worker ${r.worker}`);
  if (!input.trust.byId.has(r.worker)) add('unknown-key', `worker ${r.worker} is not in the trust registry`);
  else if (others.length < env.signatures.length) {
    try {
      openDsse(env, (keyid) => (keyid === r.worker ? input.trust.byId.get(keyid)?.publicKey : undefined));
    } catch (e) {
      add('signature', isGatosError(e) ? e.message : String(e));
    }
  }
  const payload = decodeBase64Strict(env.payload);
  let expected: Uint8Array | null = null;
  try {
    expected = statementBytes(buildExecutionStatement(m, r));
  } catch (e) {
    add('statement', `cannot rebuild the statement: ${(e as Error).message}`);
  }
  if (payload !== null && expected !== null && !bytesEqual(payload, expected)) {
    add('statement', 'the signed statement differs from the statement rebuilt from the manifest and result');
  }
}

function checkClaims(input: VerifyExecutionInput, add: (k: ExecutionProblemKind, msg: string) => void): void {
  const { claimChain: chain, result: rd } = input;
  const r = rd.result;
  if (chain.length === 0) {
    add('claim', 'the job has no claim chain');
    return;
  }
  const broken = claimChainProblem(chain, input.trust);
  if (broken) add('claim', broken.message);
  const at = chain.find((l) => l.commit === r.claim.commit);
  if (!at) add('claim', `the result's claim commit ${r.claim.commit} is not in the claim chain`);
  else {
    const c = at.record;
    if (c.state !== 'claimed' || c.seq !== 0)
      add('claim', `${r.claim.commit} is not the claim that opened an epoch`);
    if (c.worker !== r.worker) add('claim', `the claim is by ${c.worker}, the result by ${r.worker}`);
    if (c.epoch !== r.claim.epoch)
      add('claim', `the claim is epoch ${c.epoch}, the result says ${r.claim.epoch}`);
    if (c.job_id !== r.job_id) add('claim', `the claim is for job ${c.job_id}`);
  }
  const tip = chain[chain.length - 1]!.record;
  if (tip.state !== 'done') add('claim', `the claim chain ends in ${tip.state}, not done`);
  else {
    if (tip.result !== rd.commit) add('claim', `the done claim names result ${tip.result}, not ${rd.commit}`);
    if (tip.worker !== r.worker || tip.epoch !== r.claim.epoch) {
      add(
        'claim',
        `the done claim is by ${tip.worker} epoch ${tip.epoch}, the result by ${r.worker} epoch ${r.claim.epoch}`,
      );
    }
  }
}

/** Digest of PoE envelope bytes as audit trailers write it (`blake3:<hex>`). */
export function envelopeDigest(envelopeBytes: Uint8Array): string {
  return contentDigest(envelopeBytes);
}

/** The statement an envelope carries, without checking signatures (for display). */
export function executionStatementOf(envelope: DsseEnvelope): JsonObject {
  const payload = decodeBase64Strict(envelope.payload);
  if (payload === null) throw new GatosError('GATOS_E_PROOF_MALFORMED', 'PoE envelope payload is not base64');
  return JSON.parse(new TextDecoder().decode(payload)) as JsonObject;
}
