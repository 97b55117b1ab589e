/**
 * Job files on disk: writing program and input files into a directory, and collecting a run's outputs back,
 * both confined to that directory (no path escapes, no symlinks followed, only regular files).
 */
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GatosError, JOB_PATH_MAX_BYTES, JOB_PATH_RE, MAX_JOB_FILES, compareBytes } from '@gatos/core';

/** True when `p` is a valid job path (spec § 2): the core's syntax, byte limit, and no `.`/`..` segment. */
export function isJobPath(p: string): boolean {
  return (
    JOB_PATH_RE.test(p) &&
    Buffer.byteLength(p) <= JOB_PATH_MAX_BYTES &&
    p.split('/').every((s) => s !== '.' && s !== '..')
  );
}

/** Bytewise order of job paths, as the core sorts them. */
export const compareJobPaths = compareBytes;

/**
 * Writes `files` under `dir` (created if missing). Every path must be a valid job path; files are created
 * exclusively, so an existing file or a symlink planted in `dir` is never written through.
 */
export async function materialize(dir: string, files: ReadonlyMap<string, Uint8Array>): Promise<void> {
  if (files.size > MAX_JOB_FILES) {
    throw new GatosError('GATOS_E_JOB_MANIFEST', `too many files (${files.size} > ${MAX_JOB_FILES})`, {
      data: { dir, count: files.size },
    });
  }
  for (const p of files.keys()) {
    if (!isJobPath(p)) {
      throw new GatosError('GATOS_E_JOB_MANIFEST', `invalid job file path ${JSON.stringify(p)}`, {
        data: { dir, path: p },
        hint: 'Paths are relative, `/`-separated segments of [A-Za-z0-9._-], no `.` or `..`, at most 255 bytes.',
      });
    }
  }
  await mkdir(dir, { recursive: true });
  for (const [p, bytes] of [...files].sort(([a], [b]) => compareJobPaths(a, b))) {
    const segs = p.split('/');
    if (segs.length > 1) await mkdir(join(dir, ...segs.slice(0, -1)), { recursive: true });
    try {
      await writeFile(join(dir, ...segs), bytes, { flag: 'wx', mode: 0o644 });
    } catch (e) {
      throw new GatosError('GATOS_E_JOB_MANIFEST', `cannot write job file ${p}: ${(e as Error).message}`, {
        cause: e,
        data: { dir, path: p },
        hint: 'Two paths clash (a file and a directory of the same name, or a duplicate).',
      });
    }
  }
}

/** A refused entry in an outputs directory. */
export class OutputRefused extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`output ${JSON.stringify(path)} refused: ${reason}`);
  }
}

/** Relative paths and sizes of the regular files under `dir`, sorted bytewise; throws {@link OutputRefused}. */
export async function listOutputs(dir: string): Promise<{ path: string; size: number }[]> {
  const found: { path: string; size: number }[] = [];
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(rel === '' ? dir : join(dir, rel))).sort(compareJobPaths);
    for (const name of names) {
      const p = rel === '' ? name : `${rel}/${name}`;
      const st = await lstat(join(dir, p));
      if (st.isDirectory()) await walk(p);
      else if (!st.isFile())
        throw new OutputRefused(p, 'not a regular file (symlink, device, fifo or socket)');
      else if (!isJobPath(p)) throw new OutputRefused(p, 'not a valid job path');
      else {
        found.push({ path: p, size: st.size });
        if (found.length > MAX_JOB_FILES)
          throw new OutputRefused(p, `more than ${MAX_JOB_FILES} output files`);
      }
    }
  };
  await walk('');
  return found.sort((a, b) => compareJobPaths(a.path, b.path));
}

/** Reads the outputs listed by {@link listOutputs}, re-checking each is still a regular file. */
export async function readOutputs(
  dir: string,
  list: readonly { path: string }[],
): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const { path } of list) {
    const full = join(dir, ...path.split('/'));
    // O_NOFOLLOW + fstat: the entry cannot be swapped for a symlink between the listing and the read.
    const fh = await open(full, constants.O_RDONLY | constants.O_NOFOLLOW).catch((e: unknown) => {
      throw new OutputRefused(path, (e as Error).message);
    });
    try {
      if (!(await fh.stat()).isFile()) throw new OutputRefused(path, 'not a regular file');
      out.set(path, await fh.readFile());
    } finally {
      await fh.close();
    }
  }
  return out;
}
