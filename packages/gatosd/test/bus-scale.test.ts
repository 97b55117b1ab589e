/**
 * Scale (slow): 100,000 messages over 4 topics, published in batches through the core with small segments so that
 * rotation happens ~40 times. Live refs grow with segments, not messages (the count is printed and checked), and
 * `git gatos bus verify` passes on every topic. Tagged slow: ~1 minute on a 2-core machine.
 */
import { describe, expect, it } from 'vitest';
import { createEnvelope, createTopicIndex, createUlidFactory, NO_POLICY_ROOT, publish } from '@gatos/core';
import { createObjectStore, createRefStore, openRepository } from '@gatos/git';
import { gatosAsync } from '../../git-gatos/test/helpers.js';
import { resolveIdentity } from '../src/identity/index.js';
import { busRepo } from './bus-cli-helpers.js';

const TOPICS = ['orders', 'payments', 'audit', 'telemetry'];
const PER_TOPIC = 25_000;
const SEGMENT = 2_500;
const BATCH = 2_500;
const NOW = new Date('2026-11-23T10:00:00.000Z');

describe('bus at 100k messages (slow)', () => {
  it('keeps the live ref count bounded by segments and still verifies', async () => {
    const { repo, env } = busRepo();
    const r = await openRepository({ cwd: repo });
    const objects = createObjectStore(r);
    const refs = createRefStore(r);
    try {
      const before = (await refs.list('refs/gatos/')).length;
      const signer = (await resolveIdentity({ actor: 'user:alice', env, objects, refs })).events;
      let seq = 0;
      // Deterministic ULIDs: a fixed clock and a counter for the random part.
      const ulid = createUlidFactory(
        () => NOW.getTime(),
        (n) => {
          const b = new Uint8Array(n);
          new DataView(b.buffer).setUint32(n - 4, ++seq);
          return b;
        },
      );
      const t0 = performance.now();
      for (const topic of TOPICS) {
        const index = createTopicIndex(topic);
        for (let i = 0; i < PER_TOPIC; i += BATCH) {
          const envelopes = Array.from({ length: BATCH }, (_, k) =>
            createEnvelope({
              type: 'bus.message',
              ulid: ulid(),
              actor: signer.actor,
              payload: { topic, i: i + k },
              policy_root: NO_POLICY_ROOT,
              ts: NOW.toISOString(),
            }),
          );
          const res = await publish(envelopes, {
            objects,
            refs,
            topic,
            signer,
            now: NOW,
            index,
            config: { max_messages_per_segment: SEGMENT },
          });
          expect(res.published).toHaveLength(BATCH);
        }
      }
      const publishMs = performance.now() - t0;
      const all = await refs.list('refs/gatos/');
      const bus = all.filter((x) => /^refs\/gatos\/mbus(-summary)?\//.test(x.ref));
      const segments = TOPICS.length * Math.ceil(PER_TOPIC / SEGMENT);
      console.log(
        `100k messages over ${TOPICS.length} topics in ${(publishMs / 1000).toFixed(1)} s ` +
          `(${Math.round(100_000 / (publishMs / 1000))}/s); live refs under refs/gatos/: ${all.length} ` +
          `(${bus.length} bus: ${segments} segments + ${TOPICS.length} summary chains; ${before} before)`,
      );
      expect(bus).toHaveLength(segments + TOPICS.length);
      expect(all.length).toBe(before + segments + TOPICS.length);

      const t1 = performance.now();
      const runs = await Promise.all(
        TOPICS.map((t) => gatosAsync(repo, env, ['bus', 'verify', t, '--json'])),
      );
      for (const v of runs) {
        expect(v.status, v.stdout + v.stderr).toBe(0);
        const rep = JSON.parse(v.stdout);
        expect(rep.ok).toBe(true);
        expect(rep.segments.reduce((a: number, s: { count: number }) => a + s.count, 0)).toBe(PER_TOPIC);
        expect(rep.summaries).toMatchObject({ sealed: PER_TOPIC / SEGMENT - 1, ok: true });
      }
      console.log(`bus verify of 4 topics (4 processes): ${((performance.now() - t1) / 1000).toFixed(1)} s`);
    } finally {
      await objects.close();
    }
  }, 240_000);
});
