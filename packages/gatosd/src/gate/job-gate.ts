/**
 * The job plane at the push-gate (`spec/push-gate.md` § 2.5): pushes to `refs/gatos/jobs/**` and
 * `refs/gatos/audit/jobs/**` must carry canonical manifests, claim chains signed step by step by registered
 * workers and following the lease rules (judged with the gate's own clock), results named by the `done` claim
 * whose Proof-of-Execution verifies, and audit entries that copy the result's envelope. Pure apart from the
 * injected stores and clock; it writes nothing.
 */
import {
  bytesEqual,
  type ClaimLink,
  type ClaimRecord,
  CONTENT_DIGEST_RE,
  cacheIndexCommit,
  claimTransitionProblem,
  filesCommit,
  isGatosError,
  JOB_AUDIT_PREFIX,
  JOBS_PREFIX,
  JOB_CACHE_REF,
  JOB_ID_RE,
  jobClaimRef,
  jobManifestRef,
  jobResultRef,
  type ManifestCommitData,
  type ObjectStore,
  type Oid,
  POE_FILE,
  parseClaimCommit,
  parseJobRef,
  type RefStore,
  type ResultCommitData,
  readAuditEntry,
  readClaimCommit,
  readClaimLinks,
  readCommitFiles,
  readManifestCommit,
  readResultCommit,
  type TrustSet,
  verifyClaimSignature,
  verifyExecution,
} from '@gatos/core';
import { GateRefusal, type JobRuleId, type PushUpdate } from './gate-types.js';

/** What a job-plane ref is. */
export type JobRef =
  | { kind: 'manifest' | 'claim' | 'result'; jobId: string }
  | { kind: 'audit'; jobId: string }
  | { kind: 'cache' };

/** Parses a job-plane ref, or null for a name the job plane does not define. */
export function parseJobPlaneRef(ref: string): JobRef | null {
  if (ref === JOB_CACHE_REF) return { kind: 'cache' };
  const j = parseJobRef(ref);
  if (j) return j;
  if (ref.startsWith(JOB_AUDIT_PREFIX)) {
    const id = ref.slice(JOB_AUDIT_PREFIX.length);
    if (JOB_ID_RE.test(id)) return { kind: 'audit', jobId: id };
  }
  return null;
}

/**
 * The checks that need no object: the ref name and create-only. Runs before the common fast-forward rule so a
 * rewritten manifest or result is reported as what it is. Deletions are refused by the common rules.
 */
export function jobRefRefusal(u: PushUpdate): GateRefusal | null {
  const j = parseJobPlaneRef(u.ref);
  if (!j) {
    return new GateRefusal(
      'job-ref',
      `${u.ref} is not ${JOBS_PREFIX}<job-id>/(manifest|claim|result), ${JOB_CACHE_REF} or ${JOB_AUDIT_PREFIX}<job-id>`,
    );
  }
  if ((j.kind === 'manifest' || j.kind === 'result') && u.old !== null) {
    return new GateRefusal('job-create-only', `the ${j.kind} of a job is created once and never changes`, {
      code: j.kind === 'result' ? 'GATOS_E_JOB_RESULT_EXISTS' : 'GATOS_E_JOB_RECORD',
    });
  }
  return null;
}

/** What the job gate needs for one push. */
export interface JobGateContext {
  /** Reads objects including the pushed ones. */
  objects: ObjectStore;
  /** Refs as they stand before the push. */
  refs: RefStore;
  /** Every update of the push (a ref's value after the push is its pushed value when the push updates it). */
  updates: readonly PushUpdate[];
  /** The trust registry claims and proofs are checked against (the pushed one when the push updates it). */
  trust: () => Promise<TrustSet>;
  /** The gate's clock, in ms since the epoch: judges lease expiry. */
  nowMs: number;
  /** Clock skew allowance, as in `claimDecision`. */
  skewMs: number;
}

const codeOf = (e: unknown): { code?: string } => (isGatosError(e) ? { code: e.code } : {});
const msgOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const short = (oid: Oid): string => oid.slice(0, 12);

/** The value `ref` will have if the push is accepted. */
async function after(ctx: JobGateContext, ref: string): Promise<Oid | null> {
  const u = ctx.updates.find((x) => x.ref === ref);
  return u ? u.new : ctx.refs.read(ref);
}

/**
 * The new commits of a chain ref, oldest first; the first one's parent must be the old value (a claim, audit or
 * cache commit has at most one parent, so the first-parent chain is the whole history).
 */
