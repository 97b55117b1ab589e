/**
 * The DENY audit cannot be squatted or lost (`spec/push-gate.md` § 5): no pushed ref may sit at, below or above
 * the deny chain's ref, so every refusal is recorded; and when a record cannot be written anyway (a squatter left
 * by an older gate), the push is still refused and the failure lands in the server-side gate log.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectOk, gatos, git } from '../../git-gatos/test/helpers.js';
import { gatedRepo } from './support/gated-repo.js';
import { gateLogPath } from '../src/gate/index.js';

const DENY_REF = 'refs/gatos/audit/policy/deny';

/** A fresh gated bare repository and a clone with one commit to push anywhere. */
function gated() {
  const g = gatedRepo('gatos-gate-audit-');
  git(g.client, 'commit', '-q', '--allow-empty', '-m', 'squat');
  const refs = () => git(g.server, 'for-each-ref', '--format=%(refname)');
  return { ...g, refs };
}

describe('the DENY audit cannot be squatted', () => {
  it('refuses a ref below the deny chain before the first refusal, and records that refusal', () => {
    const g = gated();
    const p = g.push(`HEAD:${DENY_REF}/x`);
    expect(p.status, p.out).not.toBe(0);
    expect(p.out).toMatch(new RegExp(`GATOS DENY \\w{26}: ${DENY_REF}/x rule audit-reserved:`));
    expect(g.refs()).toBe(DENY_REF);
    const [rec] = g.records();
    expect(rec.seq).toBe(1);
    expect(rec.denials.map((d: any) => [d.ref, d.rule])).toEqual([[`${DENY_REF}/x`, 'audit-reserved']]);
    // Later refusals are still recorded: the chain was never blocked.
    expect(g.push(`HEAD:${DENY_REF}/x/y`).status).not.toBe(0);
    expect(g.push('--force', `HEAD:${DENY_REF}`).status).not.toBe(0);
    expect(g.records().map((r: any) => [r.seq, r.denials[0].ref])).toEqual([
      [3, DENY_REF],
      [2, `${DENY_REF}/x/y`],
      [1, `${DENY_REF}/x`],
    ]);
    expect(g.refs()).toBe(DENY_REF);
  });

  it('refuses a ref at a parent path of the chain (`refs/gatos` on an empty repository)', () => {
    const g = gated();
    for (const ref of ['refs/gatos', 'refs/gatos/audit', 'refs/gatos/audit/policy']) {
      const p = g.push(`HEAD:${ref}`);
      expect(p.status, p.out).not.toBe(0);
      expect(p.out).toContain(`${ref} rule audit-reserved:`);
    }
    expect(g.records()).toHaveLength(3);
    expect(g.refs()).toBe(DENY_REF);
    // Honest GATOS pushes still work afterwards.
    expectOk(gatos(g.client, g.env, ['init']));
    const p = g.push('refs/gatos/config');
    expect(p.status, p.out).toBe(0);
  });

  it('when a record cannot be written, still refuses and logs the refusal on the server', () => {
    const g = gated();
    // A squatter an older gate let in: a directory where the deny chain's ref file must go.
    mkdirSync(join(g.server, DENY_REF), { recursive: true });
    writeFileSync(join(g.server, DENY_REF, 'x'), `${git(g.client, 'rev-parse', 'HEAD')}\n`);
    const p = g.push('HEAD:refs/gatos/audit/policy');
    expect(p.status, p.out).not.toBe(0);
    expect(p.out).toMatch(/could not write the DENY audit record .*the push is refused anyway/);
    expect(g.refs()).not.toContain('refs/gatos/audit/policy\n');
    const log = gateLogPath(g.server);
    expect(existsSync(log)).toBe(true);
    const entries = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ event: 'deny-record-failed' });
    expect(entries[0].id).toMatch(/^[0-9A-Z]{26}$/);
    expect(entries[0].denials.map((d: any) => d.rule)).toEqual(['audit-reserved']);
    expect(p.out).toContain(entries[0].id);
  });
});
