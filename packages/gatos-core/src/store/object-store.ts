/**
 * The object store GATOS core is given: where git objects are written and read. Implemented over a real repository
 * by `@gatos/git`, in memory by `createMemoryObjectStore()` for tests of pure logic.
 */
import type { GitObject, GitObjectType, Oid, ParsedCommit } from './git-object.js';

/** A raw object as read back from a store. */
export interface StoredObject {
  oid: Oid;
  type: GitObjectType | 'tag';
  body: Uint8Array;
}

/** Where git objects live. */
export interface ObjectStore {
  /**
   * Writes objects (already hashed). Durable once the promise resolves: a ref may then point at them.
   * Writing an object that exists is a no-op. Implementations batch: many objects in one call is the fast path.
   */
  put(objects: readonly GitObject[]): Promise<void>;
  /** Reads objects in one pipelined round; throws `GATOS_E_OBJECT_MISSING` for any absent id. */
  get(oids: readonly Oid[]): Promise<StoredObject[]>;
  /** True for each id present. */
  has(oids: readonly Oid[]): Promise<boolean[]>;
  /**
   * The first-parent chain from `head` back to (not including) `stop`, OLDEST FIRST, parsed.
   * One streaming read, not a round trip per commit.
   */
  chain(head: Oid, stop?: Oid | null): Promise<ParsedCommit[]>;
  /** Releases long-lived resources (child processes). */
  close(): Promise<void>;
}