async function newCommits(ctx: JobGateContext, u: PushUpdate & { new: Oid }, rule: JobRuleId) {
  const commits = await ctx.objects.chain(u.new, u.old);
  if (commits.length === 0 || (commits[0]!.parents[0] ?? null) !== u.old) {
    throw new GateRefusal(rule, `the first-parent chain of ${short(u.new)} does not start on the old value`);
  }
  return commits;
}

async function checkManifest(ctx: JobGateContext, u: PushUpdate & { new: Oid }, jobId: string) {
  let m: ManifestCommitData;
  try {
    m = await readManifestCommit(ctx.objects, u.new);
  } catch (e) {
    throw new GateRefusal('job-manifest', msgOf(e), { ...codeOf(e), commit: u.new });
  }
  if (m.jobId !== jobId) {
    throw new GateRefusal('job-manifest', `the manifest is job ${m.jobId}, the ref names job ${jobId}`, {
      code: 'GATOS_E_JOB_MANIFEST',
      commit: u.new,
    });
  }
}

/** When a record says it was written (claim/heartbeat: expiry − lease; release/done: the expiry field). */
const stampOf = (r: ClaimRecord): number =>
  r.state === 'claimed' ? r.expires_at_ms - r.lease_ms : r.expires_at_ms;

async function checkClaim(ctx: JobGateContext, u: PushUpdate & { new: Oid }, jobId: string) {
  if ((await after(ctx, jobManifestRef(jobId))) === null) {
    throw new GateRefusal('job-claim', `job ${jobId} has no manifest here (push the manifest first)`, {
      code: 'GATOS_E_JOB_NOT_FOUND',
    });
  }
  const commits = await newCommits(ctx, u, 'job-claim');
  let prev: ClaimRecord | null = null;
  if (u.old !== null) {
    try {
      prev = (await readClaimCommit(ctx.objects, u.old)).record;
    } catch (e) {
      throw new GateRefusal('job-claim', `the current claim tip cannot be read: ${msgOf(e)}`, {
        ...codeOf(e),
        commit: u.old,
      });
    }
  }
  const trust = await ctx.trust();
  for (const c of commits) {
    const at = `claim ${short(c.oid)}`;
    let link: ClaimLink;
    try {
      link = parseClaimCommit(c, (await readCommitFiles(ctx.objects, c.oid)).files);
    } catch (e) {
      throw new GateRefusal('job-claim', `${at}: ${msgOf(e)}`, { ...codeOf(e), commit: c.oid });
    }
    const r = link.record;
    if (r.job_id !== jobId) {
      throw new GateRefusal(
        'job-claim',
        `${at}: the record is for job ${r.job_id}, the ref for job ${jobId}`,
        {
          code: 'GATOS_E_JOB_RECORD',
          commit: c.oid,
        },
      );
    }
    // The signature first: an unsigned or forged step says nothing about who holds the job.
    const sig = verifyClaimSignature(r, link.sig, trust);
    if (sig !== 'ok') {
      throw new GateRefusal(
        'job-claim-signature',
        sig === 'unknown-key'
          ? `${at}: worker ${r.worker} is not in the trust registry`
          : `${at}: the signature of ${r.worker} does not verify`,
        { code: sig === 'unknown-key' ? 'GATOS_E_KEY_NOT_FOUND' : 'GATOS_E_SIG_INVALID', commit: c.oid },
      );
    }
    const why = claimTransitionProblem(prev, r);
    if (why) {
      const code = prev && prev.state !== 'done' ? 'GATOS_E_JOB_LEASE_LOST' : 'GATOS_E_JOB_RECORD';
      throw new GateRefusal('job-claim', `${at}: ${why}`, { code, commit: c.oid });
    }
    // The chain cannot tell when a reclaim happened; the gate judges it with its own clock (claimDecision's rule).
    if (prev?.state === 'claimed' && r.epoch === prev.epoch + 1) {
      const due = prev.expires_at_ms + ctx.skewMs;
      if (ctx.nowMs < due) {
        throw new GateRefusal(
          'job-lease',
          `${at}: reclaims epoch ${prev.epoch} held by ${prev.worker}, whose lease expires at ${prev.expires_at_ms} (+${ctx.skewMs} ms skew); the gate's clock says ${ctx.nowMs}`,
          { code: 'GATOS_E_JOB_CLAIMED', commit: c.oid },
        );
      }
    }
    // A lease dated ahead of the gate's clock would hold the job past lease_ms (up to for ever).
    if (r.state === 'claimed' && stampOf(r) > ctx.nowMs + ctx.skewMs) {
      throw new GateRefusal(
        'job-lease',
        `${at}: the record is dated ${stampOf(r)}, ahead of the gate's clock ${ctx.nowMs} by more than ${ctx.skewMs} ms`,
        { code: 'GATOS_E_JOB_RECORD', commit: c.oid },
      );
    }
    if (r.state === 'done' && (await after(ctx, jobResultRef(jobId))) !== r.result) {
      throw new GateRefusal(
        'job-claim',
        `${at}: done names result ${r.result}, which is neither the job's result ref nor created by this push`,
        { code: 'GATOS_E_JOB_RECORD', commit: c.oid },
      );
    }
    prev = r;
  }
}

