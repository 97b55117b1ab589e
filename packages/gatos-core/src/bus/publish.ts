/**
 * Publishing: messages go onto the topic's current segment by compare-and-swap, many messages per swap; the
 * segment rotates (its summary is written first) when it is full or the UTC day changed.
 */
import { type RetryOptions, casDone, casRetry, casWrite } from '../chain/cas-retry.js';
import type { EventSigner } from '../chain/event-commit.js';
import { type PreparedEnvelope, prepareEnvelopes, signChain } from '../chain/signed-chain.js';
import { GatosError } from '../errors.js';
import type { EventEnvelope } from '../events/event-envelope.js';
import { formatSignature } from '../events/event-signature.js';
import type { Oid } from '../store/git-object.js';
import { contentHash, type MessageMeta, type MessagePosition, messageTrailers } from './message.js';
import { nextSegmentName, segmentDay } from './names.js';
import { assertTopic, parseSegmentName, segmentPrefix, segmentRef, summaryRef } from '../ref-layout.js';
import { type SegmentSummary, type SummaryKind, summaryCommitObjects } from './records.js';
import {
  createTopicIndex,
  DEFAULT_TOPIC_CONFIG,
  lastSummary,
  loadTopic,
  readSummaries,
  segmentMerklePeaks,
  segmentMerkleRoot,
} from './topic.js';
import type { BusStores, SegmentState, TopicConfig, TopicIndex } from './interface.js';

/** Options of {@link publish}. */
export interface PublishOptions extends BusStores {
  topic: string;
  signer: EventSigner;
  /** The current time: picks the segment's day and stamps summaries. */
  now: Date;
  config?: Partial<TopicConfig>;
  /** Largest canonical envelope (the repository profile's limit; 1 MiB). */
  maxEnvelopeBytes?: number;
  /** Also treat a message whose content hash is already live as a duplicate (true). */
  dedupeContent?: boolean;
  index?: TopicIndex;
  retry?: Partial<RetryOptions>;
}

/** One stored message. */
export interface PublishedMessage {
  segment: string;
  ref: string;
  commit: Oid;
  offset: number;
  ulid: string;
  cid: string;
}

/** One message not stored again: its ULID or its content is already live (`offset`: the live copy). */
export interface DuplicateMessage {
  ulid: string;
  reason: 'ulid' | 'content';
  offset: number | null;
}

/** What {@link publish} did. */
export interface PublishResult {
  topic: string;
  published: PublishedMessage[];
  duplicates: DuplicateMessage[];
  /** Segments sealed (rotated out) by this call, with their summary commits. */
  sealed: { segment: string; summary: Oid }[];
  /** Compare-and-swaps that succeeded (one per segment touched). */
  swaps: number;
  /** What each successful swap appended, for {@link applyAppend} on another index of the topic. */
  appends: SegmentAppend[];
}

/** Messages appended to a segment by one compare-and-swap from `expect` (null: the segment was created). */
export interface SegmentAppend {
  topic: string;
  name: string;
  ref: string;
  expect: Oid | null;
  head: Oid;
  messages: MessageMeta[];
}

/** Options of {@link applyAppend}. */
export interface ApplyAppendOptions {
  /**
   * Keep the segment's Merkle peaks current (false), so sealing it costs a few hashes: for the writer, whose index
   * seals segments. Peaks are started with a new segment and extended where they exist.
   */
  merkle?: boolean;
}

/**
 * Records an append in `index`: extends the cached segment when it was cached at `expect`, forgets it when the
 * cache is elsewhere (the next {@link loadTopic} reads it again). The cached message list is copied, never grown in
 * place: earlier snapshots of the topic keep their length.
 */
export function applyAppend(index: TopicIndex, a: SegmentAppend, opts: ApplyAppendOptions = {}): void {
  const prev = index.segments.get(a.ref);
  let next: SegmentState | null = null;
  if (!a.expect) {
    next = { topic: a.topic, name: a.name, ref: a.ref, head: a.head, messages: a.messages };
  } else if (prev?.head === a.expect) {
    next = { ...prev, head: a.head, messages: [...prev.messages, ...a.messages] };
  }
  if (next) {
    if (opts.merkle && (next.merkle || !a.expect)) segmentMerklePeaks(next);
    index.segments.set(a.ref, next);
  } else {
    index.segments.delete(a.ref);
    index.listedAtSummary = undefined; // The index no longer knows this segment: list again before trusting it.
  }
}

