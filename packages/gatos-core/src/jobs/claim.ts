/**
 * Claims (`refs/gatos/jobs/<job-id>/claim`): a chain of signed claim records — claim, heartbeats, release,
 * reclaim, done. Every step is one compare-and-swap from the tip the actor read. This file holds the record, its
 * signature, the pure decision rule and the transition builder; the store operations are in `job-store.ts`.
 * Normative text: `spec/job-plane.md` § 4.
 */
import { decodeCanonical, encodeValidated } from '../encoding/canonical.js';
import type { DsseSigner } from '../proofs/dsse.js';
import { verifySignature } from '../trust/ed25519.js';
import { GatosError } from '../errors.js';
import { type GitObject, type Oid, type ParsedCommit, isOid } from '../store/git-object.js';
import type { ObjectStore } from '../store/object-store.js';
import { filesCommit, readCommitFiles } from './commit-files.js';
import { fieldFail, intIn, objectWith, stringOf, WORKER_KEY_ID_RE } from './fields.js';
import { JOB_ID_RE } from '../ref-layout.js';

/** File of the claim record in a claim commit. */
export const CLAIM_FILE = 'claim.cbor';
/** File of the claim signature (raw 64 bytes) in a claim commit. */
export const CLAIM_SIG_FILE = 'claim.sig';
/** Domain tag of the claim signature. */
export const CLAIM_SIG_DOMAIN = 'gatos/job-claim/v1\0';
/** Default clock skew allowance when deciding that a lease expired. */
export const DEFAULT_CLAIM_SKEW_MS = 2000;
/** Bounds of a lease: 1 ms to 24 h. */
export const LEASE_MS_RANGE = [1, 86_400_000] as const;

/** A claim state. */
export type ClaimState = 'claimed' | 'released' | 'done';

/** One claim record (`claim.cbor`). */
export interface ClaimRecord {
  v: 1;
  type: 'gatos.job.claim';
  job_id: string;
  epoch: number;
  seq: number;
  state: ClaimState;
  worker: string;
  lease_ms: number;
  expires_at_ms: number;
  result: string | null;
}

/** Signs claim messages: the worker's key id and an Ed25519 signing function (same shape as a DSSE signer). */
export type ClaimSigner = DsseSigner;

const CLAIM_KEYS = [
  'v',
  'type',
  'job_id',
  'epoch',
  'seq',
  'state',
  'worker',
  'lease_ms',
  'expires_at_ms',
  'result',
] as const;
const fail = fieldFail('GATOS_E_JOB_RECORD', 'claim');
const enc = new TextEncoder();

/** Throws `GATOS_E_JOB_RECORD` (with `data.path`) unless `v` is a well-formed claim record. */
export function validateClaim(v: unknown): asserts v is ClaimRecord {
  const c = objectWith(v, CLAIM_KEYS, '(root)', fail);
  if (c.v !== 1) throw fail('v', 'must be 1');
  if (c.type !== 'gatos.job.claim') throw fail('type', "must be 'gatos.job.claim'");
  stringOf(c.job_id, 'job_id', fail, { max: 59, re: JOB_ID_RE, reWhy: 'must be a job id (b…)' });
  intIn(c.epoch, 0, Number.MAX_SAFE_INTEGER, 'epoch', fail);
  intIn(c.seq, 0, Number.MAX_SAFE_INTEGER, 'seq', fail);
  if (c.state !== 'claimed' && c.state !== 'released' && c.state !== 'done') {
    throw fail('state', 'must be claimed, released or done');
  }
  stringOf(c.worker, 'worker', fail, {
    max: 40,
    re: WORKER_KEY_ID_RE,
    reWhy: 'must be a key id ed25519:<32 hex>',
  });
  intIn(c.lease_ms, ...LEASE_MS_RANGE, 'lease_ms', fail);
  intIn(c.expires_at_ms, 0, Number.MAX_SAFE_INTEGER, 'expires_at_ms', fail);
  if (c.state === 'done') {
    if (!isOid(c.result)) throw fail('result', 'a done claim names its result commit (40 hex)');
  } else if (c.result !== null) throw fail('result', 'must be null unless the state is done');
}

/** The canonical bytes of a claim record (`claim.cbor`). */
export function encodeClaim(record: ClaimRecord): Uint8Array {
  validateClaim(record);
  const copy: Record<string, unknown> = {};
  for (const k of CLAIM_KEYS) copy[k] = record[k];
  return encodeValidated(copy, 4096);
}

/** Strictly decodes and validates `claim.cbor`. */
export function decodeClaim(bytes: Uint8Array): ClaimRecord {
  const v = decodeCanonical(bytes, { maxBytes: 4096 });
  validateClaim(v);
  return v;
}

