/**
 * The job result (`result.cbor`): the hashed identity of a run — ids of what ran, status, digests of outputs and
 * logs, the worker and the claim it ran under. No timestamps: `run.json` carries those, unsigned and unhashed.
 * The result commit (`refs/gatos/jobs/<job-id>/result`) holds the record, the outputs, the logs, the PoE
 * envelope and the run log. Normative text: `spec/job-plane.md` § 5.
 */
import { decodeCanonical, encodeValidated } from '../encoding/canonical.js';
import { type DsseEnvelope, parseDsse, serializeDsse } from '../proofs/dsse.js';
import { GatosError } from '../errors.js';
import { type GitObject, type Oid, isOid } from '../store/git-object.js';
import { type JsonObject, prettyJson } from '../proofs/in-toto.js';
import type { ObjectStore } from '../store/object-store.js';
import { filesCommit, filesUnder, readCommitFiles } from './commit-files.js';
import {
  contentDigest,
  digestOf,
  fieldFail,
  fileListOf,
  intIn,
  objectWith,
  stringOf,
  WORKER_KEY_ID_RE,
} from './fields.js';
import { isPlainObject } from '../encoding/bytes.js';
import { JOB_ID_RE } from '../ref-layout.js';
import { type JobBlobRef, type JobOutput, jobIdentities, outputsRoot } from './job-identity.js';
import type { JobRuntime } from './manifest.js';
import type { ManifestCommitData } from './manifest-commit.js';

/** Statuses of a run. */
export const JOB_STATUSES = [
  'succeeded',
  'failed',
  'timeout',
  'signaled',
  'limit-exceeded',
  'error',
] as const;
/** A run status. */
export type JobStatus = (typeof JOB_STATUSES)[number];
/** Most output files of one result (the PoE statement has one subject per output, plus three). */
export const MAX_JOB_OUTPUTS = 1000;
/** File of the result record in the result commit. */
export const RESULT_FILE = 'result.cbor';
/** File of the PoE envelope in the result commit. */
export const POE_FILE = 'poe.dsse.json';
/** File of the run log in the result commit (not signed, not hashed into the result). */
export const RUN_LOG_FILE = 'run.json';
/** Directory of the outputs in the result commit. */
export const OUTPUTS_DIR = 'outputs';
/** Path of stdout in the result commit. */
export const STDOUT_FILE = 'logs/stdout';
/** Path of stderr in the result commit. */
export const STDERR_FILE = 'logs/stderr';

/** A job result (`result.cbor`). */
export interface JobResult {
  v: 1;
  type: 'gatos.job.result';
  job_id: string;
  program_id: string;
  inputs_root: string;
  params_digest: string;
  status: JobStatus;
  exit_code: number | null;
  signal: string | null;
  error: string | null;
  outputs: JobOutput[];
  stdout: JobBlobRef;
  stderr: JobBlobRef;
  outputs_root: string;
  worker: string;
  claim: { epoch: number; commit: string };
  runtime: JobRuntime;
  cached_from: string | null;
}

const RESULT_KEYS = [
  'v',
  'type',
  'job_id',
  'program_id',
  'inputs_root',
  'params_digest',
  'status',
  'exit_code',
  'signal',
  'error',
  'outputs',
  'stdout',
  'stderr',
  'outputs_root',
  'worker',
  'claim',
  'runtime',
  'cached_from',
] as const;
const fail = fieldFail('GATOS_E_JOB_RECORD', 'result');
const SIGNAL_RE = /^SIG[A-Z0-9]+$/;

/**
 * Throws `GATOS_E_JOB_RECORD` (with `data.path`) unless `v` is a well-formed result: fields and types,
 * `outputs_root` recomputed from outputs and logs, and status consistency — `succeeded`: exit 0, no signal, no
 * error; `failed`: exit code ≠ 0, no signal; `signaled`: a signal, no exit code; `error`: an error text, no exit
 * code, no signal; `timeout` and `limit-exceeded`: anything the run ended with.
 */
