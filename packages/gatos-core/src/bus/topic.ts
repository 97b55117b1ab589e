/**
 * Loading a topic's live state: its segments (with per-message metadata read from commits only, no blobs) and
 * its summary chain. A {@link TopicIndex} caches segments between calls so a long-lived process (the daemon)
 * re-reads only the commits appended since it last looked.
 */
import type {
  BusStores,
  DedupeCache,
  SegmentState,
  TopicConfig,
  TopicIndex,
  TopicState,
} from './interface.js';
import { GatosError } from '../errors.js';
import { decodeEnvelope, type EventEnvelope } from '../events/event-envelope.js';
import { type Oid, parseCommit, parseTree } from '../store/git-object.js';
import { EVENT_BLOB_NAME } from '../chain/event-commit.js';
import type { ObjectStore } from '../store/object-store.js';
import { parseEventCid } from '../events/event-cid.js';
import { appendMerkleLeaves, EMPTY_MERKLE_PEAKS, type MerklePeaks, merklePeaksRoot } from './merkle.js';
import { type MessageMeta, parseMessageCommit } from './message.js';
import { parseSegmentRef, segmentPrefix, summaryRef } from '../ref-layout.js';
import { parseSummary, SUMMARY_FILE, type SegmentSummary } from './records.js';

/** The defaults of {@link TopicConfig}. */
export const DEFAULT_TOPIC_CONFIG: TopicConfig = {
  max_messages_per_segment: 10_000,
  max_segment_bytes: 64 * 1024 * 1024,
  ttl_days: 30,
};

/** Extends the segment's cached Merkle peaks to all its messages (keeping them on `seg`); returns them. */
export function segmentMerklePeaks(seg: SegmentState): MerklePeaks {
  const done = seg.merkle ?? EMPTY_MERKLE_PEAKS;
  if (done.count === seg.messages.length) return done;
  seg.merkle = appendMerkleLeaves(
    done,
    seg.messages.slice(done.count).map((m) => parseEventCid(m.cid).bytes),
  );
  return seg.merkle;
}

/** The segment's Merkle root (hex), through its cached peaks. */
export function segmentMerkleRoot(seg: SegmentState): string {
  return Buffer.from(merklePeaksRoot(segmentMerklePeaks(seg))).toString('hex');
}

/** A new, empty index for `topic`. */
export function createTopicIndex(topic: string): TopicIndex {
  return { topic, segments: new Map(), dedupe: null, listedAtSummary: undefined };
}

/** Options of {@link loadTopic}. */
export interface LoadTopicOptions {
  /**
   * Skip listing the segment refs when the topic's summary head is unchanged since the index last listed them,
   * and use the index's segments as they are (false). Only for a writer that keeps the index current with its own
   * appends and lists again after a lost compare-and-swap: segments are created or removed only after a summary
   * commit (rotation seals the old segment first, pruning records what it drops), while an append by someone else
   * moves the head that writer's next compare-and-swap expects, so that swap fails.
   */
  trustIndex?: boolean;
}

/** Reads one segment's message metadata, reusing `cached` when the segment only grew since. */
export async function loadSegment(
  objects: ObjectStore,
  topic: string,
  name: string,
  ref: string,
  head: Oid,
  cached?: SegmentState,
): Promise<SegmentState> {
  if (cached && cached.head === head) return cached;
  const commits = await objects.chain(head, cached?.head ?? null);
  const grew = cached !== undefined && commits.length > 0 && commits[0]!.parents[0] === cached.head;
  const fresh = grew ? commits : cached ? await objects.chain(head) : commits;
  const metas = fresh.map(parseMessageCommit);
  if (!grew && metas.length > 0 && metas[0]!.parent !== null) {
    throw new GatosError('GATOS_E_BUS_CORRUPT', `segment ${ref} does not start with a parentless commit`, {
      data: { ref },
    });
  }
  return { topic, name, ref, head, messages: grew ? [...cached.messages, ...metas] : metas };
}

/** Lists and loads a topic's live segments (through `index` when given) and builds its dedupe maps. */
export async function loadTopic(
  stores: BusStores,
  topic: string,
  index?: TopicIndex,
  opts: LoadTopicOptions = {},
): Promise<TopicState> {
  // Read before listing: a rotation or prune that lands between the two then shows as a changed summary later.
  const summary = index ? await stores.refs.read(summaryRef(topic)) : undefined;
  // A topic with no known segment is always listed: its first segment is created without a summary record.
  if (index?.dedupe && opts.trustIndex && index.segments.size > 0 && summary === index.listedAtSummary) {
    const segments = [...index.segments.values()].sort(byName);
    const dedupe = updateDedupe(index.dedupe, segments);
    index.dedupe = dedupe;
    return { topic, segments, ulids: dedupe.ulids, hashes: dedupe.hashes };
  }
  const listed = await stores.refs.list(segmentPrefix(topic));
  const segments: SegmentState[] = [];
  const live = new Set<string>();
  for (const { ref, oid } of listed) {
    const parsed = parseSegmentRef(ref);
    if (!parsed || parsed.topic !== topic) continue;
    live.add(ref);
    const seg = await loadSegment(stores.objects, topic, parsed.name, ref, oid, index?.segments.get(ref));
    index?.segments.set(ref, seg);
    segments.push(seg);
  }
  if (index) for (const ref of [...index.segments.keys()]) if (!live.has(ref)) index.segments.delete(ref);
  segments.sort(byName);
  const dedupe = updateDedupe(index?.dedupe ?? null, segments);
  if (index) {
    index.dedupe = dedupe;
    index.listedAtSummary = summary;
  }
  return { topic, segments, ulids: dedupe.ulids, hashes: dedupe.hashes };
}

