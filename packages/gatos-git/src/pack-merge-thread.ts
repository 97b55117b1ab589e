/**
 * A worker thread that runs {@link mergePacks} for a {@link PackConsolidator} created with `thread: true`, so a
 * merge's reads, hashing and writes never hold up the thread that writes new packs.
 */
import { parentPort } from 'node:worker_threads';
import { mergePacks } from './pack-merge.js';
import type { WrittenPack } from './pack-writer.js';

/** A merge request. */
export interface MergeJob {
  objectsDir: string;
  inputs: WrittenPack[];
  fsync: boolean;
}

const port = parentPort!;
port.on('message', (job: MergeJob) => {
  mergePacks(job.objectsDir, job.inputs, job.fsync).then(
    (result) => port.postMessage({ ok: true, result }),
    (e: unknown) => {
      const err = e as NodeJS.ErrnoException;
      port.postMessage({ ok: false, message: err?.message ?? String(e), code: err?.code });
    },
  );
});
