/**
 * Object and ref stores in memory, with the same contract as the git stores of `@gatos/git` (one contract test
 * suite runs against both): for tests of pure logic, and for views such as "the refs as a remote has them".
 */
import { GatosError } from '../errors.js';
import { type GitObject, type Oid, type ParsedCommit, parseCommit } from './git-object.js';
import type { ObjectStore, StoredObject } from './object-store.js';
import type { RefEntry, RefStore, RefUpdate } from './ref-store.js';

/** An {@link ObjectStore} in memory; `objects` is its content, keyed by id. */
export function createMemoryObjectStore(): ObjectStore & { objects: Map<Oid, GitObject> } {
  const objects = new Map<Oid, GitObject>();
  const one = (oid: Oid): GitObject => {
    const o = objects.get(oid);
    if (!o) throw new GatosError('GATOS_E_OBJECT_MISSING', `object ${oid} is missing`, { data: { oid } });
    return o;
  };
  return {
    objects,
    put: async (objs) => {
      for (const o of objs) if (!objects.has(o.oid)) objects.set(o.oid, o);
    },
    get: async (oids) => oids.map((oid): StoredObject => one(oid)),
    has: async (oids) => oids.map((o) => objects.has(o)),
    chain: async (head, stop = null) => {
      const out: ParsedCommit[] = [];
      for (let cur: Oid | undefined = head; cur && cur !== stop; ) {
        const o = one(cur);
        if (o.type !== 'commit') throw new GatosError('GATOS_E_OBJECT_MISSING', `${cur} is not a commit`);
        const c = parseCommit(cur, o.body);
        out.push(c);
        cur = c.parents[0];
      }
      return out.reverse();
    },
    close: async () => {},
  };
}

function sortedEntries(refs: ReadonlyMap<string, Oid>, prefix: string): RefEntry[] {
  return [...refs]
    .filter(([r]) => r.startsWith(prefix))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([ref, oid]) => ({ ref, oid }));
}

/** A {@link RefStore} in memory (compare-and-swap, several at once with `casAll`); `refs` is its content. */
export function createMemoryRefStore(
  initial: Iterable<readonly [string, Oid]> = [],
): RefStore & { refs: Map<string, Oid> } {
  const refs = new Map<string, Oid>(initial);
  const matches = (u: RefUpdate) => (refs.get(u.ref) ?? null) === u.expect;
  const apply = (u: RefUpdate) => (u.next === null ? refs.delete(u.ref) : refs.set(u.ref, u.next));
  return {
    refs,
    read: async (ref) => refs.get(ref) ?? null,
    cas: async (u) => {
      if (!matches(u)) return false;
      apply(u);
      return true;
    },
    casAll: async (updates) => {
      if (!updates.every(matches)) return false;
      for (const u of updates) apply(u);
      return true;
    },
    list: async (prefix) => sortedEntries(refs, prefix),
  };
}

/**
 * A read-only view of `base` in which the refs of `overrides` read as given (a pushed value, a remote's value);
 * writing through it is a bug (`GATOS_E_INTERNAL`). Listing shows `base` as it is.
 */
export function readOnlyRefView(
  base: Pick<RefStore, 'read' | 'list'>,
  overrides: ReadonlyMap<string, Oid | null> = new Map(),
): RefStore {
  const refuse = async (): Promise<boolean> => {
    throw new GatosError('GATOS_E_INTERNAL', 'a read-only ref view is never written through');
  };
  return {
    read: async (ref) => (overrides.has(ref) ? overrides.get(ref)! : base.read(ref)),
    cas: refuse,
    casAll: refuse,
    list: (prefix) => base.list(prefix),
  };
}
