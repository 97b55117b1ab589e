/**
 * The Proof-of-Fold statement (`spec/proof-of-fold.md` § 2–4): a signed in-toto statement that a fold of a
 * namespace's journals at given heads, by a given fold source and engine, under a given policy, yields a given state
 * root. Its digests, its validation, how it is built and signed.
 *
 * Digests: structures are hashed with blake3-256 (state root = CID like an Event-CID; history root), byte files
 * anyone may re-hash with coreutils use sha256 (fold source, proof envelope).
 */
import {
  ENGINE_RE,
  exactKeys,
  HEX64_RE,
  isCid,
  isCount,
  malformed,
  MAX_JOURNALS,
  mismatch,
} from './fold-fields.js';
import { hexOf, isPlainObject, sha256Hex } from '../encoding/bytes.js';
import { blake3 } from '@noble/hashes/blake3.js';
import { encodeCanonical } from '../encoding/canonical.js';
import { type DsseEnvelope, type DsseSigner, signDsse } from './dsse.js';
import { type GitIdent, type Oid, isOid } from '../store/git-object.js';
import {
  IN_TOTO_PAYLOAD_TYPE,
  type InTotoStatement,
  buildStatement,
  canonicalJson,
  statementBytes,
  validateStatement,
} from './in-toto.js';
import { ACTOR_RE, NAMESPACE_RE } from '../ref-layout.js';
import { stateRootDigestHex } from '../fold/state-root.js';

const enc = new TextEncoder();

/** `predicateType` of a Proof-of-Fold statement. */
export const PROOF_OF_FOLD_PREDICATE_TYPE = 'https://gatos.dev/proof-of-fold/v1';
/** Domain separation tag of {@link historyRoot} (22 bytes, ends in NUL). */
export const HISTORY_ROOT_DOMAIN = 'GATOS-HISTORY-ROOT-v1\0';
/** Author and committer of every checkpoint commit: fixed, so checkpoints hash the same everywhere. */
export const CHECKPOINT_IDENT: GitIdent = {
  name: 'GATOS',
  email: 'gatos@localhost',
  seconds: 0,
  tz: '+0000',
};
/** The files of a checkpoint tree, in git tree order. */
export const CHECKPOINT_FILES = ['fold.lua', 'proof.dsse.json', 'state.cbor', 'state.json'] as const;
/** Longest engine string. */
export const ENGINE_MAX_LENGTH = 256;

/** One journal folded: its actor, its head commit, and its length (events from its first commit to `head`). */
export interface FoldJournal {
  actor: string;
  head: Oid;
  events: number;
}

/** The events this checkpoint folded on top of the previous state, in namespace order. */
export interface FoldEventRange {
  /** Event-CID of the first event folded, or null when none was. */
  first: string | null;
  /** Event-CID of the last event folded, or null when none was. */
  last: string | null;
  count: number;
}

/** The fold VM limits the fold ran under (from the repository profile). */
export interface FoldProfile {
  fuel: number;
  memory_bytes: number;
}

/** The Proof-of-Fold predicate. No timestamps, no run metrics: equal folds give equal predicates. */
export interface ProofOfFoldPredicate {
  ns: string;
  state_root: string;
  history_root: string;
  journals: FoldJournal[];
  prev_checkpoint: Oid | null;
  prev_state_root: string | null;
  event_range: FoldEventRange;
  policy_root: string;
  fold_root: string;
  engine: string;
  profile: FoldProfile;
}

/** A Proof-of-Fold statement. */
export type ProofOfFoldStatement = InTotoStatement<ProofOfFoldPredicate>;

/** What {@link buildFoldStatement} needs: the predicate, `journals` in any order, `history_root` computed. */
export type ProofOfFoldFields = Omit<ProofOfFoldPredicate, 'history_root'> & { history_root?: string };

/** Predicate field names, in the order verifiers check them. */
export const PROOF_OF_FOLD_FIELDS = [
  'ns',
  'state_root',
  'history_root',
  'journals',
  'prev_checkpoint',
  'prev_state_root',
  'event_range',
  'policy_root',
  'fold_root',
  'engine',
  'profile',
] as const satisfies readonly (keyof ProofOfFoldPredicate)[];

// ---- digests -----------------------------------------------------------------------------------------------------

/**
 * The history root of a set of journal heads: lowercase hex of
 * `blake3-256("GATOS-HISTORY-ROOT-v1\0" ‖ DAG-CBOR([[actor, head], …]))`, pairs sorted by actor (UTF-16 code units;
 * actors are ASCII), heads as 40-char hex strings. Actors must be distinct. An empty set is allowed.
 */
