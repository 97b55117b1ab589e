/**
 * The push-gate's decision (`spec/push-gate.md`): given the ref updates of one push and the stores that see the
 * pushed objects, which updates must be refused and why. Pure apart from the injected stores; it writes nothing.
 */
import {
  type Checkpoint,
  CONFIG_REF,
  GatosError,
  isGatosError,
  loadEventCommits,
  type ObjectStore,
  type Oid,
  parseEventCommit,
  parseJournalRef,
  readCheckpoint,
  readTrust,
  type RefStore,
  TRUST_KEYS_REF,
  type TrustSet,
  type TrustedKey,
  checkEvent,
  isOid,
  type LoadedFold,
  openFoldEngine,
  DENY_REF,
  GATOS_PREFIX,
  parseStateRef,
  readOnlyRefView,
  type RefKind,
  refKind,
  verifyProofOfFold,
  type RepoConfig,
  DEFAULT_CLAIM_SKEW_MS,
} from '@gatos/core';
import { type GateFoldEngine, gateProfile, refoldPushedCheckpoints } from './gate-refold.js';
import { type Denial, type GateDecision, GateRefusal, type PushUpdate, type RuleId } from './gate-types.js';
import { checkJobUpdate, jobRefRefusal } from './job-gate.js';
import { openPolicyGate } from './policy-gate.js';
import {
  checkBusUpdate,
  checkConfigUpdate,
  checkGovernanceUpdate,
  type PlaneGateContext,
} from './plane-gate.js';

/** A server-side record of what the gate proved about trust registries (it is never a ref: a push cannot touch it). */
export interface TrustCache {
  has(blob: Oid): boolean;
  add(blobs: readonly Oid[]): void;
  get(head: Oid): readonly TrustedKey[] | undefined;
  put(head: Oid, keys: readonly TrustedKey[]): void;
}

/** Inputs of {@link decidePush}. */
export interface GateInput {
  /** Reads objects including the pushed ones (the quarantine). */
  objects: ObjectStore;
  /** Reads the refs as they stand before the push. */
  refs: RefStore;
  /** True when `ancestor` is an ancestor of (or equal to) `descendant`. */
  isAncestor: (ancestor: Oid, descendant: Oid) => Promise<boolean>;
  updates: readonly PushUpdate[];
  /** Starts the fold engine for re-folding (profiles with `gate_refold`); default: EchoLua with the profile's limits. */
  openFoldEngine?: (config: RepoConfig) => Promise<GateFoldEngine>;
  /** The gate's clock in ms (judges claim lease expiry, `spec/push-gate.md` § 2.5); default: the system clock. */
  now?: () => number;
  /** Clock skew allowance for lease expiry; default `DEFAULT_CLAIM_SKEW_MS` (as `claimDecision`). */
  claimSkewMs?: number;
  /**
   * How far in the future of the gate's clock an event's `ts` may be (a server setting, never repository config:
   * `gatos.gate.maxFutureSkewSeconds` in the served repository's git config); default {@link DEFAULT_MAX_FUTURE_MS}.
   */
  maxFutureMs?: number;
  /**
   * What this server's gate already proved about trust registries, so a push costs what it changes, not the
   * registry's size (`spec/push-gate.md` § 2.1): entries by blob id (`has`/`add`), whole registries by commit
   * (`get`/`put`).
   */
  trustCache?: TrustCache;
}

/** Re-folding context of one push: whether the profile asks for it, and the engine (started on first use). */
interface Refolder {
  refold: boolean;
  loadFold: (source: string) => Promise<LoadedFold>;
}

/** True for the DENY chain's ref, any ref below it, and any ref at one of its parent paths. */
export function blocksDenyChain(ref: string): boolean {
  return ref === DENY_REF || ref.startsWith(`${DENY_REF}/`) || DENY_REF.startsWith(`${ref}/`);
}

/**
 * Actors keep their names (`spec/push-gate.md` § 2.1): an entry once registered is never removed or changed (a key
 * is revoked, never deleted), and an actor that has a registered key gets no further key by a plain registry push.
 * Adding a device or rotating needs the actor's own authority, which the registry cannot express yet.
 */
