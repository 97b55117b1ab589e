import * as dagCbor from '@ipld/dag-cbor';
import { describe, expect, it } from 'vitest';
import {
  type GatosError,
  type JobManifest,
  cacheKey,
  contentDigest,
  decodeManifest,
  encodeManifest,
  jobIdOf,
  jobIdentities,
  manifestCommitObjects,
  validateManifest,
} from '../src/index.js';
import { V, hex, manifestFixture, submission, toMap, utf8 } from './job-helpers.js';

const fail = (fn: () => unknown): GatosError => {
  try {
    fn();
  } catch (e) {
    return e as GatosError;
  }
  throw new Error('expected an error');
};

describe('manifest: golden vectors (conformance/jobs/vectors.json)', () => {
  it('encodes to the vector bytes, job id and identities', () => {
    const bytes = encodeManifest(V.manifest.manifest);
    expect(hex(bytes)).toBe(V.manifest.manifest_hex);
    expect(jobIdOf(bytes)).toBe(V.manifest.job_id);
    expect(jobIdentities(V.manifest.manifest)).toEqual(V.manifest.identities);
    expect(decodeManifest(bytes)).toEqual(V.manifest.manifest);
  });

  it('builds the vector manifest commit', () => {
    const mc = manifestCommitObjects(submission());
    expect(mc.jobId).toBe(V.manifest.job_id);
    expect(mc.commit.oid).toBe(V.manifest.commit);
  });

  it('refuses every invalid vector with its code and path', () => {
    expect(V.invalid_manifests.length).toBeGreaterThan(20);
    for (const v of V.invalid_manifests) {
      const e = fail(() => validateManifest(v.manifest));
      expect(e.code, v.name).toBe(v.code);
      expect(e.data.path, v.name).toBe(v.path);
      expect(e.message, v.name).toContain(`manifest ${v.path}:`);
    }
  });
});

describe('manifest: validation', () => {
  const bad = (mutate: (m: Record<string, unknown> & JobManifest) => void): GatosError => {
    const m = manifestFixture() as Record<string, unknown> & JobManifest;
    mutate(m);
    return fail(() => encodeManifest(m));
  };

  it('reports missing fields, wrong types and non-plain values as GATOS_E_JOB_MANIFEST with a path', () => {
    const cases: [(m: Record<string, unknown> & JobManifest) => void, string][] = [
      [(m) => delete (m as Record<string, unknown>).nonce, '(root)'],
      [(m) => (m.limits.timeout_ms = 1.5), 'limits.timeout_ms'],
      [(m) => (m.limits.max_output_bytes = Number.NaN), 'limits.max_output_bytes'],
      [(m) => ((m as Record<string, unknown>).env = new Map()), 'env'],
      [(m) => ((m as Record<string, unknown>).args = 'x'), 'args'],
      [
        (m) => ((m.program.files[0] as unknown as Record<string, unknown>).mode = '100755'),
        'program.files[0]',
      ],
      [(m) => (m.program.files[0]!.path = 'a/./b'), 'program.files[0].path'],
      [(m) => (m.program.files[0]!.path = 'a b'), 'program.files[0].path'],
      [(m) => (m.program.runtime.name = 'Node'), 'program.runtime.name'],
      [(m) => (m.program.runtime.version = ''), 'program.runtime.version'],
      [(m) => (m.inputs[0]!.name = '..'), 'inputs[0].name'],
      [(m) => (m.nonce = 'x'.repeat(129)), 'nonce'],
    ];
    for (const [mutate, path] of cases) {
      const e = bad(mutate);
      expect(e.code, path).toBe('GATOS_E_JOB_MANIFEST');
      expect(e.data.path, path).toBe(path);
    }
  });

  it('bounds the number of files, args and env entries', () => {
    const files = Array.from({ length: 1025 }, (_, i) => ({
      path: `f${String(i).padStart(5, '0')}`,
      digest: contentDigest(utf8('')),
      size: 0,
    }));
    expect(bad((m) => (m.program.files = files)).data.path).toBe('program.files');
    expect(bad((m) => (m.args = Array(1025).fill('a'))).data.path).toBe('args');
    const env = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`V${i}`, '']));
    expect(bad((m) => (m.env = env)).data.path).toBe('env');
  });

  it('accepts the limit bounds themselves', () => {
    const m = manifestFixture();
    m.limits = { timeout_ms: 1, max_output_bytes: 0, max_memory_mb: 16 };
    expect(() => encodeManifest(m)).not.toThrow();
    m.limits = { timeout_ms: 86_400_000, max_output_bytes: 1_073_741_824, max_memory_mb: 65_536 };
    expect(() => encodeManifest(m)).not.toThrow();
  });

  it('container and nix programs name an entry reference and may have no files', () => {
    const m = manifestFixture();
    m.program = {
      kind: 'container',
      entry: 'registry.example/app@sha256:00',
      files: [],
      runtime: { name: 'oci', version: '1', digest: `sha256:${'1'.repeat(64)}` },
    };
    expect(decodeManifest(encodeManifest(m)).program.kind).toBe('container');
    m.program.kind = 'script';
    expect(fail(() => encodeManifest(m)).data.path).toBe('program.entry');
  });

  it('ingests canonical bytes only; shape errors after decoding are GATOS_E_JOB_MANIFEST', () => {
    const bytes = encodeManifest(manifestFixture());
    // The root map's length written with a 2-byte argument instead of the minimal 1 byte.
    const withLen = Uint8Array.from([0xb9, 0x00, bytes[0]! & 0x1f, ...bytes.subarray(1)]);
    expect(fail(() => decodeManifest(withLen)).code).toMatch(/^GATOS_E_(DECODE|NOT_CANONICAL)$/);
    expect(fail(() => decodeManifest(utf8('not cbor'))).code).toMatch(/^GATOS_E_(DECODE|NOT_CANONICAL)$/);
    expect(fail(() => decodeManifest(Uint8Array.from([...bytes, 0]))).code).toMatch(
      /^GATOS_E_(DECODE|NOT_CANONICAL)$/,
    );
    const wrongShape = dagCbor.encode({ ...manifestFixture(), v: 2 });
    const e = fail(() => decodeManifest(wrongShape));
    expect(e.code).toBe('GATOS_E_JOB_MANIFEST');
    expect(e.data.path).toBe('v');
  });
});