/** Reads a commit and checks it is exactly the commit its files, parents and message make (fixed ident). */
async function isCanonicalFilesCommit(objects: ObjectStore, oid: Oid): Promise<boolean> {
  const { commit, files } = await readCommitFiles(objects, oid);
  return filesCommit(files, commit.parents, commit.message).commit.oid === oid;
}

async function checkResult(ctx: JobGateContext, u: PushUpdate & { new: Oid }, jobId: string) {
  const fail = (why: string, code = 'GATOS_E_JOB_VERIFY'): GateRefusal =>
    new GateRefusal('job-result', `result ${short(u.new)}: ${why}`, { code, commit: u.new });
  const claimTip = await after(ctx, jobClaimRef(jobId));
  if (claimTip === null) throw fail('the job has no claim chain');
  let chain: ClaimLink[];
  try {
    chain = await readClaimLinks(ctx.objects, claimTip);
  } catch (e) {
    throw fail(`the claim chain cannot be read: ${msgOf(e)}`);
  }
  const tip = chain[chain.length - 1]!.record;
  if (tip.state !== 'done') throw fail(`the claim chain ends in ${tip.state}, not done`);
  if (tip.result !== u.new) throw fail(`the done claim names result ${tip.result}`);
  const manifestOid = await after(ctx, jobManifestRef(jobId));
  if (manifestOid === null) throw fail('the job has no manifest', 'GATOS_E_JOB_NOT_FOUND');
  let manifest: ManifestCommitData;
  let result: ResultCommitData;
  try {
    manifest = await readManifestCommit(ctx.objects, manifestOid);
    result = await readResultCommit(ctx.objects, u.new);
    // readResultCommit does not look at the ident; a result commit is canonical like every job record.
    if (!(await isCanonicalFilesCommit(ctx.objects, u.new))) {
      throw fail('is not the canonical result commit (ident differs)', 'GATOS_E_JOB_RECORD');
    }
  } catch (e) {
    if (e instanceof GateRefusal) throw e;
    throw fail(msgOf(e), codeOf(e).code);
  }
  // A cache hit is verified against its source as the server holds it.
  let cacheSource: { manifest: ManifestCommitData; result: ResultCommitData } | null = null;
  const src = result.result.cached_from;
  if (src !== null) {
    try {
      const sm = await ctx.refs.read(jobManifestRef(src));
      const sr = await ctx.refs.read(jobResultRef(src));
      if (sm && sr) {
        cacheSource = {
          manifest: await readManifestCommit(ctx.objects, sm),
          result: await readResultCommit(ctx.objects, sr),
        };
      }
    } catch {
      // Left null: verifyExecution reports the missing source as a cache-source problem.
    }
  }
  const report = verifyExecution({
    manifest,
    result,
    trust: await ctx.trust(),
    claimChain: chain,
    jobId,
    ...(src !== null ? { cacheSource } : {}),
  });
  if (!report.ok) {
    const sig = report.problems.find((p) => ['signature', 'unknown-key', 'worker-mismatch'].includes(p.kind));
    throw fail(
      report.problems.map((p) => `${p.kind}: ${p.message}`).join('; '),
      sig
        ? sig.kind === 'unknown-key'
          ? 'GATOS_E_KEY_NOT_FOUND'
          : 'GATOS_E_SIG_INVALID'
        : 'GATOS_E_JOB_VERIFY',
    );
  }
}

