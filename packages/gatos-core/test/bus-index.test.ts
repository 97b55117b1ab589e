/**
 * The incremental {@link TopicIndex}: after every kind of change (growth by this or another writer, rotation, a
 * stale writer appending to an older segment, pruning) its segments and dedupe maps equal a full rebuild, and it
 * reads only the commits that are new. Also measures publish cost at a large topic with and without it.
 */
import { describe, expect, it } from 'vitest';
import {
  type BusStores,
  createTopicIndex,
  loadTopic,
  type ObjectStore,
  type PublishOptions,
  prune,
  publish,
  type RefStore,
  type TopicIndex,
} from '../src/index.js';
import { memoryStores, message, testSigner } from './bus/memory.js';

const NOW = new Date('2026-11-23T10:00:00.000Z');
const T = 't';

/** Counts commits read through `chain`, so a test can tell an incremental load from a full one. */
function counting(objects: ObjectStore): { objects: ObjectStore; read: () => number } {
  let n = 0;
  return {
    objects: {
      ...objects,
      chain: async (head, stop) => {
        const out = await objects.chain(head, stop);
        n += out.length;
        return out;
      },
    },
    read: () => {
      const r = n;
      n = 0;
      return r;
    },
  };
}

const sorted = (m: ReadonlyMap<string, number>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1));

/** Loads through `index` and asserts the result equals a fresh full build. */
async function expectSameAsFull(stores: BusStores, index: TopicIndex): Promise<void> {
  const inc = await loadTopic(stores, T, index);
  const full = await loadTopic(stores, T);
  expect(inc.segments.map((s) => [s.ref, s.head, s.messages.map((m) => m.commit)])).toEqual(
    full.segments.map((s) => [s.ref, s.head, s.messages.map((m) => m.commit)]),
  );
  expect(sorted(inc.ulids)).toEqual(sorted(full.ulids));
  expect(sorted(inc.hashes)).toEqual(sorted(full.hashes));
}

