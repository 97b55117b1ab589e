/**
 * Paging cursors for `log`: the position reached in each journal, not an offset into a merged list, so paging
 * never skips or repeats an event even while journals grow between pages.
 */
import { GatosError } from '../errors.js';
import { type Oid, isOid } from '../store/git-object.js';
import { ACTOR_RE } from '../ref-layout.js';

/** Journal positions: actor → the commit of the last event already returned. */
export type JournalPositions = Map<string, Oid>;

const PREFIX = 'c1.';

/** Encodes positions as an opaque, URL-safe cursor string. */
export function encodeCursor(positions: JournalPositions): string {
  const list = [...positions.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return PREFIX + Buffer.from(JSON.stringify(list)).toString('base64url');
}

/** Decodes a cursor; throws `GATOS_E_CURSOR` for anything malformed. */
export function decodeCursor(cursor: string): JournalPositions {
  const bad = (why: string) =>
    new GatosError('GATOS_E_CURSOR', `malformed cursor: ${why}`, {
      data: { cursor },
      hint: 'Pass a cursor exactly as a previous `git gatos log` printed it.',
    });
  if (!cursor.startsWith(PREFIX)) throw bad('unknown version');
  let list: unknown;
  try {
    list = JSON.parse(Buffer.from(cursor.slice(PREFIX.length), 'base64url').toString('utf8'));
  } catch {
    throw bad('not decodable');
  }
  if (!Array.isArray(list)) throw bad('not a list');
  const out: JournalPositions = new Map();
  for (const item of list) {
    if (!Array.isArray(item) || item.length !== 2 || typeof item[0] !== 'string' || !ACTOR_RE.test(item[0])) {
      throw bad('bad entry');
    }
    if (!isOid(item[1]) || out.has(item[0])) throw bad('bad position');
    out.set(item[0], item[1]);
  }
  return out;
}
