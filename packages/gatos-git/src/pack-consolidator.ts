/**
 * Keeps the packs one object store wrote from piling up. A writer that packs every small batch (the daemon's
 * group commit: one pack per group, because one pack costs 2 file fsyncs where N loose objects cost 2N) would
 * otherwise leave thousands of tiny packs, and every object lookup walks the list of packs.
 *
 * Packs are merged geometrically, like `git repack --geometric=2`: once `after` new packs accumulated, the newest
 * packs are rolled into one until every pack holds at least twice as many objects as all newer ones together,
 * so a long run keeps O(log n) packs and rewrites each object O(log n) times. Entries are copied raw (our packs
 * have no deltas), so merging costs I/O and one SHA-1 pass, no zlib.
 *
 * Safety: the merged pack holds every object of its inputs and is fsynced (file and directory) before any input
 * is deleted; an input is deleted only when its objects are all in the merged pack. Only packs this process
 * wrote are merged, never git's (they may hold deltas). An input that vanished meanwhile (a concurrent `git gc`
 * repacked it) is skipped: whoever removed it kept its objects. Readers (git cat-file) that still have a removed
 * pack open keep reading it, and a miss makes git rescan the pack directory, where the merged pack already is.
 */
import { readFile, unlink } from 'node:fs/promises';
import { errCode } from './fs-util.js';
import {
  decodeEntries,
  encodeEntries,
  type PackEntry,
  type WrittenPack,
  writeEncodedPack,
} from './pack-writer.js';

/** Options of {@link PackConsolidator}. */
export interface ConsolidatorOptions {
  /** Merge once this many packs were written since the last merge. */
  after: number;
  /** Packs at least this large (bytes on disk) are never merged again. */
  maxPackBytes: number;
  /** Fsync the merged pack before deleting its inputs (true unless the store runs without fsync). */
  fsync: boolean;
}

interface Tracked {
  pack: WrittenPack;
  bytes: number;
}

/** Geometric merging of the packs one writer produced. */
export class PackConsolidator {
  readonly #objectsDir: string;
  readonly #opts: ConsolidatorOptions;
  /** Oldest first; merged packs keep the position of their newest input's run. */
  #packs: Tracked[] = [];
  #fresh = 0;
  #running: Promise<void> | null = null;
  #failure: unknown = null;
  #merges = 0;

  constructor(objectsDir: string, opts: ConsolidatorOptions) {
    this.#objectsDir = objectsDir;
    this.#opts = opts;
  }

  /** Packs this writer has on disk now (tracked ones). */
  get packCount(): number {
    return this.#packs.length;
  }

  /** How many merges ran so far. */
  get merges(): number {
    return this.#merges;
  }

  /** Records a pack just written; may start a merge in the background (it never delays the caller). */
  add(pack: WrittenPack): void {
    if (this.#packs.some((p) => p.pack.checksum === pack.checksum)) return; // the same bytes written again
    this.#packs.push({ pack, bytes: pack.bytes });
    if (++this.#fresh >= this.#opts.after && this.#running === null) {
      this.#fresh = 0;
      this.#running = this.#merge()
        .catch((e) => {
          // A failed merge loses nothing (inputs are only deleted after the merged pack is durable); it is
          // reported by the next settle() and merging continues with the next round.
          this.#failure = e;
        })
        .finally(() => {
          this.#running = null;
        });
    }
  }

  /** Waits for a running merge; rethrows a merge failure since the last call. */
  async settle(): Promise<void> {
    while (this.#running) await this.#running;
    const f = this.#failure;
    this.#failure = null;
    if (f) throw f;
  }

  /** Merges everything tracked into as few packs as the size limit allows (tests, shutdown). */
  async mergeAll(): Promise<void> {
    await this.settle();
    this.#running = this.#merge(true).finally(() => {
      this.#running = null;
    });
    await this.#running;
  }

  /** Which newest packs to roll up: a suffix, grown until the pack before it is at least twice its total. */
  #pickSuffix(all: boolean): number {
    const ps = this.#packs;
    let i = ps.length;
    let total = 0;
    let count = 0;
    while (i > 0) {
      const prev = ps[i - 1]!;
      if (prev.bytes >= this.#opts.maxPackBytes / 2) break;
      if (!all && count > 0 && prev.pack.count >= 2 * count) break;
      if (total + prev.bytes > this.#opts.maxPackBytes) break;
      i--;
      total += prev.bytes;
      count += prev.pack.count;
    }
    return i;
  }

  async #merge(all = false): Promise<void> {
    const from = this.#pickSuffix(all);
    const inputs = this.#packs.slice(from);
    if (inputs.length < 2) return;
    const entries = new Map<string, PackEntry>();
    const read: Tracked[] = [];
    for (const t of inputs) {
      let pack: Buffer;
      let idx: Buffer;
      try {
        [pack, idx] = await Promise.all([readFile(t.pack.packPath), readFile(t.pack.idxPath)]);
      } catch (e) {
        if (errCode(e) !== 'ENOENT') throw e;
        continue; // Removed by someone else (git gc): its objects are wherever they put them.
      }
      for (const e of decodeEntries(pack, idx)) entries.set(e.oid, e);
      read.push(t);
    }
    const gone = inputs.filter((t) => !read.includes(t));
    let merged: Tracked | null = null;
    if (read.length >= 2) {
      const enc = encodeEntries([...entries.values()]);
      const pack = await writeEncodedPack(this.#objectsDir, enc, entries.size, { fsync: this.#opts.fsync });
      merged = { pack, bytes: pack.bytes };
      for (const t of read) {
        if (t.pack.checksum === pack.checksum) continue;
        // The index first: git stops seeing the pack before its data goes.
        await unlinkIfThere(t.pack.idxPath);
        await unlinkIfThere(t.pack.packPath);
      }
      this.#merges++;
    }
    // New packs may have been added meanwhile; they stay after the merged one.
    const keep = read.length >= 2 ? new Set([...read, ...gone]) : new Set(gone);
    const next = this.#packs.filter((t) => !keep.has(t));
    if (merged) next.splice(from, 0, merged);
    this.#packs = next;
  }
}

async function unlinkIfThere(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (e) {
    if (errCode(e) !== 'ENOENT') throw e;
  }
}