describe('incremental topic index', () => {
  it('equals a full rebuild after growth, rotation, foreign writers, stale appends and pruning', async () => {
    const mem = memoryStores();
    const c = counting(mem.objects);
    const stores: BusStores = { objects: c.objects, refs: mem.refs };
    const { signer } = testSigner();
    const index = createTopicIndex(T);
    // Repeated content (dedupe off) so "first occurrence" of a hash across segments matters.
    const base = { ...stores, topic: T, signer, now: NOW, dedupeContent: false };
    const cfg = { config: { max_messages_per_segment: 7 } };
    const mine: PublishOptions = { ...base, ...cfg, index };
    await publish(
      Array.from({ length: 10 }, (_, i) => message({ i: i % 3 }, NOW)),
      mine,
    );
    await expectSameAsFull(stores, index);
    c.read();

    // Another writer (its own index) appends 3: this index reads just those 3 commits.
    await publish(
      Array.from({ length: 3 }, (_, i) => message({ i }, NOW)),
      { ...base, ...cfg },
    );
    c.read();
    await loadTopic(stores, T, index);
    expect(c.read()).toBe(3);
    await expectSameAsFull(stores, index);

    // Rotation by this writer and by the other one.
    for (let k = 0; k < 4; k++) await publish([message({ i: k % 2 }, NOW)], mine);
    await publish(
      Array.from({ length: 9 }, (_, i) => message({ i: i % 4 }, NOW)),
      { ...base, ...cfg },
    );
    await expectSameAsFull(stores, index);
    expect((await loadTopic(stores, T)).segments.length).toBeGreaterThanOrEqual(4);

    // A stale writer that does not see the newest segment appends to an older one (the spec's known limit): an
    // older segment grew, so the maps are rebuilt and still match.
    const newest = (await loadTopic(stores, T)).segments.at(-1)!.ref;
    const staleRefs: RefStore = {
      ...mem.refs,
      list: async (prefix) => (await mem.refs.list(prefix)).filter((r) => r.ref !== newest),
    };
    const stale = await publish([message({ i: 0 }, NOW), message({ stale: 1 }, NOW)], {
      ...base,
      refs: staleRefs,
      config: { max_messages_per_segment: 100 },
    });
    expect(stale.published[0]!.ref).not.toBe(newest);
    await expectSameAsFull(stores, index);

    // Pruning the oldest segments: the maps lose their keys (a rebuild), a republished key is new again.
    const later = new Date(NOW.getTime() + 40 * 86_400_000);
    const pr = await prune(stores, { topic: T, now: later, index });
    expect(pr.pruned.filter((p) => p.deleted).length).toBeGreaterThan(0);
    await expectSameAsFull(stores, index);
    await publish(
      Array.from({ length: 12 }, (_, i) => message({ i: i % 5 }, later)),
      { ...mine, now: later },
    );
    await expectSameAsFull(stores, index);

    // Duplicates are reported alike with the incremental index and without any index.
    const full = await loadTopic(stores, T);
    const someUlid = full.segments[0]!.messages[0]!.ulid;
    const dup = { ...message({ i: 0 }, later), ulid: someUlid };
    const withIndex = await publish([dup], { ...mine, now: later, dedupeContent: true });
    const without = await publish([dup], { ...base, now: later, dedupeContent: true });
    expect(withIndex.duplicates).toEqual(without.duplicates);
    expect(withIndex.duplicates).toEqual([
      { ulid: someUlid, reason: 'ulid', offset: full.segments[0]!.messages[0]!.offset },
    ]);
  });

  it('a publishing writer lists segment refs again only after a summary moved or a swap was lost', async () => {
    const mem = memoryStores();
    let lists = 0;
    const refs: RefStore = {
      ...mem.refs,
      list: (prefix) => {
        lists++;
        return mem.refs.list(prefix);
      },
    };
    const stores: BusStores = { objects: mem.objects, refs };
    const { signer } = testSigner();
    const index = createTopicIndex(T);
    const base = { ...stores, topic: T, signer, now: NOW, config: { max_messages_per_segment: 5 } };
    const mine: PublishOptions = { ...base, index };
    await publish([message({ a: 1 }, NOW), message({ a: 2 }, NOW)], mine);
    expect(lists).toBe(1);
    await publish([message({ a: 3 }, NOW)], mine);
    expect(lists).toBe(1);

    // Another writer appends to the current segment: the stale head loses the swap, the writer lists again and
    // still reports the foreign message's key as a duplicate.
    const foreign = message({ f: 1 }, NOW);
    const other = await publish([foreign], base);
    lists = 0;
    const r = await publish(
      [{ ...message({ f: 2 }, NOW), ulid: foreign.ulid }, message({ a: 4 }, NOW)],
      mine,
    );
    expect(lists).toBe(1);
    expect(r.duplicates).toEqual([
      { ulid: foreign.ulid, reason: 'ulid', offset: other.published[0]!.offset },
    ]);
    expect(r.published.map((p) => p.offset)).toEqual([other.published[0]!.offset + 1]);

    // Another writer rotates (sealing the segment first): the moved summary head makes the writer list again,
    // so it appends to the new segment, not to the sealed one.
    const rotated = await publish(
      Array.from({ length: 3 }, (_, i) => message({ g: i }, NOW)),
      base,
    );
    expect(rotated.sealed).toHaveLength(1);
    lists = 0;
    const after = await publish([message({ a: 5 }, NOW)], mine);
    expect(lists).toBe(1);
    expect(after.published[0]!.ref).toBe(rotated.published.at(-1)!.ref);
    expect(after.published[0]!.offset).toBe(rotated.published.at(-1)!.offset + 1);
    await expectSameAsFull(stores, index);
  });

  it('publish cost at a 10k-message topic: incremental vs rebuilt dedupe maps (printed)', async () => {
    const stores = memoryStores();
    const { signer } = testSigner();
    const index = createTopicIndex('big');
    const opts: PublishOptions = { ...stores, topic: 'big', signer, now: NOW, index };
    for (let b = 0; b < 10; b++) {
      await publish(
        Array.from({ length: 1000 }, (_, i) => message({ b, i }, NOW)),
        opts,
      );
    }
    const N = 100;
    let t = performance.now();
    for (let i = 0; i < N; i++) await publish([message({ inc: i }, NOW)], opts);
    const incremental = (performance.now() - t) / N;
    t = performance.now();
    for (let i = 0; i < N; i++) {
      // What every publish cost before the index kept its maps: a rebuild over all live messages.
      index.dedupe = null;
      await publish([message({ full: i }, NOW)], opts);
    }
    const rebuilt = (performance.now() - t) / N;
    console.log(
      `publish of 1 message at ${10_000 + N}+ messages: incremental ${incremental.toFixed(2)} ms, rebuilt maps ${rebuilt.toFixed(2)} ms`,
    );
    expect((await loadTopic(stores, 'big', index)).ulids.size).toBe(10_000 + 2 * N);
  });
});
