/**
 * The ref store GATOS core is given. Refs change ONLY by compare-and-swap, so concurrent writers (ours or git's
 * own) can never lose an update.
 */
import type { Oid } from './git-object.js';

/** A ref and the object it names. */
export interface RefEntry {
  ref: string;
  oid: Oid;
}

/** One compare-and-swap; `expect: null` means "must not exist", `next: null` deletes. */
export interface RefUpdate {
  ref: string;
  expect: Oid | null;
  next: Oid | null;
}

/** Where refs live. */
export interface RefStore {
  /** The object a ref names, or null. */
  read(ref: string): Promise<Oid | null>;
  /**
   * Atomically sets `ref` to `next` if it currently names `expect` (null: absent). Resolves false when another
   * writer got there first; never overwrites a concurrent update. Compatible with git's `<ref>.lock` protocol.
   */
  cas(update: RefUpdate): Promise<boolean>;
  /** All refs under a prefix (e.g. `refs/gatos/journal/`), sorted by name. */
  list(prefix: string): Promise<RefEntry[]>;
  /**
   * Optional: several compare-and-swaps applied all or none (e.g. one `git push --atomic` with a lease per ref).
   * Callers fall back to single {@link RefStore.cas} steps when a store does not offer it.
   */
  casAll?(updates: readonly RefUpdate[]): Promise<boolean>;
}
