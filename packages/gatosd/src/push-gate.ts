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
  checkEvent,
  isOid,
  type LoadedFold,
  NAMESPACE_RE,
  verifyProofOfFold,
  ZERO_OID,
  type RepoConfig,
  DEFAULT_CLAIM_SKEW_MS,
} from '@gatos/core';
import {
  type GateFoldEngine,
  gateProfile,
  openGateFoldEngine,
  refoldPushedCheckpoints,
} from './gate-refold.js';
import { checkJobUpdate, isJobPlaneRef, JOB_GATE_RULES, JobRefusal, jobRefRefusal } from './job-gate.js';
import { openPolicyGate, PolicyRefusal } from './policy-gate.js';

/** One line of pre-receive input: `<old> <new> <ref>`; null stands for the all-zero id (create / delete). */
export interface PushUpdate {
  ref: string;
  old: Oid | null;
  new: Oid | null;
}

/** The stable rule ids a refusal names. */
export const RULES = {
  'no-delete': 'GATOS chain refs cannot be deleted',
  'ff-only': 'GATOS chain refs move fast-forward only',
  'ref-layout': 'the ref name is not valid under the refs/gatos layout',
  'audit-reserved': 'only the push-gate appends to refs/gatos/audit/policy/deny',
  'trust-key': 'a trust registry entry is invalid',
  'event-malformed': 'a journal commit is not a valid GATOS event commit',
  'event-signature':
    'a journal event is not signed by a registered key of its actor for this ref and position',
  'state-proof': 'a state checkpoint is malformed or its Proof-of-Fold does not verify',
  'state-refold': 're-folding history does not reproduce a pushed checkpoint (profiles with gate_refold)',
  'gate-error': 'the gate could not check the update (it fails closed)',
  'policy-default-deny': 'no rule of the active policy allows the event',
  'policy-quorum': 'a policy activation without a grant that met the active policy quorum',
  'policy-rollback': 'a policy activation whose version does not exceed the active one',
  'policy-bundle': 'a policy bundle or activation is malformed, or published without activation',
  ...JOB_GATE_RULES,
} as const;

/** A rule id. */
export type RuleId = keyof typeof RULES;

/** One refused ref update. */
export interface Denial {
  ref: string;
  old: Oid | null;
  new: Oid | null;
  /** A gate rule id; policy denials may carry a rule id of the active policy (see policy-gate.ts). */
  rule: RuleId;
  reason: string;
  /** The GATOS error code behind the refusal, when there is one. */
  code?: string;
  /** The actor the ref belongs to (journals), when known. */
  actor?: string;
  /** The offending commit, when known. */
  commit?: Oid;
}

/** The gate's answer for a whole push (all or nothing). */
export interface GateDecision {
  allowed: boolean;
  denials: Denial[];
  /** Updates checked (per ref: which kind of check ran). */
  checked: { ref: string; kind: RefKind }[];
}

/** How the gate treats a ref. */
export type RefKind = 'plain' | 'gatos-other' | 'journal' | 'state' | 'policies' | 'audit' | 'trust' | 'job';

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
}

/** Re-folding context of one push: whether the profile asks for it, and the engine (started on first use). */
interface Refolder {
  refold: boolean;
  loadFold: (source: string) => Promise<LoadedFold>;
}

/** Parses pre-receive stdin: one `<old> <new> <ref>` per line. Throws `GATOS_E_USAGE` on a malformed line. */
export function parsePushLines(text: string): PushUpdate[] {
  const out: PushUpdate[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const m = /^([0-9a-f]{40}) ([0-9a-f]{40}) (\S+)$/.exec(line.trim());
    if (!m) throw new GatosError('GATOS_E_USAGE', `malformed pre-receive line: ${JSON.stringify(line)}`);
    out.push({
      old: m[1] === ZERO_OID ? null : m[1]!,
      new: m[2] === ZERO_OID ? null : m[2]!,
      ref: m[3]!,
    });
  }
  return out;
}

/** Classifies a ref name. */
export function refKind(ref: string): RefKind {
  if (!ref.startsWith('refs/gatos/')) return 'plain';
  if (ref === TRUST_KEYS_REF) return 'trust';
  // Before 'audit': the job audit chains are checked with the rest of the job plane.
  if (isJobPlaneRef(ref)) return 'job';
  const plane = ref.split('/')[2];
  if (plane === 'journal' || plane === 'state' || plane === 'policies' || plane === 'audit') return plane;
  return 'gatos-other';
}

/** The deny chain's ref; pushes may not touch it. */
export const DENY_REF = 'refs/gatos/audit/policy/deny';

class Refusal extends Error {
  constructor(
    readonly rule: RuleId,
    readonly reason: string,
    readonly extra: { code?: string; commit?: Oid; actor?: string } = {},
  ) {
    super(reason);
  }
}

/** A RefStore view where the trust ref has a given value (to read the pushed registry). */
function trustView(refs: RefStore, head: Oid): RefStore {
  return {
    read: async (ref) => (ref === TRUST_KEYS_REF ? head : refs.read(ref)),
    cas: async () => {
      throw new GatosError('GATOS_E_INTERNAL', 'the push-gate never writes through this view');
    },
    list: (prefix) => refs.list(prefix),
  };
}

const eventRule = (code: string): RuleId =>
  code === 'GATOS_E_SIG_INVALID' || code === 'GATOS_E_KEY_NOT_FOUND' || code === 'GATOS_E_SIG_MALFORMED'
    ? 'event-signature'
    : 'event-malformed';

