/**
 * Retention, verification and metrics: `prune` drops whole expired segments (summary first, so what was pruned
 * stays provable), `verifyTopic` re-checks live segments and the summary chain, `topicStats` reports sizes.
 */
import { isGatosError } from '../errors.js';
import { eventCid } from '../events/event-cid.js';
import { parseSignature, verifyEventSignature } from '../events/event-signature.js';
import { type Oid, ZERO_OID } from '../store/git-object.js';
import type { RetryOptions } from '../chain/cas-retry.js';
import type { TrustSet } from '../trust/trust-registry.js';
import { merkleRoot } from './merkle.js';
import { contentHash, messageCommitObjects } from './message.js';
import {
  MBUS_ACK_PREFIX,
  MBUS_PREFIX,
  MBUS_SUMMARY_PREFIX,
  parseSegmentRef,
  summaryRef,
} from '../ref-layout.js';
import { writeSummary } from './publish.js';
import { DEFAULT_TOPIC_CONFIG, loadEnvelopes, loadTopic, readSummaries } from './topic.js';
import type { BusStores, SegmentState, TopicConfig, TopicIndex } from './interface.js';

const DAY = 86_400;

/** Options of {@link prune}. */
export interface PruneOptions {
  topic: string;
  now: Date;
  /** Segments whose last message is older than this many days go (30). */
  ttlDays?: number;
  dryRun?: boolean;
  index?: TopicIndex;
  retry?: Partial<RetryOptions>;
}

/** One segment `prune` removed (or would remove). */
export interface PrunedSegment {
  segment: string;
  ref: string;
  count: number;
  first_offset: number;
  last_offset: number;
  /** Age of the segment's last message, in seconds. */
  age_seconds: number;
  /** The `pruned` summary commit (null on a dry run). */
  summary: Oid | null;
  /** False when the segment grew while being pruned (it is kept; retry later). */
  deleted: boolean;
}

/** Removes whole segments whose last message is older than the TTL, after writing each one's summary. */
export async function prune(
  stores: BusStores,
  opts: PruneOptions,
): Promise<{ topic: string; pruned: PrunedSegment[]; kept: number }> {
  const ttl = (opts.ttlDays ?? DEFAULT_TOPIC_CONFIG.ttl_days) * DAY;
  const nowS = Math.floor(opts.now.getTime() / 1000);
  const state = await loadTopic(stores, opts.topic, opts.index);
  const pruned: PrunedSegment[] = [];
  let kept = 0;
  for (const seg of state.segments) {
    const last = seg.messages.at(-1);
    const first = seg.messages[0];
    if (!last || !first || nowS - last.seconds <= ttl) {
      kept++;
      continue;
    }
    const entry: PrunedSegment = {
      segment: seg.name,
      ref: seg.ref,
      count: seg.messages.length,
      first_offset: first.offset,
      last_offset: last.offset,
      age_seconds: nowS - last.seconds,
      summary: null,
      deleted: false,
    };
    if (!opts.dryRun) {
      entry.summary = await writeSummary(stores, seg, 'pruned', opts.now, opts.retry);
      entry.deleted = await stores.refs.cas({ ref: seg.ref, expect: seg.head, next: null });
      if (entry.deleted) opts.index?.segments.delete(seg.ref);
    }
    pruned.push(entry);
  }
  return { topic: opts.topic, pruned, kept };
}

/** One problem `verifyTopic` found. */
export interface BusProblem {
  where: string;
  commit: Oid | null;
  code: string;
  message: string;
}

/** The result of {@link verifyTopic}. */
export interface BusVerifyReport {
  topic: string;
  ok: boolean;
  segments: { segment: string; ref: string; count: number; merkle_root: string; ok: boolean }[];
  summaries: { count: number; sealed: number; pruned: number; ok: boolean };
  problems: BusProblem[];
}

