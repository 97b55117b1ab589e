/**
 * The `RefStore` over a real repository: compare-and-swap through git's own lockfile protocol, reads of loose
 * refs with a `packed-refs` fallback, and listings (in-process for a few refs, `git for-each-ref` for many).
 */
import type { Dirent } from 'node:fs';
import { join } from 'node:path';
import {
  GatosError,
  isGatosError,
  isOid,
  type Oid,
  type RefEntry,
  type RefStore,
  type RefUpdate,
  ZERO_OID,
} from '@gatos/core';
import { asyncFs, type FsOps, syncFs } from './fs-ops.js';
import { errCode, sleep } from './fs-util.js';
import { acquireLock, breakStaleLock, LockLost, LockPathConflict } from './lockfile.js';
import { PackedRefsCache, sortRefEntries } from './packed-refs.js';
import { checkRefName, checkRefPrefix, isValidRefName } from './ref-name.js';
import type { Repository } from './repository.js';
import { runGit } from './run-git.js';

/** Options of {@link createRefStore}. */
export interface RefStoreOptions {
  /** Fsync the new ref value before renaming it into place (true). */
  fsync?: boolean;
  /** How long `cas()` waits for a ref lock held by someone else before `GATOS_E_REF_LOCKED` (1000 ms). */
  lockTimeoutMs?: number;
  /** Locks older than this are broken as left over by a dead process (env `GATOS_STALE_LOCK_MS`, else 30 s). */
  staleLockMs?: number;
  /** Above this many loose refs under a prefix, `list()` delegates to `git for-each-ref` (64). */
  listSpawnThreshold?: number;
  /**
   * Touch files with synchronous calls (false). For a thread that only writes, such as gatosd's writer thread:
   * it saves a thread-pool round trip per file step, but blocks the calling thread meanwhile.
   */
  syncIo?: boolean;
}

/** The default age after which a ref lock is considered abandoned. */
export const DEFAULT_STALE_LOCK_MS = 30_000;

/** Above this many loose refs under a prefix, `list()` asks `git for-each-ref` instead of reading them. */
export const DEFAULT_LIST_SPAWN_THRESHOLD = 64;

/** Refs git keeps per worktree (in the git dir, never packed); everything else lives in the common dir. */
const PER_WORKTREE = /^refs\/(?:bisect|rewritten|worktree)\//;

