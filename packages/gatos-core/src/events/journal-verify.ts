/**
 * Journal verification: every event commit must be exactly the commit its event, signature and parent imply,
 * signed by a registered key of the journal's actor, bound to this journal and this position.
 */
import {
  type JournalEvent,
  type LoadedEventCommit,
  loadEventCommits,
  parseEventCommit,
} from '../chain/event-commit.js';
import { checkChainEvent } from '../chain/signed-chain.js';
import { isGatosError } from '../errors.js';
import type { Oid } from '../store/git-object.js';
import type { ObjectStore } from '../store/object-store.js';
import { parseJournalRef } from '../ref-layout.js';
import type { TrustSet } from '../trust/trust-registry.js';

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
  const owner = parseJournalRef(e.ref)?.actor ?? null;
  return checkChainEvent(e, { trust, expectedParent, owner }).map((p) => ({
    ref: e.ref,
    index,
    commit: e.commit,
    ...p,
  }));
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
