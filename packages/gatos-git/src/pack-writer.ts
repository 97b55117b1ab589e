/**
 * Writing a packfile (v2, no deltas) and its index (v2) from Node, for batches of objects.
 *
 * One pack replaces thousands of loose-file creations (~0.3 ms each). Objects are sorted by id, so the same
 * input always gives the same bytes. Both files are written under `tmp_pack_*` / `tmp_idx_*` names (which
 * `git gc` cleans up after a crash) and renamed into place, `.pack` first: git only looks at packs whose
 * `.idx` exists, so a pack becomes visible exactly when it is complete.
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { GatosError, type GitObject } from '@gatos/core';
import { deflateBody } from './deflate.js';
import { errCode, fsyncDir, uniqueSuffix } from './fs-util.js';

/** Options of {@link writePack}. */
export interface PackWriteOptions {
  /** Fsync both files and the pack directory before resolving. */
  fsync: boolean;
}

/** What {@link writePack} produced. */
export interface WrittenPack {
  /** Absolute path of the `.pack` file. */
  packPath: string;
  /** Absolute path of the `.idx` file. */
  idxPath: string;
  /** The pack's trailing SHA-1 (hex), which also names it. */
  checksum: string;
  /** Number of objects in it. */
  count: number;
}

/** The encoded pack and index, before anything touches the disk. */
export interface EncodedPack {
  pack: Buffer;
  idx: Buffer;
  checksum: string;
}

const TYPE_CODE: Record<string, number> = { commit: 1, tree: 2, blob: 3, tag: 4 };

/** Offsets at or above 2^31 need the idx's 8-byte offset table; {@link splitForPacks} keeps packs below it. */
const MAX_SMALL_OFFSET = 0x7fffffff;

/** The in-pack object header: type and inflated size as a little-endian base-128 varint. */
function entryHeader(type: number, size: number): Buffer {
  const bytes: number[] = [];
  let c = (type << 4) | (size & 0x0f);
  let s = Math.floor(size / 16);
  while (s > 0) {
    bytes.push(c | 0x80);
    c = s & 0x7f;
    s = Math.floor(s / 128);
  }
  bytes.push(c);
  return Buffer.from(bytes);
}

/** Encodes a pack and its index in memory. `objects` must have distinct ids. */
export function encodePack(objects: readonly GitObject[]): EncodedPack {
  const sorted = [...objects].sort((a, b) => (a.oid < b.oid ? -1 : a.oid > b.oid ? 1 : 0));
  const n = sorted.length;
  const parts: Buffer[] = [];
  const head = Buffer.alloc(12);
  head.write('PACK', 0, 'latin1');
  head.writeUInt32BE(2, 4);
  head.writeUInt32BE(n, 8);
  parts.push(head);
  let offset = 12;
  const offsets = new Array<number>(n);
  const crcs = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const o = sorted[i]!;
    const code = TYPE_CODE[o.type];
    if (code === undefined) throw new GatosError('GATOS_E_INTERNAL', `cannot pack object type ${o.type}`);
    if (i > 0 && sorted[i - 1]!.oid === o.oid) {
      throw new GatosError('GATOS_E_INTERNAL', `duplicate object ${o.oid} in one pack`);
    }
    if (offset > MAX_SMALL_OFFSET) {
      throw new GatosError(
        'GATOS_E_INTERNAL',
        'pack would exceed 2 GiB; split the batch (8-byte offsets unsupported)',
        {
          data: { offset },
        },
      );
    }
    const h = entryHeader(code, o.body.length);
    const z = deflateBody(o.body);
    offsets[i] = offset;
    crcs[i] = crc32(z, crc32(h));
    parts.push(h, z);
    offset += h.length + z.length;
  }
  const body = Buffer.concat(parts, offset);
  const packSum = createHash('sha1').update(body).digest();
  const pack = Buffer.concat([body, packSum]);

  const idx = Buffer.alloc(8 + 256 * 4 + n * (20 + 4 + 4) + 40);
  idx.writeUInt32BE(0xff744f63, 0);
  idx.writeUInt32BE(2, 4);
  const fanout = new Uint32Array(256);
  for (const o of sorted) fanout[Number.parseInt(o.oid.slice(0, 2), 16)]!++;
  let acc = 0;
  for (let b = 0; b < 256; b++) {
    acc += fanout[b]!;
    idx.writeUInt32BE(acc, 8 + b * 4);
  }
  const oidsAt = 8 + 1024;
  const crcAt = oidsAt + n * 20;
  const offAt = crcAt + n * 4;
  for (let i = 0; i < n; i++) {
    idx.write(sorted[i]!.oid, oidsAt + i * 20, 'hex');
    idx.writeUInt32BE(crcs[i]!, crcAt + i * 4);
    idx.writeUInt32BE(offsets[i]!, offAt + i * 4);
  }
  const sumAt = offAt + n * 4;
  packSum.copy(idx, sumAt);
  createHash('sha1')
    .update(idx.subarray(0, sumAt + 20))
    .digest()
    .copy(idx, sumAt + 20);
  return { pack, idx, checksum: packSum.toString('hex') };
}

/**
 * Splits a batch into runs whose bodies total at most `maxBytes` (inflated, an upper bound of the packed size
 * in practice), so every pack stays far below the 2 GiB offset limit and within one Buffer.
 */
export function splitForPacks(objects: readonly GitObject[], maxBytes: number): GitObject[][] {
  const sorted = [...objects].sort((a, b) => (a.oid < b.oid ? -1 : a.oid > b.oid ? 1 : 0));
  const out: GitObject[][] = [];
  let cur: GitObject[] = [];
  let size = 0;
  for (const o of sorted) {
    if (cur.length > 0 && size + o.body.length > maxBytes) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(o);
    size += o.body.length + 32;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

async function writeTemp(path: string, data: Buffer, fsync: boolean): Promise<void> {
  const fh = await open(path, 'wx', 0o444);
  try {
    await fh.writeFile(data);
    if (fsync) await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes one pack + idx into `<objectsDir>/pack/`, atomically visible; returns where they landed. */
export async function writePack(
  objectsDir: string,
  objects: readonly GitObject[],
  opts: PackWriteOptions,
): Promise<WrittenPack> {
  const { pack, idx, checksum } = encodePack(objects);
  const dir = join(objectsDir, 'pack');
  await mkdir(dir, { recursive: true });
  const packPath = join(dir, `pack-${checksum}.pack`);
  const idxPath = join(dir, `pack-${checksum}.idx`);
  const result = { packPath, idxPath, checksum, count: objects.length };
  try {
    await stat(idxPath);
    return result; // The same pack was written before: identical bytes, nothing to do.
  } catch (e) {
    if (errCode(e) !== 'ENOENT') throw e;
  }
  const sfx = uniqueSuffix();
  const tmpPack = join(dir, `tmp_pack_${sfx}`);
  const tmpIdx = join(dir, `tmp_idx_${sfx}`);
  try {
    await Promise.all([writeTemp(tmpPack, pack, opts.fsync), writeTemp(tmpIdx, idx, opts.fsync)]);
    await rename(tmpPack, packPath);
    await rename(tmpIdx, idxPath);
  } catch (e) {
    await Promise.all([unlink(tmpPack).catch(() => {}), unlink(tmpIdx).catch(() => {})]);
    throw e;
  }
  if (opts.fsync) await fsyncDir(dir);
  return result;
}
