/**
 * Journal verification: every event commit must be exactly the commit its event, signature and parent imply,
 * signed by a registered key of the journal's actor, bound to this journal and this position.
 */
import { isGatosError } from './errors.js';
import { type Oid, ZERO_OID } from './git-object.js';
import type { ObjectStore } from './object-store.js';
import { eventCid } from './event-cid.js';
import { verifyEventSignature } from './event-signature.js';
import {
  type JournalEvent,
  type LoadedEventCommit,
  eventCommitObjects,
  loadEventCommits,
  parseEventCommit,
} from './journal.js';
import { parseJournalRef } from './ref-layout.js';
import type { TrustSet } from './trust-registry.js';

/** One thing wrong with one event commit. */
export interface JournalProblem {
  ref: string;
  /** 0-based position in the journal, oldest first. */
  index: number;
  commit: Oid;
  code: string;
  message: string;
}

/** The result of verifying one journal. */
export interface JournalReport {
  ref: string;
  actor: string;
  head: Oid;
  events: number;
  ok: boolean;
  problems: JournalProblem[];
}

/** Checks one parsed event against its journal, position and the trust registry; returns problems found. */
export function checkEvent(
  e: JournalEvent,
  index: number,
  expectedParent: Oid | null,
  trust: TrustSet,
): JournalProblem[] {
  const problems: JournalProblem[] = [];
  const add = (code: string, message: string) =>
    problems.push({ ref: e.ref, index, commit: e.commit, code, message });
  const journal = parseJournalRef(e.ref);
  if (e.parent !== expectedParent)
    add('GATOS_E_JOURNAL_BROKEN', `parent ${e.parent ?? ZERO_OID} breaks the chain`);
  if (!journal || journal.actor !== e.envelope.actor) {
    add('GATOS_E_JOURNAL_BROKEN', `event actor ${e.envelope.actor} does not own journal ${e.ref}`);
  }
  const cid = eventCid(e.bytes);
  if (cid.toString() !== e.cid)
    add('GATOS_E_JOURNAL_BROKEN', `Event-CID trailer ${e.cid} does not match ${cid}`);
  const key = trust.byId.get(e.keyId);
  if (!key) add('GATOS_E_KEY_NOT_FOUND', `key ${e.keyId} is not registered`);
  else if (key.actor !== e.envelope.actor)
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
  }).commit.oid;
  if (rebuilt !== e.commit) {
    add(
      'GATOS_E_JOURNAL_BROKEN',
      'commit differs from the one its event derives (author, dates, message or tree)',
    );
  }
  return problems;
}

/** Verifies a whole journal from its first event to `head`. */
export async function verifyJournal(
  objects: ObjectStore,
  trust: TrustSet,
  ref: string,
  head: Oid,
): Promise<JournalReport> {
  const actor = parseJournalRef(ref)?.actor ?? '';
  const report: JournalReport = { ref, actor, head, events: 0, ok: true, problems: [] };
  let loaded: LoadedEventCommit[];
  try {
    loaded = await loadEventCommits(objects, ref, head);
  } catch (e) {
    if (!isGatosError(e)) throw e;
    report.ok = false;
    report.problems.push({ ref, index: -1, commit: head, code: e.code, message: e.message });
    return report;
  }
  let parent: Oid | null = null;
  loaded.forEach((l, i) => {
    const fail = (e: unknown) => {
      if (!isGatosError(e)) throw e;
      report.problems.push({ ref, index: i, commit: l.commit.oid, code: e.code, message: e.message });
    };
    if (l.error) fail(l.error);
    else {
      try {
        report.problems.push(...checkEvent(parseEventCommit(ref, l.commit, l.blob!), i, parent, trust));
      } catch (e) {
        fail(e);
      }
    }
    parent = l.commit.oid;
  });
  report.events = loaded.length;
  report.ok = report.problems.length === 0;
  return report;
}
