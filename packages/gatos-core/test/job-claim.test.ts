import { describe, expect, it } from 'vitest';
import {
  type ClaimRecord,
  type GatosError,
  claimCommitObjects,
  claimDecision,
  claimSigningInput,
  claimTransitionProblem,
  decodeClaim,
  encodeClaim,
  nextClaim,
  parseClaimCommit,
  parseCommit,
  verifyClaimSignature,
} from '../src/index.js';
import { V, hex, trustOf, workerKey } from './job-helpers.js';

const fail = (fn: () => unknown): GatosError => {
  try {
    fn();
  } catch (e) {
    return e as GatosError;
  }
  throw new Error('expected an error');
};

const alice = workerKey(0x42);
const bob = workerKey(0x07);
const trust = trustOf(alice, bob);
const jobId = V.manifest.job_id;
const opts = (w: typeof alice, nowMs: number, extra: object = {}) => ({
  jobId,
  worker: w.signer.keyId,
  nowMs,
  leaseMs: 30_000,
  skewMs: 2000,
  ...extra,
});

describe('claim vectors', () => {
  it('the vector worker is the 0x42 key', () => {
    expect(alice.signer.keyId).toBe(V.claim.worker);
    expect(hex(alice.publicKey)).toBe(V.claim.public_key);
  });

  it('reproduces claim.cbor, the signing input, the signature and the commit', () => {
    const r = nextClaim(null, 'claim', opts(alice, 1_800_000_000_000));
    expect(r).toEqual(V.claim.record);
    expect(hex(encodeClaim(r))).toBe(V.claim.claim_hex);
    expect(hex(claimSigningInput(encodeClaim(r)))).toBe(V.claim.signing_input_hex);
    const c = claimCommitObjects(r, null, alice.signer);
    expect(hex(c.sig)).toBe(V.claim.sig_hex);
    expect(c.commit.oid).toBe(V.claim.commit);
    const hb = nextClaim(r, 'heartbeat', opts(alice, 1_800_000_010_000, { epoch: 0 }));
    expect(hb).toEqual(V.claim.heartbeat.record);
    expect(claimCommitObjects(hb, c.commit.oid, alice.signer).commit.oid).toBe(V.claim.heartbeat.commit);
  });

  it('decision table (including the skew boundary) matches the vectors', () => {
    for (const d of V.decisions) {
      expect(claimDecision(d.tip, d.now_ms, d.skew_ms), d.name).toEqual(d.decision);
    }
  });
});

describe('claimDecision', () => {
  const claimed = { ...V.claim.record, expires_at_ms: 10_000 } as ClaimRecord;
  it('holds until expires_at + skew, then is claimable at epoch + 1', () => {
    expect(claimDecision(claimed, 10_000 + 1999, 2000).kind).toBe('held');
    expect(claimDecision(claimed, 10_000 + 2000, 2000)).toEqual({
      kind: 'claimable',
      epoch: 1,
      reclaim: true,
    });
    expect(claimDecision(claimed, 10_000, 0).kind).toBe('claimable');
    expect(claimDecision(claimed, 9_999, 0).kind).toBe('held');
    // default skew is 2000 ms
    expect(claimDecision(claimed, 11_999).kind).toBe('held');
    expect(claimDecision(claimed, 12_000).kind).toBe('claimable');
  });
});