async function checkJournal(u: PushUpdate & { new: Oid }, objects: ObjectStore, trust: TrustSet) {
  const j = parseJournalRef(u.ref);
  if (!j) throw new Refusal('ref-layout', `${u.ref} is not refs/gatos/journal/<ns>/<kind>/<enc-name>`);
  let loaded: Awaited<ReturnType<typeof loadEventCommits>>;
  try {
    loaded = await loadEventCommits(objects, u.ref, u.new, u.old);
  } catch (e) {
    if (!isGatosError(e)) throw e;
    throw new Refusal('event-malformed', e.message, { code: e.code, actor: j.actor });
  }
  let parent = u.old;
  for (const [i, l] of loaded.entries()) {
    const at = `event ${l.commit.oid.slice(0, 12)}`;
    if (l.error) {
      throw new Refusal('event-malformed', `${at}: ${l.error.message}`, {
        code: l.error.code,
        commit: l.commit.oid,
        actor: j.actor,
      });
    }
    let problems: ReturnType<typeof checkEvent>;
    try {
      problems = checkEvent(parseEventCommit(u.ref, l.commit, l.blob!), i, parent, trust);
    } catch (e) {
      if (!isGatosError(e)) throw e;
      throw new Refusal(eventRule(e.code), `${at}: ${e.message}`, {
        code: e.code,
        commit: l.commit.oid,
        actor: j.actor,
      });
    }
    if (problems.length > 0) {
      // A signature problem is the most telling one; report it first.
      const sorted = [...problems].sort(
        (a, b) =>
          Number(eventRule(b.code) === 'event-signature') - Number(eventRule(a.code) === 'event-signature'),
      );
      const p = sorted[0]!;
      throw new Refusal(eventRule(p.code), `${at}: ${sorted.map((q) => q.message).join('; ')}`, {
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
  const m = /^refs\/gatos\/state\/([^/]+)$/.exec(u.ref);
  if (!m || !NAMESPACE_RE.test(m[1]!))
    throw new Refusal('ref-layout', `${u.ref} is not refs/gatos/state/<ns>`);
  const ns = m[1]!;
  const commits = await objects.chain(u.new, u.old);
  if (commits.length > 0 && (commits[0]!.parents[0] ?? null) !== u.old) {
    throw new Refusal('ff-only', 'the first-parent chain of the new value does not contain the old');
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
      throw new Refusal('state-proof', `checkpoint ${c.oid.slice(0, 12)}: ${e.message}`, {
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
    throw new Refusal('state-refold', `re-folding failed: ${e.message}`, { code: e.code });
  }
  if (problems.length > 0) {
    const first = problems[0]!;
    throw new Refusal(
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
  const deny = (u: PushUpdate, r: Refusal) => {
    const actor = r.extra.actor ?? parseJournalRef(u.ref)?.actor;
    denials.push({
      ref: u.ref,
      old: u.old,
      new: u.new,
      rule: r.rule,
      reason: r.reason,
      ...(r.extra.code ? { code: r.extra.code } : {}),
      ...(actor ? { actor } : {}),
      ...(r.extra.commit ? { commit: r.extra.commit } : {}),
    });
  };
  const guarded = async (u: PushUpdate, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      if (e instanceof Refusal) deny(u, e);
      else if (e instanceof PolicyRefusal || e instanceof JobRefusal) denials.push(e.denial(u));
      else {
        const msg = e instanceof Error ? e.message : String(e);
        deny(u, new Refusal('gate-error', msg, isGatosError(e) ? { code: e.code } : {}));
      }
    }
  };

  // Common rules first, then the trust registry (journals and checkpoints are checked against it).
  const pending: (PushUpdate & { new: Oid; kind: RefKind })[] = [];
  for (const u of updates) {
    const kind = refKind(u.ref);
    checked.push({ ref: u.ref, kind });
    if (kind === 'plain' || kind === 'gatos-other') continue;
    await guarded(u, async () => {
      if (u.new === null) throw new Refusal('no-delete', 'a GATOS chain ref cannot be deleted');
      if (!isOid(u.new)) throw new Refusal('gate-error', `bad object id ${u.new}`);
      if (u.ref === DENY_REF) {
        throw new Refusal('audit-reserved', 'this chain is appended by the push-gate only');
      }
      if (kind === 'job') {
        const r = jobRefRefusal(u);
        if (r) throw r;
      }
      if (u.old !== null && !(await isAncestor(u.old, u.new))) {
        throw new Refusal('ff-only', `${u.new.slice(0, 12)} does not descend from ${u.old.slice(0, 12)}`);
      }
      pending.push({ ...u, new: u.new, kind });
    });
  }

  let trust: TrustSet | null = null;
  const trustUpdate = pending.find((u) => u.kind === 'trust');
  if (trustUpdate) {
    await guarded(trustUpdate, async () => {
      try {
        trust = await readTrust(objects, trustView(refs, trustUpdate.new));
      } catch (e) {
        if (!isGatosError(e)) throw e;
        throw new Refusal('trust-key', e.message, { code: e.code });
      }
    });
  }
  const current = async (): Promise<TrustSet> => {
    trust ??= await readTrust(objects, refs);
    return trust;
  };

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
          engine ??= await (input.openFoldEngine ?? openGateFoldEngine)(config!);
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
          await checkJournal(u, objects, await current());
          await policyGate.checkJournal(u);
        });
      else if (u.kind === 'state')
        await guarded(u, async () => checkState(u, objects, await current(), getRefolder));
    }
  } finally {
    (engine as GateFoldEngine | null)?.close();
  }
  return { allowed: denials.length === 0, denials, checked };
}
