/**
 * git's lockfile protocol in TypeScript: `<path>.lock` created with O_CREAT|O_EXCL, written, renamed over
 * `<path>`. Because git takes the very same lock files, our writers and git's exclude each other.
 *
 * git never breaks a lock, so a writer killed with SIGKILL while holding one blocks that path forever. We
 * break a lock whose mtime is older than `staleMs` (a live holder keeps a lock for milliseconds). Breaking
 * renames the lock aside to a unique `*.lock` name (git ignores such files) and deletes it, so of several
 * breakers exactly one succeeds, and it checks that it moved the very file it judged stale.
 *
 * Residual race (documented, not closed): a holder that stalls for more than `staleMs` between creating its
 * lock and renaming it (e.g. a stopped process) can have its lock broken and taken by a new writer. Before
 * renaming, the holder re-checks that the lock path still is its own inode, which narrows the window to the
 * instant between that check and its rename; inside that instant, its rename could publish the new writer's
 * lock file. With the 30 s default no real writer stalls that long mid-update.
 */
import { dirname } from 'node:path';
import { GatosError } from '@gatos/core';
import { asyncFs, type FsOps } from './fs-ops.js';
import { errCode, sleep, uniqueSuffix } from './fs-util.js';

/** Options of {@link acquireLock}. */
export interface LockOptions {
  /** Give up (throwing `GATOS_E_REF_LOCKED`) once the lock stayed held this long. */
  timeoutMs: number;
  /** A lock older than this is considered left behind by a dead process and broken. */
  staleMs: number;
  /** How the files are touched ({@link asyncFs} unless given). */
  fs?: FsOps;
}

/** The lock's directory cannot exist because a file is in the way (git's directory/file conflict). */
export class LockPathConflict extends Error {
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    super(`a file is in the way of ${path}`, { cause });
    this.name = 'LockPathConflict';
  }
}

/** Our lock was broken by another process (we held it past `staleMs`); nothing of ours was published. */
export class LockLost extends Error {
  constructor(readonly path: string) {
    super(`lock ${path} was broken while held`);
    this.name = 'LockLost';
  }
}

async function inodeOf(fs: FsOps, path: string): Promise<{ dev: bigint; ino: bigint } | null> {
  try {
    const st = await fs.stat(path);
    return { dev: st.dev, ino: st.ino };
  } catch (e) {
    if (errCode(e) === 'ENOENT') return null;
    throw e;
  }
}

/** A held lock file. Exactly one of {@link commit} / {@link rollback} ends it. */
export class LockFile {
  readonly path: string;
  readonly #fs: FsOps;
  readonly #fd: number;
  readonly #dev: bigint;
  readonly #ino: bigint;
  #done = false;

  constructor(path: string, fs: FsOps, fd: number, dev: bigint, ino: bigint) {
    this.path = path;
    this.#fs = fs;
    this.#fd = fd;
    this.#dev = dev;
    this.#ino = ino;
  }

  async #stillOurs(): Promise<boolean> {
    const id = await inodeOf(this.#fs, this.path);
    return id !== null && id.ino === this.#ino && id.dev === this.#dev;
  }

