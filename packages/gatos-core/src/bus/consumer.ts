/**
 * Delivery: consumer groups read the messages after their acknowledged position (at-least-once: what is not
 * acknowledged is delivered again) and move the position forward by compare-and-swap. {@link applyOnce} turns
 * at-least-once delivery into exactly-once effects for consumers that remember what they applied.
 */
import { GatosError } from '../errors.js';
import type { EventEnvelope } from '../events/event-envelope.js';
import { type Oid, parseCommit, parseTree } from '../store/git-object.js';
import { type RetryOptions, casDone, casRetry, casWrite } from '../chain/cas-retry.js';
import type { MessageMeta } from './message.js';
import { ackRef, assertGroup } from '../ref-layout.js';
import { type ConsumerPosition, parsePosition, POSITION_FILE, positionCommitObjects } from './records.js';
import { loadEnvelopes, loadTopic } from './topic.js';
import type { BusStores, TopicIndex } from './interface.js';

/** A delivered message. */
export interface BusMessage extends MessageMeta {
  topic: string;
  segment: string;
  ref: string;
  envelope: EventEnvelope;
  /** Canonical envelope bytes. */
  envelopeBytes: Uint8Array;
}

/** Reads up to `limit` messages with offsets greater than `after` (−1: from the oldest live message). */
export async function readMessages(
  stores: BusStores,
  opts: { topic: string; after: number; limit?: number; index?: TopicIndex },
): Promise<BusMessage[]> {
  const state = await loadTopic(stores, opts.topic, opts.index);
  const limit = opts.limit ?? 100;
  const picked: { seg: (typeof state.segments)[number]; m: MessageMeta }[] = [];
  for (const seg of state.segments) {
    const msgs = seg.messages;
    if ((msgs.at(-1)?.offset ?? -1) <= opts.after) continue;
    // Offsets ascend within a segment: find the first one after `after` by bisection, not by a scan from the
    // start (a caught-up stream asks at the end of a segment of up to 10k messages).
    let lo = 0;
    let hi = msgs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (msgs[mid]!.offset <= opts.after) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < msgs.length && picked.length < limit; i++) picked.push({ seg, m: msgs[i]! });
    if (picked.length >= limit) break;
  }
  const loaded = await loadEnvelopes(
    stores.objects,
    picked.map((p) => p.m),
  );
  return picked.map(({ seg, m }, i) => ({
    ...m,
    topic: opts.topic,
    segment: seg.name,
    ref: seg.ref,
    envelope: loaded[i]!.envelope,
    envelopeBytes: loaded[i]!.bytes,
  }));
}

/** A consumer group's position and the commit holding it, or nulls when the group has acknowledged nothing. */
export async function readPosition(
  stores: BusStores,
  topic: string,
  group: string,
): Promise<{ head: Oid | null; position: ConsumerPosition | null }> {
  const head = await stores.refs.read(ackRef(topic, group));
  if (!head) return { head: null, position: null };
  const [raw] = await stores.objects.get([head]);
  const c = parseCommit(head, raw!.body);
  const [tree] = await stores.objects.get([c.tree]);
  const entry = parseTree(c.tree, tree!.body).find((e) => e.name === POSITION_FILE);
  if (!entry) throw new GatosError('GATOS_E_BUS_CORRUPT', `position commit ${head} has no ${POSITION_FILE}`);
  const [blob] = await stores.objects.get([entry.oid]);
  return { head, position: parsePosition(blob!.body) };
}

/** Reads the messages a group has not acknowledged yet (at-least-once: the same ones again until acked). */
export async function readGroup(
  stores: BusStores,
  opts: { topic: string; group: string; limit?: number; index?: TopicIndex },
): Promise<{ position: ConsumerPosition | null; messages: BusMessage[] }> {
  assertGroup(opts.group);
  const { position } = await readPosition(stores, opts.topic, opts.group);
  const messages = await readMessages(stores, {
    topic: opts.topic,
    after: position?.offset ?? -1,
    ...(opts.limit === undefined ? {} : { limit: opts.limit }),
    ...(opts.index ? { index: opts.index } : {}),
  });
  return { position, messages };
}

/** Options of {@link ack}: where to move the group, by offset or by message commit. */
export interface AckOptions {
  topic: string;
  group: string;
  to: { offset: number } | { commit: Oid };
  now: Date;
  index?: TopicIndex;
  retry?: Partial<RetryOptions>;
}

/**
 * Moves a group's position forward to a live message (compare-and-swap with retry). Never moves it back: acking
 * an offset at or before the current position changes nothing (`moved: false`). Throws `GATOS_E_BUS_POSITION`
 * for a message that is not live in the topic.
 */
export async function ack(
  stores: BusStores,
  opts: AckOptions,
): Promise<{ moved: boolean; position: ConsumerPosition; commit: Oid }> {
  const { topic, group, now } = opts;
  const ref = ackRef(topic, group);
  const state = await loadTopic(stores, topic, opts.index);
  let found: { segment: string; m: MessageMeta } | null = null;
  for (const seg of state.segments) {
    for (const m of seg.messages) {
      if ('offset' in opts.to ? m.offset === opts.to.offset : m.commit === opts.to.commit) {
        found = { segment: seg.name, m };
      }
    }
  }
  if (!found) {
    throw new GatosError(
      'GATOS_E_BUS_POSITION',
      `no live message ${JSON.stringify(opts.to)} in topic ${topic}`,
      {
        data: { topic, group, to: opts.to },
        hint: 'Ack a commit or offset returned by `bus read`.',
      },
    );
  }
  type Acked = { moved: boolean; position: ConsumerPosition; commit: Oid };
  return casRetry<Acked>(
    { ...stores, ref, retry: opts.retry, message: `gave up moving ${ref}` },
    async () => {
      const { head, position } = await readPosition(stores, topic, group);
      if (head && position && position.offset >= found.m.offset)
        return casDone({ moved: false, position, commit: head });
      const next: ConsumerPosition = {
        version: 1,
        topic,
        group,
        segment: found.segment,
        commit: found.m.commit,
        offset: found.m.offset,
        at: now.toISOString(),
      };
      const objs = positionCommitObjects(next, now);
      const commit = objs[2]!.oid;
      return casWrite(objs, { ref, expect: head, next: commit }, { moved: true, position: next, commit });
    },
  );
}

/** What a consumer remembers about applied messages (a table in its own database, a file, memory). */
export interface SeenStore {
  has(key: string): boolean | Promise<boolean>;
  add(key: string): void | Promise<void>;
}

/** A {@link SeenStore} in memory (for tests and consumers whose effects are in memory too). */
export function createMemorySeenStore(): SeenStore & { keys: Set<string> } {
  const keys = new Set<string>();
  return { keys, has: (k) => keys.has(k), add: (k) => void keys.add(k) };
}

/**
 * Applies each message's effect at most once per ULID (the idempotency key), even when the bus delivers a
 * message twice (after a crash before `ack`) or the batch holds it twice. The key is recorded after the effect
 * succeeds; for exactly-once effects the consumer must record the key atomically with the effect (same
 * transaction), otherwise a crash between the two re-applies it once.
 */
export async function applyOnce<M extends { ulid: string }>(
  messages: readonly M[],
  seen: SeenStore,
  effect: (message: M) => void | Promise<void>,
): Promise<{ applied: number; skipped: number }> {
  let applied = 0;
  let skipped = 0;
  for (const m of messages) {
    if (await seen.has(m.ulid)) {
      skipped++;
      continue;
    }
    await effect(m);
    await seen.add(m.ulid);
    applied++;
  }
  return { applied, skipped };
}