interface Prepared extends PreparedEnvelope {
  hash: string;
}

const CONFLICT_HINT = 'Other writers are updating the same topic very fast; retry.';

/** The summary of a live segment (all its messages). */
export function summarizeSegment(seg: SegmentState, kind: SummaryKind, now: Date): SegmentSummary {
  const first = seg.messages[0];
  const last = seg.messages.at(-1);
  if (!first || !last) throw new GatosError('GATOS_E_BUS_CORRUPT', `segment ${seg.ref} is empty`);
  return {
    version: 1,
    kind,
    topic: seg.topic,
    segment: seg.name,
    count: seg.messages.length,
    first_offset: first.offset,
    last_offset: last.offset,
    first_cid: first.cid,
    last_cid: last.cid,
    first_commit: first.commit,
    last_commit: last.commit,
    bytes: last.bytes,
    first_ts: first.seconds,
    last_ts: last.seconds,
    merkle_root: segmentMerkleRoot(seg),
    at: now.toISOString(),
  };
}

/**
 * Appends a summary record for `seg` to the topic's summary chain (compare-and-swap with retry). A `sealed`
 * record is not written twice for the same segment head (a crashed rotation is simply redone).
 */
export async function writeSummary(
  stores: BusStores,
  seg: SegmentState,
  kind: SummaryKind,
  now: Date,
  retry?: Partial<RetryOptions>,
): Promise<Oid> {
  const ref = summaryRef(seg.topic);
  const summary = summarizeSegment(seg, kind, now);
  return casRetry({ ...stores, ref, retry, hint: CONFLICT_HINT }, async () => {
    const { head, entry } = await lastSummary(stores, seg.topic);
    if (
      entry &&
      entry.summary.kind === kind &&
      entry.summary.segment === seg.name &&
      entry.summary.last_commit === seg.head
    ) {
      return casDone(entry.commit);
    }
    const objs = summaryCommitObjects(summary, head, now);
    return casWrite(objs, { ref, expect: head, next: objs[2]!.oid }, objs[2]!.oid);
  });
}

/**
 * Publishes messages, in order, to `topic`. Every envelope is validated and encoded before anything is written,
 * so bad input changes nothing. Messages whose ULID (idempotency key) or content hash is already in a live
 * segment, or earlier in the same call, are reported as duplicates and not stored. Returns what was stored.
 */