/** The signed message: `"gatos/job-claim/v1\0" ‖ claim.cbor`. */
export function claimSigningInput(claimBytes: Uint8Array): Uint8Array {
  const d = enc.encode(CLAIM_SIG_DOMAIN);
  const out = new Uint8Array(d.length + claimBytes.length);
  out.set(d, 0);
  out.set(claimBytes, d.length);
  return out;
}

/** The outcome of checking a claim signature. */
export type ClaimSignatureResult = 'ok' | 'unknown-key' | 'bad-signature';

/** Where claim and proof verification look keys up: a trust registry's `byId` (a `TrustSet` fits). */
export interface JobTrust {
  byId: ReadonlyMap<string, { publicKey: Uint8Array }>;
}

/** Checks `sig` over a record with the record's worker key from `trust`. */
export function verifyClaimSignature(
  record: ClaimRecord,
  sig: Uint8Array,
  trust: JobTrust,
): ClaimSignatureResult {
  const key = trust.byId.get(record.worker);
  if (!key) return 'unknown-key';
  return verifySignature(key.publicKey, claimSigningInput(encodeClaim(record)), sig) ? 'ok' : 'bad-signature';
}

/** A claim commit built by {@link claimCommitObjects}. */
export interface ClaimCommit {
  commit: GitObject;
  objects: GitObject[];
  recordBytes: Uint8Array;
  sig: Uint8Array;
}

/** The commit message of a claim record. */
export function claimMessage(r: ClaimRecord): string {
  return `gatos job ${r.state} ${r.job_id} epoch ${r.epoch} seq ${r.seq}\n`;
}

/**
 * The claim commit of `record` on top of `parent` (null for the first claim): tree `claim.cbor`, `claim.sig`.
 * The signer's key id must be the record's worker (`GATOS_E_JOB_RECORD`).
 */
export function claimCommitObjects(
  record: ClaimRecord,
  parent: Oid | null,
  signer: ClaimSigner,
): ClaimCommit {
  const recordBytes = encodeClaim(record);
  if (signer.keyId !== record.worker) {
    throw new GatosError(
      'GATOS_E_JOB_RECORD',
      `claim worker ${record.worker} is not the signer ${signer.keyId}`,
      {
        data: { worker: record.worker, signer: signer.keyId },
      },
    );
  }
  const sig = signer.sign(claimSigningInput(recordBytes));
  if (!(sig instanceof Uint8Array) || sig.length !== 64) {
    throw new GatosError('GATOS_E_JOB_RECORD', 'the claim signer returned a signature that is not 64 bytes');
  }
  const built = filesCommit(
    new Map([
      [CLAIM_FILE, recordBytes],
      [CLAIM_SIG_FILE, sig],
    ]),
    parent ? [parent] : [],
    claimMessage(record),
  );
  return { commit: built.commit, objects: built.objects, recordBytes, sig };
}

/** One commit of a claim chain, parsed. */
export interface ClaimLink {
  commit: Oid;
  parent: Oid | null;
  record: ClaimRecord;
  recordBytes: Uint8Array;
  sig: Uint8Array;
}

/**
 * Parses a claim commit from its parsed commit and files: exactly `claim.cbor` and `claim.sig` (64 bytes), at most
 * one parent, message {@link claimMessage}. Does not check the signature. Throws `GATOS_E_JOB_RECORD`.
 */
export function parseClaimCommit(commit: ParsedCommit, files: ReadonlyMap<string, Uint8Array>): ClaimLink {
  const bad = (why: string): GatosError =>
    new GatosError('GATOS_E_JOB_RECORD', `claim commit ${commit.oid.slice(0, 12)}: ${why}`, {
      data: { commit: commit.oid },
    });
  const names = [...files.keys()].sort();
  if (names.length !== 2 || names[0] !== CLAIM_FILE || names[1] !== CLAIM_SIG_FILE) {
    throw bad(`tree must hold exactly ${CLAIM_FILE} and ${CLAIM_SIG_FILE}`);
  }
  if (commit.parents.length > 1) throw bad('has more than one parent');
  const recordBytes = files.get(CLAIM_FILE)!;
  let record: ClaimRecord;
  try {
    record = decodeClaim(recordBytes);
  } catch (e) {
    throw bad(`${CLAIM_FILE}: ${(e as Error).message}`);
  }
  const sig = files.get(CLAIM_SIG_FILE)!;
  if (sig.length !== 64) throw bad(`${CLAIM_SIG_FILE} is not 64 bytes`);
  if (commit.message !== claimMessage(record)) throw bad('message does not match the record');
  if (filesCommit(files, commit.parents, commit.message).commit.oid !== commit.oid) {
    throw bad('is not the canonical claim commit (ident or tree differ)');
  }
  return { commit: commit.oid, parent: commit.parents[0] ?? null, record, recordBytes, sig };
}