function checkTrustOwnership(before: TrustSet, after: TrustSet): void {
  // Entries are (actor, key id) pairs: one key registered under two names is two entries (quorums count keys). The
  // key id fixes the public key, so an entry can only change by its proof of possession.
  const id = (k: TrustedKey) => `${k.actor}\n${k.key_id}`;
  const was = new Map(before.keys.map((k) => [id(k), k]));
  const now = new Map(after.keys.map((k) => [id(k), k]));
  for (const [key, k] of was) {
    const n = now.get(key);
    if (!n || n.pop !== k.pop) {
      throw new GateRefusal(
        'trust-key',
        `the entry of ${k.key_id} (${k.actor}) is ${n ? 'changed' : 'removed'}: a registered key is never removed or changed`,
      );
    }
  }
  const owners = new Set(before.keys.map((k) => k.actor));
  for (const [key, k] of now) {
    if (!was.has(key) && owners.has(k.actor)) {
      throw new GateRefusal(
        'trust-owner',
        `${k.actor} already has a registered key: ${k.key_id} cannot be added by a plain registry push (a further key needs the actor's own authority)`,
        { actor: k.actor },
      );
    }
  }
}

const eventRule = (code: string): RuleId =>
  code === 'GATOS_E_SIG_INVALID' || code === 'GATOS_E_KEY_NOT_FOUND' || code === 'GATOS_E_SIG_MALFORMED'
    ? 'event-signature'
    : 'event-malformed';

/** Default of {@link GateInput.maxFutureMs}: five minutes. */
export const DEFAULT_MAX_FUTURE_MS = 5 * 60_000;

async function checkJournal(
  u: PushUpdate & { new: Oid },
  objects: ObjectStore,
  trust: TrustSet,
  clock: { nowMs: number; maxFutureMs: number },
) {
  const j = parseJournalRef(u.ref);
  if (!j)
    throw new GateRefusal('ref-layout', `${u.ref} is not ${GATOS_PREFIX}journal/<ns>/<kind>/<enc-name>`);
  let loaded: Awaited<ReturnType<typeof loadEventCommits>>;
  try {
    loaded = await loadEventCommits(objects, u.ref, u.new, u.old);
  } catch (e) {
    if (!isGatosError(e)) throw e;
    throw new GateRefusal('event-malformed', e.message, { code: e.code, actor: j.actor });
  }
  let parent = u.old;
  for (const [i, l] of loaded.entries()) {
    const at = `event ${l.commit.oid.slice(0, 12)}`;
    if (l.error) {
      throw new GateRefusal('event-malformed', `${at}: ${l.error.message}`, {
        code: l.error.code,
        commit: l.commit.oid,
        actor: j.actor,
      });
    }
    let problems: ReturnType<typeof checkEvent>;
    let ts: number;
    try {
      const event = parseEventCommit(u.ref, l.commit, l.blob!);
      problems = checkEvent(event, i, parent, trust);
      ts = Date.parse(event.envelope.ts);
    } catch (e) {
      if (!isGatosError(e)) throw e;
      throw new GateRefusal(eventRule(e.code), `${at}: ${e.message}`, {
        code: e.code,
        commit: l.commit.oid,
        actor: j.actor,
      });
    }
    if (problems.length === 0 && ts > clock.nowMs + clock.maxFutureMs) {
      throw new GateRefusal(
        'event-future',
        `${at}: its ts ${new Date(ts).toISOString()} is more than ${clock.maxFutureMs / 1000} s ahead of the gate's clock`,
        { commit: l.commit.oid, actor: j.actor },
      );
    }
    if (problems.length > 0) {
      // A signature problem is the most telling one; report it first.
      const sorted = [...problems].sort(
        (a, b) =>
          Number(eventRule(b.code) === 'event-signature') - Number(eventRule(a.code) === 'event-signature'),
      );
      const p = sorted[0]!;
      throw new GateRefusal(eventRule(p.code), `${at}: ${sorted.map((q) => q.message).join('; ')}`, {
        code: p.code,
        commit: l.commit.oid,
        actor: j.actor,
      });
    }
    parent = l.commit.oid;
  }
}

