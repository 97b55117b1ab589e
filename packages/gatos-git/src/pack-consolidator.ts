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
import { Worker } from 'node:worker_threads';
import { type MergeResult, mergePacks } from './pack-merge.js';
import type { MergeJob } from './pack-merge-thread.js';
import type { WrittenPack } from './pack-writer.js';

/** Options of {@link PackConsolidator}. */
export interface ConsolidatorOptions {
  /** Merge once this many packs were written since the last merge. */
  after: number;
  /** Packs at least this large (bytes on disk) are never merged again. */
  maxPackBytes: number;
  /** Fsync the merged pack before deleting its inputs (true unless the store runs without fsync). */
  fsync: boolean;
  /**
   * Merge on a worker thread of its own (false), so the merge's reads, hashing and writes (tens of ms for a
   * large pack) never hold up the thread writing new packs.
   */
  thread?: boolean;
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
  #worker: Worker | null = null;

  constructor(objectsDir: string, opts: ConsolidatorOptions) {
    this.#objectsDir = objectsDir;
    this.#opts = opts;
    // Started now, so the first merge does not wait for the thread to boot (~50 ms) while packs pile up.
    if (opts.thread) this.#startWorker();
  }

  #startWorker(): Worker {
    if (!this.#worker) {
      this.#worker = new Worker(new URL('./pack-merge-thread.js', import.meta.url));
      // An idle merge thread must not keep the process alive; close() ends it after the last merge.
      this.#worker.unref();
    }
    return this.#worker;
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

  /** Waits for a running merge and stops the merge thread; rethrows a merge failure since the last settle. */
  async close(): Promise<void> {
    try {
      await this.settle();
    } finally {
      await this.#worker?.terminate();
      this.#worker = null;
    }
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
    const { merged, read } = await this.#run(inputs.map((t) => t.pack));
    const wasRead = new Set(read);
    // Inputs that were gone are forgotten; read ones are forgotten once merged (else they stay, to be retried).
    const drop = new Set(inputs.filter((t) => !wasRead.has(t.pack.checksum) || merged !== null));
    const next = this.#packs.filter((t) => !drop.has(t));
    // New packs may have been added meanwhile; they stay after the merged one.
    if (merged) {
      next.splice(from, 0, { pack: merged, bytes: merged.bytes });
      this.#merges++;
    }
    this.#packs = next;
  }

  #run(inputs: WrittenPack[]): Promise<MergeResult> {
    const fsync = this.#opts.fsync;
    if (!this.#opts.thread) return mergePacks(this.#objectsDir, inputs, fsync);
    const worker = this.#startWorker();
    return new Promise<MergeResult>((resolve, reject) => {
      const done = (fn: () => void) => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        fn();
      };
      const onMessage = (
        m: { ok: true; result: MergeResult } | { ok: false; message: string; code?: string },
      ) =>
        done(() => {
          if (m.ok) resolve(m.result);
          else reject(Object.assign(new Error(m.message), { code: m.code }));
        });
      // A dead thread is replaced by the next merge, which would otherwise wait for it forever.
      const died = (e: Error) =>
        done(() => {
          if (this.#worker === worker) this.#worker = null;
          reject(e);
        });
      const onError = (e: Error) => died(e);
      const onExit = (code: number) => died(new Error(`pack merge thread exited ${code}`));
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.postMessage({ objectsDir: this.#objectsDir, inputs, fsync } satisfies MergeJob);
    });
  }
}
