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
import { join } from 'node:path';
import { GatosError, type GitObject } from '@gatos/core';
import { deflateBody } from './deflate.js';
import { asyncFs, type FsOps } from './fs-ops.js';
import { errCode, fsyncDir, uniqueSuffix } from './fs-util.js';

/** Options of {@link writePack}. */
export interface PackWriteOptions {
  /** Fsync both files and the pack directory before resolving. */
  fsync: boolean;
  /** How the files are written ({@link asyncFs} unless given). */
  fs?: FsOps;
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
  /** Bytes of both files. */
  bytes: number;
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

/** One object as stored in a pack (no deltas): its id, entry header + deflated body, and the CRC-32 of both. */
export interface PackEntry {
  oid: string;
  raw: Buffer;
  crc: number;
}

/** Deflates one object into its pack entry. */
export function packEntry(o: GitObject): PackEntry {
  const code = TYPE_CODE[o.type];
  if (code === undefined) throw new GatosError('GATOS_E_INTERNAL', `cannot pack object type ${o.type}`);
  const raw = Buffer.concat([entryHeader(code, o.body.length), deflateBody(o.body)]);
  return { oid: o.oid, raw, crc: crc32(raw) };
}

/** Encodes a pack and its index in memory. `objects` must have distinct ids. */
export function encodePack(objects: readonly GitObject[]): EncodedPack {
  return encodeEntries(objects.map(packEntry));
}

/**
 * Encodes a pack and its index from ready entries (sorted by id here, so the same set always gives the same
 * bytes). Entries are copied as they are, which lets packs be merged without inflating anything.
 */
export function encodeEntries(entries: readonly PackEntry[]): EncodedPack {
  const sorted = [...entries].sort((a, b) => (a.oid < b.oid ? -1 : a.oid > b.oid ? 1 : 0));
  const n = sorted.length;
  const parts: Buffer[] = [];
  const head = Buffer.alloc(12);
  head.write('PACK', 0, 'latin1');
  head.writeUInt32BE(2, 4);
  head.writeUInt32BE(n, 8);
  parts.push(head);
  let offset = 12;
  const offsets = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const e = sorted[i]!;
    if (i > 0 && sorted[i - 1]!.oid === e.oid) {
      throw new GatosError('GATOS_E_INTERNAL', `duplicate object ${e.oid} in one pack`);
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
    offsets[i] = offset;
    parts.push(e.raw);
    offset += e.raw.length;
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
    idx.writeUInt32BE(sorted[i]!.crc, crcAt + i * 4);
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
 * The entries of a pack written by {@link encodeEntries} (v2 index, 4-byte offsets, no deltas), sliced out of
 * the files without inflating. Throws `GATOS_E_OBJECT_CORRUPT` when the files are not such a pair.
 */
export function decodeEntries(pack: Buffer, idx: Buffer): PackEntry[] {
  const bad = (why: string) => new GatosError('GATOS_E_OBJECT_CORRUPT', `unexpected pack layout: ${why}`);
  if (idx.length < 8 + 1024 + 40 || idx.readUInt32BE(0) !== 0xff744f63 || idx.readUInt32BE(4) !== 2) {
    throw bad('not a v2 index');
  }
  const n = idx.readUInt32BE(8 + 255 * 4);
  const oidsAt = 8 + 1024;
  const crcAt = oidsAt + n * 20;
  const offAt = crcAt + n * 4;
  if (idx.length !== offAt + n * 4 + 40) throw bad('index has 8-byte offsets or a wrong size');
  if (pack.length < 32 || pack.toString('latin1', 0, 4) !== 'PACK' || pack.readUInt32BE(8) !== n) {
    throw bad('pack header does not match its index');
  }
  if (!pack.subarray(pack.length - 20).equals(idx.subarray(offAt + n * 4, offAt + n * 4 + 20))) {
    throw bad('pack checksum does not match its index');
  }
  const byOffset = Array.from({ length: n }, (_, i) => ({
    oid: idx.toString('hex', oidsAt + i * 20, oidsAt + i * 20 + 20),
    crc: idx.readUInt32BE(crcAt + i * 4),
    at: idx.readUInt32BE(offAt + i * 4),
  })).sort((a, b) => a.at - b.at);
  const end = pack.length - 20;
  return byOffset.map((e, i) => {
    const raw = pack.subarray(e.at, i + 1 < n ? byOffset[i + 1]!.at : end);
    // A delta entry (types 6, 7) refers to other entries by position and cannot be copied elsewhere.
    const type = (raw[0]! >> 4) & 7;
    if (type < 1 || type > 4 || crc32(raw) !== e.crc) throw bad(`entry ${e.oid} is a delta or damaged`);
    return { oid: e.oid, raw, crc: e.crc };
  });
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

async function writeTemp(fs: FsOps, path: string, data: Buffer, fsync: boolean): Promise<void> {
  const fd = await fs.open(path, 'wx', 0o444);
  try {
    await fs.writeAll(fd, data);
    if (fsync) await fs.fsync(fd);
  } finally {
    await fs.close(fd);
  }
}

/** Writes one pack + idx into `<objectsDir>/pack/`, atomically visible; returns where they landed. */
export function writePack(
  objectsDir: string,
  objects: readonly GitObject[],
  opts: PackWriteOptions,
): Promise<WrittenPack> {
  return writeEncodedPack(objectsDir, encodePack(objects), objects.length, opts);
}

/** Pack directories already created by this process. */
const knownDirs = new Set<string>();

/** Writes an encoded pack (of `count` objects) like {@link writePack}. */
export async function writeEncodedPack(
  objectsDir: string,
  encoded: EncodedPack,
  count: number,
  opts: PackWriteOptions,
): Promise<WrittenPack> {
  const { pack, idx, checksum } = encoded;
  const fs = opts.fs ?? asyncFs;
  const dir = join(objectsDir, 'pack');
  // A writer packing every small batch would otherwise pay a mkdir per batch; a removed directory is recreated
  // by the retry below.
  if (!knownDirs.has(dir)) {
    await fs.mkdirp(dir);
    knownDirs.add(dir);
  }
  const packPath = join(dir, `pack-${checksum}.pack`);
  const idxPath = join(dir, `pack-${checksum}.idx`);
  const result = { packPath, idxPath, checksum, count, bytes: pack.length + idx.length };
  try {
    await fs.stat(idxPath);
    return result; // The same pack was written before: identical bytes, nothing to do.
  } catch (e) {
    if (errCode(e) !== 'ENOENT') throw e;
  }
  const sfx = uniqueSuffix();
  const tmpPack = join(dir, `tmp_pack_${sfx}`);
  const tmpIdx = join(dir, `tmp_idx_${sfx}`);
  try {
    const both = () =>
      Promise.all([writeTemp(fs, tmpPack, pack, opts.fsync), writeTemp(fs, tmpIdx, idx, opts.fsync)]);
    try {
      await both();
    } catch (e) {
      if (errCode(e) !== 'ENOENT') throw e;
      await fs.mkdirp(dir);
      await both();
    }
    await fs.rename(tmpPack, packPath);
    await fs.rename(tmpIdx, idxPath);
  } catch (e) {
    await Promise.all([fs.unlink(tmpPack).catch(() => {}), fs.unlink(tmpIdx).catch(() => {})]);
    throw e;
  }
  if (opts.fsync) await fsyncDir(dir, fs);
  return result;
}
