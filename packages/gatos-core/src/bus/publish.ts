/**
 * Publishing: messages go onto the topic's current segment by compare-and-swap, many messages per swap; the
 * segment rotates (its summary is written first) when it is full or the UTC day changed.
 */
import { GatosError } from '../errors.js';
import { eventCid } from '../event-cid.js';
import { type EventEnvelope, encodeEnvelope } from '../event-envelope.js';
import { type GitObject, type Oid, ZERO_OID } from '../git-object.js';
import type { EventSigner, RetryOptions } from '../journal.js';
import { contentHash, type MessageMeta, messageCommitObjects } from './message.js';
import { formatSignature } from '../event-signature.js';
import {
  assertTopic,
  nextSegmentName,
  parseSegmentName,
  segmentDay,
  segmentRef,
  summaryRef,
} from './names.js';
import { type SegmentSummary, type SummaryKind, summaryCommitObjects } from './records.js';
import {
  type BusStores,
  DEFAULT_TOPIC_CONFIG,
  lastSummary,
  loadTopic,
  readSummaries,
  type SegmentState,
  type TopicConfig,
  type TopicIndex,
  createTopicIndex,
  segmentMerklePeaks,
  segmentMerkleRoot,
} from './topic.js';

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

interface Prepared {
  envelope: EventEnvelope;
  bytes: Uint8Array;
  cid: ReturnType<typeof eventCid>;
  cidString: string;
  hash: string;
}

const noSleep = async () => {};

/** Resolved retry settings. */
export function retryOptions(r?: Partial<RetryOptions>): RetryOptions {
  return { attempts: 64, baseDelayMs: 2, maxDelayMs: 250, sleep: noSleep, random: () => 0.5, ...r };
}

async function backoff(retry: RetryOptions, attempt: number): Promise<void> {
  const cap = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** Math.min(attempt, 16));
  await retry.sleep(cap * (0.5 + retry.random() / 2));
}

function conflict(ref: string, attempts: number): GatosError {
  return new GatosError('GATOS_E_REF_CONFLICT', `gave up updating ${ref} after ${attempts} lost races`, {
    data: { ref },
    hint: 'Other writers are updating the same topic very fast; retry.',
  });
}

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
  retryIn?: Partial<RetryOptions>,
): Promise<Oid> {
  const retry = retryOptions(retryIn);
  const ref = summaryRef(seg.topic);
  const summary = summarizeSegment(seg, kind, now);
  for (let attempt = 0; attempt < retry.attempts; attempt++) {
    const { head, entry } = await lastSummary(stores, seg.topic);
    if (
      entry &&
      entry.summary.kind === kind &&
      entry.summary.segment === seg.name &&
      entry.summary.last_commit === seg.head
    ) {
      return entry.commit;
    }
    const objs = summaryCommitObjects(summary, head, now);
    await stores.objects.put(objs);
    const commit = objs[2]!.oid;
    if (await stores.refs.cas({ ref, expect: head, next: commit })) return commit;
    await backoff(retry, attempt);
  }
  throw conflict(ref, retry.attempts);
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
  const retry = retryOptions(opts.retry);
  // Without a caller's index, keep one for this call so later chunks do not re-read earlier segments.
  const topicIndex = opts.index ?? createTopicIndex(topic);
  let pending: Prepared[] = envelopes.map((envelope) => {
    if (envelope.actor !== signer.actor) {
      throw new GatosError(
        'GATOS_E_ENVELOPE_ACTOR',
        `message actor ${envelope.actor} is not the signer ${signer.actor}`,
        {
          data: { actor: envelope.actor, signer: signer.actor },
        },
      );
    }
    const bytes = encodeEnvelope(
      envelope,
      opts.maxEnvelopeBytes === undefined ? {} : { maxBytes: opts.maxEnvelopeBytes },
    );
    const cid = eventCid(bytes);
    return { envelope, bytes, cid, cidString: cid.toString(), hash: contentHash(envelope) };
  });
  const result: PublishResult = { topic, published: [], duplicates: [], sealed: [], swaps: 0, appends: [] };
  let failures = 0;
  while (pending.length > 0) {
    // The caller's index is kept current by this loop's own appends; after a lost swap, list again.
    const state = await loadTopic(opts, topic, topicIndex, {
      trustIndex: opts.index !== undefined && failures === 0,
    });
    // Dedupe against live segments and within the call (the live maps belong to the index: never copied, which
    // would cost O(topic) per call).
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
    if (pending.length === 0) break;

    const cur = state.segments.at(-1) ?? null;
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
    const expect = parent;
    const written: GitObject[] = [];
    const out: PublishedMessage[] = [];
    const metas: MessageMeta[] = [];
    let taken = 0;
    for (const p of pending) {
      if (index >= config.max_messages_per_segment) break;
      if (taken > 0 || index > 0) {
        if (bytes + p.bytes.length > config.max_segment_bytes) break;
      }
      const sig = signer.sign({ ref, parent: parent ?? ZERO_OID, cid: p.cid });
      bytes += p.bytes.length;
      const objs = messageCommitObjects({
        envelope: p.envelope,
        bytes: p.bytes,
        cid: p.cidString,
        sig,
        keyId: signer.keyId,
        parent,
        contentHash: p.hash,
        position: { offset, index, bytes },
      });
      written.push(objs.blob, objs.tree, objs.commit);
      out.push({
        segment: name,
        ref,
        commit: objs.commit.oid,
        offset,
        ulid: p.envelope.ulid,
        cid: p.cidString,
      });
      metas.push({
        commit: objs.commit.oid,
        parent,
        tree: objs.tree.oid,
        type: p.envelope.type,
        ulid: p.envelope.ulid,
        cid: p.cidString,
        keyId: signer.keyId,
        sig: formatSignature(sig),
        offset,
        index,
        bytes,
        contentHash: p.hash,
        seconds: Math.floor(Date.parse(p.envelope.ts) / 1000),
      });
      parent = objs.commit.oid;
      index++;
      offset++;
      taken++;
    }
    await opts.objects.put(written);
    if (await opts.refs.cas({ ref, expect, next: parent })) {
      result.swaps++;
      result.published.push(...out);
      pending = pending.slice(taken);
      const append: SegmentAppend = { topic, name, ref, expect, head: parent!, messages: metas };
      result.appends.push(append);
      applyAppend(topicIndex, append, { merkle: true });
      continue;
    }
    if (++failures >= retry.attempts) throw conflict(ref, retry.attempts);
    await backoff(retry, failures);
  }
  return result;
}
