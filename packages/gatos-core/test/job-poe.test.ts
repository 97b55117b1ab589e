import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ClaimLink,
  type ExecutionProblemKind,
  type ManifestCommitData,
  type ResultCommitData,
  type VerifyExecutionInput,
  IN_TOTO_PAYLOAD_TYPE,
  PROOF_OF_EXECUTION_PREDICATE_TYPE,
  buildExecutionStatement,
  buildJobResult,
  claimJob,
  completeJob,
  encodeResult,
  filesCommit,
  jobAuditRef,
  jobClaimRef,
  jobResultRef,
  parseDsse,
  readAuditEntry,
  readClaimLinks,
  readManifestCommit,
  readResultCommit,
  resultCommitObjects,
  serializeDsse,
  signDsse,
  signExecution,
  statementBytes,
  submitJob,
  verifyExecution,
  verifyJob,
} from '../src/index.js';
import {
  V,
  hex,
  manifestFixture,
  repoRoot,
  submission,
  tempStores,
  toMap,
  trustOf,
  utf8,
  workerKey,
} from './job-helpers.js';

const alice = workerKey(0x42);
const bob = workerKey(0x07);
const trust = trustOf(alice, bob);
const T0 = 1_800_000_000_000;
const dec = new TextDecoder();

describe('Proof-of-Execution vectors', () => {
  it('rebuilds the vector result, statement, envelope and result commit', () => {
    const manifest = manifestFixture();
    const result = buildJobResult(
      { jobId: V.manifest.job_id, manifest },
      {
        status: 'succeeded',
        exit_code: 0,
        signal: null,
        error: null,
        outputs: toMap(V.result.outputs),
        stdout: utf8(V.result.stdout),
        stderr: utf8(V.result.stderr),
        runtime: manifest.program.runtime,
      },
      { worker: alice.signer.keyId, epoch: 0, commit: V.claim.commit },
    );
    expect(result).toEqual(V.result.record);
    expect(hex(encodeResult(result))).toBe(V.result.result_hex);
    const st = buildExecutionStatement(manifest, result);
    expect(st.predicateType).toBe(PROOF_OF_EXECUTION_PREDICATE_TYPE);
    expect(st.subject.map((s) => s.name)).toEqual([
      'job-result',
      'outputs/out/report.txt',
      'outputs/sum.json',
      'logs/stdout',
      'logs/stderr',
    ]);
    expect(dec.decode(statementBytes(st))).toBe(V.result.statement_canonical);
    const env = signExecution(st, alice.signer);
    expect(dec.decode(serializeDsse(env))).toBe(V.result.envelope_bytes);
    const rc = resultCommitObjects({
      result,
      outputs: toMap(V.result.outputs),
      stdout: utf8(V.result.stdout),
      stderr: utf8(V.result.stderr),
      envelope: env,
      runLog: V.result.run_log,
    });
    expect(rc.commit.oid).toBe(V.result.commit);
    expect(() => signExecution(st, bob.signer)).toThrow(/names worker/);
    // No timestamps anywhere in the signed statement.
    expect(V.result.statement_canonical).not.toMatch(/20\d\d-\d\d-\d\dT/);
  });
});

