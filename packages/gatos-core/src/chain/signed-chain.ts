/**
 * Signed chains: linear chains of event commits on one ref, each signed for its ref and parent, so an event can
 * be neither replayed elsewhere nor reordered. Journals, governance chains and bus segments are signed chains;
 * a new plane that records signed events appends with {@link appendSignedChain} and checks with
 * {@link checkChainEvent} (`spec/adr/0004-layering-and-the-chain-primitive.md`).
 */
import { GatosError } from '../errors.js';
import type { CID } from 'multiformats/cid';
import { eventCid } from '../events/event-cid.js';
import { type EventEnvelope, encodeEnvelope } from '../events/event-envelope.js';
import { verifyEventSignature } from '../events/event-signature.js';
import { type GitObject, type Oid, ZERO_OID } from '../store/git-object.js';
import type { ObjectStore } from '../store/object-store.js';
import type { RefStore } from '../store/ref-store.js';
import type { TrustSet } from '../trust/trust-registry.js';
import { type RetryOptions, casDone, casRetry, casWrite } from './cas-retry.js';
import {
  type EventSigner,
  type JournalEvent,
  eventCommitObjects,
  loadEventCommits,
  parseEventCommit,
} from './event-commit.js';

/** An envelope validated, encoded and content-addressed, ready to be signed at a position. */
export interface PreparedEnvelope {
  envelope: EventEnvelope;
  bytes: Uint8Array;
  cid: CID;
  cidString: string;
}

/** Options of {@link prepareEnvelopes}. */
export interface PrepareOptions {
  /** Largest canonical envelope in bytes (the repository profile's limit). */
  maxBytes?: number;
  /** What the envelopes are called in errors (`event`, `message`). */
  noun?: string;
}

/**
 * Checks every envelope is the signer's and encodes it canonically, before anything is written: bad input
 * changes nothing. Throws `GATOS_E_ENVELOPE_ACTOR` or the envelope's own error.
 */
export function prepareEnvelopes(
  envelopes: readonly EventEnvelope[],
  signer: EventSigner,
  opts: PrepareOptions = {},
): PreparedEnvelope[] {
  return envelopes.map((envelope) => {
    if (envelope.actor !== signer.actor) {
      throw new GatosError(
        'GATOS_E_ENVELOPE_ACTOR',
        `${opts.noun ?? 'event'} actor ${envelope.actor} is not the signer ${signer.actor}`,
        { data: { actor: envelope.actor, signer: signer.actor } },
      );
    }
    const bytes = encodeEnvelope(envelope, opts.maxBytes === undefined ? {} : { maxBytes: opts.maxBytes });
    const cid = eventCid(bytes);
    return { envelope, bytes, cid, cidString: cid.toString() };
  });
}

/** One event commit a signing pass built. */
export interface SignedLink<P extends PreparedEnvelope = PreparedEnvelope> {
  prepared: P;
  commit: GitObject;
  tree: GitObject;
  parent: Oid | null;
  sig: Uint8Array;
}

/**
 * Signs `prepared`, in order, as commits on `ref` after `parent`; `trailers` adds lines to each commit (a bus
 * message's position). Returns the objects to store, the links, and the new head.
 */
export function signChain<P extends PreparedEnvelope>(
  prepared: readonly P[],
  init: {
    ref: string;
    parent: Oid | null;
    signer: EventSigner;
    trailers?: (p: P, i: number, parent: Oid | null) => string;
  },
): { objects: GitObject[]; links: SignedLink<P>[]; head: Oid | null } {
  const { ref, signer } = init;
  let parent = init.parent;
  const objects: GitObject[] = [];
  const links: SignedLink<P>[] = [];
  prepared.forEach((p, i) => {
    const sig = signer.sign({ ref, parent: parent ?? ZERO_OID, cid: p.cid });
    const o = eventCommitObjects({
      envelope: p.envelope,
      bytes: p.bytes,
      cid: p.cidString,
      sig,
      keyId: signer.keyId,
      parent,
      ...(init.trailers ? { trailers: init.trailers(p, i, parent) } : {}),
    });
    objects.push(o.blob, o.tree, o.commit);
    links.push({ prepared: p, commit: o.commit, tree: o.tree, parent, sig });
    parent = o.commit.oid;
  });
  return { objects, links, head: parent };
}

/** What {@link appendSignedChain} appended, one per event. */
export interface AppendedEvent {
  ref: string;
  commit: Oid;
  parent: Oid | null;
  cid: string;
  ulid: string;
}

/** Options of {@link appendSignedChain}. */
export interface SignedChainAppendInit {
  objects: ObjectStore;
  refs: RefStore;
  ref: string;
  signer: EventSigner;
  /** Largest canonical envelope in bytes. */
  maxBytes?: number;
  retry?: Partial<RetryOptions>;
  /**
   * ULIDs are idempotency keys: an event whose ULID the chain already holds is not appended again. Checked inside
   * the compare-and-swap loop against the head being swapped, so a racing writer cannot slip a duplicate past it.
   */
  dedupeUlids?: boolean;
  /** The `GATOS_E_REF_CONFLICT` message and hint when every attempt lost. */
  conflict?: { message?: string; hint?: string };
}

/** What an append did: the events written, and the ULIDs skipped as already present. */
export interface SignedChainAppend {
  appended: AppendedEvent[];
  duplicates: string[];
}

/**
 * Appends envelopes, in order, to the chain on `ref` as one compare-and-swap; a lost race re-signs on the new head
 * (the signature binds the event to its position). Validates and encodes everything before writing anything.
 */