async function checkState(
  u: PushUpdate & { new: Oid },
  objects: ObjectStore,
  trust: TrustSet,
  refolder: () => Promise<Refolder>,
) {
  const parsed = parseStateRef(u.ref);
  if (!parsed) throw new GateRefusal('ref-layout', `${u.ref} is not ${GATOS_PREFIX}state/<ns>`);
  const { ns } = parsed;
  const commits = await objects.chain(u.new, u.old);
  if (commits.length > 0 && (commits[0]!.parents[0] ?? null) !== u.old) {
    throw new GateRefusal('ff-only', 'the first-parent chain of the new value does not contain the old');
  }
  const checkpoints: Checkpoint[] = [];
  for (const c of commits) {
    let cp: Checkpoint;
    try {
      cp = await readCheckpoint(objects, c.oid);
      if (cp.ns !== ns) {
        throw new GatosError('GATOS_E_CHECKPOINT_INVALID', `checkpoint is for namespace ${cp.ns}, not ${ns}`);
      }
      verifyProofOfFold(cp.envelopeBytes, trust, { ns });
    } catch (e) {
      if (!isGatosError(e)) throw e;
      throw new GateRefusal('state-proof', `checkpoint ${c.oid.slice(0, 12)}: ${e.message}`, {
        code: e.code,
        commit: c.oid,
      });
    }
    checkpoints.push(cp);
  }
  const r = await refolder();
  if (!r.refold || checkpoints.length === 0) return;
  let problems: Awaited<ReturnType<typeof refoldPushedCheckpoints>>;
  try {
    const old = u.old ? await readCheckpoint(objects, u.old) : null;
    problems = await refoldPushedCheckpoints({ objects, trust, old, checkpoints, loadFold: r.loadFold });
  } catch (e) {
    if (!isGatosError(e)) throw e;
    throw new GateRefusal('state-refold', `re-folding failed: ${e.message}`, { code: e.code });
  }
  if (problems.length > 0) {
    const first = problems[0]!;
    throw new GateRefusal(
      'state-refold',
      `checkpoint ${first.checkpoint.slice(0, 12)}: ${problems.map((p) => p.message).join('; ')}`,
      { code: first.code, commit: first.checkpoint },
    );
  }
}

/**
 * Decides a push. Every update is checked; the push is allowed only if none is refused (git applies a pre-receive
 * verdict to the whole push).
 */