/**
 * Why `next` may not follow `prev` in a claim chain (null when it may): same job; after a claim or heartbeat the
 * holder (same worker, epoch) continues with seq + 1 (heartbeat, release, done) or anyone reclaims with
 * epoch + 1 and seq 0; after a release only a reclaim (epoch + 1, seq 0); nothing follows done. The first record
 * is a claim with epoch 0, seq 0.
 */
export function claimTransitionProblem(prev: ClaimRecord | null, next: ClaimRecord): string | null {
  if (prev === null) {
    return next.state === 'claimed' && next.epoch === 0 && next.seq === 0
      ? null
      : 'the first record must be a claim with epoch 0 and seq 0';
  }
  if (next.job_id !== prev.job_id) return `job ${next.job_id} follows job ${prev.job_id}`;
  if (prev.state === 'done') return 'a record follows done';
  const reclaim = next.state === 'claimed' && next.epoch === prev.epoch + 1 && next.seq === 0;
  if (reclaim) return null;
  if (prev.state === 'released') return 'after a release only a claim with epoch + 1 and seq 0 may follow';
  if (next.worker !== prev.worker || next.epoch !== prev.epoch) {
    return `only the holder ${prev.worker} (epoch ${prev.epoch}) may continue its claim`;
  }
  if (next.seq !== prev.seq + 1) return `seq must be ${prev.seq + 1}, is ${next.seq}`;
  return null;
}

/**
 * Reads a claim chain, oldest first, and checks every transition ({@link claimTransitionProblem}) and, when
 * `trust` is given, every signature. Throws `GATOS_E_JOB_RECORD` naming the commit.
 */
export async function readClaimChain(
  objects: ObjectStore,
  head: Oid,
  trust?: JobTrust,
): Promise<ClaimLink[]> {
  const links = await readClaimLinks(objects, head);
  const problem = claimChainProblem(links, trust);
  if (problem) {
    throw new GatosError('GATOS_E_JOB_RECORD', `claim chain: ${problem.message}`, {
      data: { commit: problem.commit },
    });
  }
  return links;
}

/** Reads and parses every claim commit from the first to `head`, oldest first, without checking the chain. */
export async function readClaimLinks(objects: ObjectStore, head: Oid): Promise<ClaimLink[]> {
  const commits = await objects.chain(head);
  return Promise.all(
    commits.map(async (c) => parseClaimCommit(c, (await readCommitFiles(objects, c.oid)).files)),
  );
}

/** Reads and parses one claim commit (the tip, usually). */
export async function readClaimCommit(objects: ObjectStore, oid: Oid): Promise<ClaimLink> {
  const { commit, files } = await readCommitFiles(objects, oid);
  return parseClaimCommit(commit, files);
}

/** The first problem of a parsed chain (oldest first): broken parent links, bad transitions, bad signatures. */
export function claimChainProblem(
  links: readonly ClaimLink[],
  trust?: JobTrust,
): { commit: Oid; message: string } | null {
  let prev: ClaimLink | null = null;
  for (const l of links) {
    if (l.parent !== (prev?.commit ?? null))
      return { commit: l.commit, message: `${l.commit} has the wrong parent` };
    const why = claimTransitionProblem(prev?.record ?? null, l.record);
    if (why) return { commit: l.commit, message: `${l.commit}: ${why}` };
    if (trust) {
      const s = verifyClaimSignature(l.record, l.sig, trust);
      if (s !== 'ok')
        return { commit: l.commit, message: `${l.commit}: signature of ${l.record.worker}: ${s}` };
    }
    prev = l;
  }
  return null;
}

/** What {@link claimDecision} says about a claim tip. */
export type ClaimDecision =
  | { kind: 'claimable'; epoch: number; reclaim: boolean }
  | { kind: 'held'; worker: string; epoch: number; expires_at_ms: number }
  | { kind: 'done'; result: string };

/**
 * The deterministic claim rule (§ 4): no claim → claimable at epoch 0; released → claimable at epoch + 1;
 * claimed and `nowMs ≥ expires_at_ms + skewMs` → claimable (reclaim) at epoch + 1; claimed otherwise → held;
 * done → done.
 */