async function checkAudit(ctx: JobGateContext, u: PushUpdate & { new: Oid }, jobId: string) {
  const resultOid = await after(ctx, jobResultRef(jobId));
  if (resultOid === null) {
    throw new GateRefusal('job-audit', `job ${jobId} has no result to audit`, { code: 'GATOS_E_JOB_RECORD' });
  }
  let envelope: Uint8Array | undefined;
  try {
    envelope = (await readCommitFiles(ctx.objects, resultOid)).files.get(POE_FILE);
  } catch (e) {
    throw new GateRefusal(
      'job-audit',
      `the result ${short(resultOid)} cannot be read: ${msgOf(e)}`,
      codeOf(e),
    );
  }
  if (!envelope) throw new GateRefusal('job-audit', `the result ${short(resultOid)} has no ${POE_FILE}`);
  for (const c of await newCommits(ctx, u, 'job-audit')) {
    const at = `audit entry ${short(c.oid)}`;
    try {
      const entry = await readAuditEntry(ctx.objects, jobId, c.oid);
      if (entry.resultCommit !== resultOid) {
        throw new Error(`names result ${entry.resultCommit}, the job's result is ${resultOid}`);
      }
      if (!bytesEqual(entry.envelopeBytes, envelope)) {
        throw new Error(`its ${POE_FILE} is not byte-identical to the result's`);
      }
    } catch (e) {
      throw new GateRefusal('job-audit', `${at}: ${msgOf(e)}`, {
        code: codeOf(e).code ?? 'GATOS_E_JOB_RECORD',
        commit: c.oid,
      });
    }
  }
}

/** The entries of a cache index commit (`<64 hex>` → `<job-id>\n`), or why it is malformed. */
async function cacheEntries(objects: ObjectStore, oid: Oid): Promise<Map<string, string>> {
  const { files } = await readCommitFiles(objects, oid);
  const out = new Map<string, string>();
  const dec = new TextDecoder('utf-8', { fatal: true });
  for (const [name, bytes] of files) {
    const text = dec.decode(bytes);
    const key = `blake3:${name}`;
    if (!CONTENT_DIGEST_RE.test(key) || !text.endsWith('\n') || !JOB_ID_RE.test(text.slice(0, -1))) {
      throw new Error(`entry ${name} is malformed`);
    }
    out.set(key, text.slice(0, -1));
  }
  return out;
}

async function checkCache(ctx: JobGateContext, u: PushUpdate & { new: Oid }) {
  const commits = await newCommits(ctx, u, 'job-cache');
  let prev: Map<string, string>;
  try {
    prev = u.old === null ? new Map() : await cacheEntries(ctx.objects, u.old);
  } catch (e) {
    throw new GateRefusal('job-cache', `the current index cannot be read: ${msgOf(e)}`, codeOf(e));
  }
  let parent = u.old;
  for (const c of commits) {
    const at = `cache index ${short(c.oid)}`;
    let entries: Map<string, string>;
    try {
      entries = await cacheEntries(ctx.objects, c.oid);
    } catch (e) {
      throw new GateRefusal('job-cache', `${at}: ${msgOf(e)}`, { commit: c.oid });
    }
    // The index is append-only: an existing key keeps its job id (first verified result wins).
    for (const [k, v] of prev) {
      if (entries.get(k) !== v) {
        throw new GateRefusal('job-cache', `${at}: changes or drops the entry ${k} → ${v}`, {
          commit: c.oid,
        });
      }
    }
    if (cacheIndexCommit({ head: parent, entries: prev }, entries).commit.oid !== c.oid) {
      throw new GateRefusal('job-cache', `${at}: is not the canonical cache index commit`, { commit: c.oid });
    }
    prev = entries;
    parent = c.oid;
  }
}

/**
 * Checks one update of a job-plane ref that passed {@link jobRefRefusal} and the common rules (no delete,
 * fast-forward). Throws {@link GateRefusal}.
 */
export async function checkJobUpdate(ctx: JobGateContext, u: PushUpdate & { new: Oid }): Promise<void> {
  const j = parseJobPlaneRef(u.ref);
  if (!j) throw jobRefRefusal(u)!;
  if (j.kind === 'cache') return checkCache(ctx, u);
  if (j.kind === 'manifest') return checkManifest(ctx, u, j.jobId);
  if (j.kind === 'claim') return checkClaim(ctx, u, j.jobId);
  if (j.kind === 'result') return checkResult(ctx, u, j.jobId);
  return checkAudit(ctx, u, j.jobId);
}
