/**
 * The order in which the events of a namespace's journals are presented (`spec/journal.md`, "Namespace order"):
 * a k-way merge that keeps each journal's own chain order and, among the journals' next events, takes the one
 * with the smallest (timestamp, actor, ULID). A pure function of the journals, so every machine that fetched the
 * same heads sees the same order.
 */
import type { JournalEvent } from '../chain/event-commit.js';

/**
 * Compares two events by (ts, actor, ulid); actors are unique per journal, so it is total. Timestamps have one
 * fixed format (`YYYY-MM-DDTHH:MM:SS.sssZ`), so comparing the strings compares the instants.
 */
export function compareEvents(a: JournalEvent, b: JournalEvent): number {
  if (a.envelope.ts !== b.envelope.ts) return a.envelope.ts < b.envelope.ts ? -1 : 1;
  if (a.envelope.actor !== b.envelope.actor) return a.envelope.actor < b.envelope.actor ? -1 : 1;
  if (a.envelope.ulid !== b.envelope.ulid) return a.envelope.ulid < b.envelope.ulid ? -1 : 1;
  return 0;
}

/** Merges per-journal event lists (each oldest first) into namespace order; takes at most `limit` events. */
export function mergeJournals(
  lists: readonly (readonly JournalEvent[])[],
  limit = Number.POSITIVE_INFINITY,
): JournalEvent[] {
  const pos = lists.map(() => 0);
  const out: JournalEvent[] = [];
  while (out.length < limit) {
    let best = -1;
    for (let i = 0; i < lists.length; i++) {
      const e = lists[i]![pos[i]!];
      if (e && (best < 0 || compareEvents(e, lists[best]![pos[best]!]!) < 0)) best = i;
    }
    if (best < 0) break;
    out.push(lists[best]![pos[best]!]!);
    pos[best]!++;
  }
  return out;
}
