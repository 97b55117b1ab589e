import { describe, expect, it } from 'vitest';
import {
  activationCommit,
  bundleCommit,
  bundleRef,
  parseBundleRef,
} from '../../src/governance/policy-bundle.js';

const SRC = 'policy "p" version 1\nrule "r" allow because "ok"\n';

describe('policy bundles', () => {
  it('names versions as plain decimals and rejects others', () => {
    expect(bundleRef(12)).toBe('refs/gatos/policies/bundles/12');
    expect(parseBundleRef('refs/gatos/policies/bundles/12')).toBe(12);
    for (const bad of ['012', '0', '-1', '1.5', 'x'])
      expect(parseBundleRef(`refs/gatos/policies/bundles/${bad}`)).toBeNull();
    expect(() => bundleRef(0)).toThrow(/invalid policy version/);
  });

  it('derives bundle and activation commits from their content only', () => {
    const a = bundleCommit({ source: SRC, version: 1, parentVersion: null, proposal: null });
    const b = bundleCommit({ source: SRC, version: 1, parentVersion: null, proposal: null });
    expect(a.commit.oid).toBe(b.commit.oid);
    expect(a.manifest.policy_code_root).toMatch(/^[0-9a-f]{64}$/);
    expect(bundleCommit({ source: SRC, version: 2, parentVersion: 1, proposal: null }).commit.oid).not.toBe(
      a.commit.oid,
    );
    const rec = {
      format: 'gatos.policy-active/1' as const,
      version: 1,
      bundle: a.commit.oid,
      policy_code_root: a.manifest.policy_code_root,
      grant: null,
    };
    expect(activationCommit(rec, null).commit.oid).toBe(activationCommit(rec, null).commit.oid);
  });
});
