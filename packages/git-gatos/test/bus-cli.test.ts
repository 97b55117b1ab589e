/** `git gatos bus …`: the commit-backed message bus through the real CLI and a real repository. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as core from '@gatos/core';
import * as gitlib from '@gatos/git';
import { describe, expect, it } from 'vitest';
import { listKeyFiles } from '@gatos/gatosd/identity';
import { signerFor } from '@gatos/gatosd/identity';
import { expectOk, gatos, git, setup, snapshot, tmp } from './helpers.js';

const T0 = '2026-01-10T12:00:00.000Z';

function busRefs(repo: string): string[] {
  const out = git(
    repo,
    'for-each-ref',
    '--format=%(refname)',
    'refs/gatos/mbus',
    'refs/gatos/mbus-summary',
    'refs/gatos/mbus-ack',
  );
  return out ? out.split('\n') : [];
}

function objectCount(repo: string): number {
  const v = git(repo, 'count-objects', '-v');
  const n = (k: string) => Number(new RegExp(`^${k}: (\\d+)$`, 'm').exec(v)?.[1] ?? 0);
  return n('count') + n('in-pack');
}

async function openCore(repo: string, env: NodeJS.ProcessEnv) {
  const r = await gitlib.openRepository({ cwd: repo });
  const objects = gitlib.createObjectStore(r);
  const refs = gitlib.createRefStore(r);
  const trust = await core.readTrust(objects, refs);
  const signer = signerFor('user:alice', await listKeyFiles(env), trust);
  return { objects, refs, signer, close: () => objects.close() };
}

function envelopes(n: number, now: Date, tag: string): core.EventEnvelope[] {
  const next = core.createUlidFactory(
    () => now.getTime(),
    (k) => new Uint8Array(k).fill(1),
  );
  return Array.from({ length: n }, (_, i) =>
    core.createEnvelope({
      type: 'bus.message',
      ulid: next(),
      actor: 'user:alice',
      payload: { tag, i },
      policy_root: core.NO_POLICY_ROOT,
      ts: now.toISOString(),
    }),
  );
}

describe('git gatos bus', () => {
  it('publishing the same key twice stores it once, and a consumer applies it once', async () => {
    const { repo, env } = setup('user:alice');
    const key = '01KAR0000000000000000000AA';
    const args = ['bus', 'publish', '--topic', 'orders', '--data', '{"id":1}', '--key', key, '--json'];
    const a = expectOk(gatos(repo, env, args)).json;
    const b = expectOk(gatos(repo, env, [...args.slice(0, 5), '{"id":2}', ...args.slice(6)])).json;
    expect(a.published).toHaveLength(1);
    expect(b.published).toHaveLength(0);
    expect(b.duplicates).toEqual([{ ulid: key, reason: 'ulid', offset: 0 }]);
    expect(git(repo, 'rev-list', '--count', a.published[0].ref)).toBe('1');
    // Delivered twice (the consumer crashed before acking), applied once.
    const seen = core.createMemorySeenStore();
    const effects: unknown[] = [];
    for (let i = 0; i < 2; i++) {
      const r = expectOk(
        gatos(repo, env, ['bus', 'read', '--topic', 'orders', '--group', 'billing', '--json']),
      ).json;
      expect(r.messages.map((m: { ulid: string }) => m.ulid)).toEqual([key]);
      await core.applyOnce(r.messages, seen, (m: { data: unknown }) => void effects.push(m.data));
    }
    expect(effects).toEqual([{ id: 1 }]);
  });

  it('rotates by count: new segments and summaries whose Merkle roots verify', () => {
    const { repo, env } = setup('user:alice');
    const batch = join(tmp(), 'batch.jsonl');
    writeFileSync(batch, Array.from({ length: 7 }, (_, i) => JSON.stringify({ data: { i } })).join('\n'));
    const e = { ...env, GATOS_NOW: T0 };
    const r = expectOk(
      gatos(repo, e, [
        'bus',
        'publish',
        '--topic',
        'ev',
        '--batch',
        batch,
        '--max-messages-per-segment',
        '3',
        '--json',
      ]),
    ).json;
    expect(r.published.map((p: { offset: number }) => p.offset)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(r.swaps).toBe(3);
    expect(r.sealed).toHaveLength(2);
    expect(busRefs(repo)).toEqual([
      'refs/gatos/mbus-summary/ev',
      'refs/gatos/mbus/ev/2026/01/10/000000',
      'refs/gatos/mbus/ev/2026/01/10/000001',
      'refs/gatos/mbus/ev/2026/01/10/000002',
    ]);
    // Independent chains: each segment's first commit has no parent.
    for (const ref of busRefs(repo).slice(1))
      expect(git(repo, 'rev-list', '--max-parents=0', ref).split('\n')).toHaveLength(1);
    const v = expectOk(gatos(repo, env, ['bus', 'verify', 'ev', '--json'])).json;
    expect(v.ok).toBe(true);
    expect(v.summaries).toMatchObject({ count: 2, sealed: 2, ok: true });
    const summary = JSON.parse(git(repo, 'show', 'refs/gatos/mbus-summary/ev:summary.json'));
    expect(summary).toMatchObject({
      segment: '2026/01/10/000001',
      count: 3,
      first_offset: 3,
      last_offset: 5,
    });
    expect(summary.merkle_root).toBe(v.segments[1].merkle_root);
    // Tampering with a segment (a forged message re-pointing the ref) fails verification.
    const head = git(repo, 'rev-parse', 'refs/gatos/mbus/ev/2026/01/10/000001');
    const forged = git(
      repo,
      'commit-tree',
      `${head}^{tree}`,
      '-p',
      head,
      '-m',
      'bus.message 01KAR0000000000000000000AB',
    );
    git(repo, 'update-ref', 'refs/gatos/mbus/ev/2026/01/10/000001', forged, head);
    const bad = gatos(repo, env, ['bus', 'verify', 'ev', '--json']);
    expect(bad.status).toBe(6);
    expect(bad.json.ok).toBe(false);
  });

  it('redelivers unacked messages to a restarted consumer; acked ones are not delivered again', () => {
    const { repo, env } = setup('user:alice');
    for (let i = 0; i < 5; i++)
      expectOk(gatos(repo, env, ['bus', 'publish', '--topic', 'jobs', '--data', `{"n":${i}}`]));
    const read = () =>
      expectOk(gatos(repo, env, ['bus', 'read', '--topic', 'jobs', '--group', 'w', '--limit', '2', '--json']))
        .json;
    const first = read();
    expect(first.messages.map((m: { data: unknown }) => m.data)).toEqual([{ n: 0 }, { n: 1 }]);
    // The consumer "crashes" before acking: a new process reading the same group gets the same messages.
    expect(read().messages).toEqual(first.messages);
    const acked = expectOk(
      gatos(repo, env, [
        'bus',
        'ack',
        '--topic',
        'jobs',
        '--group',
        'w',
        '--to',
        first.messages[1].commit,
        '--json',
      ]),
    ).json;
    expect(acked).toMatchObject({ moved: true, position: { offset: 1 } });
    expect(read().messages.map((m: { data: unknown }) => m.data)).toEqual([{ n: 2 }, { n: 3 }]);
    expect(
      expectOk(gatos(repo, env, ['bus', 'ack', '--topic', 'jobs', '--group', 'w', '--to', '0', '--json']))
        .json.moved,
    ).toBe(false);
    const missing = gatos(repo, env, [
      'bus',
      'ack',
      '--topic',
      'jobs',
      '--group',
      'w',
      '--to',
      '99',
      '--json',
    ]);
    expect(missing.status).toBe(4);
    expect(missing.json.error.code).toBe('GATOS_E_BUS_POSITION');
  });

  it('10,000 messages, 1,000 per segment: live refs stay 10 segments + summary + ack refs', async () => {
    const { repo, env } = setup('user:alice');
    const now = new Date(T0);
    const c = await openCore(repo, env);
    try {
      const msgs = envelopes(10_000, now, 'bulk');
      const t0 = performance.now();
      const r = await core.publish(msgs, {
        ...c,
        topic: 'bulk',
        now,
        config: { max_messages_per_segment: 1_000 },
      });
      const batchMs = performance.now() - t0;
      expect(r.published).toHaveLength(10_000);
      expect(r.swaps).toBe(10);
      // Single publishes (one CAS each) with a long-lived index, as the daemon would do.
      const index = core.createTopicIndex('single');
      const singles = envelopes(200, now, 'single');
      const t1 = performance.now();
      for (const m of singles) await core.publish([m], { ...c, topic: 'single', now, index });
      const singleMs = performance.now() - t1;
      console.log(
        `bus publish: batched ${Math.round(10_000 / (batchMs / 1000))} msgs/s (10,000 in ${Math.round(batchMs)} ms), ` +
          `single ${Math.round(200 / (singleMs / 1000))} msgs/s (200 in ${Math.round(singleMs)} ms)`,
      );
    } finally {
      await c.close();
    }
    expectOk(gatos(repo, env, ['bus', 'ack', '--topic', 'bulk', '--group', 'g1', '--to', '4999']));
    expectOk(gatos(repo, env, ['bus', 'ack', '--topic', 'bulk', '--group', 'g2', '--to', '9999']));
    const refs = busRefs(repo).filter((r) => r.includes('/bulk'));
    console.log(
      `bus live refs for 10,000 messages: ${refs.length} (${refs.filter((r) => r.startsWith('refs/gatos/mbus/')).length} segments + summary + 2 ack refs)`,
    );
    expect(refs.filter((r) => r.startsWith('refs/gatos/mbus/'))).toHaveLength(10);
    expect(refs).toHaveLength(13);
    const stats = expectOk(gatos(repo, env, ['bus', 'stats', '--topic', 'bulk', '--json'])).json.topics[0];
    expect(stats).toMatchObject({ messages: 10_000, live_refs: 13, summaries: 9 });
    expect(stats.segments.every((s: { count: number }) => s.count === 1_000)).toBe(true);
    const read = expectOk(
      gatos(repo, env, ['bus', 'read', '--topic', 'bulk', '--group', 'g1', '--limit', '3', '--json']),
    ).json;
    expect(read.messages.map((m: { offset: number }) => m.offset)).toEqual([5000, 5001, 5002]);
    expect(expectOk(gatos(repo, env, ['bus', 'verify', 'bulk', '--json'])).json.ok).toBe(true);
  }, 120_000);

  it('prune removes expired segments (summaries first); gc frees their objects; verify still passes', () => {
    const { repo, env } = setup('user:alice');
    const old = { ...env, GATOS_NOW: T0 };
    const batch = join(tmp(), 'prune.jsonl');
    writeFileSync(
      batch,
      Array.from({ length: 40 }, (_, i) => JSON.stringify({ data: { i, pad: 'p'.repeat(100) } })).join('\n'),
    );
    expectOk(
      gatos(repo, old, [
        'bus',
        'publish',
        '--topic',
        'logs',
        '--batch',
        batch,
        '--max-messages-per-segment',
        '10',
      ]),
    );
    const later = { ...env, GATOS_NOW: '2026-03-01T00:00:00.000Z' };
    expectOk(gatos(repo, later, ['bus', 'publish', '--topic', 'logs', '--data', '{"fresh":true}']));
    expectOk(gatos(repo, env, ['bus', 'ack', '--topic', 'logs', '--group', 'g', '--to', '39']));
    git(repo, 'gc', '-q', '--prune=now');
    const before = snapshot(repo);
    const dry = expectOk(
      gatos(repo, later, ['bus', 'prune', '--topic', 'logs', '--ttl-days', '30', '--dry-run', '--json']),
    ).json;
    expect(dry.pruned.map((p: { segment: string }) => p.segment)).toEqual(
      [0, 1, 2, 3].map((i) => `2026/01/10/00000${i}`),
    );
    expect(snapshot(repo)).toEqual(before);
    const objectsBefore = objectCount(repo);
    const r = expectOk(
      gatos(repo, later, ['bus', 'prune', '--topic', 'logs', '--ttl-days', '30', '--json']),
    ).json;
    expect(r.pruned.every((p: { deleted: boolean }) => p.deleted)).toBe(true);
    expect(r.kept).toBe(1);
    expect(busRefs(repo).filter((x) => x.startsWith('refs/gatos/mbus/'))).toEqual([
      'refs/gatos/mbus/logs/2026/03/01/000000',
    ]);
    git(repo, 'gc', '-q', '--prune=now');
    const objectsAfter = objectCount(repo);
    console.log(`bus prune: objects ${objectsBefore} before, ${objectsAfter} after gc --prune=now`);
    // 40 messages × (commit, tree, blob) are gone; 4 pruned summaries (3 objects each) were added.
    expect(objectsBefore - objectsAfter).toBeGreaterThanOrEqual(40 * 3 - 4 * 3 - 3);
    const v = expectOk(gatos(repo, env, ['bus', 'verify', 'logs', '--json'])).json;
    expect(v.ok).toBe(true);
    expect(v.summaries).toMatchObject({ pruned: 4, ok: true });
    // Offsets continue after what was pruned; a lagging group resumes at the next live message.
    expect(
      expectOk(
        gatos(repo, env, ['bus', 'read', '--topic', 'logs', '--group', 'g', '--json']),
      ).json.messages.map((m: { offset: number }) => m.offset),
    ).toEqual([40]);
  });

  it('malformed publishes get their codes and change nothing', () => {
    const { repo, env } = setup('user:alice');
    expectOk(gatos(repo, env, ['bus', 'publish', '--topic', 'ok', '--data', '{"a":1}']));
    const before = snapshot(repo);
    const big = join(tmp(), 'big.json');
    writeFileSync(big, JSON.stringify({ blob: 'x'.repeat(1_100_000) }));
    const cases: [string[], string, number][] = [
      [['--topic', 'ok', '--data', '{not json'], 'GATOS_E_INPUT_JSON', 3],
      [['--topic', 'Bad Topic', '--data', '{}'], 'GATOS_E_BUS_TOPIC', 3],
      [['--topic', 'a/b', '--data', '{}'], 'GATOS_E_BUS_TOPIC', 3],
      [['--topic', 'ok', '--data', `@${big}`], 'GATOS_E_PAYLOAD_TOO_LARGE', 9],
      [['--topic', 'ok', '--data', '{}', '--key', 'not-a-ulid'], 'GATOS_E_ENVELOPE_ULID', 3],
      [['--topic', 'ok', '--data', '1.5'], 'GATOS_E_PAYLOAD_FLOAT', 3],
    ];
    for (const [args, code, status] of cases) {
      const r = gatos(repo, env, ['bus', 'publish', ...args, '--json']);
      expect(r.json?.error?.code, args.join(' ')).toBe(code);
      expect(r.status).toBe(status);
    }
    expect(
      gatos(repo, env, ['bus', 'read', '--topic', 'ok', '--group', 'Bad!', '--json']).json.error.code,
    ).toBe('GATOS_E_BUS_GROUP');
    expect(snapshot(repo)).toEqual(before);
  });
});
