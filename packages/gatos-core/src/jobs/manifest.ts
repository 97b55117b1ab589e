/**
 * The job manifest (`manifest.cbor`): what to run (program files and runtime), with what (args, env, inputs) and
 * within which limits. Validated before encoding; ingested only in canonical DAG-CBOR form. The job id is the
 * Event-CID of the manifest bytes. Normative text: `spec/job-plane.md` § 2.
 */
import { decodeCanonical, encodeValidated } from '../encoding/canonical.js';
import { GatosError } from '../errors.js';
import { eventCidString } from '../events/event-cid.js';
import { arrayOf, fieldFail, fileListOf, intIn, objectWith, stringOf } from './fields.js';

/** The program kinds a manifest may name; only `script` and `wasm` run in this implementation. */
export const PROGRAM_KINDS = ['script', 'wasm', 'container', 'nix'] as const;
/** A program kind. */
export type ProgramKind = (typeof PROGRAM_KINDS)[number];
/** Most program files, and most inputs, of one manifest. */
export const MAX_JOB_FILES = 1024;
/** Most `args` entries. */
export const MAX_JOB_ARGS = 1024;
/** Most `env` entries. */
export const MAX_JOB_ENV = 256;
/** Bounds of `limits.timeout_ms`: 1 ms to 24 h. */
export const TIMEOUT_MS_RANGE = [1, 86_400_000] as const;
/** Bounds of `limits.max_output_bytes`: 0 to 1 GiB. */
export const MAX_OUTPUT_BYTES_RANGE = [0, 1_073_741_824] as const;
/** Bounds of `limits.max_memory_mb`: 16 MB to 64 GiB. */
export const MAX_MEMORY_MB_RANGE = [16, 65_536] as const;
/** Env names a manifest may not set: the worker sets `GATOS_JOB_*` itself. */
export const RESERVED_ENV_PREFIX = 'GATOS_JOB_';
/** Largest encoded manifest: 1 MiB. */
export const MANIFEST_MAX_BYTES = 1_048_576;

const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RUNTIME_NAME_RE = /^[a-z0-9][a-z0-9._-]*$/;
const RUNTIME_DIGEST_RE = /^[a-z0-9][a-z0-9-]*:[0-9a-z]+$/;
const PRINTABLE_RE = /^[\x20-\x7e]*$/;

/** A file of the program or an input: its path (or name), content digest and size in bytes. */
export interface JobFile {
  path: string;
  digest: string;
  size: number;
}

/** A named input blob. */
export interface JobInput {
  name: string;
  digest: string;
  size: number;
}

/** The runtime a program needs, pinned by digest (§ 2: what each kind hashes). */
export interface JobRuntime {
  name: string;
  version: string;
  digest: string;
}

/** The program: kind, entry, files and runtime. */
export interface JobProgram {
  kind: ProgramKind;
  entry: string;
  files: JobFile[];
  runtime: JobRuntime;
}

/** Resource limits of a run. */
export interface JobLimits {
  timeout_ms: number;
  max_output_bytes: number;
  max_memory_mb: number;
}

/** A job manifest (`spec/job-plane.md` § 2). */
export interface JobManifest {
  v: 1;
  type: 'gatos.job';
  program: JobProgram;
  args: string[];
  env: Record<string, string>;
  inputs: JobInput[];
  limits: JobLimits;
  cache: boolean;
  nonce: string;
}

const fail = fieldFail(
  'GATOS_E_JOB_MANIFEST',
  'manifest',
  'see spec/job-plane.md § 2 for the manifest fields and their rules',
);

/**
 * Throws `GATOS_E_JOB_MANIFEST` (with `data.path`, e.g. `program.files[2].digest`) for the first rule the value
 * breaks, in field order: shape, `v`, `type`, program (kind, files, entry, runtime), args, env, inputs, limits,
 * cache, nonce.
 */
