/**
 * Journals: one linear chain of event commits per actor per namespace (`spec/journal.md`), a signed chain
 * (`chain/signed-chain.ts`) on `refs/gatos/journal/<ns>/<actor>`.
 *
 * Every commit is derived from its event alone — tree, author, committer, dates and message — so the same event
 * appended on the same parent gives the same commit id on every machine. Appends are compare-and-swap with
 * jittered retry; a lost race re-signs on the new parent, because the signature binds the event to its position.
 */
import type { RetryOptions } from '../chain/cas-retry.js';
import type { EventSigner, JournalEvent } from '../chain/event-commit.js';
import {
  type AppendedEvent,
  type SignedChainAppend,
  appendSignedChain,
  readChain,
} from '../chain/signed-chain.js';
import type { EventEnvelope } from './event-envelope.js';
import type { Oid } from '../store/git-object.js';
import type { ObjectStore } from '../store/object-store.js';
import { journalPrefix, journalRef, parseJournalRef } from '../ref-layout.js';
import type { RefStore } from '../store/ref-store.js';

/** Options for {@link appendEvents}. */
export interface AppendOptions {
  objects: ObjectStore;
  refs: RefStore;
  ns: string;
  signer: EventSigner;
  /** Largest canonical envelope in bytes (the repository profile's limit). */
  maxBytes?: number;
  retry?: Partial<RetryOptions>;
  /** Skip events whose ULID the journal already holds (checked inside the compare-and-swap loop). */
  dedupeUlids?: boolean;
}

/**
 * Appends events, in order, to the signer's journal in `ns` as one compare-and-swap, reporting ULIDs skipped as
 * duplicates. Validates and encodes every envelope before writing anything, so bad input changes nothing.
 */
export function appendJournal(
  envelopes: readonly EventEnvelope[],
  opts: AppendOptions,
): Promise<SignedChainAppend> {
  const ref = journalRef(opts.ns, opts.signer.actor);
  return appendSignedChain(envelopes, {
    ...opts,
    ref,
    conflict: { hint: 'Another writer is appending to the same journal very fast; retry.' },
  });
}

/** Appends events to the signer's journal in `ns` (see {@link appendJournal}); returns what was written. */
export async function appendEvents(
  envelopes: readonly EventEnvelope[],
  opts: AppendOptions,
): Promise<AppendedEvent[]> {
  return (await appendJournal(envelopes, opts)).appended;
}

/** Reads journal events after `after` (exclusive), oldest first; throws on the first malformed commit. */
export function readJournal(
  objects: ObjectStore,
  ref: string,
  head: Oid,
  after: Oid | null = null,
): Promise<JournalEvent[]> {
  return readChain(objects, ref, head, after);
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
