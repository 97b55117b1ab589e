/**
 * Folding a namespace into a checkpoint (`spec/proof-of-fold.md`, "Fold input"): the events between the previous
 * checkpoint's journal heads and the current heads, in namespace order, folded by EchoLua on top of the previous
 * state; the result is signed as a Proof-of-Fold and committed to `refs/gatos/state/<ns>` by compare-and-swap.
 *
 * A checkpoint's state is therefore a pure function of its parent checkpoint and the journal heads it names, so any
 * machine that fetched the same refs computes the same state root, proof bytes and commit id.
 */
import { type RetryOptions, casDone, casRetry, casWrite } from '../chain/cas-retry.js';
import type { DsseSigner } from '../proofs/dsse.js';
import { GatosError } from '../errors.js';
import { type Oid, parseCommit, parseTree } from '../store/git-object.js';
import type { JsonValue } from '../proofs/in-toto.js';
import type { JournalEvent } from '../chain/event-commit.js';
import { listJournals, readJournal } from '../events/journal.js';
import { mergeJournals } from '../events/namespace-order.js';
import type { ObjectStore } from '../store/object-store.js';
import { type Checkpoint, checkpointCommit, type CheckpointObjects, parseCheckpoint } from './checkpoint.js';
import { buildFoldStatement, type FoldJournal, foldRoot, signProofOfFold } from '../proofs/fold-statement.js';
import { journalRef, stateRef } from '../ref-layout.js';
import type { RefStore } from '../store/ref-store.js';
import { NO_POLICY_ROOT, type RepoConfig } from '../repo-config.js';
import { stateBytes, stateRootOfBytes } from './state-root.js';
import type { LoadedFold } from './interface.js';
import type { FoldValue } from './lua-value.js';

/** The state a namespace starts from before its first event. */
export const INITIAL_STATE: JsonValue = {};

/** Events cross into the VM this many at a time. */
export const FOLD_BATCH = 1024;

/** What a fold sees of one event (a Lua table with these fields). */
export function foldEventView(e: JournalEvent): FoldValue {
  return {
    type: e.envelope.type,
    actor: e.envelope.actor,
    ulid: e.envelope.ulid,
    ts: e.envelope.ts,
    cid: e.cid,
    caps: [...(e.envelope.caps ?? [])],
    payload: e.envelope.payload as FoldValue,
  };
}

/** Reads and structurally checks the checkpoint at `oid` (signatures are checked by `verifyProofOfFold`). */
export async function readCheckpoint(objects: ObjectStore, oid: Oid): Promise<Checkpoint> {
  const [c] = await objects.get([oid]);
  const commit = parseCommit(oid, c!.body);
  const [t] = await objects.get([commit.tree]);
  const entries = parseTree(commit.tree, t!.body);
  const blobs = await objects.get(entries.map((e) => e.oid));
  const files = new Map(entries.map((e, i) => [e.name, blobs[i]!.body]));
  return parseCheckpoint(commit, files);
}

/**
 * The events of a namespace between two sets of journal heads (`from`, per actor, exclusive; `to` inclusive), in
 * namespace order, and the journals as they stand at `to`.
 */
export async function pendingEvents(
  objects: ObjectStore,
  ns: string,
  from: ReadonlyMap<string, { head: Oid; events: number }>,
  to: readonly { actor: string; head: Oid }[],
): Promise<{ events: JournalEvent[]; journals: FoldJournal[] }> {
  const lists: JournalEvent[][] = [];
  const journals: FoldJournal[] = [];
  for (const j of to) {
    const prev = from.get(j.actor);
    let list: JournalEvent[] = [];
    if (prev?.head !== j.head) {
      try {
        list = await readJournal(objects, journalRef(ns, j.actor), j.head, prev?.head ?? null);
      } catch (e) {
        if (e instanceof GatosError && e.code === 'GATOS_E_CURSOR') {
          throw new GatosError(
            'GATOS_E_FOLD_HISTORY',
            `journal of ${j.actor} no longer contains the folded head`,
            {
              data: { actor: j.actor, folded: prev?.head, head: j.head },
              hint: 'Journals are append-only; a rewritten journal cannot be folded on top of its old checkpoint.',
            },
          );
        }
        throw e;
      }
    }
    lists.push(list);
    journals.push({ actor: j.actor, head: j.head, events: (prev?.events ?? 0) + list.length });
  }
  for (const actor of from.keys()) {
    if (!to.some((j) => j.actor === actor)) {
      throw new GatosError(
        'GATOS_E_FOLD_HISTORY',
        `journal of ${actor} disappeared since the last checkpoint`,
        {
          data: { actor },
        },
      );
    }
  }
  return { events: mergeJournals(lists), journals };
}

