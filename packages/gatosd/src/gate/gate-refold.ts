/**
 * Re-folding pushed checkpoints at the push-gate (`spec/push-gate.md` § 2.4): in a repository whose profile sets
 * `gate_refold` (the `research` profile), every new checkpoint of a state push is re-derived from history, from
 * the checkpoint the ref held before the push to the pushed one, exactly as `fold verify` does
 * (`spec/proof-of-fold.md` § 8.3), and refused when the recomputed state differs from the claimed one.
 */
import {
  type Checkpoint,
  CONFIG_REF,
  type FoldEngine,
  readOnlyRefView,
  GatosError,
  type LoadedFold,
  type ObjectStore,
  type Oid,
  type RefStore,
  type RepoConfig,
  readRepoConfig,
  refoldCheckpoint,
  type TrustSet,
} from '@gatos/core';

/** One problem found while re-folding one pushed checkpoint. */
export interface RefoldProblem {
  checkpoint: Oid;
  code: string;
  message: string;
  data?: Record<string, unknown>;
}

/** Loads fold sources into an engine with the profile's limits; `close` frees it (core's `FoldEngine`). */
export type GateFoldEngine = Pick<FoldEngine, 'loadFold' | 'close'>;

/**
 * The profile that governs a push: the current `refs/gatos/config`, and the pushed one when the push updates it.
 * Re-folding is required when EITHER asks for it (a push cannot switch re-folding off for itself).
 */
export async function gateProfile(
  objects: ObjectStore,
  refs: RefStore,
  pushedConfig: Oid | null | undefined,
): Promise<{ config: RepoConfig | null; refold: boolean }> {
  const current = await readRepoConfig(objects, refs);
  let pushed: RepoConfig | null = null;
  if (pushedConfig) {
    pushed = await readRepoConfig(objects, readOnlyRefView(refs, new Map([[CONFIG_REF, pushedConfig]])));
  }
  const refold = current?.gate_refold === true || pushed?.gate_refold === true;
  // Limits: the current profile's (what the repository agreed on), else the pushed one's.
  return { config: current ?? pushed, refold };
}

/** Options of {@link refoldPushedCheckpoints}. */
export interface RefoldOptions {
  objects: ObjectStore;
  trust: TrustSet;
  /** The checkpoint the state ref held before the push (null on creation). */
  old: Checkpoint | null;
  /** The pushed checkpoints, oldest first (already read and proof-checked). */
  checkpoints: readonly Checkpoint[];
  loadFold: (source: string) => Promise<LoadedFold>;
}

/**
 * Re-folds each pushed checkpoint on top of its parent (the old ref value's checkpoint for the first one), with
 * the journals as they are visible to the gate (pushed or present). Returns the problems of the first checkpoint
 * that has any (empty when every pushed checkpoint is reproduced).
 */
export async function refoldPushedCheckpoints(opts: RefoldOptions): Promise<RefoldProblem[]> {
  let prev = opts.old;
  for (const cp of opts.checkpoints) {
    const problems: RefoldProblem[] = [];
    const add = (e: unknown) => {
      if (!(e instanceof GatosError)) throw e;
      problems.push({ checkpoint: cp.oid, code: e.code, message: e.message, data: e.data });
    };
    try {
      await refoldCheckpoint(cp, prev, opts, add);
    } catch (e) {
      add(e);
    }
    if (problems.length > 0) return problems;
    prev = cp;
  }
  return [];
}
