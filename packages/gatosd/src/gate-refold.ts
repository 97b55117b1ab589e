/**
 * Re-folding pushed checkpoints at the push-gate (`spec/push-gate.md` § 2.4): in a repository whose profile sets
 * `gate_refold` (the `research` profile), every new checkpoint of a state push is re-derived from history, from
 * the checkpoint the ref held before the push to the pushed one, exactly as `fold verify` does
 * (`spec/proof-of-fold.md` § 8.3), and refused when the recomputed state differs from the claimed one.
 */
import {
  type Checkpoint,
  CONFIG_REF,
  checkEvent,
  createEchoLua,
  firstDifference,
  foldEvents,
  foldEventView,
  GatosError,
  INITIAL_STATE,
  type JournalEvent,
  type JsonValue,
  type LoadedFold,
  type ObjectStore,
  type Oid,
  pendingEvents,
  type RefStore,
  type RepoConfig,
  readRepoConfig,
  stateRoot,
  type TrustSet,
} from '@gatos/core';
import type { FoldValue } from '@gatos/core';

/** One problem found while re-folding one pushed checkpoint. */
export interface RefoldProblem {
  checkpoint: Oid;
  code: string;
  message: string;
  data?: Record<string, unknown>;
}

/** Loads fold sources into an engine with the profile's limits; `close` frees it. */
export interface GateFoldEngine {
  loadFold: (source: string) => Promise<LoadedFold>;
  close: () => void;
}

/** Starts an EchoLua engine with the limits of `config` (the repository profile). */
export async function openGateFoldEngine(config: RepoConfig): Promise<GateFoldEngine> {
  const vm = await createEchoLua({ fuel: config.fold.fuel, memoryBytes: config.fold.memory_bytes });
  return { loadFold: (source) => vm.loadFold(source, 'fold'), close: () => vm.close() };
}

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
    pushed = await readRepoConfig(objects, {
      read: async (ref) => (ref === CONFIG_REF ? pushedConfig : refs.read(ref)),
      cas: async () => {
        throw new GatosError('GATOS_E_INTERNAL', 'the push-gate never writes through this view');
      },
      list: (prefix) => refs.list(prefix),
    });
  }
  const refold = current?.gate_refold === true || pushed?.gate_refold === true;
  // Limits: the current profile's (what the repository agreed on), else the pushed one's.
  return { config: current ?? pushed, refold };
}

function at(v: unknown, path: readonly (string | number)[]): unknown {
  let cur = v;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return cur;
}

const same = (a: unknown, b: unknown) => firstDifference(a, b) === null;

/** The event after which the recomputed value at `path` never again equals the claimed one (as `fold verify`). */
async function locateDivergence(
  fold: LoadedFold,
  start: JsonValue,
  events: readonly JournalEvent[],
  claimed: JsonValue,
  path: (string | number)[],
): Promise<{ index: number; event: JournalEvent | undefined }> {
  const want = at(claimed, path);
  let state = start as FoldValue;
  let lastAgree = same(at(state, path), want) ? -1 : -2;
  for (let i = 0; i < events.length; i++) {
    state = (await fold.run(state, [foldEventView(events[i]!)])).state;
    if (same(at(state, path), want)) lastAgree = i;
  }
  const index = lastAgree === -2 ? 0 : lastAgree + 1;
  return { index, event: events[index] };
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
      await refoldOne(cp, prev, opts, add);
    } catch (e) {
      add(e);
    }
    if (problems.length > 0) return problems;
    prev = cp;
  }
  return [];
}

async function refoldOne(
  cp: Checkpoint,
  prev: Checkpoint | null,
  opts: RefoldOptions,
  add: (e: unknown) => void,
): Promise<void> {
  const p = cp.predicate;
  const incremental = p.prev_state_root !== null;
  if (incremental && (!prev || prev.stateRoot !== p.prev_state_root)) {
    throw new GatosError('GATOS_E_PROOF_MISMATCH', 'prev_state_root does not match the parent checkpoint', {
      data: { field: 'prev_state_root', expected: prev?.stateRoot ?? null, actual: p.prev_state_root },
    });
  }
  const from = new Map<string, { head: Oid; events: number }>();
  if (incremental && prev)
    for (const j of prev.predicate.journals) from.set(j.actor, { head: j.head, events: j.events });
  const { events, journals } = await pendingEvents(opts.objects, p.ns, from, p.journals);
  // Every folded event must be a valid, signed event of its journal at its position.
  const byActor = new Map<string, JournalEvent[]>();
  for (const e of events) byActor.set(e.envelope.actor, [...(byActor.get(e.envelope.actor) ?? []), e]);
  for (const [actor, list] of byActor) {
    let parent = from.get(actor)?.head ?? null;
    list.forEach((e, i) => {
      for (const prob of checkEvent(e, (from.get(actor)?.events ?? 0) + i, parent, opts.trust)) {
        add(
          new GatosError(
            prob.code as 'GATOS_E_SIG_INVALID',
            `event ${e.cid} (${actor} #${prob.index}): ${prob.message}`,
            {
              data: { event: e.cid, commit: e.commit },
            },
          ),
        );
      }
      parent = e.commit;
    });
  }
  const countMismatch = journals.find(
    (j) => p.journals.find((x) => x.actor === j.actor)?.events !== j.events,
  );
  if (countMismatch) {
    add(
      new GatosError('GATOS_E_PROOF_MISMATCH', `journal ${countMismatch.actor}: event count differs`, {
        data: { field: 'journals', actor: countMismatch.actor },
      }),
    );
  }
  if (p.event_range.count !== events.length || (events[0]?.cid ?? null) !== p.event_range.first) {
    add(
      new GatosError('GATOS_E_PROOF_MISMATCH', 'event_range does not match the events between the heads', {
        data: { field: 'event_range' },
      }),
    );
  }
  const start = incremental && prev ? prev.state : INITIAL_STATE;
  const fold = await opts.loadFold(cp.foldSource);
  try {
    const { state } = await foldEvents(fold, start, events);
    const root = stateRoot(state);
    if (root !== cp.stateRoot) {
      const path = firstDifference(cp.state, state) ?? [];
      const { index, event } = await locateDivergence(fold, start, events, cp.state, path);
      const where = event
        ? `event #${index} (${event.envelope.actor} ${event.envelope.type} ${event.cid})`
        : 'the initial state';
      add(
        new GatosError(
          'GATOS_E_FOLD_DIVERGED',
          `re-folding gives state ${root}, the checkpoint claims ${cp.stateRoot}; first diverges at ${where}, ` +
            `path ${JSON.stringify(path)}: history gives ${JSON.stringify(at(state, path))}, checkpoint has ${JSON.stringify(at(cp.state, path))}`,
          {
            data: {
              recomputed: root,
              claimed: cp.stateRoot,
              event_index: index,
              event: event?.cid ?? null,
              path,
            },
          },
        ),
      );
    }
  } finally {
    fold.unload();
  }
}