describe('identities (§ 3)', () => {
  const ids = (mutate: (m: JobManifest) => void) => {
    const m = manifestFixture();
    mutate(m);
    return { ...jobIdentities(m), job_id: jobIdOf(encodeManifest(m)) };
  };
  const base = ids(() => {});

  it('are stable across copies', () => {
    expect(ids(() => {})).toEqual(base);
    expect(base.program_id).toMatch(/^blake3:[0-9a-f]{64}$/);
  });

  it('each changes exactly with the fields it covers', () => {
    const d = contentDigest(utf8('other'));
    const changes: [string, (m: JobManifest) => void, (keyof typeof base)[]][] = [
      ['kind', (m) => (m.program.kind = 'wasm'), ['program_id', 'cache_key', 'job_id']],
      ['entry', (m) => (m.program.entry = 'lib/util.js'), ['program_id', 'cache_key', 'job_id']],
      ['file digest', (m) => (m.program.files[0]!.digest = d), ['program_id', 'cache_key', 'job_id']],
      ['file size', (m) => (m.program.files[0]!.size += 1), ['program_id', 'cache_key', 'job_id']],
      ['runtime', (m) => (m.program.runtime.version = 'v22.0.0'), ['program_id', 'cache_key', 'job_id']],
      ['input digest', (m) => (m.inputs[0]!.digest = d), ['inputs_root', 'cache_key', 'job_id']],
      ['input name', (m) => (m.inputs[0]!.name = 'a.txt'), ['inputs_root', 'cache_key', 'job_id']],
      ['args', (m) => m.args.push('x'), ['params_digest', 'cache_key', 'job_id']],
      ['env', (m) => (m.env.TZ = 'CET'), ['params_digest', 'cache_key', 'job_id']],
      ['timeout', (m) => (m.limits.timeout_ms += 1), ['params_digest', 'cache_key', 'job_id']],
      ['memory', (m) => (m.limits.max_memory_mb += 1), ['params_digest', 'cache_key', 'job_id']],
      ['output limit', (m) => (m.limits.max_output_bytes += 1), ['params_digest', 'cache_key', 'job_id']],
      ['nonce', (m) => (m.nonce = 'again'), ['job_id']],
      ['cache flag', (m) => (m.cache = false), ['job_id']],
    ];
    for (const [name, mutate, changed] of changes) {
      const got = ids(mutate);
      for (const k of Object.keys(base) as (keyof typeof base)[]) {
        if (changed.includes(k)) expect(got[k], `${name} changes ${k}`).not.toBe(base[k]);
        else expect(got[k], `${name} keeps ${k}`).toBe(base[k]);
      }
    }
  });

  it('are domain separated: the same bytes under another tag give another digest', () => {
    const m = manifestFixture();
    expect(new Set(Object.values(jobIdentities(m))).size).toBe(4);
    expect(cacheKey(m)).toBe(base.cache_key);
  });
});

describe('manifest commit', () => {
  it('refuses missing, extra and mismatched files, naming them', () => {
    const s = submission();
    const missing = fail(() =>
      manifestCommitObjects({ ...s, programFiles: new Map([...s.programFiles].slice(1)) }),
    );
    expect(missing.code).toBe('GATOS_E_JOB_MANIFEST');
    expect(missing.data).toMatchObject({ path: 'program.files', file: 'lib/util.js' });
    const extra = fail(() =>
      manifestCommitObjects({ ...s, inputFiles: new Map([...s.inputFiles, ['c.txt', utf8('x')]]) }),
    );
    expect(extra.data).toMatchObject({ path: 'inputs', file: 'c.txt' });
    const changed = fail(() =>
      manifestCommitObjects({ ...s, inputFiles: new Map([...s.inputFiles, ['b.txt', utf8('BETA\n')]]) }),
    );
    expect(changed.data).toMatchObject({ path: 'inputs', file: 'b.txt' });
    expect(changed.message).toContain('digest');
  });

  it('is the same commit for every submitter (no clock, fixed ident)', () => {
    const a = manifestCommitObjects(submission());
    const b = manifestCommitObjects({
      manifest: manifestFixture(),
      programFiles: new Map([...toMap(V.manifest.program_files)].reverse()),
      inputFiles: toMap(V.manifest.input_files),
    });
    expect(b.commit.oid).toBe(a.commit.oid);
    expect(new TextDecoder().decode(a.commit.body)).toContain('author GATOS <gatos@localhost> 0 +0000');
  });
});