export async function appendSignedChain(
  envelopes: readonly EventEnvelope[],
  init: SignedChainAppendInit,
): Promise<SignedChainAppend> {
  const { ref, signer } = init;
  const prepared = prepareEnvelopes(envelopes, signer, { maxBytes: init.maxBytes });
  // ULIDs already in the chain, read incrementally: each attempt reads only what landed since the last one.
  const seen = new Set<string>();
  let scanned: Oid | null = null;
  return casRetry(
    {
      objects: init.objects,
      refs: init.refs,
      ref,
      retry: init.retry,
      ...init.conflict,
    },
    async () => {
      const head = await init.refs.read(ref);
      let todo = prepared;
      const duplicates: string[] = [];
      if (init.dedupeUlids && head) {
        if (head !== scanned) {
          for (const e of await readChain(init.objects, ref, head, scanned)) seen.add(e.envelope.ulid);
          scanned = head;
        }
        todo = prepared.filter((p) => !seen.has(p.envelope.ulid));
        for (const p of prepared) if (seen.has(p.envelope.ulid)) duplicates.push(p.envelope.ulid);
      }
      const signed = signChain(todo, { ref, parent: head, signer });
      const appended = signed.links.map((l) => ({
        ref,
        commit: l.commit.oid,
        parent: l.parent,
        cid: l.prepared.cidString,
        ulid: l.prepared.envelope.ulid,
      }));
      const result: SignedChainAppend = { appended, duplicates };
      if (appended.length === 0) return casDone(result);
      return casWrite(signed.objects, { ref, expect: head, next: signed.head }, result);
    },
  );
}

/**
 * Reads a chain's events after `after` (exclusive) up to `head`, oldest first; throws on the first malformed
 * commit. A chain whose history was rewritten under `after` fails with `GATOS_E_CURSOR`.
 */
export async function readChain(
  objects: ObjectStore,
  ref: string,
  head: Oid,
  after: Oid | null = null,
): Promise<JournalEvent[]> {
  return (await loadEventCommits(objects, ref, head, after)).map((l) => {
    if (l.error) throw l.error;
    return parseEventCommit(ref, l.commit, l.blob!);
  });
}

/** One thing wrong with one chain event: a stable code and what is wrong. */
export interface ChainProblem {
  code: 'GATOS_E_JOURNAL_BROKEN' | 'GATOS_E_KEY_NOT_FOUND' | 'GATOS_E_SIG_INVALID';
  message: string;
}

/** What {@link checkChainEvent} checks an event against. */
export interface ChainCheck {
  trust: TrustSet;
  /** The parent the event must have (its predecessor in the chain); omit to take the commit's own parent. */
  expectedParent?: Oid | null;
  /** The actor the chain belongs to (a journal's owner); omit for chains any actor may sign (governance). */
  owner?: string | null;
  /**
   * Find the key among every registry entry of the envelope's actor (governance chains), rather than by key id
   * alone (journals): a key id registered for two actors then counts for both.
   */
  keyOfActor?: boolean;
  /** Trailer lines the commit carries after `Sig` (a bus message's position), for rebuilding it. */
  trailers?: string;
}

/**
 * Checks one event at its ref and position: chain link, ownership, Event-CID, a key registered for the envelope's
 * actor, the signature for this ref and parent, and the commit rebuilt from its parts. Empty means valid.
 */
export function checkChainEvent(e: JournalEvent, check: ChainCheck): ChainProblem[] {
  const problems: ChainProblem[] = [];
  const add = (code: ChainProblem['code'], message: string) => problems.push({ code, message });
  if (check.expectedParent !== undefined && e.parent !== check.expectedParent)
    add('GATOS_E_JOURNAL_BROKEN', `parent ${e.parent ?? ZERO_OID} breaks the chain`);
  if (check.owner !== undefined && check.owner !== e.envelope.actor) {
    add('GATOS_E_JOURNAL_BROKEN', `event actor ${e.envelope.actor} does not own journal ${e.ref}`);
  }
  const cid = eventCid(e.bytes);
  if (cid.toString() !== e.cid)
    add('GATOS_E_JOURNAL_BROKEN', `Event-CID trailer ${e.cid} does not match ${cid}`);
  const key = check.keyOfActor
    ? keyOfActor(check.trust, e.envelope.actor, e.keyId)
    : check.trust.byId.get(e.keyId);
  if (!key) {
    const of = check.keyOfActor ? ` for ${e.envelope.actor}` : '';
    add('GATOS_E_KEY_NOT_FOUND', `key ${e.keyId} is not registered${of}`);
  } else if (key.actor !== e.envelope.actor)
    add('GATOS_E_SIG_INVALID', `key ${e.keyId} belongs to ${key.actor}`);
  else if (!verifyEventSignature(key.publicKey, { ref: e.ref, parent: e.parent ?? ZERO_OID, cid }, e.sig)) {
    add('GATOS_E_SIG_INVALID', 'signature does not verify for this journal and position');
  }
  const rebuilt = eventCommitObjects({
    envelope: e.envelope,
    bytes: e.bytes,
    cid: e.cid,
    sig: e.sig,
    keyId: e.keyId,
    parent: e.parent,
    ...(check.trailers === undefined ? {} : { trailers: check.trailers }),
  }).commit.oid;
  if (rebuilt !== e.commit) {
    add(
      'GATOS_E_JOURNAL_BROKEN',
      'commit differs from the one its event derives (author, dates, message or tree)',
    );
  }
  return problems;
}

/** The registry entry of `actor` with key id `keyId`, whichever other actors the same key id is registered for. */
function keyOfActor(
  trust: TrustSet,
  actor: string,
  keyId: string,
): { actor: string; publicKey: Uint8Array } | null {
  const k = trust.keys.find((t) => t.actor === actor && t.key_id === keyId);
  return k ? { actor, publicKey: Uint8Array.from(Buffer.from(k.public_key, 'hex')) } : null;
}
