/**
 * The DENY audit chain on `refs/gatos/audit/policy/deny` (`spec/push-gate.md` § 5): one commit per refused push,
 * each holding `deny.json` (canonical JSON) that names the previous record's digest; commits chain by parent.
 * Appends are compare-and-swap with jittered retry, so concurrent refused pushes never fork or lose a record.
 */
import { createHash } from 'node:crypto';
import { canonicalJsonBytes } from '../proofs/in-toto.js';
import { type RetryOptions, casRetry, casWrite } from '../chain/cas-retry.js';
import { GatosError } from '../errors.js';
import {
  type GitObject,
  type Oid,
  blobObject,
  commitObject,
  parseCommit,
  parseTree,
  treeObject,
} from '../store/git-object.js';
import type { ObjectStore } from '../store/object-store.js';
import { DENY_REF } from '../ref-layout.js';
import type { RefStore } from '../store/ref-store.js';

/** One refused ref update, as the gate records it (`rule` is a gate rule id or a rule of the active policy). */
export interface Denial {
  ref: string;
  old: Oid | null;
  new: Oid | null;
  rule: string;
  reason: string;
  /** The GATOS error code behind the refusal, when there is one. */
  code?: string;
  /** The actor the ref belongs to (journals), when known. */
  actor?: string;
  /** The offending commit, when known. */
  commit?: Oid;
}

/** The file holding a record inside a deny commit's tree. */
export const DENY_FILE = 'deny.json';
/** The record type tag. */
export const DENY_TYPE = 'gatos.deny/v1';

/** One DENY record, as stored (canonical JSON). */
export interface DenyRecord {
  type: typeof DENY_TYPE;
  /** The decision id: a ULID. */
  id: string;
  /** When the gate refused, RFC 3339 UTC with milliseconds. */
  ts: string;
  /** 1 for the first record, then +1. */
  seq: number;
  /** `sha256:<hex>` of the previous record's bytes, or null for the first. */
  prev: string | null;
  /** `sha256:<hex>` of the pre-receive input (the `<old> <new> <ref>` lines) exactly as received. */
  push_digest: string;
  /** Every update of the push (all were refused together). */
  updates: { ref: string; old: Oid | null; new: Oid | null }[];
  /** The updates that broke a rule. */
  denials: Denial[];
}

/** A record as read back with where it sits. */
export interface StoredDenyRecord {
  commit: Oid;
  digest: string;
  record: DenyRecord;
}

/** What a new record says, before the chain position (`seq`, `prev`) is filled in. */
export type DenyDraft = Omit<DenyRecord, 'seq' | 'prev' | 'type'>;

const GATE_IDENT = (seconds: number) => ({
  name: 'service:gatosd',
  email: 'service:gatosd',
  seconds,
  tz: '+0000',
});

