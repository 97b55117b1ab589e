/**
 * The `ObjectStore` over a real repository: loose or packed writes from Node, pipelined reads via cat-file.
 */
import {
  GatosError,
  type GitObject,
  isGatosError,
  isOid,
  type ObjectStore,
  type Oid,
  type ParsedCommit,
  parseCommit,
  type StoredObject,
} from '@gatos/core';
import { CatFileReader } from './cat-file-reader.js';
import { asyncFs, type FsOps, syncFs } from './fs-ops.js';
import { objectId } from './object-id.js';
import { writeLooseObjects } from './loose-object-writer.js';
import { PackConsolidator } from './pack-consolidator.js';
import { splitForPacks, writePack } from './pack-writer.js';
import type { Repository } from './repository.js';
import { streamGit } from './run-git.js';

/** Options of {@link createObjectStore}. */
export interface ObjectStoreOptions {
  /** Batches of at least this many objects are written as one packfile, smaller ones as loose files (32). */
  packThreshold?: number;
  /** Fsync written objects before `put()` resolves (true): "durable once the promise resolves". */
  fsync?: boolean;
  /** Re-hash bodies on `put()` and on reads, throwing `GATOS_E_OBJECT_CORRUPT` on a mismatch (true). */
  verify?: boolean;
  /** Upper bound of inflated bytes per packfile; bigger batches become several packs (256 MiB). */
  maxPackBytes?: number;
  /**
   * Merge this store's own packs in the background once this many were written (0: never). Meant for a
   * long-lived writer with a small `packThreshold`, which would otherwise leave a pack per batch.
   */
  consolidateAfter?: number;
  /** Run those merges on a worker thread of their own (false), so they never hold up `put()`. */
  consolidateOnThread?: boolean;
  /**
   * Write with synchronous file calls (false). For a thread that only writes, such as gatosd's writer thread:
   * it saves a thread-pool round trip per file step, but blocks the calling thread meanwhile. Background pack
   * merges stay asynchronous.
   */
  syncIo?: boolean;
}

/** Background merges never produce packs above this size (so a merge never holds more than ~2× it). */
const MAX_MERGED_PACK_BYTES = 64 * 1024 * 1024;

/** The default batch size from which `put()` writes a packfile instead of loose objects. */
export const DEFAULT_PACK_THRESHOLD = 32;

function checkHash(o: { oid: Oid; type: string; body: Uint8Array }): void {
  const h = objectId(o.type, o.body);
  if (h !== o.oid) {
    throw new GatosError('GATOS_E_OBJECT_CORRUPT', `object ${o.oid} hashes to ${h}`, {
      data: { oid: o.oid, actual: h, type: o.type },
    });
  }
}

function checkOid(oid: unknown, what: string): asserts oid is Oid {
  if (!isOid(oid)) throw new GatosError('GATOS_E_INTERNAL', `${what} is not an object id: ${String(oid)}`);
}

class GitObjectStore implements ObjectStore {
  readonly #repo: Repository;
  readonly #reader: CatFileReader;
  readonly #threshold: number;
  readonly #fsync: boolean;
  readonly #verify: boolean;
  readonly #maxPackBytes: number;
  readonly #consolidator: PackConsolidator | null;
  readonly #fs: FsOps;

