/** The DENY chain on its own: concurrent appends from independent stores, and detection of a broken link. */
import { createObjectStore, createRefStore, openRepository } from '@gatos/git';
import { describe, expect, it } from 'vitest';
import { git, tmp } from '../../git-gatos/test/helpers.js';
import {
  appendDenyRecord,
  DENY_REF,
  denyCommit,
  type DenyDraft,
  findDenyRecord,
  readDenyLog,
  refKind,
  ZERO_OID,
} from '@gatos/core';
import { parsePushLines } from '../src/gate/index.js';

const draft = (i: number): DenyDraft => ({
  id: `01M8000000000000000000${String(i).padStart(4, '0')}`,
  ts: '2026-11-23T10:00:00.000Z',
  push_digest: `sha256:${'0'.repeat(64)}`,
  updates: [{ ref: 'refs/gatos/journal/lab/user/alice', old: null, new: 'a'.repeat(40) }],
  denials: [
    {
      ref: 'refs/gatos/journal/lab/user/alice',
      old: null,
      new: 'a'.repeat(40),
      rule: 'event-signature',
      reason: 'test',
    },
  ],
});

async function stores(dir: string) {
  const repo = await openRepository({ cwd: dir });
  return { objects: createObjectStore(repo), refs: createRefStore(repo) };
}

describe('deny audit chain', () => {
  it('stays linear under 8 concurrent appenders with separate stores', async () => {
    const dir = tmp('gatos-deny-');
    git(dir, 'init', '-q', '--bare');
    const all = await Promise.all(Array.from({ length: 8 }, () => stores(dir)));
    try {
      const written = await Promise.all(all.map((s, i) => appendDenyRecord(s.objects, s.refs, draft(i))));
      expect(new Set(written.map((w) => w.record.seq))).toEqual(new Set([1, 2, 3, 4, 5, 6, 7, 8]));
      const log = await readDenyLog(all[0]!.objects, all[0]!.refs);
      expect(log.chainOk).toBe(true);
      expect(log.records.map((r) => r.record.seq)).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
      expect((await findDenyRecord(all[0]!.objects, all[0]!.refs, draft(3).id)).record.id).toBe(draft(3).id);
      await expect(findDenyRecord(all[0]!.objects, all[0]!.refs, 'NOPE')).rejects.toMatchObject({
        code: 'GATOS_E_AUDIT_NOT_FOUND',
      });

      // A record that does not name its predecessor's digest breaks the chain.
      const s = all[0]!;
      const bad = { ...log.records[0]!.record, id: draft(99).id, seq: 9, prev: `sha256:${'f'.repeat(64)}` };
      const { commit, objects } = denyCommit({ ...bad, type: 'gatos.deny/v1' }, log.head);
      await s.objects.put(objects);
      expect(await s.refs.cas({ ref: DENY_REF, expect: log.head, next: commit.oid })).toBe(true);
      const after = await readDenyLog(s.objects, s.refs);
      expect(after.chainOk).toBe(false);
      expect(after.problems.join()).toContain('does not name');
    } finally {
      await Promise.all(all.map((s) => s.objects.close()));
    }
  });

  it('parses pre-receive lines and classifies refs', () => {
    const a = 'a'.repeat(40);
    expect(
      parsePushLines(`${ZERO_OID} ${a} refs/heads/main\n${a} ${ZERO_OID} refs/gatos/state/lab\n`),
    ).toEqual([
      { old: null, new: a, ref: 'refs/heads/main' },
      { old: a, new: null, ref: 'refs/gatos/state/lab' },
    ]);
    expect(() => parsePushLines('nonsense')).toThrow(/malformed/);
    expect(refKind('refs/heads/main')).toBe('plain');
    expect(refKind('refs/gatos/trust/keys')).toBe('trust');
    expect(refKind('refs/gatos/journal/lab/user/alice')).toBe('journal');
    expect(refKind('refs/gatos/policies/active')).toBe('policies');
    expect(refKind('refs/gatos/audit/policy/deny')).toBe('audit');
    expect(refKind('refs/gatos/mbus/t/2026/11/23/1')).toBe('gatos-other');
  });
});