/** `sha256:<hex>` of bytes. */
export function sha256Digest(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The stored bytes of a record: canonical JSON and a final newline. */
export function denyRecordBytes(record: DenyRecord): Uint8Array {
  const body = canonicalJsonBytes(record);
  const out = new Uint8Array(body.length + 1);
  out.set(body);
  out[body.length] = 0x0a;
  return out;
}

/** The commit (and objects) that appends `record` on top of `parent`. */
export function denyCommit(
  record: DenyRecord,
  parent: Oid | null,
): { commit: GitObject; objects: GitObject[] } {
  const bytes = denyRecordBytes(record);
  const blob = blobObject(bytes);
  const tree = treeObject([{ mode: '100644', name: DENY_FILE, oid: blob.oid }]);
  const ident = GATE_IDENT(Math.floor(Date.parse(record.ts) / 1000));
  const rules = [...new Set(record.denials.map((d) => d.rule))].join(', ');
  const commit = commitObject({
    tree: tree.oid,
    parents: parent ? [parent] : [],
    author: ident,
    committer: ident,
    message:
      `gatos deny ${record.id}: ${record.denials.length} ref(s) refused (${rules})\n\n` +
      `Deny-Id: ${record.id}\nDeny-Digest: ${sha256Digest(bytes)}\n` +
      (record.prev ? `Deny-Prev: ${record.prev}\n` : ''),
  });
  return { commit, objects: [blob, tree, commit] };
}

function corrupt(commit: Oid, why: string): GatosError {
  return new GatosError('GATOS_E_AUDIT_CORRUPT', `deny record ${commit.slice(0, 12)}: ${why}`, {
    data: { commit },
  });
}

/** Reads the records of the given commits (any order), checking each tree holds exactly `deny.json`. */
async function readRecords(
  objects: ObjectStore,
  commits: { oid: Oid; tree: Oid }[],
): Promise<StoredDenyRecord[]> {
  const trees = await objects.get(commits.map((c) => c.tree));
  const blobIds = commits.map((c, i) => {
    const entries = parseTree(c.tree, trees[i]!.body);
    if (entries.length !== 1 || entries[0]!.name !== DENY_FILE)
      throw corrupt(c.oid, `tree must hold ${DENY_FILE}`);
    return entries[0]!.oid;
  });
  const blobs = await objects.get(blobIds);
  return commits.map((c, i) => {
    const bytes = blobs[i]!.body;
    let record: DenyRecord;
    try {
      record = JSON.parse(Buffer.from(bytes).toString('utf8')) as DenyRecord;
    } catch {
      throw corrupt(c.oid, `${DENY_FILE} is not JSON`);
    }
    if (record?.type !== DENY_TYPE) throw corrupt(c.oid, `not a ${DENY_TYPE} record`);
    if (!Buffer.from(denyRecordBytes(record)).equals(Buffer.from(bytes))) {
      throw corrupt(c.oid, `${DENY_FILE} is not canonical JSON`);
    }
    return { commit: c.oid, digest: sha256Digest(bytes), record };
  });
}

/** Options of {@link appendDenyRecord}: the compare-and-swap retry policy. */
export type AppendDenyOptions = Partial<RetryOptions>;

/**
 * Appends a record to the deny chain with compare-and-swap; on a lost race re-reads the head, re-links the record
 * (`seq`, `prev`) and retries after a jittered, growing delay. The stores MUST write to the real repository (not
 * a pre-receive quarantine, whose objects git discards when the push is refused).
 */
export async function appendDenyRecord(
  objects: ObjectStore,
  refs: RefStore,
  draft: DenyDraft,
  opts: AppendDenyOptions = {},
): Promise<StoredDenyRecord> {
  const message = `could not append to ${DENY_REF}: it keeps moving`;
  return casRetry({ objects, refs, ref: DENY_REF, retry: opts, message }, async () => {
    const head = await refs.read(DENY_REF);
    let prev: StoredDenyRecord | null = null;
    if (head) {
      const [c] = await objects.get([head]);
      prev = (await readRecords(objects, [parseCommit(head, c!.body)]))[0]!;
    }
    const record: DenyRecord = {
      type: DENY_TYPE,
      id: draft.id,
      ts: draft.ts,
      seq: prev ? prev.record.seq + 1 : 1,
      prev: prev ? prev.digest : null,
      push_digest: draft.push_digest,
      updates: draft.updates,
      denials: draft.denials,
    };
    const { commit, objects: objs } = denyCommit(record, head);
    const stored = { commit: commit.oid, digest: sha256Digest(denyRecordBytes(record)), record };
    return casWrite(objs, { ref: DENY_REF, expect: head, next: commit.oid }, stored);
  });
}

/** The deny chain, newest first, with the result of checking its links. */
export interface DenyLog {
  head: Oid | null;
  records: StoredDenyRecord[];
  /** True when every record names its predecessor's digest, `seq` counts 1, 2, … and commits chain by parent. */
  chainOk: boolean;
  problems: string[];
}

/** Reads and checks the whole deny chain. */
export async function readDenyLog(objects: ObjectStore, refs: RefStore): Promise<DenyLog> {
  const head = await refs.read(DENY_REF);
  if (!head) return { head, records: [], chainOk: true, problems: [] };
  const commits = await objects.chain(head);
  const records = await readRecords(objects, commits);
  const problems: string[] = [];
  records.forEach((r, i) => {
    const before = i > 0 ? records[i - 1]! : null;
    if (r.record.seq !== i + 1) problems.push(`${r.record.id}: seq ${r.record.seq}, expected ${i + 1}`);
    if (r.record.prev !== (before?.digest ?? null)) {
      problems.push(`${r.record.id}: prev ${r.record.prev} does not name ${before?.digest ?? 'null'}`);
    }
    const parents = commits[i]!.parents;
    if (parents.length !== (before ? 1 : 0) || (before && parents[0] !== before.commit)) {
      problems.push(`${r.record.id}: commit does not extend the previous record`);
    }
  });
  return { head, records: records.reverse(), chainOk: problems.length === 0, problems };
}

/** Finds one record by decision id (or a unique prefix of it, or its commit id). */
export async function findDenyRecord(
  objects: ObjectStore,
  refs: RefStore,
  id: string,
): Promise<StoredDenyRecord> {
  const log = await readDenyLog(objects, refs);
  const want = id.toUpperCase();
  const hits = log.records.filter(
    (r) => r.record.id === want || r.commit === id || (id.length >= 6 && r.record.id.startsWith(want)),
  );
  if (hits.length !== 1) {
    throw new GatosError(
      'GATOS_E_AUDIT_NOT_FOUND',
      hits.length ? `deny id ${id} is ambiguous` : `no deny record ${id}`,
      {
        data: { id, matches: hits.map((h) => h.record.id) },
        hint: 'List records with `git gatos audit log`.',
      },
    );
  }
  return hits[0]!;
}
