/**
 * The `refs/gatos/*` layout, as pure functions: every ref GATOS reads or writes is named here.
 *
 * Normative text: `spec/refs-layout.md`. The layout is designed so no two refs can ever be in a directory/file
 * conflict (`refs/a/b` vs `refs/a/b/c`), and so names never contain characters git forbids (`:` among them).
 */
import { GatosError } from './errors.js';

/** The kinds of actor an envelope may name. */
export const ACTOR_KINDS = ['user', 'agent', 'service'] as const;
/** One of {@link ACTOR_KINDS}. */
export type ActorKind = (typeof ACTOR_KINDS)[number];

/** `user|agent|service:<name>`, name `[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}`. */
export const ACTOR_RE = /^(user|agent|service):([A-Za-z0-9][A-Za-z0-9._@+-]{0,127})$/;
/** Namespace names: one ref component, no dots, so they can never collide with a sub-path. */
export const NAMESPACE_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** The root of all GATOS refs. */
export const GATOS_PREFIX = 'refs/gatos/';
/** The repository's GATOS config (profile); a commit chain. */
export const CONFIG_REF = 'refs/gatos/config';
/** Registered public keys of actors and engines; one commit chain for all keys. */
export const TRUST_KEYS_REF = 'refs/gatos/trust/keys';

/** Throws `GATOS_E_NAMESPACE` unless `ns` is a valid namespace name. */
export function assertNamespace(ns: string): void {
  if (typeof ns !== 'string' || !NAMESPACE_RE.test(ns)) {
    throw new GatosError('GATOS_E_NAMESPACE', `invalid namespace ${JSON.stringify(ns)}`, {
      data: { ns },
      hint: 'Namespaces are 1-64 chars of a-z, 0-9, _ and -, starting with a letter or digit.',
    });
  }
}

/** Splits and checks an actor id; throws `GATOS_E_ENVELOPE_ACTOR`. */
export function parseActor(actor: string): { kind: ActorKind; name: string } {
  const m = typeof actor === 'string' ? ACTOR_RE.exec(actor) : null;
  if (!m) {
    throw new GatosError('GATOS_E_ENVELOPE_ACTOR', `invalid actor ${JSON.stringify(actor)}`, {
      data: { actor },
      hint: 'Actors look like user:alice, agent:ci or service:gatosd.',
    });
  }
  return { kind: m[1] as ActorKind, name: m[2]! };
}

// Only these bytes stand for themselves in a ref component; every other byte becomes %XX. Dots are encoded so
// no component can end in `.lock` or `.`, or contain `..`.
const PLAIN = /[A-Za-z0-9_-]/;