  constructor(repo: Repository, opts: ObjectStoreOptions) {
    this.#fs = opts.syncIo ? syncFs : asyncFs;
    this.#repo = repo;
    this.#reader = new CatFileReader(repo);
    this.#threshold = opts.packThreshold ?? DEFAULT_PACK_THRESHOLD;
    this.#fsync = opts.fsync ?? true;
    this.#verify = opts.verify ?? true;
    this.#maxPackBytes = opts.maxPackBytes ?? 256 * 1024 * 1024;
    const after = opts.consolidateAfter ?? 0;
    this.#consolidator =
      after > 0
        ? new PackConsolidator(repo.objectsDir, {
            after,
            // A merge holds its inputs and output in memory; bigger packs stay as they are.
            maxPackBytes: Math.min(this.#maxPackBytes, MAX_MERGED_PACK_BYTES),
            fsync: this.#fsync,
            thread: opts.consolidateOnThread ?? false,
          })
        : null;
  }

  async put(objects: readonly GitObject[]): Promise<void> {
    const unique = new Map<Oid, GitObject>();
    for (const o of objects) {
      checkOid(o.oid, 'put()');
      // A wrong id would be a corrupt repository forever; SHA-1 runs at ~1 GB/s, so always cheap enough.
      if (this.#verify) checkHash(o);
      unique.set(o.oid, o);
    }
    const list = [...unique.values()];
    if (list.length === 0) return;
    const opts = { fsync: this.#fsync, fs: this.#fs };
    if (list.length < this.#threshold) {
      await writeLooseObjects(this.#repo.objectsDir, list, opts);
      return;
    }
    for (const chunk of splitForPacks(list, this.#maxPackBytes)) {
      const written = await writePack(this.#repo.objectsDir, chunk, opts);
      this.#consolidator?.add(written);
    }
  }

  async get(oids: readonly Oid[]): Promise<StoredObject[]> {
    let res = await this.#reader.read('contents', oids);
    if (res.includes(null)) {
      // Measured: cat-file sees loose objects and re-scans objects/pack on a miss, so objects written after it
      // started are found. A miss is still re-checked by a fresh child (error path only, and without
      // disturbing requests other callers have in flight on the long-lived one) in case some git caches more.
      const missing = oids.filter((_, i) => res[i] === null);
      const fresh = new CatFileReader(this.#repo);
      let again: (StoredObject | null)[];
      try {
        again = await fresh.read('contents', missing);
      } finally {
        await fresh.close();
      }
      const found = new Map<Oid, StoredObject>();
      for (const r of again) if (r) found.set(r.oid, r);
      res = res.map((r, i) => r ?? found.get(oids[i]!) ?? null);
      const still = oids.filter((_, i) => res[i] === null);
      if (still.length > 0) {
        throw new GatosError('GATOS_E_OBJECT_MISSING', `object ${still[0]} is missing`, {
          data: { oid: still[0], missing: still },
        });
      }
    }
    const out = res as StoredObject[];
    if (this.#verify) for (const o of out) checkHash(o);
    return out;
  }

  async has(oids: readonly Oid[]): Promise<boolean[]> {
    const res = await this.#reader.read('info', oids);
    return res.map((r) => r !== null);
  }

  async chain(head: Oid, stop: Oid | null = null): Promise<ParsedCommit[]> {
    checkOid(head, 'chain() head');
    if (stop !== null) checkOid(stop, 'chain() stop');
    if (head === stop) return [];
    // Newest first, streamed: each chunk of ids is requested from cat-file while rev-list is still walking,
    // so the two processes overlap instead of running back to back (`--reverse` would hold all output).
    const args = ['rev-list', '--first-parent', head];
    if (stop !== null) args.push(`^${stop}`);
    args.push('--');
    const batches: Promise<StoredObject[]>[] = [];
    let carry = '';
    try {
      await streamGit(this.#repo, args, (chunk) => {
        const text = carry + chunk.toString('latin1');
        const cut = text.lastIndexOf('\n');
        carry = text.slice(cut + 1);
        if (cut < 0) return;
        const batch = this.get(text.slice(0, cut).split('\n'));
        batch.catch(() => {}); // Awaited below; this only keeps a failure from counting as unhandled meanwhile.
        batches.push(batch);
      });
    } catch (e) {
      if (!isGatosError(e, 'GATOS_E_GIT')) throw e;
      const ids = stop === null ? [head] : [head, stop];
      const present = await this.has(ids);
      const absent = ids.filter((_, i) => !present[i]);
      if (absent.length > 0) {
        throw new GatosError('GATOS_E_OBJECT_MISSING', `object ${absent[0]} is missing`, {
          data: { oid: absent[0], missing: absent },
          cause: e,
        });
      }
      throw e;
    }
    if (carry !== '') batches.push(this.get([carry]));
    const objects = (await Promise.all(batches)).flat().reverse();
    const commits = new Array<ParsedCommit>(objects.length);
    for (let i = 0; i < objects.length; i++) {
      const o = objects[i]!;
      if (o.type !== 'commit') {
        throw new GatosError('GATOS_E_OBJECT_CORRUPT', `${o.oid} is a ${o.type}, not a commit`, {
          data: { oid: o.oid },
        });
      }
      const c = parseCommit(o.oid, o.body);
      if (i > 0 && c.parents[0] !== commits[i - 1]!.oid) {
        throw new GatosError('GATOS_E_GIT', `rev-list returned a broken first-parent chain at ${o.oid}`, {
          data: { oid: o.oid },
        });
      }
      commits[i] = c;
    }
    // `^stop` excludes what stop reaches; if stop is not on head's first-parent line, the result would silently
    // run back to the root. The chain must hang exactly off `stop`.
    const first = commits[0];
    const base = first ? (first.parents[0] ?? null) : head;
    if (base !== stop) {
      throw new GatosError('GATOS_E_GIT', `${stop} is not a first-parent ancestor of ${head}`, {
        data: { head, stop, reason: 'stop-not-ancestor' },
      });
    }
    return commits;
  }

  async close(): Promise<void> {
    try {
      await this.#consolidator?.close();
    } finally {
      await this.#reader.close();
    }
  }
}

/** An `ObjectStore` over `repo`: writes loose objects or one packfile per batch, reads through one cat-file. */
export function createObjectStore(repo: Repository, opts: ObjectStoreOptions = {}): ObjectStore {
  return new GitObjectStore(repo, opts);
}
