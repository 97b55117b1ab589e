/** Shared fixtures of the job-plane tests: the conformance vectors, keys, trust, and real git repositories. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createObjectStore, createRefStore, openRepository } from '@gatos/git';
import {
  type ClaimRecord,
  type JobManifest,
  type JobResult,
  type JobStores,
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

/** Runs git in `dir`, without user or system config. */
export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd: dir,
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
    .toString('utf8')
    .trim();
}

/** A fresh git repository in a temp dir with @gatos/git stores over it. */
export async function tempStores(): Promise<JobStores & { dir: string; cleanup: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'gatos-job-test-'));
  git(dir, 'init', '-q');
  const repo = await openRepository({ cwd: dir });
  const objects = createObjectStore(repo);
  const refs = createRefStore(repo);
  return {
    dir,
    objects,
    refs,
    cleanup: async () => {
      await objects.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