export function validateResult(v: unknown): asserts v is JobResult {
  const r = objectWith(v, RESULT_KEYS, '(root)', fail);
  if (r.v !== 1) throw fail('v', 'must be 1');
  if (r.type !== 'gatos.job.result') throw fail('type', "must be 'gatos.job.result'");
  stringOf(r.job_id, 'job_id', fail, { max: 59, re: JOB_ID_RE, reWhy: 'must be a job id (b…)' });
  for (const k of ['program_id', 'inputs_root', 'params_digest', 'outputs_root'] as const)
    digestOf(r[k], k, fail);
  if (typeof r.status !== 'string' || !(JOB_STATUSES as readonly string[]).includes(r.status)) {
    throw fail('status', `must be one of ${JOB_STATUSES.join(', ')}`);
  }
  if (r.exit_code !== null) intIn(r.exit_code, 0, 255, 'exit_code', fail);
  if (r.signal !== null)
    stringOf(r.signal, 'signal', fail, { max: 32, re: SIGNAL_RE, reWhy: 'must be a signal name' });
  if (r.error !== null) stringOf(r.error, 'error', fail, { min: 1, max: 4096 });
  const st = r.status as JobStatus;
  if (st === 'succeeded' && (r.exit_code !== 0 || r.signal !== null || r.error !== null)) {
    throw fail('status', 'succeeded means exit code 0, no signal and no error');
  }
  if (st === 'failed' && (r.exit_code === null || r.exit_code === 0 || r.signal !== null)) {
    throw fail('status', 'failed means a non-zero exit code and no signal');
  }
  if (st === 'signaled' && (r.signal === null || r.exit_code !== null)) {
    throw fail('status', 'signaled means a signal and no exit code');
  }
  if (st === 'error' && (r.error === null || r.exit_code !== null || r.signal !== null)) {
    throw fail('status', 'error means an error text, no exit code and no signal');
  }
  const outputs = fileListOf(r.outputs, 'path', MAX_JOB_OUTPUTS, 'outputs', fail);
  for (const k of ['stdout', 'stderr'] as const) {
    const b = objectWith(r[k], ['digest', 'size'], k, fail);
    digestOf(b.digest, `${k}.digest`, fail);
    intIn(b.size, 0, Number.MAX_SAFE_INTEGER, `${k}.size`, fail);
  }
  const root = outputsRoot({ outputs, stdout: r.stdout as JobBlobRef, stderr: r.stderr as JobBlobRef });
  if (root !== r.outputs_root)
    throw fail('outputs_root', `is not the root of the outputs and logs (${root})`);
  stringOf(r.worker, 'worker', fail, {
    max: 40,
    re: WORKER_KEY_ID_RE,
    reWhy: 'must be a key id ed25519:<32 hex>',
  });
  const c = objectWith(r.claim, ['epoch', 'commit'], 'claim', fail);
  intIn(c.epoch, 0, Number.MAX_SAFE_INTEGER, 'claim.epoch', fail);
  if (!isOid(c.commit)) throw fail('claim.commit', 'must be a commit id (40 hex)');
  const rt = objectWith(r.runtime, ['name', 'version', 'digest'], 'runtime', fail);
  for (const k of ['name', 'version', 'digest'] as const)
    stringOf(rt[k], `runtime.${k}`, fail, { min: 1, max: 256 });
  if (r.cached_from !== null) {
    stringOf(r.cached_from, 'cached_from', fail, {
      max: 59,
      re: JOB_ID_RE,
      reWhy: 'must be null or a job id',
    });
    if (r.cached_from === r.job_id) throw fail('cached_from', 'a job cannot reuse its own result');
  }
}

