/**
 * Governance events (`spec/governance.md`): proposals, approvals and grants are signed GATOS events, one commit
 * each, in chains of their own refs. The commits are exactly journal event commits (`spec/journal.md`): the
 * signature binds each event to its ref and parent, so an approval copied to another proposal does not verify.
 */
import { GatosError } from '../errors.js';
import { type EventEnvelope, encodeEnvelope } from '../event-envelope.js';
import { eventCid } from '../event-cid.js';
import { verifyEventSignature } from '../event-signature.js';
import { type GitObject, type Oid, ZERO_OID, parseCommit } from '../git-object.js';
import {
  type EventSigner,
  type JournalEvent,
  eventCommitObjects,
  loadEventCommits,
  parseEventCommit,
} from '../journal.js';
import type { ObjectStore } from '../object-store.js';
import { actorFromRefPath, actorRefPath } from '../ref-layout.js';
import type { RefStore } from '../ref-store.js';
import type { TrustSet } from '../trust-registry.js';

/** ULIDs (canonical uppercase Crockford base32). */
export const PROPOSAL_ID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** Event types of the governance plane. */
export const GOV_EVENT = {
  propose: 'policy.propose',
  revoke: 'policy.revoke',
  approve: 'policy.approve',
  unapprove: 'policy.unapprove',
  grant: 'policy.grant',
} as const;

/** Throws `GATOS_E_USAGE` unless `id` is a proposal id. */
export function assertProposalId(id: string): void {
  if (typeof id !== 'string' || !PROPOSAL_ID_RE.test(id)) {
    throw new GatosError('GATOS_E_USAGE', `invalid proposal id ${JSON.stringify(id)}`, {
      hint: 'Proposal ids are ULIDs, as printed by `git gatos propose`.',
    });
  }
}

/** `refs/gatos/proposals/<id>`. */
export function proposalRef(id: string): string {
  assertProposalId(id);
  return `refs/gatos/proposals/${id}`;
}

/** `refs/gatos/approvals/<id>/<kind>/<enc-name>`. */
export function approvalRef(id: string, actor: string): string {
  assertProposalId(id);
  return `refs/gatos/approvals/${id}/${actorRefPath(actor)}`;
}

/** The prefix of all approvals of a proposal. */
export function approvalsPrefix(id: string): string {
  assertProposalId(id);
  return `refs/gatos/approvals/${id}/`;
}

/** Parses an approval ref, or null. */
export function parseApprovalRef(ref: string): { proposal: string; actor: string } | null {
  const m = /^refs\/gatos\/approvals\/([^/]+)\/([^/]+\/[^/]+)$/.exec(ref);
  if (!m || !PROPOSAL_ID_RE.test(m[1]!)) return null;
  try {
    return { proposal: m[1]!, actor: actorFromRefPath(m[2]!) };
  } catch {
    return null;
  }
}

/** `refs/gatos/grants/<id>`. */
export function grantRef(id: string): string {
  assertProposalId(id);
  return `refs/gatos/grants/${id}`;
}

/** Appends signed events to a governance ref with one compare-and-swap (re-signing after a lost race). */
export async function appendGovEvents(
  envelopes: readonly EventEnvelope[],
  opts: { objects: ObjectStore; refs: RefStore; ref: string; signer: EventSigner; maxBytes?: number },
): Promise<{ commit: Oid; parent: Oid | null }[]> {
  const prepared = envelopes.map((envelope) => {
    if (envelope.actor !== opts.signer.actor) {
      throw new GatosError('GATOS_E_ENVELOPE_ACTOR', `event actor ${envelope.actor} is not the signer`);
    }
    const bytes = encodeEnvelope(envelope, opts.maxBytes === undefined ? {} : { maxBytes: opts.maxBytes });
    return { envelope, bytes, cid: eventCid(bytes) };
  });
  for (let attempt = 0; attempt < 16; attempt++) {
    const head = await opts.refs.read(opts.ref);
    let parent = head;
    const written: GitObject[] = [];
    const out: { commit: Oid; parent: Oid | null }[] = [];
    for (const p of prepared) {
      const sig = opts.signer.sign({ ref: opts.ref, parent: parent ?? ZERO_OID, cid: p.cid });
      const o = eventCommitObjects({
        envelope: p.envelope,
        bytes: p.bytes,
        cid: p.cid.toString(),
        sig,
        keyId: opts.signer.keyId,
        parent,
      });
      written.push(o.blob, o.tree, o.commit);
      out.push({ commit: o.commit.oid, parent });
      parent = o.commit.oid;
    }
    await opts.objects.put(written);
    if (await opts.refs.cas({ ref: opts.ref, expect: head, next: parent })) return out;
  }
  throw new GatosError('GATOS_E_REF_CONFLICT', `gave up appending to ${opts.ref}`, {
    data: { ref: opts.ref },
  });
}

/** Reads a governance chain (oldest first) up to `head`; throws on a malformed commit. */
export async function readGovChain(objects: ObjectStore, ref: string, head: Oid): Promise<JournalEvent[]> {
  return (await loadEventCommits(objects, ref, head)).map((l) => {
    if (l.error) throw l.error;
    return parseEventCommit(ref, l.commit, l.blob!);
  });
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
  const problems: string[] = [];
  const cid = eventCid(e.bytes);
  if (cid.toString() !== e.cid) problems.push(`Event-CID trailer ${e.cid} does not match ${cid}`);
  const pk = registeredKey(trust, e.envelope.actor, e.keyId);
  if (!pk) problems.push(`key ${e.keyId} is not registered for ${e.envelope.actor}`);
  else if (
    !verifyEventSignature(
      Uint8Array.from(Buffer.from(pk, 'hex')),
      { ref: e.ref, parent: e.parent ?? ZERO_OID, cid },
      e.sig,
    )
  ) {
    problems.push(`signature does not verify for ${e.ref} at this position`);
  }
  const rebuilt = eventCommitObjects({
    envelope: e.envelope,
    bytes: e.bytes,
    cid: e.cid,
    sig: e.sig,
    keyId: e.keyId,
    parent: e.parent,
  }).commit.oid;
  if (rebuilt !== e.commit) problems.push('commit differs from the one its event derives');
  return problems;
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
