/**
 * Proof-of-Fold: a signed in-toto statement that a fold of a namespace's journals at given heads, by a given fold
 * source and engine, under a given policy, yields a given state root; and the checkpoint commit on
 * `refs/gatos/state/<ns>` that carries the state, the proof and the fold source.
 *
 * Digests: structures are hashed with blake3-256 (state root = CID like an Event-CID; history root), byte files
 * anyone may re-hash with coreutils use sha256 (fold source, proof envelope). Normative text:
 * `spec/proof-of-fold.md`.
 */
import { createHash } from 'node:crypto';
import { blake3 } from '@noble/hashes/blake3.js';
import { encodeCanonical } from '../encoding/canonical.js';
import {
  type DsseEnvelope,
  type DsseSigner,
  assertDsseEnvelope,
  decodeBase64Strict,
  openDsse,
  parseDsse,
  serializeDsse,
  signDsse,
} from './dsse.js';
import { GatosError, isGatosError } from '../errors.js';
import { parseEventCid } from '../events/event-cid.js';
import {
  type GitIdent,
  type GitObject,
  type Oid,
  type ParsedCommit,
  blobObject,
  commitObject,
  isOid,
  parseCommit,
  parseTrailers,
  treeObject,
} from '../store/git-object.js';
import {
  IN_TOTO_PAYLOAD_TYPE,
  type InTotoStatement,
  type JsonValue,
  buildStatement,
  canonicalJson,
  parseStatement,
  statementBytes,
  validateStatement,
} from './in-toto.js';
import { ACTOR_RE, NAMESPACE_RE } from '../ref-layout.js';
import {
  type StateOptions,
  stateBytes as encodeState,
  stateFromBytes,
  stateJsonView,
  stateRootDigestHex,
  stateRootOfBytes,
} from '../fold/state-root.js';

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

const enc = new TextEncoder();
const HEX64_RE = /^[0-9a-f]{64}$/;
const ENGINE_RE = /^[\x21-\x7e]+(?: [\x21-\x7e]+)*$/;
const MAX_JOURNALS = 100_000;

