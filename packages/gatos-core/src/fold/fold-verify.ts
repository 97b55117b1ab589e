/**
 * `fold verify`: re-derive every checkpoint of a state chain from history and check its proof, signature and
 * roots. On a state mismatch it names the first event from which the recomputed state departs from the claimed
 * one for good, the path where they differ, and both values.
 */
import { GatosError, isGatosError } from '../errors.js';
import type { Oid } from '../store/git-object.js';
import type { JsonValue } from '../proofs/in-toto.js';
import type { JournalEvent } from '../chain/event-commit.js';
import { checkEvent } from '../events/journal-verify.js';
import type { ObjectStore } from '../store/object-store.js';
import { verifyProofOfFold } from '../proofs/proof-of-fold.js';
import type { Checkpoint } from './checkpoint.js';
import { stateRoot } from './state-root.js';
import type { TrustSet } from '../trust/trust-registry.js';
import { INITIAL_STATE, foldEventView, foldEvents, pendingEvents, readCheckpoint } from './fold-runner.js';
import type { LoadedFold } from './interface.js';
import type { FoldValue } from './lua-value.js';

/** One problem found in one checkpoint. */
export interface FoldProblem {
  checkpoint: Oid;
  code: string;
  message: string;
  data?: Record<string, unknown>;
}

/** The result of verifying a state chain. */
export interface FoldVerifyReport {
  ok: boolean;
  head: Oid;
  checkpoints: { oid: Oid; stateRoot: string; events: number; ok: boolean }[];
  problems: FoldProblem[];
  /** Differences that do not fail verification but a reader must know (another engine or profile re-folded). */
  warnings: FoldProblem[];
}

/** The first path (as a list of keys) where two values differ, or null when equal. */
export function firstDifference(
  a: unknown,
  b: unknown,
  path: (string | number)[] = [],
): (string | number)[] | null {
  if (a === b) return null;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const d = firstDifference(a[i], b[i], [...path, i]);
      if (d) return d;
    }
    return null;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], [
        ...path,
        k,
      ]);
      if (d) return d;
    }
    return null;
  }
  return path;
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

/**
 * Re-folds event by event to find where the recomputed state departs for good from the claimed state at `path`:
 * the event after the last moment they agreed there.
 */
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

/** Options of {@link verifyFoldChain}. */
export interface FoldVerifyOptions {
  objects: ObjectStore;
  trust: TrustSet;
  head: Oid;
  loadFold: (source: string) => Promise<LoadedFold>;
  /** Only keys of these actors may sign proofs (the gate's engine list); default: any registered key. */
  engineActors?: readonly string[];
  /** The engine id re-folding; a checkpoint made by another engine is reported as a warning. */
  engine?: string;
  /** The fold limits re-folding uses; a checkpoint made under other limits is reported as a warning. */
  profile?: { fuel: number; memory_bytes: number };
}

/** Verifies every checkpoint from the first to `head`. */
export async function verifyFoldChain(opts: FoldVerifyOptions): Promise<FoldVerifyReport> {
  const { objects, trust } = opts;
  const chain = await objects.chain(opts.head);
  const report: FoldVerifyReport = { ok: true, head: opts.head, checkpoints: [], problems: [], warnings: [] };
  let prev: Checkpoint | null = null;
  for (const c of chain) {
    const problems: FoldProblem[] = [];
    const add = (e: unknown) => {
      if (!isGatosError(e)) throw e;
      problems.push({ checkpoint: c.oid, code: e.code, message: e.message, data: e.data });
    };
    let cp: Checkpoint | null = null;
    try {
      cp = await readCheckpoint(objects, c.oid);
      verifyProofOfFold(cp.envelopeBytes, trust, {}, opts.engineActors ? { actors: opts.engineActors } : {});
    } catch (e) {
      add(e);
    }
    if (cp && opts.engine !== undefined && cp.engine !== opts.engine) {
      report.warnings.push({
        checkpoint: c.oid,
        code: 'GATOS_E_PROOF_MISMATCH',
        message: `checkpoint was folded by ${cp.engine}; re-folded with ${opts.engine}`,
        data: { field: 'engine', expected: cp.engine, actual: opts.engine },
      });
    }
    const cpProfile = cp?.predicate.profile;
    if (
      cpProfile &&
      opts.profile &&
      (cpProfile.fuel !== opts.profile.fuel || cpProfile.memory_bytes !== opts.profile.memory_bytes)
    ) {
      report.warnings.push({
        checkpoint: c.oid,
        code: 'GATOS_E_PROOF_MISMATCH',
        message: `checkpoint was folded with fuel ${cpProfile.fuel}, memory ${cpProfile.memory_bytes}; re-folded with fuel ${opts.profile.fuel}, memory ${opts.profile.memory_bytes}`,
        data: { field: 'profile', expected: cpProfile, actual: opts.profile },
      });
    }
    if (cp && problems.length === 0) {
      try {
        await refoldCheckpoint(cp, prev, opts, add);
      } catch (e) {
        add(e);
      }
    }
    report.checkpoints.push({
      oid: c.oid,
      stateRoot: cp?.stateRoot ?? '',
      events: cp?.count ?? 0,
      ok: problems.length === 0,
    });
    report.problems.push(...problems);
    prev = cp;
  }
  report.ok = report.problems.length === 0;
  return report;
}

/** What {@link refoldCheckpoint} reads history with. */
export interface RefoldContext {
  objects: ObjectStore;
  trust: TrustSet;
  loadFold: (source: string) => Promise<LoadedFold>;
}

/**
 * Re-derives one checkpoint from its parent (`spec/proof-of-fold.md` § 8.3): checks the `prev_state_root` link, every
 * folded event, the journal counts and `event_range`, re-runs the fold and compares the state root. Every problem
 * is passed to `add`; structural failures throw.
 */
export async function refoldCheckpoint(
  cp: Checkpoint,
  prev: Checkpoint | null,
  opts: RefoldContext,
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
  const parents = new Map<string, Oid | null>();
  for (const j of p.journals) parents.set(j.actor, from.get(j.actor)?.head ?? null);
  const byActor = new Map<string, JournalEvent[]>();
  for (const e of events) {
    const list = byActor.get(e.envelope.actor);
    if (list) list.push(e);
    else byActor.set(e.envelope.actor, [e]);
  }
  for (const [actor, list] of byActor) {
    let parent = parents.get(actor) ?? null;
    list.forEach((e, i) => {
      for (const prob of checkEvent(e, (from.get(actor)?.events ?? 0) + i, parent, opts.trust)) {
        const code = prob.code as 'GATOS_E_SIG_INVALID';
        add(
          new GatosError(code, `event ${e.cid} (${actor} #${prob.index}): ${prob.message}`, {
            data: { event: e.cid, commit: e.commit },
          }),
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
        data: {
          field: 'event_range',
          expected: p.event_range,
          actual: { count: events.length, first: events[0]?.cid ?? null },
        },
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
              history_value: at(state, path) ?? null,
              checkpoint_value: at(cp.state, path) ?? null,
            },
          },
        ),
      );
    }
  } finally {
    fold.unload();
  }
}
