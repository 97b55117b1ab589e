/**
 * Small filesystem helpers shared by the object and ref writers.
 */
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';

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
export async function fsyncDir(dir: string): Promise<void> {
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (e) {
    const c = errCode(e);
    if (c !== 'EINVAL' && c !== 'EISDIR' && c !== 'EPERM' && c !== 'EBADF') throw e;
  } finally {
    await fh?.close();
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
