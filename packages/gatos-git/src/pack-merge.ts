/**
 * One merge of packs this process wrote: read them, write one pack holding all their objects (entries copied raw:
 * our packs have no deltas, so no zlib), then delete the inputs. The merged pack is durable (when `fsync`) before
 * any input goes, and every input's index goes before any input's data, so git never misses an object.
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

/** What {@link mergePacks} did. */
export interface MergeResult {
  /** The merged pack; null when fewer than two inputs were still there (nothing written, nothing deleted). */
  merged: WrittenPack | null;
  /** Checksums of the inputs that were read (and, when `merged`, are now in it and deleted). */
  read: string[];
}

async function unlinkIfThere(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (e) {
    if (errCode(e) !== 'ENOENT') throw e;
  }
}

/** Merges `inputs` (packs written by `writePack`) into one pack in `objectsDir/pack`. */
export async function mergePacks(
  objectsDir: string,
  inputs: readonly WrittenPack[],
  fsync: boolean,
): Promise<MergeResult> {
  // All reads at once and all deletions in two waves: on a busy thread each sequential await waits for other
  // work, and a merge of 1,000 small packs done one file at a time took 10–18 s.
  const loaded = await Promise.all(
    inputs.map(async (p) => {
      try {
        const [pack, idx] = await Promise.all([readFile(p.packPath), readFile(p.idxPath)]);
        return { p, pack, idx };
      } catch (e) {
        if (errCode(e) !== 'ENOENT') throw e;
        return null; // Removed by someone else (git gc): its objects are wherever they put them.
      }
    }),
  );
  const entries = new Map<string, PackEntry>();
  const read: WrittenPack[] = [];
  for (const l of loaded) {
    if (!l) continue;
    for (const e of decodeEntries(l.pack, l.idx)) entries.set(e.oid, e);
    read.push(l.p);
  }
  if (read.length < 2) return { merged: null, read: read.map((p) => p.checksum) };
  const merged = await writeEncodedPack(objectsDir, encodeEntries([...entries.values()]), entries.size, {
    fsync,
  });
  const old = read.filter((p) => p.checksum !== merged.checksum);
  await Promise.all(old.map((p) => unlinkIfThere(p.idxPath)));
  await Promise.all(old.map((p) => unlinkIfThere(p.packPath)));
  return { merged, read: read.map((p) => p.checksum) };
}
