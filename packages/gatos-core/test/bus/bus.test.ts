import { blake3 } from '@noble/hashes/blake3.js';
import { describe, expect, it } from 'vitest';
import {
  ack,
  appendMerkleLeaves,
  applyOnce,
  createMemorySeenStore,
  createTopicIndex,
  encodeEnvelope,
  GatosError,
  EMPTY_MERKLE_PEAKS,
  merklePeaksRoot,
  merkleRootBytes,
  nextSegmentName,
  parseSegmentRef,
  prune,
  publish,
  readGroup,
  readMessages,
  readSummaries,
  segmentDay,
  segmentRef,
  verifyTopic,
} from '../../src/index.js';
import { memoryStores, message, testSigner } from './memory.js';

const NOW = new Date('2026-11-23T10:00:00.000Z');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const h = (...parts: number[][]) => blake3(Uint8Array.from(parts.flat()));

describe('bus formats', () => {
  it('Merkle root: empty, one leaf, odd node promoted, domain separated', () => {
    expect(hex(merkleRootBytes([]))).toBe(hex(h([2])));
    const a = [1, 2, 3];
    const b = [4, 5];
    const c = [6];
    const la = h([0], a);
    const lb = h([0], b);
    const lc = h([0], c);
    expect(hex(merkleRootBytes([Uint8Array.from(a)]))).toBe(hex(la));
    const ab = h([1], [...la], [...lb]);
    expect(hex(merkleRootBytes([a, b, c].map((x) => Uint8Array.from(x))))).toBe(
      hex(h([1], [...ab], [...lc])),
    );
    // A leaf can never pass for a node: swapping inputs changes the root.
    expect(hex(merkleRootBytes([Uint8Array.from(b), Uint8Array.from(a)]))).not.toBe(hex(ab));
  });

  it('Merkle peaks kept while appending give the root of the level walk, for every count and any chunking', () => {
    const leaves = Array.from({ length: 300 }, (_, i) => Uint8Array.of(i & 0xff, i >> 8, 7));
    // A fixed pseudo-random chunking (no Math.random: the test must be repeatable).
    let seed = 12345;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    let acc = EMPTY_MERKLE_PEAKS;
    expect(hex(merklePeaksRoot(acc))).toBe(hex(merkleRootBytes([])));
    while (acc.count < leaves.length) {
      const take = 1 + (next() % 9);
      acc = appendMerkleLeaves(acc, leaves.slice(acc.count, acc.count + take));
      expect(hex(merklePeaksRoot(acc)), `${acc.count} leaves`).toBe(
        hex(merkleRootBytes(leaves.slice(0, acc.count))),
      );
      expect(acc.peaks).toHaveLength(acc.count.toString(2).replace(/0/g, '').length);
    }
    for (let n = 0; n <= 70; n++) {
      expect(hex(merklePeaksRoot(appendMerkleLeaves(EMPTY_MERKLE_PEAKS, leaves.slice(0, n))))).toBe(
        hex(merkleRootBytes(leaves.slice(0, n))),
      );
    }
  });

  it('segment names: UTC day, 6-digit sequence increasing within the day, reset on a new day', () => {
    expect(segmentDay(new Date('2026-01-02T23:59:59.999Z'))).toBe('2026/01/02');
    expect(nextSegmentName(NOW, null)).toBe('2026/11/23/000000');
    expect(nextSegmentName(NOW, '2026/11/23/000041')).toBe('2026/11/23/000042');
    expect(nextSegmentName(NOW, '2026/11/22/000041')).toBe('2026/11/23/000000');
    expect(segmentRef('orders', '2026/11/23/000001')).toBe('refs/gatos/mbus/orders/2026/11/23/000001');
    expect(parseSegmentRef('refs/gatos/mbus/orders/2026/11/23/000001')).toEqual({
      topic: 'orders',
      name: '2026/11/23/000001',
    });
    expect(parseSegmentRef('refs/gatos/mbus/Orders/2026/11/23/000001')).toBeNull();
    expect(() => segmentRef('Bad Topic', '2026/11/23/000001')).toThrow(GatosError);
  });
});

