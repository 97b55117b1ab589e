/**
 * Bus messages as commits. A message is a signed event envelope (`spec/event-envelope.md`) stored as one commit on
 * its topic's current segment: the event-commit format of journals (tree `event.cbor`, subject `<type> <ulid>`,
 * trailers `Event-CID`, `Key-Id`, `Sig`) plus four bus trailers:
 *
 * - `Bus-Offset`: the message's global, per-topic index (0-based, consecutive across segments);
 * - `Bus-Index`: its 0-based position in the segment;
 * - `Bus-Bytes`: the segment's envelope bytes up to and including this message;
 * - `Content-Hash`: blake3-256 of `"GATOS-BUS-CONTENT-v1\0" ‖ dag-cbor({type, payload})`, for publisher dedupe.
 *
 * The signature is the event signature bound to the segment ref and the parent commit (zeros for the first
 * message of a segment), so a message cannot be replayed into another segment or position.
 */
import { blake3 } from '@noble/hashes/blake3.js';
import { encodeCanonical } from '../encoding/canonical.js';
import { GatosError } from '../errors.js';
import { eventCid } from '../events/event-cid.js';
import { type EventEnvelope, createEnvelope, envelopeTimestamp } from '../events/event-envelope.js';
import { NO_POLICY_ROOT } from '../repo-config.js';
import { type GitObject, type Oid, type ParsedCommit, parseTrailers } from '../store/git-object.js';
import { eventCommitObjects } from '../chain/event-commit.js';

const CONTENT_DOMAIN = new TextEncoder().encode('GATOS-BUS-CONTENT-v1\0');

/** The default envelope `type` of bus messages. */
export const BUS_MESSAGE_TYPE = 'bus.message';

/** What a bus message says before it is signed: who, its idempotency key, when, and its data. */
export interface BusMessageInit {
  actor: string;
  /** The ULID: the message's idempotency key. */
  ulid: string;
  now: Date;
  data: unknown;
  /** Envelope type (default {@link BUS_MESSAGE_TYPE}). */
  type?: string | undefined;
  /** Policy root the message is written under (default: no policy). */
  policyRoot?: string | undefined;
}

/** The envelope of a bus message, validated (and its size checked against `maxBytes`). */
export function busEnvelope(init: BusMessageInit, opts: { maxBytes?: number } = {}): EventEnvelope {
  return createEnvelope(
    {
      type: init.type ?? BUS_MESSAGE_TYPE,
      payload: init.data as never,
      actor: init.actor,
      ulid: init.ulid,
      ts: envelopeTimestamp(init.now),
      policy_root: init.policyRoot ?? NO_POLICY_ROOT,
    },
    opts,
  );
}

/** The content hash of a message: what publisher dedupe compares besides the ULID (64 hex chars). */
export function contentHash(envelope: EventEnvelope): string {
  const body = encodeCanonical({ type: envelope.type, payload: envelope.payload });
  const hasher = blake3.create();
  hasher.update(CONTENT_DOMAIN);
  hasher.update(body);
  return Buffer.from(hasher.digest()).toString('hex');
}

/** What a message commit records about its place in the topic. */
export interface MessagePosition {
  offset: number;
  index: number;
  /** Segment envelope bytes up to and including this message. */
  bytes: number;
}

/** The bus trailers of a message commit, after the event trailers. */
export function messageTrailers(contentHash: string, p: MessagePosition): string {
  return `Bus-Offset: ${p.offset}\nBus-Index: ${p.index}\nBus-Bytes: ${p.bytes}\nContent-Hash: ${contentHash}\n`;
}

/** The objects of one message commit: an event commit with the bus trailers. */
export function messageCommitObjects(init: {
  envelope: EventEnvelope;
  bytes: Uint8Array;
  cid: string;
  sig: Uint8Array;
  keyId: string;
  parent: Oid | null;
  contentHash: string;
  position: MessagePosition;
}): { blob: GitObject; tree: GitObject; commit: GitObject } {
  return eventCommitObjects({ ...init, trailers: messageTrailers(init.contentHash, init.position) });
}

/** What a message commit says without reading its blob: enough for dedupe, rotation, offsets and reads. */
export interface MessageMeta extends MessagePosition {
  commit: Oid;
  parent: Oid | null;
  tree: Oid;
  type: string;
  ulid: string;
  cid: string;
  keyId: string;
  sig: string;
  contentHash: string;
  /** Envelope time, whole seconds since the epoch (the commit's author time). */
  seconds: number;
}

const INT_RE = /^(0|[1-9]\d{0,15})$/;

/** Parses a message commit's subject and trailers; throws `GATOS_E_BUS_CORRUPT`. */
export function parseMessageCommit(c: ParsedCommit): MessageMeta {
  const bad = (why: string): never => {
    throw new GatosError('GATOS_E_BUS_CORRUPT', `${c.oid.slice(0, 12)}: ${why}`, { data: { commit: c.oid } });
  };
  if (c.parents.length > 1) bad('message commits have at most one parent');
  const subject = /^([a-z][a-z0-9_.-]*) ([0-9A-Z]{26})\n/.exec(c.message);
  if (!subject) bad('subject is not `<type> <ulid>`');
  const trailers = parseTrailers(c.message);
  const one = (k: string): string => {
    const v = trailers.get(k);
    if (v?.length !== 1) return bad(`needs exactly one ${k} trailer`);
    return v[0]!;
  };
  const int = (k: string): number => {
    const v = one(k);
    if (!INT_RE.test(v)) bad(`${k} is not a non-negative integer`);
    return Number(v);
  };
  const hash = one('Content-Hash');
  if (!/^[0-9a-f]{64}$/.test(hash)) bad('Content-Hash is not 64 hex chars');
  return {
    commit: c.oid,
    parent: c.parents[0] ?? null,
    tree: c.tree,
    type: subject![1]!,
    ulid: subject![2]!,
    cid: one('Event-CID'),
    keyId: one('Key-Id'),
    sig: one('Sig'),
    offset: int('Bus-Offset'),
    index: int('Bus-Index'),
    bytes: int('Bus-Bytes'),
    contentHash: hash,
    seconds: c.author.seconds,
  };
}

/** Encodes-and-hashes helper: the Event-CID string of canonical envelope bytes. */
export function messageCid(bytes: Uint8Array): string {
  return eventCid(bytes).toString();
}