/** Folds `events` into `state` in batches; returns the new state and the fuel used. */
export async function foldEvents(
  fold: LoadedFold,
  state: JsonValue,
  events: readonly JournalEvent[],
): Promise<{ state: JsonValue; fuelUsed: number }> {
  let s = state as FoldValue;
  let fuelUsed = 0;
  for (let i = 0; i < events.length; i += FOLD_BATCH) {
    const batch = events.slice(i, i + FOLD_BATCH);
    try {
      const r = await fold.run(s, batch.map(foldEventView));
      s = r.state;
      fuelUsed += r.fuelUsed;
    } catch (e) {
      if (e instanceof GatosError && typeof e.data.event === 'number') {
        const ev = batch[e.data.event];
        e.data.event = i + e.data.event;
        if (ev) Object.assign(e.data, { cid: ev.cid, commit: ev.commit, actor: ev.envelope.actor });
      }
      throw e;
    }
  }
  return { state: s as JsonValue, fuelUsed };
}

/** Options of {@link foldNamespace}. */
export interface FoldNamespaceOptions {
  objects: ObjectStore;
  refs: RefStore;
  ns: string;
  config: RepoConfig;
  /** Loads a fold source into an engine configured with the profile's limits. */
  loadFold: (source: string) => Promise<LoadedFold>;
  /** The engine id string recorded as `Fold-Engine`. */
  engine: string;
  /** The fold source; default: the previous checkpoint's `fold.lua`. */
  foldSource?: string;
  /** Signs the Proof-of-Fold (the folding engine's registered key). */
  signer: DsseSigner;
  policyRoot?: string;
  /** Compute the checkpoint but write nothing (for determinism checks). */
  dryRun?: boolean;
  /** Ignore earlier checkpoints: fold the whole history from {@link INITIAL_STATE} into a root checkpoint. */
  fromScratch?: boolean;
  retry?: Partial<RetryOptions>;
}

/** What {@link foldNamespace} did. */
export interface FoldOutcome {
  ref: string;
  /** False when nothing was new: the existing checkpoint stands (or, with `dryRun`, nothing was written). */
  advanced: boolean;
  checkpoint: Oid;
  stateRoot: string;
  folded: number;
  fuelUsed: number;
  result?: CheckpointObjects;
}

/**
 * Folds the namespace's new events on top of its last checkpoint and commits a new checkpoint with its signed
 * Proof-of-Fold. A new fold source starts again from {@link INITIAL_STATE} over the whole history.
 */
export async function foldNamespace(opts: FoldNamespaceOptions): Promise<FoldOutcome> {
  const { objects, refs, ns } = opts;
  const ref = stateRef(ns);
  const message = `${ref} kept moving while folding; try again`;
  return casRetry<FoldOutcome>({ objects, refs, ref, retry: opts.retry, message }, async () => {
    const headOid = await refs.read(ref);
    const prevOid = opts.fromScratch ? null : headOid;
    const prev = prevOid ? await readCheckpoint(objects, prevOid) : null;
    const source =
      opts.foldSource ??
      prev?.foldSource ??
      (opts.fromScratch && headOid ? (await readCheckpoint(objects, headOid)).foldSource : undefined);
    if (source === undefined) {
      throw new GatosError('GATOS_E_USAGE', `namespace ${ns} has no checkpoint yet: name the fold source`, {
        hint: 'git gatos fold <ns> --fold reducer.lua',
      });
    }
    const sameFold = prev !== null && foldRoot(source) === prev.foldRoot;
    const from = new Map<string, { head: Oid; events: number }>();
    if (prev && sameFold)
      for (const j of prev.predicate.journals) from.set(j.actor, { head: j.head, events: j.events });
    const { events, journals } = await pendingEvents(objects, ns, from, await listJournals(refs, ns));
    const policyRoot = opts.policyRoot ?? NO_POLICY_ROOT;
    if (
      prev &&
      sameFold &&
      events.length === 0 &&
      prev.policyRoot === policyRoot &&
      prev.engine === opts.engine
    ) {
      return casDone({
        ref,
        advanced: false,
        checkpoint: prevOid!,
        stateRoot: prev.stateRoot,
        folded: 0,
        fuelUsed: 0,
      });
    }
    const fold = await opts.loadFold(source);
    let folded: { state: JsonValue; fuelUsed: number };
    try {
      folded = await foldEvents(fold, prev && sameFold ? prev.state : INITIAL_STATE, events);
    } finally {
      fold.unload();
    }
    const bytes = stateBytes(folded.state);
    const statement = buildFoldStatement({
      ns,
      state_root: stateRootOfBytes(bytes),
      journals,
      prev_checkpoint: prevOid,
      prev_state_root: prev && sameFold ? prev.stateRoot : null,
      event_range: { first: events[0]?.cid ?? null, last: events.at(-1)?.cid ?? null, count: events.length },
      policy_root: policyRoot,
      fold_root: foldRoot(source),
      engine: opts.engine,
      profile: { fuel: opts.config.fold.fuel, memory_bytes: opts.config.fold.memory_bytes },
    });
    const envelope = signProofOfFold(statement, opts.signer);
    const result = checkpointCommit({ envelope, state: folded.state, stateBytes: bytes, foldSource: source });
    const outcome: FoldOutcome = {
      ref,
      advanced: !opts.dryRun,
      checkpoint: result.commit.oid,
      stateRoot: statement.predicate.state_root,
      folded: events.length,
      fuelUsed: folded.fuelUsed,
      result,
    };
    if (opts.dryRun) return casDone(outcome);
    return casWrite(result.objects, { ref, expect: headOid, next: result.commit.oid }, outcome);
  });
}
