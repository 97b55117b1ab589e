/**
 * The daemon's writer thread (from the built package: a worker runs the compiled `writer-thread.js`): group
 * commits, ref writes and errors cross the thread boundary intact.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { busRepo } from './bus-cli-helpers.js';

const DIST = join(import.meta.dirname, '../dist/daemon/writer-client.js');
const GIT_DIST = join(import.meta.dirname, '../../gatos-git/dist/index.js');
const CORE_DIST = join(import.meta.dirname, '../../gatos-core/dist/index.js');

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

async function load() {
  const { startWriter } = (await import(DIST)) as typeof import('../src/daemon/writer-client.js');
  const gitPkg = (await import(GIT_DIST)) as typeof import('@gatos/git');
  const core = (await import(CORE_DIST)) as typeof import('@gatos/core');
  return { startWriter, gitPkg, core };
}

describe('writer thread', () => {
  it('publishes a group, returns its appends, and serves ref reads and writes; errors keep their codes', async () => {
    const { startWriter, gitPkg, core } = await load();
    const { repo, env } = busRepo();
    const reader = gitPkg.createObjectStore(await gitPkg.openRepository({ cwd: repo }));
    const writer = await startWriter({
      repo,
      env,
      packThreshold: 1,
      consolidateAfter: 0,
      actor: 'service:gatosd',
      maxEnvelopeBytes: 1 << 20,
      reader,
    });
    try {
      const now = new Date('2026-11-23T10:00:00.000Z');
      const envelopes = [0, 1, 2].map((i) =>
        core.createEnvelope({
          type: 'bus.message',
          payload: { i },
          actor: 'service:gatosd',
          ulid: core.ulidFrom(now.getTime(), new Uint8Array(10).fill(i)),
          ts: core.envelopeTimestamp(now),
          policy_root: core.NO_POLICY_ROOT,
        }),
      );
      const r = await writer.publish('orders', [...envelopes, envelopes[1]!], now);
      expect(r.published.map((p) => p.offset)).toEqual([0, 1, 2]);
      expect(r.duplicates).toEqual([{ ulid: envelopes[1]!.ulid, reason: 'ulid', offset: null }]);
      expect(r.appends).toHaveLength(1);
      const a = r.appends[0]!;
      expect(a.expect).toBeNull();
      expect(a.messages.map((m) => m.offset)).toEqual([0, 1, 2]);
      expect(git(repo, 'rev-parse', a.ref)).toBe(a.head);
      expect(await writer.refs.read(a.ref)).toBe(a.head);
      expect(await writer.refs.list('refs/gatos/mbus/orders/')).toEqual([{ ref: a.ref, oid: a.head }]);
      // Objects written by the thread are read on this one.
      const [commit] = await writer.objects.get([a.head]);
      expect(commit!.type).toBe('commit');
      // A compare-and-swap that loses, and one that is refused with a stable code.
      expect(await writer.refs.cas({ ref: a.ref, expect: null, next: a.head })).toBe(false);
      const err = await writer.refs
        .cas({ ref: 'refs/gatos/bad..name', expect: null, next: a.head })
        .catch((e) => e);
      expect(core.isGatosError(err)).toBe(true);
      expect(err.code).toBe('GATOS_E_REF_NAME');
      // Signed by the daemon's key: the bus verifies.
      git(repo, 'fsck', '--strict');
    } finally {
      await writer.close();
    }
    // Closed: calls are refused, not hung.
    const after = await writer.refs.read('refs/gatos/x').catch((e) => e);
    expect(after.code).toBe('GATOS_E_INTERNAL');
  });

  it('a failed start (no local key for the actor) rejects with that error code', async () => {
    const { startWriter, gitPkg } = await load();
    const { repo, env } = busRepo();
    const reader = gitPkg.createObjectStore(await gitPkg.openRepository({ cwd: repo }));
    const err = await startWriter({
      repo,
      env,
      packThreshold: 1,
      consolidateAfter: 0,
      actor: 'service:nobody',
      maxEnvelopeBytes: 1 << 20,
      reader,
    }).catch((e) => e);
    await reader.close();
    expect(err.code).toBe('GATOS_E_KEY_NOT_FOUND');
  });
});