function staleFromEnv(): number | undefined {
  const v = process.env.GATOS_STALE_LOCK_MS;
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function checkValue(v: unknown, what: string): asserts v is Oid | null {
  // The all-zero id is git's "absent" in some plumbing; here absence is spelled null, never zeros.
  if (v !== null && (!isOid(v) || v === ZERO_OID)) {
    throw new GatosError('GATOS_E_INTERNAL', `cas() ${what} must be an object id or null, got ${String(v)}`);
  }
}

function conflictError(ref: string, cause: unknown): GatosError {
  return new GatosError(
    'GATOS_E_REF_NAME',
    `ref ${ref} conflicts with an existing ref (directory/file clash)`,
    {
      data: { ref, reason: 'conflict' },
      cause,
      hint: '`refs/a/b` and `refs/a/b/c` cannot both exist.',
    },
  );
}

/** Parses a loose ref file; undefined for a symbolic ref, throws on garbage. */
function parseLoose(text: string, path: string): Oid | undefined {
  if (text.startsWith('ref:')) return undefined;
  const oid = text.slice(0, 40);
  const after = text.charCodeAt(40);
  // git accepts the id followed by end of file or whitespace.
  if (
    !isOid(oid) ||
    (text.length > 40 && after !== 0x0a && after !== 0x20 && after !== 0x09 && after !== 0x0d)
  ) {
    throw new GatosError('GATOS_E_GIT', `malformed ref file ${path}`, { data: { path } });
  }
  return oid;
}

class GitRefStore implements RefStore {
  readonly #repo: Repository;
  readonly #packed: PackedRefsCache;
  readonly #fsync: boolean;
  readonly #lockTimeoutMs: number;
  readonly #staleMs: number;
  readonly #listSpawnThreshold: number;
  readonly #fs: FsOps;

  constructor(repo: Repository, opts: RefStoreOptions) {
    this.#repo = repo;
    this.#fs = opts.syncIo ? syncFs : asyncFs;
    this.#packed = new PackedRefsCache(repo.commonDir, this.#fs);
    this.#fsync = opts.fsync ?? true;
    this.#lockTimeoutMs = opts.lockTimeoutMs ?? 1000;
    this.#staleMs = opts.staleLockMs ?? staleFromEnv() ?? DEFAULT_STALE_LOCK_MS;
    this.#listSpawnThreshold = opts.listSpawnThreshold ?? DEFAULT_LIST_SPAWN_THRESHOLD;
  }

  #path(ref: string): string {
    return join(PER_WORKTREE.test(ref) ? this.#repo.gitDir : this.#repo.commonDir, ref);
  }

  /** The loose value: an id, null when there is no loose file, throws for a symbolic ref. */
  async #readLoose(ref: string): Promise<Oid | null> {
    const path = this.#path(ref);
    let text: string;
    try {
      text = (await this.#fs.readFile(path)).toString('latin1');
    } catch (e) {
      const c = errCode(e);
      // EISDIR: `refs/a/b` is a directory of other refs; ENOTDIR: a parent is a ref file. Neither is this ref.
      if (c === 'ENOENT' || c === 'EISDIR' || c === 'ENOTDIR') return null;
      throw e;
    }
    const oid = parseLoose(text, path);
    if (oid === undefined) {
      throw new GatosError('GATOS_E_REF_NAME', `${ref} is a symbolic ref; GATOS refs never are`, {
        data: { ref, reason: 'symbolic' },
      });
    }
    return oid;
  }

  async read(ref: string): Promise<Oid | null> {
    checkRefName(ref);
    const loose = await this.#readLoose(ref);
    if (loose !== null) return loose;
    // A loose file is only ever removed after `packed-refs` already holds its value (pack-refs) or no longer
    // does (deletion), so reading packed-refs after a miss cannot resurrect a stale value.
    return (await this.#packed.get()).byName.get(ref) ?? null;
  }

  async cas(update: RefUpdate): Promise<boolean> {
    const { ref, expect, next } = update;
    checkRefName(ref);
    checkValue(expect, 'expect');
    checkValue(next, 'next');
    if (next === null) return this.#delete(ref, expect);
    const path = this.#path(ref);
    const deadline = Date.now() + this.#lockTimeoutMs;
    for (;;) {
      let lock: Awaited<ReturnType<typeof acquireLock>>;
      try {
        lock = await acquireLock(`${path}.lock`, {
          timeoutMs: Math.max(0, deadline - Date.now()),
          staleMs: this.#staleMs,
          fs: this.#fs,
        });
      } catch (e) {
        if (e instanceof LockPathConflict) throw conflictError(ref, e);
        throw e;
      }
      try {
        const current = await this.read(ref);
        if (current !== expect) return false;
        if (current === null) await this.#checkPackedConflict(ref);
        await lock.commit(path, `${next}\n`, this.#fsync);
        return true;
      } catch (e) {
        if (e instanceof LockPathConflict) throw conflictError(ref, e);
        if (e instanceof LockLost) {
          if (Date.now() < deadline) continue; // Nothing was published; start over under a fresh lock.
          throw new GatosError('GATOS_E_REF_LOCKED', `lost the lock on ${ref} to a stale-lock breaker`, {
            data: { ref },
            cause: e,
          });
        }
        throw e;
      } finally {
        await lock.rollback();
      }
    }
  }

  /** A new ref must not be a parent or a child of a packed one (loose clashes surface as fs errors). */
  async #checkPackedConflict(ref: string): Promise<void> {
    const packed = await this.#packed.get();
    if (packed.byName.size === 0) return;
    const parts = ref.split('/');
    for (let i = 2; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (packed.byName.has(parent)) throw conflictError(ref, `packed ref ${parent} exists`);
    }
    const dir = `${ref}/`;
    for (const e of packed.sorted) {
      if (e.ref.startsWith(dir)) throw conflictError(ref, `packed ref ${e.ref} exists`);
    }
  }

  /**
   * Deletion is delegated to `git update-ref -d <ref> <old>`: it must also rewrite `packed-refs` under its own
   * lock, which is git's business. A failed delete is classified by re-reading the ref.
   */
  async #delete(ref: string, expect: Oid | null): Promise<boolean> {
    if (expect === null) return (await this.read(ref)) === null;
    const deadline = Date.now() + this.#lockTimeoutMs;
    let attempt = 0;
    for (;;) {
      try {
        await runGit(this.#repo, ['update-ref', '--no-deref', '-d', ref, expect]);
        return true;
      } catch (e) {
        if (!isGatosError(e, 'GATOS_E_GIT')) throw e;
        if ((await this.read(ref)) !== expect) return false;
        const stderr = String(e.data.stderr ?? '');
        if (!/Unable to create '.*\.lock': File exists/.test(stderr)) throw e;
        if (await breakStaleLock(`${this.#path(ref)}.lock`, this.#staleMs, this.#fs)) continue;
        if (Date.now() >= deadline) {
          throw new GatosError('GATOS_E_REF_LOCKED', `${ref} stayed locked while deleting`, {
            data: { ref, stderr },
            cause: e,
          });
        }
        await sleep(Math.min(2 ** attempt++, 32) * (0.5 + Math.random()));
      }
    }
  }

  /**
   * Lists refs whose name starts with `prefix` (a plain string prefix: `refs/gatos/jour` matches
   * `refs/gatos/journal/x`). Symbolic and broken refs are skipped, as GATOS never writes them.
   *
   * Two paths, chosen by measurement (2 cores): reading a few loose refs in-process beats spawning a git
   * (~5–10 ms), but for many loose refs `git for-each-ref` is far faster (10k loose: ~130 ms vs ~600 ms with
   * async reads in Node). So the loose names are found with readdir (cheap), and above
   * `listSpawnThreshold` of them the listing is delegated to for-each-ref; both paths agree (tested).
   */
  async list(prefix: string): Promise<RefEntry[]> {
    checkRefPrefix(prefix);
    const base = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    const names: string[] = [];
    await this.#walk(base, prefix, names, this.#listSpawnThreshold);
    if (names.length > this.#listSpawnThreshold) return this.#listWithGit(base, prefix);
    const loose = new Map<string, Oid>();
    const values = await Promise.all(names.map((n) => this.#readLooseForList(n)));
    names.forEach((n, j) => {
      const v = values[j];
      if (v) loose.set(n, v);
    });
    // Read after the walk: a ref packed (and its loose file pruned) meanwhile is then found here.
    const packed = await this.#packed.get();
    const out: RefEntry[] = [];
    for (const e of packed.sorted) {
      if (e.ref.startsWith(prefix) && !loose.has(e.ref)) out.push(e);
    }
    for (const [ref, oid] of loose) out.push({ ref, oid });
    return sortRefEntries(out);
  }

  /** The listing through `git for-each-ref` (always with `--format`: its default reads every object). */
  async #listWithGit(base: string, prefix: string): Promise<RefEntry[]> {
    // `%(symref)` is empty for a plain ref, which leaves two spaces before the name.
    const out = await runGit(this.#repo, [
      'for-each-ref',
      '--format=%(objectname) %(symref) %(refname)',
      base,
    ]);
    const entries: RefEntry[] = [];
    for (const line of out.toString('utf8').split('\n')) {
      if (line.length < 43 || line.charCodeAt(41) !== 0x20) continue; // empty, or a symbolic ref
      const ref = line.slice(42);
      if (ref.startsWith(prefix)) entries.push({ ref, oid: line.slice(0, 40) });
    }
    // git sorts by strcmp already, which is our order.
    return entries;
  }

  async #readLooseForList(ref: string): Promise<Oid | null> {
    const path = this.#path(ref);
    try {
      return parseLoose((await this.#fs.readFile(path)).toString('latin1'), path) ?? null;
    } catch (e) {
      // Vanished since the walk (pruned into packed-refs, or deleted), or broken: git skips those too.
      if (errCode(e) === 'ENOENT' || isGatosError(e, 'GATOS_E_GIT')) return null;
      throw e;
    }
  }

  /** Collects loose ref names under `dir` matching `prefix`; stops early once there are more than `limit`. */
  async #walk(dir: string, prefix: string, out: string[], limit: number): Promise<void> {
    if (out.length > limit) return;
    let entries: Dirent[];
    try {
      entries = await this.#fs.readdir(join(this.#repo.commonDir, dir));
    } catch (e) {
      const c = errCode(e);
      if (c === 'ENOENT' || c === 'ENOTDIR') return;
      throw e;
    }
    const subdirs: string[] = [];
    for (const d of entries) {
      // Lock files, stale-lock leftovers and dot files are never refs.
      if (d.name.startsWith('.') || d.name.endsWith('.lock')) continue;
      const full = dir + d.name;
      if (d.isDirectory()) {
        const sub = `${full}/`;
        if (sub.startsWith(prefix) || prefix.startsWith(sub)) subdirs.push(sub);
      } else if (d.isFile() && full.startsWith(prefix) && isValidRefName(full)) {
        out.push(full);
        if (out.length > limit) return;
      }
    }
    await Promise.all(subdirs.map((s) => this.#walk(s, prefix, out, limit)));
  }
}

/** A `RefStore` over `repo`, interoperating with git's own ref locking. */
export function createRefStore(repo: Repository, opts: RefStoreOptions = {}): RefStore {
  return new GitRefStore(repo, opts);
}