function hexOf(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function sha256Hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

function malformed(field: string, why: string, actual?: unknown): GatosError {
  return new GatosError('GATOS_E_PROOF_MALFORMED', `proof-of-fold ${field}: ${why}`, {
    data: { field, ...(actual === undefined ? {} : { actual }) },
  });
}

function show(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s === undefined ? 'undefined' : s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

function mismatch(field: string, expected: unknown, actual: unknown, what = 'proof-of-fold'): GatosError {
  return new GatosError(
    'GATOS_E_PROOF_MISMATCH',
    `${what} ${field}: expected ${show(expected)}, got ${show(actual)}`,
    { data: { field, expected, actual } },
  );
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

function exactKeys(v: Record<string, unknown>, keys: readonly string[], field: string): void {
  for (const k of Object.keys(v)) {
    if (!keys.includes(k)) throw malformed(field, `unknown field ${JSON.stringify(k)}`);
  }
  for (const k of keys) if (!Object.hasOwn(v, k)) throw malformed(field, `missing field ${k}`);
}

function isCid(v: unknown): v is string {
  if (typeof v !== 'string') return false;
  try {
    parseEventCid(v);
    return true;
  } catch {
    return false;
  }
}

const isCount = (v: unknown, min: number): v is number => Number.isSafeInteger(v) && (v as number) >= min;

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

// ---- verification --------------------------------------------------------------------------------------------

/** A registered key as a verifier sees it. */
export interface ProofKey {
  actor: string;
  publicKey: Uint8Array;
}

/** Where verification looks keys up: a trust registry (`TrustSet`) or a function. */
export type ProofTrust = { byId: ReadonlyMap<string, ProofKey> } | ((keyid: string) => ProofKey | undefined);

/** Options of {@link verifyProofOfFold}. */
export interface VerifyProofOfFoldOptions {
  /** When given, only keys of these actors count (the gate's list of trusted engines). */
  actors?: readonly string[];
  /** Distinct keys required (default 1). */
  threshold?: number;
}

/** A verified proof. */
export interface VerifiedProofOfFold {
  statement: ProofOfFoldStatement;
  predicate: ProofOfFoldPredicate;
  /** The keys whose signatures counted. */
  signers: { keyid: string; actor: string }[];
  /** The payload that was verified: the statement's canonical bytes. */
  payload: Uint8Array;
}

function resolverOf(trust: ProofTrust): (keyid: string) => ProofKey | undefined {
  return typeof trust === 'function' ? trust : (keyid) => trust.byId.get(keyid);
}

function sameField(field: string, expected: unknown, actual: unknown): boolean {
  if (field === 'journals' && Array.isArray(expected)) {
    const sorted = [...(expected as FoldJournal[])].sort((a, b) =>
      a.actor < b.actor ? -1 : a.actor > b.actor ? 1 : 0,
    );
    return canonicalJson(sorted) === canonicalJson(actual);
  }
  try {
    return canonicalJson(expected) === canonicalJson(actual);
  } catch {
    return false;
  }
}

/**
 * Verifies a Proof-of-Fold envelope (object or its bytes, which must then be canonical), in this order:
 * 1. envelope shape, `payloadType` = `application/vnd.in-toto+json` (`GATOS_E_PROOF_MALFORMED`);
 * 2. signatures: at least `threshold` distinct registered keys (of `opts.actors`, if given) sign the PAE
 *    (`GATOS_E_PROOF_SIG`); any key of the trust registry is acceptable unless `opts.actors` narrows it;
 * 3. the payload is a canonical, complete Proof-of-Fold statement ({@link validateFoldStatement});
 * 4. each field of `expected` equals the predicate's (`GATOS_E_PROOF_MISMATCH`, `data: {field, expected, actual}`),
 *    checked in the order of {@link PROOF_OF_FOLD_FIELDS}; `journals` may be given in any order.
 */
export function verifyProofOfFold(
  envelope: DsseEnvelope | Uint8Array | string,
  trust: ProofTrust,
  expected: Partial<ProofOfFoldPredicate> = {},
  opts: VerifyProofOfFoldOptions = {},
): VerifiedProofOfFold {
  const env = envelope instanceof Uint8Array || typeof envelope === 'string' ? parseDsse(envelope) : envelope;
  const resolve = resolverOf(trust);
  const actors = opts.actors;
  const refused: { keyid: string; actor: string }[] = [];
  const actorOf = new Map<string, string>();
  let opened: ReturnType<typeof openDsse>;
  try {
    if (isPlainObject(env) && env.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
      throw malformed('payloadType', `must be ${IN_TOTO_PAYLOAD_TYPE}`, env.payloadType);
    }
    opened = openDsse(
      env,
      (keyid) => {
        const k = resolve(keyid);
        if (k === undefined) return undefined;
        if (actors !== undefined && !actors.includes(k.actor)) {
          refused.push({ keyid, actor: k.actor });
          return undefined;
        }
        actorOf.set(keyid, k.actor);
        return k.publicKey;
      },
      opts.threshold === undefined ? {} : { threshold: opts.threshold },
    );
  } catch (e) {
    if (isGatosError(e, 'GATOS_E_PROOF_SIG') && refused.length > 0) {
      throw new GatosError(
        'GATOS_E_PROOF_SIG',
        `${e.message}; signed by ${refused.map((r) => r.actor).join(', ')}, not an accepted engine`,
        { data: { ...e.data, refused }, hint: `accepted engines: ${(actors ?? []).join(', ')}`, cause: e },
      );
    }
    throw e;
  }
  const statement = parseStatement(opened.payload);
  validateFoldStatement(statement);
  const predicate = statement.predicate;
  for (const k of Object.keys(expected)) {
    if (!(PROOF_OF_FOLD_FIELDS as readonly string[]).includes(k)) {
      throw new GatosError('GATOS_E_INTERNAL', `verifyProofOfFold: unknown expected field ${k}`);
    }
  }
  for (const field of PROOF_OF_FOLD_FIELDS) {
    if (!Object.hasOwn(expected, field)) continue;
    const want = expected[field];
    if (!sameField(field, want, predicate[field])) throw mismatch(field, want, predicate[field]);
  }
  return {
    statement,
    predicate,
    signers: opened.verified.map((v) => ({ keyid: v.keyid, actor: actorOf.get(v.keyid)! })),
    payload: opened.payload,
  };
}

/** Reads the statement of an envelope WITHOUT checking signatures (for building and inspecting checkpoints). */
export function foldStatementOfEnvelope(envelope: DsseEnvelope): ProofOfFoldStatement {
  assertDsseEnvelope(envelope);
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw malformed('payloadType', `must be ${IN_TOTO_PAYLOAD_TYPE}`, envelope.payloadType);
  }
  const payload = decodeBase64Strict(envelope.payload);
  if (payload === null) throw malformed('payload', 'not strict standard base64');
  const st = parseStatement(payload);
  validateFoldStatement(st);
  return st;
}

// ---- checkpoint commits --------------------------------------------------------------------------------------

/** The message of a checkpoint commit: subject, blank line, trailers in fixed order, final newline. */
export function checkpointMessage(predicate: ProofOfFoldPredicate, proofDigestHex: string): string {
  const lines = [
    `State-Root: ${predicate.state_root}`,
    `History-Root: ${predicate.history_root}`,
    ...predicate.journals.map((j) => `Journal-Head: ${j.actor} ${j.head}`),
    `Policy-Root: ${predicate.policy_root}`,
    `Fold-Root: ${predicate.fold_root}`,
    `Fold-Engine: ${predicate.engine}`,
    `Proof-Of-Fold: ${proofDigestHex}`,
  ];
  return `gatos state ${predicate.ns}: ${predicate.event_range.count} events\n\n${lines.join('\n')}\n`;
}

/** Input of {@link checkpointCommit}. */
export interface CheckpointInput {
  /** The signed Proof-of-Fold envelope. */
  envelope: DsseEnvelope;
  /** The folded state. */
  state: JsonValue;
  /** `stateBytes(state)` if the caller has it already (saves re-encoding a large state). */
  stateBytes?: Uint8Array;
  /** The fold source (`fold.lua`). */
  foldSource: string;
  /** State size limits. */
  stateOptions?: StateOptions;
}

/** A checkpoint commit and every object it needs (blobs, tree, commit). */
export interface CheckpointObjects {
  commit: GitObject;
  tree: GitObject;
  objects: GitObject[];
  /** The bytes of each file of the tree. */
  files: Record<(typeof CHECKPOINT_FILES)[number], Uint8Array>;
  statement: ProofOfFoldStatement;
  proofDigest: string;
}

/**
 * The checkpoint commit for `refs/gatos/state/<ns>`: tree `fold.lua`, `proof.dsse.json`, `state.cbor`,
 * `state.json`; parent = the predicate's `prev_checkpoint` (none when null); author and committer
 * {@link CHECKPOINT_IDENT}; message {@link checkpointMessage}. Checks the state and fold source against the
 * statement (`GATOS_E_PROOF_MISMATCH`, fields `state_root`, `fold_root`); does not check signatures.
 */
export function checkpointCommit(input: CheckpointInput): CheckpointObjects {
  const statement = foldStatementOfEnvelope(input.envelope);
  const p = statement.predicate;
  const sb = input.stateBytes ?? encodeState(input.state, input.stateOptions);
  const root = stateRootOfBytes(sb);
  if (root !== p.state_root) throw mismatch('state_root', p.state_root, root, 'checkpoint');
  if (typeof input.foldSource !== 'string')
    throw new GatosError('GATOS_E_INTERNAL', 'foldSource must be a string');
  const foldBytes = enc.encode(input.foldSource);
  const fr = foldRoot(foldBytes);
  if (fr !== p.fold_root) throw mismatch('fold_root', p.fold_root, fr, 'checkpoint');
  const envBytes = serializeDsse(input.envelope);
  const digest = proofDigest(envBytes);
  const files = {
    'fold.lua': foldBytes,
    'proof.dsse.json': envBytes,
    'state.cbor': sb,
    'state.json': enc.encode(stateJsonView(input.state, input.stateOptions)),
  };
  const blobs = CHECKPOINT_FILES.map((name) => ({ name, blob: blobObject(files[name]) }));
  const tree = treeObject(blobs.map(({ name, blob }) => ({ mode: '100644', name, oid: blob.oid })));
  const commit = commitObject({
    tree: tree.oid,
    parents: p.prev_checkpoint === null ? [] : [p.prev_checkpoint],
    author: CHECKPOINT_IDENT,
    committer: CHECKPOINT_IDENT,
    message: checkpointMessage(p, digest),
  });
  return {
    commit,
    tree,
    objects: [...blobs.map((b) => b.blob), tree, commit],
    files,
    statement,
    proofDigest: digest,
  };
}

/** A checkpoint read back by {@link parseCheckpoint}. */
export interface Checkpoint {
  oid: Oid;
  parent: Oid | null;
  ns: string;
  /** Events folded by this checkpoint (`event_range.count`). */
  count: number;
  stateRoot: string;
  historyRoot: string;
  journals: { actor: string; head: Oid }[];
  policyRoot: string;
  foldRoot: string;
  engine: string;
  proofDigest: string;
  state: JsonValue;
  stateBytes: Uint8Array;
  foldSource: string;
  envelope: DsseEnvelope;
  envelopeBytes: Uint8Array;
  /** The statement, NOT signature-checked: call {@link verifyProofOfFold} on `envelope`. */
  statement: ProofOfFoldStatement;
  predicate: ProofOfFoldPredicate;
}

function invalid(oid: string, why: string, data: Record<string, unknown> = {}, cause?: unknown): GatosError {
  return new GatosError('GATOS_E_CHECKPOINT_INVALID', `checkpoint ${oid}: ${why}`, {
    data: { commit: oid, ...data },
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * Reads a checkpoint commit back: `files` are the blobs of its tree by name (exactly {@link CHECKPOINT_FILES}).
 * Parses the trailers into fields and checks, in order: the files and their formats (`GATOS_E_CHECKPOINT_INVALID`,
 * `data.file`), the statement ({@link validateFoldStatement}), the state root, fold root, parent and every trailer
 * against the statement (`GATOS_E_PROOF_MISMATCH`, `data.field` e.g. `state_root` or `trailer:Fold-Engine`), and
 * finally that rebuilding the commit with {@link checkpointCommit} gives the same tree and commit id. Signatures are
 * NOT checked here.
 */
export function parseCheckpoint(
  commit: ParsedCommit,
  files: ReadonlyMap<string, Uint8Array> | Readonly<Record<string, Uint8Array>>,
  opts: { stateOptions?: StateOptions } = {},
): Checkpoint {
  const oid = commit.oid;
  const get = (name: string): Uint8Array | undefined =>
    files instanceof Map ? files.get(name) : (files as Record<string, Uint8Array>)[name];
  const names = (files instanceof Map ? [...files.keys()] : Object.keys(files)).sort();
  if (canonicalJson(names) !== canonicalJson([...CHECKPOINT_FILES])) {
    throw invalid(oid, `tree must hold exactly ${CHECKPOINT_FILES.join(', ')}`, { files: names });
  }
  const stateBytes = get('state.cbor')!;
  const envelopeBytes = get('proof.dsse.json')!;
  const foldBytes = get('fold.lua')!;
  let foldSource: string;
  try {
    foldSource = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(foldBytes);
  } catch (cause) {
    throw invalid(oid, 'fold.lua is not UTF-8', { file: 'fold.lua' }, cause);
  }
  const wrap = <T>(file: string, fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      if (isGatosError(e) && e.code !== 'GATOS_E_PROOF_MISMATCH') {
        throw invalid(oid, `${file}: ${e.message}`, { file, reason: e.code, ...e.data }, e);
      }
      throw e;
    }
  };
  const envelope = wrap('proof.dsse.json', () => parseDsse(envelopeBytes));
  const statement = wrap('proof.dsse.json', () => foldStatementOfEnvelope(envelope));
  const state = wrap('state.cbor', () => stateFromBytes(stateBytes, opts.stateOptions));
  const p = statement.predicate;

  const root = stateRootOfBytes(stateBytes);
  if (root !== p.state_root) throw mismatch('state_root', p.state_root, root, `checkpoint ${oid}`);
  const fr = foldRoot(foldBytes);
  if (fr !== p.fold_root) throw mismatch('fold_root', p.fold_root, fr, `checkpoint ${oid}`);
  const parent =
    commit.parents.length === 0 ? null : commit.parents.length === 1 ? commit.parents[0]! : undefined;
  if (parent === undefined)
    throw invalid(oid, 'a checkpoint has at most one parent', { parents: commit.parents });
  if (parent !== p.prev_checkpoint)
    throw mismatch('prev_checkpoint', p.prev_checkpoint, parent, `checkpoint ${oid}`);

  // Trailers → fields.
  const tr = parseTrailers(commit.message);
  const one = (key: string): string => {
    const v = tr.get(key);
    if (v === undefined || v.length !== 1)
      throw invalid(oid, `needs exactly one ${key}: trailer`, { trailer: key });
    return v[0]!;
  };
  const subject = /^gatos state ([^:\n]+): (\d+) events\n\n/.exec(commit.message);
  if (!subject) throw invalid(oid, 'subject is not "gatos state <ns>: <count> events"');
  const ns = subject[1]!;
  const count = Number(subject[2]);
  const heads = (tr.get('Journal-Head') ?? []).map((line) => {
    const m = /^(\S+) ([0-9a-f]{40})$/.exec(line);
    if (!m) throw invalid(oid, `malformed Journal-Head: ${line}`, { trailer: 'Journal-Head' });
    return { actor: m[1]!, head: m[2]! };
  });
  const cp = {
    stateRoot: one('State-Root'),
    historyRoot: one('History-Root'),
    policyRoot: one('Policy-Root'),
    foldRoot: one('Fold-Root'),
    engine: one('Fold-Engine'),
    proofDigest: one('Proof-Of-Fold'),
  };
  const digest = proofDigest(envelopeBytes);
  const checks: [string, unknown, unknown][] = [
    ['subject:ns', p.ns, ns],
    ['subject:count', p.event_range.count, count],
    ['trailer:State-Root', p.state_root, cp.stateRoot],
    ['trailer:History-Root', p.history_root, cp.historyRoot],
    ['trailer:Journal-Head', p.journals.map((j) => ({ actor: j.actor, head: j.head })), heads],
    ['trailer:Policy-Root', p.policy_root, cp.policyRoot],
    ['trailer:Fold-Root', p.fold_root, cp.foldRoot],
    ['trailer:Fold-Engine', p.engine, cp.engine],
    ['trailer:Proof-Of-Fold', digest, cp.proofDigest],
  ];
  for (const [field, want, got] of checks) {
    if (canonicalJson(want) !== canonicalJson(got)) throw mismatch(field, want, got, `checkpoint ${oid}`);
  }

  const rebuilt = checkpointCommit({
    envelope,
    state,
    stateBytes,
    foldSource,
    ...(opts.stateOptions === undefined ? {} : { stateOptions: opts.stateOptions }),
  });
  const jsonView = get('state.json')!;
  if (Buffer.compare(rebuilt.files['state.json'], jsonView) !== 0) {
    throw invalid(oid, 'state.json is not the JSON view of state.cbor', { file: 'state.json' });
  }
  if (rebuilt.tree.oid !== commit.tree) {
    throw invalid(oid, `tree ${commit.tree} differs from the rebuilt tree ${rebuilt.tree.oid}`, {
      expected: rebuilt.tree.oid,
      actual: commit.tree,
    });
  }
  const canon = parseCommit(rebuilt.commit.oid, rebuilt.commit.body);
  for (const field of ['author', 'committer', 'message'] as const) {
    if (canonicalJson(canon[field]) !== canonicalJson(commit[field])) {
      throw invalid(oid, `${field} differs from the canonical checkpoint commit`, {
        field,
        expected: canon[field],
        actual: commit[field],
      });
    }
  }
  if (rebuilt.commit.oid !== oid) {
    throw invalid(
      oid,
      `commit differs from its canonical rebuild ${rebuilt.commit.oid} (identity or message)`,
      {
        expected: rebuilt.commit.oid,
        actual: oid,
      },
    );
  }
  return {
    oid,
    parent,
    ns,
    count,
    ...cp,
    journals: heads,
    state,
    stateBytes,
    foldSource,
    envelope,
    envelopeBytes,
    statement,
    predicate: p,
  };
}