async function verifySegment(
  stores: BusStores,
  trust: TrustSet,
  seg: SegmentState,
  problems: BusProblem[],
): Promise<string> {
  const add = (commit: Oid | null, code: string, message: string) =>
    problems.push({ where: seg.ref, commit, code, message });
  let loaded: Awaited<ReturnType<typeof loadEnvelopes>>;
  try {
    loaded = await loadEnvelopes(stores.objects, seg.messages);
  } catch (e) {
    if (!isGatosError(e)) throw e;
    add(null, e.code, e.message);
    return '';
  }
  let parent: Oid | null = null;
  let bytes = 0;
  const base = seg.messages[0]?.offset ?? 0;
  seg.messages.forEach((m, i) => {
    const { envelope, bytes: blob } = loaded[i]!;
    const bad = (code: string, message: string) => add(m.commit, code, message);
    if (m.parent !== parent) bad('GATOS_E_BUS_CORRUPT', 'parent breaks the segment chain');
    if (m.index !== i || m.offset !== base + i)
      bad('GATOS_E_BUS_CORRUPT', 'Bus-Index/Bus-Offset out of sequence');
    bytes += blob.length;
    if (m.bytes !== bytes) bad('GATOS_E_BUS_CORRUPT', 'Bus-Bytes does not add up');
    if (envelope.ulid !== m.ulid || envelope.type !== m.type)
      bad('GATOS_E_BUS_CORRUPT', 'subject does not match');
    const cid = eventCid(blob);
    if (cid.toString() !== m.cid) bad('GATOS_E_BUS_CORRUPT', 'Event-CID does not match the envelope');
    if (contentHash(envelope) !== m.contentHash) bad('GATOS_E_BUS_CORRUPT', 'Content-Hash does not match');
    let sig: Uint8Array | null = null;
    try {
      sig = parseSignature(m.sig);
    } catch (e) {
      if (!isGatosError(e)) throw e;
      bad(e.code, e.message);
    }
    const key = trust.byId.get(m.keyId);
    if (!key) bad('GATOS_E_KEY_NOT_FOUND', `key ${m.keyId} is not registered`);
    else if (key.actor !== envelope.actor)
      bad('GATOS_E_SIG_INVALID', `key ${m.keyId} belongs to ${key.actor}`);
    else if (
      sig &&
      !verifyEventSignature(key.publicKey, { ref: seg.ref, parent: parent ?? ZERO_OID, cid }, sig)
    ) {
      bad('GATOS_E_SIG_INVALID', 'signature does not verify for this segment and position');
    }
    if (sig) {
      const rebuilt = messageCommitObjects({
        envelope,
        bytes: blob,
        cid: m.cid,
        sig,
        keyId: m.keyId,
        parent,
        contentHash: m.contentHash,
        position: { offset: m.offset, index: m.index, bytes: m.bytes },
      }).commit.oid;
      if (rebuilt !== m.commit) bad('GATOS_E_BUS_CORRUPT', 'commit differs from the one its message derives');
    }
    parent = m.commit;
  });
  return merkleRoot(seg.messages.map((m) => m.cid));
}

/**
 * Verifies a topic: every live segment (signatures against `trust`, chain, offsets, CIDs, content hashes) and its
 * Merkle root, and the summary chain (records well-formed; a summary of a live segment matches the segment's
 * prefix up to the summarized last commit; a segment that is gone has a `pruned` record).
 */
export async function verifyTopic(
  stores: BusStores,
  trust: TrustSet,
  topic: string,
): Promise<BusVerifyReport> {
  const problems: BusProblem[] = [];
  const report: BusVerifyReport = {
    topic,
    ok: true,
    segments: [],
    summaries: { count: 0, sealed: 0, pruned: 0, ok: true },
    problems,
  };
  const state = await loadTopic(stores, topic).catch((e) => {
    if (!isGatosError(e)) throw e;
    problems.push({ where: topic, commit: null, code: e.code, message: e.message });
    return null;
  });
  const live = new Map<string, SegmentState>();
  for (const seg of state?.segments ?? []) {
    const before = problems.length;
    const root = await verifySegment(stores, trust, seg, problems);
    live.set(seg.name, seg);
    report.segments.push({
      segment: seg.name,
      ref: seg.ref,
      count: seg.messages.length,
      merkle_root: root,
      ok: problems.length === before,
    });
  }
  const sumRef = summaryRef(topic);
  const before = problems.length;
  let entries: Awaited<ReturnType<typeof readSummaries>> = [];
  try {
    entries = await readSummaries(stores, topic);
  } catch (e) {
    if (!isGatosError(e)) throw e;
    problems.push({ where: sumRef, commit: null, code: e.code, message: e.message });
  }
  const prunedNames = new Set<string>();
  for (const { commit, summary: s, trailerRoot } of entries) {
    const bad = (message: string) =>
      problems.push({ where: sumRef, commit, code: 'GATOS_E_BUS_CORRUPT', message });
    report.summaries.count++;
    if (s.kind === 'pruned') {
      report.summaries.pruned++;
      prunedNames.add(s.segment);
    } else report.summaries.sealed++;
    if (s.topic !== topic) bad(`summary names topic ${s.topic}`);
    if (trailerRoot !== s.merkle_root) bad('Merkle-Root trailer does not match the record');
    const seg = live.get(s.segment);
    if (!seg) continue;
    const idx = seg.messages.findIndex((m) => m.commit === s.last_commit);
    if (idx < 0) {
      bad(`summary of ${s.segment} names a last commit the live segment does not hold`);
      continue;
    }
    const prefix = seg.messages.slice(0, idx + 1);
    if (
      prefix.length !== s.count ||
      prefix[0]!.commit !== s.first_commit ||
      prefix[0]!.offset !== s.first_offset ||
      prefix[idx]!.offset !== s.last_offset ||
      merkleRoot(prefix.map((m) => m.cid)) !== s.merkle_root
    ) {
      bad(`summary of ${s.segment} does not match the live segment (count, offsets or Merkle root)`);
    }
  }
  for (const { summary: s, commit } of entries) {
    if (!live.has(s.segment) && !prunedNames.has(s.segment)) {
      problems.push({
        where: sumRef,
        commit,
        code: 'GATOS_E_BUS_CORRUPT',
        message: `segment ${s.segment} is gone but has no pruned summary`,
      });
    }
  }
  report.summaries.ok = problems.length === before;
  report.ok = problems.length === 0;
  return report;
}

