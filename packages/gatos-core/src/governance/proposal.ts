/**
 * Governance events (`spec/governance.md`): proposals, approvals and grants are signed GATOS events, one commit
 * each, in chains of their own refs. The commits are exactly journal event commits (`spec/journal.md`): the
 * signature binds each event to its ref and parent, so an approval copied to another proposal does not verify.
 */
import { approvalsPrefix, parseApprovalRef, proposalRef } from '../ref-layout.js';
import type { RetryOptions } from '../chain/cas-retry.js';
import {
  type EventSigner,
  type JournalEvent,
  loadEventCommits,
  parseEventCommit,
} from '../chain/event-commit.js';
import { appendSignedChain, checkChainEvent, readChain } from '../chain/signed-chain.js';
import { GatosError } from '../errors.js';
import type { EventEnvelope } from '../events/event-envelope.js';
import { type Oid, parseCommit } from '../store/git-object.js';
import type { ObjectStore } from '../store/object-store.js';
import type { RefStore } from '../store/ref-store.js';
import type { TrustSet } from '../trust/trust-registry.js';

/** Event types of the governance plane. */
export const GOV_EVENT = {
  propose: 'policy.propose',
  revoke: 'policy.revoke',
  approve: 'policy.approve',
  unapprove: 'policy.unapprove',
  grant: 'policy.grant',
} as const;

/** Appends signed events to a governance ref with one compare-and-swap (re-signing after a lost race). */
export async function appendGovEvents(
  envelopes: readonly EventEnvelope[],
  opts: {
    objects: ObjectStore;
    refs: RefStore;
    ref: string;
    signer: EventSigner;
    maxBytes?: number;
    retry?: Partial<RetryOptions>;
  },
): Promise<{ commit: Oid; parent: Oid | null }[]> {
  const { appended } = await appendSignedChain(envelopes, opts);
  return appended.map((a) => ({ commit: a.commit, parent: a.parent }));
}

/** Reads a governance chain (oldest first) up to `head`; throws on a malformed commit. */
export function readGovChain(objects: ObjectStore, ref: string, head: Oid): Promise<JournalEvent[]> {
  return readChain(objects, ref, head);
}

/** Reads ONE event commit (any position) as an event of `ref`. */
export async function readGovEvent(objects: ObjectStore, ref: string, commit: Oid): Promise<JournalEvent> {
  const [o] = await objects.get([commit]);
  if (o!.type !== 'commit') throw new GatosError('GATOS_E_JOURNAL_BROKEN', `${commit} is not a commit`);
  const c = parseCommit(commit, o!.body);
  const [l] = await loadEventCommits(objects, ref, commit, c.parents[0] ?? null);
  if (!l) throw new GatosError('GATOS_E_JOURNAL_BROKEN', `no event at ${commit}`);
  if (l.error) throw l.error;
  return parseEventCommit(ref, l.commit, l.blob!);
}

/** The registered public key (hex) of `actor` with key id `keyId`, or null. Looks at every registry entry. */
export function registeredKey(trust: TrustSet, actor: string, keyId: string): string | null {
  return trust.keys.find((k) => k.actor === actor && k.key_id === keyId)?.public_key ?? null;
}

/** Every actor's registered public keys (hex), for `keysByActor`. */
export function keysByActor(trust: TrustSet): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const k of trust.keys) {
    out[k.actor] = [...(out[k.actor] ?? []), k.public_key];
  }
  return out;
}

/**
 * Checks one governance event at its ref and position: Event-CID, a key registered for the envelope's actor, the
 * signature for this ref and parent, and the commit rebuilt from its parts. Returns the problems (empty = valid).
 */
export function checkGovEvent(e: JournalEvent, trust: TrustSet): string[] {
  return checkChainEvent(e, { trust, keyOfActor: true }).map((p) => p.message);
}

/** A proposal's payload. */
export interface ProposalPayload {
  proposal: string;
  version: number;
  parent_version: number | null;
  policy_code_root: string;
  /** The `.rgs` source proposed. */
  source: string;
}

/** A proposal as it stands. */
export interface ProposalState {
  id: string;
  head: Oid;
  /** The `policy.propose` event (the chain's first). */
  propose: JournalEvent;
  payload: ProposalPayload;
  proposer: string;
  revoked: boolean;
}

const payloadOf = (e: JournalEvent) => e.envelope.payload as Record<string, unknown>;

/** Reads a proposal chain at `head` (default: the ref's value). Throws `GATOS_E_PROPOSAL_NOT_FOUND`. */
export async function readProposal(
  objects: ObjectStore,
  refs: RefStore,
  id: string,
  head?: Oid | null,
): Promise<ProposalState> {
  const ref = proposalRef(id);
  const h = head === undefined ? await refs.read(ref) : head;
  if (!h) throw new GatosError('GATOS_E_PROPOSAL_NOT_FOUND', `no proposal ${id}`, { data: { proposal: id } });
  const chain = await readGovChain(objects, ref, h);
  const first = chain[0]!;
  const p = payloadOf(first);
  if (first.envelope.type !== GOV_EVENT.propose || p.proposal !== id) {
    throw new GatosError(
      'GATOS_E_POLICY_BUNDLE',
      `${ref} does not start with a policy.propose event for ${id}`,
    );
  }
  const revoked = chain.some(
    (e) => e.envelope.type === GOV_EVENT.revoke && e.envelope.actor === first.envelope.actor,
  );
  return {
    id,
    head: h,
    propose: first,
    payload: p as unknown as ProposalPayload,
    proposer: first.envelope.actor,
    revoked,
  };
}

/** One approval that counts: the last event of its chain is a `policy.approve` of this very proposal event. */
export interface CurrentApproval {
  actor: string;
  keyId: string;
  publicKey: string;
  commit: Oid;
}

/** The current approvals of a proposal (signature-checked; withdrawn or malformed ones are left out). */
export async function readApprovals(
  objects: ObjectStore,
  refs: RefStore,
  trust: TrustSet,
  proposal: ProposalState,
): Promise<CurrentApproval[]> {
  const out: CurrentApproval[] = [];
  for (const { ref, oid } of await refs.list(approvalsPrefix(proposal.id))) {
    const parsed = parseApprovalRef(ref);
    if (!parsed) continue;
    let chain: JournalEvent[];
    try {
      chain = await readGovChain(objects, ref, oid);
    } catch {
      continue;
    }
    const last = chain[chain.length - 1]!;
    const p = payloadOf(last);
    if (
      last.envelope.type !== GOV_EVENT.approve ||
      last.envelope.actor !== parsed.actor ||
      p.proposal !== proposal.id ||
      p.proposal_commit !== proposal.propose.commit ||
      checkGovEvent(last, trust).length > 0
    ) {
      continue;
    }
    out.push({
      actor: parsed.actor,
      keyId: last.keyId,
      publicKey: registeredKey(trust, parsed.actor, last.keyId)!,
      commit: last.commit,
    });
  }
  return out;
}
