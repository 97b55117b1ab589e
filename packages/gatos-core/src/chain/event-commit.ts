/**
 * Event commits: the commit format every signed chain shares (journals, governance chains, bus segments). A
 * commit holds one canonical envelope blob (`event.cbor`); its subject is `<type> <ulid>` and its trailers carry the
 * Event-CID, the key id and the signature. Every byte is derived from the event and its position alone, so the
 * same event on the same parent gives the same commit id on every machine (`spec/journal.md` § 2).
 */
import { GatosError } from '../errors.js';
import { type EventEnvelope, decodeEnvelope } from '../events/event-envelope.js';
import { type EventSigContext, formatSignature, parseSignature } from '../events/event-signature.js';
import {
  type GitIdent,
  type GitObject,
  type Oid,
  type ParsedCommit,
  blobObject,
  commitObject,
  parseTrailers,
  parseTree,
  treeObject,
} from '../store/git-object.js';
import type { ObjectStore } from '../store/object-store.js';

/** Signs events for one actor; the private key stays inside. */
export interface EventSigner {
  actor: string;
  keyId: string;
  /** Signs the event signing input for a position; see `eventSigningInput`. */
  sign(position: EventSigContext): Uint8Array;
}

/** An event as it sits in a chain (a journal, a governance chain, a bus segment). */
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

/** The file name of the envelope blob inside an event commit's tree. */
export const EVENT_BLOB_NAME = 'event.cbor';

/** Author and committer of an event commit: the actor, at the event's timestamp (whole seconds, UTC). */
export function eventIdent(envelope: EventEnvelope): GitIdent {
  const seconds = Math.floor(Date.parse(envelope.ts) / 1000);
  return { name: envelope.actor, email: envelope.actor, seconds, tz: '+0000' };
}

/** The commit message of an event commit: a subject for humans, then the trailers verifiers read. */
export function eventMessage(
  envelope: EventEnvelope,
  cid: string,
  sig: Uint8Array,
  keyId: string,
  trailers = '',
): string {
  return `${envelope.type} ${envelope.ulid}\n\nEvent-CID: ${cid}\nKey-Id: ${keyId}\nSig: ${formatSignature(sig)}\n${trailers}`;
}

/** The three objects of one event commit (blob, tree, commit), derived from the event and its position only. */
export function eventCommitObjects(init: {
  envelope: EventEnvelope;
  bytes: Uint8Array;
  cid: string;
  sig: Uint8Array;
  keyId: string;
  parent: Oid | null;
  /** Further trailer lines after `Sig` (each ending in a newline), e.g. a bus message's position. */
  trailers?: string;
}): { blob: GitObject; tree: GitObject; commit: GitObject } {
  const blob = blobObject(init.bytes);
  const tree = treeObject([{ mode: '100644', name: EVENT_BLOB_NAME, oid: blob.oid }]);
  const ident = eventIdent(init.envelope);
  const commit = commitObject({
    tree: tree.oid,
    parents: init.parent ? [init.parent] : [],
    author: ident,
    committer: ident,
    message: eventMessage(init.envelope, init.cid, init.sig, init.keyId, init.trailers),
  });
  return { blob, tree, commit };
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