export function historyRoot(journals: readonly { actor: string; head: Oid }[]): string {
  const pairs = journals.map((j) => {
    if (typeof j.actor !== 'string' || !ACTOR_RE.test(j.actor))
      throw malformed('journals', 'invalid actor', j.actor);
    if (!isOid(j.head)) throw malformed('journals', `invalid head for ${j.actor}`, j.head);
    return [j.actor, j.head] as [string, string];
  });
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (let i = 1; i < pairs.length; i++) {
    if (pairs[i]![0] === pairs[i - 1]![0]) throw malformed('journals', `duplicate actor ${pairs[i]![0]}`);
  }
  const body = encodeCanonical(pairs, { maxBytes: Number.MAX_SAFE_INTEGER });
  const domain = enc.encode(HISTORY_ROOT_DOMAIN);
  const msg = new Uint8Array(domain.length + body.length);
  msg.set(domain, 0);
  msg.set(body, domain.length);
  return hexOf(blake3(msg));
}

/** The fold root: lowercase hex sha256 of the fold source bytes (UTF-8 when given as a string). */
export function foldRoot(source: string | Uint8Array): string {
  return sha256Hex(typeof source === 'string' ? enc.encode(source) : source);
}

/** The digest a checkpoint's `Proof-Of-Fold:` trailer carries: lowercase hex sha256 of the envelope bytes. */
export function proofDigest(envelopeBytes: Uint8Array): string {
  return sha256Hex(envelopeBytes);
}

/** The engine string: `EchoLua/<version> wasmoon/<version> wasm-sha256/<hex of the Lua wasm binary>`. */
export function engineString(parts: { echolua: string; wasmoon: string; wasmSha256: string }): string {
  const s = `EchoLua/${parts.echolua} wasmoon/${parts.wasmoon} wasm-sha256/${parts.wasmSha256}`;
  if (!HEX64_RE.test(parts.wasmSha256) || /\s/.test(parts.echolua + parts.wasmoon) || !ENGINE_RE.test(s)) {
    throw malformed('engine', 'invalid engine parts', s);
  }
  return s;
}

// ---- the predicate -------------------------------------------------------------------------------------------

/** Throws `GATOS_E_PROOF_MALFORMED` (with `data.field`) unless `p` is a well-formed Proof-of-Fold predicate. */
export function validateFoldPredicate(p: unknown): asserts p is ProofOfFoldPredicate {
  if (!isPlainObject(p)) throw malformed('predicate', 'not an object');
  exactKeys(p, PROOF_OF_FOLD_FIELDS, 'predicate');
  if (typeof p.ns !== 'string' || !NAMESPACE_RE.test(p.ns)) throw malformed('ns', 'invalid namespace', p.ns);
  if (!isCid(p.state_root)) throw malformed('state_root', 'not a state root CID (b…)', p.state_root);
  if (typeof p.history_root !== 'string' || !HEX64_RE.test(p.history_root)) {
    throw malformed('history_root', 'not 64 lowercase hex', p.history_root);
  }
  const journals = p.journals;
  if (!Array.isArray(journals) || journals.length > MAX_JOURNALS) throw malformed('journals', 'not an array');
  let total = 0;
  journals.forEach((j: unknown, i) => {
    const field = `journals[${i}]`;
    if (!isPlainObject(j)) throw malformed(field, 'not an object');
    exactKeys(j, ['actor', 'head', 'events'], field);
    if (typeof j.actor !== 'string' || !ACTOR_RE.test(j.actor))
      throw malformed(field, 'invalid actor', j.actor);
    if (!isOid(j.head)) throw malformed(field, 'head is not a 40-hex commit id', j.head);
    if (!isCount(j.events, 1)) throw malformed(field, 'events must be an integer ≥ 1', j.events);
    const prev = i > 0 ? (journals[i - 1] as FoldJournal).actor : null;
    if (prev !== null && !(prev < j.actor)) {
      throw malformed('journals', 'journals must be sorted by actor, without duplicates', j.actor);
    }
    total += j.events;
  });
  const pc = p.prev_checkpoint;
  if (pc !== null && !isOid(pc)) throw malformed('prev_checkpoint', 'not null or a 40-hex commit id', pc);
  const ps = p.prev_state_root;
  if (ps !== null && !isCid(ps)) throw malformed('prev_state_root', 'not null or a state root CID', ps);
  if ((pc === null) !== (ps === null)) {
    throw malformed('prev_state_root', 'prev_checkpoint and prev_state_root are both null or both set');
  }
  const r = p.event_range;
  if (!isPlainObject(r)) throw malformed('event_range', 'not an object');
  exactKeys(r, ['first', 'last', 'count'], 'event_range');
  if (!isCount(r.count, 0)) throw malformed('event_range', 'count must be an integer ≥ 0', r.count);
  if (r.count === 0) {
    if (r.first !== null || r.last !== null)
      throw malformed('event_range', 'first and last must be null when count is 0');
  } else {
    if (!isCid(r.first) || !isCid(r.last))
      throw malformed('event_range', 'first and last must be Event-CIDs');
    if (r.count === 1 && r.first !== r.last)
      throw malformed('event_range', 'first and last differ but count is 1');
  }
  if (r.count > total)
    throw malformed('event_range', `count ${r.count} exceeds the journals' ${total} events`);
  if (pc === null && r.count !== total) {
    throw malformed('event_range', `a first checkpoint folds every event: count must be ${total}`, r.count);
  }
  if (typeof p.policy_root !== 'string' || !HEX64_RE.test(p.policy_root)) {
    throw malformed('policy_root', 'not 64 lowercase hex', p.policy_root);
  }
  if (typeof p.fold_root !== 'string' || !HEX64_RE.test(p.fold_root)) {
    throw malformed('fold_root', 'not 64 lowercase hex', p.fold_root);
  }
  if (typeof p.engine !== 'string' || p.engine.length > ENGINE_MAX_LENGTH || !ENGINE_RE.test(p.engine)) {
    throw malformed(
      'engine',
      'not 1-256 printable ASCII characters in single-space-separated words',
      p.engine,
    );
  }
  const prof = p.profile;
  if (!isPlainObject(prof)) throw malformed('profile', 'not an object');
  exactKeys(prof, ['fuel', 'memory_bytes'], 'profile');
  if (!isCount(prof.fuel, 1) || !isCount(prof.memory_bytes, 1)) {
    throw malformed('profile', 'fuel and memory_bytes must be integers ≥ 1');
  }
}