/** Metrics of one topic. */
export interface TopicStats {
  topic: string;
  segments: {
    segment: string;
    count: number;
    bytes: number;
    first_offset: number;
    last_offset: number;
    oldest_age_seconds: number;
  }[];
  messages: number;
  bytes: number;
  summaries: number;
  groups: { group: string; ref: string }[];
  /** Live refs of this topic: segments + summary chain + consumer groups. */
  live_refs: number;
  oldest_age_seconds: number | null;
  suggestions: string[];
}

/** Per-topic metrics and rotation/retention suggestions. */
export async function topicStats(
  stores: BusStores,
  topic: string,
  now: Date,
  configIn: Partial<TopicConfig> = {},
): Promise<TopicStats> {
  const config = { ...DEFAULT_TOPIC_CONFIG, ...configIn };
  const nowS = Math.floor(now.getTime() / 1000);
  const state = await loadTopic(stores, topic);
  const summaries = (await readSummaries(stores, topic)).length;
  const groups = (await stores.refs.list(`${MBUS_ACK_PREFIX}${topic}/`)).map(({ ref }) => ({
    group: ref.slice(`${MBUS_ACK_PREFIX}${topic}/`.length),
    ref,
  }));
  const segments = state.segments.map((s) => ({
    segment: s.name,
    count: s.messages.length,
    bytes: s.messages.at(-1)?.bytes ?? 0,
    first_offset: s.messages[0]?.offset ?? 0,
    last_offset: s.messages.at(-1)?.offset ?? 0,
    oldest_age_seconds: nowS - (s.messages[0]?.seconds ?? nowS),
  }));
  const messages = segments.reduce((a, s) => a + s.count, 0);
  const bytes = segments.reduce((a, s) => a + s.bytes, 0);
  const suggestions: string[] = [];
  const sealed = segments.slice(0, -1);
  if (segments.length > 64) {
    suggestions.push(
      `${segments.length} live segment refs: raise max_messages_per_segment (now ${config.max_messages_per_segment}) or prune with a shorter TTL`,
    );
  }
  if (sealed.length >= 4) {
    const avg = sealed.reduce((a, s) => a + s.count, 0) / sealed.length;
    if (avg < config.max_messages_per_segment / 10) {
      suggestions.push(
        `segments close at ${Math.round(avg)} messages on average (day rotation): traffic is light, fewer refs need no action`,
      );
    }
  }
  const oldest = segments[0]?.oldest_age_seconds ?? null;
  if (oldest !== null && oldest > config.ttl_days * DAY) {
    suggestions.push(
      `oldest message is older than the TTL (${config.ttl_days} days): run \`git gatos bus prune\``,
    );
  }
  if (bytes > config.max_segment_bytes * 16) {
    suggestions.push(
      `${bytes} live envelope bytes: shorten the TTL or lower max_segment_bytes to prune finer`,
    );
  }
  if (suggestions.length === 0) suggestions.push('no change needed');
  return {
    topic,
    segments,
    messages,
    bytes,
    summaries,
    groups,
    live_refs: segments.length + (summaries > 0 ? 1 : 0) + groups.length,
    oldest_age_seconds: oldest,
    suggestions,
  };
}

/** Every topic with a live segment, a summary chain or a consumer group. */
export async function listTopics(stores: BusStores): Promise<string[]> {
  const topics = new Set<string>();
  for (const { ref } of await stores.refs.list(MBUS_PREFIX)) {
    const p = parseSegmentRef(ref);
    if (p) topics.add(p.topic);
  }
  for (const { ref } of await stores.refs.list(MBUS_SUMMARY_PREFIX))
    topics.add(ref.slice(MBUS_SUMMARY_PREFIX.length));
  for (const { ref } of await stores.refs.list(MBUS_ACK_PREFIX)) {
    const t = ref.slice(MBUS_ACK_PREFIX.length).split('/')[0];
    if (t) topics.add(t);
  }
  return [...topics].sort();
}