describe('bus store (in memory)', () => {
  it('publishing the same idempotency key twice stores it once; the consumer applies it once', async () => {
    const s = memoryStores();
    const { signer, trust } = testSigner();
    const m = message({ n: 1 }, NOW);
    const first = await publish([m], { ...s, topic: 't', signer, now: NOW });
    const again = await publish([m], { ...s, topic: 't', signer, now: NOW });
    expect(first.published).toHaveLength(1);
    expect(again.published).toHaveLength(0);
    expect(again.duplicates).toEqual([{ ulid: m.ulid, reason: 'ulid', offset: 0 }]);
    // Same content under another key is a duplicate too (content hash).
    const same = await publish([message({ n: 1 }, NOW)], { ...s, topic: 't', signer, now: NOW });
    expect(same.duplicates[0]!.reason).toBe('content');
    // Consumer side: delivered twice (no ack), applied once.
    const seen = createMemorySeenStore();
    const effects: unknown[] = [];
    for (let round = 0; round < 2; round++) {
      const { messages } = await readGroup(s, { topic: 't', group: 'g' });
      expect(messages).toHaveLength(1);
      await applyOnce([...messages, ...messages], seen, (msg) => void effects.push(msg.envelope.payload));
    }
    expect(effects).toEqual([{ n: 1 }]);
    expect((await verifyTopic(s, trust, 't')).ok).toBe(true);
  });

  it('rotates by count into independent segments with verifiable summaries', async () => {
    const s = memoryStores();
    const { signer, trust } = testSigner();
    const index = createTopicIndex('t');
    const msgs = Array.from({ length: 25 }, (_, i) => message({ i }, NOW));
    const r = await publish(msgs.slice(0, 12), {
      ...s,
      topic: 't',
      signer,
      now: NOW,
      index,
      config: { max_messages_per_segment: 10 },
    });
    for (const m of msgs.slice(12)) {
      await publish([m], {
        ...s,
        topic: 't',
        signer,
        now: NOW,
        index,
        config: { max_messages_per_segment: 10 },
      });
    }
    expect(r.swaps).toBe(2);
    const segs = [...s.refMap.keys()].filter((k) => k.startsWith('refs/gatos/mbus/t/')).sort();
    expect(segs).toEqual([0, 1, 2].map((i) => `refs/gatos/mbus/t/2026/11/23/00000${i}`));
    // Each segment's first commit has no parent.
    for (const ref of segs) expect((await s.objects.chain(s.refMap.get(ref)!))[0]!.parents).toEqual([]);
    const sums = await readSummaries(s, 't');
    expect(
      sums.map((x) => [x.summary.kind, x.summary.segment, x.summary.count, x.summary.first_offset]),
    ).toEqual([
      ['sealed', '2026/11/23/000000', 10, 0],
      ['sealed', '2026/11/23/000001', 10, 10],
    ]);
    const report = await verifyTopic(s, trust, 't');
    expect(report.problems).toEqual([]);
    expect(report.segments.map((x) => x.count)).toEqual([10, 10, 5]);
    expect(report.segments[0]!.merkle_root).toBe(sums[0]!.summary.merkle_root);
    // A new day opens a new segment at sequence 0.
    const tomorrow = new Date('2026-11-24T00:00:01.000Z');
    await publish([message({ i: 99 }, tomorrow)], { ...s, topic: 't', signer, now: tomorrow });
    expect(s.refMap.has('refs/gatos/mbus/t/2026/11/24/000000')).toBe(true);
    // Tampering is caught: a different signer key id is not trusted.
    expect((await verifyTopic(s, testSigner('user:bob').trust, 't')).ok).toBe(false);
  });

  it('reads exactly the messages after any offset, across segments, up to the limit', async () => {
    const s = memoryStores();
    const { signer } = testSigner();
    const msgs = Array.from({ length: 23 }, (_, i) => message({ i }, NOW));
    await publish(msgs, { ...s, topic: 't', signer, now: NOW, config: { max_messages_per_segment: 5 } });
    const index = createTopicIndex('t');
    for (const limit of [1, 3, 100]) {
      for (let after = -1; after <= 23; after++) {
        const got = await readMessages(s, { topic: 't', after, limit, index });
        const want = Array.from(
          { length: Math.max(0, Math.min(limit, 22 - after)) },
          (_, i) => after + 1 + i,
        );
        expect(
          got.map((m) => m.offset),
          `after ${after} limit ${limit}`,
        ).toEqual(want);
        expect(got.map((m) => (m.envelope.payload as { i: number }).i)).toEqual(want);
      }
    }
  });

  it('rotates by bytes', async () => {
    const s = memoryStores();
    const { signer } = testSigner();
    const msgs = Array.from({ length: 6 }, (_, i) => message({ i, pad: 'x'.repeat(200) }, NOW));
    const size = encodeEnvelope(msgs[0]!).length;
    await publish(msgs, { ...s, topic: 't', signer, now: NOW, config: { max_segment_bytes: 2 * size + 5 } });
    const segs = [...s.refMap.keys()].filter((k) => k.startsWith('refs/gatos/mbus/t/'));
    expect(segs.length).toBe(3);
  });

  it('redelivers unacked messages, never acked ones; ack only moves forward', async () => {
    const s = memoryStores();
    const { signer } = testSigner();
    await publish(
      Array.from({ length: 5 }, (_, i) => message({ i }, NOW)),
      { ...s, topic: 't', signer, now: NOW, config: { max_messages_per_segment: 2 } },
    );
    const r1 = await readGroup(s, { topic: 't', group: 'g', limit: 3 });
    expect(r1.messages.map((m) => m.offset)).toEqual([0, 1, 2]);
    // Crash before ack: the same messages again.
    expect((await readGroup(s, { topic: 't', group: 'g', limit: 3 })).messages.map((m) => m.offset)).toEqual([
      0, 1, 2,
    ]);
    const a = await ack(s, { topic: 't', group: 'g', to: { commit: r1.messages[1]!.commit }, now: NOW });
    expect(a.moved).toBe(true);
    expect((await readGroup(s, { topic: 't', group: 'g' })).messages.map((m) => m.offset)).toEqual([2, 3, 4]);
    expect((await ack(s, { topic: 't', group: 'g', to: { offset: 0 }, now: NOW })).moved).toBe(false);
    await expect(ack(s, { topic: 't', group: 'g', to: { offset: 99 }, now: NOW })).rejects.toMatchObject({
      code: 'GATOS_E_BUS_POSITION',
    });
    // Another group is independent.
    expect((await readGroup(s, { topic: 't', group: 'other' })).messages).toHaveLength(5);
  });

  it('prunes expired segments after summarizing them; offsets continue; verify still passes', async () => {
    const s = memoryStores();
    const { signer, trust } = testSigner();
    const old = new Date('2026-10-01T00:00:00.000Z');
    await publish(
      Array.from({ length: 4 }, (_, i) => message({ i }, old)),
      { ...s, topic: 't', signer, now: old, config: { max_messages_per_segment: 2 } },
    );
    const dry = await prune(s, { topic: 't', now: NOW, ttlDays: 30, dryRun: true });
    expect(dry.pruned.map((p) => p.segment)).toEqual(['2026/10/01/000000', '2026/10/01/000001']);
    expect(s.refMap.size).toBe(3); // 2 segments + summary (first segment sealed)
    const done = await prune(s, { topic: 't', now: NOW, ttlDays: 30 });
    expect(done.pruned.every((p) => p.deleted && p.summary)).toBe(true);
    expect([...s.refMap.keys()]).toEqual(['refs/gatos/mbus-summary/t']);
    const report = await verifyTopic(s, trust, 't');
    expect(report.ok).toBe(true);
    expect(report.summaries).toMatchObject({ count: 3, sealed: 1, pruned: 2 });
    const next = await publish([message({ i: 4 }, NOW)], { ...s, topic: 't', signer, now: NOW });
    expect(next.published[0]!.offset).toBe(4);
  });

  it('bad input changes nothing', async () => {
    const s = memoryStores();
    const { signer } = testSigner();
    await expect(publish([message({}, NOW)], { ...s, topic: 'Bad', signer, now: NOW })).rejects.toMatchObject(
      {
        code: 'GATOS_E_BUS_TOPIC',
      },
    );
    await expect(
      publish([message({ a: 1 }, NOW), message({ big: 'x'.repeat(2000) }, NOW)], {
        ...s,
        topic: 't',
        signer,
        now: NOW,
        maxEnvelopeBytes: 1000,
      }),
    ).rejects.toMatchObject({ code: 'GATOS_E_PAYLOAD_TOO_LARGE' });
    expect(s.data.size).toBe(0);
    expect(s.refMap.size).toBe(0);
  });
});
