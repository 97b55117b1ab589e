/**
 * A {@link RefStore} whose compare-and-swap is a leased push to a shared repository: the core's job operations
 * (claim, heartbeat, release, complete) then coordinate across machines with no code of their own for it.
 * Reads come from the local clone (as last fetched); a lost race refreshes the ref from the remote, so the
 * core's re-read after a failed swap sees the winner.
 */
import { GatosError, type Oid, type RefEntry, type RefStore, type RefUpdate } from '@gatos/core';
import type { Repository } from './repository.js';
import { runGit } from './run-git.js';
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

/** Sets local refs to exactly the given values (null: deleted), in one transaction: the remote is the authority. */
async function mirror(repo: Repository, refs: readonly { ref: string; oid: Oid | null }[]): Promise<void> {
  if (refs.length === 0) return;
  const input = refs
    .map((r) => (r.oid === null ? `delete ${r.ref}\n` : `update ${r.ref} ${r.oid}\n`))
    .join('');
  await runGit(repo, ['update-ref', '--stdin'], { input });
}

/**
 * Re-reads refs from the remote into the local mirror (objects included); absent there → deleted here.
 * `git fetch` of an exact ref fails when the ref is absent, so presence is asked with `ls-remote` first.
 */
export async function refreshRefs(
  repo: Repository,
  remote: string,
  refs: readonly string[],
): Promise<Map<string, Oid | null>> {
  const ls = (await runGit(repo, ['ls-remote', remote, ...refs])).toString('utf8');
  const found = new Map<string, Oid | null>(refs.map((r) => [r, null]));
  for (const line of ls.split('\n')) {
    const [oid, ref] = line.split('\t');
    if (oid && ref && found.has(ref)) found.set(ref, oid as Oid);
  }
  const present = [...found].filter(([, oid]) => oid !== null).map(([ref]) => `+${ref}:${ref}`);
  if (present.length) {
    await runGit(repo, ['fetch', '--no-tags', '--no-write-fetch-head', '--quiet', remote, ...present]);
  }
  await mirror(
    repo,
    [...found].filter(([, oid]) => oid === null).map(([ref]) => ({ ref, oid: null })),
  );
  return found;
}

/** A ref store that reads the local mirror and swaps on the remote (then mirrors the swap locally). */
export function createRemoteRefStore(init: RemoteRefStoreInit): RefStore & { stats: RemoteRefStats } {
  const stats: RemoteRefStats = { pushes: 0, lostRaces: 0 };
  return {
    stats,
    read: (ref: string) => init.local.read(ref),
    list: (prefix: string): Promise<RefEntry[]> => init.local.list(prefix),
    cas: (u: RefUpdate) => casAll([u]),
    casAll,
  };

  async function casAll(updates: readonly RefUpdate[]): Promise<boolean> {
    const leased = updates.map((u) => {
      if (u.next === null) {
        // Deletion is not part of the job protocol (claims and results are kept); refuse rather than guess.
        throw new GatosError('GATOS_E_INTERNAL', `remote ref store: deleting ${u.ref} is not supported`);
      }
      return { ref: u.ref, expect: u.expect, next: u.next };
    });
    stats.pushes++;
    const r = await pushWithLease(init.repo, init.remote, leased);
    // "Up to date" skipped the lease: a success only when the ref was expected to name that value already.
    const skipped = new Set(r.ok ? (r.upToDate ?? []) : []);
    if (r.ok && leased.every((u) => !skipped.has(u.ref) || u.expect === u.next)) {
      await mirror(
        init.repo,
        leased.map((u) => ({ ref: u.ref, oid: u.next })),
      );
      return true;
    }
    stats.lostRaces++;
    await refreshRefs(
      init.repo,
      init.remote,
      leased.map((u) => u.ref),
    );
    return false;
  }
}