describe('nextClaim', () => {
  const t0 = 1_000_000;
  const c0 = nextClaim(null, 'claim', opts(alice, t0));

  it('claims at epoch 0, heartbeats renew the lease with seq + 1', () => {
    expect(c0).toMatchObject({
      epoch: 0,
      seq: 0,
      state: 'claimed',
      expires_at_ms: t0 + 30_000,
      result: null,
    });
    const hb = nextClaim(c0, 'heartbeat', opts(alice, t0 + 10_000, { epoch: 0 }));
    expect(hb).toMatchObject({ epoch: 0, seq: 1, state: 'claimed', expires_at_ms: t0 + 40_000 });
  });

  it('refuses to claim a held or done job (GATOS_E_JOB_CLAIMED)', () => {
    const e = fail(() => nextClaim(c0, 'claim', opts(bob, t0 + 1)));
    expect(e.code).toBe('GATOS_E_JOB_CLAIMED');
    expect(e.data.worker).toBe(alice.signer.keyId);
    const done = nextClaim(c0, 'done', opts(alice, t0 + 2, { result: 'a'.repeat(40) }));
    expect(fail(() => nextClaim(done, 'claim', opts(bob, t0 + 10 ** 9))).code).toBe('GATOS_E_JOB_CLAIMED');
  });

  it('reclaims an expired lease at epoch + 1; the old holder has lost it', () => {
    const re = nextClaim(c0, 'claim', opts(bob, t0 + 32_000));
    expect(re).toMatchObject({ epoch: 1, seq: 0, worker: bob.signer.keyId });
    for (const action of ['heartbeat', 'release', 'done'] as const) {
      const e = fail(() =>
        nextClaim(re, action, opts(alice, t0 + 33_000, { epoch: 0, result: 'a'.repeat(40) })),
      );
      expect(e.code, action).toBe('GATOS_E_JOB_LEASE_LOST');
    }
  });

  it('only the holder in its epoch may heartbeat, release or complete', () => {
    expect(fail(() => nextClaim(c0, 'heartbeat', opts(bob, t0))).code).toBe('GATOS_E_JOB_LEASE_LOST');
    expect(fail(() => nextClaim(c0, 'release', opts(alice, t0, { epoch: 1 }))).code).toBe(
      'GATOS_E_JOB_LEASE_LOST',
    );
    expect(fail(() => nextClaim(null, 'heartbeat', opts(alice, t0))).code).toBe('GATOS_E_JOB_LEASE_LOST');
    const rel = nextClaim(c0, 'release', opts(alice, t0 + 5, { epoch: 0 }));
    expect(rel).toMatchObject({ state: 'released', seq: 1, expires_at_ms: t0 + 5 });
    expect(fail(() => nextClaim(rel, 'heartbeat', opts(alice, t0 + 6))).code).toBe('GATOS_E_JOB_LEASE_LOST');
    expect(nextClaim(rel, 'claim', opts(bob, t0 + 6))).toMatchObject({ epoch: 1, seq: 0 });
  });

  it('done names the result; a second done is GATOS_E_JOB_RESULT_EXISTS', () => {
    const done = nextClaim(c0, 'done', opts(alice, t0 + 9, { epoch: 0, result: 'b'.repeat(40) }));
    expect(done).toMatchObject({ state: 'done', seq: 1, result: 'b'.repeat(40) });
    expect(fail(() => nextClaim(done, 'done', opts(alice, t0 + 10, { result: 'c'.repeat(40) }))).code).toBe(
      'GATOS_E_JOB_RESULT_EXISTS',
    );
    expect(fail(() => nextClaim(c0, 'done', opts(alice, t0 + 9))).code).toBe('GATOS_E_JOB_RECORD');
  });
});

describe('claim records, commits and transitions', () => {
  const c0 = nextClaim(null, 'claim', opts(alice, 5000));

  it('validates records (GATOS_E_JOB_RECORD with a path)', () => {
    const cases: [Partial<Record<keyof ClaimRecord, unknown>>, string][] = [
      [{ worker: 'alice' }, 'worker'],
      [{ state: 'lost' }, 'state'],
      [{ epoch: -1 }, 'epoch'],
      [{ lease_ms: 0 }, 'lease_ms'],
      [{ result: 'a'.repeat(40) }, 'result'],
      [{ job_id: 'job' }, 'job_id'],
    ];
    for (const [patch, path] of cases) {
      const e = fail(() => encodeClaim({ ...c0, ...patch } as ClaimRecord));
      expect(e.code, path).toBe('GATOS_E_JOB_RECORD');
      expect(e.data.path, path).toBe(path);
    }
    expect(decodeClaim(encodeClaim(c0))).toEqual(c0);
  });

  it('signatures verify with the worker key only; unknown keys are reported', () => {
    const c = claimCommitObjects(c0, null, alice.signer);
    expect(verifyClaimSignature(c0, c.sig, trust)).toBe('ok');
    expect(verifyClaimSignature({ ...c0, expires_at_ms: 1 }, c.sig, trust)).toBe('bad-signature');
    expect(verifyClaimSignature(c0, c.sig, trustOf(bob))).toBe('unknown-key');
    expect(fail(() => claimCommitObjects(c0, null, bob.signer)).code).toBe('GATOS_E_JOB_RECORD');
  });

  it('parses its own commits and refuses a message that does not match', () => {
    const c = claimCommitObjects(c0, null, alice.signer);
    const parsed = parseCommit(c.commit.oid, c.commit.body);
    const files = new Map([
      ['claim.cbor', c.recordBytes],
      ['claim.sig', c.sig],
    ]);
    expect(parseClaimCommit(parsed, files).record).toEqual(c0);
    expect(fail(() => parseClaimCommit({ ...parsed, message: 'x\n' }, files)).code).toBe(
      'GATOS_E_JOB_RECORD',
    );
    expect(fail(() => parseClaimCommit(parsed, new Map([...files, ['x', c.sig]]))).code).toBe(
      'GATOS_E_JOB_RECORD',
    );
  });

  it('transition rules', () => {
    const hb = nextClaim(c0, 'heartbeat', opts(alice, 6000));
    expect(claimTransitionProblem(null, c0)).toBeNull();
    expect(claimTransitionProblem(null, hb)).toMatch(/first record/);
    expect(claimTransitionProblem(c0, hb)).toBeNull();
    expect(claimTransitionProblem(c0, { ...hb, seq: 5 })).toMatch(/seq must be 1/);
    expect(claimTransitionProblem(c0, { ...hb, worker: bob.signer.keyId })).toMatch(/only the holder/);
    const re = { ...c0, epoch: 1, worker: bob.signer.keyId };
    expect(claimTransitionProblem(hb, re)).toBeNull();
    const done = nextClaim(hb, 'done', opts(alice, 7000, { result: 'e'.repeat(40) }));
    expect(claimTransitionProblem(done, re)).toMatch(/follows done/);
  });
});
