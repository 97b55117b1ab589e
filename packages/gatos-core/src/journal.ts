/**
 * Journals: one linear chain of event commits per actor per namespace (`spec/journal.md`).
 *
 * Every commit is derived from its event alone — tree, author, committer, dates and message — so the same event
 * appended on the same parent gives the same commit id on every machine. Appends are compare-and-swap with
 * jittered retry; a lost race re-signs on the new parent, because the signature binds the event to its position.
 */
import { GatosError } from './errors.js';
import {
  type GitIdent,
  type GitObject,
  type Oid,
  type ParsedCommit,
  ZERO_OID,
  blobObject,
  commitObject,
  parseTrailers,
  parseTree,
  treeObject,
} from './git-object.js';
import type { ObjectStore } from './object-store.js';
import { journalPrefix, journalRef, parseJournalRef } from './ref-layout.js';
import type { RefStore } from './ref-store.js';
import { type EventEnvelope, decodeEnvelope, encodeEnvelope } from './event-envelope.js';
import { eventCid } from './event-cid.js';
import { type EventSigContext, formatSignature, parseSignature } from './event-signature.js';

/** The file name of the envelope blob inside an event commit's tree. */
export const EVENT_BLOB_NAME = 'event.cbor';

/** Signs events for one actor; the private key stays inside. */
export interface EventSigner {
  actor: string;
  keyId: string;
  /** Signs the event signing input for a position; see `eventSigningInput`. */
  sign(position: EventSigContext): Uint8Array;
}

/** An event as it sits in a journal. */
export interface JournalEvent {
  ref: string;
  /** The event's commit. */
  commit: Oid;
  /** The previous event's commit, or null for the first. */
  parent: Oid | null;
  envelope: EventEnvelope;
  /** Canonical envelope bytes (the blob). */
  bytes: Uint8Array;
  cid: string;
  sig: Uint8Array;
  keyId: string;
}

/** Author and committer of an event commit: the actor, at the event's timestamp (whole seconds, UTC). */
export function eventIdent(envelope: EventEnvelope): GitIdent {
  const seconds = Math.floor(Date.parse(envelope.ts) / 1000);
  return { name: envelope.actor, email: envelope.actor, seconds, tz: '+0000' };
}

/** The commit message of an event commit: a subject for humans, then the trailers verifiers read. */
export function eventMessage(envelope: EventEnvelope, cid: string, sig: Uint8Array, keyId: string): string {
  return `${envelope.type} ${envelope.ulid}\n\nEvent-CID: ${cid}\nKey-Id: ${keyId}\nSig: ${formatSignature(sig)}\n`;
}

/** The three objects of one event commit (blob, tree, commit), derived from the event and its position only. */
export function eventCommitObjects(init: {
  envelope: EventEnvelope;
  bytes: Uint8Array;
  cid: string;
  sig: Uint8Array;
  keyId: string;
  parent: Oid | null;
}): { blob: GitObject; tree: GitObject; commit: GitObject } {
  const blob = blobObject(init.bytes);
  const tree = treeObject([{ mode: '100644', name: EVENT_BLOB_NAME, oid: blob.oid }]);
  const ident = eventIdent(init.envelope);
  const commit = commitObject({
    tree: tree.oid,
    parents: init.parent ? [init.parent] : [],
    author: ident,
    committer: ident,
    message: eventMessage(init.envelope, init.cid, init.sig, init.keyId),
  });
  return { blob, tree, commit };
}

/** Retry policy for appends; `sleep` and `random` are injected (core has no clock or randomness). */
export interface RetryOptions {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

/** Options for {@link appendEvents}. */
export interface AppendOptions {
  objects: ObjectStore;
  refs: RefStore;
  ns: string;
  signer: EventSigner;
  /** Largest canonical envelope in bytes (the repository profile's limit). */
  maxBytes?: number;
  retry?: Partial<RetryOptions>;
}

/** What an append wrote, one per event. */
export interface AppendedEvent {
  ref: string;
  commit: Oid;
  parent: Oid | null;
  cid: string;
  ulid: string;
}

const noSleep = async () => {};

/**
 * Appends events, in order, to the signer's journal in `ns` as one compare-and-swap. Validates and encodes every
 * envelope before writing anything, so bad input changes nothing.
 */
export async function appendEvents(
  envelopes: readonly EventEnvelope[],
  opts: AppendOptions,
): Promise<AppendedEvent[]> {
  const { objects, refs, signer } = opts;
  const ref = journalRef(opts.ns, signer.actor);
  const prepared = envelopes.map((envelope) => {
    if (envelope.actor !== signer.actor) {
      throw new GatosError(
        'GATOS_E_ENVELOPE_ACTOR',
        `event actor ${envelope.actor} is not the signer ${signer.actor}`,
        {
          data: { actor: envelope.actor, signer: signer.actor },
        },
      );
    }
    const bytes = encodeEnvelope(envelope, opts.maxBytes === undefined ? {} : { maxBytes: opts.maxBytes });
    const cid = eventCid(bytes);
    return { envelope, bytes, cid, cidString: cid.toString() };
  });
  const retry: RetryOptions = {
    attempts: 64,
    baseDelayMs: 2,
    maxDelayMs: 250,
    sleep: noSleep,
    random: () => 0.5,
    ...opts.retry,
  };
  for (let attempt = 0; attempt < retry.attempts; attempt++) {
    const head = await refs.read(ref);
    let parent = head;
    const written: GitObject[] = [];
    const out: AppendedEvent[] = [];
    for (const p of prepared) {
      const sig = signer.sign({ ref, parent: parent ?? ZERO_OID, cid: p.cid });
      const { blob, tree, commit } = eventCommitObjects({
        envelope: p.envelope,
        bytes: p.bytes,
        cid: p.cidString,
        sig,
        keyId: signer.keyId,
        parent,
      });
      written.push(blob, tree, commit);
      out.push({ ref, commit: commit.oid, parent, cid: p.cidString, ulid: p.envelope.ulid });
      parent = commit.oid;
    }
    if (out.length === 0) return out;
    await objects.put(written);
    if (await refs.cas({ ref, expect: head, next: parent })) return out;
    // Lost the race: wait a jittered, growing delay, then re-sign on the new head.
    const cap = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** Math.min(attempt, 16));
    await retry.sleep(cap * (0.5 + retry.random() / 2));
  }
  throw new GatosError(
    'GATOS_E_REF_CONFLICT',
    `gave up appending to ${ref} after ${retry.attempts} lost races`,
    {
      data: { ref },
      hint: 'Another writer is appending to the same journal very fast; retry.',
    },
  );
}