function subjectOf(p: ProofOfFoldPredicate): ProofOfFoldStatement['subject'] {
  return [{ name: `state:${p.ns}`, digest: { blake3: stateRootDigestHex(p.state_root) } }];
}

/**
 * Checks a Proof-of-Fold statement completely, without any signature: in-toto shape, `predicateType`, the
 * predicate ({@link validateFoldPredicate}), `history_root` against the journals and the subject against the state
 * root (`GATOS_E_PROOF_MISMATCH`, fields `history_root`, `subject`).
 */
export function validateFoldStatement(st: unknown): asserts st is ProofOfFoldStatement {
  validateStatement(st);
  if (st.predicateType !== PROOF_OF_FOLD_PREDICATE_TYPE) {
    throw malformed('predicateType', `must be ${PROOF_OF_FOLD_PREDICATE_TYPE}`, st.predicateType);
  }
  const p: unknown = st.predicate;
  validateFoldPredicate(p);
  const hr = historyRoot(p.journals);
  if (hr !== p.history_root) throw mismatch('history_root', hr, p.history_root);
  const subject = subjectOf(p);
  if (canonicalJson(subject) !== canonicalJson(st.subject)) throw mismatch('subject', subject, st.subject);
}

/**
 * Builds a Proof-of-Fold statement: sorts `journals` by actor, computes `history_root` (if `fields.history_root`
 * is given it must agree), derives the subject `state:<ns>` with digest `{ blake3: <hex inside state_root> }`,
 * and validates everything.
 */
export function buildFoldStatement(fields: ProofOfFoldFields): ProofOfFoldStatement {
  if (!Array.isArray(fields.journals)) throw malformed('journals', 'not an array');
  const journals = [...fields.journals]
    .map((j) => ({ actor: j.actor, head: j.head, events: j.events }))
    .sort((a, b) => (a.actor < b.actor ? -1 : a.actor > b.actor ? 1 : 0));
  const hr = historyRoot(journals);
  if (fields.history_root !== undefined && fields.history_root !== hr) {
    throw mismatch('history_root', hr, fields.history_root);
  }
  // Built field by field (fixed key set) and validated; `?.` so JS callers get a precise error, not a TypeError.
  const predicate: unknown = {
    ns: fields.ns,
    state_root: fields.state_root,
    history_root: hr,
    journals,
    prev_checkpoint: fields.prev_checkpoint,
    prev_state_root: fields.prev_state_root,
    event_range: {
      first: fields.event_range?.first,
      last: fields.event_range?.last,
      count: fields.event_range?.count,
    },
    policy_root: fields.policy_root,
    fold_root: fields.fold_root,
    engine: fields.engine,
    profile: { fuel: fields.profile?.fuel, memory_bytes: fields.profile?.memory_bytes },
  };
  validateFoldPredicate(predicate);
  const st = buildStatement(subjectOf(predicate), PROOF_OF_FOLD_PREDICATE_TYPE, predicate);
  validateFoldStatement(st);
  return st;
}

/** The canonical JSON bytes of a Proof-of-Fold statement (the DSSE payload). */
export function foldStatementBytes(statement: ProofOfFoldStatement): Uint8Array {
  validateFoldStatement(statement);
  return statementBytes(statement);
}

/** Signs a Proof-of-Fold statement: a DSSE envelope of its canonical bytes, `application/vnd.in-toto+json`. */
export function signProofOfFold(statement: ProofOfFoldStatement, signer: DsseSigner): DsseEnvelope {
  return signDsse(IN_TOTO_PAYLOAD_TYPE, foldStatementBytes(statement), [signer]);
}