function byName(a: SegmentState, b: SegmentState): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * Where the maps of `cache` can be extended to cover `segments` by adding messages only: every covered segment is
 * still there at the same position with the covered prefix unchanged, and only the newest covered one grew (new
 * messages land after all covered ones, so "last ULID wins" and "first content hash wins" come out as in a full
 * build). −1 when a full rebuild is needed: a segment was pruned, rewritten, or an older one grew or appeared.
 */
function extendFrom(cache: DedupeCache, segments: readonly SegmentState[]): number {
  const { covered } = cache;
  if (segments.length < covered.length) return -1;
  for (const [i, c] of covered.entries()) {
    const seg = segments[i]!;
    if (seg.ref !== c.ref || seg.messages.length < c.count) return -1;
    if (c.count > 0 && seg.messages[c.count - 1]!.commit !== c.last) return -1;
    if (i < covered.length - 1 && seg.messages.length !== c.count) return -1;
  }
  return Math.max(0, covered.length - 1);
}

/** Brings the dedupe maps up to `segments`: incrementally when possible (reading only new messages), else anew. */
function updateDedupe(cache: DedupeCache | null, segments: readonly SegmentState[]): DedupeCache {
  let from = cache ? extendFrom(cache, segments) : -1;
  const out: DedupeCache = from >= 0 && cache ? cache : { ulids: new Map(), hashes: new Map(), covered: [] };
  if (from < 0) from = 0;
  for (let i = from; i < segments.length; i++) {
    const msgs = segments[i]!.messages;
    for (let j = out.covered[i]?.count ?? 0; j < msgs.length; j++) {
      const m = msgs[j]!;
      out.ulids.set(m.ulid, m.offset);
      if (!out.hashes.has(m.contentHash)) out.hashes.set(m.contentHash, m.offset);
    }
  }
  out.covered = segments.map((s) => ({
    ref: s.ref,
    count: s.messages.length,
    last: s.messages.at(-1)?.commit ?? null,
  }));
  return out;
}

/** A summary record with the commit that holds it. */
export interface SummaryEntry {
  commit: Oid;
  summary: SegmentSummary;
  /** The `Merkle-Root` trailer of the commit (must equal the record's). */
  trailerRoot: string | null;
}

async function oneFileBlobs(objects: ObjectStore, trees: Oid[], file: string): Promise<Uint8Array[]> {
  const treeObjs = await objects.get(trees);
  const blobIds = treeObjs.map((t, i) => {
    const entries = parseTree(trees[i]!, t.body);
    const e = entries.find((x) => x.name === file);
    if (entries.length !== 1 || !e) {
      throw new GatosError('GATOS_E_BUS_CORRUPT', `tree ${trees[i]} must hold exactly ${file}`);
    }
    return e.oid;
  });
  return (await objects.get(blobIds)).map((b) => b.body);
}

/** The head of a topic's summary chain and its newest record, or nulls. */
export async function lastSummary(
  stores: BusStores,
  topic: string,
): Promise<{ head: Oid | null; entry: SummaryEntry | null }> {
  const head = await stores.refs.read(summaryRef(topic));
  if (!head) return { head: null, entry: null };
  const [raw] = await stores.objects.get([head]);
  const c = parseCommit(head, raw!.body);
  return { head, entry: (await summariesOf(stores.objects, [c]))[0]! };
}

async function summariesOf(
  objects: ObjectStore,
  commits: { oid: Oid; tree: Oid; message: string }[],
): Promise<SummaryEntry[]> {
  const blobs = await oneFileBlobs(
    objects,
    commits.map((c) => c.tree),
    SUMMARY_FILE,
  );
  return commits.map((c, i) => ({
    commit: c.oid,
    summary: parseSummary(blobs[i]!),
    trailerRoot: /\nMerkle-Root: ([0-9a-f]{64})\n/.exec(c.message)?.[1] ?? null,
  }));
}

/** Every summary record of a topic, oldest first. */
export async function readSummaries(stores: BusStores, topic: string): Promise<SummaryEntry[]> {
  const head = await stores.refs.read(summaryRef(topic));
  if (!head) return [];
  return summariesOf(stores.objects, await stores.objects.chain(head));
}

/** Loads envelopes for message metadata (two pipelined reads: trees, then blobs). */
export async function loadEnvelopes(
  objects: ObjectStore,
  metas: readonly MessageMeta[],
): Promise<{ envelope: EventEnvelope; bytes: Uint8Array }[]> {
  if (metas.length === 0) return [];
  const blobs = await oneFileBlobs(
    objects,
    metas.map((m) => m.tree),
    EVENT_BLOB_NAME,
  );
  return blobs.map((bytes, i) => {
    try {
      return { envelope: decodeEnvelope(bytes), bytes };
    } catch (e) {
      if (e instanceof GatosError) e.data.commit = metas[i]!.commit;
      throw e;
    }
  });
}
