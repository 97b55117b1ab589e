import {
  CHECKPOINT_FILES,
  CHECKPOINT_IDENT,
  foldRoot,
  proofDigest,
  type ProofOfFoldPredicate,
  type ProofOfFoldStatement,
} from '../proofs/fold-statement.js';
import { foldStatementOfEnvelope } from '../proofs/proof-of-fold.js';
import { mismatch } from '../proofs/fold-fields.js';
import { type DsseEnvelope, parseDsse, serializeDsse } from '../proofs/dsse.js';
import { GatosError, isGatosError } from '../errors.js';
import {
  type GitObject,
  type Oid,
  type ParsedCommit,
  blobObject,
  commitObject,
  parseCommit,
  parseTrailers,
  treeObject,
} from '../store/git-object.js';
import { type JsonValue, canonicalJson } from '../proofs/in-toto.js';
import {
  type StateOptions,
  stateBytes as encodeState,
  stateFromBytes,
  stateJsonView,
  stateRootOfBytes,
} from '../fold/state-root.js';

const enc = new TextEncoder();

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