export function validateManifest(value: unknown): asserts value is JobManifest {
  const m = objectWith(
    value,
    ['v', 'type', 'program', 'args', 'env', 'inputs', 'limits', 'cache', 'nonce'],
    '(root)',
    fail,
  );
  if (m.v !== 1) throw fail('v', 'must be 1');
  if (m.type !== 'gatos.job') throw fail('type', "must be 'gatos.job'");
  const p = objectWith(m.program, ['kind', 'entry', 'files', 'runtime'], 'program', fail);
  if (typeof p.kind !== 'string' || !(PROGRAM_KINDS as readonly string[]).includes(p.kind)) {
    throw fail('program.kind', `must be one of ${PROGRAM_KINDS.join(', ')}`);
  }
  const files = fileListOf(p.files, 'path', MAX_JOB_FILES, 'program.files', fail);
  const runnable = p.kind === 'script' || p.kind === 'wasm';
  const entry = stringOf(p.entry, 'program.entry', fail, { min: 1, max: 1024 });
  if (runnable && !files.some((f) => f.path === entry)) {
    throw fail('program.entry', `must be the path of one of program.files (${JSON.stringify(entry)} is not)`);
  }
  if (!runnable && !PRINTABLE_RE.test(entry)) throw fail('program.entry', 'must be printable ASCII');
  const rt = objectWith(p.runtime, ['name', 'version', 'digest'], 'program.runtime', fail);
  stringOf(rt.name, 'program.runtime.name', fail, {
    min: 1,
    max: 64,
    re: RUNTIME_NAME_RE,
    reWhy: 'must be lowercase letters, digits, . _ -',
  });
  stringOf(rt.version, 'program.runtime.version', fail, {
    min: 1,
    max: 128,
    re: /^[\x21-\x7e]+$/,
    reWhy: 'must be printable ASCII without spaces',
  });
  stringOf(rt.digest, 'program.runtime.digest', fail, {
    min: 3,
    max: 256,
    re: RUNTIME_DIGEST_RE,
    reWhy: 'must be <algorithm>:<lowercase hex or base32>, e.g. sha256:<64 hex>',
  });
  const args = arrayOf(m.args, MAX_JOB_ARGS, 'args', fail);
  args.forEach((a, i) => {
    stringOf(a, `args[${i}]`, fail, { max: 65_536 });
  });
  const env = objectWith(m.env, Object.keys(m.env ?? {}), 'env', fail);
  const names = Object.keys(env);
  if (names.length > MAX_JOB_ENV)
    throw fail('env', `has ${names.length} entries, at most ${MAX_JOB_ENV} are allowed`);
  for (const k of names) {
    const at = `env.${k}`;
    if (!ENV_NAME_RE.test(k))
      throw fail(`env[${JSON.stringify(k)}]`, 'name must match [A-Za-z_][A-Za-z0-9_]*');
    if (k.startsWith(RESERVED_ENV_PREFIX))
      throw fail(at, `names starting with ${RESERVED_ENV_PREFIX} are reserved`);
    stringOf(env[k], at, fail, { max: 65_536 });
  }
  fileListOf(m.inputs, 'name', MAX_JOB_FILES, 'inputs', fail);
  const l = objectWith(m.limits, ['timeout_ms', 'max_output_bytes', 'max_memory_mb'], 'limits', fail);
  intIn(l.timeout_ms, ...TIMEOUT_MS_RANGE, 'limits.timeout_ms', fail);
  intIn(l.max_output_bytes, ...MAX_OUTPUT_BYTES_RANGE, 'limits.max_output_bytes', fail);
  intIn(l.max_memory_mb, ...MAX_MEMORY_MB_RANGE, 'limits.max_memory_mb', fail);
  if (typeof m.cache !== 'boolean') throw fail('cache', 'must be true or false');
  stringOf(m.nonce, 'nonce', fail, { max: 128, re: PRINTABLE_RE, reWhy: 'must be printable ASCII' });
}

/** A fresh copy holding exactly the manifest's fields (no foreign prototypes or extra keys reach the encoder). */
function copyManifest(m: JobManifest): JobManifest {
  return {
    v: 1,
    type: 'gatos.job',
    program: {
      kind: m.program.kind,
      entry: m.program.entry,
      files: m.program.files.map((f) => ({ path: f.path, digest: f.digest, size: f.size })),
      runtime: {
        name: m.program.runtime.name,
        version: m.program.runtime.version,
        digest: m.program.runtime.digest,
      },
    },
    args: [...m.args],
    env: Object.fromEntries(Object.entries(m.env)),
    inputs: m.inputs.map((f) => ({ name: f.name, digest: f.digest, size: f.size })),
    limits: {
      timeout_ms: m.limits.timeout_ms,
      max_output_bytes: m.limits.max_output_bytes,
      max_memory_mb: m.limits.max_memory_mb,
    },
    cache: m.cache,
    nonce: m.nonce,
  };
}

/** Validates a manifest and returns its canonical DAG-CBOR bytes (`manifest.cbor`). */
export function encodeManifest(manifest: unknown): Uint8Array {
  validateManifest(manifest);
  return encodeValidated(copyManifest(manifest), MANIFEST_MAX_BYTES);
}

/**
 * Reads `manifest.cbor`: strict canonical DAG-CBOR (byte-level problems keep their codes: `GATOS_E_DECODE`,
 * `GATOS_E_NOT_CANONICAL`, `GATOS_E_PAYLOAD_*`), then {@link validateManifest} (`GATOS_E_JOB_MANIFEST`).
 */
export function decodeManifest(bytes: Uint8Array): JobManifest {
  const value = decodeCanonical(bytes, { maxBytes: MANIFEST_MAX_BYTES });
  validateManifest(value);
  return value;
}

/** The job id of manifest bytes: their Event-CID string (`b…`). Hashes only; encode with {@link encodeManifest}. */
export function jobIdOf(manifestBytes: Uint8Array): string {
  if (!(manifestBytes instanceof Uint8Array) || manifestBytes.length === 0) {
    throw new GatosError('GATOS_E_JOB_MANIFEST', 'job id of empty or non-byte input');
  }
  return eventCidString(manifestBytes);
}