function copyResult(r: JobResult): Record<string, unknown> {
  return {
    v: 1,
    type: 'gatos.job.result',
    job_id: r.job_id,
    program_id: r.program_id,
    inputs_root: r.inputs_root,
    params_digest: r.params_digest,
    status: r.status,
    exit_code: r.exit_code,
    signal: r.signal,
    error: r.error,
    outputs: r.outputs.map((o) => ({ path: o.path, digest: o.digest, size: o.size })),
    stdout: { digest: r.stdout.digest, size: r.stdout.size },
    stderr: { digest: r.stderr.digest, size: r.stderr.size },
    outputs_root: r.outputs_root,
    worker: r.worker,
    claim: { epoch: r.claim.epoch, commit: r.claim.commit },
    runtime: { name: r.runtime.name, version: r.runtime.version, digest: r.runtime.digest },
    cached_from: r.cached_from,
  };
}

/** Validates a result and returns its canonical DAG-CBOR bytes (`result.cbor`). */
export function encodeResult(result: unknown): Uint8Array {
  validateResult(result);
  return encodeValidated(copyResult(result), 1_048_576);
}

/** Strictly decodes and validates `result.cbor` (`GATOS_E_DECODE`/`GATOS_E_NOT_CANONICAL`, `GATOS_E_JOB_RECORD`). */
export function decodeResult(bytes: Uint8Array): JobResult {
  const v = decodeCanonical(bytes, { maxBytes: 1_048_576 });
  validateResult(v);
  return v;
}

/** What a run produced, before it becomes a {@link JobResult}. */
export interface JobRun {
  status: JobStatus;
  exit_code: number | null;
  signal: string | null;
  error: string | null;
  /** Output path → bytes. */
  outputs: ReadonlyMap<string, Uint8Array>;
  stdout: Uint8Array;
  stderr: Uint8Array;
  /** What actually ran (must equal the manifest's runtime for the result to verify). */
  runtime: JobRuntime;
  /** The job whose verified result was reused, or null. */
  cached_from?: string | null;
}

