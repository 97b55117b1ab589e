/** Runtime pins: the digests are what spec/job-plane.md § 2 says, and a different pin is refused with a hint. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { isGatosError } from '@gatos/core';
import { describe, expect, it } from 'vitest';
import { WASM_RUNNER_SOURCE, WASM_RUNTIME_DOMAIN, checkRuntime, currentRuntime } from '../src/jobs/index.js';

const isRuntimeError = (re: RegExp) => (e: unknown) =>
  isGatosError(e, 'GATOS_E_JOB_RUNTIME') && re.test(`${e.message} ${e.hint ?? ''}`);

describe('currentRuntime', () => {
  it('pins script to the sha256 of the node executable (checked with sha256sum)', async () => {
    const hex = execFileSync('sha256sum', [realpathSync(process.execPath)], { encoding: 'utf8' }).split(
      ' ',
    )[0];
    expect(await currentRuntime('script')).toEqual({
      name: 'node',
      version: process.version,
      digest: `sha256:${hex}`,
    });
  });

  it('pins wasm to node ‖ runner, domain-separated, and caches per process', async () => {
    const node = Buffer.from((await currentRuntime('script')).digest.slice(7), 'hex');
    const expected = createHash('sha256')
      .update(Buffer.concat([Buffer.from(WASM_RUNTIME_DOMAIN), node, Buffer.from(WASM_RUNNER_SOURCE)]))
      .digest('hex');
    const wasm = await currentRuntime('wasm');
    expect(wasm).toEqual({
      name: 'node-wasi-preview1',
      version: process.version,
      digest: `sha256:${expected}`,
    });
    expect(currentRuntime('wasm')).toBe(currentRuntime('wasm'));
  });
});

describe('checkRuntime', () => {
  it('accepts this worker’s own runtimes', async () => {
    for (const kind of ['script', 'wasm'] as const) {
      const rt = await currentRuntime(kind);
      expect(await checkRuntime(rt, kind)).toEqual(rt);
      expect(await checkRuntime(rt)).toEqual(rt);
    }
  });

  it('refuses a different node build or version, a kind/name mismatch, and container/nix', async () => {
    const rt = await currentRuntime('script');
    await expect(checkRuntime({ ...rt, digest: `sha256:${'0'.repeat(64)}` }, 'script')).rejects.toSatisfy(
      isRuntimeError(/same node executable/),
    );
    await expect(checkRuntime({ ...rt, version: 'v0.0.1' })).rejects.toSatisfy(isRuntimeError(/v0\.0\.1/));
    await expect(checkRuntime(rt, 'wasm')).rejects.toSatisfy(
      isRuntimeError(/does not match program kind wasm/),
    );
    await expect(
      checkRuntime({ name: 'oci', version: '1', digest: 'sha256:ab' }, 'container'),
    ).rejects.toSatisfy(
      isRuntimeError(/container programs cannot run on this worker.*only script \(node\) and wasm/),
    );
    await expect(checkRuntime({ name: 'nix', version: '2.18', digest: 'x' })).rejects.toSatisfy(
      isRuntimeError(/nix programs cannot run/),
    );
    await expect(checkRuntime({ name: 'python', version: '3', digest: 'x' })).rejects.toSatisfy(
      isRuntimeError(/Known runtimes/),
    );
  });
});
