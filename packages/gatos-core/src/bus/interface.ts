/** The types the bus operations share (`spec/message-bus.md`): their stores, topic settings, segments and indexes. */
import type { ObjectStore } from '../store/object-store.js';
import type { RefStore } from '../store/ref-store.js';
import type { Oid } from '../store/git-object.js';
import type { MerklePeaks } from './merkle.js';
import type { MessageMeta } from './message.js';

/** The stores the bus works on. */
export interface BusStores {
  objects: ObjectStore;
  refs: RefStore;
}

/** Rotation and retention settings of a topic. */
export interface TopicConfig {
  /** Rotate once a segment holds this many messages (10,000). */
  max_messages_per_segment: number;
  /** Rotate before a segment's envelope bytes would exceed this (64 MiB). */
  max_segment_bytes: number;
  /** `prune` removes segments whose last message is older than this many days (30). */
  ttl_days: number;
}

/** One live segment. */
export interface SegmentState {
  topic: string;
  /** `yyyy/mm/dd/seq` */
  name: string;
  ref: string;
  head: Oid;
  /** Oldest first. */
  messages: MessageMeta[];
  /** Merkle peaks over a prefix of `messages` (a cache kept by {@link segmentMerkleRoot} and publishing). */
  merkle?: MerklePeaks;
}

/** How far an index's dedupe maps reach into one segment (segments in name order). */
export interface Covered {
  ref: string;
  count: number;
  last: Oid | null;
}

/** Dedupe maps of a topic and the segment prefixes they were built from. */
export interface DedupeCache {
  ulids: Map<string, number>;
  hashes: Map<string, number>;
  covered: Covered[];
}

/** Cached segments of one topic, keyed by ref. Keep one per topic in a long-lived process. */
export interface TopicIndex {
  topic: string;
  segments: Map<string, SegmentState>;
  /** Dedupe maps kept up to date by {@link loadTopic}; null until first built or after a reset. */
  dedupe: DedupeCache | null;
  /** The summary-chain head read just before the last listing of segment refs; undefined: never listed. */
  listedAtSummary: Oid | null | undefined;
}

/** A topic's live segments, oldest first, and its dedupe keys (shared with the index: do not modify). */
export interface TopicState {
  topic: string;
  segments: SegmentState[];
  /** ULID → offset, over live segments. */
  ulids: ReadonlyMap<string, number>;
  /** Content hash → offset of its first occurrence, over live segments. */
  hashes: ReadonlyMap<string, number>;
}