  /**
   * Writes `content` to the lock and renames it over `target`. Throws {@link LockLost} when the lock was broken
   * meanwhile (the caller may retry from the start), {@link LockPathConflict} when `target` is a non-empty dir.
   */
  async commit(target: string, content: string, fsync: boolean): Promise<void> {
    if (this.#done) throw new Error('lock already released');
    this.#done = true;
    const fs = this.#fs;
    try {
      await fs.writeAll(this.#fd, content);
      if (fsync) await fs.fsync(this.#fd);
    } catch (e) {
      await fs.close(this.#fd).catch(() => {});
      if (await this.#stillOurs()) await fs.unlink(this.path).catch(() => {});
      throw e;
    }
    await fs.close(this.#fd);
    if (!(await this.#stillOurs())) throw new LockLost(this.path);
    try {
      await fs.rename(this.path, target);
    } catch (e) {
      const c = errCode(e);
      if (c === 'ENOENT') throw new LockLost(this.path);
      if (c !== 'EISDIR' && c !== 'ENOTEMPTY' && c !== 'EEXIST') {
        await fs.unlink(this.path).catch(() => {});
        throw e;
      }
      // An empty directory left where the file goes (git removes those too); a non-empty one is a conflict.
      try {
        await fs.rmdir(target);
        await fs.rename(this.path, target);
      } catch (e2) {
        await fs.unlink(this.path).catch(() => {});
        throw new LockPathConflict(target, e2);
      }
    }
  }

  /** Releases the lock without publishing anything. Safe to call after {@link commit} (no-op). */
  async rollback(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    await this.#fs.close(this.#fd);
    // Never delete a lock that is no longer ours (it was broken and re-taken by someone else).
    if (await this.#stillOurs()) await this.#fs.unlink(this.path).catch(() => {});
  }
}

/**
 * Breaks `lockPath` if its mtime is older than `staleMs`. Resolves true when the caller should retry at once
 * (the lock was broken or vanished), false when it is held by someone alive.
 */
export async function breakStaleLock(
  lockPath: string,
  staleMs: number,
  fs: FsOps = asyncFs,
): Promise<boolean> {
  let st: Awaited<ReturnType<FsOps['stat']>>;
  try {
    st = await fs.stat(lockPath);
  } catch (e) {
    if (errCode(e) === 'ENOENT') return true;
    throw e;
  }
  if (Date.now() - Number(st.mtimeMs) < staleMs) return false;
  // Ends with `.lock`, so git (and our ref listing) ignores it if we die before deleting it.
  const aside = `${lockPath}.stale-${uniqueSuffix()}.lock`;
  try {
    await fs.rename(lockPath, aside);
  } catch (e) {
    if (errCode(e) === 'ENOENT') return true; // Another breaker, or the holder finished.
    throw e;
  }
  const moved = await inodeOf(fs, aside);
  if (moved && (moved.ino !== st.ino || moved.dev !== st.dev)) {
    // Between our stat and rename the stale lock was replaced by a live one: give that one back. `link` fails
    // if yet another lock took the name meanwhile; its holder then sees LockLost and retries.
    await fs.link(aside, lockPath).catch(() => {});
  }
  await fs.unlink(aside).catch(() => {});
  return true;
}

/** Backoff before retrying a held lock: exponential from 1 ms, capped, jittered so racers spread out. */
function backoff(attempt: number): number {
  const base = Math.min(2 ** attempt, 32);
  return base * (0.5 + Math.random());
}

/** Takes `lockPath` (creating parent directories), retrying with backoff and breaking stale locks. */
export async function acquireLock(lockPath: string, opts: LockOptions): Promise<LockFile> {
  const fs = opts.fs ?? asyncFs;
  const deadline = Date.now() + opts.timeoutMs;
  let attempt = 0;
  for (;;) {
    let fd: number;
    try {
      fd = await fs.open(lockPath, 'wx', 0o666);
    } catch (e) {
      const c = errCode(e);
      if (c === 'ENOENT') {
        try {
          await fs.mkdirp(dirname(lockPath));
        } catch (e2) {
          const c2 = errCode(e2);
          if (c2 === 'ENOTDIR' || c2 === 'EEXIST') throw new LockPathConflict(lockPath, e2);
          throw e2;
        }
        continue;
      }
      if (c === 'ENOTDIR') throw new LockPathConflict(lockPath, e);
      if (c !== 'EEXIST') throw e;
      if (await breakStaleLock(lockPath, opts.staleMs, fs)) continue;
      if (Date.now() >= deadline) {
        throw new GatosError('GATOS_E_REF_LOCKED', `${lockPath} is held by another writer`, {
          data: { lock: lockPath, timeoutMs: opts.timeoutMs },
          hint: 'If no git or GATOS process is running, the lock is left over from a crash; it is broken automatically once older than GATOS_STALE_LOCK_MS.',
        });
      }
      await sleep(backoff(attempt++));
      continue;
    }
    try {
      const st = await fs.fstat(fd);
      return new LockFile(lockPath, fs, fd, st.dev, st.ino);
    } catch (e) {
      await fs.close(fd);
      await fs.unlink(lockPath).catch(() => {});
      throw e;
    }
  }
}