/** Builds the result of a run of `manifest` by `worker` under the claim `claim` (digests and roots computed). */
export function buildJobResult(
  manifest: Pick<ManifestCommitData, 'jobId' | 'manifest'>,
  run: JobRun,
  claim: { worker: string; epoch: number; commit: Oid },
): JobResult {
  const ids = jobIdentities(manifest.manifest);
  const outputs = [...run.outputs]
    .map(([path, b]) => ({ path, digest: contentDigest(b), size: b.length }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const stdout = { digest: contentDigest(run.stdout), size: run.stdout.length };
  const stderr = { digest: contentDigest(run.stderr), size: run.stderr.length };
  const result: JobResult = {
    v: 1,
    type: 'gatos.job.result',
    job_id: manifest.jobId,
    program_id: ids.program_id,
    inputs_root: ids.inputs_root,
    params_digest: ids.params_digest,
    status: run.status,
    exit_code: run.exit_code,
    signal: run.signal,
    error: run.error,
    outputs,
    stdout,
    stderr,
    outputs_root: outputsRoot({ outputs, stdout, stderr }),
    worker: claim.worker,
    claim: { epoch: claim.epoch, commit: claim.commit },
    runtime: { ...run.runtime },
    cached_from: run.cached_from ?? null,
  };
  validateResult(result);
  return result;
}

/** Input of {@link resultCommitObjects}. */
export interface ResultCommitInput {
  result: JobResult;
  /** Output path → bytes: exactly the result's outputs. */
  outputs: ReadonlyMap<string, Uint8Array>;
  stdout: Uint8Array;
  stderr: Uint8Array;
  /** The signed PoE envelope. */
  envelope: DsseEnvelope;
  /** `run.json`: timestamps, duration, host — written as pretty JSON when an object, as given when bytes. */
  runLog: JsonObject | Uint8Array;
}

/** A result commit and what it needs. */
export interface ResultCommit {
  commit: GitObject;
  objects: GitObject[];
  resultBytes: Uint8Array;
  envelopeBytes: Uint8Array;
}

/** The message of a result commit. */
export function resultMessage(r: JobResult): string {
  return `gatos job result ${r.job_id} ${r.status}\n`;
}

/**
 * The result commit: tree `result.cbor`, `poe.dsse.json`, `run.json`, `outputs/<path>`, `logs/stdout`,
 * `logs/stderr`; no parent; fixed ident. Outputs and logs must match the result (`GATOS_E_JOB_RECORD`,
 * `data.file`).
 */
export function resultCommitObjects(input: ResultCommitInput): ResultCommit {
  const r = input.result;
  const resultBytes = encodeResult(r);
  const bad = (file: string, why: string) =>
    new GatosError('GATOS_E_JOB_RECORD', `result ${file}: ${why}`, { data: { file } });
  const listed = new Set(r.outputs.map((o) => o.path));
  for (const o of r.outputs) {
    const b = input.outputs.get(o.path);
    if (b === undefined) throw bad(`${OUTPUTS_DIR}/${o.path}`, 'missing');
    if (b.length !== o.size || contentDigest(b) !== o.digest)
      throw bad(`${OUTPUTS_DIR}/${o.path}`, 'digest or size differs');
  }
  for (const p of input.outputs.keys()) if (!listed.has(p)) throw bad(`${OUTPUTS_DIR}/${p}`, 'not listed');
  for (const [file, b, ref] of [
    [STDOUT_FILE, input.stdout, r.stdout],
    [STDERR_FILE, input.stderr, r.stderr],
  ] as const) {
    if (b.length !== ref.size || contentDigest(b) !== ref.digest) throw bad(file, 'digest or size differs');
  }
  const envelopeBytes = serializeDsse(input.envelope);
  const runLog =
    input.runLog instanceof Uint8Array ? input.runLog : new TextEncoder().encode(prettyJson(input.runLog));
  const files = new Map<string, Uint8Array>([
    [RESULT_FILE, resultBytes],
    [POE_FILE, envelopeBytes],
    [RUN_LOG_FILE, runLog],
    [STDOUT_FILE, input.stdout],
    [STDERR_FILE, input.stderr],
  ]);
  for (const o of r.outputs) files.set(`${OUTPUTS_DIR}/${o.path}`, input.outputs.get(o.path)!);
  const built = filesCommit(files, [], resultMessage(r));
  return { commit: built.commit, objects: built.objects, resultBytes, envelopeBytes };
}

/** A result commit as read from a store (files as found; see {@link readResultCommit}). */
export interface ResultCommitData {
  commit: Oid;
  parents: Oid[];
  message: string;
  result: JobResult;
  resultBytes: Uint8Array;
  outputs: Map<string, Uint8Array>;
  stdout: Uint8Array | null;
  stderr: Uint8Array | null;
  envelopeBytes: Uint8Array | null;
  runLog: Uint8Array | null;
  /** Files that have no place in a result commit. */
  strayFiles: string[];
}

/**
 * Reads a result commit. `result.cbor` must decode ({@link decodeResult}); with `strict` (default) the outputs,
 * logs and envelope must be present and match (`GATOS_E_JOB_RECORD` with `data.file`), the commit parentless
 * with the canonical message; with `strict: false` everything is returned as found, for {@link verifyExecution}.
 */
export async function readResultCommit(
  objects: ObjectStore,
  oid: Oid,
  opts: { strict?: boolean } = {},
): Promise<ResultCommitData> {
  const { commit, files } = await readCommitFiles(objects, oid);
  const bad = (file: string, why: string) =>
    new GatosError('GATOS_E_JOB_RECORD', `result commit ${oid.slice(0, 12)}: ${file}: ${why}`, {
      data: { commit: oid, file },
    });
  const resultBytes = files.get(RESULT_FILE);
  if (!resultBytes) throw bad(RESULT_FILE, 'missing');
  const result = decodeResult(resultBytes);
  const known = new Set([RESULT_FILE, POE_FILE, RUN_LOG_FILE, STDOUT_FILE, STDERR_FILE]);
  const data: ResultCommitData = {
    commit: oid,
    parents: commit.parents,
    message: commit.message,
    result,
    resultBytes,
    outputs: filesUnder(files, OUTPUTS_DIR),
    stdout: files.get(STDOUT_FILE) ?? null,
    stderr: files.get(STDERR_FILE) ?? null,
    envelopeBytes: files.get(POE_FILE) ?? null,
    runLog: files.get(RUN_LOG_FILE) ?? null,
    strayFiles: [...files.keys()].filter((p) => !known.has(p) && !p.startsWith(`${OUTPUTS_DIR}/`)),
  };
  if (opts.strict ?? true) {
    const p = resultFileProblems(data)[0];
    if (p) throw bad(p.file, p.message);
  }
  return data;
}

/** Every mismatch between a result commit's files and its record (outputs, logs, envelope, layout). */
export function resultFileProblems(
  d: ResultCommitData,
): { kind: 'outputs' | 'logs' | 'record'; file: string; message: string }[] {
  const out: { kind: 'outputs' | 'logs' | 'record'; file: string; message: string }[] = [];
  const r = d.result;
  const listed = new Set(r.outputs.map((o) => o.path));
  for (const o of r.outputs) {
    const file = `${OUTPUTS_DIR}/${o.path}`;
    const b = d.outputs.get(o.path);
    if (b === undefined) out.push({ kind: 'outputs', file, message: `${file} is missing` });
    else if (b.length !== o.size || contentDigest(b) !== o.digest) {
      out.push({
        kind: 'outputs',
        file,
        message: `${file} has digest ${contentDigest(b)} (${b.length} bytes), the result says ${o.digest} (${o.size} bytes)`,
      });
    }
  }
  for (const p of d.outputs.keys()) {
    if (!listed.has(p))
      out.push({
        kind: 'outputs',
        file: `${OUTPUTS_DIR}/${p}`,
        message: `${OUTPUTS_DIR}/${p} is not listed in the result`,
      });
  }
  for (const [file, b, ref] of [
    [STDOUT_FILE, d.stdout, r.stdout],
    [STDERR_FILE, d.stderr, r.stderr],
  ] as const) {
    if (b === null) out.push({ kind: 'logs', file, message: `${file} is missing` });
    else if (b.length !== ref.size || contentDigest(b) !== ref.digest) {
      out.push({
        kind: 'logs',
        file,
        message: `${file} has digest ${contentDigest(b)}, the result says ${ref.digest}`,
      });
    }
  }
  if (d.envelopeBytes === null)
    out.push({ kind: 'record', file: POE_FILE, message: `${POE_FILE} is missing` });
  else {
    try {
      parseDsse(d.envelopeBytes);
    } catch (e) {
      out.push({ kind: 'record', file: POE_FILE, message: `${POE_FILE}: ${(e as Error).message}` });
    }
  }
  if (d.runLog === null)
    out.push({ kind: 'record', file: RUN_LOG_FILE, message: `${RUN_LOG_FILE} is missing` });
  else {
    try {
      const v: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(d.runLog));
      if (!isPlainObject(v)) throw new Error('not a JSON object');
    } catch (e) {
      out.push({
        kind: 'record',
        file: RUN_LOG_FILE,
        message: `${RUN_LOG_FILE} is not a JSON object: ${(e as Error).message}`,
      });
    }
  }
  for (const f of d.strayFiles) out.push({ kind: 'record', file: f, message: `unexpected file ${f}` });
  if (d.parents.length !== 0)
    out.push({ kind: 'record', file: '(commit)', message: 'a result commit has no parent' });
  if (d.message !== resultMessage(r))
    out.push({ kind: 'record', file: '(commit)', message: 'the commit message does not match the result' });
  return out;
}
