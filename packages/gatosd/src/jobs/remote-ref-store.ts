/**
 * A {@link RefStore} whose compare-and-swap is a leased push to a shared repository: the core's job operations
 * (claim, heartbeat, release, complete) then coordinate across machines with no code of their own for it.
 * Reads come from the local clone (as last fetched); a lost race refreshes the ref from the remote, so the
 * core's re-read after a failed swap sees the winner.
 */
import type { Oid, RefEntry, RefStore, RefUpdate } from '@gatos/core';
import { type Repository, runGit } from '@gatos/git';
import { pushWithLease } from './remote.js';

/** Options of {@link createRemoteRefStore}. */
export interface RemoteRefStoreInit {
  repo: Repository;
  /** The local clone's refs (the mirror). */
  local: RefStore;
  /** The shared repository: a path, URL or remote name. */
  remote: string;
}

/** Counters of a remote ref store, for `--json` reports and benchmarks. */
export interface RemoteRefStats {
  pushes: number;
  lostRaces: number;
}

/** Sets a local ref to exactly `next` (null: deletes), whatever it names now: the remote is the authority. */
async function mirror(repo: Repository, ref: string, next: Oid | null): Promise<void> {
  const args = next === null ? ['update-ref', '-d', ref] : ['update-ref', ref, next];
  await runGit(repo, args);
}

/**
 * Re-reads one ref from the remote into the local mirror (objects included); absent there → deleted here.
 * `git fetch` of an exact ref fails when the ref is absent, so the absence is asked with `ls-remote` first.
 */
export async function refreshRef(repo: Repository, remote: string, ref: string): Promise<Oid | null> {
  const ls = (await runGit(repo, ['ls-remote', remote, ref])).toString('utf8');
  const line = ls.split('\n').find((l) => l.endsWith(`\t${ref}`));
  const oid = line ? (line.split('\t')[0] as Oid) : null;
  if (oid === null) {
    await mirror(repo, ref, null);
    return null;
  }
  await runGit(repo, ['fetch', '--no-tags', '--no-write-fetch-head', '--quiet', remote, `+${ref}:${ref}`]);
  return oid;
}

/** A ref store that reads the local mirror and swaps on the remote (then mirrors the swap locally). */
export function createRemoteRefStore(init: RemoteRefStoreInit): RefStore & { stats: RemoteRefStats } {
  const stats: RemoteRefStats = { pushes: 0, lostRaces: 0 };
  return {
    stats,
    read: (ref: string) => init.local.read(ref),
    list: (prefix: string): Promise<RefEntry[]> => init.local.list(prefix),
    async cas(u: RefUpdate): Promise<boolean> {
      if (u.next === null) {
        // Deletion is not part of the job protocol (claims and results are kept); refuse rather than guess.
        throw new Error(`remote ref store: deleting ${u.ref} is not supported`);
      }
      stats.pushes++;
      const r = await pushWithLease(init.repo, init.remote, [{ ref: u.ref, expect: u.expect, next: u.next }]);
      if (r.ok) {
        await mirror(init.repo, u.ref, u.next);
        return true;
      }
      stats.lostRaces++;
      await refreshRef(init.repo, init.remote, u.ref);
      return false;
    },
  };
}
