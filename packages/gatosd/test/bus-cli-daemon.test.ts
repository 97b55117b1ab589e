/**
 * `git gatos bus publish|read|ack` on the repository directly and through a running gatosd (`--daemon`,
 * `$GATOSD_URL` + `$GATOSD_TOKEN`): the same command lines, the same `--json` shape, the same error codes and exit
 * statuses (the daemon's error body carries the code).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CliRun, expectOk, gatos, tmp } from '../../git-gatos/test/helpers.js';
import { busRepo, startDaemon } from './bus-cli-helpers.js';

/** The structure of a JSON value: key order and value types, not the values. */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(shape);
  if (v && typeof v === 'object') return Object.entries(v).map(([k, x]) => [k, shape(x)]);
  return v === null ? 'null' : typeof v;
}

/** Drops what differs by nature between the two paths: ids, times, and who signed. */
function values(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(values);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v)
        .filter(
          ([k]) => !['commit', 'cid', 'ulid', 'ts', 'at', 'actor', 'topic', 'ref', 'segment'].includes(k),
        )
        .map(([k, x]) => [k, values(x)]),
    );
  }
  return v;
}

const TOKEN = 'bus-cli-token-0123456789';
const KEY = '01KAR0000000000000000000AA';

describe('bus CLI through gatosd', () => {
  it('publish, read and ack give the same JSON and errors on the repository and through the daemon', async () => {
    const { repo, env } = busRepo();
    const d = await startDaemon(repo, { ...env, GATOSD_TOKEN: TOKEN });
    try {
      const batch = join(tmp(), 'batch.jsonl');
      writeFileSync(
        batch,
        [
          JSON.stringify({ data: { n: 2 } }),
          JSON.stringify({ data: { n: 3 }, type: 'order.created' }),
          JSON.stringify({ data: { n: 1 } }), // same content as the first message: a duplicate
        ].join('\n'),
      );
      const direct = { ...env, GATOS_ACTOR: 'user:alice' };
      const viaEnv = { ...env, GATOSD_URL: d.url, GATOSD_TOKEN: TOKEN };
      // The same command lines; topics differ only so that both start at offset 0.
      const script = (topic: string, extra: string[]) => [
        ['bus', 'publish', '--topic', topic, '--data', '{"n":1}', '--key', KEY, '--json', ...extra],
        ['bus', 'publish', '--topic', topic, '--batch', batch, '--json', ...extra],
        ['bus', 'publish', '--topic', topic, '--data', '{"n":9}', '--key', KEY, '--json', ...extra],
        ['bus', 'read', '--topic', topic, '--group', 'g', '--limit', '2', '--json', ...extra],
        ['bus', 'ack', '--topic', topic, '--group', 'g', '--to', '1', '--json', ...extra],
        ['bus', 'read', '--topic', topic, '--group', 'g', '--json', ...extra],
        ['bus', 'ack', '--topic', topic, '--group', 'g', '--to', '0', '--json', ...extra],
      ];
      const run = (e: NodeJS.ProcessEnv, topic: string, extra: string[] = []) =>
        script(topic, extra).map((args) => expectOk(gatos(repo, e, args)).json);
      const a = run(direct, 'direct');
      // Half through $GATOSD_URL, half through --daemon (the env token is used either way).
      const b = run(viaEnv, 'viaenv');
      const c = run({ ...env, GATOSD_TOKEN: TOKEN }, 'viaflag', ['--daemon', d.url]);

      // Publishing: the daemon's write is grouped with others, so `sealed`/`swaps` exist only directly.
      for (const r of a.slice(0, 3)) {
        expect(r).toHaveProperty('swaps');
        expect(r).toHaveProperty('sealed');
        delete r.sealed;
        delete r.swaps;
      }
      expect(b.map(shape)).toEqual(a.map(shape));
      expect(c.map(shape)).toEqual(a.map(shape));
      expect(b.map(values)).toEqual(a.map(values));
      expect(c.map(values)).toEqual(a.map(values));

      // The values that matter, spelled out once.
      expect(a[0].published.map((p: { offset: number }) => p.offset)).toEqual([0]);
      expect(a[1].published.map((p: { offset: number }) => p.offset)).toEqual([1, 2]);
      expect(a[1].duplicates).toEqual([expect.objectContaining({ reason: 'content', offset: 0 })]);
      expect(a[2].duplicates).toEqual([{ ulid: KEY, reason: 'ulid', offset: 0 }]);
      expect(a[3].messages.map((m: { data: unknown }) => m.data)).toEqual([{ n: 1 }, { n: 2 }]);
      expect(a[4]).toMatchObject({ moved: true, position: { group: 'g', offset: 1 } });
      expect(a[5].messages.map((m: { type: string }) => m.type)).toEqual(['order.created']);
      expect(a[6]).toMatchObject({ moved: false, position: { offset: 1 } });
      expect(a[0].actor).toBe('user:alice');
      expect(b[0].actor).toBe('service:gatosd');
      expect(b[0].published[0].ref).toBe(`refs/gatos/mbus/viaenv/${b[0].published[0].segment}`);
      expect(b[5].position).toMatchObject({
        topic: 'viaenv',
        group: 'g',
        offset: 1,
        commit: b[3].messages[1].commit,
      });
      // Ack by commit works through the daemon too.
      const byCommit = expectOk(
        gatos(repo, viaEnv, [
          'bus',
          'ack',
          '--topic',
          'viaenv',
          '--group',
          'g',
          '--to',
          b[5].messages[0].commit,
          '--json',
        ]),
      ).json;
      expect(byCommit).toMatchObject({ moved: true, position: { offset: 2 } });

      // Errors: the same code and exit status both ways.
      const fail = (r: CliRun, status: number, code: string) => {
        expect(r.status, r.stdout + r.stderr).toBe(status);
        expect(r.json.error.code).toBe(code);
      };
      for (const [e, topic] of [
        [direct, 'direct'],
        [viaEnv, 'viaenv'],
      ] as const) {
        // Not a live message: the daemon answers 404 GATOS_E_BUS_POSITION.
        fail(
          gatos(repo, e, ['bus', 'ack', '--topic', topic, '--group', 'g', '--to', '99', '--json']),
          4,
          'GATOS_E_BUS_POSITION',
        );
        // A key that is not a ULID: rejected by envelope validation (in the daemon, from its 400 body).
        const bad = gatos(repo, e, [
          'bus',
          'publish',
          '--topic',
          topic,
          '--data',
          '1',
          '--key',
          'nope',
          '--json',
        ]);
        expect(bad.status).toBe(3);
        expect(bad.json.error.code).toMatch(/^GATOS_E_ENVELOPE_/);
        fail(
          gatos(repo, e, ['bus', 'read', '--topic', 'Bad Topic', '--group', 'g', '--json']),
          3,
          'GATOS_E_BUS_TOPIC',
        );
      }
      expect(
        gatos(repo, direct, ['bus', 'publish', '--topic', 'direct', '--data', '1', '--key', 'nope', '--json'])
          .json.error.code,
      ).toBe(
        gatos(repo, viaEnv, ['bus', 'publish', '--topic', 'viaenv', '--data', '1', '--key', 'nope', '--json'])
          .json.error.code,
      );
      // Only through the daemon: a wrong token (7), an unreachable daemon (8), options the daemon would ignore (2).
      fail(
        gatos(repo, { ...viaEnv, GATOSD_TOKEN: 'wrong-token-0123456789' }, [
          'bus',
          'read',
          '--topic',
          'viaenv',
          '--group',
          'g',
          '--json',
        ]),
        7,
        'GATOS_E_HTTP_AUTH',
      );
      fail(
        gatos(repo, env, [
          'bus',
          'read',
          '--topic',
          'viaenv',
          '--group',
          'g',
          '--daemon',
          'http://127.0.0.1:9',
          '--json',
        ]),
        8,
        'GATOS_E_DAEMON_UNREACHABLE',
      );
      fail(
        gatos(repo, viaEnv, [
          'bus',
          'publish',
          '--topic',
          'viaenv',
          '--data',
          '1',
          '--max-segment-bytes',
          '10',
          '--json',
        ]),
        2,
        'GATOS_E_USAGE',
      );
      fail(
        gatos(repo, viaEnv, [
          'bus',
          'publish',
          '--topic',
          'viaenv',
          '--data',
          '1',
          '--actor',
          'user:alice',
          '--json',
        ]),
        2,
        'GATOS_E_USAGE',
      );
      // Both topics verify: the daemon wrote real, signed segments.
      for (const t of ['direct', 'viaenv', 'viaflag'])
        expectOk(gatos(repo, env, ['bus', 'verify', t, '--json']));
    } finally {
      expect(await d.stop()).toBe(0);
    }
  });
});
