/**
 * The runtime this worker offers (spec/job-plane.md § 2): which node runs scripts and which runner runs WASI
 * modules, pinned by digest so a result names exactly what executed it.
 */
import { createHash } from 'node:crypto';
import { createReadStream, realpathSync } from 'node:fs';
import { GatosError, type JobRuntime, type ProgramKind } from '@gatos/core';
import { WASM_RUNNER_SOURCE } from './wasm-runner.js';

/** The program kinds this worker can run. */
export type RunnableKind = Extract<ProgramKind, 'script' | 'wasm'>;

/** Runtime names per kind (spec § 2). */
export const RUNTIME_NAMES: Readonly<Record<ProgramKind, string>> = {
  script: 'node',
  wasm: 'node-wasi-preview1',
  container: 'oci',
  nix: 'nix',
};

/** Domain separator of the wasm runtime digest (so it can never equal a plain file digest). */
export const WASM_RUNTIME_DOMAIN = 'gatos/runtime/node-wasi-preview1/v1\0';

let nodeDigest: Promise<Buffer> | undefined;

/** sha256 of the node executable running this process (realpath of `process.execPath`), computed once. */
function nodeExecutableDigest(): Promise<Buffer> {
  nodeDigest ??= new Promise<Buffer>((resolve, reject) => {
    const h = createHash('sha256');
    // Streamed: the executable is ~100 MB and is hashed once per process.
    const s = createReadStream(realpathSync(process.execPath));
    s.on('data', (c) => h.update(c));
    s.on('error', reject);
    s.on('end', () => resolve(h.digest()));
  });
  return nodeDigest;
}

/**
 * The wasm runtime digest: sha256(`WASM_RUNTIME_DOMAIN` ‖ the 32 raw bytes of the node executable's sha256 ‖
 * the UTF-8 bytes of the runner source {@link WASM_RUNNER_SOURCE}).
 */
export function wasmRuntimeDigest(nodeSha256: Uint8Array): string {
  const h = createHash('sha256');
  h.update(WASM_RUNTIME_DOMAIN, 'utf8');
  h.update(nodeSha256);
  h.update(WASM_RUNNER_SOURCE, 'utf8');
  return `sha256:${h.digest('hex')}`;
}

const cache = new Map<RunnableKind, Promise<JobRuntime>>();

/** The runtime this process offers for `kind` (cached per process). */
export function currentRuntime(kind: RunnableKind): Promise<JobRuntime> {
  let r = cache.get(kind);
  if (!r) {
    r = nodeExecutableDigest().then((d) =>
      kind === 'script'
        ? { name: RUNTIME_NAMES.script, version: process.version, digest: `sha256:${d.toString('hex')}` }
        : { name: RUNTIME_NAMES.wasm, version: process.version, digest: wasmRuntimeDigest(d) },
    );
    // A failed hash (unreadable executable) must not be cached forever.
    r.catch(() => cache.delete(kind));
    cache.set(kind, r);
  }
  return r;
}

function kindOfName(name: string): ProgramKind | undefined {
  for (const [k, n] of Object.entries(RUNTIME_NAMES)) if (n === name) return k as ProgramKind;
  return undefined;
}

/**
 * Checks that this worker can run a program pinned to `pinned` (and, when given, of `kind`); resolves to the
 * local runtime, or throws `GATOS_E_JOB_RUNTIME` saying what differs.
 */
export async function checkRuntime(pinned: JobRuntime, kind?: ProgramKind): Promise<JobRuntime> {
  const k = kind ?? kindOfName(pinned.name);
  if (k === undefined || (kind !== undefined && RUNTIME_NAMES[kind] !== pinned.name)) {
    throw new GatosError(
      'GATOS_E_JOB_RUNTIME',
      `runtime ${JSON.stringify(pinned.name)} does not match program kind ${kind ?? '(unknown)'}`,
      {
        data: { pinned, kind: kind ?? null },
        hint: `Known runtimes: ${Object.entries(RUNTIME_NAMES)
          .map(([kk, n]) => `${kk} → ${n}`)
          .join(', ')}.`,
      },
    );
  }
  if (k === 'container' || k === 'nix') {
    throw new GatosError('GATOS_E_JOB_RUNTIME', `${k} programs cannot run on this worker`, {
      data: { pinned, kind: k },
      hint: 'This worker runs only script (node) and wasm (WASI preview1) programs; run the job on a worker with a container or nix executor.',
    });
  }
  const local = await currentRuntime(k);
  const differs = (['name', 'version', 'digest'] as const).filter((f) => local[f] !== pinned[f]);
  if (differs.length > 0) {
    throw new GatosError(
      'GATOS_E_JOB_RUNTIME',
      `the job pins ${k} runtime ${pinned.name} ${pinned.version} (${pinned.digest}) but this worker has ${local.version} (${local.digest})`,
      {
        data: { pinned, local, differs },
        hint:
          k === 'script'
            ? 'Run the job on a worker with the same node executable (same version AND build), or resubmit it pinned to this runtime.'
            : 'Run the job on a worker with the same node executable and the same GATOS wasm runner, or resubmit it pinned to this runtime.',
      },
    );
  }
  return local;
}
