/**
 * One writer per repository: `gatosd.lock` in the git dir, created atomically (link, like O_EXCL) and holding the owner's pid. A lock
 * whose pid is no longer alive (the daemon was killed) is stale and taken over.
 */
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { GatosError } from '@gatos/core';

/** A held lock. */
export interface DaemonLock {
  readonly path: string;
  /** True when a stale lock (dead pid) was taken over. */
  readonly tookOver: boolean;
  release(): void;
}

/** The lock file's name inside the git dir. */
export const LOCK_FILE = 'gatosd.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(path: string): { pid: number } | null {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as { pid?: unknown };
    return typeof v.pid === 'number' ? { pid: v.pid } : { pid: -1 };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return { pid: -1 }; // Unreadable (never torn: written whole before linking): stale.
  }
}

/** Takes the repository lock or throws `GATOS_E_DAEMON_LOCKED`. */
export function acquireLock(gitDir: string, pid = process.pid): DaemonLock {
  const path = join(gitDir, LOCK_FILE);
  let tookOver = false;
  for (let attempt = 0; attempt < 5; attempt++) {
    // Write the whole content to a private file, then link it into place: link fails if the lock exists
    // (like O_EXCL), and a reader never sees a half-written lock.
    const tmp = `${path}.${pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ pid, host: hostname(), started: new Date().toISOString() })}\n`);
    try {
      linkSync(tmp, path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = readOwner(path);
      if (owner === null) continue; // Released meanwhile: try again.
      if (owner.pid > 0 && alive(owner.pid)) {
        throw new GatosError(
          'GATOS_E_DAEMON_LOCKED',
          `another gatosd (pid ${owner.pid}) serves this repository`,
          {
            data: { path, pid: owner.pid },
            hint: `Stop that daemon first; if it is gone, remove ${path}.`,
          },
        );
      }
      // Stale: move it aside (atomic; one taker wins the rename), then create ours.
      const aside = `${path}.stale-${pid}`;
      try {
        renameSync(path, aside);
        unlinkSync(aside);
        tookOver = true;
      } catch {
        /* another taker moved it first */
      }
      continue;
    } finally {
      unlinkSync(tmp);
    }
    let released = false;
    return {
      path,
      tookOver,
      release() {
        if (released) return;
        released = true;
        if (readOwner(path)?.pid === pid) unlinkSync(path);
      },
    };
  }
  throw new GatosError('GATOS_E_DAEMON_LOCKED', `could not take ${path}`, { data: { path } });
}