export function claimDecision(
  tip: ClaimRecord | null,
  nowMs: number,
  skewMs: number = DEFAULT_CLAIM_SKEW_MS,
): ClaimDecision {
  if (tip === null) return { kind: 'claimable', epoch: 0, reclaim: false };
  if (tip.state === 'done') return { kind: 'done', result: tip.result! };
  if (tip.state === 'released') return { kind: 'claimable', epoch: tip.epoch + 1, reclaim: false };
  if (nowMs >= tip.expires_at_ms + skewMs) return { kind: 'claimable', epoch: tip.epoch + 1, reclaim: true };
  return { kind: 'held', worker: tip.worker, epoch: tip.epoch, expires_at_ms: tip.expires_at_ms };
}

/** A claim-chain step. */
export type ClaimAction = 'claim' | 'heartbeat' | 'release' | 'done';

/** Options of {@link nextClaim}. */
export interface NextClaimOptions {
  jobId: string;
  /** The acting worker's key id. */
  worker: string;
  nowMs: number;
  leaseMs: number;
  skewMs?: number;
  /** heartbeat/release/done: the epoch the worker holds (checked when given). */
  epoch?: number;
  /** done: the result commit. */
  result?: Oid;
}

/**
 * The record that `action` appends to the chain whose tip is `tip`. `claim` needs {@link claimDecision} to say
 * claimable (else `GATOS_E_JOB_CLAIMED`); `heartbeat`, `release` and `done` need the tip to be a claim of this
 * worker (and epoch) (else `GATOS_E_JOB_LEASE_LOST`; `done` on a done tip: `GATOS_E_JOB_RESULT_EXISTS`).
 * A heartbeat or claim sets `expires_at_ms = nowMs + leaseMs`; a release or done sets it to `nowMs`.
 */
export function nextClaim(tip: ClaimRecord | null, action: ClaimAction, o: NextClaimOptions): ClaimRecord {
  const base = {
    v: 1 as const,
    type: 'gatos.job.claim' as const,
    job_id: o.jobId,
    worker: o.worker,
    lease_ms: o.leaseMs,
  };
  if (tip !== null && tip.job_id !== o.jobId) {
    throw new GatosError('GATOS_E_JOB_RECORD', `claim tip is for job ${tip.job_id}, not ${o.jobId}`);
  }
  if (action === 'claim') {
    const d = claimDecision(tip, o.nowMs, o.skewMs ?? DEFAULT_CLAIM_SKEW_MS);
    if (d.kind === 'held') {
      throw new GatosError(
        'GATOS_E_JOB_CLAIMED',
        `job ${o.jobId} is claimed by ${d.worker} until ${d.expires_at_ms}`,
        {
          data: { jobId: o.jobId, worker: d.worker, epoch: d.epoch, expires_at_ms: d.expires_at_ms },
          hint: 'wait for the lease to expire, or pick another job',
        },
      );
    }
    if (d.kind === 'done') {
      throw new GatosError('GATOS_E_JOB_CLAIMED', `job ${o.jobId} is done (result ${d.result})`, {
        data: { jobId: o.jobId, result: d.result },
      });
    }
    const r: ClaimRecord = {
      ...base,
      epoch: d.epoch,
      seq: 0,
      state: 'claimed',
      expires_at_ms: o.nowMs + o.leaseMs,
      result: null,
    };
    validateClaim(r);
    return r;
  }
  if (tip?.state === 'done' && action === 'done') {
    throw new GatosError(
      'GATOS_E_JOB_RESULT_EXISTS',
      `job ${o.jobId} is already done (result ${tip.result})`,
      {
        data: { jobId: o.jobId, result: tip.result },
      },
    );
  }
  if (
    tip === null ||
    tip.state !== 'claimed' ||
    tip.worker !== o.worker ||
    (o.epoch !== undefined && tip.epoch !== o.epoch)
  ) {
    const now = tip === null ? 'unclaimed' : `${tip.state} by ${tip.worker} (epoch ${tip.epoch})`;
    throw new GatosError('GATOS_E_JOB_LEASE_LOST', `${o.worker} does not hold job ${o.jobId}: it is ${now}`, {
      data: { jobId: o.jobId, worker: o.worker, tip },
      hint: 'claim the job again if it is claimable',
    });
  }
  if (action === 'done' && !isOid(o.result)) {
    throw new GatosError('GATOS_E_JOB_RECORD', 'done needs the result commit id');
  }
  const r: ClaimRecord = {
    ...base,
    epoch: tip.epoch,
    seq: tip.seq + 1,
    state: action === 'heartbeat' ? 'claimed' : action === 'release' ? 'released' : 'done',
    expires_at_ms: action === 'heartbeat' ? o.nowMs + o.leaseMs : o.nowMs,
    result: action === 'done' ? o.result! : null,
  };
  validateClaim(r);
  return r;
}
