/**
 * Small filesystem helpers shared by the object and ref writers.
 */
import { randomBytes } from 'node:crypto';
import { asyncFs, type FsOps } from './fs-ops.js';

/** A short random suffix for temporary names (collision-free across processes in practice). */
export function uniqueSuffix(): string {
  return `${process.pid.toString(36)}${randomBytes(6).toString('hex')}`;
}

/** The errno code of an error, if any. */
export function errCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null ? (e as { code?: string }).code : undefined;
}

/**
 * Fsyncs a directory so a rename or link inside it survives a power cut. Filesystems that refuse to fsync a
 * directory (EINVAL/EISDIR/EPERM on some platforms) are tolerated: there is nothing better to do there.
 */
export async function fsyncDir(dir: string, fs: FsOps = asyncFs): Promise<void> {
  let fd: number | undefined;
  try {
    fd = await fs.open(dir, 'r');
    await fs.fsync(fd);
  } catch (e) {
    const c = errCode(e);
    if (c !== 'EINVAL' && c !== 'EISDIR' && c !== 'EPERM' && c !== 'EBADF') throw e;
  } finally {
    if (fd !== undefined) await fs.close(fd);
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
