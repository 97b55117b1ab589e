import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createMemoryObjectStore,
  createMemoryRefStore,
  type ClaimRecord,
  type JobManifest,
  type JobStores,
  type JobResult,
  type TrustSet,
  checkTrustedKey,
  keyId,
  keyPairFromSeed,
  sign,
  trustedKeyEntry,
} from '../src/index.js';

export const repoRoot = join(import.meta.dirname, '../../..');

/** The golden vectors of `conformance/jobs/vectors.json`. */
export interface JobVectors {
  manifest: {
    program_files: Record<string, string>;
    input_files: Record<string, string>;
    manifest: JobManifest;
    manifest_hex: string;
    job_id: string;
    identities: { program_id: string; inputs_root: string; params_digest: string; cache_key: string };
    commit: string;
  };
  claim: {
    seed: string;
    public_key: string;
    worker: string;
    record: ClaimRecord;
    claim_hex: string;
    signing_input_hex: string;
    sig_hex: string;
    commit: string;
    heartbeat: { record: ClaimRecord; commit: string };
  };
  decisions: { name: string; tip: ClaimRecord | null; now_ms: number; skew_ms: number; decision: unknown }[];
  result: {
    outputs: Record<string, string>;
    stdout: string;
    stderr: string;
    run_log: Record<string, string | number>;
    record: JobResult;
    result_hex: string;
    statement_canonical: string;
    envelope_bytes: string;
    commit: string;
  };
  invalid_manifests: { name: string; manifest: unknown; code: string; path: string }[];
}

export const V = JSON.parse(
  readFileSync(join(repoRoot, 'conformance/jobs/vectors.json'), 'utf8'),
) as JobVectors;

const enc = new TextEncoder();
export const utf8 = (s: string): Uint8Array => enc.encode(s);
export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const toMap = (o: Record<string, string>): Map<string, Uint8Array> =>
  new Map(Object.entries(o).map(([k, v]) => [k, utf8(v)]));

/** A worker key: signer and trust entry. */
export function workerKey(fill: number, actor = `service:worker${fill}`) {
  const seed = new Uint8Array(32).fill(fill);
  const { publicKey } = keyPairFromSeed(seed);
  const signer = { keyId: keyId(publicKey), sign: (m: Uint8Array) => sign(seed, m) };
  const entry = trustedKeyEntry(actor, publicKey, (m) => sign(seed, m));
  return { seed, publicKey, signer, entry };
}

/** A trust set of the given keys. */
export function trustOf(...keys: ReturnType<typeof workerKey>[]): TrustSet {
  return {
    head: null,
    keys: keys.map((k) => k.entry),
    byId: new Map(keys.map((k) => [k.entry.key_id, { ...k.entry, publicKey: checkTrustedKey(k.entry) }])),
  };
}

/** A deep copy of the vector manifest. */
export function manifestFixture(): JobManifest {
  return structuredClone(V.manifest.manifest);
}

/** The submission input of the vector manifest. */
export function submission(manifest: JobManifest = manifestFixture()) {
  return {
    manifest,
    programFiles: toMap(V.manifest.program_files),
    inputFiles: toMap(V.manifest.input_files),
  };
}

/** Fresh in-memory stores for job operations (core's tests run without git; `@gatos/git` runs them over git). */
export async function tempStores(): Promise<JobStores & { cleanup: () => Promise<void> }> {
  return { objects: createMemoryObjectStore(), refs: createMemoryRefStore(), cleanup: async () => {} };
}