export async function publish(
  envelopes: readonly EventEnvelope[],
  opts: PublishOptions,
): Promise<PublishResult> {
  const { topic, signer, now } = opts;
  assertTopic(topic);
  const config: TopicConfig = { ...DEFAULT_TOPIC_CONFIG, ...opts.config };
  if (!(config.max_messages_per_segment >= 1) || !(config.max_segment_bytes >= 1)) {
    throw new GatosError('GATOS_E_USAGE', 'segment limits must be at least 1');
  }
  const dedupeContent = opts.dedupeContent ?? true;
  // Without a caller's index, keep one for this call so later chunks do not re-read earlier segments.
  const topicIndex = opts.index ?? createTopicIndex(topic);
  let pending: Prepared[] = prepareEnvelopes(envelopes, signer, {
    maxBytes: opts.maxEnvelopeBytes,
    noun: 'message',
  }).map((p) => ({ ...p, hash: contentHash(p.envelope) }));
  const result: PublishResult = { topic, published: [], duplicates: [], sealed: [], swaps: 0, appends: [] };
  let lostRace = false;
  while (pending.length > 0) {
    // One swap per round: plan a chunk onto the current segment; a lost race plans again on the new head.
    const round = await casRetry(
      { ...opts, ref: segmentPrefix(topic), retry: opts.retry, hint: CONFLICT_HINT },
      async (attempt) => {
        if (attempt > 0) lostRace = true;
        // The caller's index is kept current by this loop's own appends; after a lost swap, list again.
        const state = await loadTopic(opts, topic, topicIndex, {
          trustIndex: opts.index !== undefined && !lostRace,
        });
        // Dedupe against live segments and within the call (the live maps belong to the index: never copied,
        // which would cost O(topic) per call).
        const callUlids = new Set<string>();
        const callHashes = new Set<string>();
        const keep: Prepared[] = [];
        for (const p of pending) {
          const ulid = p.envelope.ulid;
          if (state.ulids.has(ulid) || callUlids.has(ulid))
            result.duplicates.push({ ulid, reason: 'ulid', offset: state.ulids.get(ulid) ?? null });
          else if (dedupeContent && (state.hashes.has(p.hash) || callHashes.has(p.hash))) {
            result.duplicates.push({ ulid, reason: 'content', offset: state.hashes.get(p.hash) ?? null });
          } else {
            keep.push(p);
            callUlids.add(ulid);
            callHashes.add(p.hash);
          }
        }
        pending = keep;
        if (pending.length === 0) return casDone(null);
        return planChunk(state.segments.at(-1) ?? null);
      },
    );
    if (!round) break;
    result.swaps++;
    result.published.push(...round.out);
    pending = pending.slice(round.out.length);
    result.appends.push(round.append);
    applyAppend(topicIndex, round.append, { merkle: true });
  }
  return result;

  /** The chunk of `pending` that fits onto the current segment (or a new one), signed at its positions. */
  async function planChunk(cur: SegmentState | null) {
    const last = cur?.messages.at(-1) ?? null;
    const firstBytes = pending[0]!.bytes.length;
    const rotate =
      !cur ||
      !last ||
      cur.messages.length >= config.max_messages_per_segment ||
      last.bytes + firstBytes > config.max_segment_bytes ||
      (parseSegmentName(cur.name)?.day ?? '') < segmentDay(now);
    let name: string;
    let parent: Oid | null;
    let index: number;
    let bytes: number;
    let offset: number;
    if (!rotate) {
      name = cur.name;
      parent = cur.head;
      index = cur.messages.length;
      bytes = last.bytes;
      offset = last.offset + 1;
    } else {
      let newest: string | null = cur?.name ?? null;
      let base = last ? last.offset + 1 : 0;
      if (cur && last) {
        const summary = await writeSummary(opts, cur, 'sealed', now, opts.retry);
        if (!result.sealed.some((s) => s.summary === summary))
          result.sealed.push({ segment: cur.name, summary });
      } else {
        // No live segment: continue names and offsets after everything summarized (pruned) so far.
        for (const { summary: s } of await readSummaries(opts, topic)) {
          if (newest === null || s.segment > newest) newest = s.segment;
          base = Math.max(base, s.last_offset + 1);
        }
      }
      name = nextSegmentName(now, newest);
      parent = null;
      index = 0;
      bytes = 0;
      offset = base;
    }
    const ref = segmentRef(topic, name);
    // The messages that fit: at most the segment's count, and its bytes (the first message always fits).
    const positions: MessagePosition[] = [];
    for (const p of pending) {
      const i = index + positions.length;
      if (i >= config.max_messages_per_segment) break;
      if (i > 0 && bytes + p.bytes.length > config.max_segment_bytes) break;
      bytes += p.bytes.length;
      positions.push({ offset: offset + positions.length, index: i, bytes });
    }
    const chunk = pending.slice(0, positions.length);
    const signed = signChain(chunk, {
      ref,
      parent,
      signer,
      trailers: (p, i) => messageTrailers(p.hash, positions[i]!),
    });
    const out: PublishedMessage[] = [];
    const metas: MessageMeta[] = signed.links.map((l, i) => {
      const p = l.prepared;
      out.push({
        segment: name,
        ref,
        commit: l.commit.oid,
        offset: positions[i]!.offset,
        ulid: p.envelope.ulid,
        cid: p.cidString,
      });
      return {
        commit: l.commit.oid,
        parent: l.parent,
        tree: l.tree.oid,
        type: p.envelope.type,
        ulid: p.envelope.ulid,
        cid: p.cidString,
        keyId: signer.keyId,
        sig: formatSignature(l.sig),
        ...positions[i]!,
        contentHash: p.hash,
        seconds: Math.floor(Date.parse(p.envelope.ts) / 1000),
      };
    });
    const append: SegmentAppend = { topic, name, ref, expect: parent, head: signed.head!, messages: metas };
    return casWrite(signed.objects, { ref, expect: parent, next: signed.head }, { out, append });
  }
}
