/**
 * The identities of a job (§ 3): program id, inputs root, params digest, outputs root and cache key. Each is
 * `blake3:` hex of blake3(domain tag ‖ canonical DAG-CBOR of the fields it covers), so no identity can pass for
 * another and each changes exactly when a field it covers changes.
 */
import { encodeValidated } from '../encoding/canonical.js';
import { domainDigest } from './fields.js';
import type { JobInput, JobLimits, JobManifest } from './manifest.js';

/** Domain tag of {@link programId}. */
export const PROGRAM_ID_DOMAIN = 'gatos/program-id/v1\0';
/** Domain tag of {@link inputsRoot}. */
export const INPUTS_ROOT_DOMAIN = 'gatos/inputs-root/v1\0';
/** Domain tag of {@link outputsRoot}. */
export const OUTPUTS_ROOT_DOMAIN = 'gatos/outputs-root/v1\0';
/** Domain tag of {@link paramsDigest}. */
export const PARAMS_DIGEST_DOMAIN = 'gatos/job-params/v1\0';
/** Domain tag of {@link cacheKey}. */
export const CACHE_KEY_DOMAIN = 'gatos/job-cache-key/v1\0';

/** A produced file or log: digest and size (outputs add their path). */
export interface JobBlobRef {
  digest: string;
  size: number;
}

/** An output file of a run. */
export interface JobOutput extends JobBlobRef {
  path: string;
}

const hashOf = (domain: string, value: object): string =>
  domainDigest(domain, encodeValidated(value, Number.MAX_SAFE_INTEGER));

/** The program id of a (validated) manifest: over `{kind, entry, files, runtime}`. */
export function programId(manifest: Pick<JobManifest, 'program'>): string {
  const p = manifest.program;
  return hashOf(PROGRAM_ID_DOMAIN, {
    kind: p.kind,
    entry: p.entry,
    files: p.files.map((f) => ({ path: f.path, digest: f.digest, size: f.size })),
    runtime: { name: p.runtime.name, version: p.runtime.version, digest: p.runtime.digest },
  });
}

/** The inputs root: over the inputs list `[{name, digest, size}, …]`, sorted by name as in the manifest. */
export function inputsRoot(inputs: readonly JobInput[]): string {
  return hashOf(
    INPUTS_ROOT_DOMAIN,
    inputs.map((i) => ({ name: i.name, digest: i.digest, size: i.size })),
  );
}

/** The outputs root: over `{outputs: [{path, digest, size}, …], stdout: {digest, size}, stderr: {digest, size}}`. */
export function outputsRoot(o: {
  outputs: readonly JobOutput[];
  stdout: JobBlobRef;
  stderr: JobBlobRef;
}): string {
  return hashOf(OUTPUTS_ROOT_DOMAIN, {
    outputs: o.outputs.map((f) => ({ path: f.path, digest: f.digest, size: f.size })),
    stdout: { digest: o.stdout.digest, size: o.stdout.size },
    stderr: { digest: o.stderr.digest, size: o.stderr.size },
  });
}

/** The params digest: over `{args, env, limits}`. */
export function paramsDigest(m: {
  args: readonly string[];
  env: Record<string, string>;
  limits: JobLimits;
}): string {
  return hashOf(PARAMS_DIGEST_DOMAIN, {
    args: [...m.args],
    env: Object.fromEntries(Object.entries(m.env)),
    limits: {
      timeout_ms: m.limits.timeout_ms,
      max_output_bytes: m.limits.max_output_bytes,
      max_memory_mb: m.limits.max_memory_mb,
    },
  });
}

/** The cache key from the three identities (nonce and cache flag are not part of it). */
export function cacheKeyOf(ids: { program_id: string; inputs_root: string; params_digest: string }): string {
  return hashOf(CACHE_KEY_DOMAIN, {
    program_id: ids.program_id,
    inputs_root: ids.inputs_root,
    params_digest: ids.params_digest,
  });
}

/** The identities of a validated manifest. */
export interface JobIdentities {
  program_id: string;
  inputs_root: string;
  params_digest: string;
  cache_key: string;
}

/** All identities of a manifest at once. */
export function jobIdentities(manifest: JobManifest): JobIdentities {
  const ids = {
    program_id: programId(manifest),
    inputs_root: inputsRoot(manifest.inputs),
    params_digest: paramsDigest(manifest),
  };
  return { ...ids, cache_key: cacheKeyOf(ids) };
}

/** The cache key of a manifest. */
export function cacheKey(manifest: JobManifest): string {
  return jobIdentities(manifest).cache_key;
}
