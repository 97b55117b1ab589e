/**
 * Summary records (`refs/gatos/mbus-summary/<topic>`, a chain) and consumer-group positions
 * (`refs/gatos/mbus-ack/<topic>/<group>`, a single parentless commit replaced by compare-and-swap).
 *
 * Both are JSON files with a fixed key order in a one-file tree. They name message commits only as strings, never
 * as parents or tree entries, so once a segment ref is deleted `git gc` can free every object of the segment.
 */
import { GatosError } from '../errors.js';
import {
  type GitIdent,
  type GitObject,
  type Oid,
  blobObject,
  commitObject,
  isOid,
  treeObject,
} from '../store/git-object.js';
import { parseSegmentName, TOPIC_RE } from '../ref-layout.js';

/** File name of a summary record in its commit's tree. */
export const SUMMARY_FILE = 'summary.json';
/** File name of a consumer position in its commit's tree. */
export const POSITION_FILE = 'position.json';

/** Why a summary was written: the segment was rotated out (`sealed`) or is being deleted (`pruned`). */
export type SummaryKind = 'sealed' | 'pruned';

/** One segment's summary. */
export interface SegmentSummary {
  version: 1;
  kind: SummaryKind;
  topic: string;
  /** `yyyy/mm/dd/seq` */
  segment: string;
  count: number;
  first_offset: number;
  last_offset: number;
  first_cid: string;
  last_cid: string;
  first_commit: Oid;
  last_commit: Oid;
  /** Sum of the segment's canonical envelope sizes. */
  bytes: number;
  /** Envelope time of the first and last message, seconds since the epoch. */
  first_ts: number;
  last_ts: number;
  /** Merkle root over the segment's Event-CIDs (64 hex chars); see `merkle.ts`. */
  merkle_root: string;
  /** When the summary was written (RFC 3339 UTC). */
  at: string;
}

/** A consumer group's acknowledged position: everything up to and including `offset` is done. */
export interface ConsumerPosition {
  version: 1;
  topic: string;
  group: string;
  /** Segment of the last acknowledged message. */
  segment: string;
  /** The last acknowledged message commit. */
  commit: Oid;
  offset: number;
  at: string;
}

const SUMMARY_KEYS = [
  'version',
  'kind',
  'topic',
  'segment',
  'count',
  'first_offset',
  'last_offset',
  'first_cid',
  'last_cid',
  'first_commit',
  'last_commit',
  'bytes',
  'first_ts',
  'last_ts',
  'merkle_root',
  'at',
] as const;
const POSITION_KEYS = ['version', 'topic', 'group', 'segment', 'commit', 'offset', 'at'] as const;

function ordered(value: object, keys: readonly string[]): string {
  const v = value as Record<string, unknown>;
  return `${JSON.stringify(Object.fromEntries(keys.map((k) => [k, v[k]])), null, 2)}\n`;
}

/** The identity of bus system commits (summaries, positions) at `now`. */
export function busIdent(now: Date): GitIdent {
  return { name: 'GATOS', email: 'gatos@localhost', seconds: Math.floor(now.getTime() / 1000), tz: '+0000' };
}

/** The objects of a summary commit on top of `parent` (the previous summary, or null). */
export function summaryCommitObjects(s: SegmentSummary, parent: Oid | null, now: Date): GitObject[] {
  const blob = blobObject(ordered(s, SUMMARY_KEYS));
  const tree = treeObject([{ mode: '100644', name: SUMMARY_FILE, oid: blob.oid }]);
  const commit = commitObject({
    tree: tree.oid,
    parents: parent ? [parent] : [],
    author: busIdent(now),
    committer: busIdent(now),
    message: `bus summary ${s.kind} ${s.topic} ${s.segment}\n\nSegment: ${s.segment}\nCount: ${s.count}\nMerkle-Root: ${s.merkle_root}\n`,
  });
  return [blob, tree, commit];
}

/** The objects of a position commit (no parent). */
export function positionCommitObjects(p: ConsumerPosition, now: Date): GitObject[] {
  const blob = blobObject(ordered(p, POSITION_KEYS));
  const tree = treeObject([{ mode: '100644', name: POSITION_FILE, oid: blob.oid }]);
  const commit = commitObject({
    tree: tree.oid,
    parents: [],
    author: busIdent(now),
    committer: busIdent(now),
    message: `bus ack ${p.topic} ${p.group} ${p.offset}\n`,
  });
  return [blob, tree, commit];
}

function corrupt(what: string, why: string): never {
  throw new GatosError('GATOS_E_BUS_CORRUPT', `${what}: ${why}`);
}

function parseJsonObject(what: string, bytes: Uint8Array): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    corrupt(what, 'not UTF-8 JSON');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) corrupt(what, 'not a JSON object');
  return v as Record<string, unknown>;
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** Parses and checks a summary record; the bytes must be exactly what {@link summaryCommitObjects} writes. */
export function parseSummary(bytes: Uint8Array): SegmentSummary {
  const v = parseJsonObject('summary', bytes);
  const keys = Object.keys(v);
  if (keys.length !== SUMMARY_KEYS.length || SUMMARY_KEYS.some((k, i) => keys[i] !== k)) {
    corrupt('summary', `fields must be exactly ${SUMMARY_KEYS.join(', ')}`);
  }
  const s = v as unknown as SegmentSummary;
  if (s.version !== 1) corrupt('summary', 'version must be 1');
  if (s.kind !== 'sealed' && s.kind !== 'pruned') corrupt('summary', 'kind must be sealed or pruned');
  if (typeof s.topic !== 'string' || !TOPIC_RE.test(s.topic)) corrupt('summary', 'bad topic');
  if (typeof s.segment !== 'string' || !parseSegmentName(s.segment)) corrupt('summary', 'bad segment name');
  for (const k of ['count', 'first_offset', 'last_offset', 'bytes', 'first_ts', 'last_ts'] as const) {
    if (!isCount(s[k])) corrupt('summary', `${k} must be a non-negative integer`);
  }
  if (s.count < 1 || s.last_offset - s.first_offset + 1 !== s.count) {
    corrupt('summary', 'count must equal last_offset - first_offset + 1');
  }
  if (!isOid(s.first_commit) || !isOid(s.last_commit)) corrupt('summary', 'bad commit id');
  if (typeof s.first_cid !== 'string' || typeof s.last_cid !== 'string') corrupt('summary', 'bad cid');
  if (typeof s.merkle_root !== 'string' || !/^[0-9a-f]{64}$/.test(s.merkle_root)) {
    corrupt('summary', 'merkle_root must be 64 hex chars');
  }
  if (typeof s.at !== 'string') corrupt('summary', 'bad at');
  if (new TextDecoder().decode(bytes) !== ordered(s, SUMMARY_KEYS))
    corrupt('summary', 'not in canonical form');
  return s;
}

/** Parses and checks a consumer position record. */
export function parsePosition(bytes: Uint8Array): ConsumerPosition {
  const v = parseJsonObject('position', bytes);
  const keys = Object.keys(v);
  if (keys.length !== POSITION_KEYS.length || POSITION_KEYS.some((k, i) => keys[i] !== k)) {
    corrupt('position', `fields must be exactly ${POSITION_KEYS.join(', ')}`);
  }
  const p = v as unknown as ConsumerPosition;
  if (p.version !== 1 || !isCount(p.offset) || !isOid(p.commit) || typeof p.segment !== 'string') {
    corrupt('position', 'bad field value');
  }
  return p;
}
