/**
 * Writing loose objects from Node: no git process per object.
 *
 * Each object is deflated into `objects/xx/tmp_obj_<random>` (the prefix `git prune` already cleans up after a
 * crash), fsynced, then hard-linked to its final name. `link` never replaces an existing file, so a racing
 * writer of the same object is harmless, and the final name only ever appears complete.
 */
import { dirname, join } from 'node:path';
import type { GitObject } from '@gatos/core';
import { deflateBody } from './deflate.js';
import { asyncFs, type FsOps } from './fs-ops.js';
import { errCode, fsyncDir, uniqueSuffix } from './fs-util.js';

/** Options of {@link writeLooseObjects}. */
export interface LooseWriteOptions {
  /** Fsync each file and its directory before resolving (durability across power loss). */
  fsync: boolean;
  /** How the files are written ({@link asyncFs} unless given). */
  fs?: FsOps;
}

/** The path of a loose object under an objects directory. */
export function loosePath(objectsDir: string, oid: string): string {
  return join(objectsDir, oid.slice(0, 2), oid.slice(2));
}

/** The deflated bytes of a loose object: zlib(`type len\0` + body). */
export function encodeLoose(obj: GitObject): Buffer {
  const header = Buffer.from(`${obj.type} ${obj.body.length}\0`, 'latin1');
  return deflateBody(Buffer.concat([header, obj.body]));
}

async function exists(fs: FsOps, path: string): Promise<boolean> {
  try {
    await fs.stat(path);
    return true;
  } catch (e) {
    if (errCode(e) === 'ENOENT') return false;
    throw e;
  }
}

/** Writes one loose object; returns the directories whose entries changed (for a later dir fsync). */
async function writeOne(fs: FsOps, objectsDir: string, obj: GitObject, fsync: boolean): Promise<string[]> {
  const final = loosePath(objectsDir, obj.oid);
  if (await exists(fs, final)) return [];
  const dir = dirname(final);
  const tmp = join(dir, `tmp_obj_${uniqueSuffix()}`);
  const data = encodeLoose(obj);
  const changed = [dir];
  let fd: number;
  try {
    fd = await fs.open(tmp, 'wx', 0o444);
  } catch (e) {
    if (errCode(e) !== 'ENOENT') throw e;
    // A new fan-out directory is itself a new entry of the objects directory.
    if (await fs.mkdirp(dir)) changed.push(objectsDir);
    fd = await fs.open(tmp, 'wx', 0o444);
  }
  try {
    await fs.writeAll(fd, data);
    if (fsync) await fs.fsync(fd);
  } finally {
    await fs.close(fd);
  }
  try {
    await fs.link(tmp, final);
  } catch (e) {
    const c = errCode(e);
    if (c !== 'EEXIST') {
      // Filesystems without hard links: fall back to rename, as git's finalize_object_file does. The content
      // is identical, so replacing a concurrent writer's copy is harmless.
      if (c !== 'EPERM' && c !== 'ENOTSUP' && c !== 'ENOSYS' && c !== 'EXDEV') {
        await fs.unlink(tmp).catch(() => {});
        throw e;
      }
      await fs.rename(tmp, final);
      return changed;
    }
  }
  await fs.unlink(tmp);
  return changed;
}

/** Writes objects as loose files; an object already present is skipped. */
export async function writeLooseObjects(
  objectsDir: string,
  objects: readonly GitObject[],
  opts: LooseWriteOptions,
): Promise<void> {
  const fs = opts.fs ?? asyncFs;
  const dirs = await Promise.all(objects.map((o) => writeOne(fs, objectsDir, o, opts.fsync)));
  if (opts.fsync) {
    const unique = [...new Set(dirs.flat())];
    await Promise.all(unique.map((d) => fsyncDir(d, fs)));
  }
}