/** Encodes an actor name as one ref component (reversible; see spec/refs-layout.md). */
export function encodeRefComponent(name: string): string {
  let out = '';
  for (const ch of name) {
    if (PLAIN.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Inverse of {@link encodeRefComponent}. */
export function decodeRefComponent(component: string): string {
  return decodeURIComponent(component);
}

/** `actor` → `<kind>/<encoded-name>`, the actor's path below a plane's root. */
export function actorRefPath(actor: string): string {
  const { kind, name } = parseActor(actor);
  return `${kind}/${encodeRefComponent(name)}`;
}

/** Inverse of {@link actorRefPath}. */
export function actorFromRefPath(path: string): string {
  const [kind, enc, ...rest] = path.split('/');
  if (!kind || !enc || rest.length > 0 || !(ACTOR_KINDS as readonly string[]).includes(kind)) {
    throw new GatosError('GATOS_E_REF_NAME', `not an actor ref path: ${path}`);
  }
  const actor = `${kind}:${decodeRefComponent(enc)}`;
  if (actorRefPath(actor) !== path)
    throw new GatosError('GATOS_E_REF_NAME', `non-canonical actor ref path: ${path}`);
  return actor;
}

/** The journal of one actor in one namespace: `refs/gatos/journal/<ns>/<kind>/<name>`. */
export function journalRef(ns: string, actor: string): string {
  assertNamespace(ns);
  return `refs/gatos/journal/${ns}/${actorRefPath(actor)}`;
}

/** The prefix under which all journals of a namespace live. */
export function journalPrefix(ns: string): string {
  assertNamespace(ns);
  return `refs/gatos/journal/${ns}/`;
}

/** Parses a journal ref back into namespace and actor, or null if it is not one. */
export function parseJournalRef(ref: string): { ns: string; actor: string } | null {
  const m = /^refs\/gatos\/journal\/([^/]+)\/([^/]+\/[^/]+)$/.exec(ref);
  if (!m || !NAMESPACE_RE.test(m[1]!)) return null;
  try {
    return { ns: m[1]!, actor: actorFromRefPath(m[2]!) };
  } catch {
    return null;
  }
}

/** The state checkpoint chain of a namespace: `refs/gatos/state/<ns>`. */
export function stateRef(ns: string): string {
  assertNamespace(ns);
  return `refs/gatos/state/${ns}`;
}

// ---- Governance (`spec/governance.md`): proposals, approvals, grants, and the policy chains.

/** ULIDs (canonical uppercase Crockford base32). */
export const PROPOSAL_ID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;

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

/** The chain of activations. */
export const POLICY_ACTIVE_REF = 'refs/gatos/policies/active';
/** Bundles live below this prefix, one ref per version. */
export const POLICY_BUNDLES_PREFIX = 'refs/gatos/policies/bundles/';

// ---- The message bus (`spec/message-bus.md`): a segment is `<mbus>/<topic>/<yyyy>/<mm>/<dd>/<seq>`, named by the
// UTC day it was opened and a 6-digit sequence number, so segment refs sort by name in publication order.

/** Topic and consumer-group names: like namespaces, one ref component. */
export const TOPIC_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** Consumer group names: the same grammar as topics. */
export const GROUP_RE = TOPIC_RE;
/** Root of all segment refs. */
export const MBUS_PREFIX = 'refs/gatos/mbus/';
/** Root of all summary chains. */
export const MBUS_SUMMARY_PREFIX = 'refs/gatos/mbus-summary/';
/** Root of all consumer-group positions. */
export const MBUS_ACK_PREFIX = 'refs/gatos/mbus-ack/';
/** Segment name: `yyyy/mm/dd/seq`. */
export const SEGMENT_NAME_RE = /^(\d{4})\/(\d{2})\/(\d{2})\/(\d{6})$/;

/** Throws `GATOS_E_BUS_TOPIC` unless `topic` is a valid topic name. */
export function assertTopic(topic: string): void {
  if (typeof topic !== 'string' || !TOPIC_RE.test(topic)) {
    throw new GatosError('GATOS_E_BUS_TOPIC', `invalid topic ${JSON.stringify(topic)}`, {
      data: { topic },
      hint: 'Topics are 1-64 chars of a-z, 0-9, _ and -, starting with a letter or digit.',
    });
  }
}

/** Throws `GATOS_E_BUS_GROUP` unless `group` is a valid consumer group name. */
export function assertGroup(group: string): void {
  if (typeof group !== 'string' || !GROUP_RE.test(group)) {
    throw new GatosError('GATOS_E_BUS_GROUP', `invalid consumer group ${JSON.stringify(group)}`, {
      data: { group },
      hint: 'Groups are 1-64 chars of a-z, 0-9, _ and -, starting with a letter or digit.',
    });
  }
}

/** A segment name split into its UTC day and sequence number. */
export interface SegmentName {
  /** `yyyy/mm/dd` */
  day: string;
  seq: number;
}

/** Parses `yyyy/mm/dd/seq`, or null. */
export function parseSegmentName(name: string): SegmentName | null {
  const m = SEGMENT_NAME_RE.exec(name);
  if (!m) return null;
  return { day: `${m[1]}/${m[2]}/${m[3]}`, seq: Number(m[4]) };
}

/** The prefix under which a topic's segments live (ends with `/`). */
export function segmentPrefix(topic: string): string {
  assertTopic(topic);
  return `${MBUS_PREFIX}${topic}/`;
}

/** The segment ref of a topic and segment name. */
export function segmentRef(topic: string, name: string): string {
  if (!parseSegmentName(name)) {
    throw new GatosError('GATOS_E_BUS_CORRUPT', `invalid segment name ${JSON.stringify(name)}`, {
      data: { name },
    });
  }
  return `${segmentPrefix(topic)}${name}`;
}

/** Splits a segment ref into topic and segment name, or null if it is not one. */
export function parseSegmentRef(ref: string): { topic: string; name: string } | null {
  if (!ref.startsWith(MBUS_PREFIX)) return null;
  const rest = ref.slice(MBUS_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return null;
  const topic = rest.slice(0, slash);
  const name = rest.slice(slash + 1);
  if (!TOPIC_RE.test(topic) || !parseSegmentName(name)) return null;
  return { topic, name };
}

/** The summary chain of a topic. */
export function summaryRef(topic: string): string {
  assertTopic(topic);
  return `${MBUS_SUMMARY_PREFIX}${topic}`;
}

/** The acknowledged position of a consumer group. */
export function ackRef(topic: string, group: string): string {
  assertTopic(topic);
  assertGroup(group);
  return `${MBUS_ACK_PREFIX}${topic}/${group}`;
}

// ---- The job plane (`spec/job-plane.md` § 1).

/** A job id: an Event-CID string (CIDv1 dag-cbor blake3-256, base32 lower). */
export const JOB_ID_RE = /^b[a-z2-7]{58}$/;
/** Prefix of every per-job ref. */
export const JOBS_PREFIX = 'refs/gatos/jobs/';
/** The result-cache index chain. */
export const JOB_CACHE_REF = 'refs/gatos/jobs/cache';
/** Prefix of the Proof-of-Execution audit chains. */
export const JOB_AUDIT_PREFIX = 'refs/gatos/audit/jobs/';
/** Bus topic of job announcements. */
export const JOBS_TOPIC = 'jobs';

/** True for a job id (an Event-CID string). */
export function isJobId(s: unknown): s is string {
  return typeof s === 'string' && JOB_ID_RE.test(s);
}

/** Throws `GATOS_E_JOB_NOT_FOUND` unless `jobId` is shaped like a job id. */
export function assertJobId(jobId: string): void {
  if (!isJobId(jobId)) {
    throw new GatosError('GATOS_E_JOB_NOT_FOUND', `not a job id: ${JSON.stringify(jobId)}`, {
      data: { jobId },
      hint: 'a job id is the Event-CID of the manifest: b followed by 58 base32 characters',
    });
  }
}

/** `refs/gatos/jobs/<job-id>/manifest`. */
export function jobManifestRef(jobId: string): string {
  assertJobId(jobId);
  return `${JOBS_PREFIX}${jobId}/manifest`;
}

/** `refs/gatos/jobs/<job-id>/claim`. */
export function jobClaimRef(jobId: string): string {
  assertJobId(jobId);
  return `${JOBS_PREFIX}${jobId}/claim`;
}

/** `refs/gatos/jobs/<job-id>/result`. */
export function jobResultRef(jobId: string): string {
  assertJobId(jobId);
  return `${JOBS_PREFIX}${jobId}/result`;
}

/** `refs/gatos/audit/jobs/<job-id>`. */
export function jobAuditRef(jobId: string): string {
  assertJobId(jobId);
  return `${JOB_AUDIT_PREFIX}${jobId}`;
}

/** Splits a per-job ref into job id and kind, or null for any other ref (including the cache ref). */
export function parseJobRef(ref: string): { jobId: string; kind: 'manifest' | 'claim' | 'result' } | null {
  const m = /^refs\/gatos\/jobs\/(b[a-z2-7]{58})\/(manifest|claim|result)$/.exec(ref);
  return m ? { jobId: m[1]!, kind: m[2] as 'manifest' | 'claim' | 'result' } : null;
}

// ---- Audit chains (`spec/push-gate.md` § 5): only the push-gate appends to the DENY chain.

/** Root of every audit chain (append-only: deletion is refused). */
export const AUDIT_PREFIX = 'refs/gatos/audit/';
/** The push-gate's DENY audit chain; pushes may not touch it. */
export const DENY_REF = 'refs/gatos/audit/policy/deny';

// ---- What the push-gate checks each ref as (`spec/push-gate.md` § 2).

/** Root of every policy ref (activations and bundles). */
export const POLICIES_PREFIX = 'refs/gatos/policies/';
/** Root of the trust plane. */
export const TRUST_PREFIX = 'refs/gatos/trust/';

/**
 * How the gate treats a ref: one kind per row of the gate's rule table (`spec/push-gate.md` § 2). `gatos-other`
 * is every name under `refs/gatos/` that no plane defines (yet): the gate refuses it (`ref-unknown`).
 */
export type RefKind =
  | 'plain'
  | 'gatos-other'
  | 'journal'
  | 'state'
  | 'policies'
  | 'audit'
  | 'trust'
  | 'job'
  | 'config'
  | 'governance'
  | 'bus';

/** Parses a governance ref (a proposal, an approval or a grant chain), or null. */
export function parseGovernanceRef(
  ref: string,
):
  | { kind: 'proposal' | 'grant'; proposal: string }
  | { kind: 'approval'; proposal: string; actor: string }
  | null {
  const m = /^refs\/gatos\/(proposals|grants)\/([^/]+)$/.exec(ref);
  if (m)
    return PROPOSAL_ID_RE.test(m[2]!)
      ? { kind: m[1] === 'proposals' ? 'proposal' : 'grant', proposal: m[2]! }
      : null;
  const a = parseApprovalRef(ref);
  return a ? { kind: 'approval', ...a } : null;
}

/** Parses a bus ref (a segment, a topic's summary chain, or a group's position), or null. */
export function parseBusRef(
  ref: string,
):
  | { kind: 'segment'; topic: string; name: string }
  | { kind: 'summary'; topic: string }
  | { kind: 'ack'; topic: string; group: string }
  | null {
  const seg = parseSegmentRef(ref);
  if (seg) return { kind: 'segment', ...seg };
  if (ref.startsWith(MBUS_SUMMARY_PREFIX)) {
    const topic = ref.slice(MBUS_SUMMARY_PREFIX.length);
    return TOPIC_RE.test(topic) ? { kind: 'summary', topic } : null;
  }
  const m = /^refs\/gatos\/mbus-ack\/([^/]+)\/([^/]+)$/.exec(ref);
  return m && TOPIC_RE.test(m[1]!) && GROUP_RE.test(m[2]!)
    ? { kind: 'ack', topic: m[1]!, group: m[2]! }
    : null;
}

/** True for refs the job plane owns: everything under the jobs prefix and the job audit chains. */
export function isJobPlaneRef(ref: string): boolean {
  return ref.startsWith(JOBS_PREFIX) || ref.startsWith(JOB_AUDIT_PREFIX);
}

/** Classifies a ref name by the plane it belongs to. */
export function refKind(ref: string): RefKind {
  if (!ref.startsWith(GATOS_PREFIX)) return 'plain';
  if (ref === TRUST_KEYS_REF) return 'trust';
  if (ref === CONFIG_REF) return 'config';
  if (parseGovernanceRef(ref)) return 'governance';
  if (parseBusRef(ref)) return 'bus';
  // Before 'audit': the job audit chains are checked with the rest of the job plane.
  if (isJobPlaneRef(ref)) return 'job';
  const plane = ref.split('/')[2];
  if (plane === 'journal' || plane === 'state' || plane === 'policies' || plane === 'audit') return plane;
  return 'gatos-other';
}

/** Parses a state ref back into its namespace, or null if it is not one. */
export function parseStateRef(ref: string): { ns: string } | null {
  const m = /^refs\/gatos\/state\/([^/]+)$/.exec(ref);
  return m && NAMESPACE_RE.test(m[1]!) ? { ns: m[1]! } : null;
}

/** A forced fetch refspec that mirrors `prefix*` (a prefix ending in `/`) to the same names. */
export function mirrorRefspec(prefix: string): string {
  return `+${prefix}*:${prefix}*`;
}

/**
 * The refs a worker mirrors (forced, pruned) as fetch refspecs. Bus summaries are taken for every topic (one ref
 * each, so few): an exact refspec for topic `jobs` alone would make git fail the whole fetch while that topic has no
 * summary yet, which is the usual case.
 */
export const JOB_FETCH_REFSPECS: readonly string[] = [
  mirrorRefspec(JOBS_PREFIX),
  mirrorRefspec(JOB_AUDIT_PREFIX),
  mirrorRefspec(`${MBUS_PREFIX}${JOBS_TOPIC}/`),
  mirrorRefspec(MBUS_SUMMARY_PREFIX),
  mirrorRefspec(TRUST_PREFIX),
];

/** The bus summary chain of topic `jobs`. */
export const JOB_SUMMARY_REF = `${MBUS_SUMMARY_PREFIX}${JOBS_TOPIC}`;