describe('verifyExecution', () => {
  let cleanup: () => Promise<void>;
  let base: VerifyExecutionInput;
  let s: Awaited<ReturnType<typeof tempStores>>;

  beforeAll(async () => {
    s = await tempStores();
    cleanup = s.cleanup;
    const { jobId, commit } = await submitJob(s, submission());
    const c = await claimJob(s, { jobId, signer: alice.signer, nowMs: T0, leaseMs: 30_000 });
    if (c.outcome !== 'claimed') throw new Error(c.outcome);
    const out = await completeJob(s, {
      jobId,
      signer: alice.signer,
      nowMs: T0 + 5,
      claim: { epoch: 0, commit: c.commit },
      run: {
        status: 'succeeded',
        exit_code: 0,
        signal: null,
        error: null,
        outputs: toMap(V.result.outputs),
        stdout: utf8(V.result.stdout),
        stderr: utf8(V.result.stderr),
        runtime: manifestFixture().program.runtime,
      },
      runLog: { host: 'test' },
    });
    base = {
      manifest: await readManifestCommit(s.objects, commit, { strict: false }),
      result: await readResultCommit(s.objects, out.resultCommit, { strict: false }),
      trust,
      claimChain: await readClaimLinks(s.objects, (await s.refs.read(jobClaimRef(jobId)))!),
      auditEnvelope: (await readAuditEntry(s.objects, jobId, (await s.refs.read(jobAuditRef(jobId)))!))
        .envelopeBytes,
      jobId,
    };
  });
  afterAll(async () => cleanup?.());

  const kinds = (input: Partial<VerifyExecutionInput>): ExecutionProblemKind[] => {
    const r = verifyExecution({ ...base, ...input });
    expect(r.ok).toBe(r.problems.length === 0);
    return [...new Set(r.problems.map((p) => p.kind))];
  };
  const withFile = <T extends ManifestCommitData | ResultCommitData>(
    d: T,
    key: 'programFiles' | 'inputFiles' | 'outputs',
    name: string,
    bytes: Uint8Array,
  ): T => ({
    ...d,
    [key]: new Map([...(d as unknown as Record<string, Map<string, Uint8Array>>)[key]!, [name, bytes]]),
  });

  it('accepts the untampered job', () => {
    expect(verifyExecution(base)).toEqual({
      ok: true,
      jobId: base.jobId,
      resultCommit: base.result.commit,
      problems: [],
    });
  });

  it('reports a tampered output, program file and input, naming the file', () => {
    const out = verifyExecution({
      ...base,
      result: withFile(base.result, 'outputs', 'sum.json', utf8('{"n":4}\n')),
    });
    expect(out.problems).toEqual([{ kind: 'outputs', message: expect.stringContaining('outputs/sum.json') }]);
    const prog = verifyExecution({
      ...base,
      manifest: withFile(base.manifest, 'programFiles', 'main.js', utf8('evil()\n')),
    });
    expect(prog.problems.length).toBeGreaterThan(0);
    for (const p of prog.problems)
      expect(p).toEqual({ kind: 'program', message: expect.stringContaining('main.js') });
    expect(kinds({ manifest: withFile(base.manifest, 'inputFiles', 'b.txt', utf8('BETA\n')) })).toEqual([
      'inputs',
    ]);
    expect(kinds({ manifest: withFile(base.manifest, 'inputFiles', 'extra', utf8('')) })).toEqual(['inputs']);
    expect(kinds({ result: { ...base.result, stdout: utf8('bye\n') } })).toEqual(['logs']);
    const extraOut = withFile(base.result, 'outputs', 'sneaky.txt', utf8('x'));
    expect(kinds({ result: extraOut })).toEqual(['outputs']);
  });

  it('reports a signature by another trusted key as worker-mismatch, and an untrusted worker as unknown-key', () => {
    const st = buildExecutionStatement(base.manifest.manifest, base.result.result);
    const byBob = signDsse(IN_TOTO_PAYLOAD_TYPE, statementBytes(st), [bob.signer]);
    const r = verifyExecution({
      ...base,
      result: { ...base.result, envelopeBytes: serializeDsse(byBob) },
      auditEnvelope: undefined,
    });
    expect(r.problems).toEqual([
      { kind: 'worker-mismatch', message: expect.stringContaining(bob.signer.keyId) },
    ]);
    expect(kinds({ trust: trustOf(bob) })).toContain('unknown-key');
  });

  it('reports a signature that does not verify and a statement that differs from the rebuilt one', () => {
    const env = parseDsse(base.result.envelopeBytes!);
    const forged = {
      ...env,
      signatures: [
        { keyid: alice.signer.keyId, sig: Buffer.from(alice.signer.sign(utf8('x'))).toString('base64') },
      ],
    };
    expect(
      kinds({ result: { ...base.result, envelopeBytes: serializeDsse(forged) }, auditEnvelope: undefined }),
    ).toEqual(['signature']);
    // A validly signed statement about other parameters.
    const other = manifestFixture();
    other.env = { LANG: 'C', TZ: 'EST' };
    const lie = signExecution(buildExecutionStatement(other, base.result.result), alice.signer);
    expect(
      kinds({ result: { ...base.result, envelopeBytes: serializeDsse(lie) }, auditEnvelope: undefined }),
    ).toEqual(['statement']);
  });

  it('reports claim chain problems', () => {
    const chain = base.claimChain;
    expect(kinds({ claimChain: chain.slice(0, -1) })).toEqual(['claim']);
    expect(kinds({ claimChain: [] })).toEqual(['claim']);
    const wrongDone: ClaimLink[] = [
      ...chain.slice(0, -1),
      { ...chain.at(-1)!, record: { ...chain.at(-1)!.record, result: 'f'.repeat(40) } },
    ];
    // The tampered record no longer matches its signature either.
    expect(kinds({ claimChain: wrongDone })).toEqual(['claim']);
    const r = verifyExecution({
      ...base,
      result: {
        ...base.result,
        result: { ...base.result.result, claim: { epoch: 0, commit: 'e'.repeat(40) } },
      },
    });
    expect(r.problems.filter((p) => p.kind === 'claim').map((p) => p.message)).toEqual([
      expect.stringContaining('not in the claim chain'),
    ]);
  });

  it('reports an audit entry that is missing or differs, a wrong job id and a runtime that is not the pinned one', () => {
    expect(kinds({ auditEnvelope: null })).toEqual(['audit']);
    expect(kinds({ auditEnvelope: utf8('{}') })).toEqual(['audit']);
    expect(kinds({ jobId: `b${'a'.repeat(58)}` })).toEqual(['job-id']);
    const rt = { ...base.result.result.runtime, version: 'v99.0.0' };
    expect(kinds({ result: { ...base.result, result: { ...base.result.result, runtime: rt } } })).toEqual([
      'program',
      'statement',
    ]);
  });

  it('verifyJob reports a result ref moved to a commit with a tampered output', async () => {
    const r = base.result;
    const files = new Map<string, Uint8Array>([
      ['result.cbor', r.resultBytes],
      ['poe.dsse.json', r.envelopeBytes!],
      ['run.json', r.runLog!],
      ['logs/stdout', r.stdout!],
      ['logs/stderr', r.stderr!],
      ['outputs/out/report.txt', utf8('tampered\n')],
      ['outputs/sum.json', r.outputs.get('sum.json')!],
    ]);
    const forged = filesCommit(files, [], r.message);
    await s.objects.put(forged.objects);
    const ref = jobResultRef(base.jobId!);
    expect(await s.refs.cas({ ref, expect: r.commit, next: forged.commit.oid })).toBe(true);
    const report = await verifyJob(s, base.jobId!, trust);
    expect(report.ok).toBe(false);
    // The done claim names the original result commit, and one output differs.
    expect(report.problems.map((p) => p.kind).sort()).toEqual(['claim', 'outputs']);
    await expect(readResultCommit(s.objects, forged.commit.oid)).rejects.toMatchObject({
      code: 'GATOS_E_JOB_RECORD',
      data: { file: 'outputs/out/report.txt' },
    });
    expect(await s.refs.cas({ ref, expect: forged.commit.oid, next: r.commit })).toBe(true);
  });
});

describe('independent check with Python cryptography (conformance/dsse/verify_dsse.py)', () => {
  const python = '/usr/bin/python3';
  const script = join(repoRoot, 'conformance/dsse/verify_dsse.py');
  const tmp = mkdtempSync(join(tmpdir(), 'gatos-poe-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const run = (file: string, pk: string) => spawnSync(python, [script, file, pk], { encoding: 'utf8' });

  it('verifies the PoE vector envelope and refuses a tampered copy or another key', () => {
    const good = join(tmp, 'poe.dsse.json');
    writeFileSync(good, V.result.envelope_bytes);
    const ok = run(good, V.claim.public_key);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`keyid ${V.claim.worker}`);
    const env = parseDsse(V.result.envelope_bytes);
    const st = JSON.parse(V.result.statement_canonical);
    st.predicate.gatos.status = 'failed';
    const bad = join(tmp, 'tampered.dsse.json');
    writeFileSync(
      bad,
      serializeDsse({ ...env, payload: Buffer.from(JSON.stringify(st)).toString('base64') }),
    );
    const r = run(bad, V.claim.public_key);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('no signature verifies');
    expect(run(good, hex(bob.publicKey)).status).not.toBe(0);
  });
});