export async function decidePush(input: GateInput): Promise<GateDecision> {
  const { objects, refs, isAncestor, updates } = input;
  const denials: Denial[] = [];
  const checked: GateDecision['checked'] = [];
  const deny = (u: PushUpdate, r: GateRefusal) => denials.push(r.denial(u));
  const guarded = async (u: PushUpdate, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      if (e instanceof GateRefusal) deny(u, e);
      else {
        const msg = e instanceof Error ? e.message : String(e);
        deny(u, new GateRefusal('gate-error', msg, isGatosError(e) ? { code: e.code } : {}));
      }
    }
  };

  const planes: PlaneGateContext = { objects, refs, updates, trust: () => current() };
  const cache = input.trustCache;
  const proofs = cache
    ? { proven: (b: Oid) => cache.has(b), onProven: (bs: Oid[]) => cache.add(bs), snapshots: cache }
    : {};
  // Common rules first, then the trust registry (journals and checkpoints are checked against it).
  const pending: (PushUpdate & { new: Oid; kind: RefKind })[] = [];
  for (const u of updates) {
    const kind = refKind(u.ref);
    checked.push({ ref: u.ref, kind });
    // Nothing pushed may ever block a DENY write: not the chain, a ref below it (a directory/file clash), nor a
    // ref at one of its parent paths (`refs/gatos` on an empty repository). Deletions of GATOS refs are
    // `no-delete` (below); deleting a plain ref blocks nothing.
    if (blocksDenyChain(u.ref) && u.new !== null) {
      await guarded(u, async () => {
        throw new GateRefusal('audit-reserved', `${u.ref}: the DENY chain is appended by the push-gate only`);
      });
      continue;
    }
    if (kind === 'plain') continue;
    if (kind === 'gatos-other') {
      await guarded(u, async () => {
        throw new GateRefusal('ref-unknown', `${u.ref} is not a ref any plane defines under ${GATOS_PREFIX}`);
      });
      continue;
    }
    // A bus segment may be deleted once pruned (its row checks the summary chain); nothing else may.
    if (u.new === null && kind === 'bus') {
      await guarded(u, () => checkBusUpdate(planes, u));
      continue;
    }
    await guarded(u, async () => {
      if (u.new === null) throw new GateRefusal('no-delete', 'a GATOS chain ref cannot be deleted');
      if (!isOid(u.new)) throw new GateRefusal('gate-error', `bad object id ${u.new}`);
      if (kind === 'job') {
        const r = jobRefRefusal(u);
        if (r) throw r;
      }
      if (u.old !== null && !(await isAncestor(u.old, u.new))) {
        throw new GateRefusal('ff-only', `${u.new.slice(0, 12)} does not descend from ${u.old.slice(0, 12)}`);
      }
      pending.push({ ...u, new: u.new, kind });
    });
  }

  // The registry the push is checked against: the pushed one when its update passes, else the current one.
  let trust: TrustSet | null = null;
  let registered: TrustSet | null = null;
  const currentRegistry = async () => (registered ??= await readTrust(objects, refs, proofs));
  const trustUpdate = pending.find((u) => u.kind === 'trust');
  if (trustUpdate) {
    await guarded(trustUpdate, async () => {
      let pushed: TrustSet;
      try {
        pushed = await readTrust(
          objects,
          readOnlyRefView(refs, new Map([[TRUST_KEYS_REF, trustUpdate.new]])),
          proofs,
        );
      } catch (e) {
        if (!isGatosError(e)) throw e;
        throw new GateRefusal('trust-key', e.message, { code: e.code });
      }
      checkTrustOwnership(await currentRegistry(), pushed);
      trust = pushed;
    });
  }
  const current = async (): Promise<TrustSet> => trust ?? currentRegistry();

  // The profile decides whether state pushes are re-folded (read once, only when a state ref is pushed).
  let engine: GateFoldEngine | null = null;
  let refolder: Promise<Refolder> | null = null;
  const getRefolder = (): Promise<Refolder> => {
    refolder ??= (async () => {
      const pushedConfig = updates.find((x) => x.ref === CONFIG_REF)?.new;
      const { config, refold } = await gateProfile(objects, refs, pushedConfig);
      return {
        refold,
        loadFold: async (source: string) => {
          engine ??= await (input.openFoldEngine ?? openFoldEngine)(config!);
          return engine.loadFold(source);
        },
      };
    })();
    return refolder;
  };
  // Policies updates (bundles, activations with quorum) and the policy journal events are checked against.
  const policyGate = await openPolicyGate({
    objects,
    refs,
    updates: pending,
    pushed: updates,
    trust: current,
    deny: (d) => denials.push(d),
  });
  const jobs = {
    objects,
    refs,
    updates,
    trust: current,
    nowMs: (input.now ?? Date.now)(),
    skewMs: input.claimSkewMs ?? DEFAULT_CLAIM_SKEW_MS,
  };
  try {
    for (const u of pending) {
      if (u.kind === 'job') await guarded(u, async () => checkJobUpdate(jobs, u));
      else if (u.kind === 'journal')
        await guarded(u, async () => {
          await checkJournal(u, objects, await current(), {
            nowMs: (input.now ?? Date.now)(),
            maxFutureMs: input.maxFutureMs ?? DEFAULT_MAX_FUTURE_MS,
          });
          await policyGate.checkJournal(u);
        });
      else if (u.kind === 'state')
        await guarded(u, async () => checkState(u, objects, await current(), getRefolder));
      else if (u.kind === 'config') await guarded(u, () => checkConfigUpdate(planes, u));
      else if (u.kind === 'governance') await guarded(u, () => checkGovernanceUpdate(planes, u));
      else if (u.kind === 'bus') await guarded(u, () => checkBusUpdate(planes, u));
    }
  } finally {
    (engine as GateFoldEngine | null)?.close();
  }
  return { allowed: denials.length === 0, denials, checked };
}