/** One commit of a journal as stored: parsed commit and its envelope blob, or why it could not be loaded. */
export interface LoadedEventCommit {
  commit: ParsedCommit;
  blob: Uint8Array | null;
  error: GatosError | null;
}

/**
 * Loads the commits after `after` (exclusive) up to `head`, oldest first, with their envelope blobs, in three
 * pipelined reads (chain, trees, blobs). A commit whose tree is malformed is returned with its error.
 */
export async function loadEventCommits(
  objects: ObjectStore,
  ref: string,
  head: Oid,
  after: Oid | null = null,
): Promise<LoadedEventCommit[]> {
  const commits = await objects.chain(head, after);
  if (commits.length && (commits[0]!.parents[0] ?? null) !== after) {
    throw new GatosError('GATOS_E_CURSOR', `position ${after} is not on the history of ${ref}`, {
      data: { ref, after },
    });
  }
  const trees = await objects.get(commits.map((c) => c.tree));
  const loaded: (LoadedEventCommit & { blobId: Oid | null })[] = commits.map((commit, i) => {
    try {
      return { commit, blob: null, error: null, blobId: eventBlobId(commit, trees[i]!.body) };
    } catch (e) {
      return { commit, blob: null, error: e as GatosError, blobId: null };
    }
  });
  const withBlob = loaded.filter((l) => l.blobId);
  const blobs = await objects.get(withBlob.map((l) => l.blobId!));
  withBlob.forEach((l, i) => {
    l.blob = blobs[i]!.body;
  });
  return loaded.map(({ commit, blob, error }) => ({ commit, blob, error }));
}

/** Reads journal events after `after` (exclusive), oldest first; throws on the first malformed commit. */
export async function readJournal(
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

function broken(commit: Oid, message: string, data: Record<string, unknown> = {}): GatosError {
  return new GatosError('GATOS_E_JOURNAL_BROKEN', `${commit.slice(0, 12)}: ${message}`, {
    data: { commit, ...data },
  });
}

function eventBlobId(c: ParsedCommit, treeBody: Uint8Array): Oid {
  const entries = parseTree(c.tree, treeBody);
  if (entries.length !== 1 || entries[0]!.name !== EVENT_BLOB_NAME || entries[0]!.mode !== '100644') {
    throw broken(c.oid, `tree must hold exactly ${EVENT_BLOB_NAME}`);
  }
  return entries[0]!.oid;
}

/** Parses one event commit (trailers + envelope blob), checking that its envelope bytes are canonical. */
export function parseEventCommit(ref: string, c: ParsedCommit, blob: Uint8Array): JournalEvent {
  if (c.parents.length > 1) throw broken(c.oid, 'event commits have at most one parent');
  const trailers = parseTrailers(c.message);
  const one = (k: string): string => {
    const v = trailers.get(k);
    if (v?.length !== 1) throw broken(c.oid, `needs exactly one ${k} trailer`);
    return v[0]!;
  };
  let envelope: EventEnvelope;
  try {
    envelope = decodeEnvelope(blob);
  } catch (e) {
    if (e instanceof GatosError) e.data.commit = c.oid;
    throw e;
  }
  return {
    ref,
    commit: c.oid,
    parent: c.parents[0] ?? null,
    envelope,
    bytes: blob,
    cid: one('Event-CID'),
    sig: parseSignature(one('Sig')),
    keyId: one('Key-Id'),
  };
}

/** The journal refs of a namespace with their heads. */
export async function listJournals(
  refs: RefStore,
  ns: string,
): Promise<{ ref: string; actor: string; head: Oid }[]> {
  const prefix = journalPrefix(ns);
  const out: { ref: string; actor: string; head: Oid }[] = [];
  for (const { ref, oid } of await refs.list(prefix)) {
    const parsed = parseJournalRef(ref);
    if (parsed && parsed.ns === ns) out.push({ ref, actor: parsed.actor, head: oid });
  }
  return out;
}
